"""The ASGI body limit of ``offload serve``: a body over the limit is refused by its
Content-Length before it is read, or counted while it streams in, and the rest of it
read and dropped, within bounds, so the client sees the 413. Reading a JSON body, the
request rate and the open streams per token are the service layer's (service/limits.py),
shared with the integrations."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InvalidRequest, PayloadTooLarge
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
