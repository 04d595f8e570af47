"""Reads: job_list (filters, newest first, cursor) and job_counts."""

from __future__ import annotations

import pytest

from offload.backends.base import Backend
from offload.records import JobFilter, JobStatus, new_job_id

from .helpers import T0, claim, get, insert, job_in, make_job, make_jobs

# Claimed states first, so that each claim in one shared queue takes the job just made.
IN_ONE_QUEUE = [
    JobStatus.RUNNING,
    JobStatus.RETRYING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.SCHEDULED,
    JobStatus.QUEUED,
    JobStatus.CANCELLED,
]


def ids(backend: Backend, **flt: object) -> list[str]:
    return [j.id for j in backend.job_list(JobFilter(**flt))]  # type: ignore[arg-type]


def test_newest_first(backend: Backend) -> None:
    jobs = make_jobs(5)
    insert(backend, *reversed(jobs))
    assert ids(backend) == [j.id for j in reversed(jobs)]


def test_default_limit_is_20(backend: Backend) -> None:
    insert(backend, *make_jobs(25))
    assert len(backend.job_list(JobFilter())) == 20


@pytest.mark.parametrize("limit", [1, 3, 10])
def test_limit(backend: Backend, limit: int) -> None:
    jobs = make_jobs(6)
    insert(backend, *jobs)
    assert ids(backend, limit=limit) == [j.id for j in reversed(jobs)][:limit]


def test_cursor_pages_through_everything(backend: Backend) -> None:
    jobs = make_jobs(7)
    insert(backend, *jobs)
    seen: list[str] = []
    cursor: str | None = None
    while page := ids(backend, limit=3, before_id=cursor):
        seen.extend(page)
        cursor = page[-1]
    assert seen == [j.id for j in reversed(jobs)]


def test_before_id_is_exclusive(backend: Backend) -> None:
    jobs = make_jobs(3)
    insert(backend, *jobs)
    assert ids(backend, before_id=jobs[2].id) == [jobs[1].id, jobs[0].id]
    assert ids(backend, before_id=jobs[0].id) == []
    assert ids(backend, before_id=new_job_id(T0 + 1e6)) == [j.id for j in reversed(jobs)]


def test_filter_by_status(backend: Backend) -> None:
    made = {s: job_in(backend, s, queue="q")[0].id for s in IN_ONE_QUEUE}
    for status, job_id in made.items():
        assert ids(backend, status=status) == [job_id]


def test_filter_by_queue_task_owner(backend: Backend) -> None:
    a = make_job(id=new_job_id(T0), queue="q1", task="t1", owner="alice")
    b = make_job(id=new_job_id(T0 + 1), queue="q1", task="t2", owner="bob")
    c = make_job(id=new_job_id(T0 + 2), queue="q2", task="t1", owner=None)
    insert(backend, a, b, c)
    assert ids(backend, queue="q1") == [b.id, a.id]
    assert ids(backend, task="t1") == [c.id, a.id]
    assert ids(backend, owner="alice") == [a.id]
    assert ids(backend, owner="nobody") == []
    assert ids(backend, queue="q1", task="t1") == [a.id]
    assert ids(backend, queue="q2", owner="alice") == []


def test_filters_combine_with_status_and_cursor(backend: Backend) -> None:
    jobs = make_jobs(4, owner="alice")
    insert(backend, *jobs, make_job(owner="bob"))
    claim(backend, limit=1)  # the oldest of all is running now
    queued = ids(backend, owner="alice", status=JobStatus.QUEUED)
    assert queued == [jobs[3].id, jobs[2].id, jobs[1].id]
    assert ids(backend, owner="alice", status=JobStatus.QUEUED, before_id=jobs[3].id, limit=1) == [jobs[2].id]


def test_list_returns_full_records(backend: Backend) -> None:
    job = make_job(args_json="[1, 2]", kwargs_json='{"a": 1}', owner="o", priority=3)
    insert(backend, job)
    [listed] = backend.job_list(JobFilter())
    assert listed == get(backend, job.id)
    assert listed.args == [1, 2] and listed.kwargs == {"a": 1}


# -- counts -------------------------------------------------------------------------------


def test_counts_per_queue_per_status(backend: Backend) -> None:
    for status in IN_ONE_QUEUE:
        job_in(backend, status, queue="a")
    job_in(backend, JobStatus.QUEUED, queue="a")
    job_in(backend, JobStatus.FAILED, queue="b")
    job_in(backend, JobStatus.QUEUED, queue="b")
    counts = backend.job_counts()
    assert set(counts) == {"a", "b"}
    assert {s: n for s, n in counts["a"].items() if n} == {
        "scheduled": 1,
        "queued": 2,
        "running": 1,
        "retrying": 1,
        "completed": 1,
        "failed": 1,
        "cancelled": 1,
    }
    assert {s: n for s, n in counts["b"].items() if n} == {"queued": 1, "failed": 1}


def test_counts_follow_changes(backend: Backend) -> None:
    insert(backend, *make_jobs(3))
    claim(backend, limit=2)
    counts = backend.job_counts()["default"]
    assert (counts.get("queued", 0), counts.get("running", 0)) == (1, 2)


def test_paused_empty_queue_is_listed(backend: Backend) -> None:
    backend.queue_pause("idle", True)
    job_in(backend, JobStatus.QUEUED, queue="busy")
    counts = backend.job_counts()
    assert "idle" in counts
    assert sum(counts["idle"].values()) == 0
    assert counts["busy"].get("queued") == 1


def test_paused_queue_with_jobs(backend: Backend) -> None:
    job_in(backend, JobStatus.QUEUED, queue="a")
    backend.queue_pause("a", True)
    assert backend.job_counts()["a"].get("queued") == 1
