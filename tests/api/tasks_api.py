"""Tasks the API tests run in a separate worker process. The store is OFFLOAD_URL."""

from __future__ import annotations

import time
from typing import Any

import offload
from offload import JobContext

app = offload.App()


@app.task()
def add(job: JobContext, a: int, b: int) -> int:
    return a + b


@app.task()
def steps(job: JobContext, n: int = 5, pause: float = 0.3) -> dict[str, Any]:
    """Reports progress and a message per step, slowly enough to be watched live."""
    for i in range(1, n + 1):
        time.sleep(pause)
        job.set_progress(i, n)
        job.add_message(f"step {i}/{n}")
    return {"steps": n}


@app.task(retries=0)
def boom(job: JobContext, reason: str = "kaboom") -> None:
    raise RuntimeError(reason)


@app.task()
def echo(job: JobContext, value: Any = None) -> Any:
    return value


@app.task(queue="parked")
def parked(job: JobContext, n: int = 0) -> int:
    """In a queue no test worker serves: its jobs stay queued."""
    return n


@app.task(timeout=0.5)
def deaf(job: JobContext, seconds: float = 30.0) -> str:
    """Sleeps in one call, deaf to its timeout: its thread is stuck once it timed out."""
    time.sleep(seconds)
    return "woke up"


@app.task(retries=0)
def tally(job: JobContext, ok: bool = True, pause: float = 0.0) -> bool:
    """Counted by the monitoring tests (no other test runs it): succeeds or fails on demand."""
    time.sleep(pause)
    if not ok:
        raise ValueError("tally told to fail")
    return ok
