"""SSE and WebSocket transports over the streams of events.py.

SSE: ``id:`` is the event seq (reconnect with ``Last-Event-ID``), ``event:`` its type
(``state``, ``status``, ``progress``, ``message`` …), ``data:`` its JSON; a comment
line every keep-alive interval. WebSocket: one JSON text message per item, the same
JSON as the SSE ``data:``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import orjson
from starlette.responses import StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from .events import Item, StreamClosed

log = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


class Stream(Protocol):
    finished: bool

    async def next(self, timeout: float) -> Item | None: ...

    def close(self) -> None: ...


def sse_frame(item: Item) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (item.seq, item.type.encode(), orjson.dumps(item.payload))


async def _sse_body(stream: Stream, keepalive: float, on_close: list[object]) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 1000\n\n"
        while True:
            try:
                item = await stream.next(keepalive)
            except StreamClosed:
                return
            if item is None:
                yield b": keep-alive\n\n"
                continue
            yield sse_frame(item)
            if item.final:
                return
    finally:
        stream.close()
        for fn in on_close:
            fn()  # type: ignore[operator]


def sse_response(stream: Stream, keepalive: float, *, on_close: list[object]) -> StreamingResponse:
    return StreamingResponse(
        _sse_body(stream, keepalive, on_close), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def pump_websocket(ws: WebSocket, stream: Stream, keepalive: float) -> None:
    """Send the stream's items until it ends or the client goes; close with 1000."""

    async def receive_until_gone() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return

    reader = asyncio.create_task(receive_until_gone())
    try:
        while not reader.done():
            next_item = asyncio.create_task(stream.next(keepalive))
            done, _ = await asyncio.wait({next_item, reader}, return_when=asyncio.FIRST_COMPLETED)
            if next_item not in done:
                next_item.cancel()
                with contextlib.suppress(asyncio.CancelledError, StreamClosed):
                    await next_item
                return
            try:
                item = next_item.result()
            except StreamClosed:
                break
            if item is None:
                continue
            await ws.send_text(orjson.dumps(item.payload).decode())
            if item.final:
                break
        with contextlib.suppress(Exception):
            await ws.close(1000)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        stream.close()
