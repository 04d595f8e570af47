"""A PostgreSQL outage: calls fail clearly and store nothing; the same backend object
works again once the server is back; a waiter's LISTEN session comes back by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from tests.support.postgres import PostgresCluster, new_job
from tests.support.procs import wait_for

from offload.backends.postgres import PostgresBackend
from offload.errors import BackendUnavailable
from offload.records import JobStatus, Outcome


@pytest.fixture
def server(postgres_server: PostgresCluster) -> Iterator[PostgresCluster]:
    """The session's server, started again whatever the test did to it."""
    try:
        yield postgres_server
    finally:
        if postgres_server.external_url is None:
            postgres_server.start()


def _works(backend: PostgresBackend) -> bool:
    try:
        backend.ping()
    except BackendUnavailable:
        return False
    return True


def test_enqueue_while_down_raises_and_stores_nothing(
    server: PostgresCluster, postgres_backend: PostgresBackend
) -> None:
    before = new_job()
    postgres_backend.job_insert_many([before])
    server.stop()

    lost = new_job()
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        postgres_backend.job_insert_many([lost])
    assert time.monotonic() - started < 10  # bounded by pool_timeout, not by a long hang
    assert info.value.retryable
    with pytest.raises(BackendUnavailable):
        postgres_backend.job_get(before.id)
    with pytest.raises(BackendUnavailable):
        postgres_backend.ping()

    server.start()
    wait_for(lambda: _works(postgres_backend), 15.0)  # the same object, not a new one
    assert postgres_backend.job_get(lost.id) is None
    record = postgres_backend.job_get(before.id)
    assert record is not None and record.status == JobStatus.QUEUED
    assert postgres_backend.job_insert_many([new_job()])[0].created


def test_restart_between_calls_is_invisible_after_reconnect(
    server: PostgresCluster, postgres_backend: PostgresBackend
) -> None:
    """Pooled connections killed by a restart are replaced without the caller noticing
    once the server answers again."""
    # Fill the pool with several connections, all of which the restart kills.
    jobs = [new_job() for _ in range(20)]
    postgres_backend.job_insert_many(jobs)
    server.restart()
    ok = wait_for(lambda: _works(postgres_backend), 15.0)
    assert ok
    claimed = postgres_backend.job_claim(queues=["default"], limit=20, worker_id="w", lease_s=30)
    assert {j.id for j in claimed} == {j.id for j in jobs}


def test_claim_loop_survives_restart_mid_drain(server: PostgresCluster, postgres_backend: PostgresBackend) -> None:
    """A worker-like loop that treats BackendUnavailable as "try again" drains every job
    exactly once across a restart."""
    jobs = [new_job() for _ in range(300)]
    postgres_backend.job_insert_many(jobs)
    done: list[str] = []
    failures = 0
    restarted = False
    deadline = time.monotonic() + 60
    while len(done) < len(jobs) and time.monotonic() < deadline:
        if len(done) >= 100 and not restarted:
            server.restart()
            restarted = True
        try:
            batch = postgres_backend.job_claim(queues=["default"], limit=10, worker_id="w", lease_s=60)
            written = postgres_backend.job_finish(
                [Outcome(j.id, j.lease_token or "", JobStatus.COMPLETED, result_json="null") for j in batch]
            )
            assert written == {j.id for j in batch}
            done.extend(j.id for j in batch)
        except BackendUnavailable:
            failures += 1
            time.sleep(0.05)
    assert restarted
    assert sorted(done) == sorted(j.id for j in jobs)
    counts = postgres_backend.job_counts()
    assert counts["default"] == {"completed": 300}


def test_waiter_listens_again_after_restart(server: PostgresCluster, postgres_backend: PostgresBackend) -> None:
    waiter = postgres_backend.waiter("w1", ["default"])
    try:
        wait_for(waiter.listening.is_set, 15.0)  # type: ignore[attr-defined]
        server.stop()
        wait_for(lambda: not waiter.listening.is_set(), 15.0)  # type: ignore[attr-defined]
        started = time.monotonic()
        waiter.wait(0.2)  # returns on time while the server is away
        assert time.monotonic() - started < 1.0
        server.start()
        wait_for(waiter.listening.is_set, 15.0)  # type: ignore[attr-defined]
        waiter.wait(0)  # the "look now" ring after reconnecting
        wait_for(lambda: _works(postgres_backend), 15.0)
        postgres_backend.job_insert_many([new_job()])
        assert waiter.wait(5.0)
    finally:
        waiter.close()
