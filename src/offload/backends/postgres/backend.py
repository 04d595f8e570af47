"""PostgresBackend: the Backend protocol on PostgreSQL (see ../base.py for the rules).

Any number of hosts may share one store. Claims lock rows with FOR UPDATE SKIP LOCKED
in READ COMMITTED; workers are woken with LISTEN/NOTIFY; jobs may be enqueued inside the
caller's own transaction. Every driver error leaves as BackendUnavailable (retryable)
or BackendError, and the same object keeps working once the server is back.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import psycopg

from ...errors import BackendError, ClaimFailed, InvalidTransition, JobNotFound
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
from . import rows
from .aio import AsyncReads
from .catalog import CatalogMixin
from .connection import Database, SideThread, parse_url
from .enqueue import EnqueueMixin
from .listen import NotifyWaiter
from .queries import Queries
from .schema import BOOTSTRAP, CURRENT_VERSION, MIGRATE_LOCK, MIGRATIONS, PING_WRITE, RECORD_VERSION, render

Cursor = psycopg.Cursor[Any]


class PostgresBackend(EnqueueMixin, CatalogMixin):
    """Jobs in a PostgreSQL schema (``offload`` unless ``?schema=`` or ``schema=`` says
    otherwise). Options: ``schema``, ``pool_min``, ``pool_max``, ``pool_timeout``
    (seconds a call waits for a connection before raising BackendUnavailable)."""

    local_reads = False  # every read is a round trip to the server

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.settings = parse_url(url, options)
        self.schema = self.settings.schema
        self.channel = self.settings.channel
        self.db = Database(self.settings)
        self.q = Queries(self.schema)
        self.async_reads = AsyncReads(self.settings, self.q)
        self._waiters: list[NotifyWaiter] = []
        self._turns = SideThread("offload-claim")  # a turn's claim, beside its outcomes

    # -- lifecycle ------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply missing steps under an advisory lock, so that processes starting at
        the same time don't race; each step and its version row commit together."""
        with self.db.transaction() as cur:
            cur.execute(MIGRATE_LOCK, {"schema": self.schema})
            cur.execute(render(BOOTSTRAP, self.schema))
            row = cur.execute(render(CURRENT_VERSION, self.schema)).fetchone()
            current = row[0] if row else 0
            for version in range(current + 1, len(MIGRATIONS) + 1):
                cur.execute(render(MIGRATIONS[version - 1], self.schema))
                cur.execute(render(RECORD_VERSION, self.schema), {"version": version})
        return len(MIGRATIONS)

    def close(self) -> None:
        for waiter in self._waiters:
            waiter.close()
        self._waiters.clear()
        self.async_reads.forbid()
        self._turns.close()
        self.db.close()

    def ping(self) -> None:
        with self.db.connection() as conn:
            conn.execute("SELECT 1 FROM " + render("{s}.jobs", self.schema) + " LIMIT 1").fetchall()

    def ping_write(self) -> None:
        with self.db.connection() as conn:
            conn.execute(render(PING_WRITE, self.schema))

    # -- reads ----------------------------------------------------------------------------

    def job_get(self, job_id: str) -> JobRecord | None:
        with self.db.connection() as conn:
            row = conn.execute(self.q.JOB_GET, {"id": job_id}).fetchone()
        return None if row is None else shared.job_record(row)

    def job_ids_by_prefix(self, prefix: str, *, limit: int) -> list[str]:
        params = {"low": prefix.ljust(32, "0"), "high": prefix.ljust(32, "f"), "limit": limit}
        with self.db.connection() as conn:
            return [row[0] for row in conn.execute(self.q.JOB_IDS_BETWEEN, params).fetchall()]

    def job_list(self, flt: JobFilter) -> list[JobRecord]:
        where: list[str] = []
        params: dict[str, Any] = {"limit": flt.limit}
        for col in ("status", "queue", "task", "owner"):
            value = getattr(flt, col)
            if value is not None:
                where.append(f"{col} = %({col})s")
                params[col] = str(value)
        if flt.before_id is not None:
            where.append("id < %(before_id)s")
            params["before_id"] = flt.before_id
        sql = f"SELECT {self.q.JOB_COLUMNS} FROM " + render("{s}.jobs", self.schema)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT %(limit)s"
        with self.db.connection() as conn:
            return [shared.job_record(r) for r in conn.execute(sql, params).fetchall()]

    def job_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        with self.db.connection() as conn:
            for queue, status, n in conn.execute(self.q.JOB_COUNTS).fetchall():
                counts.setdefault(queue, {})[status] = n
            for (name,) in conn.execute(self.q.QUEUE_NAMES).fetchall():
                counts.setdefault(name, {})
        return counts

    def job_waiting_tasks(self) -> set[tuple[str, str]]:
        with self.db.connection() as conn:
            return {(queue, task) for queue, task in conn.execute(self.q.JOB_WAITING_TASKS).fetchall()}

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
        """A claim alone commits without waiting for the WAL flush (docs/postgres.md,
        "Durability of claims"): if the server crashes before the flush, the jobs are
        simply waiting again, and no outcome depends on this transaction. One queue is
        one statement, so one round trip."""
        if limit <= 0 or not queues:
            return []
        claim = rows.Claim(worker_id, lease_s, now, None if tasks is None else list(tasks))
        if len(queues) == 1:
            with self.db.connection() as conn:
                return _claimed(self._claim_one(conn, queues[0], limit, claim, relaxed=True))
        with self.db.transaction() as cur:
            return self._claim(cur, queues, limit, claim, relaxed=True)

    def _claim_one(
        self, conn: psycopg.Connection[Any], queue: str, limit: int, claim: rows.Claim, *, relaxed: bool
    ) -> Cursor:
        return conn.execute(self.q.JOB_CLAIM, claim.params(queue, limit, relaxed))

    def _claim(
        self, cur: Cursor, queues: Sequence[str], limit: int, claim: rows.Claim, *, relaxed: bool
    ) -> list[JobRecord]:
        """One statement per queue, in the order given, until ``limit`` jobs are claimed."""
        claimed: list[JobRecord] = []
        for queue in queues:
            if len(claimed) >= limit:
                break
            cur.execute(self.q.JOB_CLAIM, claim.params(queue, limit - len(claimed), relaxed))
            claimed.extend(_claimed(cur))
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
        """The outcomes and the claim at the same time, on two connections: the server
        runs each in a process of its own, so a turn costs the longer of the two instead
        of their sum (docs/postgres.md, "A worker's turn"). The outcomes commit durably.
        The claim waits for them, uncommitted, and commits (relaxed, like job_claim's)
        only once they have; if they fail, it is rolled back, so a failed turn never
        leaves jobs claimed that the worker doesn't know of (and a server that goes away
        mid-turn ends both). If only the claim fails, the outcomes stand and ClaimFailed
        says which were written.

        A retry due now may be claimed in the same turn: when one is among the outcomes,
        the claim follows them in their transaction instead."""
        if not outcomes:
            return set(), self.job_claim(
                queues=queues, limit=limit, worker_id=worker_id, lease_s=lease_s, now=now, tasks=tasks
            )
        claim = rows.Claim(worker_id, lease_s, now, None if tasks is None else list(tasks))
        serial = self.settings.pool_max < 2  # both halves at once need two connections
        if serial or limit <= 0 or not queues or any(o.status == JobStatus.RETRYING for o in outcomes):
            with self.db.transaction() as cur:
                written = self._finish(cur, outcomes, now)
                claimed = self._claim(cur, queues, limit, claim, relaxed=False)
            return written, claimed
        outcomes_written: Future[bool] = Future()
        claiming = self._turns.submit(self._claim_after, outcomes_written, queues, limit, claim)
        try:
            written = self.job_finish(outcomes, now=now)
        except BaseException:
            outcomes_written.set_result(False)
            claiming.exception()  # wait for the rollback: the turn ends with nothing claimed
            raise
        outcomes_written.set_result(True)
        try:
            return written, claiming.result()
        except BackendError as exc:
            raise ClaimFailed(written, exc) from exc

    def _claim_after(
        self, outcomes_written: Future[bool], queues: Sequence[str], limit: int, claim: rows.Claim
    ) -> list[JobRecord]:
        """A turn's claim, committed only if the turn's outcomes were (see above)."""
        with self.db.transaction() as cur:
            claimed = self._claim(cur, queues, limit, claim, relaxed=True)
            if not outcomes_written.result():
                claimed = []
                raise psycopg.Rollback()  # leaves the block, the claim undone
        return claimed

    def job_heartbeat(self, leases: Sequence[Lease], *, lease_s: float, now: float | None = None) -> HeartbeatResult:
        if not leases:
            return HeartbeatResult(frozenset(), frozenset())
        params = {
            "ids": [x.job_id for x in leases],
            "tokens": [x.token for x in leases],
            "lease_s": lease_s,
            "now": now,
        }
        with self.db.connection() as conn:
            held = conn.execute(self.q.JOB_HEARTBEAT, params).fetchall()
        return HeartbeatResult(frozenset(r[0] for r in held), frozenset(r[0] for r in held if r[1]))

    def job_progress(self, updates: Sequence[Progress], *, now: float | None = None) -> set[str]:
        if not updates:
            return set()
        ordered = sorted(updates, key=lambda p: p.job_id)  # rows locked in id order (queries._HELD)
        params = [{"id": p.job_id, "token": p.token, "now": now, **rows.progress_params(p)} for p in ordered]
        with self.db.transaction() as cur:
            cur.executemany(self.q.JOB_PROGRESS, params, returning=True)
            return {row[0] for row in _results(cur) if row is not None}

    def job_finish(self, outcomes: Sequence[Outcome], *, now: float | None = None) -> set[str]:
        if not outcomes:
            return set()
        with self.db.connection() as conn:  # one statement: its own transaction, no BEGIN/COMMIT
            return self._finish(conn.cursor(), outcomes, now)

    def _finish(self, cur: Cursor, outcomes: Sequence[Outcome], now: float | None) -> set[str]:
        """Every outcome, its events and the task counters in one statement."""
        return {row[0] for row in cur.execute(self.q.JOB_FINISH_MANY, rows.finish_columns(outcomes, now))}

    def _add_stats(self, cur: Cursor, stats: rows.StatsBatch, now: float | None) -> None:
        """Last in its transaction: the counter rows are hot, so they are held briefly."""
        params = stats.params(now)
        if params is not None:
            cur.execute(self.q.STATS_ADD, params)

    def job_release(self, leases: Sequence[Lease], *, now: float | None = None) -> set[str]:
        if not leases:
            return set()
        params = {"ids": [x.job_id for x in leases], "tokens": [x.token for x in leases], "now": now}
        with self.db.transaction() as cur:
            changed = cur.execute(self.q.JOB_RELEASE, params).fetchall()
            self._notify(cur, {r[1] for r in changed if r[2] == JobStatus.QUEUED})
        return {r[0] for r in changed}

    def job_recover(self, *, now: float | None = None, limit: int = 1000) -> list[JobRecord]:
        with self.db.transaction() as cur:
            recovered = [shared.job_record(r) for r in cur.execute(self.q.JOB_RECOVER, {"now": now, "limit": limit})]
            self._notify(cur, {r.queue for r in recovered if r.status == JobStatus.QUEUED})
            stats = rows.StatsBatch()
            for r in recovered:
                stats.add(r.task, r.status, None)
            self._add_stats(cur, stats, now)
        return recovered

    # -- actions from users -------------------------------------------------------------------

    def _status_of(self, cur: Cursor, job_id: str) -> JobStatus:
        row = cur.execute(self.q.JOB_STATUS_LOCKED, {"id": job_id}).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return JobStatus(row[0])

    def _get_in(self, cur: Cursor, job_id: str) -> JobRecord:
        row = cur.execute(self.q.JOB_GET, {"id": job_id}).fetchone()
        assert row is not None  # locked by _status_of in this transaction
        return shared.job_record(row)

    def job_cancel(self, job_id: str, *, now: float | None = None) -> JobRecord:
        with self.db.transaction() as cur:
            status = self._status_of(cur, job_id)
            if status in WAITING:
                cur.execute(self.q.JOB_CANCEL_WAITING, {"id": job_id, "now": now})
            elif status == JobStatus.RUNNING:  # the worker learns it from its next heartbeat
                cur.execute(self.q.JOB_CANCEL_RUNNING, {"id": job_id})
            else:
                raise InvalidTransition(job_id, status, JobStatus.CANCELLED)
            return self._get_in(cur, job_id)

    def job_retry(self, job_id: str, *, now: float | None = None) -> JobRecord:
        with self.db.transaction() as cur:
            status = self._status_of(cur, job_id)
            if status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise InvalidTransition(job_id, status, JobStatus.QUEUED)
            cur.execute(self.q.JOB_RETRY, {"id": job_id, "now": now})
            record = self._get_in(cur, job_id)
            self._notify(cur, [record.queue])
        return record

    def job_delete(self, job_id: str) -> None:
        with self.db.transaction() as cur:
            status = self._status_of(cur, job_id)
            if status not in TERMINAL:
                raise InvalidTransition(job_id, status, "deleted")
            self._delete_and_archive(cur, self.q.JOB_DELETE, {"id": job_id})

    def job_prune(self, rules: Sequence[PruneRule], *, batch: int = 5000) -> int:
        """Each batch is its own short transaction, so pruning never holds many row
        locks or one long snapshot (which would stop vacuum)."""
        deleted = 0
        for rule in rules:
            where, params = rows.prune_where(rule)
            statements = [(self.q.PRUNE_ENDED_BEFORE.replace("{where}", where), params)]
            if rule.keep is not None:
                statements.append((self.q.PRUNE_BEYOND_KEEP.replace("{where}", where), {**params, "keep": rule.keep}))
            for sql, stmt_params in statements:
                while True:
                    with self.db.transaction() as cur:
                        n = self._delete_and_archive(cur, sql, {**stmt_params, "batch": batch})
                    deleted += n
                    if n < batch:
                        break
        return deleted

    def _delete_and_archive(self, cur: Cursor, sql: str, params: dict[str, Any]) -> int:
        """Run a statement that deletes jobs and archives their runs (catalog_queries.ARCHIVE),
        then trim the archive of their tasks; return how many jobs went."""
        row = cur.execute(sql, {**params, "runs_kept": RUNS_KEPT}).fetchone()
        n, tasks = (int(row[0]), list(row[1])) if row else (0, [])
        if tasks:
            cur.execute(self.q.RUNS_LOCK, {"schema": self.schema})
            cur.execute(self.q.RUN_TRIM, {"tasks": tasks, "runs_kept": RUNS_KEPT})
        return n

    def waiter(self, worker_id: str, queues: Sequence[str]) -> Waiter:
        """A LISTEN session of its own, woken for ``queues`` (see listen.py)."""
        self._waiters = [w for w in self._waiters if not w.closed]
        waiter = NotifyWaiter(self.settings.conninfo, self.channel, queues, name=worker_id)
        self._waiters.append(waiter)
        return waiter


def _claimed(cur: Cursor) -> list[JobRecord]:
    """The jobs a claim statement took, in claim order."""
    claimed = [shared.job_record(r) for r in cur.fetchall()]
    claimed.sort(key=lambda j: (-j.priority, j.run_at, j.id))
    return claimed


def _results(cur: Cursor) -> list[Any]:
    """The first row (or None) of each result of an executemany(returning=True)."""
    out = [cur.fetchone()]
    while cur.nextset():
        out.append(cur.fetchone())
    return out
