"""Claiming ahead: while a worker's runs are short, it holds a few more jobs than it
has slots, so that the next jobs already wait in the pool's queue while the loop writes
the last outcomes and claims again. Without them the pool idles through every turn:
for jobs of a few tens of microseconds the turn is most of the time.

How many: a job claimed ahead waits for a slot of its own. With ``concurrency`` slots
that each free up every ``run_s`` seconds on average, the k-th job in line waits about
``k * run_s / concurrency``. Claiming ``concurrency * wait_s / run_s`` ahead keeps that
wait under ``wait_s`` (the ``claim_ahead_s`` setting, 1 ms), and never more than
``PER_SLOT`` jobs per slot. Jobs of 100 ms or more are never claimed ahead of a free slot.
"""

from __future__ import annotations

from collections.abc import Iterable

SMOOTHING = 0.2  # weight of the newest run in the running mean of run times

# At most this many jobs ahead per slot. More ahead means bigger turns (a turn writes
# the outcomes of all that ran meanwhile and claims as many), and a store's statement
# costs less a job the more jobs it carries; past four, less again
# (docs/performance.md, "Claiming ahead").
PER_SLOT = 4


class ClaimAhead:
    def __init__(self, concurrency: int, wait_s: float) -> None:
        self.concurrency = concurrency
        self.wait_s = wait_s
        self.run_s: float | None = None  # smoothed time a run takes; None before the first
        self.extra = 0  # jobs to hold beyond the slots
        self._waited_s = 0.0  # a job claimed ahead waited this long (set from another thread)

    def waited(self, seconds: float) -> None:
        """A job claimed ahead waited ``seconds`` for a slot: claim none ahead until runs
        show they are short again."""
        self.extra = 0
        self._waited_s = max(self._waited_s, seconds)

    def ran(self, durations: Iterable[float]) -> None:
        """Take in how long the runs of the last turn took, from start to outcome (on the
        worker's loop)."""
        run_s = self.run_s
        if self._waited_s:
            run_s, self._waited_s = max(run_s or 0.0, self._waited_s), 0.0
        for d in durations:
            run_s = d if run_s is None else run_s + SMOOTHING * (d - run_s)
        self.run_s = run_s
        if run_s is None or self.wait_s <= 0:
            self.extra = 0
        else:
            self.extra = min(PER_SLOT * self.concurrency, int(self.concurrency * self.wait_s / max(run_s, 1e-9)))
