"""Waking workers with LISTEN/NOTIFY.

Each waiter owns one dedicated connection (not from the pool: a LISTEN session must stay
open and idle) and one daemon thread that reads notifications from it. The session is
opened before the waiter is handed out, so a NOTIFY committed after that is never missed. A notification
for one of the waiter's queues, or one with an empty payload, rings the waiter, which is
a self-pipe: ``wait`` blocks on the pipe only, so it always returns within its timeout,
whatever state the connection is in.

When the connection drops (server restart, network), or could not be opened at first,
the thread reconnects with exponential backoff and rings once it is back, because
notifications sent meanwhile are lost; the worker's poll fallback covers the time in
between.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

log = logging.getLogger(__name__)

_BACKOFF_FIRST = 0.25
_BACKOFF_MAX = 10.0
_IDLE_CHECK_S = 30.0  # how often an idle LISTEN session is checked (keepalives do the rest)


class NotifyWaiter:
    """A worker's doorbell: rung by NOTIFY on ``channel`` for one of ``queues``, or by
    ``ring()`` from another thread of this process."""

    def __init__(self, conninfo: str, channel: str, queues: Sequence[str], *, name: str = "") -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.queues = frozenset(queues)
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._stop_r, self._stop_w = os.pipe()
        self._poll = select.poll()
        self._poll.register(self._r, select.POLLIN)
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = threading.Event()
        self.listening = threading.Event()  # set while a LISTEN session is open (for tests, health)
        try:
            self._connect()
        except psycopg.Error as exc:
            log.warning("LISTEN connection failed, retrying in the background: %s", exc, extra={"channel": channel})
        self._thread = threading.Thread(target=self._run, name=f"offload-listen-{name or channel}", daemon=True)
        self._thread.start()

    # -- the Waiter protocol ------------------------------------------------------------

    def wait(self, timeout: float) -> bool:
        if self._closed.is_set():
            return False
        try:
            ready = self._poll.poll(max(0, int(timeout * 1000 + 0.999)))
        except (OSError, ValueError):  # closed from another thread meanwhile
            return False
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 256):
                pass
        return True

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def ring(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"!")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        for fd in (self._r, self._w, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- the listening thread -------------------------------------------------------------

    def _run(self) -> None:
        delay = _BACKOFF_FIRST
        while not self._closed.is_set():
            if self._conn is not None:  # opened by __init__
                self._listen_until_lost()
                continue
            try:
                self._connect()
            except psycopg.Error as exc:
                log.warning(
                    "LISTEN connection failed, retrying in %.2fs: %s", delay, exc, extra={"channel": self.channel}
                )
                if self._sleep(delay):
                    break
                delay = min(delay * 2, _BACKOFF_MAX)
                continue
            delay = _BACKOFF_FIRST
            self.ring()  # notifications sent while there was no session are lost: look now
            self._listen_until_lost()
        self._disconnect()

    def _listen_until_lost(self) -> None:
        try:
            self._listen()
        except psycopg.Error as exc:
            if not self._closed.is_set():
                log.warning("LISTEN connection lost: %s", exc, extra={"channel": self.channel})
        finally:
            self._disconnect()

    def _connect(self) -> None:
        conn = psycopg.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        try:
            conn.add_notify_handler(self._on_notify)  # notifications that arrive during a query
            conn.execute(f'LISTEN "{self.channel}"')
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self.listening.set()

    def _disconnect(self) -> None:
        self.listening.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _listen(self) -> None:
        """Read notifications until the connection fails or the waiter is closed."""
        conn = self._conn
        assert conn is not None
        pgconn = conn.pgconn
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN)
        poller.register(self._stop_r, select.POLLIN)
        while not self._closed.is_set():
            ready = {fd for fd, _ in poller.poll(int(_IDLE_CHECK_S * 1000))}
            if self._stop_r in ready:
                return
            if not ready:
                conn.execute("SELECT 1")  # an idle check: raises if the session is gone
                continue
            pgconn.consume_input()  # raises OperationalError when the server went away
            if pgconn.status != psycopg.pq.ConnStatus.OK:
                raise psycopg.OperationalError("LISTEN session closed by the server")
            wake = False
            while (n := pgconn.notifies()) is not None:
                wake = wake or self._wanted(n.extra.decode("utf-8", "replace"))
            if wake:
                self.ring()

    def _wanted(self, payload: str) -> bool:
        return not payload or not self.queues or payload in self.queues

    def _on_notify(self, n: psycopg.Notify) -> None:
        if self._wanted(n.payload):
            self.ring()

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless closed; True when the waiter was closed."""
        with contextlib.suppress(OSError, ValueError):
            poller = select.poll()
            poller.register(self._stop_r, select.POLLIN)
            poller.poll(int(seconds * 1000))
        return self._closed.is_set()
