"""What every adapter limits alike: request bodies (JSON only, at most so many bytes),
the request rate per token, and the open streams per token.

A body is read with ``read_json`` (from an async stream of chunks: Starlette, FastAPI)
or ``read_json_sync`` (from a file-like stream: Flask); both answer in the same order:
415 unless it is application/json, 413 when it is declared or found too large, 400
when it is empty or not JSON.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

from ..errors import InvalidRequest, PayloadTooLarge, RateLimited, UnsupportedMediaType


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def require_json(content_type: str | None) -> None:
    """Raise UnsupportedMediaType (415) unless ``content_type`` is application/json;
    parameters (``; charset=utf-8``) are allowed. A text/plain or form body is refused
    rather than parsed as JSON: browsers send those cross-site without a preflight."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(content_type)


def _before_reading(content_type: str | None, declared: int | None, limit: int) -> None:
    require_json(content_type)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(declared, limit)


def parse_json(body: bytes) -> Any:
    """A request body as JSON: 400 when it is empty or not JSON (nesting deeper than
    the parser's limit included)."""
    if not body:
        raise InvalidRequest("body", "a JSON object is required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("body", f"not valid JSON: {exc}") from None


async def read_json(
    chunks: AsyncIterator[bytes], limit: int, content_type: str | None, *, declared: int | None = None
) -> Any:
    """Read a JSON body of at most ``limit`` bytes from ``chunks``. ``content_type``:
    the request's header; ``declared``: its Content-Length, when the server has not
    checked it already (then a body declared too large is refused unread)."""
    _before_reading(content_type, declared, limit)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(len(body), limit)
    return parse_json(bytes(body))


def read_json_sync(stream: Readable, limit: int, content_type: str | None, *, declared: int | None = None) -> Any:
    """As read_json, from a blocking stream (a WSGI request's body)."""
    _before_reading(content_type, declared, limit)
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(len(body), limit)
    return parse_json(body)


class RateLimiter:
    """A token bucket per key: ``rate`` requests per second, ``burst`` at once."""

    MAX_KEYS = 10_000

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one request of ``key``; RateLimited (429) when its bucket is empty."""
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
