"""Live events on an event loop: one EventHub per process reads new events from the
store every ~100 ms and fans them out to the subscriptions of the streams (SSE,
WebSocket) open in this process (see streams.py).

A subscription starts from a position (an event seq): a client's ``Last-Event-ID``, or
the seq a snapshot of its job was paired with. Events between that position and the
hub's cursor are read from the store (catch-up); later ones arrive from the hub. Each
subscription hands out events in seq order, each once, so events never go backwards.

The store is read in worker threads (``asyncio.to_thread``): nothing here needs more
than asyncio, so any ASGI framework can carry it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import OffloadError, StreamClosed
from ..records import Event
from .jobs import JobService

log = logging.getLogger(__name__)

PAGE = 500
MAX_QUEUED = 10_000  # a stream this far behind is closed; the client resumes by id


class Subscription:
    """What one stream receives from the hub: the events ``accept`` lets through, after
    seq ``after``, in order, each once (the catch-up in ``backlog`` first)."""

    def __init__(self, accept: Callable[[Event], bool], after: int) -> None:
        self.accept = accept
        self.last = after  # seq of the last event handed out
        self.backlog: collections.deque[Event] = collections.deque()
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.accept(event) and not self.overflowed:
            if self.queue.qsize() >= MAX_QUEUED:
                self.overflowed = True
                self.queue.put_nowait(None)
            else:
                self.queue.put_nowait(event)

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def next(self, timeout: float) -> Event | None:
        """The next event after ``last``; None when none came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if self.backlog:
                event: Event | None = self.backlog.popleft()
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                try:
                    event = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    return None
                if event is None:
                    raise StreamClosed()
            assert event is not None
            if event.seq > self.last:
                self.last = event.seq
                return event


class EventHub:
    """Reads the store's event log and fans it out. ``start()`` in the app's lifespan."""

    def __init__(self, service: JobService, *, interval: float = 0.1) -> None:
        self.service = service
        self.interval = interval
        self.cursor = 0
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            self.cursor = await asyncio.to_thread(self.service.latest_seq)
        except OffloadError as exc:  # the store is down: start from 0 once it is back
            log.warning("event hub: can't read the event log yet (%s)", exc)
        self._task = asyncio.create_task(self._run(), name="offload-event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for sub in list(self._subs):
            sub.close()
        self._subs.clear()

    async def _run(self) -> None:
        pause = self.interval
        while True:
            try:
                await self._poll()
                pause = self.interval
            except OffloadError as exc:
                pause = min(5.0, pause * 2)
                log.warning("event hub: reading events failed (%s); retrying in %.1fs", exc, pause)
            await asyncio.sleep(pause)

    async def _poll(self) -> None:
        while True:
            batch = await asyncio.to_thread(self._page, self.cursor, None)
            for event in batch:  # no await in here: a new subscriber sees all or none of it
                for sub in self._subs:
                    sub.offer(event)
            if batch:
                self.cursor = batch[-1].seq
            if len(batch) < PAGE:
                return

    async def subscribe(
        self, accept: Callable[[Event], bool], *, after: int, job_id: str | None = None
    ) -> Subscription:
        """A subscription handing out accepted events with seq > ``after``."""
        sub = Subscription(accept, after)
        self._subs.add(sub)
        upto = self.cursor
        position = after
        try:
            while position < upto:
                batch = await asyncio.to_thread(self._page, position, job_id)
                sub.backlog.extend(e for e in batch if e.seq <= upto and accept(e))
                if len(batch) < PAGE:
                    break
                position = batch[-1].seq
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub

    def _page(self, after: int, job_id: str | None) -> list[Event]:
        return self.service.backend.event_list(after=after, job_id=job_id, limit=PAGE)

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)


class LazyHub:
    """An EventHub started by the first stream that needs it: for a host app's router
    (FastAPI), which has no start-up of its own to start one in. ``lifespan`` stops it
    with the host app, where the host runs its routers' lifespans."""

    def __init__(self, service: JobService, *, interval: float = 0.1) -> None:
        self.hub = EventHub(service, interval=interval)
        self.started = False
        self._lock: asyncio.Lock | None = None

    async def get(self) -> EventHub:
        if not self.started:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if not self.started:
                    await self.hub.start()
                    self.started = True
        return self.hub

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self.started:
                await self.hub.stop()
