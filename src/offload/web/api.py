"""The HTTP API: thin Starlette routes over JobService. Every route but
``/api/health`` and ``/static`` needs a token; errors come from errors.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from ..app import App
from ..records import JobRecord
from ..service import (
    AccessDenied,
    JobService,
    ListQuery,
    Principal,
    SubmitRequest,
    TokenService,
    event_cursor,
    idempotency_key,
    views,
)
from ..service.http import describe
from ..service.limits import RateLimiter, StreamSlots, read_json
from ..service.openapi import openapi_document
from .auth import DEV_PRINCIPAL, Authenticator, bearer
from .config import WebConfig
from .events import AllStream, EventHub, JobStream
from .health import HealthCheck
from .metrics import CONTENT_TYPE, render
from .streams import pump_websocket, sse_response

log = logging.getLogger(__name__)


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Server:
    """Everything the routes share; lives on ``starlette_app.state.offload``."""

    def __init__(self, app: App, config: WebConfig) -> None:
        self.app = app
        self.config = config
        self.jobs = JobService(app)
        self.tokens = TokenService(app)
        self.auth = Authenticator(self.tokens, enabled=config.auth)
        self.limiter = RateLimiter(config.poll_rate, config.poll_burst)
        self.streams = StreamSlots(config.max_streams)
        self.hub = EventHub(self.jobs, interval=config.hub_interval_s)
        self.body_limit = config.max_body or app.settings.max_payload + 64 * 1024
        engine = app.settings.url.split(":", 1)[0]
        self.health = HealthCheck(self.jobs.health, lambda: app.backend.ping_write(), engine, config.health_timeout_s)

    async def read(self, answer: Callable[[], Response]) -> Response:
        """Answer a read-only request: on the event loop itself when the store's reads
        are local (no hand-off to a thread: several times the requests per second),
        else in a worker thread."""
        if self.app.backend.local_reads:
            return answer()
        return await run_in_threadpool(answer)

    @property
    def awaits_reads(self) -> bool:
        """Whether the store's hot reads are awaited on the event loop (async_reads)."""
        return self.app.backend.async_reads is not None

    async def job_for(self, request: Request, job_id: str) -> tuple[Principal, JobRecord]:
        """Authenticate, count against the rate limit and read the job, awaited on the
        event loop: one round trip to the store for the token and the job together."""
        if not self.auth.enabled:
            self.limiter.check(_rate_key(DEV_PRINCIPAL, request))
            return DEV_PRINCIPAL, await self.jobs.get_async(DEV_PRINCIPAL, job_id)
        p, record = await self.tokens.authenticate_with_job(bearer(request.headers), job_id)
        self.limiter.check(_rate_key(p, request))
        return p, self.jobs.visible(p, job_id, record)

    def principal(self, request: Request, *, limited: bool = True) -> Principal:
        """Authenticate (and count against the rate limit): call in a worker thread."""
        p = self.auth.principal(request.headers)
        if limited:
            self.limiter.check(_rate_key(p, request))
        return p


def _rate_key(p: Principal, request: Request) -> str:
    if p.token_id is not None:
        return p.token_id
    return f"{p.user}@{request.client.host if request.client else '?'}"


def server(request: Request | WebSocket) -> Server:
    s: Server = request.app.state.offload
    return s


def job_json(p: Principal, record: JobRecord, waiting_reason: str | None = None) -> dict[str, Any]:
    return views.job_json(record, include_traceback=p.admin, waiting_reason=waiting_reason)


# -- jobs ---------------------------------------------------------------------------------


async def submit_job(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(s.principal, request)
    key = idempotency_key(request.headers.get("idempotency-key"))
    body = await read_json(request.stream(), s.body_limit, request.headers.get("content-type"))
    req = SubmitRequest.from_json(body)
    done = await run_in_threadpool(lambda: s.jobs.submit(p, req, idempotency_key=key))
    headers = {"Location": f"/api/jobs/{done.job_id}"}
    if not done.created:
        headers["Idempotent-Replayed"] = "true"
    return Json({"job_id": done.job_id, "status": done.status}, status_code=202, headers=headers)


async def list_jobs(request: Request) -> Response:
    s = server(request)

    def answer() -> Response:
        p = s.principal(request)
        page = s.jobs.list_jobs(p, ListQuery.from_params(request.query_params))
        jobs = [job_json(p, r, s.jobs.waiting_reason(r)) for r in page.jobs]
        return Json({"jobs": jobs, "next_cursor": page.next_cursor})

    return await s.read(answer)


async def get_job(request: Request) -> Response:
    """The hot path of every poller: answered on the event loop without a hand-off to a
    thread, on a store whose reads are local or awaitable."""
    s = server(request)
    job_id = request.path_params["job_id"]
    if s.awaits_reads:
        p, record = await s.job_for(request, job_id)
        return Json(job_json(p, record, await s.jobs.waiting_reason_async(record)))

    def answer() -> Response:
        p = s.principal(request)
        record = s.jobs.get(p, job_id)
        return Json(job_json(p, record, s.jobs.waiting_reason(record)))

    return await s.read(answer)


def cancel_job(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json(job_json(p, s.jobs.cancel(p, request.path_params["job_id"])))


def retry_job(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json(job_json(p, s.jobs.retry(p, request.path_params["job_id"])))


def delete_job(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    job_id = request.path_params["job_id"]
    s.jobs.delete(p, job_id)
    return Json({"job_id": job_id, "deleted": True})


# -- streams ----------------------------------------------------------------------------------


def _stream_principal(s: Server, headers: Any, query: Any, cookies: Any = None) -> Principal:
    return s.auth.principal(headers, query, cookies)


def _resume_from(request: Request | WebSocket) -> int | None:
    header = request.headers.get("last-event-id")
    if header:
        return event_cursor(header)
    return event_cursor(request.query_params.get("last_event_id"), "last_event_id")


async def _open_stream(
    s: Server, p: Principal, job_id: str | None, resume: int | None
) -> tuple[Any, Callable[[], None]]:
    key = p.token_id or p.user
    s.streams.acquire(key)
    stream: JobStream | AllStream = (
        JobStream(s.hub, p, job_id, resume) if job_id is not None else AllStream(s.hub, p, resume)
    )
    try:
        await stream.open()
    except BaseException:
        stream.close()
        s.streams.release(key)
        raise
    return stream, lambda: s.streams.release(key)


async def job_events(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(_stream_principal, s, request.headers, request.query_params, request.cookies)
    resume = _resume_from(request)
    stream, release = await _open_stream(s, p, request.path_params["job_id"], resume)
    return sse_response(stream, s.config.keepalive_s, on_close=[release])


async def all_events(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(_stream_principal, s, request.headers, request.query_params, request.cookies)
    stream, release = await _open_stream(s, p, None, _resume_from(request))
    return sse_response(stream, s.config.keepalive_s, on_close=[release])


async def websocket_events(ws: WebSocket) -> None:
    """``/api/ws[?job_id=&last_event_id=]``: every visible event, or one job's state and
    events (closed with 1000 after its final state)."""
    s = server(ws)
    try:
        p = await run_in_threadpool(_stream_principal, s, ws.headers, ws.query_params)
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


# -- queues, workers, health, metrics ----------------------------------------------------------


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


def openapi(request: Request) -> Response:
    s = server(request)
    s.principal(request, limited=False)
    return Json(openapi_document(s.app.tasks))
