"""The dashboard in ``offload serve``: Starlette routes beside /api, sign-in and
sessions of our own (see sessions.py), and pages answered by the framework-neutral
core. The pages' live updates use the API's own SSE streams, which accept the session
cookie (web/auth.py)."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import Route

from ..errors import AuthenticationFailed, OffloadError, PayloadTooLarge
from ..service import Principal
from ..service.principal import DEV_PRINCIPAL
from .core import Dashboard
from .http import Reply, Request, Site, redirect
from .sessions import (
    CSRF_FIELD,
    NONCE_COOKIE,
    SESSION_COOKIE,
    FormSigner,
    Session,
    cookie_name,
    open_session,
    same,
    signed_in,
)

if TYPE_CHECKING:
    from ..app import App
    from ..service import TokenService
    from ..service.limits import RateLimiter

log = logging.getLogger(__name__)

MAX_FORM = 256 * 1024  # bytes of a form's body: 500 selected job ids fit many times over
PATHS = [
    "/",
    "/jobs",
    "/jobs/action",
    "/jobs/{job_id}",
    "/jobs/{job_id}/{action}",
    "/queues/action",
    "/tasks",
    "/tasks/{task:path}",
    "/schedules",
    "/schedules/action",
    "/assets/{name}",
]


async def read_form(request: StarletteRequest) -> dict[str, list[str]]:
    """A POST's url-encoded form (the only kind the dashboard's forms send)."""
    if request.method != "POST":
        return {}
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise PayloadTooLarge(len(body), MAX_FORM)
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def cross_site(headers: Mapping[str, str]) -> bool:
    """The browser says another site (a sibling subdomain included) sent the request."""
    return headers.get("sec-fetch-site", "") in ("cross-site", "same-site")


def respond(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


def route_path(request: StarletteRequest) -> str:
    """The request's path below the app's root path."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] or "/" if root and path.startswith(root) else path


class ServeDashboard:
    """Sign-in, sign-out and the pages, for the API app of ``offload serve``."""

    def __init__(
        self, app: App, tokens: TokenService, limiter: RateLimiter, *, auth: bool = True, session_s: float
    ) -> None:
        """``auth=False``: the --no-auth dev mode, in which every visitor is an admin."""
        self.tokens = tokens
        self.limiter = limiter
        self.auth = auth
        self.core = Dashboard(app)
        self.session_s = session_s
        # Forms shown before a session exists (sign-in) and in --no-auth mode: a fresh
        # secret per process is enough, a page open across a restart just reloads.
        self.forms = FormSigner(secrets.token_bytes(32))

    def routes(self) -> list[Route]:
        return [
            Route("/sign-in", self.sign_in_page, methods=["GET"]),
            Route("/sign-in", self.sign_in, methods=["POST"]),
            Route("/sign-out", self.sign_out, methods=["POST"]),
            *(Route(path, self.dispatch, methods=["GET", "POST"]) for path in PATHS),
        ]

    # -- where things are --------------------------------------------------------------

    def site(self, request: StarletteRequest, user_label: str = "") -> Site:
        root = request.scope.get("root_path", "").rstrip("/")
        return Site(
            root=root,
            events=f"{root}/api/events",
            job_events=f"{root}/api/jobs/{{id}}/events",
            sign_out=self.auth,
            user_label=user_label,
        )

    def _cookie(
        self, response: Response, request: StarletteRequest, name: str, value: str, max_age: int | None
    ) -> None:
        response.set_cookie(
            cookie_name(name, request.headers.get("host")),
            value,
            max_age=max_age,
            path=request.scope.get("root_path", "").rstrip("/") or "/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax" if name == SESSION_COOKIE else "strict",
        )

    def _nonce(self, request: StarletteRequest) -> tuple[str, bool]:
        """This browser's CSRF nonce, and whether it is new (to be set as a cookie)."""
        nonce = request.cookies.get(cookie_name(NONCE_COOKIE, request.headers.get("host")))
        if FormSigner.plausible(nonce):
            assert nonce is not None
            return nonce, False
        return FormSigner.nonce(), True

    # -- the pages -----------------------------------------------------------------------

    async def dispatch(self, request: StarletteRequest) -> Response:
        path = route_path(request)
        if path.startswith("/assets/"):
            return respond(self.core.handle(self._request(request, path, {}, Principal("-"), "")))
        try:
            principal, session = await run_in_threadpool(self._visitor, request)
        except AuthenticationFailed:
            if request.method == "GET" and not request.query_params.get("fragment"):
                return respond(redirect(self.site(request).url("/sign-in", {"next": _next(path, request)})))
            return respond(self.core.error_bare(self.site(request), 401, "Sign in first."))
        form = await read_form(request)
        new_nonce = False
        if session is not None:
            csrf = session.csrf(principal.token_id)
        else:  # --no-auth: every visitor is the admin, forms are signed per browser
            nonce, new_nonce = self._nonce(request)
            csrf = self.forms.token(nonce, principal.user)
        req = self._request(request, path, form, principal, csrf)
        reply = await run_in_threadpool(self.core.handle, req)
        response = respond(reply)
        if new_nonce:
            self._cookie(response, request, NONCE_COOKIE, nonce, None)
        if session is not None and (renewed := session.renewed(self.session_s)) is not None:
            self._session_cookie(response, request, renewed, principal)
        return response

    def _visitor(self, request: StarletteRequest) -> tuple[Principal, Session | None]:
        if not self.auth:
            return DEV_PRINCIPAL, None
        cookie = request.cookies.get(cookie_name(SESSION_COOKIE, request.headers.get("host")))
        principal, session = signed_in(self.tokens, cookie)
        self.limiter.check(f"dashboard:{principal.token_id}")
        return principal, session

    def _request(
        self, request: StarletteRequest, path: str, form: dict[str, list[str]], principal: Principal, csrf: str
    ) -> Request:
        return Request(
            method=request.method,
            path=path,
            query=dict(request.query_params),
            form=form,
            principal=principal,
            csrf=csrf,
            site=self.site(request),
            cross_site=cross_site(request.headers),
        )

    def _session_cookie(self, response: Response, request: StarletteRequest, s: Session, p: Principal) -> None:
        self._cookie(
            response, request, SESSION_COOKIE, s.cookie_value(p.token_id), max(0, int(s.expires - time.time()))
        )

    # -- sign-in and sign-out -------------------------------------------------------------

    async def sign_in_page(self, request: StarletteRequest) -> Response:
        target = _safe_next(request.query_params.get("next"))
        if not self.auth:
            return respond(redirect(self.site(request).url(target)))
        return self._sign_in_form(request, target, None, 200)

    def _sign_in_form(self, request: StarletteRequest, target: str, error: str | None, status: int) -> Response:
        nonce, new = self._nonce(request)
        reply = self.core.sign_in_page(
            self.site(request), self.forms.token(nonce, ""), next_path=target, error=error, status=status
        )
        response = respond(reply)
        if new:
            self._cookie(response, request, NONCE_COOKIE, nonce, None)
        return response

    async def sign_in(self, request: StarletteRequest) -> Response:
        """A valid API token opens a session; the form carries the sign-in page's own
        CSRF token, so another site can't sign a browser in to an account of its own."""
        site = self.site(request)
        form = await read_form(request)
        target = _safe_next((form.get("next") or [""])[0])
        nonce, _ = self._nonce(request)
        presented = (form.get(CSRF_FIELD) or [""])[0]
        if cross_site(request.headers) or not same(presented, self.forms.token(nonce, "")):
            return self._sign_in_form(request, target, "The sign-in form had expired. Try again.", 403)
        token = (form.get("token") or [""])[0].strip()
        try:
            principal = await run_in_threadpool(self.tokens.authenticate, token)
        except AuthenticationFailed:
            log.info("dashboard: sign-in refused (unknown or revoked token)")
            return self._sign_in_form(request, target, "That token is unknown or revoked.", 401)
        except OffloadError as exc:
            log.warning("dashboard: sign-in failed: %s", exc)
            return self._sign_in_form(request, target, "The job store is not answering. Try again.", 503)
        response = respond(redirect(site.url(target)))
        self._session_cookie(response, request, open_session(token, self.session_s), principal)
        log.info("dashboard: %s signed in", principal.user)
        return response

    async def sign_out(self, request: StarletteRequest) -> Response:
        site = self.site(request)
        form = await read_form(request)
        try:
            principal, session = await run_in_threadpool(self._visitor, request)
        except AuthenticationFailed:
            return respond(redirect(site.url("/sign-in")))
        if session is None:
            return respond(redirect(site.url("/")))
        if cross_site(request.headers) or not same((form.get(CSRF_FIELD) or [""])[0], session.csrf(principal.token_id)):
            return respond(
                self.core.error(
                    self._request(request, "/sign-out", form, principal, ""),
                    403,
                    "This form has expired. Reload the page and try again.",
                )
            )
        response = respond(redirect(site.url("/sign-in", {"signed_out": 1})))
        self._cookie(response, request, SESSION_COOKIE, "", 0)
        log.info("dashboard: %s signed out", principal.user)
        return response


def _next(path: str, request: StarletteRequest) -> str:
    query = request.url.query
    return path + ("?" + query if query else "")


def _safe_next(value: str | None) -> str:
    """Where to go after signing in, below the dashboard's prefix: a path of this
    dashboard only (never another site)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/sign-")):
        return "/"
    if "\\" in value or not value.isprintable() or len(value) > 2000:
        return "/"
    return value
