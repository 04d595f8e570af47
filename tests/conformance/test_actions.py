"""Users' actions: job_cancel, job_retry, job_delete."""

from __future__ import annotations

import pytest

from offload.backends.base import Backend
from offload.errors import InvalidTransition, JobNotFound
from offload.records import TERMINAL, WAITING, JobStatus, new_job_id

from .helpers import LEASE_S, T0, claim, finish, get, job_in, lease_of, running_job, status_history

ALL = list(JobStatus)

# -- cancel -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(WAITING))
def test_cancel_a_waiting_job(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status)
    record = backend.job_cancel(job.id, now=T0 + 5)
    assert record.id == job.id
    assert record.status == JobStatus.CANCELLED
    assert record.completed_at == pytest.approx(T0 + 5, abs=1e-3)
    assert get(backend, job.id).status == JobStatus.CANCELLED
    assert claim(backend, [job.queue], now=T0 + 1e6) == []


def test_cancel_a_running_job_asks_the_worker(backend: Backend) -> None:
    r = running_job(backend)
    record = backend.job_cancel(r.id, now=T0 + 1)
    assert record.status == JobStatus.RUNNING
    assert record.cancel_requested is True
    after = get(backend, r.id)
    assert (after.status, after.cancel_requested, after.lease_token) == (JobStatus.RUNNING, True, r.lease_token)
    assert after.completed_at is None
    # the worker still holds it and decides
    hb = backend.job_heartbeat([lease_of(r)], lease_s=LEASE_S, now=T0 + 2)
    assert hb.held == {r.id} and hb.cancel_requested == {r.id}
    assert finish(backend, r, JobStatus.CANCELLED, now=T0 + 3) == {r.id}
    assert get(backend, r.id).status == JobStatus.CANCELLED


def test_cancel_a_running_job_twice(backend: Backend) -> None:
    r = running_job(backend)
    backend.job_cancel(r.id, now=T0 + 1)
    record = backend.job_cancel(r.id, now=T0 + 2)
    assert (record.status, record.cancel_requested) == (JobStatus.RUNNING, True)


def test_a_run_that_returns_after_a_cancel_request_ends_cancelled_with_its_result(backend: Backend) -> None:
    """A person pressed cancel: the job ends cancelled even if its run returned (maybe
    before the worker learnt of the request); what it returned is kept."""
    r = running_job(backend)
    backend.job_cancel(r.id, now=T0 + 1)
    assert finish(backend, r, JobStatus.COMPLETED, now=T0 + 2, result_json='{"done": 3}') == {r.id}
    after = get(backend, r.id)
    assert (after.status, after.result, after.error) == (JobStatus.CANCELLED, {"done": 3}, "cancelled on request")
    assert after.completed_at == pytest.approx(T0 + 2, abs=1e-3)
    assert status_history(backend, r.id)[-1] == "cancelled"
    [stats] = [s for s in backend.stats_tasks() if s.task == r.task]
    assert (stats.succeeded, stats.cancelled) == (0, 1)


def test_a_retry_asked_for_after_a_cancel_request_ends_cancelled(backend: Backend) -> None:
    r = running_job(backend, max_attempts=3)
    backend.job_cancel(r.id, now=T0 + 1)
    assert finish(backend, r, JobStatus.RETRYING, now=T0 + 2, error="boom", run_at=T0 + 3) == {r.id}
    after = get(backend, r.id)
    assert (after.status, after.error) == (JobStatus.CANCELLED, "cancelled on request")
    assert claim(backend, [r.queue], now=T0 + 10) == []


def test_a_failure_after_a_cancel_request_stays_a_failure(backend: Backend) -> None:
    r = running_job(backend)
    backend.job_cancel(r.id, now=T0 + 1)
    assert finish(backend, r, JobStatus.FAILED, now=T0 + 2, error="ValueError: bad") == {r.id}
    assert (get(backend, r.id).status, get(backend, r.id).error) == (JobStatus.FAILED, "ValueError: bad")


def test_a_completed_run_without_a_cancel_request_stays_completed(backend: Backend) -> None:
    r = running_job(backend)
    assert finish(backend, r, JobStatus.COMPLETED, now=T0 + 2, result_json="1") == {r.id}
    assert (get(backend, r.id).status, get(backend, r.id).error) == (JobStatus.COMPLETED, None)


def test_release_honours_a_cancel_request(backend: Backend) -> None:
    """A job somebody asked to cancel is not put back on release: it is cancelled."""
    r = running_job(backend, max_attempts=2)
    backend.job_cancel(r.id, now=T0 + 1)
    assert backend.job_release([lease_of(r)], now=T0 + 2) == {r.id}
    after = get(backend, r.id)
    assert after.status == JobStatus.CANCELLED
    assert after.completed_at == pytest.approx(T0 + 2, abs=1e-3)
    assert after.lease_token is None
    assert claim(backend, [r.queue], now=T0 + 3) == []


@pytest.mark.parametrize("max_attempts", [1, 2])
def test_recover_honours_a_cancel_request(backend: Backend, max_attempts: int) -> None:
    r = running_job(backend, lease_s=10, max_attempts=max_attempts)
    backend.job_cancel(r.id, now=T0 + 1)
    [rec] = backend.job_recover(now=T0 + 11)
    assert (rec.id, rec.status) == (r.id, JobStatus.CANCELLED)
    after = get(backend, r.id)
    assert after.status == JobStatus.CANCELLED
    assert after.completed_at is not None
    assert after.lease_token is None
    assert claim(backend, [r.queue], now=T0 + 12) == []


def test_cancel_request_is_not_carried_into_a_retried_run(backend: Backend) -> None:
    r = running_job(backend, max_attempts=2)
    backend.job_cancel(r.id, now=T0 + 1)
    finish(backend, r, JobStatus.CANCELLED, now=T0 + 2)
    backend.job_retry(r.id, now=T0 + 3)
    [again] = claim(backend, [r.queue], now=T0 + 4)
    assert again.cancel_requested is False
    assert backend.job_heartbeat([lease_of(again)], lease_s=LEASE_S, now=T0 + 5).cancel_requested == frozenset()


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_cancel_an_ended_job_is_refused(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status)
    with pytest.raises(InvalidTransition) as info:
        backend.job_cancel(job.id, now=T0 + 1)
    assert info.value.job_id == job.id
    assert get(backend, job.id).status == status


def test_cancel_a_missing_job(backend: Backend) -> None:
    missing = new_job_id()
    with pytest.raises(JobNotFound) as info:
        backend.job_cancel(missing, now=T0)
    assert info.value.job_id == missing


# -- retry --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
def test_retry_an_ended_job(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status, max_attempts=2)
    record = backend.job_retry(job.id, now=T0 + 50)
    assert record.id == job.id
    assert record.status == JobStatus.QUEUED
    assert record.attempts == 0
    assert record.error is None and record.traceback is None
    assert record.completed_at is None
    assert record.lease_token is None
    assert record.cancel_requested is False
    stored = get(backend, job.id)
    assert (stored.status, stored.attempts, stored.error) == (JobStatus.QUEUED, 0, None)
    [again] = claim(backend, [job.queue], now=T0 + 50)
    assert (again.id, again.attempts) == (job.id, 1)


def test_retry_a_job_that_failed_with_worker_lost(backend: Backend) -> None:
    r = running_job(backend, lease_s=10)
    backend.job_recover(now=T0 + 11)
    assert get(backend, r.id).status == JobStatus.FAILED
    record = backend.job_retry(r.id, now=T0 + 12)
    assert (record.status, record.attempts, record.error) == (JobStatus.QUEUED, 0, None)


def test_retry_clears_the_old_result_of_a_cancelled_run(backend: Backend) -> None:
    r = running_job(backend)
    finish(backend, r, JobStatus.CANCELLED, now=T0 + 1, error="cancelled by user")
    record = backend.job_retry(r.id, now=T0 + 2)
    assert (record.status, record.error, record.result) == (JobStatus.QUEUED, None, None)


@pytest.mark.parametrize(
    "status", [JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING, JobStatus.COMPLETED]
)
def test_retry_is_refused_unless_failed_or_cancelled(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status)
    before = get(backend, job.id)
    with pytest.raises(InvalidTransition) as info:
        backend.job_retry(job.id, now=T0 + 1)
    assert info.value.job_id == job.id
    after = get(backend, job.id)
    assert (after.status, after.attempts, after.lease_token) == (before.status, before.attempts, before.lease_token)


def test_retry_a_missing_job(backend: Backend) -> None:
    with pytest.raises(JobNotFound):
        backend.job_retry(new_job_id(), now=T0)


# -- delete -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_delete_an_ended_job(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status)
    keep, _ = job_in(backend, status)
    backend.job_delete(job.id)
    assert backend.job_get(job.id) is None
    assert get(backend, keep.id).status == status
    with pytest.raises(JobNotFound):
        backend.job_delete(job.id)


@pytest.mark.parametrize("status", sorted(WAITING | {JobStatus.RUNNING}))
def test_delete_a_live_job_is_refused(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status)
    with pytest.raises(InvalidTransition) as info:
        backend.job_delete(job.id)
    assert info.value.job_id == job.id
    assert get(backend, job.id).status == status


def test_delete_a_missing_job(backend: Backend) -> None:
    missing = new_job_id()
    with pytest.raises(JobNotFound) as info:
        backend.job_delete(missing)
    assert info.value.job_id == missing
