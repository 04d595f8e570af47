"""``/api/health`` (no token: load balancers ask it) and ``/metrics`` (admins), over
service/health.py's bounded check and service/metrics.py's Prometheus text."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AccessDenied
from ..service.metrics import CONTENT_TYPE, render
from .server import Json, server


async def health(request: Request) -> Response:
    s = server(request)
    ok, body = await s.health.check()
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        body["in_process_worker"] = {
            "slots": worker.concurrency,
            "running": len(worker.runs()),
            "stuck": len(worker.stuck()),
            "alive": worker.alive,
        }
    return Json(body, status_code=200 if ok else 503)


def metrics(request: Request) -> Response:
    s = server(request)
    p = s.principal(request, limited=False)
    if not p.admin:
        raise AccessDenied("reading /metrics")
    return Response(render(s.jobs.stats()), media_type=CONTENT_TYPE)
