"""Migrations, URL options, isolation, event ordering and retention on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from tests.support.postgres import new_job

from offload.backends import open_backend
from offload.backends.postgres import PostgresBackend
from offload.backends.postgres.schema import MIGRATIONS
from offload.errors import BackendError, BackendUnavailable, ConfigurationError
from offload.records import JobFilter, JobStatus, Outcome, PruneRule


@pytest.mark.parametrize("schema", [None, "custom_store"])
def test_concurrent_migrations_apply_each_step_once(postgres_url: str, schema: str | None) -> None:
    url = postgres_url if schema is None else f"{postgres_url}?schema={schema}"
    backends = [PostgresBackend(url) for _ in range(6)]
    versions: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(backends))

    def migrate(b: PostgresBackend) -> None:
        try:
            barrier.wait(timeout=30)
            versions.append(b.migrate())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(b,)) for b in backends]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for b in backends:
        b.close()
    assert not errors, errors
    assert versions == [len(MIGRATIONS)] * len(backends)
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(f'SELECT version FROM "{schema or "offload"}".schema_version ORDER BY version').fetchall()
    assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_open_backend_maps_postgres_urls(postgres_url: str) -> None:
    backend = open_backend(postgres_url.replace("postgresql://", "postgres://", 1))
    try:
        assert isinstance(backend, PostgresBackend)
        assert backend.schema == "offload"
        backend.migrate()
        backend.ping()
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgresql://h/db?schema=Bad-Name", {}),
        ("postgresql://h/db?schema=1x", {}),
        ("postgresql://h/db?pool_max=lots", {}),
        ("postgresql://h/db?pool_min=5&pool_max=2", {}),
        ("postgresql://h/db", {"nonsense": 1}),
    ],
)
def test_bad_options_are_configuration_errors(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        PostgresBackend(url, **options)


def test_options_leave_the_url_and_keyword_wins() -> None:
    backend = PostgresBackend("postgresql://u:secret@h:6543/db?sslmode=disable&schema=a&pool_max=3", schema="b")
    assert backend.schema == "b" and backend.settings.pool_max == 3
    assert backend.settings.conninfo == "postgresql://u:secret@h:6543/db?sslmode=disable"
    assert backend.channel == "b_jobs"
    assert "secret" not in backend.db.where
    backend.close()


def test_transactions_are_read_committed_whatever_the_server_default(postgres_url: str) -> None:
    options = quote("-c default_transaction_isolation=serializable")
    backend = PostgresBackend(f"{postgres_url}?options={options}")
    try:
        backend.migrate()
        with backend.db.transaction() as cur:
            row = cur.execute("SHOW transaction_isolation").fetchone()
        assert row == ("read committed",)
        backend.job_insert_many([new_job()])
        assert len(backend.job_claim(queues=["default"], limit=5, worker_id="w", lease_s=5)) == 1
    finally:
        backend.close()


def test_driver_errors_are_translated(postgres_url: str) -> None:
    backend = PostgresBackend(postgres_url)  # never migrated: the tables don't exist
    try:
        with pytest.raises(BackendError) as info:
            backend.job_get("x")
        assert not isinstance(info.value, BackendUnavailable)
        assert isinstance(info.value.__cause__, psycopg.errors.UndefinedTable)
    finally:
        backend.close()
    unreachable = PostgresBackend("postgresql://nobody@127.0.0.1:1/none", pool_timeout=0.5)
    try:
        with pytest.raises(BackendUnavailable):
            unreachable.ping()
    finally:
        unreachable.close()


def test_events_wait_for_older_open_transactions(postgres_backend: PostgresBackend, postgres_url: str) -> None:
    """A reader never moves its cursor past an event whose smaller-numbered neighbour
    is still uncommitted."""
    with psycopg.connect(postgres_url) as app:
        early = new_job()
        postgres_backend.job_insert_many([early], connection=app)  # takes a seq, not committed
        late = new_job()
        postgres_backend.job_insert_many([late])  # a larger seq, committed
        assert postgres_backend.event_list(after=0) == []  # held back: early may still commit
        assert postgres_backend.event_last_seq() == 0  # a stream starting now still gets both
        app.commit()
    events = postgres_backend.event_list(after=0)
    assert [e.job_id for e in events] == [early.id, late.id]
    assert events[0].seq < events[1].seq
    assert postgres_backend.event_last_seq() == events[1].seq


def test_prune_in_bounded_batches(postgres_backend: PostgresBackend) -> None:
    now = 5_000_000.0
    jobs = [new_job(task="a" if i % 2 else "b") for i in range(45)]
    postgres_backend.job_insert_many(jobs, now=now)
    claimed = postgres_backend.job_claim(queues=["default"], limit=45, worker_id="w", lease_s=60, now=now)
    for i, j in enumerate(claimed):
        postgres_backend.job_finish(
            [Outcome(j.id, j.lease_token or "", JobStatus.COMPLETED, result_json="null")], now=now + i
        )
    rule = PruneRule(JobStatus.COMPLETED, before=now + 10, exclude_tasks=("b",))
    assert postgres_backend.job_prune([rule], batch=2) == 5  # task a, finished before now + 10
    rule = PruneRule(JobStatus.COMPLETED, before=0, keep=10)
    assert postgres_backend.job_prune([rule], batch=4) == 30
    left = sorted(r.completed_at or 0 for r in postgres_backend.job_list(JobFilter(limit=1000)))
    assert len(left) == 10 and left[0] == now + 35  # the newest ten
