"""Tasks the browser tests run in a separate worker process. The store is OFFLOAD_URL."""

from __future__ import annotations

import os
import time
from typing import Any

import offload
from offload import JobContext

app = offload.App()


@app.task()
def steps(job: JobContext, n: int = 5, pause: float = 0.3) -> dict[str, Any]:
    """Progress and a message per step, slowly enough to be watched."""
    for i in range(1, n + 1):
        job.check_cancelled()
        time.sleep(pause)
        job.set_progress(i, n)
        job.add_message(f"step {i}/{n}")
    return {"steps": n}


@app.task(retries=0)
def fails_until(job: JobContext, path: str) -> str:
    """Fails while the file is missing: a retry after the test made it succeeds."""
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing")
    return "found"


@app.task(retries=0)
def hostile(job: JobContext, payload: str) -> None:
    """Puts ``payload`` everywhere a page shows job data: arguments, message, error."""
    job.add_message(payload)
    job.set_progress(1, 2)
    raise RuntimeError(payload)


@app.task(queue="parked")
def parked(job: JobContext, n: int = 0) -> int:
    """In a queue no test worker serves: its jobs stay queued."""
    return n


@app.task(retries=0)
def quick(job: JobContext, ok: bool = True) -> bool:
    if not ok:
        raise ValueError("quick was told to fail")
    return ok
