"""The PostgreSQL store's smaller tables: queues, events, workers, schedules, task
statistics and API tokens. Mixed into PostgresBackend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from ...records import Event, FinishedCount, RunRecord, ScheduleRecord, TaskStats, TokenRecord, WorkerInfo
from .. import rows as shared
from .connection import Database
from .queries import Queries

_NOTIFY_PAYLOAD_MAX = 1000  # bytes; a longer queue name is announced with an empty payload


class CatalogMixin:
    db: Database
    q: Queries
    channel: str
    schema: str

    def _notify(self, cur: psycopg.Cursor[Any], queues: Iterable[str]) -> None:
        """Wake the workers of these queues when the current transaction commits."""
        payloads = sorted({q if len(q.encode()) <= _NOTIFY_PAYLOAD_MAX else "" for q in queues})
        if payloads:
            cur.execute(self.q.NOTIFY, {"channel": self.channel, "queues": payloads})

    # -- queues and events ---------------------------------------------------------------

    def queue_pause(self, name: str, paused: bool) -> None:
        with self.db.transaction() as cur:
            cur.execute(self.q.QUEUE_PAUSE, {"name": name, "paused": paused})
            if not paused:
                self._notify(cur, [name])

    def queue_paused(self) -> set[str]:
        with self.db.connection() as conn:
            return {r[0] for r in conn.execute(self.q.PAUSED_QUEUES).fetchall()}

    def event_list(self, *, after: int = 0, job_id: str | None = None, limit: int = 500) -> list[Event]:
        with self.db.connection() as conn:
            rows = conn.execute(self.q.EVENT_LIST, {"after": after, "job_id": job_id, "limit": limit}).fetchall()
        return [shared.event_record(r) for r in rows]

    def event_last_seq(self) -> int:
        with self.db.connection() as conn:
            row = conn.execute(self.q.EVENT_LAST_SEQ).fetchone()
        return int(row[0]) if row else 0

    def event_prune(self, *, before: float) -> int:
        with self.db.connection() as conn:
            return conn.execute(self.q.EVENT_PRUNE, {"before": before}).rowcount

    # -- workers ----------------------------------------------------------------------------

    def worker_beat(self, info: WorkerInfo) -> None:
        with self.db.connection() as conn:
            conn.execute(self.q.WORKER_BEAT, shared.worker_params(info))

    def worker_remove(self, worker_id: str) -> None:
        with self.db.connection() as conn:
            conn.execute(self.q.WORKER_REMOVE, {"id": worker_id})

    def worker_prune(self, *, before: float) -> int:
        with self.db.connection() as conn:
            return conn.execute(self.q.WORKER_PRUNE, {"before": before}).rowcount

    def worker_list(self, *, alive_after: float) -> list[WorkerInfo]:
        with self.db.connection() as conn:
            rows = conn.execute(self.q.WORKER_LIST, {"alive_after": alive_after}).fetchall()
        return [shared.worker_record(r) for r in rows]

    # -- schedules and statistics -------------------------------------------------------------

    def schedule_save(self, record: ScheduleRecord) -> None:
        with self.db.connection() as conn:
            conn.execute(self.q.SCHEDULE_SAVE, shared.schedule_params(record))

    def schedule_get(self, schedule_id: str) -> ScheduleRecord | None:
        with self.db.connection() as conn:
            row = conn.execute(self.q.SCHEDULE_GET, {"id": schedule_id}).fetchone()
        return None if row is None else shared.schedule_record(row)

    def schedule_list(self) -> list[ScheduleRecord]:
        with self.db.connection() as conn:
            return [shared.schedule_record(r) for r in conn.execute(self.q.SCHEDULE_LIST).fetchall()]

    def schedule_delete(self, schedule_id: str, *, now: float | None = None) -> bool:
        with self.db.connection() as conn:
            row = conn.execute(self.q.SCHEDULE_DELETE, {"id": schedule_id, "now": now}).fetchone()
        return bool(row and row[0])

    def schedule_tombstone(self, schedule_id: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute(self.q.TOMBSTONE_GET, {"id": schedule_id}).fetchone()
        return None if row is None else str(row[0])

    def schedule_due(self, *, now: float | None = None, limit: int = 100) -> list[ScheduleRecord]:
        with self.db.connection() as conn:
            rows = conn.execute(self.q.SCHEDULE_DUE, {"now": now, "limit": limit}).fetchall()
        return [shared.schedule_record(r) for r in rows]

    def schedule_advance(
        self, schedule_id: str, *, expected_next: float, next_run_at: float, last_run_at: float
    ) -> bool:
        params = {
            "id": schedule_id,
            "expected_next": expected_next,
            "next_run_at": next_run_at,
            "last_run_at": last_run_at,
        }
        with self.db.connection() as conn:
            return conn.execute(self.q.SCHEDULE_ADVANCE, params).rowcount == 1

    def stats_tasks(self) -> list[TaskStats]:
        with self.db.connection() as conn:
            return [shared.stats_record(r) for r in conn.execute(self.q.STATS_LIST).fetchall()]

    def stats_clear(self, task: str | None = None, *, now: float | None = None) -> None:
        with self.db.transaction() as cur:
            cur.execute(self.q.STATS_CLEAR, {"task": task, "now": now})
            cur.execute(self.q.RUNS_LOCK, {"schema": self.schema})  # as a trim does (job_prune)
            cur.execute(self.q.RUNS_CLEAR, {"task": task})

    def job_history(self, task: str, *, limit: int = 100) -> list[RunRecord]:
        with self.db.connection() as conn:
            rows = conn.execute(self.q.JOB_HISTORY, {"task": task, "limit": limit}).fetchall()
        return [shared.run_record(r) for r in rows]

    def job_failures(self, *, since: float, limit: int = 100, owner: str | None = None) -> list[RunRecord]:
        with self.db.connection() as conn:
            rows = conn.execute(self.q.JOB_FAILURES, {"since": since, "limit": limit, "owner": owner}).fetchall()
        return [shared.run_record(r) for r in rows]

    def job_finished_counts(self, *, since: float, bucket_s: float = 60.0) -> list[FinishedCount]:
        params = {"since": since, "bucket": shared.bucket_length(bucket_s)}
        with self.db.connection() as conn:
            rows = conn.execute(self.q.JOB_FINISHED_COUNTS, params).fetchall()
        return [shared.finished_count(row, bucket_s) for row in rows]

    # -- API tokens -----------------------------------------------------------------------

    def token_insert(self, token: TokenRecord) -> None:
        params = {
            "id": token.id,
            "user": token.user,
            "hash": token.hash,
            "admin": token.admin,
            "created_at": token.created_at,
        }
        with self.db.connection() as conn:
            conn.execute(self.q.TOKEN_INSERT, params)

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self.db.connection() as conn:
            row = conn.execute(self.q.TOKEN_BY_HASH, {"hash": token_hash}).fetchone()
        return None if row is None else shared.token_record(row)

    def token_list(self) -> list[TokenRecord]:
        with self.db.connection() as conn:
            return [shared.token_record(r) for r in conn.execute(self.q.TOKEN_LIST).fetchall()]

    def token_revoke(self, token_id: str, *, now: float | None = None) -> bool:
        with self.db.connection() as conn:
            return conn.execute(self.q.TOKEN_REVOKE, {"id": token_id, "now": now}).rowcount == 1
