"""SQLiteBackend: the Backend protocol on one SQLite file (see ../base.py for the rules)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from ... import serialization
from ...errors import ConfigurationError, InvalidTransition, JobNotFound
from ...job import TERMINAL, WAITING, JobRecord, JobStatus
from ..base import (
    Event,
    HeartbeatResult,
    Inserted,
    JobFilter,
    Lease,
    NewJob,
    Outcome,
    Progress,
    PruneRule,
    TokenRecord,
    Waiter,
    WorkerInfo,
)
from . import queries as q
from .bells import BellBoard
from .connection import Connections, parse_url
from .schema import MIGRATIONS


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _record(row: Sequence[Any]) -> JobRecord:
    return JobRecord(
        id=row[0],
        task=row[1],
        queue=row[2],
        status=JobStatus(row[3]),
        priority=row[4],
        owner=row[5],
        args=serialization.loads(row[6]),
        kwargs=serialization.loads(row[7]),
        attempts=row[8],
        max_attempts=row[9],
        created_at=row[10],
        run_at=row[11],
        timeout=row[12],
        backoff=row[13],
        unique_key=row[14],
        result=serialization.loads(row[15]),
        error=row[16],
        traceback=row[17],
        progress_current=row[18],
        progress_total=row[19],
        message=row[20],
        messages=serialization.loads(row[21]) or [],
        started_at=row[22],
        completed_at=row[23],
        worker_id=row[24],
        lease_token=row[25],
        lease_expires_at=row[26],
        cancel_requested=bool(row[27]),
    )


def _token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


def _progress_params(p: Progress | None) -> dict[str, Any]:
    if p is None:
        return {"current": None, "total": None, "message": None, "messages": None}
    return {
        "current": p.current,
        "total": p.total,
        "message": p.message,
        "messages": None if p.messages is None else serialization.dumps(p.messages),
    }


class SQLiteBackend:
    """Jobs in one SQLite file; any number of processes on one machine may share it."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0) -> None:
        self.url = url
        self.path, options = parse_url(url)
        self.db = Connections(self.path, busy_timeout_s=busy_timeout_s, synchronous=options["synchronous"])
        self.bells = BellBoard(self.path)

    # -- lifecycle ------------------------------------------------------------------

    def migrate(self) -> int:
        with self.db.write() as c:
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = c.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version in range(current + 1, len(MIGRATIONS) + 1):
                for statement in _statements(MIGRATIONS[version - 1]):
                    c.execute(statement)
                c.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        return len(MIGRATIONS)

    def close(self) -> None:
        self.db.close()
        self.bells.close()

    def ping(self) -> None:
        with self.db.errors():
            self.db.get().execute("SELECT 1 FROM jobs LIMIT 1").fetchall()

    # -- enqueue ----------------------------------------------------------------------

    def job_insert_many(
        self, jobs: Sequence[NewJob], *, now: float | None = None, connection: Any = None
    ) -> list[Inserted]:
        if connection is not None:
            raise ConfigurationError(
                "enqueue inside the caller's transaction (connection=...) needs the PostgreSQL store"
            )
        now = _now(now)
        rows = [_insert_params(j, now) for j in jobs]
        with self.db.write() as c:
            if not any(j.unique_key or j.idempotency_key for j in jobs):
                c.executemany(q.JOB_INSERT, rows)  # random ids: no conflict is possible
                result = [Inserted(j.id, True) for j in jobs]
            else:
                result = [self._insert_one(c, j, row) for j, row in zip(jobs, rows, strict=True)]
        if any(r["status"] == "queued" for r in rows):
            self.bells.ring_all()
        return result

    def _insert_one(self, c: sqlite3.Connection, job: NewJob, row: dict[str, Any]) -> Inserted:
        if c.execute(q.JOB_INSERT, row).rowcount == 1:
            return Inserted(job.id, True)
        holder = None
        if job.idempotency_key:
            holder = c.execute(q.JOB_BY_IDEMPOTENCY_KEY, {"idempotency_key": job.idempotency_key}).fetchone()
        if holder is None and job.unique_key:
            holder = c.execute(q.JOB_BY_UNIQUE_KEY, {"unique_key": job.unique_key}).fetchone()
        if holder is None:  # only an id collision could get here
            raise InvalidTransition(job.id, "new", "queued")
        return Inserted(holder[0], False)

    # -- reads ----------------------------------------------------------------------------

    def job_get(self, job_id: str) -> JobRecord | None:
        with self.db.errors():
            row = self.db.get().execute(q.JOB_GET, {"id": job_id}).fetchone()
        return None if row is None else _record(row)

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
        sql = f"SELECT {q.JOB_COLUMNS} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT :limit"
        with self.db.errors():
            return [_record(r) for r in self.db.get().execute(sql, params)]

    def job_counts(self) -> dict[str, dict[str, int]]:
        with self.db.errors():
            conn = self.db.get()
            counts: dict[str, dict[str, int]] = {}
            for queue, status, n in conn.execute(q.JOB_COUNTS):
                counts.setdefault(queue, {})[status] = n
            for (name,) in conn.execute("SELECT name FROM queues"):
                counts.setdefault(name, {})
        return counts

    # -- the worker's writes --------------------------------------------------------------

    def job_claim(
        self,
        *,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float | None = None,
    ) -> list[JobRecord]:
        with self.db.write() as c:
            return _claim(c, queues, limit, worker_id, lease_s, _now(now))

    def job_finish_and_claim(
        self,
        outcomes: Sequence[Outcome],
        *,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float | None = None,
    ) -> tuple[set[str], list[JobRecord]]:
        now = _now(now)
        with self.db.write() as c:
            written = _finish(c, outcomes, now)
            claimed = _claim(c, queues, limit, worker_id, lease_s, now) if limit > 0 else []
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
                row = c.execute(q.JOB_PROGRESS, {"id": p.job_id, "token": p.token, **_progress_params(p)}).fetchone()
                if row is not None:
                    written.add(row[0])
                    _progress_events(c, p, row[1], now)
        return written

    def job_finish(self, outcomes: Sequence[Outcome], *, now: float | None = None) -> set[str]:
        with self.db.write() as c:
            return _finish(c, outcomes, _now(now))

    def job_release(self, leases: Sequence[Lease], *, now: float | None = None) -> set[str]:
        with self.db.write() as c:
            released = {
                row[0]
                for lease in leases
                if (row := c.execute(q.JOB_RELEASE, {"id": lease.job_id, "token": lease.token}).fetchone())
            }
        if released:
            self.bells.ring_all()
        return released

    def job_recover(self, *, now: float | None = None, limit: int = 1000) -> list[JobRecord]:
        with self.db.write() as c:
            rows = [_record(r) for r in c.execute(q.JOB_RECOVER, {"now": _now(now), "limit": limit})]
        if any(r.status == JobStatus.QUEUED for r in rows):
            self.bells.ring_all()
        return rows

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
                c.execute(q.JOB_CANCEL_WAITING, {"id": job_id, "now": _now(now)})
            elif status == JobStatus.RUNNING:
                c.execute(q.JOB_CANCEL_RUNNING, {"id": job_id})
                c.execute(
                    q.EVENT_INSERT,
                    {"job_id": job_id, "type": "cancel_requested", "data": "{}", "at": _now(now), "owner": None},
                )
            else:
                raise InvalidTransition(job_id, status, JobStatus.CANCELLED)
            row = c.execute(q.JOB_GET, {"id": job_id}).fetchone()
        return _record(row)

    def job_retry(self, job_id: str, *, now: float | None = None) -> JobRecord:
        with self.db.write() as c:
            status = self._status_of(c, job_id)
            if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise InvalidTransition(job_id, status, JobStatus.QUEUED)
            c.execute(q.JOB_RETRY, {"id": job_id, "now": _now(now)})
            row = c.execute(q.JOB_GET, {"id": job_id}).fetchone()
        self.bells.ring_all()
        return _record(row)

    def job_delete(self, job_id: str) -> None:
        with self.db.write() as c:
            status = self._status_of(c, job_id)
            if status not in TERMINAL:
                raise InvalidTransition(job_id, status, "deleted")
            c.execute(q.JOB_DELETE, {"id": job_id})

    def job_prune(self, rules: Sequence[PruneRule], *, batch: int = 5000) -> int:
        deleted = 0
        for rule in rules:
            for sql, params in _prune_statements(rule, batch):
                while True:
                    with self.db.write() as c:
                        n = c.execute(sql, params).rowcount
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
            rows = self.db.get().execute(sql, {"after": after, "job_id": job_id, "limit": limit}).fetchall()
        return [Event(r[0], r[1], r[2], serialization.loads(r[3]), r[4], r[5]) for r in rows]

    def event_prune(self, *, before: float) -> int:
        with self.db.write() as c:
            return c.execute(q.EVENT_PRUNE, {"before": before}).rowcount

    def worker_beat(self, info: WorkerInfo) -> None:
        params = {
            "id": info.id,
            "host": info.host,
            "pid": info.pid,
            "queues": serialization.dumps(info.queues),
            "concurrency": info.concurrency,
            "started_at": info.started_at,
            "heartbeat_at": info.heartbeat_at,
            "running": serialization.dumps(info.running),
        }
        with self.db.write() as c:
            c.execute(q.WORKER_BEAT, params)

    def worker_remove(self, worker_id: str) -> None:
        with self.db.write() as c:
            c.execute(q.WORKER_REMOVE, {"id": worker_id})

    def worker_list(self, *, alive_after: float) -> list[WorkerInfo]:
        with self.db.errors():
            rows = self.db.get().execute(q.WORKER_LIST, {"alive_after": alive_after}).fetchall()
        return [
            WorkerInfo(r[0], r[1], r[2], serialization.loads(r[3]), r[4], r[5], r[6], serialization.loads(r[7]))
            for r in rows
        ]

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
        return None if row is None else _token(row)

    def token_list(self) -> list[TokenRecord]:
        with self.db.errors():
            return [_token(r) for r in self.db.get().execute(q.TOKEN_LIST)]

    def token_revoke(self, token_id: str, *, now: float | None = None) -> bool:
        with self.db.write() as c:
            return c.execute(q.TOKEN_REVOKE, {"id": token_id, "now": _now(now)}).rowcount == 1

    def waiter(self, worker_id: str, queues: Sequence[str]) -> Waiter:
        return self.bells.bell(worker_id)


def _claim(
    c: sqlite3.Connection, queues: Sequence[str], limit: int, worker_id: str, lease_s: float, now: float
) -> list[JobRecord]:
    claimed: list[JobRecord] = []
    paused = {r[0] for r in c.execute(q.PAUSED_QUEUES)}
    for queue in queues:
        if queue in paused or len(claimed) >= limit:
            continue
        params = {
            "queue": queue,
            "limit": limit - len(claimed),
            "worker_id": worker_id,
            "expires": now + lease_s,
            "now": now,
        }
        rows = [_record(r) for r in c.execute(q.JOB_CLAIM, params)]
        rows.sort(key=lambda j: (-j.priority, j.run_at, j.id))
        claimed.extend(rows)
    return claimed


def _finish(c: sqlite3.Connection, outcomes: Sequence[Outcome], now: float) -> set[str]:
    written: set[str] = set()
    for o in outcomes:
        params = {
            "id": o.job_id,
            "token": o.token,
            "status": str(o.status),
            "result": o.result_json,
            "error": o.error,
            "traceback": o.traceback,
            "run_at": o.run_at,
            "now": now,
            **_progress_params(o.progress),
        }
        row = c.execute(q.JOB_FINISH, params).fetchone()
        if row is not None:
            written.add(row[0])
            if o.progress is not None:
                _progress_events(c, o.progress, row[1], now)
    return written


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about
    triggers, whose bodies hold semicolons)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def _insert_params(job: NewJob, now: float) -> dict[str, Any]:
    run_at = now if job.run_at is None or job.run_at <= now else job.run_at
    return {
        "id": job.id,
        "task": job.task,
        "queue": job.queue,
        "status": "queued" if run_at <= now else "scheduled",
        "priority": job.priority,
        "owner": job.owner,
        "args": job.args_json,
        "kwargs": job.kwargs_json,
        "max_attempts": job.max_attempts,
        "timeout": job.timeout,
        "backoff": job.backoff,
        "unique_key": job.unique_key,
        "idempotency_key": job.idempotency_key,
        "now": now,
        "run_at": run_at,
    }


def _progress_events(c: sqlite3.Connection, p: Progress, owner: str | None, now: float) -> None:
    data = {"current": p.current, "total": p.total, "message": p.message}
    events = [{"job_id": p.job_id, "type": "progress", "data": serialization.dumps(data), "at": now, "owner": owner}]
    for m in p.new_messages:
        events.append(
            {"job_id": p.job_id, "type": "message", "data": serialization.dumps(m), "at": m["at"], "owner": owner}
        )
    c.executemany(q.EVENT_INSERT, events)


def _prune_statements(rule: PruneRule, batch: int) -> list[tuple[str, dict[str, Any]]]:
    where = "status = :status"
    params: dict[str, Any] = {"status": str(rule.status), "before": rule.before, "batch": batch}
    if rule.task is not None:
        where += " AND task = :task"
        params["task"] = rule.task
    for i, name in enumerate(rule.exclude_tasks):
        where += f" AND task != :x{i}"
        params[f"x{i}"] = name
    statements = [
        (
            f"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {where} AND completed_at < :before LIMIT :batch)",
            params,
        )
    ]
    if rule.keep is not None:
        statements.append(
            (
                f"DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {where}"
                " ORDER BY completed_at DESC LIMIT :batch OFFSET :keep)",
                {**params, "keep": rule.keep},
            )
        )
    return statements
