"""Every event a principal may see, as blocking SSE frames: the all-events stream for
servers without the API's event hub (Flask). It reads the store's event log every
``interval`` seconds, as integrations.common.follow_job does for one job."""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..service import JobService, Principal
from ..service.views import event_json
from ..web.events import Item
from ..web.streams import sse_frame


def follow_events(
    service: JobService,
    principal: Principal,
    resume: int | None,
    *,
    interval: float = 0.25,
    keepalive: float = 15.0,
) -> Iterator[bytes]:
    """SSE frames as ``GET /api/events`` sends them, from ``resume`` (an event seq) or
    from now; runs until the client goes away."""
    yield b"retry: 1000\n\n"
    after = service.latest_seq() if resume is None else resume
    quiet_since = time.monotonic()
    while True:
        events, last = service.events(principal, after=after)
        for event in events:
            yield sse_frame(Item(event.seq, event.type, event_json(event)))
        if events:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= keepalive:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        if last == after:  # caught up: wait for more
            time.sleep(interval)
        after = last
