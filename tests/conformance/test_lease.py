"""The worker's writes under a lease: heartbeat, progress, finish, release.

Every one of them carries the token of the claim and is applied only while that token is
current; a refused write changes nothing and shows up as a missing id.
"""

from __future__ import annotations

import pytest

from offload.backends.base import Backend
from offload.records import JobStatus, Lease, Outcome, Progress, new_job_id

from .helpers import (
    LEASE_S,
    T0,
    claim,
    events,
    finish,
    get,
    lease_of,
    outcome,
    running_job,
)

STALE = "0" * 16

# -- heartbeat ----------------------------------------------------------------------------


def test_heartbeat_extends_the_lease(backend: Backend) -> None:
    r = running_job(backend, now=T0, lease_s=10)
    assert r.lease_expires_at == pytest.approx(T0 + 10, abs=1e-3)
    result = backend.job_heartbeat([lease_of(r)], lease_s=10, now=T0 + 8)
    assert result.held == {r.id}
    assert result.cancel_requested == frozenset()
    after = get(backend, r.id)
    assert after.lease_expires_at == pytest.approx(T0 + 18, abs=1e-3)
    assert (after.status, after.lease_token, after.attempts) == (JobStatus.RUNNING, r.lease_token, 1)


def test_heartbeat_keeps_a_job_from_recovery(backend: Backend) -> None:
    r = running_job(backend, now=T0, lease_s=10)
    backend.job_heartbeat([lease_of(r)], lease_s=10, now=T0 + 8)
    assert backend.job_recover(now=T0 + 15) == []  # past the first lease, inside the second
    assert get(backend, r.id).status == JobStatus.RUNNING
    assert [j.id for j in backend.job_recover(now=T0 + 19)] == [r.id]


def test_heartbeat_with_a_stale_token_is_not_held(backend: Backend) -> None:
    r = running_job(backend, now=T0, lease_s=10)
    result = backend.job_heartbeat([Lease(r.id, STALE)], lease_s=10, now=T0 + 5)
    assert result.held == frozenset()
    assert get(backend, r.id).lease_expires_at == pytest.approx(T0 + 10, abs=1e-3)


def test_heartbeat_of_an_unknown_job_is_not_held(backend: Backend) -> None:
    result = backend.job_heartbeat([Lease(new_job_id(), STALE)], lease_s=10, now=T0)
    assert result.held == frozenset()


def test_heartbeat_many_leases_in_one_call(backend: Backend) -> None:
    a, b, c = (running_job(backend) for _ in range(3))
    assert finish(backend, c, JobStatus.COMPLETED) == {c.id}
    result = backend.job_heartbeat([lease_of(a), Lease(b.id, STALE), lease_of(c)], lease_s=LEASE_S, now=T0 + 1)
    assert result.held == {a.id}


def test_heartbeat_reports_a_cancel_request(backend: Backend) -> None:
    a, b = running_job(backend), running_job(backend)
    cancelled = backend.job_cancel(a.id, now=T0 + 1)
    assert cancelled.status == JobStatus.RUNNING and cancelled.cancel_requested
    result = backend.job_heartbeat([lease_of(a), lease_of(b)], lease_s=LEASE_S, now=T0 + 2)
    assert result.held == {a.id, b.id}
    assert result.cancel_requested == {a.id}


def test_heartbeat_after_finish_is_not_held(backend: Backend) -> None:
    r = running_job(backend)
    finish(backend, r, JobStatus.COMPLETED)
    assert backend.job_heartbeat([lease_of(r)], lease_s=LEASE_S, now=T0 + 1).held == frozenset()


# -- progress -----------------------------------------------------------------------------


def test_progress_written_with_the_current_token(backend: Backend) -> None:
    r = running_job(backend, owner="user-1")
    written = backend.job_progress([Progress(r.id, lease_of(r).token, 3, 10, "three of ten")], now=T0 + 1)
    assert written == {r.id}
    after = get(backend, r.id)
    assert (after.progress_current, after.progress_total, after.message) == (3, 10, "three of ten")
    assert after.progress == 30.0
    assert after.status == JobStatus.RUNNING
    [event] = [e for e in events(backend, r.id) if e.type == "progress"]
    assert event.data["current"] == 3 and event.data["total"] == 10
    assert event.owner == "user-1"


def test_progress_with_a_stale_token_writes_nothing(backend: Backend) -> None:
    r = running_job(backend)
    written = backend.job_progress([Progress(r.id, STALE, 5, 10, "nope")], now=T0 + 1)
    assert written == set()
    after = get(backend, r.id)
    assert (after.progress_current, after.progress_total, after.message) == (None, None, None)
    assert [e for e in events(backend, r.id) if e.type != "status"] == []


def test_progress_of_an_unknown_job(backend: Backend) -> None:
    assert backend.job_progress([Progress(new_job_id(), STALE, 1, 2, None)], now=T0) == set()


def test_progress_many_in_one_call(backend: Backend) -> None:
    a, b = running_job(backend), running_job(backend)
    written = backend.job_progress(
        [Progress(a.id, lease_of(a).token, 1, 2, None), Progress(b.id, STALE, 1, 2, None)], now=T0 + 1
    )
    assert written == {a.id}
    assert get(backend, a.id).progress_current == 1
    assert get(backend, b.id).progress_current is None


def test_progress_messages_replace_the_list(backend: Backend) -> None:
    r = running_job(backend)
    token = lease_of(r).token
    m1 = {"at": T0 + 1, "message": "one"}
    m2 = {"at": T0 + 2, "message": "two"}
    backend.job_progress([Progress(r.id, token, 1, 3, "one", messages=[m1], new_messages=[m1])], now=T0 + 1)
    assert get(backend, r.id).messages == [m1]
    backend.job_progress([Progress(r.id, token, 2, 3, "two", messages=[m1, m2], new_messages=[m2])], now=T0 + 2)
    assert get(backend, r.id).messages == [m1, m2]
    # None leaves the list as it is
    backend.job_progress([Progress(r.id, token, 3, 3, None, messages=None)], now=T0 + 3)
    after = get(backend, r.id)
    assert after.messages == [m1, m2]
    assert after.progress_current == 3
    # a shorter list replaces it, too
    backend.job_progress([Progress(r.id, token, 3, 3, None, messages=[m2])], now=T0 + 4)
    assert get(backend, r.id).messages == [m2]


def test_new_messages_are_one_event_each(backend: Backend) -> None:
    r = running_job(backend, owner="user-1")
    token = lease_of(r).token
    ms = [{"at": T0 + 1, "message": "a"}, {"at": T0 + 1.5, "message": "b"}]
    backend.job_progress([Progress(r.id, token, None, None, "b", messages=ms, new_messages=ms)], now=T0 + 2)
    evs = [e for e in events(backend, r.id) if e.type in ("message", "progress")]
    assert sorted(e.type for e in evs) == ["message", "message", "progress"]
    messages = [e for e in evs if e.type == "message"]
    assert [e.data["message"] for e in messages] == ["a", "b"]
    assert all(e.owner == "user-1" for e in evs)


def test_no_message_events_without_new_messages(backend: Backend) -> None:
    r = running_job(backend)
    m = {"at": T0, "message": "old"}
    backend.job_progress([Progress(r.id, lease_of(r).token, 1, 2, None, messages=[m])], now=T0 + 1)
    assert [e.type for e in events(backend, r.id) if e.type != "status"] == ["progress"]


# -- finish -------------------------------------------------------------------------------


def test_finish_completed(backend: Backend) -> None:
    r = running_job(backend)
    written = finish(backend, r, JobStatus.COMPLETED, now=T0 + 7, result_json='{"answer": [42, "x"]}')
    assert written == {r.id}
    after = get(backend, r.id)
    assert after.status == JobStatus.COMPLETED
    assert after.result == {"answer": [42, "x"]}
    assert after.completed_at == pytest.approx(T0 + 7, abs=1e-3)
    assert after.lease_token is None and after.lease_expires_at is None
    assert after.attempts == 1
    assert after.progress == 100.0


@pytest.mark.parametrize("result_json", ["null", "0", '"text"', "[]", "3.25", "true"])
def test_finish_result_values_decoded(backend: Backend, result_json: str) -> None:
    import json

    r = running_job(backend)
    finish(backend, r, JobStatus.COMPLETED, result_json=result_json)
    assert get(backend, r.id).result == json.loads(result_json)


def test_finish_failed(backend: Backend) -> None:
    r = running_job(backend)
    written = finish(backend, r, JobStatus.FAILED, now=T0 + 3, error="ValueError: bad", traceback="Traceback ...")
    assert written == {r.id}
    after = get(backend, r.id)
    assert after.status == JobStatus.FAILED
    assert (after.error, after.traceback) == ("ValueError: bad", "Traceback ...")
    assert after.completed_at == pytest.approx(T0 + 3, abs=1e-3)
    assert after.lease_token is None and after.lease_expires_at is None


def test_finish_retrying(backend: Backend) -> None:
    r = running_job(backend, max_attempts=3)
    written = finish(backend, r, JobStatus.RETRYING, now=T0 + 3, error="flaky", run_at=T0 + 63)
    assert written == {r.id}
    after = get(backend, r.id)
    assert after.status == JobStatus.RETRYING
    assert after.run_at == pytest.approx(T0 + 63, abs=1e-3)
    assert after.error == "flaky"
    assert after.completed_at is None
    assert after.attempts == 1
    assert after.lease_token is None and after.lease_expires_at is None


def test_finish_cancelled(backend: Backend) -> None:
    r = running_job(backend)
    backend.job_cancel(r.id, now=T0 + 1)
    written = finish(backend, r, JobStatus.CANCELLED, now=T0 + 2)
    assert written == {r.id}
    after = get(backend, r.id)
    assert after.status == JobStatus.CANCELLED
    assert after.completed_at == pytest.approx(T0 + 2, abs=1e-3)
    assert after.lease_token is None


def test_finish_with_final_progress(backend: Backend) -> None:
    r = running_job(backend)
    m = {"at": T0 + 1, "message": "done"}
    p = Progress(r.id, lease_of(r).token, 10, 10, "done", messages=[m], new_messages=[m])
    assert finish(backend, r, JobStatus.COMPLETED, now=T0 + 2, result_json="1", progress=p) == {r.id}
    after = get(backend, r.id)
    assert (after.progress_current, after.progress_total, after.message) == (10, 10, "done")
    assert after.messages == [m]
    types = [e.type for e in events(backend, r.id)]
    assert "progress" in types and "message" in types


def test_final_progress_events_come_before_the_status_and_only_for_held_runs(backend: Backend) -> None:
    held, lost = running_job(backend), running_job(backend)
    m1, m2 = {"at": T0 + 1, "message": "one"}, {"at": T0 + 1.5, "message": "two"}
    progress = Progress(held.id, lease_of(held).token, 3, 4, "two", messages=[m1, m2], new_messages=[m1, m2])
    stale = Progress(lost.id, STALE, 1, 4, "x", messages=[m1], new_messages=[m1])
    outcomes = [
        Outcome(held.id, lease_of(held).token, JobStatus.COMPLETED, result_json="1", progress=progress),
        Outcome(lost.id, STALE, JobStatus.COMPLETED, result_json="1", progress=stale),
    ]
    before = {e.seq for e in events(backend, lost.id)}
    assert backend.job_finish(outcomes, now=T0 + 2) == {held.id}
    assert [(e.type, e.data.get("message"), e.data.get("status")) for e in events(backend, held.id)][-4:] == [
        ("message", "one", None),
        ("message", "two", None),
        ("progress", "two", None),
        ("status", None, "completed"),
    ]
    assert {e.seq for e in events(backend, lost.id)} == before  # a lost run writes no event


def test_finish_with_a_stale_token_writes_nothing(backend: Backend) -> None:
    r = running_job(backend)
    assert finish(backend, r, JobStatus.COMPLETED, token=STALE, result_json="1") == set()
    after = get(backend, r.id)
    assert (after.status, after.result, after.lease_token) == (JobStatus.RUNNING, None, r.lease_token)


def test_finish_of_an_unknown_job(backend: Backend) -> None:
    o = Outcome(new_job_id(), STALE, JobStatus.COMPLETED)
    assert backend.job_finish([o], now=T0) == set()


def test_finish_twice_writes_once(backend: Backend) -> None:
    r = running_job(backend)
    assert finish(backend, r, JobStatus.COMPLETED, result_json='"first"') == {r.id}
    assert finish(backend, r, JobStatus.FAILED, now=T0 + 1, error="second") == set()
    after = get(backend, r.id)
    assert (after.status, after.result, after.error) == (JobStatus.COMPLETED, "first", None)


def test_finish_many_in_one_call(backend: Backend) -> None:
    a, b, c, d = (running_job(backend, max_attempts=2) for _ in range(4))
    outcomes = [
        outcome(a, JobStatus.COMPLETED, result_json="1"),
        outcome(b, JobStatus.FAILED, error="x"),
        outcome(c, JobStatus.RETRYING, error="y", run_at=T0 + 60),
        outcome(d, JobStatus.COMPLETED, token=STALE),
    ]
    assert backend.job_finish(outcomes, now=T0 + 1) == {a.id, b.id, c.id}
    statuses = [get(backend, j.id).status for j in (a, b, c, d)]
    assert statuses == [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.RETRYING, JobStatus.RUNNING]


@pytest.mark.parametrize("bad", [JobStatus.SCHEDULED, JobStatus.RUNNING])
def test_finish_with_a_status_that_does_not_end_a_run(backend: Backend, bad: JobStatus) -> None:
    """Outcome.status is completed, failed, retrying or cancelled. Anything else is
    refused (raised, or left out of the written ids) and the job keeps its lease."""
    r = running_job(backend)
    try:
        written = finish(backend, r, bad, now=T0 + 1)
    except Exception:  # any refusal is fine; the state is checked below
        written = set()
    assert written == set()
    after = get(backend, r.id)
    assert (after.status, after.lease_token) == (JobStatus.RUNNING, r.lease_token)
    assert backend.job_heartbeat([lease_of(r)], lease_s=LEASE_S, now=T0 + 2).held == {r.id}


# -- release ------------------------------------------------------------------------------


def test_release_puts_the_job_back_and_refunds_the_attempt(backend: Backend) -> None:
    r = running_job(backend, queue="default", max_attempts=2)
    assert backend.job_release([lease_of(r)], now=T0 + 1) == {r.id}
    after = get(backend, r.id)
    assert after.status == JobStatus.QUEUED
    assert after.attempts == 0
    assert after.lease_token is None and after.lease_expires_at is None
    assert after.completed_at is None
    [again] = claim(backend, now=T0 + 2)
    assert (again.id, again.attempts) == (r.id, 1)


def test_release_with_a_stale_token_writes_nothing(backend: Backend) -> None:
    r = running_job(backend)
    assert backend.job_release([Lease(r.id, STALE)], now=T0 + 1) == set()
    after = get(backend, r.id)
    assert (after.status, after.attempts, after.lease_token) == (JobStatus.RUNNING, 1, r.lease_token)


def test_release_many_in_one_call(backend: Backend) -> None:
    a, b, c = (running_job(backend) for _ in range(3))
    finish(backend, c, JobStatus.COMPLETED)
    assert backend.job_release([lease_of(a), lease_of(b), lease_of(c)], now=T0 + 1) == {a.id, b.id}
    assert get(backend, c.id).status == JobStatus.COMPLETED


def test_release_of_a_second_attempt_keeps_the_first(backend: Backend) -> None:
    r = running_job(backend, queue="default", max_attempts=3)
    finish(backend, r, JobStatus.RETRYING, error="e", run_at=T0)
    [second] = claim(backend, now=T0 + 1)
    assert second.attempts == 2
    backend.job_release([lease_of(second)], now=T0 + 2)
    assert get(backend, r.id).attempts == 1


# -- fencing: a run that lost its lease changes nothing -----------------------------------


def test_a_stale_run_changes_nothing_after_recovery(backend: Backend) -> None:
    old = running_job(backend, queue="default", lease_s=10, max_attempts=2)
    [recovered] = backend.job_recover(now=T0 + 11)
    assert recovered.id == old.id and recovered.status == JobStatus.QUEUED
    [new] = claim(backend, now=T0 + 12, lease_s=10)
    assert new.id == old.id and new.lease_token != old.lease_token

    stale = Lease(old.id, lease_of(old).token)
    assert backend.job_heartbeat([stale], lease_s=10, now=T0 + 13).held == frozenset()
    assert backend.job_progress([Progress(old.id, stale.token, 9, 9, "old run")], now=T0 + 13) == set()
    assert backend.job_release([stale], now=T0 + 13) == set()
    assert finish(backend, old, JobStatus.COMPLETED, now=T0 + 13, result_json='"old run"') == set()
    mid = get(backend, old.id)
    assert (mid.status, mid.lease_token, mid.result, mid.message) == (JobStatus.RUNNING, new.lease_token, None, None)

    assert finish(backend, new, JobStatus.COMPLETED, now=T0 + 14, result_json='"new run"') == {new.id}
    assert finish(backend, old, JobStatus.FAILED, now=T0 + 15, error="old run") == set()
    after = get(backend, old.id)
    assert (after.status, after.result, after.error) == (JobStatus.COMPLETED, "new run", None)
    assert after.attempts == 2


def test_a_stale_run_cannot_touch_the_job_after_release_and_reclaim(backend: Backend) -> None:
    old = running_job(backend, queue="default")
    backend.job_release([lease_of(old)], now=T0 + 1)
    [new] = claim(backend, now=T0 + 2)
    assert finish(backend, old, JobStatus.FAILED, now=T0 + 3, error="stale") == set()
    assert get(backend, old.id).status == JobStatus.RUNNING
    assert finish(backend, new, JobStatus.COMPLETED, now=T0 + 3) == {new.id}
