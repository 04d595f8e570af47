"""SQLite: migrations on a database made by an older release, event pruning by seq, the
background checkpoints that keep the write-ahead log small, and files only their owner
may read."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from tests.conformance.helpers import T0, insert_one
from tests.support.procs import wait_for

import offload
from offload.backends.sqlite import SQLiteBackend
from offload.backends.sqlite.schema import MIGRATIONS, statements


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def _database_at(path: Path, version: int) -> sqlite3.Connection:
    """A database file as release ``version`` of the schema left it."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for v, script in enumerate(MIGRATIONS[:version], start=1):
        for statement in statements(script):
            con.execute(statement)
        con.execute("INSERT INTO schema_version (version) VALUES (?)", (v,))
    return con


def test_a_version_3_database_is_migrated_and_keeps_its_jobs_and_events(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = _database_at(path, 3)
    con.execute(
        "INSERT INTO jobs (id, task, queue, status, args, kwargs, created_at, run_at)"
        " VALUES ('j1', 'noop', 'default', 'queued', '[]', '{}', 1.0, 1.0)"
    )
    con.execute("INSERT INTO events (job_id, type, data, at) VALUES ('j1', 'status', '{\"status\":\"queued\"}', 1.0)")
    con.close()
    assert "events_at" in _indexes(path)

    backend = SQLiteBackend(f"sqlite:///{path}")
    try:
        assert backend.migrate() == len(MIGRATIONS)
        assert "events_at" not in _indexes(path)
        assert backend.job_get("j1") is not None
        assert [e.job_id for e in backend.event_list()] == ["j1"]
        assert backend.migrate() == len(MIGRATIONS)  # a second run changes nothing
    finally:
        backend.close()


def test_events_keep_their_seqs_through_the_step_that_drops_autoincrement(tmp_path: Path) -> None:
    """Step 6 rebuilds events without AUTOINCREMENT: the seqs stay, and a new event
    never gets a seq the old table gave out, even when pruning had emptied it."""
    for emptied in (False, True):
        path = tmp_path / f"v5-{emptied}.db"
        con = _database_at(path, 5)
        for i in range(3):
            con.execute(f"INSERT INTO events (job_id, type, data, at) VALUES ('j{i}', 'status', '{{}}', 1.0)")
        if emptied:
            con.execute("DELETE FROM events")  # what the old prune did with only old events left
        con.close()
        backend = SQLiteBackend(f"sqlite:///{path}")
        try:
            backend.migrate()
            assert [e.seq for e in backend.event_list()] == ([] if emptied else [1, 2, 3])
            assert backend.event_last_seq() == 3
            insert_one(backend, now=T0)
            [event] = backend.event_list(after=3)
            assert event.seq == 4
        finally:
            backend.close()


def test_the_wal_is_copied_back_in_the_background(tmp_path: Path) -> None:
    """300 single enqueues write ~2,700 WAL frames, well under the 10,000 at which a
    commit would checkpoint by itself: the rows reach the database file only because
    the store's checkpoint thread copies them there while the writer goes on."""
    path = tmp_path / "wal.db"
    app = offload.App(f"sqlite:///{path}")

    @app.task()
    def noop() -> None:
        pass

    try:
        noop.enqueue()  # creates the file and its schema
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = os.path.getsize(path)
        for _ in range(300):
            noop.enqueue()
        wait_for(lambda: os.path.getsize(path) > before, message="the database file grows")
        thread = app.backend.db.checkpointer._thread  # type: ignore[attr-defined]
        assert thread is not None and thread.is_alive()
    finally:
        app.close()
    assert not thread.is_alive()  # close() ends it


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    """A connection is never used on both sides of a fork(): the child's first read opens
    a new one, and the parent's stays as it was."""
    backend = SQLiteBackend(f"sqlite:///{tmp_path / 'jobs.db'}")
    backend.migrate()
    job_id = insert_one(backend)
    parent_conn = backend.db.get()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's cleanup
        try:
            record = backend.job_get(job_id)
            fresh = backend.db.get() is not parent_conn and backend.db.get() is backend.db.get()
            os.write(write, b"ok" if fresh and record is not None and record.id == job_id else b"no")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 2)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"ok"
    assert backend.db.get() is parent_conn
    backend.close()


def test_the_write_probe_really_writes(tmp_path: Path) -> None:
    """SQLite skips an UPDATE that sets a value to itself (a full disk would not stop
    it): ping_write must change the file, as another connection's data_version shows,
    and leave the schema version as it was."""
    path = tmp_path / "jobs.db"
    backend = SQLiteBackend(f"sqlite:///{path}")
    try:
        version = backend.migrate()
        with sqlite3.connect(path, isolation_level=None) as other:
            seen = other.execute("PRAGMA data_version").fetchone()[0]
            backend.ping_write()
            assert other.execute("PRAGMA data_version").fetchone()[0] != seen
            assert other.execute("SELECT max(version), min(version) FROM schema_version").fetchone() == (version, 1)
    finally:
        backend.close()


def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o002])
def test_the_store_files_are_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "jobs.db"
    previous = os.umask(umask)
    try:
        app = offload.App(f"sqlite:///{path}")
        app.task(lambda: None, name="noop")
        app.enqueue("noop")  # a write: the -wal and -shm files exist from here on
        waiter = app.backend.waiter("w1", ["default"])  # a worker's doorbell, in its folder
        bells = app.backend.bells.folder  # type: ignore[attr-defined]
        modes = {p.name: _mode(p) for p in tmp_path.iterdir() if p.name.startswith("jobs.db")}
        folder_mode = _mode(bells)
        waiter.close()
        app.close()
    finally:
        os.umask(previous)
    assert {k: v for k, v in modes.items() if k != "jobs.db-bells"} == {
        "jobs.db": 0o600,
        "jobs.db-wal": 0o600,
        "jobs.db-shm": 0o600,
    }
    assert folder_mode == 0o700


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    path.touch()
    path.chmod(0o640)  # opened to a group by its owner, on purpose
    app = offload.App(f"sqlite:///{path}")
    app.task(lambda: None, name="noop")
    app.enqueue("noop")
    modes = (_mode(path), _mode(f"{path}-wal"))
    app.close()
    assert modes == (0o640, 0o640)
