"""What every duty is (``Duty``), what it sees of its worker (``Held``), and the two
threads that serve the duties (``Housekeeping``): heartbeats have one of their own, so
that a long prune or a slow progress write never delays them past the lease; every
other duty shares the second. A duty whose store call fails is tried again at its next
period; the store failing is logged when it starts and when the duty works again, not
at every period."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from ...errors import OffloadError

if TYPE_CHECKING:
    from ..ahead import ClaimAhead
    from ..executor import Run

log = logging.getLogger("offload.worker.duties")  # one name for every duty's failures


class Duty(Protocol):
    name: str
    period: float  # seconds between runs

    def run(self) -> None: ...


class Held(Protocol):
    """The worker as its duties see it: the runs it holds, and what a duty may do to them."""

    id: str
    queues: list[str]
    concurrency: int
    ahead: ClaimAhead
    out_of_touch_at: float  # monotonic time a store call last failed, or a heartbeat was late

    def runs(self) -> list[Run]: ...

    def stuck(self) -> list[str]: ...

    def served(self) -> list[str]: ...

    def lost_touch(self) -> None: ...

    def lease_lost(self, run: Run) -> None: ...

    def cancel_run(self, run: Run) -> None: ...

    def time_out(self, run: Run) -> None: ...

    def start_again(self, run: Run) -> None: ...

    def forget(self, runs: list[Run]) -> None: ...

    def request_stop(self, grace: float | None = None) -> None: ...


class Every:
    """Runs a duty when its period has passed since its last run."""

    def __init__(self, duty: Duty, on_store_error: Callable[[], None]) -> None:
        self.duty, self.on_store_error = duty, on_store_error
        self.next = 0.0
        self.failing = False

    def tick(self, now: float) -> None:
        if now < self.next:
            return
        self.next = now + self.duty.period
        name = self.duty.name
        try:
            self.duty.run()
        except OffloadError as exc:  # the store is down: try again next period
            self.on_store_error()
            log.log(logging.DEBUG if self.failing else logging.WARNING, "worker %s failed: %s", name, exc)
            self.failing = True
        except Exception:
            log.exception("worker %s failed", name)
        else:
            if self.failing:
                log.info("worker %s works again", name)
                self.failing = False


class Housekeeping:
    """The two threads that serve a worker's duties. ``parent``: the supervisor's pid; a
    worker whose supervisor disappeared stops."""

    def __init__(self, held: Held, beats: Sequence[Duty], duties: Sequence[Duty], *, parent: int | None = None) -> None:
        self.held = held
        self.parent = parent
        self.beats = [Every(d, held.lost_touch) for d in beats]
        self.duties = [Every(d, held.lost_touch) for d in duties]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve, args=(self.beats,), name="offload-heartbeat", daemon=True),
            threading.Thread(target=self._serve, args=(self.duties,), name="offload-services", daemon=True),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.is_alive() and threading.current_thread() is not t:
                t.join(timeout=10)

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads) or self._stop.is_set()

    def _serve(self, duties: list[Every]) -> None:
        tick = min(d.duty.period for d in duties)
        while not self._stop.is_set():
            now = time.monotonic()
            for duty in duties:
                duty.tick(now)
            if duties is self.duties and self.parent is not None and os.getppid() != self.parent:
                log.warning("worker %s: supervisor is gone, stopping", self.held.id)
                self.held.request_stop()
                self.parent = None
            self._stop.wait(tick)
