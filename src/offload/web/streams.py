"""Live events over HTTP in ``offload serve``: the SSE routes (``/api/jobs/{id}/events``,
``/api/events``) and the WebSocket (``/api/ws``), over the service layer's streams
(service/streams.py, driven by the process's EventHub) and SSE framing
(service/sse.py). WebSocket: one JSON text message per item, the same JSON as the SSE
``data:``; closed with 1000 after a job's final state.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import StreamClosed
from ..service import Principal, event_cursor
from ..service.http import describe
from ..service.sse import MEDIA_TYPE, SSE_HEADERS, sse_body
from ..service.streams import HubStream, Stream
from .server import Json, Server, server


def sse_response(stream: Stream, keepalive: float, *, on_close: list[Callable[[], None]]) -> StreamingResponse:
    return StreamingResponse(sse_body(stream, keepalive, on_close), media_type=MEDIA_TYPE, headers=SSE_HEADERS)


def _principal(s: Server, headers: Mapping[str, str], query: Mapping[str, str], cookies: Any = None) -> Principal:
    """The SSE streams also take ``?access_token=`` and the dashboard's session cookie."""
    return s.auth.principal(headers, query, cookies)


def _resume_from(request: Request | WebSocket) -> int | None:
    header = request.headers.get("last-event-id")
    if header:
        return event_cursor(header)
    return event_cursor(request.query_params.get("last_event_id"), "last_event_id")


async def _open_stream(
    s: Server, p: Principal, job_id: str | None, resume: int | None
) -> tuple[HubStream, Callable[[], None]]:
    """A stream, counted against the caller's open streams until the release is called."""
    key = p.token_id or p.user
    s.streams.acquire(key)
    stream = HubStream.job(s.hub, p, job_id, resume) if job_id is not None else HubStream.every(s.hub, p, resume)
    try:
        await stream.open()
    except BaseException:
        stream.close()
        s.streams.release(key)
        raise
    return stream, lambda: s.streams.release(key)


async def job_events(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(_principal, s, request.headers, request.query_params, request.cookies)
    stream, release = await _open_stream(s, p, request.path_params["job_id"], _resume_from(request))
    return sse_response(stream, s.config.keepalive_s, on_close=[release])


async def all_events(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(_principal, s, request.headers, request.query_params, request.cookies)
    stream, release = await _open_stream(s, p, None, _resume_from(request))
    return sse_response(stream, s.config.keepalive_s, on_close=[release])


async def websocket_events(ws: WebSocket) -> None:
    """``/api/ws[?job_id=&last_event_id=]``: every visible event, or one job's state and
    events (closed with 1000 after its final state)."""
    s = server(ws)
    try:
        p = await run_in_threadpool(_principal, s, ws.headers, ws.query_params)
        job_id = ws.query_params.get("job_id") or None
        stream, release = await _open_stream(s, p, job_id, _resume_from(ws))
    except Exception as exc:  # noqa: BLE001 - refused before the handshake, as an HTTP answer
        status, body, headers = describe(exc)
        await ws.send_denial_response(Json(body, status_code=status, headers=headers))
        return
    try:
        await ws.accept()
        await pump_websocket(ws, stream, s.config.keepalive_s)
    finally:
        release()


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
