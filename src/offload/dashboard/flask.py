"""The dashboard inside a Flask app, behind the app's own login: a Blueprint whose
one view hands every page, action and stream below its prefix to the dashboard,
rendered with the package's own Jinja2 environment (not Flask's).

Flask is WSGI: the live updates are blocking SSE streams (service.streams.PollingStream)
that read the store's event log a few times a second (one worker thread each, so serve
it threaded)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, request

from ..app import App
from ..errors import ConfigurationError, JobNotFound, OffloadError
from ..service import Principal, event_cursor
from ..service.sse import KEEPALIVE_S, MEDIA_TYPE, SSE_HEADERS, sse_body_sync
from ..service.streams import PollingStream
from .core import Dashboard
from .http import Reply, Request, Site, redirect
from .sessions import NONCE_COOKIE, FormSigner

JOB_STREAM = re.compile(r"^jobs/([^/]+)/events$")


def _respond(reply: Reply) -> Response:
    return Response(reply.body, status=reply.status, headers=reply.headers)


class _View:
    def __init__(
        self,
        app: App,
        current_user: Callable[[], Any],
        is_admin: Callable[[], Any] | None,
        login_url: str | None,
        secret_key: str | bytes | None,
        title: str,
    ) -> None:
        self.core = Dashboard(app, title=title)
        self.current_user = current_user
        self.is_admin = is_admin
        self.login_url = login_url
        self.secret_key = secret_key

    def principal(self) -> Principal | None:
        user = self.current_user()
        return None if not user else Principal(str(user), bool(self.is_admin and self.is_admin()))

    def site(self, path: str) -> Site:
        rest = "/" + path
        full = request.path
        prefix = request.script_root + (full[: len(full) - len(rest)] if full.endswith(rest) else full.rstrip("/"))
        return Site(root=prefix, events=f"{prefix}/events", job_events=f"{prefix}/jobs/{{id}}/events")

    def __call__(self, path: str = "") -> Response:
        site = self.site(path)
        p = self.principal()
        if p is None:
            if self.login_url:
                return _respond(redirect(self.login_url))
            return _respond(self.core.error_bare(site, 401, "Sign in to the app first."))
        if request.method == "GET" and (path == "events" or JOB_STREAM.match(path)):
            return self.stream(site, p, path)
        secret = self.secret_key or current_app.secret_key
        if not secret:
            raise ConfigurationError("the offload dashboard signs its forms with the Flask app's secret_key: set one")
        nonce = request.cookies.get(NONCE_COOKIE)
        fresh = not FormSigner.plausible(nonce) or nonce is None
        nonce = FormSigner.nonce() if fresh or nonce is None else nonce
        req = Request(
            method=request.method,
            path="/" + path,
            query=request.args.to_dict(),
            form=request.form.to_dict(flat=False),
            principal=p,
            csrf=FormSigner(secret).token(nonce, p.user),
            site=site,
            cross_site=request.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"),
        )
        response = _respond(self.core.handle(req))
        if fresh:
            response.set_cookie(
                NONCE_COOKIE, nonce, path=site.root or "/", secure=request.is_secure, httponly=True, samesite="Strict"
            )
        return response

    def stream(self, site: Site, p: Principal, path: str) -> Response:
        m = JOB_STREAM.match(path)
        try:
            resume = event_cursor(request.headers.get("Last-Event-ID") or request.args.get("last_event_id"))
            jobs = self.core.jobs
            stream = PollingStream.job(jobs, p, m.group(1), resume) if m else PollingStream.every(jobs, p, resume)
            stream.open()  # a missing job: a 404 before the stream starts
        except JobNotFound:
            return _respond(self.core.error_bare(site, 404, "No such job."))
        except OffloadError as exc:
            return Response(str(exc), status=400)
        return Response(sse_body_sync(stream, KEEPALIVE_S), mimetype=MEDIA_TYPE, headers=SSE_HEADERS)


def dashboard_blueprint(
    app: App,
    current_user: Callable[[], Any],
    *,
    is_admin: Callable[[], Any] | None = None,
    login_url: str | None = None,
    secret_key: str | bytes | None = None,
    name: str = "offload_dashboard",
    title: str = "offload",
) -> Blueprint:
    """The dashboard for the user ``current_user()`` names (None: not signed in: a
    redirect to ``login_url``, else a 401 page); ``is_admin()`` True sees every job.
    The forms' CSRF tokens are signed with ``secret_key`` (default: the Flask app's)."""
    view = _View(app, current_user, is_admin, login_url, secret_key, title)
    bp = Blueprint(name, __name__)
    bp.add_url_rule("/", "page", view, methods=["GET", "POST"], defaults={"path": ""})
    bp.add_url_rule("/<path:path>", "page", view, methods=["GET", "POST"])
    return bp
