"""Every answer of the HTTP API held to its model: an httpx response hook (the API
tests' clients carry it) that finds the operation in service/openapi.OPERATIONS and
converts the JSON to the answer's model (service/models/answers.py), whose unknown
fields are refused. An error answer must be the Error model; a success the route
doesn't document fails the test that got it."""

from __future__ import annotations

import re

import httpx
import msgspec

from offload.service.models import answers
from offload.service.openapi import OPERATIONS, Operation

# Routes the document leaves out on purpose: itself, the WebSocket, the static files.
UNDOCUMENTED = re.compile(r"^/(api/openapi\.json|api/ws|static/.*)$")

ROUTES = [(op.method.upper(), re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", op.path) + "$"), op) for op in OPERATIONS]

# (operationId, status) of every answer checked so far in this process.
SEEN: set[tuple[str, int]] = set()


def operation(method: str, path: str) -> Operation | None:
    for m, pattern, op in ROUTES:
        if m == method and pattern.match(path):
            return op
    return None


def check_answer(response: httpx.Response) -> None:
    """Fail unless ``response`` is what its operation's model says (an httpx hook)."""
    path, method, status = response.request.url.path, response.request.method, response.status_code
    if not (path.startswith("/api/") or path == "/metrics") or UNDOCUMENTED.match(path):
        return
    media = response.headers.get("content-type", "").split(";")[0]
    op = operation(method, path)
    if status >= 400:
        if media == "application/json":
            _holds(response, answers.Error)
        return
    assert op is not None, f"{method} {path}: answered {status}, but the document has no such operation"
    reply = op.replies.get(status)
    assert reply is not None, f"{method} {path}: answered {status}, which the document doesn't list"
    assert media == reply.media, f"{method} {path}: answered {media}, the document says {reply.media}"
    if reply.model is not None:
        _holds(response, reply.model)
    SEEN.add((op.op_id, status))


def _holds(response: httpx.Response, model: type[answers.Answer]) -> None:
    response.read()
    try:
        msgspec.convert(response.json(), model)
    except msgspec.ValidationError as exc:
        request = response.request
        raise AssertionError(
            f"{request.method} {request.url.path} {response.status_code}: not a {model.__name__}: {exc}"
        ) from None
