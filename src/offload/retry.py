"""Retries: the explicit Retry request and the backoff schedule."""

from __future__ import annotations

import random


class Retry(Exception):  # noqa: N818 - a request, not an error
    """Raise inside a task to run it again later: ``raise offload.Retry(delay=30)``.

    Counts as an attempt; when none are left the job fails with ``reason``.
    ``delay`` None uses the task's exponential backoff.
    """

    def __init__(self, delay: float | None = None, reason: str = "retry requested") -> None:
        if delay is not None and delay < 0:
            raise ValueError(f"Retry delay must be >= 0, got {delay!r}")
        self.delay = delay
        self.reason = reason
        super().__init__(reason)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based):
    ``base * 2**(attempt-1)``, capped, with jitter in [50 %, 100 %] so that jobs that
    failed together don't come back together."""
    if base <= 0:
        return 0.0
    ceiling = min(cap, base * float(2 ** max(0, min(attempt - 1, 60))))
    jitter: float = (rng or random).random()
    return ceiling * (0.5 + 0.5 * jitter)
