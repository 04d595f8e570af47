"""offload on SQLite or PostgreSQL, with its own worker CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from peers import BasePeer, NotSupported

BIN = Path(sys.executable).parent
BENCH = Path(__file__).resolve().parent.parent


def _url(variant: str) -> str:
    if variant == "sqlite":
        return "sqlite:///" + os.environ["BENCH_SQLITE_PATH"]
    return os.environ["BENCH_PG_DSN"]


class Peer(BasePeer):
    packages = ["offload"]
    slots = {"cpu": 16, "io": 50}

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        # Set before the import: the worker subprocess inherits it as well.
        os.environ["OFFLOAD_URL"] = _url(variant)
        import tasks_offload

        self.tasks = tasks_offload
        self.label = "offload (SQLite)" if variant == "sqlite" else "offload (PostgreSQL)"
        if not hasattr(tasks_offload.noop, "enqueue_many"):
            self.bulk_note = "enqueue_many not available in this version"

    def close(self) -> None:
        close = getattr(self.tasks.app, "close", None)
        if callable(close):
            close()

    def worker_cmd(self, mode: str) -> list[str]:
        return [str(BIN / "offload"), "worker", "--app", "tasks_offload:app",
                "--queues", "default", "--concurrency", str(self.slots[mode])]

    def enqueue(self, kind: str) -> None:
        getattr(self.tasks, kind).enqueue()

    def enqueue_bulk(self, kind: str, n: int) -> None:
        task = getattr(self.tasks, kind)
        if not hasattr(task, "enqueue_many"):
            raise NotSupported(self.bulk_note)
        task.enqueue_many([((), {}) for _ in range(n)])

    # -- offload-only workloads ----------------------------------------------------------

    def api_server_cmd(self, port: int) -> list[str]:
        return [str(BIN / "offload"), "serve", "--app", "tasks_offload:app", "--host", "127.0.0.1",
                "--port", str(port), "--poll-rate", "0"]

    def api_token(self) -> str:
        p = subprocess.run([str(BIN / "offload"), "tokens", "create", "--user", "bench", "--admin"],
                           cwd=BENCH, env=dict(os.environ, PYTHONPATH=str(BENCH)),
                           capture_output=True, text=True, check=True)
        return p.stdout.strip().splitlines()[-1].strip()

    def fill_ids(self, kind: str, n: int, chunk: int = 1000) -> list[str]:
        task = getattr(self.tasks, kind)
        ids: list[str] = []
        for i in range(0, n, chunk):
            ids += [h.id for h in task.enqueue_many([((), {}) for _ in range(min(chunk, n - i))])]
        return ids

    def scale_store(self) -> _Store:
        return _SqliteStore(self.tasks.app) if self.variant == "sqlite" else _PostgresStore(self.tasks.app)


class _Store:
    """What the scale workload does to the store besides the public API: the untimed
    set-up (finishing most jobs in SQL), sampling ids, the size on disk, compaction."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    def get_job(self, job_id: str) -> None:
        self.app.get_job(job_id)

    def list_jobs(self, **flt) -> list:  # noqa: ANN003
        return self.app.list_jobs(**flt)

    def prune(self, *, older_than_s: float, keep: int) -> int:
        from offload.records import PruneRule
        from offload.records import JobStatus

        rule = PruneRule(JobStatus.COMPLETED, before=time.time() - older_than_s, keep=keep)
        return self.app.backend.job_prune([rule])

    @staticmethod
    def _spread(total: int, left: int, span_s: float) -> dict:
        done = max(0, total - left)
        end = time.time() - 60.0
        return {"done": done, "t0": end - span_s, "step": span_s / max(done, 1)}


class _SqliteStore(_Store):
    def __init__(self, app) -> None:  # noqa: ANN001
        super().__init__(app)
        self.path = os.environ["BENCH_SQLITE_PATH"]

    def _connect(self):  # noqa: ANN202
        import sqlite3

        return sqlite3.connect(self.path, timeout=120, isolation_level=None)

    def finish_all_but(self, left: int, span_s: float) -> int:
        """The oldest jobs (by id) become completed, finished evenly over the span_s
        seconds before now, in id order; their events go, as retention would have
        removed them long ago. The newest `left` jobs stay queued."""
        con = self._connect()
        try:
            total = con.execute("SELECT count(*) FROM jobs").fetchone()[0]
            p = self._spread(total, left, span_s)
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                """WITH r AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM jobs)
                   UPDATE jobs SET status = 'completed', attempts = 1, result = 'null',
                       created_at = :t0 + r.rn * :step - 0.02, run_at = :t0 + r.rn * :step - 0.02,
                       started_at = :t0 + r.rn * :step - 0.01, completed_at = :t0 + r.rn * :step
                   FROM r WHERE jobs.id = r.id AND r.rn <= :done""", p)
            con.execute("DELETE FROM events WHERE job_id IN (SELECT id FROM jobs WHERE status = 'completed')")
            con.execute("COMMIT")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return p["done"]
        finally:
            con.close()

    def sample_ids(self, k: int, status: str | None = None) -> list[str]:
        con = self._connect()
        try:
            where = " WHERE status = ?" if status else ""
            return [r[0] for r in con.execute(f"SELECT id FROM jobs{where} ORDER BY random() LIMIT ?",
                                              ((status, k) if status else (k,)))]
        finally:
            con.close()

    def count(self, status: str) -> int:
        con = self._connect()
        try:
            return con.execute("SELECT count(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0]
        finally:
            con.close()

    def size_bytes(self) -> int:
        return sum(os.path.getsize(self.path + sfx) for sfx in ("", "-wal") if os.path.exists(self.path + sfx))

    def compact(self) -> str:
        con = self._connect()
        try:
            con.execute("VACUUM")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
        return "VACUUM, then a WAL checkpoint (TRUNCATE)"


class _PostgresStore(_Store):
    def __init__(self, app) -> None:  # noqa: ANN001
        super().__init__(app)
        self.dsn = os.environ["BENCH_PG_DSN"]
        self.schema = getattr(app.backend, "schema", "offload")

    def _connect(self):  # noqa: ANN202
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def finish_all_but(self, left: int, span_s: float) -> int:
        """As for SQLite. session_replication_role = replica skips the per-row status
        trigger, whose events retention would have removed long ago; then VACUUM ANALYZE,
        as autovacuum would have by then."""
        s = self.schema
        with self._connect() as con:
            total = con.execute(f"SELECT count(*) FROM {s}.jobs").fetchone()[0]
            p = self._spread(total, left, span_s)
            with con.transaction():
                con.execute("SET LOCAL session_replication_role = replica")
                con.execute(
                    f"""UPDATE {s}.jobs j SET status = 'completed', attempts = 1, result = 'null',
                           created_at = %(t0)s + r.rn * %(step)s - 0.02, run_at = %(t0)s + r.rn * %(step)s - 0.02,
                           started_at = %(t0)s + r.rn * %(step)s - 0.01, completed_at = %(t0)s + r.rn * %(step)s
                       FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {s}.jobs) r
                       WHERE j.id = r.id AND r.rn <= %(done)s""", p)
                con.execute(f"DELETE FROM {s}.events e USING {s}.jobs j "
                            "WHERE e.job_id = j.id AND j.status = 'completed'")
            con.execute(f"VACUUM ANALYZE {s}.jobs")
            con.execute(f"VACUUM ANALYZE {s}.events")
            return p["done"]

    def sample_ids(self, k: int, status: str | None = None) -> list[str]:
        s = self.schema
        with self._connect() as con:
            if status:
                rows = con.execute(f"SELECT id FROM {s}.jobs WHERE status = %s ORDER BY random() LIMIT %s",
                                   (status, k))
            else:
                rows = con.execute(f"SELECT id FROM {s}.jobs ORDER BY random() LIMIT %s", (k,))
            return [r[0] for r in rows]

    def count(self, status: str) -> int:
        with self._connect() as con:
            return con.execute(f"SELECT count(*) FROM {self.schema}.jobs WHERE status = %s",
                               (status,)).fetchone()[0]

    def size_bytes(self) -> int:
        with self._connect() as con:
            return con.execute("SELECT pg_database_size(current_database())").fetchone()[0]

    def compact(self) -> str:
        s = self.schema
        with self._connect() as con:
            con.execute(f"VACUUM FULL {s}.jobs")
            con.execute(f"VACUUM FULL {s}.events")
        return "VACUUM FULL of jobs and events (plain VACUUM only marks the space for reuse)"
