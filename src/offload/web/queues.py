"""``/api/queues`` and ``/api/workers``: the queues' counts, pausing and resuming them
(admins), and the live workers, as thin Starlette routes over JobService."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .server import Json, server


def list_queues(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json({"queues": s.jobs.queues(p)})


def pause_queue(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json(s.jobs.set_paused(p, request.path_params["name"], True))


def resume_queue(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json(s.jobs.set_paused(p, request.path_params["name"], False))


def list_workers(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json({"workers": s.jobs.workers(p)})
