"""The SQLite store's smaller tables: queues, events, workers, schedules, task
statistics and API tokens. Mixed into SQLiteBackend."""

from __future__ import annotations

from ...records import Event, FinishedCount, RunRecord, ScheduleRecord, TaskStats, TokenRecord, WorkerInfo
from .. import rows as shared
from . import catalog_queries as cq
from .bells import BellBoard
from .connection import Connections
from .rows import clock


class CatalogMixin:
    db: Connections
    bells: BellBoard

    # -- queues and events ---------------------------------------------------------------

    def queue_pause(self, name: str, paused: bool) -> None:
        with self.db.write() as c:
            c.execute(cq.QUEUE_PAUSE, {"name": name, "paused": int(paused)})
        if not paused:
            self.bells.ring_all()

    def queue_paused(self) -> set[str]:
        with self.db.errors():
            return {r[0] for r in self.db.get().execute(cq.PAUSED_QUEUES)}

    def event_list(self, *, after: int = 0, job_id: str | None = None, limit: int = 500) -> list[Event]:
        sql = cq.EVENT_LIST + (" AND job_id = :job_id" if job_id else "") + " ORDER BY seq LIMIT :limit"
        with self.db.errors():
            found = self.db.get().execute(sql, {"after": after, "job_id": job_id, "limit": limit}).fetchall()
        return [shared.event_record(r) for r in found]

    def event_last_seq(self) -> int:
        with self.db.errors():
            seq: int = self.db.get().execute(cq.EVENT_LAST_SEQ).fetchone()[0]
        return seq

    def event_prune(self, *, before: float) -> int:
        with self.db.write() as c:
            return c.execute(cq.EVENT_PRUNE, {"before": before}).rowcount

    # -- workers ----------------------------------------------------------------------------

    def worker_beat(self, info: WorkerInfo) -> None:
        params = shared.worker_params(info)
        with self.db.write() as c:
            c.execute(cq.WORKER_BEAT, params)

    def worker_remove(self, worker_id: str) -> None:
        with self.db.write() as c:
            c.execute(cq.WORKER_REMOVE, {"id": worker_id})

    def worker_prune(self, *, before: float) -> int:
        with self.db.write() as c:
            return c.execute(cq.WORKER_PRUNE, {"before": before}).rowcount

    def worker_list(self, *, alive_after: float) -> list[WorkerInfo]:
        with self.db.errors():
            found = self.db.get().execute(cq.WORKER_LIST, {"alive_after": alive_after}).fetchall()
        return [shared.worker_record(r) for r in found]

    # -- schedules and statistics -------------------------------------------------------------

    def schedule_save(self, record: ScheduleRecord) -> None:
        params = shared.schedule_params(record)
        with self.db.write() as c:
            c.execute(cq.SCHEDULE_SAVE, params)
            c.execute(cq.TOMBSTONE_DELETE, {"id": record.id})

    def schedule_get(self, schedule_id: str) -> ScheduleRecord | None:
        with self.db.errors():
            row = self.db.get().execute(cq.SCHEDULE_GET, {"id": schedule_id}).fetchone()
        return None if row is None else shared.schedule_record(row)

    def schedule_list(self) -> list[ScheduleRecord]:
        with self.db.errors():
            return [shared.schedule_record(r) for r in self.db.get().execute(cq.SCHEDULE_LIST)]

    def schedule_delete(self, schedule_id: str, *, now: float | None = None) -> bool:
        with self.db.write() as c:
            row = c.execute(cq.SCHEDULE_DELETE, {"id": schedule_id}).fetchone()
            if row is not None and row[0] is not None:
                c.execute(cq.TOMBSTONE_SAVE, {"id": schedule_id, "fingerprint": row[0], "now": clock(now)})
        return row is not None

    def schedule_tombstone(self, schedule_id: str) -> str | None:
        with self.db.errors():
            row = self.db.get().execute(cq.TOMBSTONE_GET, {"id": schedule_id}).fetchone()
        return None if row is None else str(row[0])

    def schedule_due(self, *, now: float | None = None, limit: int = 100) -> list[ScheduleRecord]:
        with self.db.errors():
            found = self.db.get().execute(cq.SCHEDULE_DUE, {"now": clock(now), "limit": limit}).fetchall()
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
            return c.execute(cq.SCHEDULE_ADVANCE, params).rowcount == 1

    def stats_tasks(self) -> list[TaskStats]:
        with self.db.errors():
            return [shared.stats_record(r) for r in self.db.get().execute(cq.STATS_LIST)]

    def stats_clear(self, task: str | None = None, *, now: float | None = None) -> None:
        with self.db.write() as c:
            if task is None:
                c.execute(cq.STATS_CLEAR_ALL, {"now": clock(now)})
                c.execute(cq.RUNS_CLEAR_ALL)
            else:
                c.execute(cq.STATS_CLEAR_TASK, {"task": task, "now": clock(now)})
                c.execute(cq.RUNS_CLEAR_TASK, {"task": task})

    def job_history(self, task: str, *, limit: int = 100) -> list[RunRecord]:
        with self.db.errors():
            return [shared.run_record(r) for r in self.db.get().execute(cq.JOB_HISTORY, {"task": task, "limit": limit})]

    def job_failures(self, *, since: float, limit: int = 100, owner: str | None = None) -> list[RunRecord]:
        with self.db.errors():
            return [
                shared.run_record(r)
                for r in self.db.get().execute(cq.JOB_FAILURES, {"since": since, "limit": limit, "owner": owner})
            ]

    def job_finished_counts(self, *, since: float, bucket_s: float = 60.0) -> list[FinishedCount]:
        params = {"since": since, "bucket": shared.bucket_length(bucket_s)}
        with self.db.errors():
            found = self.db.get().execute(cq.JOB_FINISHED_COUNTS, params).fetchall()
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
            c.execute(cq.TOKEN_INSERT, params)

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self.db.errors():
            row = self.db.get().execute(cq.TOKEN_BY_HASH, {"hash": token_hash}).fetchone()
        return None if row is None else shared.token_record(row)

    def token_list(self) -> list[TokenRecord]:
        with self.db.errors():
            return [shared.token_record(r) for r in self.db.get().execute(cq.TOKEN_LIST)]

    def token_revoke(self, token_id: str, *, now: float | None = None) -> bool:
        with self.db.write() as c:
            return c.execute(cq.TOKEN_REVOKE, {"id": token_id, "now": clock(now)}).rowcount == 1
