"""Enqueue inside the caller's transaction, and waking workers with LISTEN/NOTIFY."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from tests.support.postgres import new_job
from tests.support.procs import wait_for

from offload.backends.postgres import PostgresBackend
from offload.errors import ConfigurationError
from offload.records import JobStatus, Lease


@pytest.fixture
def app_conn(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    """The application's own connection, in a transaction as psycopg opens it by default."""
    with psycopg.connect(postgres_url) as conn:
        yield conn


@pytest.fixture
def waiter(postgres_backend: PostgresBackend) -> Iterator[Any]:
    w = postgres_backend.waiter("w1", ["default"])
    wait_for(w.listening.is_set, 10, message="the LISTEN session to start")  # type: ignore[attr-defined]
    yield w
    w.close()


def test_commit_stores_the_job_and_wakes_workers(
    postgres_backend: PostgresBackend, app_conn: psycopg.Connection[Any], waiter: Any
) -> None:
    app_conn.execute("CREATE TEMP TABLE orders (id int)")
    app_conn.execute("INSERT INTO orders VALUES (1)")
    job = new_job()
    (inserted,) = postgres_backend.job_insert_many([job], connection=app_conn)
    assert inserted.created and inserted.id == job.id

    assert postgres_backend.job_get(job.id) is None  # not committed yet: nobody else sees it
    assert not waiter.wait(0.3)  # and nobody is woken for it

    app_conn.commit()
    assert waiter.wait(5.0)
    record = postgres_backend.job_get(job.id)
    assert record is not None and record.status == JobStatus.QUEUED
    assert [e.data["status"] for e in postgres_backend.event_list(job_id=job.id)] == ["queued"]


def test_rollback_leaves_no_job_no_event_no_wakeup(
    postgres_backend: PostgresBackend, app_conn: psycopg.Connection[Any], waiter: Any
) -> None:
    jobs = [new_job(), new_job(unique_key="k")]
    postgres_backend.job_insert_many(jobs, connection=app_conn)
    app_conn.rollback()
    assert not waiter.wait(0.5)
    assert all(postgres_backend.job_get(j.id) is None for j in jobs)
    assert postgres_backend.event_list(after=0) == []
    assert postgres_backend.job_counts() == {}
    # The unique key was never held: a new job may take it.
    assert postgres_backend.job_insert_many([new_job(unique_key="k")])[0].created


def test_autocommit_connection_gets_an_atomic_batch(postgres_backend: PostgresBackend, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        jobs = [new_job(), new_job()]
        postgres_backend.job_insert_many(jobs, connection=conn)
        assert all(postgres_backend.job_get(j.id) is not None for j in jobs)
        # Inside the caller's explicit transaction block: a savepoint, rolled back with it.
        with pytest.raises(RuntimeError), conn.transaction():
            postgres_backend.job_insert_many([gone := new_job()], connection=conn)
            raise RuntimeError("the app changed its mind")
        assert postgres_backend.job_get(gone.id) is None


def test_connection_must_be_psycopg(postgres_backend: PostgresBackend) -> None:
    with pytest.raises(ConfigurationError):
        postgres_backend.job_insert_many([new_job()], connection=object())


def test_notify_wakes_a_waiter_of_another_process_like_backend(postgres_url: str, waiter: Any) -> None:
    """Enqueuer and worker share nothing but the server."""
    enqueuer = PostgresBackend(postgres_url)
    try:
        assert not waiter.wait(0.1)
        enqueuer.job_insert_many([new_job()])
        assert waiter.wait(5.0)
        assert not waiter.wait(0.1)  # one enqueue, one wake-up
    finally:
        enqueuer.close()


def test_waiter_ignores_other_queues_and_scheduled_jobs(postgres_backend: PostgresBackend, waiter: Any) -> None:
    postgres_backend.job_insert_many([new_job("elsewhere")])
    postgres_backend.job_insert_many([new_job(run_at=time.time() + 3600)])
    assert not waiter.wait(0.5)
    postgres_backend.job_insert_many([new_job("default")])
    assert waiter.wait(5.0)


def test_retry_release_recover_and_resume_wake_workers(postgres_backend: PostgresBackend, waiter: Any) -> None:
    now = time.time()
    a, b = new_job(max_attempts=2), new_job()
    postgres_backend.job_insert_many([a, b], now=now)
    assert waiter.wait(5.0)
    ca, cb = postgres_backend.job_claim(queues=["default"], limit=2, worker_id="w", lease_s=1, now=now)
    postgres_backend.job_release([Lease(cb.id, cb.lease_token or "")])
    assert waiter.wait(5.0)
    postgres_backend.job_recover(now=now + 5)
    assert waiter.wait(5.0)
    postgres_backend.job_cancel(b.id)
    assert not waiter.wait(0.2)
    postgres_backend.job_retry(b.id)
    assert waiter.wait(5.0)
    postgres_backend.queue_pause("default", True)
    postgres_backend.queue_pause("default", False)
    assert waiter.wait(5.0)


def test_ring_wakes_from_another_thread_and_wait_times_out(waiter: Any) -> None:
    started = time.monotonic()
    assert not waiter.wait(0.2)
    assert 0.15 <= time.monotonic() - started < 2.0
    threading.Timer(0.1, waiter.ring).start()
    assert waiter.wait(5.0)


def test_stores_in_other_schemas_do_not_wake_each_other(
    postgres_url: str, postgres_backend: PostgresBackend, waiter: Any
) -> None:
    """Two stores in one database (?schema=): separate tables, separate channels."""
    other = PostgresBackend(f"{postgres_url}?schema=other_store")
    try:
        other.migrate()
        other.job_insert_many([new_job()])
        assert not waiter.wait(0.5)
        assert postgres_backend.job_counts() == {}
        assert other.job_counts() == {"default": {"queued": 1}}
    finally:
        other.close()
