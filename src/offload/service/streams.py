"""Following jobs live: one job's stream (its state, its events in order, its final
state, then the end) and the stream of every event a caller may see, written once and
carried by two drivers.

The logic (``follow_job``, ``follow_all``) does no I/O: it is a generator that yields
either an ``Item`` to send or a request for what it needs next (``Snapshot``,
``Lookup``, ``Listen``, ``NextEvent``), and is sent back the answer (or has the
request's error thrown in). A driver answers the requests:

* ``HubStream``, on an event loop: events come from the process's EventHub
  (hub.py), store reads run in worker threads. ``offload serve`` (SSE and WebSocket),
  the FastAPI router and the dashboard under Starlette or FastAPI use it.
* ``PollingStream``, blocking: it reads the store's event log every ``interval``
  seconds. The Flask blueprint and the dashboard under Flask use it.

Either way ``open()`` checks access and positions the stream before anything is sent
(a missing job is a 404, not a broken stream), and ``next(timeout)`` hands out the
next item, None when nothing came within ``timeout`` (time for a keep-alive), or
raises StreamClosed at the end.

What a job's stream sends: without ``Last-Event-ID``, the job's whole state first,
paired with the seq of the newest event it reflects, then every later event; with it,
the events after it. After the job's final status event comes its final state (result,
last progress), and the stream ends. A client that resumes after the end gets the
events it missed, then the final state. A job deleted while followed ends its stream.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import JobNotFound, StreamClosed
from ..records import TERMINAL, Event, JobRecord
from .hub import EventHub, Subscription
from .jobs import JobService
from .principal import Principal
from .views import event_json, state_json


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a stream sends: an event, or the job's whole state (type "state")."""

    seq: int
    type: str
    payload: dict[str, Any]
    final: bool = False  # the stream ends after this one


class Stream(Protocol):
    """A stream read on an event loop."""

    async def next(self, timeout: float) -> Item | None: ...

    def close(self) -> None: ...


class BlockingStream(Protocol):
    """A stream read in a thread of its own."""

    def next(self, timeout: float) -> Item | None: ...

    def close(self) -> None: ...


# -- what the logic asks of its driver ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The job as it stands and the seq of the newest event it reflects
    (JobService.snapshot), from ``seen`` on (None: the driver's newest position)."""

    job_id: str
    seen: int | None


@dataclass(frozen=True, slots=True)
class Lookup:
    """The job (JobService.get); JobNotFound when it is gone or not the caller's."""

    job_id: str


@dataclass(frozen=True, slots=True)
class Listen:
    """From now on, the events after seq ``after`` (None: from now) of one job
    (``job_id``), or every event the caller may see (None)."""

    after: int | None
    job_id: str | None


@dataclass(frozen=True, slots=True)
class NextEvent:
    """The next event, or None: when none came within the keep-alive (``wait``), or
    none is at hand right now (not ``wait``)."""

    wait: bool = True


class Idle:
    """Yielded by the logic when nothing happened within the keep-alive."""


IDLE = Idle()

Step = Item | Idle | Snapshot | Lookup | Listen | NextEvent
# Sent back: what the request asked for (a record, a record and a seq, an event or None).
Logic = Generator[Step, Any, None]


def event_item(event: Event) -> Item:
    return Item(event.seq, event.type, event_json(event))


def state_item(record: JobRecord, seq: int, *, admin: bool) -> Item:
    """The job's whole state at ``seq``; final when the job has ended."""
    return Item(seq, "state", state_json(record, seq, include_traceback=admin), record.status in TERMINAL)


def follow_job(job_id: str, resume: int | None, *, admin: bool) -> Logic:
    """One job's stream. ``resume``: the seq of the last event the client has (its
    Last-Event-ID), or None for a new stream; ``admin``: tracebacks are shown."""
    ended = False
    if resume is None:
        record, after = yield Snapshot(job_id, None)
        first = state_item(record, after, admin=admin)
        yield first
        if first.final:
            return
    else:
        record = yield Lookup(job_id)
        after = resume
        ended = record.status in TERMINAL
    yield Listen(after, job_id)
    last = after
    while True:
        event: Event | None = yield NextEvent(wait=not ended)
        if event is None:
            try:
                record = yield Lookup(job_id)
            except JobNotFound:  # deleted while followed
                return
            if ended:  # resumed after the end, and the events it missed are sent
                yield state_item(record, last, admin=admin)
                return
            yield IDLE
            continue
        last = event.seq
        yield event_item(event)
        if event.type == "status" and event.data.get("status") in TERMINAL:
            try:
                record, seq = yield Snapshot(job_id, event.seq)
            except JobNotFound:  # deleted right after it ended
                return
            yield state_item(record, seq, admin=admin)
            return


def follow_all(resume: int | None) -> Logic:
    """Every event the caller may see, after ``resume`` (None: from now on); it never
    ends by itself."""
    yield Listen(resume, None)
    while True:
        event: Event | None = yield NextEvent()
        yield IDLE if event is None else event_item(event)


# -- the drivers ------------------------------------------------------------------------


class _Driver:
    """What both drivers share: stepping the logic, and the items it sends."""

    def __init__(self, principal: Principal, logic: Logic) -> None:
        self.principal = principal
        self.logic = logic
        self.step: Step | None = None  # what the logic waits on; None: it ended
        self.pending: collections.deque[Item] = collections.deque()

    def _send(self, reply: Any) -> None:
        try:
            self.step = self.logic.send(reply)
        except StopIteration:
            self.step = None

    def _throw(self, exc: BaseException) -> None:
        try:
            self.step = self.logic.throw(exc)
        except StopIteration:
            self.step = None

    def _opened(self) -> bool:
        """Step past the items the logic sends before it waits for its first event
        (they wait in ``pending``); False when it needs something else first."""
        while isinstance(self.step, Item):
            self.pending.append(self.step)
            self._send(None)
        return self.step is None or isinstance(self.step, NextEvent)

    def _ready(self) -> Item | Idle | None:
        """The next item or keep-alive if the logic has one at hand (stepping past
        it), else None: the logic waits for a request to be answered."""
        if self.pending:
            return self.pending.popleft()
        step = self.step
        if step is None:
            raise StreamClosed()
        if isinstance(step, Item | Idle):
            self._send(None)
            return step
        return None

    def accepts(self, job_id: str | None) -> Callable[[Event], bool]:
        if job_id is None:
            return self.principal.may_see_event
        return lambda e: e.job_id == job_id  # the job's access was checked as the stream opened

    def close(self) -> None:
        self.logic.close()


class HubStream(_Driver):
    """A stream on an event loop: events from the hub, store reads in worker threads."""

    def __init__(self, hub: EventHub, principal: Principal, logic: Logic) -> None:
        super().__init__(principal, logic)
        self.hub = hub
        self.sub: Subscription | None = None

    @classmethod
    def job(cls, hub: EventHub, principal: Principal, job_id: str, resume: int | None) -> HubStream:
        return cls(hub, principal, follow_job(job_id, resume, admin=principal.admin))

    @classmethod
    def every(cls, hub: EventHub, principal: Principal, resume: int | None) -> HubStream:
        return cls(hub, principal, follow_all(resume))

    async def open(self) -> None:
        """Check access (JobNotFound before anything is sent) and position the stream;
        closed again when that fails."""
        try:
            self._send(None)
            while not self._opened():
                self._send(await self._answer(self.step, 0.0))
        except BaseException:
            self.close()
            raise

    async def next(self, timeout: float) -> Item | None:
        while True:
            ready = self._ready()
            if ready is not None:
                return None if isinstance(ready, Idle) else ready
            try:
                reply = await self._answer(self.step, timeout)
            except JobNotFound as exc:
                self._throw(exc)
            else:
                self._send(reply)

    async def _answer(self, step: Step | None, timeout: float) -> Any:
        service = self.hub.service
        if isinstance(step, Snapshot):
            seen = self.hub.cursor if step.seen is None else step.seen
            return await asyncio.to_thread(service.snapshot, self.principal, step.job_id, seen)
        if isinstance(step, Lookup):
            return await asyncio.to_thread(service.get, self.principal, step.job_id)
        if isinstance(step, Listen):
            after = self.hub.cursor if step.after is None else step.after
            self.sub = await self.hub.subscribe(self.accepts(step.job_id), after=after, job_id=step.job_id)
            return None
        assert isinstance(step, NextEvent) and self.sub is not None
        return await self.sub.next(timeout if step.wait else 0.0)

    def close(self) -> None:
        super().close()
        if self.sub is not None:
            self.hub.unsubscribe(self.sub)


class PollingStream(_Driver):
    """A blocking stream: it reads the store's event log every ``interval`` seconds
    while it waits for an event."""

    def __init__(self, service: JobService, principal: Principal, logic: Logic, *, interval: float = 0.25) -> None:
        super().__init__(principal, logic)
        self.service = service
        self.interval = interval
        self.position = 0  # the seq the event log was read up to
        self.job_id: str | None = None
        self.events: collections.deque[Event] = collections.deque()

    @classmethod
    def job(
        cls, service: JobService, principal: Principal, job_id: str, resume: int | None, *, interval: float = 0.25
    ) -> PollingStream:
        return cls(service, principal, follow_job(job_id, resume, admin=principal.admin), interval=interval)

    @classmethod
    def every(
        cls, service: JobService, principal: Principal, resume: int | None, *, interval: float = 0.25
    ) -> PollingStream:
        return cls(service, principal, follow_all(resume), interval=interval)

    def open(self) -> None:
        """Check access (JobNotFound before anything is sent) and position the stream;
        closed again when that fails."""
        try:
            self._send(None)
            while not self._opened():
                self._send(self._answer(self.step, 0.0))
        except BaseException:
            self.close()
            raise

    def next(self, timeout: float) -> Item | None:
        while True:
            ready = self._ready()
            if ready is not None:
                return None if isinstance(ready, Idle) else ready
            try:
                reply = self._answer(self.step, timeout)
            except JobNotFound as exc:
                self._throw(exc)
            else:
                self._send(reply)

    def _answer(self, step: Step | None, timeout: float) -> Any:
        if isinstance(step, Snapshot):
            seen = self.service.latest_seq() if step.seen is None else step.seen
            return self.service.snapshot(self.principal, step.job_id, seen)
        if isinstance(step, Lookup):
            return self.service.get(self.principal, step.job_id)
        if isinstance(step, Listen):
            self.position = self.service.latest_seq() if step.after is None else step.after
            self.job_id = step.job_id
            return None
        assert isinstance(step, NextEvent)
        return self._next_event(timeout if step.wait else 0.0)

    def _next_event(self, timeout: float) -> Event | None:
        deadline = time.monotonic() + timeout
        while not self.events:
            before = self.position
            found, self.position = self.service.events(self.principal, after=before, job_id=self.job_id)
            self.events.extend(found)
            if self.events:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.position == before:  # caught up: wait for more
                time.sleep(min(self.interval, left))
        return self.events.popleft()
