"""What the routes of ``offload serve`` share (``Server``, on ``starlette_app.state.offload``):
the services, the authenticator, the limits, the event hub and the health check; and
``Json``, the answer every JSON route gives. Every route but ``/api/health`` and
``/static`` needs a token; errors are answered from service/http.py's table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket

from ..app import App
from ..records import JobRecord
from ..service import JobService, Principal, TokenService, views
from ..service.health import HealthCheck
from ..service.hub import EventHub
from ..service.limits import RateLimiter, StreamSlots
from ..service.principal import DEV_PRINCIPAL
from .auth import Authenticator, bearer
from .config import WebConfig


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
    """The job as ``p`` may see it (tracebacks for admins)."""
    return views.job_json(record, include_traceback=p.admin, waiting_reason=waiting_reason)
