"""What both integrations share: a blocking SSE stream of one job (polling the event
log, for servers without the API's event hub) and the browser client's files."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import JobNotFound
from ..records import TERMINAL
from ..service import JobService, Principal
from ..service.client import STATIC, client_file
from ..service.views import event_json, state_json
from ..web.events import Item
from ..web.streams import sse_frame

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


def _state(service: JobService, principal: Principal, job_id: str, seen: int) -> Item:
    record, seq = service.snapshot(principal, job_id, seen)
    payload = state_json(record, seq, include_traceback=principal.admin)
    return Item(seq, "state", payload, record.status in TERMINAL)


def _final_state(service: JobService, principal: Principal, job_id: str, seq: int) -> bytes | None:
    try:
        return sse_frame(_state(service, principal, job_id, seq))
    except JobNotFound:  # deleted right after it ended
        return None


def follow_job(
    service: JobService,
    principal: Principal,
    job_id: str,
    resume: int | None,
    *,
    interval: float = 0.25,
    keepalive: float = 15.0,
) -> Iterator[bytes]:
    """SSE frames of one job, as ``GET /api/jobs/{id}/events`` sends them. Call
    ``service.get`` first, so that a missing job is a 404 before the stream starts."""
    yield b"retry: 1000\n\n"
    if resume is None:
        first = _state(service, principal, job_id, service.latest_seq())
        yield sse_frame(first)
        if first.final:
            return
        after = first.seq
    else:
        after = resume
    quiet_since = time.monotonic()
    while True:
        try:
            events, last = service.events(principal, after=after, job_id=job_id)
        except JobNotFound:
            return
        for event in events:
            yield sse_frame(Item(event.seq, event.type, event_json(event)))
            if event.type == "status" and event.data.get("status") in TERMINAL:
                final = _final_state(service, principal, job_id, event.seq)
                if final is not None:
                    yield final
                return
        after = last
        if events:
            quiet_since = time.monotonic()
        elif resume is not None and service.get(principal, job_id).status in TERMINAL:
            yield sse_frame(_state(service, principal, job_id, after))  # resumed after the end
            return
        elif time.monotonic() - quiet_since >= keepalive:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        time.sleep(interval)
