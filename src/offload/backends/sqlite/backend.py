"""SQLiteBackend: the Backend protocol on one SQLite file (see ../base.py for the rules)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from ...errors import ConfigurationError, InvalidTransition, JobNotFound
from ...records import (
    TERMINAL,
    WAITING,
    Event,
    FinishedCount,
    HeartbeatResult,
    Inserted,
    JobFilter,
    JobRecord,
    JobStatus,
    Lease,
    NewJob,
    Outcome,
    Progress,
    PruneRule,
    RunRecord,
    ScheduleRecord,
    TaskStats,
    TokenRecord,
    WorkerInfo,
)
from .. import rows as shared
from ..base import Waiter
from . import queries as q
from . import reads, rows, writes
from .bells import BellBoard
from .connection import Connections, parse_url
from .schema import MIGRATIONS, statements


def _now(now: float | None) -> float:
    return time.time() if now is None else now


class SQLiteBackend:
    """Jobs in one SQLite file; any number of processes on one machine may share it."""

    local_reads = True  # WAL readers never wait for the write lock

    def __init__(self, url: str) -> None:
        self.url = url
        self.path, options = parse_url(url)
        self.db = Connections(
            self.path, busy_timeout_s=float(options["busy_timeout"]), synchronous=options["synchronous"]
        )
        self.bells = BellBoard(self.path)
        self.async_reads = reads.LoopReads(self.db)  # a status GET's reads, on the loop

    # -- lifecycle ------------------------------------------------------------------

    def migrate(self) -> int:
        with self.db.write() as c:
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = c.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in statements(MIGRATIONS[version - 1]):
                    c.execute(statement)
                c.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        return len(MIGRATIONS)

    def close(self) -> None:
        self.db.close()
        self.bells.close()

    def ping(self) -> None:
        with self.db.errors():
            self.db.get().execute("SELECT 1 FROM jobs LIMIT 1").fetchall()

    def ping_write(self) -> None:
        with self.db.write() as c:
            for statement in q.PING_WRITE:
                c.execute(statement)

    # -- enqueue ----------------------------------------------------------------------

    def job_insert_many(
        self, jobs: Sequence[NewJob], *, now: float | None = None, connection: Any = None
    ) -> list[Inserted]:
        if connection is not None:
            raise ConfigurationError(
                "enqueue inside the caller's transaction (connection=...) needs the PostgreSQL store"
            )
        now = _now(now)
        with self.db.write() as c:
            result, queued = writes.insert(c, jobs, now)
        if queued:
            self.bells.ring_all()
        return result

    # -- reads ----------------------------------------------------------------------------

    def job_get(self, job_id: str) -> JobRecord | None:
        return reads.job_get(self.db, job_id)

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
            for (name,) in conn.execute("SELECT name FROM queues"):
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
            return writes.claim(c, queues, limit, worker_id, lease_s, _now(now), tasks)

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
        now = _now(now)
        with self.db.write() as c:
            written = writes.finish(c, outcomes, now)
            claimed = writes.claim(c, queues, limit, worker_id, lease_s, now, tasks) if limit > 0 else []
        return written, claimed

    def job_heartbeat(self, leases: Sequence[Lease], *, lease_s: float, now: float | None = None) -> HeartbeatResult:
        expires = _now(now) + lease_s
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
        now = _now(now)
        written: set[str] = set()
        with self.db.write() as c:
            for p in updates:
                row = c.execute(
                    q.JOB_PROGRESS, {"id": p.job_id, "token": p.token, **rows.progress_params(p)}
                ).fetchone()
                if row is not None:
                    written.add(row[0])
                    writes.progress_events(c, p, row[1], now)
        return written

    def job_finish(self, outcomes: Sequence[Outcome], *, now: float | None = None) -> set[str]:
        with self.db.write() as c:
            return writes.finish(c, outcomes, _now(now))

    def job_release(self, leases: Sequence[Lease], *, now: float | None = None) -> set[str]:
        now = _now(now)
        with self.db.write() as c:
            changed = [
                row
                for lease in leases
                if (row := c.execute(q.JOB_RELEASE, {"id": lease.job_id, "token": lease.token, "now": now}).fetchone())
            ]
            writes.status_events(c, changed, now)
        if changed:
            self.bells.ring_all()
        return {row[0] for row in changed}

    def job_recover(self, *, now: float | None = None, limit: int = 1000) -> list[JobRecord]:
        now = _now(now)
        with self.db.write() as c:
            recovered = [shared.job_record(r) for r in c.execute(q.JOB_RECOVER, {"now": now, "limit": limit})]
            writes.status_events(c, [(r.id, r.status, r.attempts, r.error, r.owner) for r in recovered], now)
            stats = writes.StatsBatch(now)
            for r in recovered:
                stats.add(r.task, r.status, None)
            stats.write(c)
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
                now = _now(now)
                writes.status_events(c, c.execute(q.JOB_CANCEL_WAITING, {"id": job_id, "now": now}).fetchall(), now)
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
            now = _now(now)
            writes.status_events(c, c.execute(q.JOB_RETRY, {"id": job_id, "now": now}).fetchall(), now)
            row = c.execute(q.JOB_GET, {"id": job_id}).fetchone()
        self.bells.ring_all()
        return shared.job_record(row)

    def job_delete(self, job_id: str) -> None:
        with self.db.write() as c:
            status = self._status_of(c, job_id)
            if status not in TERMINAL:
                raise InvalidTransition(job_id, status, "deleted")
            writes.archive(c, c.execute(q.JOB_DELETE, {"id": job_id}).fetchall())

    def job_prune(self, rules: Sequence[PruneRule], *, batch: int = 5000) -> int:
        deleted = 0
        for rule in rules:
            if rule.status not in TERMINAL:
                continue  # only finished jobs are ever pruned
            for sql, params in writes.prune_statements(rule, batch):
                while True:
                    with self.db.write() as c:
                        gone = c.execute(sql, params).fetchall()
                        writes.archive(c, gone)
                    n = len(gone)
                    deleted += n
                    if n < batch:
                        break
        return deleted

    # -- queues, events, workers -----------------------------------------------------------

    def queue_pause(self, name: str, paused: bool) -> None:
        with self.db.write() as c:
            c.execute(q.QUEUE_PAUSE, {"name": name, "paused": int(paused)})
        if not paused:
            self.bells.ring_all()

    def queue_paused(self) -> set[str]:
        with self.db.errors():
            return {r[0] for r in self.db.get().execute(q.PAUSED_QUEUES)}

    def event_list(self, *, after: int = 0, job_id: str | None = None, limit: int = 500) -> list[Event]:
        sql = q.EVENT_LIST + (" AND job_id = :job_id" if job_id else "") + " ORDER BY seq LIMIT :limit"
        with self.db.errors():
            found = self.db.get().execute(sql, {"after": after, "job_id": job_id, "limit": limit}).fetchall()
        return [shared.event_record(r) for r in found]

    def event_last_seq(self) -> int:
        with self.db.errors():
            seq: int = self.db.get().execute(q.EVENT_LAST_SEQ).fetchone()[0]
        return seq

    def event_prune(self, *, before: float) -> int:
        with self.db.write() as c:
            return c.execute(q.EVENT_PRUNE, {"before": before}).rowcount

    def worker_beat(self, info: WorkerInfo) -> None:
        params = shared.worker_params(info)
        with self.db.write() as c:
            c.execute(q.WORKER_BEAT, params)

    def worker_remove(self, worker_id: str) -> None:
        with self.db.write() as c:
            c.execute(q.WORKER_REMOVE, {"id": worker_id})

    def worker_prune(self, *, before: float) -> int:
        with self.db.write() as c:
            return c.execute(q.WORKER_PRUNE, {"before": before}).rowcount

    def worker_list(self, *, alive_after: float) -> list[WorkerInfo]:
        with self.db.errors():
            found = self.db.get().execute(q.WORKER_LIST, {"alive_after": alive_after}).fetchall()
        return [shared.worker_record(r) for r in found]

    # -- schedules and statistics ---------------------------------------------------------

    def schedule_save(self, record: ScheduleRecord) -> None:
        params = shared.schedule_params(record)
        with self.db.write() as c:
            c.execute(q.SCHEDULE_SAVE, params)
            c.execute(q.TOMBSTONE_DELETE, {"id": record.id})

    def schedule_get(self, schedule_id: str) -> ScheduleRecord | None:
        with self.db.errors():
            row = self.db.get().execute(q.SCHEDULE_GET, {"id": schedule_id}).fetchone()
        return None if row is None else shared.schedule_record(row)

    def schedule_list(self) -> list[ScheduleRecord]:
        with self.db.errors():
            return [shared.schedule_record(r) for r in self.db.get().execute(q.SCHEDULE_LIST)]

    def schedule_delete(self, schedule_id: str, *, now: float | None = None) -> bool:
        with self.db.write() as c:
            row = c.execute(q.SCHEDULE_DELETE, {"id": schedule_id}).fetchone()
            if row is not None and row[0] is not None:
                c.execute(q.TOMBSTONE_SAVE, {"id": schedule_id, "fingerprint": row[0], "now": _now(now)})
        return row is not None

    def schedule_tombstone(self, schedule_id: str) -> str | None:
        with self.db.errors():
            row = self.db.get().execute(q.TOMBSTONE_GET, {"id": schedule_id}).fetchone()
        return None if row is None else str(row[0])

    def schedule_due(self, *, now: float | None = None, limit: int = 100) -> list[ScheduleRecord]:
        with self.db.errors():
            found = self.db.get().execute(q.SCHEDULE_DUE, {"now": _now(now), "limit": limit}).fetchall()
        return [shared.schedule_record(r) for r in found]

    def schedule_advance(
        self, schedule_id: str, *, expected_next: float, next_run_at: float, last_run_at: float
    ) -> bool:
        params = {
            "id": schedule_id,
            "expected_next": expected_next,
            "next_run_at": next_run_at,
            "last_run_at": last_run_at,
        }
        with self.db.write() as c:
            return c.execute(q.SCHEDULE_ADVANCE, params).rowcount == 1

    def stats_tasks(self) -> list[TaskStats]:
        with self.db.errors():
            return [shared.stats_record(r) for r in self.db.get().execute(q.STATS_LIST)]

    def stats_clear(self, task: str | None = None, *, now: float | None = None) -> None:
        with self.db.write() as c:
            if task is None:
                c.execute(q.STATS_CLEAR_ALL, {"now": _now(now)})
                c.execute(q.RUNS_CLEAR_ALL)
            else:
                c.execute(q.STATS_CLEAR_TASK, {"task": task, "now": _now(now)})
                c.execute(q.RUNS_CLEAR_TASK, {"task": task})

    def job_history(self, task: str, *, limit: int = 100) -> list[RunRecord]:
        with self.db.errors():
            return [shared.run_record(r) for r in self.db.get().execute(q.JOB_HISTORY, {"task": task, "limit": limit})]

    def job_failures(self, *, since: float, limit: int = 100, owner: str | None = None) -> list[RunRecord]:
        with self.db.errors():
            return [
                shared.run_record(r)
                for r in self.db.get().execute(q.JOB_FAILURES, {"since": since, "limit": limit, "owner": owner})
            ]

    def job_finished_counts(self, *, since: float, bucket_s: float = 60.0) -> list[FinishedCount]:
        params = {"since": since, "bucket": shared.bucket_length(bucket_s)}
        with self.db.errors():
            found = self.db.get().execute(q.JOB_FINISHED_COUNTS, params).fetchall()
        return [shared.finished_count(row, bucket_s) for row in found]

    # -- API tokens -----------------------------------------------------------------------

    def token_insert(self, token: TokenRecord) -> None:
        params = {
            "id": token.id,
            "user": token.user,
            "hash": token.hash,
            "admin": int(token.admin),
            "created_at": token.created_at,
        }
        with self.db.write() as c:
            c.execute(q.TOKEN_INSERT, params)

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self.db.errors():
            row = self.db.get().execute(q.TOKEN_BY_HASH, {"hash": token_hash}).fetchone()
        return None if row is None else shared.token_record(row)

    def token_list(self) -> list[TokenRecord]:
        with self.db.errors():
            return [shared.token_record(r) for r in self.db.get().execute(q.TOKEN_LIST)]

    def token_revoke(self, token_id: str, *, now: float | None = None) -> bool:
        with self.db.write() as c:
            return c.execute(q.TOKEN_REVOKE, {"id": token_id, "now": _now(now)}).rowcount == 1

    def waiter(self, worker_id: str, queues: Sequence[str]) -> Waiter:
        return self.bells.bell(worker_id)
