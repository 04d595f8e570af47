"""offload's job endpoints in a FastAPI app that has its own logins.

    from offload.integrations.fastapi import offload_router

    def current_user(request: Request) -> str | None:   # any FastAPI dependency
        return request.session.get("user")

    api.include_router(offload_router(jobs, current_user), prefix="/offload")

The dashboard mounts the same way, behind the same login (its admins see every job):

    api.include_router(
        dashboard_router(jobs, current_user, is_admin=current_user_is_admin, secret_key=SECRET),
        prefix="/admin/jobs",
    )

Routes (relative to the prefix) as in the Flask blueprint: ``POST /jobs``,
``GET /jobs``, ``GET /jobs/{id}``, ``POST /jobs/{id}/cancel``, ``/retry``,
``DELETE /jobs/{id}``, ``GET /jobs/{id}/events`` (SSE), and the browser client:
``GET /offload.js``, ``/offload.mjs``, ``/offload.d.ts``, ``/offload.d.mts``.

The streams are fed by an event hub of the router's own (service/hub.py), started by
the first stream and stopped with the app's lifespan.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from ..app import App
from ..dashboard.fastapi import dashboard_router
from ..errors import OffloadError
from ..service import (
    AuthenticationFailed,
    JobService,
    ListQuery,
    Principal,
    SubmitRequest,
    event_cursor,
    idempotency_key,
)
from ..service.client import client_file
from ..service.http import describe
from ..service.hub import LazyHub
from ..service.limits import read_json
from ..service.sse import KEEPALIVE_S, MEDIA_TYPE, SSE_HEADERS, sse_body
from ..service.streams import HubStream
from ..service.views import job_json
from .common import CLIENT_ROUTES

__all__ = ["dashboard_router", "offload_router"]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def _answers(fn: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return await fn(*args, **kwargs)
        except OffloadError as exc:
            status, body, headers = describe(exc)
            return _json(body, status, headers)

    return wrapper


async def _body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    size = int(declared) if declared and declared.isdigit() else None
    return await read_json(request.stream(), limit, request.headers.get("content-type"), declared=size)


def _client_file(name: str) -> Callable[[], Awaitable[Response]]:
    async def serve() -> Response:
        text, kind = client_file(name)
        return Response(text, media_type=kind)

    return serve


def _client_routes(router: APIRouter) -> None:
    """The browser client's files: the script, the ES module and their types."""
    for path, endpoint in CLIENT_ROUTES:
        router.add_api_route(f"/{path}", _client_file(path), methods=["GET"], name=endpoint)


def _no_admin() -> bool:
    return False


def offload_router(
    app: App,
    current_user: Callable[..., Any],
    *,
    is_admin: Callable[..., Any] | None = None,
    max_body: int | None = None,
) -> APIRouter:
    """An APIRouter serving ``app``'s jobs to the user the ``current_user`` dependency
    returns (None: 401); the ``is_admin`` dependency returning True sees every job."""
    service = JobService(app)
    limit = max_body or app.settings.max_payload + 64 * 1024
    hubs = LazyHub(service)
    router = APIRouter(lifespan=hubs.lifespan)
    admin_dep = is_admin or _no_admin

    def principal(user: Any = Depends(current_user), admin: Any = Depends(admin_dep)) -> Principal | None:  # noqa: B008
        return None if not user else Principal(str(user), bool(admin))

    def who(p: Principal | None) -> Principal:
        if p is None:
            raise AuthenticationFailed("log in first")
        return p

    @router.post("/jobs", status_code=202)
    @_answers
    async def submit(request: Request, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        me = who(p)
        key = idempotency_key(request.headers.get("idempotency-key"))
        req = SubmitRequest.from_json(await _body(request, limit))
        done = await run_in_threadpool(lambda: service.submit(me, req, idempotency_key=key))
        location = f"{request.url.path.rstrip('/')}/{done.job_id}"
        return _json({"job_id": done.job_id, "status": done.status}, 202, {"Location": location})

    @router.get("/jobs")
    @_answers
    async def list_jobs(request: Request, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        me = who(p)
        query = ListQuery.from_params(request.query_params)
        page = await run_in_threadpool(service.list_jobs, me, query)
        jobs = [job_json(r, include_traceback=me.admin) for r in page.jobs]
        return _json({"jobs": jobs, "next_cursor": page.next_cursor})

    @router.get("/jobs/{job_id}")
    @_answers
    async def get_job(job_id: str, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        me = who(p)
        record = await run_in_threadpool(service.get, me, job_id)
        reason = await service.waiting_reason_async(record)
        return _json(job_json(record, include_traceback=me.admin, waiting_reason=reason))

    @router.post("/jobs/{job_id}/cancel")
    @_answers
    async def cancel(job_id: str, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        me = who(p)
        record = await run_in_threadpool(service.cancel, me, job_id)
        return _json(job_json(record, include_traceback=me.admin))

    @router.post("/jobs/{job_id}/retry")
    @_answers
    async def retry(job_id: str, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        me = who(p)
        record = await run_in_threadpool(service.retry, me, job_id)
        return _json(job_json(record, include_traceback=me.admin))

    @router.delete("/jobs/{job_id}")
    @_answers
    async def delete(job_id: str, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        await run_in_threadpool(service.delete, who(p), job_id)
        return _json({"job_id": job_id, "deleted": True})

    @router.get("/jobs/{job_id}/events")
    @_answers
    async def events(job_id: str, request: Request, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        me = who(p)
        resume = event_cursor(request.headers.get("last-event-id") or request.query_params.get("last_event_id"))
        stream = HubStream.job(await hubs.get(), me, job_id, resume)
        await stream.open()  # a missing job: a 404 before the stream starts
        return StreamingResponse(sse_body(stream, KEEPALIVE_S), media_type=MEDIA_TYPE, headers=SSE_HEADERS)

    _client_routes(router)

    return router
