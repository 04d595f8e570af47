"""Reads awaited on an asyncio event loop: the HTTP API's hottest requests (a job's
status and the token that asks for it) without a hand-off to a thread.

The pool is an AsyncConnectionPool of its own, opened on first use inside the running
loop and bound to it: a call from another loop (or after fork()) opens a new one. It
holds at most ``pool_max`` connections like the thread pool does, so an API process
may hold twice ``pool_max``. Errors are translated exactly as on the thread side.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from ...errors import BackendError
from ...records import JobRecord, TokenRecord
from .. import rows as shared
from .connection import Settings, pool_kwargs, safe_location, translate
from .queries import Queries


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)  # each read is a statement of its own: no BEGIN/COMMIT


class AsyncReads:
    """``await reads.job_get(id)``, ``await reads.token_and_job_get(h, id)`` on the event loop."""

    def __init__(self, settings: Settings, queries: Queries) -> None:
        self.settings = settings
        self.q = queries
        self.where = safe_location(settings.conninfo)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = -1
        self._closed = False

    async def job_get(self, job_id: str) -> JobRecord | None:
        async with self._connection() as conn:
            cur = await conn.execute(self.q.JOB_GET, {"id": job_id})
            row = await cur.fetchone()
        return None if row is None else shared.job_record(row)

    async def token_and_job_get(
        self, token_hash: str, job_id: str | None
    ) -> tuple[TokenRecord | None, JobRecord | None]:
        async with self._connection() as conn:
            cur = await conn.execute(self.q.TOKEN_AND_JOB_GET, {"hash": token_hash, "id": job_id})
            row = await cur.fetchone()
        assert row is not None  # always one row, of NULLs where nothing was found
        return shared.token_and_job(row)

    def forbid(self) -> None:
        """From now on every call raises BackendError (the store was closed)."""
        self._closed = True

    async def close(self) -> None:
        """Close the pool of the running loop (a pool of another loop is dropped); a
        later call opens a new one."""
        pool, self._pool = self._pool, None
        if pool is not None and self._loop is asyncio.get_running_loop() and self._pid == os.getpid():
            await pool.close()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        try:
            pool = await self._pool_of_this_loop()
            conn = await self._get_live(pool)
            try:
                yield conn
            finally:
                await pool.putconn(conn)
        except psycopg.Error as exc:
            raise translate(exc, self.where) from exc

    async def _pool_of_this_loop(self) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
        if self._closed:
            raise BackendError(f"PostgreSQL store {self.where} was closed")
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop or self._pid != os.getpid():
            pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
                self.settings.conninfo,
                open=False,
                configure=_configure,
                name=f"offload-async-{self.settings.schema}",
                **pool_kwargs(self.settings),
            )
            self._pool, self._loop, self._pid = pool, loop, os.getpid()
            await pool.open(wait=False)
        return self._pool

    async def _get_live(self, pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]]) -> psycopg.AsyncConnection[Any]:
        """A pooled connection that is not dead (after a server restart every pooled
        connection is): a broken one is closed and returned, and the next one tried."""
        deadline = time.monotonic() + self.settings.pool_timeout
        while True:
            conn = await pool.getconn(timeout=max(0.001, deadline - time.monotonic()))
            if not (conn.closed or conn.broken or _readable(conn)):
                return conn
            await conn.close()
            await pool.putconn(conn)


def _readable(conn: psycopg.AsyncConnection[Any]) -> bool:
    """An idle session has nothing to read unless the server ended it (FATAL, then EOF)."""
    probe = select.poll()
    probe.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(probe.poll(0))
