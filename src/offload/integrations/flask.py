"""offload's job endpoints in a Flask app that has its own logins.

    from offload.integrations.flask import offload_blueprint
    flask_app.register_blueprint(
        offload_blueprint(jobs, current_user=lambda: session.get("user"), is_admin=lambda: False),
        url_prefix="/offload",
    )

The dashboard mounts the same way, behind the same login (its admins see every job):

    flask_app.register_blueprint(
        dashboard_blueprint(jobs, current_user=lambda: session.get("user"), is_admin=lambda: ...),
        url_prefix="/admin/jobs",
    )

Routes (relative to the prefix): ``POST /jobs``, ``GET /jobs``, ``GET /jobs/<id>``,
``POST /jobs/<id>/cancel``, ``POST /jobs/<id>/retry``, ``DELETE /jobs/<id>``,
``GET /jobs/<id>/events`` (SSE), and the browser client: ``GET /offload.js``,
``/offload.mjs`` (the ES module), ``/offload.d.ts`` and ``/offload.d.mts`` (its types).
Bodies, answers and errors are those of the HTTP API; a user sees only the jobs they
submitted here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson
from flask import Blueprint, Response, request

from ..app import App
from ..dashboard.flask import dashboard_blueprint
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
from ..service.limits import read_json_sync
from ..service.sse import MEDIA_TYPE, SSE_HEADERS
from ..service.views import job_json
from .common import CLIENT_ROUTES, follow_job

__all__ = ["dashboard_blueprint", "offload_blueprint"]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, headers=headers, mimetype="application/json")


def _answers(fn: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except OffloadError as exc:
            status, body, headers = describe(exc)
            return _json(body, status, headers)

    return wrapper


class _Views:
    def __init__(
        self, app: App, current_user: Callable[[], str | None], is_admin: Callable[[], bool] | None, limit: int
    ) -> None:
        self.service = JobService(app)
        self.current_user = current_user
        self.is_admin = is_admin
        self.limit = limit

    def principal(self) -> Principal:
        user = self.current_user()
        if not user:
            raise AuthenticationFailed("log in first")
        return Principal(str(user), bool(self.is_admin and self.is_admin()))

    def body_json(self) -> Any:
        content_type = request.headers.get("Content-Type")
        return read_json_sync(request.stream, self.limit, content_type, declared=request.content_length)

    @_answers
    def submit(self) -> Response:
        p = self.principal()
        key = idempotency_key(request.headers.get("Idempotency-Key"))
        done = self.service.submit(p, SubmitRequest.from_json(self.body_json()), idempotency_key=key)
        location = f"{request.path.rstrip('/')}/{done.job_id}"
        return _json({"job_id": done.job_id, "status": done.status}, 202, {"Location": location})

    @_answers
    def list_jobs(self) -> Response:
        p = self.principal()
        page = self.service.list_jobs(p, ListQuery.from_params(request.args))
        jobs = [job_json(r, include_traceback=p.admin) for r in page.jobs]
        return _json({"jobs": jobs, "next_cursor": page.next_cursor})

    @_answers
    def get_job(self, job_id: str) -> Response:
        p = self.principal()
        record = self.service.get(p, job_id)
        return _json(job_json(record, include_traceback=p.admin, waiting_reason=self.service.waiting_reason(record)))

    @_answers
    def cancel(self, job_id: str) -> Response:
        p = self.principal()
        return _json(job_json(self.service.cancel(p, job_id), include_traceback=p.admin))

    @_answers
    def retry(self, job_id: str) -> Response:
        p = self.principal()
        return _json(job_json(self.service.retry(p, job_id), include_traceback=p.admin))

    @_answers
    def delete(self, job_id: str) -> Response:
        self.service.delete(self.principal(), job_id)
        return _json({"job_id": job_id, "deleted": True})

    @_answers
    def events(self, job_id: str) -> Response:
        p = self.principal()
        resume = event_cursor(request.headers.get("Last-Event-ID") or request.args.get("last_event_id"))
        frames = follow_job(self.service, p, job_id, resume)  # a missing job: a 404 before any frame
        return Response(frames, mimetype=MEDIA_TYPE, headers=SSE_HEADERS)

    def client(self, name: str) -> Response:
        text, kind = client_file(name)
        return Response(text, content_type=kind)


def offload_blueprint(
    app: App,
    current_user: Callable[[], str | None],
    *,
    is_admin: Callable[[], bool] | None = None,
    name: str = "offload",
    max_body: int | None = None,
) -> Blueprint:
    """A Blueprint serving ``app``'s jobs to the user ``current_user()`` names (None:
    401). ``is_admin()`` True lets that user see and act on every job."""
    views = _Views(app, current_user, is_admin, max_body or app.settings.max_payload + 64 * 1024)
    bp = Blueprint(name, __name__)
    bp.add_url_rule("/jobs", "submit", views.submit, methods=["POST"])
    bp.add_url_rule("/jobs", "list_jobs", views.list_jobs, methods=["GET"])
    bp.add_url_rule("/jobs/<job_id>", "get_job", views.get_job, methods=["GET"])
    bp.add_url_rule("/jobs/<job_id>", "delete", views.delete, methods=["DELETE"])
    bp.add_url_rule("/jobs/<job_id>/cancel", "cancel", views.cancel, methods=["POST"])
    bp.add_url_rule("/jobs/<job_id>/retry", "retry", views.retry, methods=["POST"])
    bp.add_url_rule("/jobs/<job_id>/events", "events", views.events, methods=["GET"])
    for path, endpoint in CLIENT_ROUTES:
        bp.add_url_rule(f"/{path}", endpoint, functools.partial(views.client, path), methods=["GET"])
    return bp
