"""The health probes: ``ping`` (reads) and ``ping_write`` (a committed write that
changes nothing anyone can see), and a store whose reads work while its writes fail."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

import pytest

from offload.backends import open_backend
from offload.backends.base import Backend
from offload.errors import BackendError

from .helpers import get, insert_one


@contextlib.contextmanager
def writes_refused(store_url: str) -> Iterator[Backend]:
    """Another handle on the same store, whose reads work and whose writes fail: on
    SQLite another connection holds the write lock (and this handle waits 0.2 s for
    it); on PostgreSQL this handle's sessions are read-only."""
    if store_url.startswith("sqlite"):
        holder = sqlite3.connect(store_url[len("sqlite:///") :], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        other = open_backend(f"{store_url}?busy_timeout=0.2")
        try:
            yield other
        finally:
            other.close()
            holder.execute("ROLLBACK")
            holder.close()
        return
    joiner = "&" if "?" in store_url else "?"
    other = open_backend(f"{store_url}{joiner}options=-c%20default_transaction_read_only%3Don")
    try:
        yield other
    finally:
        other.close()


def test_ping_write_commits_and_changes_nothing(backend: Backend) -> None:
    job_id = insert_one(backend)
    before = get(backend, job_id)
    version = backend.migrate()
    for _ in range(3):
        backend.ping_write()
    backend.ping()
    assert backend.migrate() == version  # no step applied again, none lost
    assert get(backend, job_id) == before


def test_ping_write_from_many_threads_at_once(backend: Backend) -> None:
    errors: list[BaseException] = []

    def probe() -> None:
        try:
            for _ in range(5):
                backend.ping_write()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=probe) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    version = backend.migrate()
    assert backend.migrate() == version


def test_ping_write_fails_where_writes_fail_while_reads_work(store_url: str, backend: Backend) -> None:
    job_id = insert_one(backend)
    with writes_refused(store_url) as other:
        other.ping()
        assert other.job_get(job_id) is not None
        with pytest.raises(BackendError):
            other.ping_write()
        with pytest.raises(BackendError):
            other.queue_pause("q", True)  # a real write fails the same way
    backend.ping_write()  # and works again once writes do
