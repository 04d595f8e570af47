"""SQLiteBackend: the Backend protocol on one SQLite file (see ../base.py for the rules).

Any number of processes on one machine may share the file. Every write is one
transaction that takes the write lock up front (BEGIN IMMEDIATE); reads never wait in
WAL mode. Workers are woken by doorbells (bells.py); batches go in multi-row statements
(batches.py). Enqueue (enqueue.py) and the smaller tables (catalog.py) are mixed in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from ... import serialization
from ...errors import InvalidTransition, JobNotFound
from ...records import (
    RUNS_KEPT,
    TERMINAL,
    WAITING,
    HeartbeatResult,
    JobFilter,
    JobRecord,
    JobStatus,
    Lease,
    Outcome,
    Progress,
    PruneRule,
)
from .. import rows as shared
from ..base import Waiter
from . import batches, rows
from . import catalog_queries as cq
from . import queries as q
from .bells import BellBoard
from .catalog import CatalogMixin
from .connection import Connections, parse_url
from .enqueue import EnqueueMixin
from .reads import LoopReads
from .rows import clock
from .schema import BOOTSTRAP, CURRENT_VERSION, MIGRATIONS, PING_WRITE, RECORD_VERSION, statements

RUN_ENDINGS = TERMINAL | {JobStatus.RETRYING}


class SQLiteBackend(EnqueueMixin, CatalogMixin):
    """Jobs in one SQLite file; any number of processes on one machine may share it."""

    local_reads = True  # WAL readers never wait for the write lock

    def __init__(self, url: str) -> None:
        self.url = url
        self.path, options = parse_url(url)
        self.db = Connections(
            self.path, busy_timeout_s=float(options["busy_timeout"]), synchronous=options["synchronous"]
        )
        self.bells = BellBoard(self.path)
        self.async_reads = LoopReads(self.db)  # a status GET's reads, on the loop

    # -- lifecycle ------------------------------------------------------------------

    def migrate(self) -> int:
        with self.db.write() as c:
            c.execute(BOOTSTRAP)
            row = c.execute(CURRENT_VERSION).fetchone()
            current = row[0] or 0
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in statements(MIGRATIONS[version - 1]):
                    c.execute(statement)
                c.execute(RECORD_VERSION, (version,))
        return len(MIGRATIONS)

    def close(self) -> None:
        self.db.close()
        self.bells.close()

    def ping(self) -> None:
        with self.db.errors():
            self.db.get().execute("SELECT 1 FROM jobs LIMIT 1").fetchall()

    def ping_write(self) -> None:
        with self.db.write() as c:
            for statement in PING_WRITE:
                c.execute(statement)

    # -- reads ----------------------------------------------------------------------------

    def job_get(self, job_id: str) -> JobRecord | None:
        with self.db.errors():
            row = self.db.get().execute(q.JOB_GET, {"id": job_id}).fetchone()
        return None if row is None else shared.job_record(row)

    def job_ids_by_prefix(self, prefix: str, *, limit: int) -> list[str]:
        params = {"low": prefix.ljust(32, "0"), "high": prefix.ljust(32, "f"), "limit": limit}
        with self.db.errors():
            return [row[0] for row in self.db.get().execute(q.JOB_IDS_BETWEEN, params)]

    def job_list(self, flt: JobFilter) -> list[JobRecord]:
        where: list[str] = []
        params: dict[str, Any] = {"limit": flt.limit}
        for col in ("status", "queue", "task", "owner"):
            value = getattr(flt, col)
            if value is not None:
                where.append(f"{col} = :{col}")
                params[col] = str(value)
        if flt.before_id is not None:
            where.append("id < :before_id")
            params["before_id"] = flt.before_id
        sql = f"SELECT {shared.JOB_COLUMNS} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT :limit"
        with self.db.errors():
            return [shared.job_record(r) for r in self.db.get().execute(sql, params)]

    def job_counts(self) -> dict[str, dict[str, int]]:
        with self.db.errors():
            conn = self.db.get()
            counts: dict[str, dict[str, int]] = {}
            for queue, status, n in conn.execute(q.JOB_COUNTS):
                counts.setdefault(queue, {})[status] = n
            for (name,) in conn.execute(q.QUEUE_NAMES):
                counts.setdefault(name, {})
        return counts

    def job_waiting_tasks(self) -> set[tuple[str, str]]:
        with self.db.errors():
            return {(queue, task) for queue, task in self.db.get().execute(q.JOB_WAITING_TASKS)}

    # -- the worker's writes --------------------------------------------------------------

    def job_claim(
        self,
        *,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float | None = None,
        tasks: Sequence[str] | None = None,
    ) -> list[JobRecord]:
        with self.db.write() as c:
            return self._claim(c, queues, limit, worker_id, lease_s, clock(now), tasks)

    def _claim(
        self,
        c: sqlite3.Connection,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float,
        tasks: Sequence[str] | None,
    ) -> list[JobRecord]:
        """Up to `limit` jobs of `queues` (in that order), of `tasks` only unless None."""
        claimed: list[JobRecord] = []
        sql = q.JOB_CLAIM if tasks is None else q.JOB_CLAIM_TASKS
        tasks_json = None if tasks is None else serialization.dumps(list(tasks))
        for queue in queues:
            if len(claimed) >= limit:
                break
            params = {
                "queue": queue,
                "limit": limit - len(claimed),
                "worker_id": worker_id,
                "expires": now + lease_s,
                "now": now,
                "tasks": tasks_json,
            }
            found = [shared.job_record(r) for r in c.execute(sql, params)]
            found.sort(key=lambda j: (-j.priority, j.run_at, j.id))
            claimed.extend(found)
        batches.status_events(c, [(j.id, "running", j.attempts, j.error, j.owner) for j in claimed], now)
        return claimed

    def job_finish_and_claim(
        self,
        outcomes: Sequence[Outcome],
        *,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float | None = None,
        tasks: Sequence[str] | None = None,
    ) -> tuple[set[str], list[JobRecord]]:
        now = clock(now)
        with self.db.write() as c:
            written = self._finish(c, outcomes, now)
            claimed = self._claim(c, queues, limit, worker_id, lease_s, now, tasks) if limit > 0 else []
        return written, claimed

    def job_heartbeat(self, leases: Sequence[Lease], *, lease_s: float, now: float | None = None) -> HeartbeatResult:
        expires = clock(now) + lease_s
        held, cancel = set(), set()
        with self.db.write() as c:
            for lease in leases:
                row = c.execute(
                    q.JOB_HEARTBEAT, {"id": lease.job_id, "token": lease.token, "expires": expires}
                ).fetchone()
                if row is not None:
                    held.add(row[0])
                    if row[1]:
                        cancel.add(row[0])
        return HeartbeatResult(frozenset(held), frozenset(cancel))

    def job_progress(self, updates: Sequence[Progress], *, now: float | None = None) -> set[str]:
        now = clock(now)
        written: set[str] = set()
        with self.db.write() as c:
            for p in updates:
                row = c.execute(
                    q.JOB_PROGRESS, {"id": p.job_id, "token": p.token, **rows.progress_params(p)}
                ).fetchone()
                if row is not None:
                    written.add(row[0])
                    events = rows.progress_event_rows(p, row[1], now)
                    batches.insert_rows(c, q.event_insert, events, nullable=batches.ANY_EVENT_NULLABLE)
        return written

    def job_finish(self, outcomes: Sequence[Outcome], *, now: float | None = None) -> set[str]:
        with self.db.write() as c:
            return self._finish(c, outcomes, clock(now))

    def _finish(self, c: sqlite3.Connection, outcomes: Sequence[Outcome], now: float) -> set[str]:
        """Write the outcomes of runs still held under their lease, in a few statements;
        return the ids written. Final progress goes out before the final status."""
        ending = [o for o in outcomes if o.status in RUN_ENDINGS]  # else refused like a stale lease
        written: list[Any] = []
        for i in range(0, len(ending), q.FINISH_BATCH):
            null, chunk = batches.without_nulls(
                [rows.finish_row(o) for o in ending[i : i + q.FINISH_BATCH]], q.FINISH_NULLABLE
            )
            params = [*chain.from_iterable(chunk), now]
            written += c.execute(q.job_finish(len(chunk), null), params).fetchall()
        order = {o.job_id: n for n, o in enumerate(ending)}
        written.sort(key=lambda r: order[r[0]])  # events in the order the outcomes came
        progress = {o.job_id: o.progress for o in ending if o.progress is not None}
        if progress:  # the written runs' final progress events, before their status events
            events: list[tuple[Any, ...]] = []
            for r in written:
                if (p := progress.get(r[0])) is not None:
                    events += rows.progress_event_rows(p, r[1], now)
            batches.insert_rows(c, q.event_insert, events, nullable=batches.ANY_EVENT_NULLABLE)
        stats = rows.StatsBatch(now)
        for r in written:
            stats.add(r[2], r[4], None if r[3] is None else now - r[3])
        batches.status_events(c, [(r[0], r[4], r[5], r[6], r[1]) for r in written], now)
        self._add_stats(c, stats)
        return {r[0] for r in written}

    def _add_stats(self, c: sqlite3.Connection, stats: rows.StatsBatch) -> None:
        params = stats.params()
        if params is not None:
            c.executemany(cq.STATS_ADD, params)

    def job_release(self, leases: Sequence[Lease], *, now: float | None = None) -> set[str]:
        now = clock(now)
        with self.db.write() as c:
            changed = [
                row
                for lease in leases
                if (row := c.execute(q.JOB_RELEASE, {"id": lease.job_id, "token": lease.token, "now": now}).fetchone())
            ]
            batches.status_events(c, changed, now)
        if changed:
            self.bells.ring_all()
        return {row[0] for row in changed}

    def job_recover(self, *, now: float | None = None, limit: int = 1000) -> list[JobRecord]:
        now = clock(now)
        with self.db.write() as c:
            recovered = [shared.job_record(r) for r in c.execute(q.JOB_RECOVER, {"now": now, "limit": limit})]
            batches.status_events(c, [(r.id, r.status, r.attempts, r.error, r.owner) for r in recovered], now)
            stats = rows.StatsBatch(now)
            for r in recovered:
                stats.add(r.task, r.status, None)
            self._add_stats(c, stats)
        if any(r.status == JobStatus.QUEUED for r in recovered):
            self.bells.ring_all()
        return recovered

    # -- actions from users -------------------------------------------------------------------

    def _status_of(self, c: sqlite3.Connection, job_id: str) -> JobStatus:
        row = c.execute(q.JOB_STATUS, {"id": job_id}).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return JobStatus(row[0])

    def job_cancel(self, job_id: str, *, now: float | None = None) -> JobRecord:
        with self.db.write() as c:
            status = self._status_of(c, job_id)
            if status in WAITING:
                now = clock(now)
                batches.status_events(c, c.execute(q.JOB_CANCEL_WAITING, {"id": job_id, "now": now}).fetchall(), now)
            elif status == JobStatus.RUNNING:
                c.execute(q.JOB_CANCEL_RUNNING, {"id": job_id})  # the worker learns it at its heartbeat
            else:
                raise InvalidTransition(job_id, status, JobStatus.CANCELLED)
            row = c.execute(q.JOB_GET, {"id": job_id}).fetchone()
        return shared.job_record(row)

    def job_retry(self, job_id: str, *, now: float | None = None) -> JobRecord:
        with self.db.write() as c:
            status = self._status_of(c, job_id)
            if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise InvalidTransition(job_id, status, JobStatus.QUEUED)
            if c.execute(q.JOB_KEY_TAKEN, {"id": job_id}).fetchone() is not None:
                raise InvalidTransition(job_id, f"{status} (its unique_key is held by a live job)", JobStatus.QUEUED)
            now = clock(now)
            batches.status_events(c, c.execute(q.JOB_RETRY, {"id": job_id, "now": now}).fetchall(), now)
            row = c.execute(q.JOB_GET, {"id": job_id}).fetchone()
        self.bells.ring_all()
        return shared.job_record(row)

    def job_delete(self, job_id: str) -> None:
        with self.db.write() as c:
            status = self._status_of(c, job_id)
            if status not in TERMINAL:
                raise InvalidTransition(job_id, status, "deleted")
            self._delete_and_archive(c, q.JOB_DELETE, {"id": job_id})

    def job_prune(self, rules: Sequence[PruneRule], *, batch: int = 5000) -> int:
        """Each batch is its own short write transaction, so that enqueues and claims
        get the lock in between."""
        deleted = 0
        for rule in rules:
            if rule.status not in TERMINAL:
                continue  # only finished jobs are ever pruned
            source, where, params = rows.prune_where(rule, batch)
            statements = [(q.PRUNE_ENDED_BEFORE, params)]
            if rule.keep is not None:
                statements.append((q.PRUNE_BEYOND_KEEP, {**params, "keep": rule.keep}))
            for template, stmt_params in statements:
                sql = template.replace("{source}", source).replace("{where}", where)
                while True:
                    with self.db.write() as c:
                        n = self._delete_and_archive(c, sql, stmt_params)
                    deleted += n
                    if n < batch:
                        break
        return deleted

    def _delete_and_archive(self, c: sqlite3.Connection, sql: str, params: dict[str, Any]) -> int:
        """Run a statement that deletes jobs (RETURNING catalog_queries.DELETED_RUN) and
        keep their runs in their tasks' archive, then trim each task's archive to what
        Backend.job_prune promises; return how many jobs went. Of the deleted runs, only
        those that can survive the trim are written."""
        gone = c.execute(sql, params).fetchall()
        by_task: dict[str, list[tuple[Any, ...]]] = {}
        for run in gone:
            by_task.setdefault(run[1], []).append(run)
        for task, group in by_task.items():
            group.sort(key=lambda r: (r[6], r[0]), reverse=True)  # newest first
            failed = [r for r in group if r[4] == "failed"][:RUNS_KEPT]
            c.executemany(cq.RUN_ARCHIVE, group[:RUNS_KEPT] + failed)
            c.execute(cq.RUN_TRIM, {"task": task, "keep": RUNS_KEPT})
        return len(gone)

    def waiter(self, worker_id: str, queues: Sequence[str]) -> Waiter:
        return self.bells.bell(worker_id)
