"""offload: background jobs for web apps, with progress you can watch.

import offload
jobs = offload.App("sqlite:///jobs.db")

@jobs.task(retries=3)
def scrape(job, shop: str) -> dict:
    job.set_progress(10, 100)
    return {"added": 3}

handle = scrape.enqueue("payback")
"""

from __future__ import annotations

from . import errors
from .app import App
from .context import JobContext
from .errors import JobCancelled, OffloadError
from .handle import JobHandle
from .records import JobRecord, JobStatus
from .retry import Retry
from .settings import Settings
from .task import Task
from .worker import Worker

__all__ = [
    "App",
    "JobCancelled",
    "JobContext",
    "JobHandle",
    "JobRecord",
    "JobStatus",
    "OffloadError",
    "Retry",
    "Settings",
    "Task",
    "Worker",
    "errors",
]
__version__ = "0.1.0"
