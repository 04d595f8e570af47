"""job_finished_counts: ended jobs per time bucket and final status (the dashboard's
throughput and failure-rate charts)."""

from __future__ import annotations

import math

import pytest

from offload.backends.base import Backend
from offload.errors import InvalidRequest
from offload.records import FinishedCount, JobStatus, PruneRule

from .helpers import T0, finish, insert_one, job_in, running_job

C, F, X = JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED


def start(t: float, bucket: float = 60.0) -> float:
    return math.floor(t / bucket) * bucket


def counts(backend: Backend, since: float, bucket_s: float = 60.0) -> list[tuple[float, str, int]]:
    found = backend.job_finished_counts(since=since, bucket_s=bucket_s)
    assert all(isinstance(c, FinishedCount) for c in found)
    return [(c.bucket, str(c.status), c.count) for c in found]


def test_nothing_ended(backend: Backend) -> None:
    job_in(backend, JobStatus.QUEUED)
    job_in(backend, JobStatus.RUNNING)
    assert backend.job_finished_counts(since=0) == []


def test_counted_by_bucket_and_status(backend: Backend) -> None:
    base = start(T0, 600) + 600  # a boundary of both bucket lengths, so that the buckets are plain
    ends = [(C, base + 1), (C, base + 59), (C, base + 60), (F, base + 61), (X, base + 125), (F, base - 1)]
    for n, (status, at) in enumerate(ends):
        record = running_job(backend, task=f"t{n % 3}", now=base - 300)
        kw = {"error": "boom"} if status == F else {}
        assert finish(backend, record, status, now=at, **kw) == {record.id}
    assert counts(backend, since=base) == [
        (base, "completed", 2),
        (base + 60, "completed", 1),
        (base + 60, "failed", 1),
        (base + 120, "cancelled", 1),
    ]
    # the job that ended before `since` counts once `since` is earlier; buckets of 10 minutes
    assert counts(backend, since=base - 600, bucket_s=600) == [
        (base - 600, "failed", 1),
        (base, "cancelled", 1),
        (base, "completed", 3),
        (base, "failed", 1),
    ]


def test_waiting_jobs_cancelled_and_recovered_jobs_count(backend: Backend) -> None:
    base = start(T0) + 600
    job_id = insert_one(backend, queue="cq", now=base - 100)
    backend.job_cancel(job_id, now=base + 5)
    running_job(backend, task="lost", lease_s=10, max_attempts=1, now=base)
    backend.job_recover(now=base + 20)
    assert counts(backend, since=base) == [(base, "cancelled", 1), (base, "failed", 1)]


def test_retries_and_live_jobs_do_not_count(backend: Backend) -> None:
    base = start(T0) + 600
    record = running_job(backend, max_attempts=3, now=base)
    finish(backend, record, JobStatus.RETRYING, now=base + 1, error="e", run_at=base + 100)
    job_in(backend, JobStatus.SCHEDULED, now=base)
    job_in(backend, JobStatus.RUNNING, now=base)
    assert counts(backend, since=base) == []


def test_pruned_jobs_are_gone(backend: Backend) -> None:
    base = start(T0) + 600
    for _ in range(3):
        finish(backend, running_job(backend, now=base), C, now=base + 1)
    backend.job_prune([PruneRule(status=C, before=base + 2)])
    assert counts(backend, since=base) == []


@pytest.mark.parametrize("bad", [0.0, -60.0, float("nan"), float("inf")])
def test_bucket_length_is_checked(backend: Backend, bad: float) -> None:
    with pytest.raises(InvalidRequest, match="bucket_s"):
        backend.job_finished_counts(since=T0, bucket_s=bad)
