"""Every action from every state: allowed moves follow TRANSITIONS, forbidden ones change nothing.

The matrix drives a job into each of the seven states through the protocol, applies each
action, and checks the status afterwards, the answer (ids written, or InvalidTransition),
and the "status" events.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from offload.backends.base import Backend
from offload.errors import InvalidTransition
from offload.records import TERMINAL, TRANSITIONS, WAITING, JobRecord, JobStatus, Lease, Progress

from .helpers import FAR, LEASE_S, T0, claim, finish, get, job_in, status_history

S = JobStatus
DELETED = "deleted"
SAME = "same"  # accepted, status unchanged (cancel of a running job)
STALE = "0" * 16
LATER = T0 + 2 * FAR  # scheduled and retrying jobs are due by then; every lease has run out

Effect = str | None  # the status after the action, DELETED, SAME, or None when refused


def only(sources: frozenset[JobStatus] | set[JobStatus], dst: str) -> dict[JobStatus, Effect]:
    return {s: (dst if s in sources else None) for s in JobStatus}


EXPECTED: dict[str, dict[JobStatus, Effect]] = {
    "claim": only(WAITING, S.RUNNING),
    "finish_completed": only({S.RUNNING}, S.COMPLETED),
    "finish_failed": only({S.RUNNING}, S.FAILED),
    "finish_retrying": only({S.RUNNING}, S.RETRYING),
    "finish_cancelled": only({S.RUNNING}, S.CANCELLED),
    "release": only({S.RUNNING}, S.QUEUED),
    "recover": only({S.RUNNING}, S.QUEUED),
    "recover_last_attempt": only({S.RUNNING}, S.FAILED),
    "release_cancel_requested": only({S.RUNNING}, S.CANCELLED),
    "recover_cancel_requested": only({S.RUNNING}, S.CANCELLED),
    "cancel": {**only(WAITING, S.CANCELLED), S.RUNNING: SAME},
    "retry": only({S.FAILED, S.CANCELLED}, S.QUEUED),
    "delete": only(TERMINAL, DELETED),
    "heartbeat": {**only(set(), ""), S.RUNNING: SAME},
    "progress": {**only(set(), ""), S.RUNNING: SAME},
}

# Moves in TRANSITIONS no protocol method makes on its own: a due scheduled or retrying
# job is claimed straight into running ("the claim is the moment it became queued").
NOT_A_METHOD = {(S.SCHEDULED, S.QUEUED), (S.RETRYING, S.QUEUED)}

Action = Callable[[Backend, JobRecord, str], bool]  # True when the store accepted it


def _finisher(status: JobStatus) -> Action:
    def act(backend: Backend, job: JobRecord, token: str) -> bool:
        run_at = LATER + FAR if status == S.RETRYING else None
        return finish(backend, job, status, token=token, now=LATER, error="e", run_at=run_at) == {job.id}

    return act


def _user(method: str) -> Action:
    def act(backend: Backend, job: JobRecord, token: str) -> bool:
        try:
            if method == "delete":
                backend.job_delete(job.id)
            else:
                getattr(backend, f"job_{method}")(job.id, now=LATER)
        except InvalidTransition as exc:
            assert exc.job_id == job.id
            return False
        return True

    return act


def _claim(backend: Backend, job: JobRecord, token: str) -> bool:
    return [r.id for r in claim(backend, [job.queue], now=LATER)] == [job.id]


def _release(backend: Backend, job: JobRecord, token: str) -> bool:
    return backend.job_release([Lease(job.id, token)], now=LATER) == {job.id}


def _recover(backend: Backend, job: JobRecord, token: str) -> bool:
    return job.id in {r.id for r in backend.job_recover(now=LATER)}


def _heartbeat(backend: Backend, job: JobRecord, token: str) -> bool:
    return backend.job_heartbeat([Lease(job.id, token)], lease_s=LEASE_S, now=T0 + 1).held == {job.id}


def _progress(backend: Backend, job: JobRecord, token: str) -> bool:
    return backend.job_progress([Progress(job.id, token, 1, 2, "half")], now=T0 + 1) == {job.id}


ACTIONS: dict[str, Action] = {
    "claim": _claim,
    "finish_completed": _finisher(S.COMPLETED),
    "finish_failed": _finisher(S.FAILED),
    "finish_retrying": _finisher(S.RETRYING),
    "finish_cancelled": _finisher(S.CANCELLED),
    "release": _release,
    "recover": _recover,
    "recover_last_attempt": _recover,
    "release_cancel_requested": _release,
    "recover_cancel_requested": _recover,
    "cancel": _user("cancel"),
    "retry": _user("retry"),
    "delete": _user("delete"),
    "heartbeat": _heartbeat,
    "progress": _progress,
}

CASES = [(action, src) for action in EXPECTED for src in JobStatus]


@pytest.mark.parametrize(("action", "src"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_action_from_state(backend: Backend, action: str, src: JobStatus) -> None:
    max_attempts = 1 if action == "recover_last_attempt" else 2
    job, last_token = job_in(backend, src, max_attempts=max_attempts)
    if action.endswith("_cancel_requested") and src == S.RUNNING:
        backend.job_cancel(job.id, now=T0 + 1)
    history = status_history(backend, job.id)
    assert history and history[-1] == src

    accepted = ACTIONS[action](backend, job, last_token or STALE)

    expected = EXPECTED[action][src]
    assert accepted == (expected is not None), f"{action} from {src}: accepted={accepted}"
    after = backend.job_get(job.id)
    if expected == DELETED:
        assert after is None
        return
    assert after is not None
    new_status = src if expected in (None, SAME) else JobStatus(expected)
    assert after.status == new_status
    now_history = status_history(backend, job.id)
    if new_status == src:
        assert now_history == history, "no status change, so no status event"
    else:
        assert new_status in TRANSITIONS[src]
        assert now_history == [*history, new_status]


def test_refused_writes_leave_the_record_as_it_was(backend: Backend) -> None:
    """A sample of refusals compared field by field, not just by status."""
    for src in (S.COMPLETED, S.FAILED, S.CANCELLED, S.QUEUED, S.SCHEDULED):
        job, token = job_in(backend, src, max_attempts=2)
        before = get(backend, job.id)
        for action in ("finish_completed", "finish_failed", "release", "heartbeat", "progress"):
            assert not ACTIONS[action](backend, job, token or STALE)
        assert get(backend, job.id) == before


def test_the_matrix_covers_every_transition() -> None:
    made = {
        (src, JobStatus(dst))
        for effects in EXPECTED.values()
        for src, dst in effects.items()
        if dst not in (None, SAME, DELETED, "")
    }
    allowed = {(src, dst) for src, dsts in TRANSITIONS.items() for dst in dsts}
    assert made <= allowed
    assert allowed - made == NOT_A_METHOD
