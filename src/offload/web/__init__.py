"""The HTTP API of offload as a Starlette app: ``create_app(offload_app)``, with the
dashboard (offload.dashboard) at ``/``.

``offload serve --app module:attr`` runs it on uvicorn; any ASGI server can run it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ..app import App
from ..dashboard.starlette import ServeDashboard
from ..errors import OffloadError
from ..service.client import STATIC, media_type
from ..service.http import HTTP_CODES, describe, error_body
from . import health, jobs, openapi, queues, schedules, stats, streams
from .config import WebConfig
from .limits import BodyLimit
from .server import Json, Server

__all__ = ["WebConfig", "create_app"]

log = logging.getLogger(__name__)


class Static(StaticFiles):
    """The static folder, the browser client's files with their right content types."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        kind = media_type(os.fspath(full_path))
        if kind is not None and response.status_code != 304:
            response.headers["content-type"] = kind
        return response


def routes() -> list[Any]:
    return [
        Route("/api/health", health.health, methods=["GET"]),
        Route("/api/openapi.json", openapi.openapi, methods=["GET"]),
        Route("/api/jobs", jobs.submit_job, methods=["POST"]),
        Route("/api/jobs", jobs.list_jobs, methods=["GET"]),
        Route("/api/jobs/{job_id}", jobs.get_job, methods=["GET"]),
        Route("/api/jobs/{job_id}", jobs.delete_job, methods=["DELETE"]),
        Route("/api/jobs/{job_id}/cancel", jobs.cancel_job, methods=["POST"]),
        Route("/api/jobs/{job_id}/retry", jobs.retry_job, methods=["POST"]),
        Route("/api/jobs/{job_id}/events", streams.job_events, methods=["GET"]),
        Route("/api/events", streams.all_events, methods=["GET"]),
        WebSocketRoute("/api/ws", streams.websocket_events),
        Route("/api/queues", queues.list_queues, methods=["GET"]),
        Route("/api/queues/{name}/pause", queues.pause_queue, methods=["POST"]),
        Route("/api/queues/{name}/resume", queues.resume_queue, methods=["POST"]),
        Route("/api/workers", queues.list_workers, methods=["GET"]),
        Route("/api/schedules", schedules.list_schedules, methods=["GET"]),
        Route("/api/schedules", schedules.create_schedule, methods=["POST"]),
        Route("/api/schedules/{schedule_id}", schedules.get_schedule, methods=["GET"]),
        Route("/api/schedules/{schedule_id}", schedules.delete_schedule, methods=["DELETE"]),
        Route("/api/schedules/{schedule_id}/pause", schedules.pause_schedule, methods=["POST"]),
        Route("/api/schedules/{schedule_id}/resume", schedules.resume_schedule, methods=["POST"]),
        Route("/api/schedules/{schedule_id}/run", schedules.run_schedule, methods=["POST"]),
        Route("/api/stats/tasks", stats.task_stats, methods=["GET"]),
        Route("/api/stats/tasks/{task}/history", stats.task_history, methods=["GET"]),
        Route("/api/failures", stats.failures, methods=["GET"]),
        Route("/metrics", health.metrics, methods=["GET"]),
        Mount("/static", app=Static(directory=STATIC), name="static"),
    ]


async def _offload_error(request: Request, exc: Exception) -> Response:
    status, body, headers = describe(exc)
    return Json(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    return Json(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    status, body, headers = describe(exc)
    return Json(body, status_code=status, headers=headers)


def create_app(app: App, config: WebConfig | None = None) -> Starlette:
    """The API for ``app``. ``config.workers`` > 0 also runs an in-process worker with
    that many slots, started and stopped with the ASGI lifespan."""
    config = config or WebConfig()
    server = Server(app, config)

    @contextlib.asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        if not config.auth:
            log.warning(
                "offload API running WITHOUT AUTHENTICATION (--no-auth): every caller is an admin. "
                "Never expose this to a network."
            )
        await server.hub.start()
        starlette.state.worker = app.run_workers(concurrency=config.workers) if config.workers else None
        try:
            yield
        finally:
            await server.hub.stop()
            if app.backend.async_reads is not None:
                await app.backend.async_reads.close()
            if starlette.state.worker is not None:
                await asyncio.to_thread(starlette.state.worker.stop, app.settings.grace_s)

    dashboard = ServeDashboard(app, server.tokens, server.limiter, auth=config.auth, session_s=config.session_s)
    starlette = Starlette(
        routes=[*routes(), *dashboard.routes()],
        middleware=[Middleware(BodyLimit, limit=server.body_limit, drain=config.max_drain)],
        exception_handlers={OffloadError: _offload_error, HTTPException: _http_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    starlette.state.offload = server
    starlette.state.worker = None
    return starlette
