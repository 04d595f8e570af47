"""Request limits: body size (refused by Content-Length before reading, and counted
while streaming; the rest of a refused body read and dropped, within bounds), bodies
that must be JSON, per-token request rate, and open streams per token."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import PayloadTooLarge, RateLimited, UnsupportedMediaType
from ..service import InvalidRequest
from ..service.http import describe

# The longest a refused body is read and dropped before the connection is closed.
DRAIN_S = 10.0


class BodyLimit:
    """ASGI middleware: a declared Content-Length over ``limit`` is answered 413 at
    once, without reading the body; a body without one is counted as it arrives and
    stopped at the limit.

    A refused body is then read and dropped, up to ``drain`` bytes in all (and for at
    most DRAIN_S), before the connection is closed: a client that sends its whole body
    before it reads a byte of the answer (urllib does) would otherwise find the
    connection reset by the unread bytes, and never see the 413. A body declared larger
    than ``drain`` is not waited for: the answer is sent and the connection closed."""

    def __init__(self, app: ASGIApp, limit: int, drain: int = 16 * 1024 * 1024) -> None:
        self.app = app
        self.limit = limit
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared < 0:
            await _answer(send, InvalidRequest("Content-Length", "must be a non-negative integer"))
            return
        if declared is not None and declared > self.limit:
            drain = self.drain if declared <= self.drain else 0
            await _answer(Draining(receive, send, drain), PayloadTooLarge(declared, self.limit))
            return
        seen = 0
        draining: Draining | None = None

        async def counted() -> Message:
            nonlocal seen, draining
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    draining = Draining(receive, send, max(0, self.drain - seen))
                    raise PayloadTooLarge(seen, self.limit)
            return message

        async def answer(message: Message) -> None:
            await (send if draining is None else draining)(message)

        await self.app(scope, counted, answer)


class Draining:
    """A ``send`` for the answer to a refused body: it adds ``Connection: close``, and
    before it ends the answer it reads and drops up to ``budget`` more bytes of the
    body (the client may be reading the answer by then: it is complete, since its
    Content-Length is met, and only the end of the ASGI response waits)."""

    def __init__(self, receive: Receive, send: Send, budget: int) -> None:
        self.receive = receive
        self.send = send
        self.budget = budget

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            await self.send({**message, "headers": [*headers, (b"connection", b"close")]})
        elif message["type"] == "http.response.body" and not message.get("more_body", False) and self.budget > 0:
            await self.send({**message, "more_body": True})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_S):
                    await self._drop_rest()
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self.send(message)

    async def _drop_rest(self) -> None:
        dropped = 0
        while dropped <= self.budget:
            message = await self.receive()
            if message["type"] != "http.request":
                return
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _answer(send: Send, exc: Exception) -> None:
    status, body, headers = describe(exc)
    raw = orjson.dumps(body)
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        (b"connection", b"close"),
    ]
    head += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": raw})


def require_json(content_type: str | None) -> None:
    """Raise UnsupportedMediaType (415) unless ``content_type`` is application/json;
    parameters (``; charset=utf-8``) are allowed. A text/plain or form body is refused
    rather than parsed as JSON: browsers send those cross-site without a preflight."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(content_type)


async def read_json(chunks: AsyncIterator[bytes], limit: int, content_type: str | None) -> Any:
    """Read a JSON body of at most ``limit`` bytes: 415 unless ``content_type`` (the
    request's header) is application/json, 413 beyond the limit, 400 when it isn't JSON
    (nesting deeper than the parser's limit included)."""
    require_json(content_type)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(len(body), limit)
    if not body:
        raise InvalidRequest("body", "a JSON object is required")
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("body", f"not valid JSON: {exc}") from None


class RateLimiter:
    """A token bucket per key: ``rate`` requests per second, ``burst`` at once."""

    MAX_KEYS = 10_000

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited((1.0 - tokens) / self.rate)
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.MAX_KEYS:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]


class StreamSlots:
    """Counts open streams per key; the one over ``limit`` is refused with 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        with self._lock:
            n = self._open.get(key, 0)
            if self.limit > 0 and n >= self.limit:
                raise RateLimited(5.0, "open streams")
            self._open[key] = n + 1

    def release(self, key: str) -> None:
        with self._lock:
            n = self._open.get(key, 0) - 1
            if n <= 0:
                self._open.pop(key, None)
            else:
                self._open[key] = n
