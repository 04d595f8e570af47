"""What both integrations share: the browser client's files they serve beside their
job routes, and ``follow_job``, one job's SSE frames for a blocking server."""

from __future__ import annotations

from collections.abc import Iterator

from ..service import JobService, Principal
from ..service.client import STATIC, client_file
from ..service.sse import KEEPALIVE_S, sse_body_sync
from ..service.streams import PollingStream

JS_PATH = STATIC / "offload.js"

# The browser client's files the integrations serve beside their job routes, and the
# names of those routes (Flask endpoints, FastAPI route names).
CLIENT_ROUTES = (
    ("offload.js", "javascript"),
    ("offload.mjs", "javascript_module"),
    ("offload.d.ts", "types"),
    ("offload.d.mts", "module_types"),
)


def static_js() -> str:
    """offload.js, the classic script."""
    return client_file("offload.js")[0]


def follow_job(
    service: JobService,
    principal: Principal,
    job_id: str,
    resume: int | None,
    *,
    interval: float = 0.25,
    keepalive: float = KEEPALIVE_S,
) -> Iterator[bytes]:
    """SSE frames of one job, as ``GET /api/jobs/{id}/events`` sends them, read by
    polling the store (service.streams.PollingStream). A job the principal may not see
    is JobNotFound here, before any frame."""
    stream = PollingStream.job(service, principal, job_id, resume, interval=interval)
    stream.open()
    return sse_body_sync(stream, keepalive)
