"""A task with encrypt=True for the API encryption tests, run by a separate worker
process. The store is OFFLOAD_URL; the keys are OFFLOAD_ENCRYPTION_KEYS."""

from __future__ import annotations

import time

import offload
from offload import JobContext

app = offload.App()


@app.task(encrypt=True)
def vault(job: JobContext, account: str, master_key: str) -> dict[str, str]:
    return {"account": account, "token": f"token-for-{master_key}"}


@app.task(encrypt=True)
def hold(job: JobContext, master_key: str, seconds: float = 10.0) -> None:
    """Runs until cancelled (or for ``seconds``): a job that stays running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.check_cancelled()
        time.sleep(0.02)
