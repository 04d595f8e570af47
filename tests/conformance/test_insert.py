"""job_insert_many and job_get: what goes in comes back, atomically, once per unique key."""

from __future__ import annotations

from typing import Any

import pytest

from offload.backends.base import Backend
from offload.errors import BackendError, ConfigurationError, OffloadError
from offload.records import JobFilter, JobStatus, new_job_id

from .helpers import FAR, T0, get, insert, insert_one, job_in, make_job, make_jobs


def test_fresh_store_is_empty_and_answers(backend: Backend) -> None:
    backend.ping()
    assert backend.job_list(JobFilter()) == []
    assert backend.job_counts() == {}
    assert backend.event_list() == []


def test_migrate_is_idempotent(backend: Backend) -> None:
    version = backend.migrate()
    assert version >= 1
    assert backend.migrate() == version
    insert_one(backend)  # the schema still works


def test_insert_returns_one_result_per_job_in_order(backend: Backend) -> None:
    jobs = make_jobs(5)
    result = backend.job_insert_many(jobs, now=T0)
    assert [(r.id, r.created) for r in result] == [(j.id, True) for j in jobs]


def test_insert_empty_batch(backend: Backend) -> None:
    assert backend.job_insert_many([], now=T0) == []


def test_fields_round_trip(backend: Backend) -> None:
    job = make_job(
        task="reports.build",
        queue="reports",
        args_json='[1, "two", {"three": [3.5, null, true]}]',
        kwargs_json='{"user": "ada", "ids": [1, 2], "nested": {"deep": {"x": "\\u00e9"}}}',
        priority=7,
        owner="user-42",
        max_attempts=4,
        timeout=12.5,
        backoff=3.0,
        unique_key="report:ada",
    )
    insert(backend, job, now=T0)
    r = get(backend, job.id)
    assert (r.id, r.task, r.queue, r.status) == (job.id, "reports.build", "reports", JobStatus.QUEUED)
    assert r.args == [1, "two", {"three": [3.5, None, True]}]
    assert r.kwargs == {"user": "ada", "ids": [1, 2], "nested": {"deep": {"x": "é"}}}
    assert (r.priority, r.owner, r.max_attempts) == (7, "user-42", 4)
    assert (r.timeout, r.backoff, r.unique_key) == (12.5, 3.0, "report:ada")
    assert r.attempts == 0
    assert r.created_at == pytest.approx(T0, abs=1e-3)
    assert r.run_at == pytest.approx(T0, abs=1e-3)
    assert r.result is None and r.error is None and r.traceback is None
    assert r.started_at is None and r.completed_at is None
    assert r.lease_token is None and r.lease_expires_at is None and r.worker_id is None
    assert r.cancel_requested is False
    assert r.messages == []
    assert r.progress_current is None and r.progress_total is None and r.message is None


def test_defaults_round_trip(backend: Backend) -> None:
    job_id = insert_one(backend)
    r = get(backend, job_id)
    assert r.args == [] and r.kwargs == {}
    assert (r.priority, r.owner, r.max_attempts) == (0, None, 1)
    assert (r.timeout, r.backoff, r.unique_key) == (None, None, None)


def test_negative_priority_round_trips(backend: Backend) -> None:
    assert get(backend, insert_one(backend, priority=-5)).priority == -5


def test_job_get_missing_is_none(backend: Backend) -> None:
    assert backend.job_get(new_job_id()) is None


@pytest.mark.parametrize("delay", [0.0, -10.0])
def test_run_at_now_or_past_is_queued(backend: Backend, delay: float) -> None:
    r = get(backend, insert_one(backend, now=T0, run_at=T0 + delay))
    assert r.status == JobStatus.QUEUED
    assert r.run_at <= T0 + 1e-3


def test_run_at_in_the_future_is_scheduled(backend: Backend) -> None:
    r = get(backend, insert_one(backend, now=T0, run_at=T0 + 60))
    assert r.status == JobStatus.SCHEDULED
    assert r.run_at == pytest.approx(T0 + 60, abs=1e-3)
    assert r.attempts == 0


def test_batch_is_all_or_none(backend: Backend) -> None:
    good = make_jobs(3)
    bad = make_job(task=None)  # violates the store's constraints: the whole batch must fail
    with pytest.raises(Exception):  # noqa: B017 - which error it is, is the next test's concern
        backend.job_insert_many([*good, bad], now=T0)
    assert all(backend.job_get(j.id) is None for j in good)
    assert backend.job_list(JobFilter()) == []
    assert [e for e in backend.event_list() if e.job_id in {j.id for j in good}] == []


def test_store_errors_are_translated(backend: Backend) -> None:
    """Driver errors cross the boundary as BackendError, never as the driver's own class."""
    with pytest.raises(BackendError):
        backend.job_insert_many([make_job(task=None)], now=T0)


def test_reused_id_is_not_reported_as_created(backend: Backend) -> None:
    """A NewJob whose id is taken must not be reported as a new job, nor overwrite the old one."""
    first = make_job(task="first")
    insert(backend, first)
    again = make_job(id=first.id, task="second")
    try:
        result = backend.job_insert_many([again], now=T0 + 1)
    except OffloadError:
        pass  # refusing the batch is fine too
    else:
        assert result[0].created is False
    assert get(backend, first.id).task == "first"


# -- unique keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "holder_status", [JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.RETRYING, JobStatus.RUNNING]
)
def test_unique_key_held_by_a_live_job(backend: Backend, holder_status: JobStatus) -> None:
    holder, _ = job_in(backend, holder_status, unique_key="k")
    dup = make_job(unique_key="k")
    [result] = backend.job_insert_many([dup], now=T0 + 1)
    assert (result.id, result.created) == (holder.id, False)
    assert backend.job_get(dup.id) is None
    assert get(backend, holder.id).status == holder_status


@pytest.mark.parametrize("holder_status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_unique_key_is_free_once_the_holder_ended(backend: Backend, holder_status: JobStatus) -> None:
    old, _ = job_in(backend, holder_status, unique_key="k")
    new = make_job(unique_key="k")
    [result] = backend.job_insert_many([new], now=T0 + 1)
    assert (result.id, result.created) == (new.id, True)
    assert get(backend, new.id).status == JobStatus.QUEUED
    assert get(backend, old.id).status == holder_status
    # and now the new job holds the key
    [again] = backend.job_insert_many([make_job(unique_key="k")], now=T0 + 2)
    assert (again.id, again.created) == (new.id, False)


def test_unique_key_twice_in_one_batch(backend: Backend) -> None:
    a, b, c = make_job(unique_key="k"), make_job(unique_key="k"), make_job(unique_key="other")
    result = backend.job_insert_many([a, b, c], now=T0)
    assert [(r.id, r.created) for r in result] == [(a.id, True), (a.id, False), (c.id, True)]
    assert backend.job_get(b.id) is None


def test_unique_key_mixed_with_plain_jobs(backend: Backend) -> None:
    holder = insert_one(backend, unique_key="k")
    plain1, dup, plain2 = make_job(), make_job(unique_key="k"), make_job()
    result = backend.job_insert_many([plain1, dup, plain2], now=T0 + 1)
    assert [(r.id, r.created) for r in result] == [(plain1.id, True), (holder, False), (plain2.id, True)]


def test_unique_key_holder_scheduled_blocks_queued_duplicate(backend: Backend) -> None:
    holder = insert_one(backend, run_at=T0 + FAR, unique_key="k")
    [result] = backend.job_insert_many([make_job(unique_key="k", run_at=None)], now=T0)
    assert (result.id, result.created) == (holder, False)


def test_retried_holder_holds_its_key_again(backend: Backend) -> None:
    old, _ = job_in(backend, JobStatus.FAILED, unique_key="k")
    backend.job_retry(old.id, now=T0 + 1)
    [result] = backend.job_insert_many([make_job(unique_key="k")], now=T0 + 2)
    assert (result.id, result.created) == (old.id, False)


def test_retry_while_another_job_holds_the_key(backend: Backend) -> None:
    """Retrying an ended job whose key a newer live job took: refused with an offload
    error, or done; never two live holders of one key, never a raw driver error."""
    old, _ = job_in(backend, JobStatus.FAILED, unique_key="k")
    new = insert_one(backend, now=T0 + 1, unique_key="k")
    try:
        backend.job_retry(old.id, now=T0 + 2)
    except OffloadError:
        assert get(backend, old.id).status == JobStatus.FAILED
    live = [
        j.id
        for j in backend.job_list(JobFilter(limit=100))
        if j.unique_key == "k" and j.status not in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
    ]
    assert len(live) == 1, live
    assert new in live or old.id in live


# -- idempotency keys --------------------------------------------------------------------


@pytest.mark.parametrize("holder_status", list(JobStatus))
def test_idempotency_key_held_by_any_stored_job(backend: Backend, holder_status: JobStatus) -> None:
    holder, _ = job_in(backend, holder_status, idempotency_key="idem-1")
    again = make_job(idempotency_key="idem-1")
    [result] = backend.job_insert_many([again], now=T0 + 1)
    assert (result.id, result.created) == (holder.id, False)
    assert backend.job_get(again.id) is None


def test_idempotency_key_twice_in_one_batch(backend: Backend) -> None:
    a, b = make_job(idempotency_key="i"), make_job(idempotency_key="i")
    result = backend.job_insert_many([a, b], now=T0)
    assert [(r.id, r.created) for r in result] == [(a.id, True), (a.id, False)]


def test_idempotency_key_holder_named_before_unique_key_holder(backend: Backend) -> None:
    unique_holder = insert_one(backend, unique_key="u")
    idem_holder, _ = job_in(backend, JobStatus.COMPLETED, idempotency_key="i")
    [result] = backend.job_insert_many([make_job(unique_key="u", idempotency_key="i")], now=T0 + 1)
    assert (result.id, result.created) == (idem_holder.id, False)
    assert unique_holder != idem_holder.id


def test_idempotency_key_free_but_unique_key_held(backend: Backend) -> None:
    holder = insert_one(backend, unique_key="u")
    job = make_job(unique_key="u", idempotency_key="fresh")
    [result] = backend.job_insert_many([job], now=T0 + 1)
    assert (result.id, result.created) == (holder, False)
    assert backend.job_get(job.id) is None


def test_idempotency_key_round_trips_through_other_keys(backend: Backend) -> None:
    a, b = make_job(idempotency_key="a"), make_job(idempotency_key="b")
    result = backend.job_insert_many([a, b], now=T0)
    assert [r.created for r in result] == [True, True]


# -- the caller's transaction ------------------------------------------------------------


def test_insert_in_callers_transaction(backend: Backend) -> None:
    """PostgreSQL writes into the caller's transaction; other stores refuse clearly."""
    if not backend.url.startswith(("postgres", "postgresql")):
        with pytest.raises(ConfigurationError):
            backend.job_insert_many([make_job()], now=T0, connection=object())
        assert backend.job_list(JobFilter()) == []
        return
    import psycopg

    rolled_back, committed = make_job(), make_job()
    conn: Any
    with psycopg.connect(backend.url) as conn:
        backend.job_insert_many([rolled_back], now=T0, connection=conn)
        conn.rollback()
        backend.job_insert_many([committed], now=T0, connection=conn)
        assert backend.job_get(committed.id) is None  # not visible before the commit
        conn.commit()
    assert backend.job_get(rolled_back.id) is None
    assert get(backend, committed.id).status == JobStatus.QUEUED
