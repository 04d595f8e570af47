"""Server-sent events: how a stream's items go over the wire, for every adapter.

``id:`` is the item's event seq (a client reconnects with ``Last-Event-ID``),
``event:`` its type (``state``, ``status``, ``progress``, ``message`` …), ``data:`` its
JSON; ``retry:`` first, and a comment line whenever no item came within the keep-alive
interval. The body ends after an item marked final (a job's closing state) or when the
stream closes. ``sse_body`` reads a stream on an event loop (Starlette, FastAPI),
``sse_body_sync`` a blocking one (Flask).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator

import orjson

from ..errors import StreamClosed
from .streams import BlockingStream, Item, Stream

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
MEDIA_TYPE = "text/event-stream"

KEEPALIVE_S = 15.0  # the host apps' streams: a comment line when quiet this long (offload serve's is WebConfig's)
RETRY = b"retry: 1000\n\n"  # a dropped stream is reconnected after a second
KEEPALIVE = b": keep-alive\n\n"


def sse_frame(item: Item) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (item.seq, item.type.encode(), orjson.dumps(item.payload))


async def sse_body(
    stream: Stream, keepalive: float, on_close: Iterable[Callable[[], None]] = ()
) -> AsyncIterator[bytes]:
    """The frames of ``stream`` (opened already) until it ends; then it is closed and
    each of ``on_close`` called, also when the client went away first."""
    try:
        yield RETRY
        while True:
            try:
                item = await stream.next(keepalive)
            except StreamClosed:
                return
            if item is None:
                yield KEEPALIVE
                continue
            yield sse_frame(item)
            if item.final:
                return
    finally:
        stream.close()
        for fn in on_close:
            fn()


def sse_body_sync(
    stream: BlockingStream, keepalive: float, on_close: Iterable[Callable[[], None]] = ()
) -> Iterator[bytes]:
    """As sse_body, for a blocking stream (one server thread per open stream)."""
    try:
        yield RETRY
        while True:
            try:
                item = stream.next(keepalive)
            except StreamClosed:
                return
            if item is None:
                yield KEEPALIVE
                continue
            yield sse_frame(item)
            if item.final:
                return
    finally:
        stream.close()
        for fn in on_close:
            fn()
