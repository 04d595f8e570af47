"""Connection limits for ``offload serve`` facing clients without a proxy: a deadline
for each request head, the keep-alive idle timeout, and a cap on open connections.

Thin glue on uvicorn's httptools protocol, passed to it as ``http=``. uvicorn closes a
keep-alive connection that stays idle after an answer, but it has no deadline for a
request head: a socket that sends half a head, or nothing at all, is kept for ever.
Its ``limit_concurrency`` is judged only once a head is complete, so such sockets are
never refused either. Here:

* A connection has ``header_timeout_s`` to send a complete request head, counted from
  its accept and, between requests, from the first byte of the next one (before that
  byte the idle timeout applies). Past it the connection is closed, after a 408 when
  part of a head came.
* Past ``max_connections`` open connections (streams and WebSockets count), a new one
  closes the oldest connection that is between requests (accepted or idle, and with no
  complete head yet) for at least EVICT_AFTER_S, so that a crowd of silent sockets
  can't lock real clients out, while a real client that was just accepted (its head
  on the way) is never the one closed. When no connection is old enough to go, the
  new one is answered ``503`` with ``Connection: close`` at once and closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ..service.http import error_body

# How long a refused connection is still read (and what comes dropped) after its
# answer, so that the client's request doesn't make the close a reset that loses it.
LINGER_S = 2.0
# A connection between requests for this long may be closed to make room: real clients
# send their head within milliseconds of the accept, even on a loaded machine.
EVICT_AFTER_S = 1.0
RETRY_AFTER = b"retry-after: 1\r\n"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """WebConfig's fields of the same names (the defaults are there)."""

    header_timeout_s: float  # to send a complete request head; 0: no deadline
    idle_timeout_s: float  # a keep-alive connection idle between requests
    max_connections: int  # open at once; 0: no cap


def _answer(status: bytes, code: str, message: str, extra: bytes = b"") -> bytes:
    body = orjson.dumps(error_body(code, message))
    head = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n%s\r\n"
    return head % (status, len(body), extra) + body


class Between:
    """The connections of one server that are between requests, oldest first."""

    def __init__(self) -> None:
        self.order: dict[LimitedProtocol, float] = {}  # -> loop time it came between requests

    def add(self, conn: LimitedProtocol, now: float) -> None:
        self.order.pop(conn, None)
        self.order[conn] = now

    def discard(self, conn: LimitedProtocol) -> None:
        self.order.pop(conn, None)

    def __contains__(self, conn: object) -> bool:
        return conn in self.order

    def oldest(self, before: float) -> LimitedProtocol | None:
        """The connection between requests the longest, if it came there before ``before``."""
        for conn, since in self.order.items():
            return conn if since <= before else None
        return None


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above; see ``protocol_class``."""

    limits: ClassVar[ConnectionLimits]
    between: ClassVar[Between]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.timeout_keep_alive = self.limits.idle_timeout_s  # type: ignore[assignment]  # a float works
        self.head_timer: asyncio.TimerHandle | None = None
        self.linger_timer: asyncio.TimerHandle | None = None
        self.head_bytes = False  # part of a request head came
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self.limits.max_connections
        if cap and len(self.connections) > cap and not self._evict_one():
            self.refuse(_answer(b"503 Service Unavailable", "unavailable", "too many open connections", RETRY_AFTER))
            return
        self.between.add(self, self.loop.time())
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # read and dropped until the close
        if self in self.between:
            self.head_bytes = True
            self._arm_head_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._head_done()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle until the next request
            self.between.add(self, self.loop.time())

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
            self.linger_timer = None
        super().connection_lost(exc)

    def refuse(self, answer: bytes | None) -> None:
        """Leave the count, send ``answer`` (if any) and close: at once when nothing
        came, else after the client stopped sending or LINGER_S."""
        self._head_done()
        self.connections.discard(self)
        self._unset_keepalive_if_required()
        self.refused = True
        if self.transport.is_closing():
            return
        if answer is None:
            self.transport.close()
            return
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.linger_timer = self.loop.call_later(LINGER_S, self.transport.close)

    def _evict_one(self) -> bool:
        oldest = self.between.oldest(before=self.loop.time() - EVICT_AFTER_S)
        if oldest is None:
            return False
        oldest.refuse(None)
        return True

    def _arm_head_timer(self) -> None:
        if self.head_timer is None and self.limits.header_timeout_s > 0:
            self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def _head_done(self) -> None:
        self.between.discard(self)
        self.head_bytes = False
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.head_bytes:
            message = f"no complete request head within {self.limits.header_timeout_s:g}s"
            self.refuse(_answer(b"408 Request Timeout", "request_timeout", message))
        else:
            self.refuse(None)  # nothing came: nothing to answer


def protocol_class(limits: ConnectionLimits) -> type[LimitedProtocol]:
    """A protocol class for one server (``uvicorn.run(..., http=protocol_class(limits))``):
    its connections share one ``Between`` list."""
    return type("OffloadHttpProtocol", (LimitedProtocol,), {"limits": limits, "between": Between()})
