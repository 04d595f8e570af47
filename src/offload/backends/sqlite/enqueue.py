"""Enqueue on SQLite: a batch is a few multi-row statements in one write transaction,
then one ring of the workers' bells. Mixed into SQLiteBackend."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ...errors import BackendError, ConfigurationError
from ...records import Inserted, NewJob
from . import batches, rows
from . import queries as q
from .bells import BellBoard
from .connection import Connections
from .rows import clock


class EnqueueMixin:
    db: Connections
    bells: BellBoard

    def job_insert_many(
        self, jobs: Sequence[NewJob], *, now: float | None = None, connection: Any = None
    ) -> list[Inserted]:
        if connection is not None:
            raise ConfigurationError(
                "enqueue inside the caller's transaction (connection=...) needs the PostgreSQL store"
            )
        now = clock(now)
        with self.db.write() as c:
            result, queued = self._insert(c, jobs, now)
        if queued:
            self.bells.ring_all()
        return result

    def _insert(self, c: sqlite3.Connection, jobs: Sequence[NewJob], now: float) -> tuple[list[Inserted], bool]:
        """Store new jobs and their status events; also say whether any of them is queued
        (ready now: the workers' bells should ring)."""
        params = [rows.insert_params(j, now) for j in jobs]
        if not any(j.unique_key or j.idempotency_key for j in jobs):
            batches.insert_rows(c, q.job_insert, params, nullable=rows.NULLABLE)  # random ids: no conflict is possible
            result = [Inserted(j.id, True) for j in jobs]
            made = params
        else:
            result = [self._insert_one(c, j, row) for j, row in zip(jobs, params, strict=True)]
            made = [p for p, r in zip(params, result, strict=True) if r.created]
        ID, STATUS, OWNER = rows.ID, rows.STATUS, rows.OWNER
        events = [(p[ID], rows.NEW_EVENT[p[STATUS]], now, p[OWNER]) for p in made]
        batches.insert_rows(c, q.status_event_insert, events, nullable=batches.EVENT_NULLABLE)
        return result, any(p[STATUS] == "queued" for p in params)

    def _insert_one(self, c: sqlite3.Connection, job: NewJob, row: tuple[Any, ...]) -> Inserted:
        """A job with keys: inserted, or the job holding its idempotency_key (first) or
        unique_key."""
        if c.execute(q.JOB_INSERT_KEYED, row).rowcount == 1:
            return Inserted(job.id, True)
        holder = None
        if job.idempotency_key:
            holder = c.execute(q.JOB_BY_IDEMPOTENCY_KEY, {"idempotency_key": job.idempotency_key}).fetchone()
        if holder is None and job.unique_key:
            holder = c.execute(q.JOB_BY_UNIQUE_KEY, {"unique_key": job.unique_key}).fetchone()
        if holder is None:  # the conflict was on the id itself
            raise BackendError(f"job id {job.id} is already taken")
        return Inserted(holder[0], False)
