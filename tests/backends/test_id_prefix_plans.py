"""job_ids_by_prefix reads a range of the primary key in its order, on both stores: no
scan of the table, no sort, however many jobs there are."""

from __future__ import annotations

import sqlite3
from typing import Any

from offload.backends.postgres import PostgresBackend
from offload.backends.sqlite import SQLiteBackend
from offload.backends.sqlite import queries as sqlite_queries

PARAMS = {"low": "ab" + "0" * 30, "high": "ab" + "f" * 30, "limit": 11}


def test_sqlite_searches_the_primary_key(sqlite_url: str) -> None:
    backend = SQLiteBackend(sqlite_url)
    backend.migrate()
    try:
        with sqlite3.connect(backend.path) as con:
            rows = con.execute(f"EXPLAIN QUERY PLAN {sqlite_queries.JOB_IDS_BETWEEN}", PARAMS)
            plan = " | ".join(row[-1] for row in rows)
    finally:
        backend.close()
    assert "SEARCH jobs USING COVERING INDEX sqlite_autoindex_jobs_1 (id>? AND id<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_postgres_scans_the_primary_key_index(postgres_backend: Any) -> None:
    backend: PostgresBackend = postgres_backend
    with backend.db.connection() as conn, conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")  # an empty table would be read whole
        plan = " | ".join(row[0] for row in conn.execute(f"EXPLAIN {backend.q.JOB_IDS_BETWEEN}", PARAMS).fetchall())
    assert "Index Only Scan using jobs_pkey" in plan, plan
    assert "Sort" not in plan, plan
