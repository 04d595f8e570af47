"""What a store holds, read around offload: the SQLite files byte for byte, every row of
every PostgreSQL table as text, and one job's columns as stored. For tests that must
show something is (or is not) at rest in the store."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

PG_SCHEMA = "offload"  # the store's schema when the URL names none


def _sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///") :])


def dump(url: str) -> bytes:
    """Everything the store holds. SQLite: the database file and its -wal and -shm files
    as they are on disk. PostgreSQL: every row of every table of every schema but the
    system's, as text."""
    if url.startswith("sqlite:"):
        db = _sqlite_path(url)
        files = [p for p in db.parent.glob(db.name + "*") if p.is_file()]
        assert db in files, f"no database file at {db}"
        return b"".join(p.read_bytes() for p in sorted(files))
    out: list[str] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        ).fetchall()
        assert tables, "no tables: the store was never migrated"
        for schema, table in tables:
            out += [row[0] for row in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t')]
    return "\n".join(out).encode()


def job_columns(url: str, job_id: str) -> dict[str, Any]:
    """The args, kwargs and result columns of one job, as stored."""
    sql = "SELECT args, kwargs, result FROM {t} WHERE id = {p}"
    if url.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(_sqlite_path(url))) as conn:
            row = conn.execute(sql.format(t="jobs", p="?"), (job_id,)).fetchone()
    else:
        with psycopg.connect(url) as pg:
            row = pg.execute(sql.format(t=f"{PG_SCHEMA}.jobs", p="%s"), (job_id,)).fetchone()
    assert row is not None, f"no job {job_id}"
    return dict(zip(("args", "kwargs", "result"), row, strict=True))


def set_job_column(url: str, job_id: str, column: str, value: str) -> None:
    """Overwrite one stored column of one job (args, kwargs or result), as an attacker
    with write access to the store could."""
    assert column in ("args", "kwargs", "result")
    sql = "UPDATE {t} SET " + column + " = {p} WHERE id = {p}"
    if url.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(_sqlite_path(url), timeout=10)) as conn, conn:
            changed = conn.execute(sql.format(t="jobs", p="?"), (value, job_id)).rowcount
    else:
        with psycopg.connect(url) as pg:
            changed = pg.execute(sql.format(t=f"{PG_SCHEMA}.jobs", p="%s"), (value, job_id)).rowcount
    assert changed == 1
