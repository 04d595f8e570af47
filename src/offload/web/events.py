"""Live events: one EventHub per API process reads new events from the store every
~100 ms and fans them out to the streams (SSE, WebSocket) open in this process.

A stream starts from a position (an event seq): a client's ``Last-Event-ID``, or the
seq a snapshot of its job was paired with. Events between that position and the hub's
cursor are read from the store (catch-up); later ones arrive from the hub. Each
stream hands out events in seq order, each once, so events never go backwards.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from ..errors import JobNotFound, OffloadError
from ..records import TERMINAL, Event
from ..service import JobService, Principal
from ..service.views import event_json, state_json

log = logging.getLogger(__name__)

PAGE = 500
MAX_QUEUED = 10_000  # a stream this far behind is closed; the client resumes by id


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a stream sends: an event, or the job's whole state (type "state")."""

    seq: int
    type: str
    payload: dict[str, Any]
    final: bool = False  # the stream ends after this one


class StreamClosed(Exception):
    """The hub stopped, or the stream fell too far behind."""


class Subscription:
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
            self.cursor = await to_thread.run_sync(self.service.latest_seq)
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
            batch = await to_thread.run_sync(self._page, self.cursor, None)
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
                batch = await to_thread.run_sync(self._page, position, job_id)
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


class JobStream:
    """One job: its state first (unless resuming), then its events; ends after the
    final state. ``resume``: the seq of the last event the client has."""

    def __init__(self, hub: EventHub, principal: Principal, job_id: str, resume: int | None) -> None:
        self.hub = hub
        self.principal = principal
        self.job_id = job_id
        self.resume = resume
        self.sub: Subscription | None = None
        self.pending: collections.deque[Item] = collections.deque()
        self.finished = False
        self._ended_at_start = False

    async def open(self) -> None:
        """Check access (JobNotFound before anything is sent) and position the stream."""
        service = self.hub.service
        if self.resume is None:
            record, seq = await to_thread.run_sync(service.snapshot, self.principal, self.job_id, self.hub.cursor)
            self.pending.append(self._state(record, seq))
            after = seq
        else:
            record = await to_thread.run_sync(service.get, self.principal, self.job_id)
            after = self.resume
            self._ended_at_start = record.status in TERMINAL
        if not self.finished:
            self.sub = await self.hub.subscribe(lambda e: e.job_id == self.job_id, after=after, job_id=self.job_id)

    def _state(self, record: Any, seq: int) -> Item:
        final = record.status in TERMINAL
        self.finished = self.finished or final
        return Item(seq, "state", state_json(record, seq, include_traceback=self.principal.admin), final)

    async def next(self, timeout: float) -> Item | None:
        if self.pending:
            return self.pending.popleft()
        if self.finished or self.sub is None:
            raise StreamClosed()
        if self._ended_at_start and not self.sub.backlog:
            # resumed after the end and the final event is already behind the client
            record = await to_thread.run_sync(self.hub.service.get, self.principal, self.job_id)
            return self._state(record, max(self.sub.last, self.resume or 0))
        event = await self.sub.next(timeout)
        if event is None:
            await self._check_exists()
            return None
        if event.type == "status" and event.data.get("status") in TERMINAL:
            # the end: the job's whole final state (result, last progress) closes the stream
            try:
                record, seq = await to_thread.run_sync(
                    self.hub.service.snapshot, self.principal, self.job_id, event.seq
                )
                self.pending.append(self._state(record, seq))
            except JobNotFound:  # deleted right after it ended
                self.finished = True
        return Item(event.seq, event.type, event_json(event))

    async def _check_exists(self) -> None:
        try:
            await to_thread.run_sync(self.hub.service.get, self.principal, self.job_id)
        except JobNotFound:
            self.finished = True
            raise StreamClosed() from None

    def close(self) -> None:
        if self.sub is not None:
            self.hub.unsubscribe(self.sub)


class AllStream:
    """Every event the principal may see, from ``resume`` (or from now)."""

    def __init__(self, hub: EventHub, principal: Principal, resume: int | None) -> None:
        self.hub = hub
        self.principal = principal
        self.resume = resume
        self.sub: Subscription | None = None
        self.finished = False

    async def open(self) -> None:
        after = self.hub.cursor if self.resume is None else self.resume
        self.sub = await self.hub.subscribe(self.principal.may_see_event, after=after)

    async def next(self, timeout: float) -> Item | None:
        assert self.sub is not None
        event = await self.sub.next(timeout)
        if event is None:
            return None
        return Item(event.seq, event.type, event_json(event))

    def close(self) -> None:
        if self.sub is not None:
            self.hub.unsubscribe(self.sub)
