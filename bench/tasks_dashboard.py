"""Tasks of bench/dashboard.py. The store is OFFLOAD_URL."""

from __future__ import annotations

import time

import offload
from offload import JobContext

app = offload.App()


@app.task()
def noop(job: JobContext) -> None:
    return None


@app.task(queue="probe")
def probe(job: JobContext, n: int = 100, gap: float = 0.35) -> list[float]:
    """Progress i of n every `gap` seconds; returns when each call was made (epoch s)."""
    sent = []
    for i in range(1, n + 1):
        time.sleep(gap)
        sent.append(time.time())
        job.set_progress(i, n)
    return sent
