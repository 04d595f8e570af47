"""The HTTP API's hottest reads (the AsyncReads protocol) on SQLite: made on the event
loop itself, since WAL readers never wait for a lock. A status GET reads its token and
its job in one statement: a statement has a fixed cost (the read transaction's locks and
checks) that two lookups would pay twice."""

from __future__ import annotations

from ...records import JobRecord, TokenRecord
from .. import rows as shared
from . import catalog_queries as cq
from . import queries as q
from .connection import Connections


class LoopReads:
    def __init__(self, db: Connections) -> None:
        self.db = db

    async def job_get(self, job_id: str) -> JobRecord | None:
        with self.db.errors():
            row = self.db.get().execute(q.JOB_GET, {"id": job_id}).fetchone()
        return None if row is None else shared.job_record(row)

    async def token_and_job_get(
        self, token_hash: str, job_id: str | None
    ) -> tuple[TokenRecord | None, JobRecord | None]:
        with self.db.errors():
            row = self.db.get().execute(cq.TOKEN_AND_JOB_GET, {"hash": token_hash, "id": job_id}).fetchone()
        return shared.token_and_job(row)

    async def close(self) -> None:
        """Nothing of the loop's own: the reads use the store's connections, closed with it."""
