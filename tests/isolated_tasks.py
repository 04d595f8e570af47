"""Tasks the isolation tests run with ``isolation="process"``: plain functions at the top
of a module, so that a fresh interpreter finds them again by module and name. Those the
history checker follows write to the ledger named by ``E2E_LEDGER``."""

from __future__ import annotations

import os
import time
from typing import Any

from offload import JobContext, Retry
from tests.support.ledger import ledgered


def report(job: JobContext, steps: int, pause: float = 0.0) -> dict[str, Any]:
    with ledgered(job):
        for i in range(1, steps + 1):
            job.set_progress(i, steps)
            job.add_message(f"step {i} of {steps}")
            time.sleep(pause)
        return {"steps": steps, "pid": os.getpid()}


def spin_forever(job: JobContext) -> None:
    job.add_message(f"spinning in {os.getpid()}")
    x = 0
    while True:
        x += 1


def until_cancelled(job: JobContext) -> dict[str, Any]:
    with ledgered(job) as run:
        job.add_message("waiting for a cancel")
        while not job.cancel_requested:
            time.sleep(0.01)
        run.outcome = "stopped"
        return {"stopped_in": os.getpid()}


def legacy(prompt: str, progress_callback: Any = None) -> str:
    for frame in range(1, 100_000):
        progress_callback(frame / 1000, f"frame {frame}")
        time.sleep(0.01)
    return prompt


def flaky(job: JobContext) -> int:
    with ledgered(job):
        if job.attempt < 2:
            raise Retry(delay=0, reason="the model server is warming up")
        return job.attempt


def broken(job: JobContext, row: int) -> None:
    raise ValueError(f"bad row {row}")


def not_json(job: JobContext) -> set[int]:
    return {1, 2}


def exit_hard(job: JobContext, code: int) -> None:
    os._exit(code)


def unlock(job: JobContext, master_key: str) -> dict[str, Any]:
    """An encrypted job: its argument reaches the child in the clear, never the store."""
    return {"key_length": len(master_key), "pid": os.getpid()}
