"""job_finish_and_claim: a worker's turn (write outcomes, take new work) in one call."""

from __future__ import annotations

from offload.backends.base import Backend
from offload.records import JobRecord, JobStatus, Outcome

from .helpers import LEASE_S, T0, claim, get, insert, make_jobs, outcome, status_history

STALE = "0" * 16


def turn(
    backend: Backend,
    outcomes: list[Outcome],
    *,
    limit: int,
    now: float,
    queues: tuple[str, ...] = ("default",),
) -> tuple[set[str], list[JobRecord]]:
    return backend.job_finish_and_claim(
        outcomes, queues=list(queues), limit=limit, worker_id="w", lease_s=LEASE_S, now=now
    )


def test_finishes_and_claims(backend: Backend) -> None:
    jobs = make_jobs(4)
    insert(backend, *jobs)
    a, b = claim(backend, limit=2)
    written, claimed = turn(
        backend,
        [outcome(a, JobStatus.COMPLETED, result_json="1"), outcome(b, JobStatus.FAILED, error="x")],
        limit=2,
        now=T0 + 1,
    )
    assert written == {a.id, b.id}
    assert {r.id for r in claimed} == {jobs[2].id, jobs[3].id}
    assert all(r.status == JobStatus.RUNNING and r.attempts == 1 and r.lease_token for r in claimed)
    assert (get(backend, a.id).status, get(backend, b.id).status) == (JobStatus.COMPLETED, JobStatus.FAILED)


def test_limit_zero_claims_nothing(backend: Backend) -> None:
    insert(backend, *make_jobs(2))
    [a] = claim(backend, limit=1)
    written, claimed = turn(backend, [outcome(a, JobStatus.COMPLETED)], limit=0, now=T0 + 1)
    assert written == {a.id}
    assert claimed == []
    assert len(claim(backend, now=T0 + 2)) == 1


def test_no_outcomes_is_a_plain_claim(backend: Backend) -> None:
    insert(backend, *make_jobs(3))
    written, claimed = turn(backend, [], limit=2, now=T0)
    assert written == set() and len(claimed) == 2


def test_stale_outcome_is_refused_and_the_claim_still_happens(backend: Backend) -> None:
    jobs = make_jobs(2)
    insert(backend, *jobs)
    [a] = claim(backend, limit=1)
    written, claimed = turn(backend, [outcome(a, JobStatus.COMPLETED, token=STALE)], limit=5, now=T0 + 1)
    assert written == set()
    assert [r.id for r in claimed] == [jobs[1].id]
    assert get(backend, a.id).status == JobStatus.RUNNING


def test_a_retry_due_now_can_be_claimed_in_the_same_turn(backend: Backend) -> None:
    [job] = make_jobs(1, max_attempts=2)
    insert(backend, job)
    [a] = claim(backend)
    written, claimed = turn(backend, [outcome(a, JobStatus.RETRYING, error="e", run_at=T0 + 1)], limit=1, now=T0 + 1)
    assert written == {a.id}
    assert [(r.id, r.attempts) for r in claimed] == [(a.id, 2)]
    assert claimed[0].lease_token != a.lease_token


def test_the_finished_job_is_not_claimed_again(backend: Backend) -> None:
    [job] = make_jobs(1)
    insert(backend, job)
    [a] = claim(backend)
    written, claimed = turn(backend, [outcome(a, JobStatus.COMPLETED)], limit=5, now=T0 + 1)
    assert written == {a.id} and claimed == []


def test_paused_queue_is_skipped(backend: Backend) -> None:
    insert(backend, *make_jobs(1, queue="p"), *make_jobs(1, start=T0 + 5, queue="q"))
    backend.queue_pause("p", True)
    _, claimed = turn(backend, [], limit=5, now=T0, queues=("p", "q"))
    assert [r.queue for r in claimed] == ["q"]


def test_events_for_both_halves(backend: Backend) -> None:
    jobs = make_jobs(2)
    insert(backend, *jobs)
    [a] = claim(backend, limit=1)
    turn(backend, [outcome(a, JobStatus.COMPLETED)], limit=1, now=T0 + 1)
    assert status_history(backend, jobs[0].id) == ["queued", "running", "completed"]
    assert status_history(backend, jobs[1].id) == ["queued", "running"]
