"""Fixtures of the end-to-end tests on PostgreSQL: the worker processes, App and ledger
of tests/e2e, on an empty database of the test's own in the session's cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import offload
from tests.e2e.conftest import app, ledger_path, procs  # noqa: F401 - the same fixtures, on PostgreSQL
from tests.support.postgres import PostgresCluster
from tests.support.procs import Proc, wait_for

HOSTS = ("host-a", "host-b", "host-c")
CHANNEL = "offload_jobs"  # the NOTIFY channel of the default schema


@pytest.fixture
def url(postgres_url: str) -> str:
    """The store every process of the test uses (overrides the SQLite file of tests/e2e)."""
    return postgres_url


@pytest.fixture
def server(postgres_server: PostgresCluster) -> Iterator[PostgresCluster]:
    """The session's server, running again after the test whatever the test did to it."""
    try:
        yield postgres_server
    finally:
        if postgres_server.external_url is None:
            postgres_server.start()


class Store:
    """Direct SQL on the test's database, beside the App: counts and columns the
    public API doesn't show."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Any = None) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql, params)

    def value(self, sql: str, params: Any = None) -> Any:
        (row,) = self.rows(sql, params)
        return row[0]

    def status_counts(self) -> dict[str, int]:
        return dict(self.rows("SELECT status, count(*) FROM offload.jobs GROUP BY status"))

    def attempts(self) -> dict[int, int]:
        """attempts -> how many jobs were claimed that many times."""
        return dict(self.rows("SELECT attempts, count(*) FROM offload.jobs GROUP BY attempts"))

    def listeners(self) -> int:
        """Open sessions on this database whose last statement was a LISTEN."""
        return int(
            self.value(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
        )

    def notify(self, payload: str) -> None:
        self.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


@pytest.fixture
def store(url: str) -> Store:
    return Store(url)


def wait_registered(client: offload.App, workers: dict[str, Proc], timeout: float = 30.0) -> dict[str, str]:
    """Wait until each worker process is in ``worker_list`` under its host name;
    return host -> worker id."""

    def seen() -> dict[str, str]:
        infos = client.backend.worker_list(alive_after=0)
        by_pid = {i.pid: i for i in infos}
        if all(w.pid in by_pid and by_pid[w.pid].host == host for host, w in workers.items()):
            return {host: by_pid[w.pid].id for host, w in workers.items()}
        return {}

    return wait_for(
        seen,
        timeout,
        message=lambda: (
            f"workers registered as {sorted(workers)}, have "
            f"{[(i.host, i.pid) for i in client.backend.worker_list(alive_after=0)]}\n"
            + "\n".join(w.tail(10) for w in workers.values())
        ),
    )
