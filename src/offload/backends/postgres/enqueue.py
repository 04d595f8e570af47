"""Enqueue on PostgreSQL: a batch is one statement, in the store's own transaction or
the caller's. Mixed into PostgresBackend."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import tuple_row

from ...errors import ConfigurationError, InvalidTransition
from ...records import Inserted, NewJob
from . import rows
from .connection import Database
from .queries import Queries

Cursor = psycopg.Cursor[Any]


class EnqueueMixin:
    db: Database
    q: Queries
    channel: str

    if TYPE_CHECKING:

        def _notify(self, cur: Cursor, queues: Iterable[str]) -> None: ...  # CatalogMixin's

    def job_insert_many(
        self, jobs: Sequence[NewJob], *, now: float | None = None, connection: Any = None
    ) -> list[Inserted]:
        if not jobs:
            return []
        if connection is None:
            if not any(j.unique_key is not None or j.idempotency_key is not None for j in jobs):
                done = self._insert_alone(jobs, now)
                if done is not None:
                    return done
            with self.db.transaction() as cur:
                return self._insert(cur, jobs, now)
        if not isinstance(connection, psycopg.Connection):
            raise ConfigurationError(
                f"connection= must be a psycopg 3 Connection (the caller's open transaction), "
                f"got {type(connection).__name__}"
            )
        # The caller's transaction: written, never committed here; NOTIFY is delivered by
        # its commit and dropped by its rollback. An autocommit connection gets a
        # transaction (or savepoint) of its own, so the batch is still all or none.
        with self.db.errors():
            cur = connection.cursor(row_factory=tuple_row)
            if connection.autocommit:
                with connection.transaction():
                    return self._insert(cur, jobs, now)
            return self._insert(cur, jobs, now)

    def _insert_alone(self, jobs: Sequence[NewJob], now: float | None) -> list[Inserted] | None:
        """A batch without keys as one statement on an autocommit connection: one round
        trip that stores every job with its events and wakes the workers, or (any
        conflict, which only an id collision can cause) stores nothing and answers None,
        so that the caller takes the transaction path."""
        if len(jobs) == 1:
            query, params = (
                self.q.JOB_INSERT_ONE_STRICT,
                {**rows.insert_params(jobs[0], now), "channel": self.channel},
            )
        else:
            query, params = self.q.JOB_INSERT_MANY_STRICT, rows.insert_columns(jobs, now, self.channel)
        with self.db.connection() as conn:
            try:
                stored = conn.execute(query, params).fetchall()
            except pg_errors.UniqueViolation:
                return None
        assert len(stored) == len(jobs)
        return [Inserted(j.id, True) for j in jobs]

    def _insert(self, cur: Cursor, jobs: Sequence[NewJob], now: float | None) -> list[Inserted]:
        """The batch in one statement, then each job it left out (a key or id already
        held) resolved on its own, in the batch's order, in the same transaction."""
        inserted = cur.execute(self.q.JOB_INSERT_MANY, rows.insert_columns(jobs, now, self.channel)).fetchall()
        created = {row[0] for row in inserted}
        result: list[Inserted] = []
        ready: set[str] = set()
        for job in jobs:
            if job.id in created:
                result.append(Inserted(job.id, True))
                continue
            row = self._insert_conflict(cur, job, now)
            if row[2] is None:
                result.append(Inserted(row[0], False))
                continue
            result.append(Inserted(row[0], True))
            if row[2] == "queued":
                ready.add(row[1])
        self._notify(cur, ready)
        return result

    def _insert_conflict(self, cur: Cursor, job: NewJob, now: float | None) -> tuple[Any, ...]:
        """The job holding ``job``'s idempotency_key (first) or unique_key, as
        (id, None, None); or, when a unique_key holder ended meanwhile, the row of a
        second, successful insert."""
        for _ in range(3):
            holder = None
            if job.idempotency_key is not None:
                holder = cur.execute(self.q.JOB_BY_IDEMPOTENCY_KEY, {"idempotency_key": job.idempotency_key}).fetchone()
            if holder is None and job.unique_key is not None:
                holder = cur.execute(self.q.JOB_BY_UNIQUE_KEY, {"unique_key": job.unique_key}).fetchone()
            if holder is not None:
                return (holder[0], None, None)
            row = cur.execute(self.q.JOB_INSERT, rows.insert_params(job, now)).fetchone()
            if row is not None:
                return tuple(row)
        raise InvalidTransition(job.id, "new", "queued")  # only an id collision gets here
