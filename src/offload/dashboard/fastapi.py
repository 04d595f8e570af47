"""The dashboard inside a FastAPI app, behind the app's own login: an APIRouter whose
one route hands every page, action and stream below its prefix to the dashboard.
The host's dependencies say who the user is and whether they are an admin.

Live updates use an event hub of the router's own (one per process, started by the
first stream, stopped with the app's lifespan where FastAPI supports a router's)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi import Request as StarletteRequest
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from ..app import App
from ..errors import JobNotFound, OffloadError
from ..service import Principal, event_cursor
from ..service.hub import LazyHub
from ..service.sse import KEEPALIVE_S, MEDIA_TYPE, SSE_HEADERS, sse_body
from ..service.streams import HubStream
from .core import Dashboard
from .http import Request, Site, redirect
from .sessions import NONCE_COOKIE, FormSigner
from .starlette import cross_site, read_form, respond

JOB_STREAM = re.compile(r"^jobs/([^/]+)/events$")


def _no_admin() -> bool:
    return False


def dashboard_router(
    app: App,
    current_user: Callable[..., Any],
    *,
    secret_key: str | bytes,
    is_admin: Callable[..., Any] | None = None,
    login_url: str | None = None,
    title: str = "offload",
) -> APIRouter:
    """The dashboard for the user the ``current_user`` dependency returns (None: not
    signed in: a redirect to ``login_url``, else a 401 page); the ``is_admin``
    dependency returning True sees every job. ``secret_key`` signs the forms' CSRF
    tokens (the same in every process of the app)."""
    core = Dashboard(app, title=title)
    forms = FormSigner(secret_key)
    hubs = LazyHub(core.jobs)
    router = APIRouter(lifespan=hubs.lifespan)
    admin_dep = is_admin or _no_admin

    def principal(user: Any = Depends(current_user), admin: Any = Depends(admin_dep)) -> Principal | None:  # noqa: B008
        return None if not user else Principal(str(user), bool(admin))

    @router.api_route("/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    async def dashboard(request: StarletteRequest, path: str, p: Principal | None = Depends(principal)) -> Response:  # noqa: B008
        site = _site(request, path)
        if p is None:
            if login_url:
                return respond(redirect(login_url))
            return respond(core.error_bare(site, 401, "Sign in to the app first."))
        if request.method == "GET" and (path == "events" or JOB_STREAM.match(path)):
            return await _stream(core, hubs, request, p, path)
        nonce = request.cookies.get(NONCE_COOKIE)
        fresh = not FormSigner.plausible(nonce)
        nonce = FormSigner.nonce() if fresh or nonce is None else nonce
        req = Request(
            method=request.method,
            path="/" + path,
            query=dict(request.query_params),
            form=await read_form(request),
            principal=p,
            csrf=forms.token(nonce, p.user),
            site=site,
            cross_site=cross_site(request.headers),
        )
        response = respond(await run_in_threadpool(core.handle, req))
        if fresh:
            response.set_cookie(
                NONCE_COOKIE,
                nonce,
                path=site.root or "/",
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="strict",
            )
        return response

    return router


def _site(request: StarletteRequest, path: str) -> Site:
    """The router's prefix, from the request's path and the part the route matched."""
    full: str = request.scope["path"]
    rest = "/" + path
    prefix = full[: len(full) - len(rest)] if full.endswith(rest) else full.rstrip("/")
    return Site(root=prefix, events=f"{prefix}/events", job_events=f"{prefix}/jobs/{{id}}/events")


async def _stream(core: Dashboard, hubs: LazyHub, request: StarletteRequest, p: Principal, path: str) -> Response:
    """One job's events, or every event the user may see, as the API's streams send them."""
    hub = await hubs.get()
    m = JOB_STREAM.match(path)
    try:
        resume = event_cursor(request.headers.get("last-event-id") or request.query_params.get("last_event_id"))
        stream = HubStream.job(hub, p, m.group(1), resume) if m else HubStream.every(hub, p, resume)
        await stream.open()
    except JobNotFound:
        return respond(core.error_bare(_site(request, path), 404, "No such job."))
    except OffloadError as exc:
        return Response(str(exc), status_code=400)
    return StreamingResponse(sse_body(stream, KEEPALIVE_S), media_type=MEDIA_TYPE, headers=SSE_HEADERS)
