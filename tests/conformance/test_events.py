"""The event stream: every status change and progress write, in order, with a cursor."""

from __future__ import annotations

import pytest

from offload.backends.base import Backend
from offload.records import JobStatus, Progress

from .helpers import (
    DOCUMENTED_EVENT_TYPES,
    T0,
    claim,
    events,
    finish,
    insert,
    insert_one,
    lease_of,
    make_jobs,
    running_job,
    status_history,
)


def test_insert_writes_a_status_event(backend: Backend) -> None:
    job_id = insert_one(backend, owner="user-1")
    [event] = events(backend, job_id)
    assert (event.job_id, event.type, event.data["status"], event.owner) == (job_id, "status", "queued", "user-1")
    assert event.seq > 0


def test_scheduled_insert_event(backend: Backend) -> None:
    job_id = insert_one(backend, run_at=T0 + 60)
    assert status_history(backend, job_id) == ["scheduled"]


def test_every_status_change_is_an_event(backend: Backend) -> None:
    job_id = insert_one(backend, max_attempts=2, owner="user-1")
    [first] = claim(backend, now=T0)
    finish(backend, first, JobStatus.RETRYING, now=T0 + 1, error="e", run_at=T0 + 2)
    [second] = claim(backend, now=T0 + 3)
    finish(backend, second, JobStatus.COMPLETED, now=T0 + 4, result_json="1")
    assert status_history(backend, job_id) == ["queued", "running", "retrying", "running", "completed"]
    evs = events(backend, job_id)
    seqs = [e.seq for e in evs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e.owner == "user-1" for e in evs)


def test_user_actions_are_events(backend: Backend) -> None:
    job_id = insert_one(backend)
    backend.job_cancel(job_id, now=T0 + 1)
    backend.job_retry(job_id, now=T0 + 2)
    assert status_history(backend, job_id) == ["queued", "cancelled", "queued"]


def test_recovery_is_an_event(backend: Backend) -> None:
    a = running_job(backend, lease_s=10, max_attempts=2)
    b = running_job(backend, lease_s=10, max_attempts=1)
    backend.job_recover(now=T0 + 11)
    assert status_history(backend, a.id) == ["queued", "running", "queued"]
    assert status_history(backend, b.id) == ["queued", "running", "failed"]


def test_release_is_an_event(backend: Backend) -> None:
    r = running_job(backend)
    backend.job_release([lease_of(r)], now=T0 + 1)
    assert status_history(backend, r.id) == ["queued", "running", "queued"]


def test_refused_writes_make_no_events(backend: Backend) -> None:
    r = running_job(backend)
    finish(backend, r, JobStatus.COMPLETED, now=T0 + 1)
    count = len(backend.event_list(limit=10_000))
    finish(backend, r, JobStatus.FAILED, now=T0 + 2, error="late")
    backend.job_progress([Progress(r.id, lease_of(r).token, 1, 1, "late")], now=T0 + 2)
    backend.job_release([lease_of(r)], now=T0 + 2)
    assert len(backend.event_list(limit=10_000)) == count


def test_seq_increases_across_jobs(backend: Backend) -> None:
    insert(backend, *make_jobs(3))
    claim(backend)
    seqs = [e.seq for e in backend.event_list()]
    assert len(seqs) == 6
    assert seqs == sorted(seqs) and len(set(seqs)) == 6


def test_event_list_after(backend: Backend) -> None:
    insert(backend, *make_jobs(4))
    every = backend.event_list()
    assert len(every) == 4
    assert backend.event_list(after=every[1].seq) == every[2:]
    assert backend.event_list(after=every[-1].seq) == []
    assert backend.event_list(after=0) == every


def test_event_list_by_job(backend: Backend) -> None:
    a, b = make_jobs(2)
    insert(backend, a, b)
    claim(backend)
    evs = backend.event_list(job_id=a.id)
    assert [e.job_id for e in evs] == [a.id, a.id]
    assert backend.event_list(job_id=a.id, after=evs[0].seq) == evs[1:]


def test_event_list_limit_pages_oldest_first(backend: Backend) -> None:
    insert(backend, *make_jobs(5))
    every = backend.event_list()
    assert backend.event_list(limit=2) == every[:2]
    assert backend.event_list(after=every[1].seq, limit=2) == every[2:4]
    assert len(backend.event_list(job_id=every[0].job_id, limit=1)) == 1


def test_event_types_are_the_documented_ones(backend: Backend) -> None:
    """type is "status", "progress" or "message" (base.Event): readers such as the SSE
    stream know no other."""
    r = running_job(backend)
    m = {"at": T0 + 1, "message": "hi"}
    backend.job_progress([Progress(r.id, lease_of(r).token, 1, 2, "hi", messages=[m], new_messages=[m])], now=T0 + 1)
    backend.job_cancel(r.id, now=T0 + 2)
    finish(backend, r, JobStatus.CANCELLED, now=T0 + 3)
    types = {e.type for e in events(backend, r.id)}
    assert types <= DOCUMENTED_EVENT_TYPES, types - DOCUMENTED_EVENT_TYPES


def test_event_prune(backend: Backend) -> None:
    old = insert_one(backend, now=T0)
    new = insert_one(backend, now=T0 + 1000)
    assert backend.event_prune(before=T0 + 500) == 1
    assert [e.job_id for e in backend.event_list()] == [new]
    assert events(backend, old) == []
    assert backend.event_prune(before=T0 + 500) == 0


def test_event_prune_stops_at_the_first_event_it_must_keep(backend: Backend) -> None:
    """Pruning deletes by seq up to the first event at or after the cut-off. An event
    stamped earlier but committed after it (another process's clock) stays until the
    next prune, never the other way round: nothing newer than the cut-off goes."""
    old = [insert_one(backend, now=T0 + i) for i in range(5)]
    kept = insert_one(backend, now=T0 + 100)
    late = insert_one(backend, now=T0 + 1)  # committed after `kept`, stamped before the cut-off
    assert backend.event_prune(before=T0 + 50) == len(old)
    assert [e.job_id for e in backend.event_list()] == [kept, late]
    assert backend.event_prune(before=T0 + 200) == 1  # the newest event stays, however old
    assert [e.job_id for e in backend.event_list()] == [late]
    assert backend.event_prune(before=T0 + 200) == 0


def test_event_seq_is_not_reused_after_prune(backend: Backend) -> None:
    """Pruning leaves the newest event, whatever its age: it holds the sequence's
    high-water mark, so a reader's cursor never meets a seq it saw before."""
    insert(backend, *make_jobs(3), now=T0)
    last = backend.event_list()[-1]
    assert backend.event_prune(before=T0 + 1e9) == 2
    assert backend.event_list() == [last]
    insert_one(backend, now=T0 + 1)
    [event] = backend.event_list(after=last.seq)
    assert event.seq > last.seq


def test_events_are_stamped_with_the_callers_now(backend: Backend) -> None:
    """Events of a write made at ``now`` carry that time, so event_prune(before=) and
    readers agree with the job's own timestamps."""
    r = running_job(backend, now=T0, lease_s=10, max_attempts=2)
    backend.job_progress([Progress(r.id, lease_of(r).token, 1, 2, None)], now=T0 + 5)
    finish(backend, r, JobStatus.RETRYING, now=T0 + 6, error="e", run_at=T0 + 7)
    by_type = [(e.type, e.data.get("status")) for e in events(backend, r.id)]
    assert by_type == [("status", "queued"), ("status", "running"), ("progress", None), ("status", "retrying")]
    assert [e.at for e in events(backend, r.id)] == pytest.approx([T0, T0, T0 + 5, T0 + 6], abs=1e-3)


def test_event_prune_of_status_changes(backend: Backend) -> None:
    r = running_job(backend, now=T0)
    finish(backend, r, JobStatus.COMPLETED, now=T0 + 1000)
    assert backend.event_prune(before=T0 + 500) == 2  # inserted and claimed at T0
    assert status_history(backend, r.id) == ["completed"]
