"""Timeouts: a sync run past its deadline is recorded timed out (Worker.time_out), and
its slot freed. Async runs time out on their own event loop (asyncio.wait_for)."""

from __future__ import annotations

import time

from ...settings import Settings
from .base import Held


class Timeouts:
    name = "timeouts"

    def __init__(self, held: Held, settings: Settings) -> None:
        self.held = held
        self.period = min(settings.progress_flush_s, 0.1)

    def run(self) -> None:
        now = time.monotonic()
        for run in self.held.runs():
            if run.deadline is not None and now >= run.deadline and not run.done:
                self.held.time_out(run)
