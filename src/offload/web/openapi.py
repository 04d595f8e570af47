"""``/api/openapi.json``: the OpenAPI document (generated in service/openapi.py from
the request and answer models), for any caller with a token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..service.openapi import openapi_document
from .server import Json, server


def openapi(request: Request) -> Response:
    s = server(request)
    s.principal(request, limited=False)
    return Json(openapi_document(s.app.tasks))
