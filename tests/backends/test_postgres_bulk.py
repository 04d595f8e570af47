"""Bulk enqueue on PostgreSQL: one statement per batch, events from the statement-level
trigger, one wake-up per queue, all or nothing, and stores migrated from version 3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from tests.support.postgres import new_job
from tests.support.procs import wait_for

from offload import App
from offload.backends.postgres import PostgresBackend
from offload.backends.postgres.schema import BOOTSTRAP, MIGRATIONS, RECORD_VERSION, render
from offload.errors import BackendError, InvalidTransition
from offload.records import JobStatus


@pytest.fixture
def waiter(postgres_backend: PostgresBackend) -> Iterator[Any]:
    w = postgres_backend.waiter("w1", ["default", "other"])
    wait_for(w.listening.is_set, 10, message="the LISTEN session to start")  # type: ignore[attr-defined]
    yield w
    w.close()


def _notifications(postgres_url: str, action: Any) -> list[str]:
    """The payloads a LISTEN session of its own receives for what ``action`` commits."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute('LISTEN "offload_jobs"')
        action()
        conn.execute("SELECT 1")  # let the notifications arrive
        return sorted(n.payload for n in conn.notifies(timeout=0.5, stop_after=100))


def test_a_big_batch_from_the_app_stores_every_job_and_event_in_order(postgres_url: str) -> None:
    app = App(postgres_url)

    @app.task(queue="default")
    def add(a: int, b: int = 0) -> int:
        return a + b

    try:
        handles = add.enqueue_many([((i,), {"b": 1}) for i in range(2500)])
        ids = [h.id for h in handles]
        assert len(set(ids)) == 2500 and all(h.created for h in handles)
        events = app.backend.event_list(limit=5000)
        assert [e.job_id for e in events] == ids  # one status event per job, in the batch's order
        assert {e.data["status"] for e in events} == {"queued"}
        record = app.backend.job_get(ids[7])
        assert record is not None and record.args == [7] and record.kwargs == {"b": 1}
    finally:
        app.close()


def test_one_wake_up_per_queue_and_none_for_scheduled_jobs(
    postgres_backend: PostgresBackend, postgres_url: str, waiter: Any
) -> None:
    jobs = [new_job("default"), new_job("other"), new_job("default"), new_job("later", run_at=4e9)]
    assert _notifications(postgres_url, lambda: postgres_backend.job_insert_many(jobs)) == ["default", "other"]
    assert waiter.wait(5.0)
    assert postgres_backend.job_get(jobs[3].id).status == JobStatus.SCHEDULED  # type: ignore[union-attr]
    keyed = [new_job("default", unique_key="u"), new_job("other", unique_key="u")]
    assert _notifications(postgres_url, lambda: postgres_backend.job_insert_many(keyed)) == ["default"]
    long_name = "q" * 1100  # too long for a payload: announced with an empty one
    assert _notifications(postgres_url, lambda: postgres_backend.job_insert_many([new_job(long_name)])) == [""]


def test_an_id_collision_stores_nothing_of_the_batch(postgres_backend: PostgresBackend) -> None:
    first = new_job()
    postgres_backend.job_insert_many([first])
    batch = [new_job(), new_job(id=first.id), new_job()]
    with pytest.raises(InvalidTransition):
        postgres_backend.job_insert_many(batch)
    assert postgres_backend.job_get(batch[0].id) is None and postgres_backend.job_get(batch[2].id) is None
    assert len(postgres_backend.event_list()) == 1


def test_bad_input_in_a_batch_stores_nothing(postgres_backend: PostgresBackend) -> None:
    batch = [new_job(), new_job(args_json='["\x00"]'), new_job()]  # PostgreSQL text holds no NUL
    with pytest.raises(BackendError, match="0x00"):
        postgres_backend.job_insert_many(batch)
    assert postgres_backend.job_counts() == {} and postgres_backend.event_list() == []


def test_keys_within_one_batch_resolve_to_the_first_holder(postgres_backend: PostgresBackend) -> None:
    batch = [
        new_job(unique_key="u"),
        new_job(idempotency_key="i"),
        new_job(unique_key="u"),
        new_job(),
        new_job(idempotency_key="i", unique_key="v"),
    ]
    result = postgres_backend.job_insert_many(batch)
    assert [(r.id, r.created) for r in result] == [
        (batch[0].id, True),
        (batch[1].id, True),
        (batch[0].id, False),
        (batch[3].id, True),
        (batch[1].id, False),
    ]
    assert [e.job_id for e in postgres_backend.event_list()] == [batch[0].id, batch[1].id, batch[3].id]


def test_a_store_of_version_3_keeps_its_jobs_and_gets_batch_events(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn, conn.transaction():
        conn.execute(render(BOOTSTRAP, "offload"))
        for version in range(1, 4):
            conn.execute(render(MIGRATIONS[version - 1], "offload"))
            conn.execute(render(RECORD_VERSION, "offload"), {"version": version})
        conn.execute(
            "INSERT INTO offload.jobs (id, task, queue, status, args, kwargs, created_at, run_at)"
            " VALUES ('old', 't', 'default', 'queued', '[]', '{}', 1, 1)"
        )
    backend = PostgresBackend(postgres_url)
    try:
        assert backend.migrate() == len(MIGRATIONS)
        assert [e.job_id for e in backend.event_list()] == ["old"]  # written by the old row trigger
        jobs = [new_job(), new_job()]
        backend.job_insert_many(jobs)
        assert [e.job_id for e in backend.event_list()] == ["old", jobs[0].id, jobs[1].id]
        (claimed,) = backend.job_claim(queues=["default"], limit=1, worker_id="w", lease_s=30)
        assert claimed.id == "old"
        statuses = [e.data["status"] for e in backend.event_list(job_id="old")]
        assert statuses == ["queued", "running"]  # the change's event from the new trigger
    finally:
        backend.close()
