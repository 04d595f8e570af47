"""Connections to PostgreSQL: the URL's offload options, a pool that survives server
restarts, transactions in READ COMMITTED, and driver errors translated at the boundary."""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import IsolationLevel
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from ...errors import BackendError, BackendUnavailable, ConfigurationError

# Query parameters of the URL that are offload's, not libpq's; they are taken out before
# the URL reaches libpq (which refuses parameters it doesn't know).
OPTION_KEYS = ("schema", "pool_min", "pool_max", "pool_timeout")

T = TypeVar("T")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,49}$")

# Errors after which the same call may well succeed: the server is away, restarting,
# overloaded, or two transactions collided.
_TRANSIENT = (
    psycopg.OperationalError,  # connection failures, admin shutdown, pool timeouts, ...
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)


@dataclass(frozen=True, slots=True)
class Settings:
    conninfo: str  # the URL without offload's own parameters
    schema: str
    pool_min: int = 1
    pool_max: int = 10
    pool_timeout: float = 5.0  # how long a call waits for a connection before BackendUnavailable

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel: one per schema, so stores in one database don't wake each other."""
        return f"{self.schema}_jobs"


def parse_url(url: str, options: dict[str, Any]) -> Settings:
    """Split ``postgresql://…?schema=x&pool_max=20`` into libpq's URL and offload's settings.
    Keyword options given to the backend win over the URL's."""
    parts = urlsplit(url)
    ours: dict[str, Any] = {}
    theirs: list[str] = []  # libpq's parameters stay exactly as written (libpq doesn't read + as a space)
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        if unquote(key) in OPTION_KEYS:
            ours[unquote(key)] = unquote(value)
        else:
            theirs.append(item)
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise ConfigurationError(f"unknown PostgreSQL store option(s) {sorted(unknown)}: use {list(OPTION_KEYS)}")
    ours.update({k: v for k, v in options.items() if v is not None})
    conninfo = urlunsplit(parts._replace(query="&".join(theirs)))
    schema = str(ours.get("schema", "offload"))
    if not _IDENTIFIER.match(schema):
        raise ConfigurationError(
            f"schema={schema!r} in {url!r}: use lower-case letters, digits and _"
            " (at most 50, not starting with a digit)"
        )
    try:
        settings = Settings(
            conninfo=conninfo,
            schema=schema,
            pool_min=int(ours.get("pool_min", 1)),
            pool_max=int(ours.get("pool_max", 10)),
            pool_timeout=float(ours.get("pool_timeout", 5.0)),
        )
    except ValueError as exc:
        raise ConfigurationError(f"bad pool option in {url!r}: {exc}") from None
    if not 0 <= settings.pool_min <= settings.pool_max or settings.pool_max < 1:
        raise ConfigurationError(
            f"pool_min={settings.pool_min}, pool_max={settings.pool_max}: need 0 <= min <= max, max >= 1"
        )
    return settings


def translate(exc: psycopg.Error, where: str) -> BackendError:
    """The offload exception for a driver error (raise it ``from exc``)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, _TRANSIENT):
        return BackendUnavailable(f"PostgreSQL store {where} is unavailable: {text}")
    return BackendError(f"PostgreSQL store {where}: {text}")


def safe_location(conninfo: str) -> str:
    """host:port/db of a URL, for messages: never the password."""
    parts = urlsplit(conninfo)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Autocommit: single statements need no BEGIN/COMMIT round trips; multi-statement
    # work uses conn.transaction(), which starts with BEGIN ISOLATION LEVEL READ COMMITTED
    # whatever the server's default_transaction_isolation says (claims with SKIP LOCKED
    # rely on READ COMMITTED's re-check of locked rows).
    # A single statement on its own (a claim, say) runs in the session's default
    # isolation, so that default is READ COMMITTED too.
    conn.autocommit = True
    conn.isolation_level = IsolationLevel.READ_COMMITTED
    conn.execute("SET default_transaction_isolation = 'read committed'")


def _stale(conn: psycopg.Connection[Any]) -> bool:
    """Whether a pooled connection is dead, at the cost of a round trip only when it
    looks suspicious: an idle session has nothing to read unless the server ended it
    (a restart sends FATAL, then EOF)."""
    if conn.closed or conn.broken:
        return True
    probe = select.poll()
    probe.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if not probe.poll(0):
        return False
    try:
        conn.execute("")
    except psycopg.Error:
        return True
    return False


def pool_kwargs(settings: Settings) -> dict[str, Any]:
    """Sizes, timeouts and connection options shared by the thread and the asyncio pool."""
    return {
        "min_size": settings.pool_min,
        "max_size": settings.pool_max,
        "timeout": settings.pool_timeout,
        "reconnect_timeout": max(2.0, settings.pool_timeout),
        "kwargs": {
            "connect_timeout": max(2, int(settings.pool_timeout)),
            "keepalives": 1,  # find a vanished server or host during long waits
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    }


class Database:
    """A connection pool, created lazily and again after fork() (a pool's sockets and
    threads must never be shared with a child process).

    After a server restart every pooled connection is dead. They are found by ``_stale``
    and replaced one after the other without waiting, and the pool's own reconnect
    attempts give up after a few seconds, so that the next call after the outage
    starts a fresh attempt at once instead of waiting out a long backoff."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.where = safe_location(settings.conninfo)
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = -1
        self._lock = threading.Lock()
        self._closed = False

    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._closed:
                raise BackendError(f"PostgreSQL store {self.where} was closed")
            if self._pool is None or self._pid != os.getpid():
                self._pool = ConnectionPool(
                    self.settings.conninfo,
                    open=False,
                    configure=_configure,
                    name=f"offload-{self.settings.schema}",
                    **pool_kwargs(self.settings),
                )
                self._pool.open(wait=False)
                self._pid = os.getpid()
            return self._pool

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Translate driver errors raised inside the block."""
        try:
            yield
        except psycopg.Error as exc:
            raise translate(exc, self.where) from exc

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection: each statement is its own transaction."""
        with self.errors():
            pool = self.pool()
            conn = self._get_live(pool)
            try:
                yield conn
            finally:
                pool.putconn(conn)  # a broken connection is discarded and replaced by the pool

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        """A READ COMMITTED transaction on a pooled connection, committed at the end of
        the block and rolled back if it raises."""
        with self.connection() as conn, self.errors(), conn.transaction():
            yield conn.cursor()

    def _get_live(self, pool: ConnectionPool[psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
        deadline = time.monotonic() + self.settings.pool_timeout
        while True:
            conn = pool.getconn(timeout=max(0.001, deadline - time.monotonic()))
            if not _stale(conn):
                return conn
            conn.close()
            pool.putconn(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()


class SideThread:
    """One thread that runs calls beside the caller's (a worker's claim while its
    outcomes are written), started on first use and again after fork()."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(1, thread_name_prefix=self.name)
                self._pid = os.getpid()
            return self._executor.submit(fn, *args, **kwargs)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None and self._pid == os.getpid():
            executor.shutdown(wait=True)
