"""job_recover: running jobs whose lease expired come back exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from offload.backends.base import Backend
from offload.records import JobStatus

from .helpers import T0, claim, get, insert, insert_one, job_in, make_jobs, running_job


def test_nothing_to_recover(backend: Backend) -> None:
    insert_one(backend)
    assert backend.job_recover(now=T0 + 10_000) == []


def test_live_leases_are_left_alone(backend: Backend) -> None:
    r = running_job(backend, lease_s=10)
    assert backend.job_recover(now=T0) == []
    assert backend.job_recover(now=T0 + 9) == []
    after = get(backend, r.id)
    assert (after.status, after.lease_token) == (JobStatus.RUNNING, r.lease_token)


def test_expired_lease_with_attempts_left_is_queued(backend: Backend) -> None:
    r = running_job(backend, queue="default", lease_s=10, max_attempts=2)
    [rec] = backend.job_recover(now=T0 + 11)
    assert (rec.id, rec.status) == (r.id, JobStatus.QUEUED)
    after = get(backend, r.id)
    assert after.status == JobStatus.QUEUED
    assert after.attempts == 1  # the lost run counted
    assert after.lease_token is None and after.lease_expires_at is None
    assert after.completed_at is None
    [again] = claim(backend, now=T0 + 12)
    assert (again.id, again.attempts) == (r.id, 2)


def test_a_recovered_job_keeps_its_place_in_line(backend: Backend) -> None:
    """A job whose worker died goes before the jobs enqueued after it, not behind them:
    it was first in line once already."""
    first = insert_one(backend, max_attempts=3)
    [claimed] = claim(backend, now=T0, lease_s=10)
    assert claimed.id == first
    later = [insert_one(backend, now=T0 + t) for t in (1, 5, 9)]
    [rec] = backend.job_recover(now=T0 + 11)
    assert (rec.id, rec.status) == (first, JobStatus.QUEUED)
    assert [r.id for r in claim(backend, now=T0 + 12, limit=1)] == [first]
    assert [r.id for r in claim(backend, now=T0 + 12)] == later
    assert get(backend, first).run_at == claimed.run_at


def test_expired_lease_without_attempts_left_fails(backend: Backend) -> None:
    r = running_job(backend, lease_s=10, max_attempts=1)
    [rec] = backend.job_recover(now=T0 + 11)
    assert (rec.id, rec.status) == (r.id, JobStatus.FAILED)
    after = get(backend, r.id)
    assert after.status == JobStatus.FAILED
    assert after.error is not None and "worker lost" in after.error
    assert after.completed_at is not None
    assert after.lease_token is None and after.lease_expires_at is None


def test_poison_pill_fails_after_exactly_max_attempts(backend: Backend) -> None:
    job_id = insert_one(backend, max_attempts=3)
    now = T0
    claims = 0
    while True:
        got = claim(backend, now=now, lease_s=10)
        if not got:
            break
        claims += 1
        now += 11  # the worker died: its lease runs out
        backend.job_recover(now=now)
    after = get(backend, job_id)
    assert claims == 3
    assert (after.status, after.attempts) == (JobStatus.FAILED, 3)
    assert after.error is not None and "worker lost" in after.error


@pytest.mark.parametrize(
    "status",
    [
        JobStatus.SCHEDULED,
        JobStatus.QUEUED,
        JobStatus.RETRYING,
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    ],
)
def test_only_running_jobs_are_recovered(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status)
    assert backend.job_recover(now=T0 + 1e6) == []
    assert get(backend, job.id).status == status


def test_recovered_once(backend: Backend) -> None:
    r = running_job(backend, lease_s=10, max_attempts=5)
    assert [j.id for j in backend.job_recover(now=T0 + 11)] == [r.id]
    assert backend.job_recover(now=T0 + 12) == []
    assert backend.job_recover(now=T0 + 1e6) == []


def test_recover_limit(backend: Backend) -> None:
    insert(backend, *make_jobs(5, max_attempts=2))
    claim(backend, now=T0, lease_s=10)
    first = backend.job_recover(now=T0 + 11, limit=2)
    assert len(first) == 2
    rest = backend.job_recover(now=T0 + 11, limit=100)
    assert len(rest) == 3
    assert not {j.id for j in first} & {j.id for j in rest}


def test_only_the_expired_among_many(backend: Backend) -> None:
    short = running_job(backend, lease_s=10, max_attempts=2)
    long = running_job(backend, lease_s=100, max_attempts=2)
    assert [j.id for j in backend.job_recover(now=T0 + 50)] == [short.id]
    assert get(backend, long.id).status == JobStatus.RUNNING


def test_concurrent_recovery_takes_each_job_once(backend: Backend) -> None:
    jobs = make_jobs(60, max_attempts=2)
    insert(backend, *jobs)
    assert len(claim(backend, now=T0, lease_s=10)) == 60
    threads = 8
    barrier = threading.Barrier(threads)

    def recover(_: int) -> list[str]:
        barrier.wait(timeout=10)
        got: list[str] = []
        while batch := backend.job_recover(now=T0 + 100, limit=7):
            got.extend(j.id for j in batch)
        return got

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(recover, range(threads)))
    every = [job_id for r in results for job_id in r]
    assert sorted(every) == sorted(j.id for j in jobs)  # each job in exactly one result
    assert all(get(backend, j.id).status == JobStatus.QUEUED for j in jobs)
