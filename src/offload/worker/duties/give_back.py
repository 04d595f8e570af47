"""Give-back: jobs claimed ahead (see ahead.py) that still wait for a slot after
GIVE_BACK_S, because every slot is busy with long runs, go back to their queue for any
worker, and the worker claims nothing ahead until its runs are short again."""

from __future__ import annotations

import logging
import time

from ...backends.base import Backend
from ...errors import OffloadError
from .base import Held

log = logging.getLogger(__name__)

GIVE_BACK_S = 0.1


class GiveBack:
    name = "give-back"

    def __init__(self, held: Held, store: Backend) -> None:
        self.held, self.store = held, store
        self.period = GIVE_BACK_S

    def run(self) -> None:
        w, now = self.held, time.monotonic()
        waiting = []
        for run in w.runs():
            with run.lock:
                if run.done or run.begun or now - run.started < GIVE_BACK_S:
                    continue
                run.done = True  # a slot that gets to it now passes it by
            waiting.append(run)
        if not waiting:
            return
        w.ahead.waited(now - min(run.started for run in waiting))
        try:
            released = self.store.job_release([run.lease for run in waiting])
        except OffloadError:
            for run in waiting:  # still held: run them when a slot frees up
                w.start_again(run)
            raise
        w.forget(waiting)
        log.info("worker %s: gave back %d job(s) claimed ahead; its slots are busy", w.id, len(released))
