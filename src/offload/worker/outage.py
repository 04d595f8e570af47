"""How a worker's loop fares with its store: while calls fail, it waits longer and longer
between tries (0.1 s, doubling, up to MAX_PAUSE_S), and it says so once when the store
starts failing and once when it works again, not at every try.

A failing store is one that doesn't answer (a PostgreSQL restart) or one that answers
but refuses writes (a SQLite file on a full disk): the backoff goes on until a whole
turn of the loop succeeds, not merely until a probe is answered.
"""

from __future__ import annotations

import logging
import time

from ..errors import OffloadError

log = logging.getLogger(__name__)

MIN_PAUSE_S = 0.1
MAX_PAUSE_S = 10.0


class Outage:
    def __init__(self, name: str) -> None:
        self.name = name
        self.pause = 0.0  # seconds to wait before the next try; 0: the store works
        self.since: float | None = None  # monotonic start of the outage
        self.probed = False  # the store answered a probe since the last failure: try a turn

    @property
    def failing(self) -> bool:
        return self.pause > 0

    def failed(self, exc: OffloadError) -> None:
        """A turn failed."""
        if not self.failing:
            self.since = time.monotonic()
            log.warning("worker %s: the store is failing (%s); retrying with backoff", self.name, exc)
        self._grow()
        log.debug("worker %s: the store still fails (%s); next try in %.1fs", self.name, exc, self.pause)

    def probe_answered(self, ok: bool) -> None:
        """A probe between tries (``ping``): answered, try a turn; else wait longer."""
        if ok:
            self.probed = True
        else:
            self._grow()

    def succeeded(self) -> None:
        """A turn went through."""
        if self.failing and self.since is not None:
            log.info("worker %s: the store works again (it failed for %.1fs)", self.name, self.failing_for())
        self.pause, self.since, self.probed = 0.0, None, False

    def failing_for(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since

    def _grow(self) -> None:
        self.pause = min(MAX_PAUSE_S, max(MIN_PAUSE_S, self.pause * 2))
        self.probed = False
