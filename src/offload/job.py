"""Job states, the one transition table, and the job record every layer shares."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    SCHEDULED = "scheduled"  # waits for its run_at (delay or run_at given at enqueue)
    QUEUED = "queued"  # ready; the next free worker slot claims it
    RUNNING = "running"  # claimed under a lease by one worker
    RETRYING = "retrying"  # an attempt failed; waits for its backoff, then runs again
    COMPLETED = "completed"  # the task returned; result stored
    FAILED = "failed"  # no attempts left, or an error that must not be retried: the dead set
    CANCELLED = "cancelled"  # cancelled before or while running


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
WAITING = frozenset({JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.RETRYING})
ACTIVE = WAITING | {JobStatus.RUNNING}

# Every move the store allows. A due scheduled or retrying job is claimed
# straight into running: the claim is the moment it became queued.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.SCHEDULED: frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset(
        {
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.RETRYING,
            JobStatus.CANCELLED,
            JobStatus.QUEUED,  # released on graceful shutdown, or recovered after a lost lease
        }
    ),
    JobStatus.RETRYING: frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),  # manual retry
    JobStatus.CANCELLED: frozenset({JobStatus.QUEUED}),  # manual retry
}


def new_job_id(now: float | None = None) -> str:
    """A 32-hex-digit id that sorts by creation time and can't be guessed."""
    ns = time.time_ns() if now is None else int(now * 1e9)
    return f"{ns:016x}{os.urandom(8).hex()}"


def job_ids(block: int = 32) -> Iterator[str]:
    """new_job_id for a batch: the same ids, their random halves drawn `block` at a time
    (a call to the system's random source costs more than building the id)."""
    while True:
        rand = os.urandom(8 * block).hex()
        for i in range(0, 16 * block, 16):
            yield f"{time.time_ns():016x}{rand[i : i + 16]}"


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job as the store holds it. Times are POSIX seconds (UTC)."""

    id: str
    task: str
    queue: str
    status: JobStatus
    priority: int
    owner: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    max_attempts: int
    created_at: float
    run_at: float
    timeout: float | None = None
    backoff: float | None = None
    unique_key: str | None = None
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    progress_current: float | None = None
    progress_total: float | None = None
    message: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    started_at: float | None = None
    completed_at: float | None = None
    worker_id: str | None = None
    lease_token: str | None = None
    lease_expires_at: float | None = None
    cancel_requested: bool = False

    @property
    def progress(self) -> float:
        """Percent done, 0-100."""
        if self.status == JobStatus.COMPLETED:
            return 100.0
        cur, tot = self.progress_current, self.progress_total
        if cur is None or not tot:
            return 0.0
        return round(max(0.0, min(100.0, 100.0 * cur / tot)), 2)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at if self.completed_at is not None else time.time()
        return round(end - self.started_at, 6)

    def to_dict(self, *, include_traceback: bool = False, waiting_reason: str | None = None) -> dict[str, Any]:
        """The job JSON of the HTTP API. ``waiting_reason``: why the job waits, when the
        caller knows (JobService.waiting_reason)."""
        error: dict[str, Any] | None = None
        if self.error is not None:
            error = {"message": self.error}
            if include_traceback and self.traceback:
                error["traceback"] = self.traceback
        return {
            "id": self.id,
            "task": self.task,
            "queue": self.queue,
            "status": str(self.status),
            "priority": self.priority,
            "owner": self.owner,
            "args": self.args,
            "kwargs": self.kwargs,
            "progress": self.progress,
            "progress_current": self.progress_current,
            "progress_total": self.progress_total,
            "message": self.message,
            "messages": [{"timestamp": iso(m["at"]), "message": m["message"]} for m in self.messages],
            "result": self.result,
            "error": error,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "created_at": iso(self.created_at),
            "run_at": iso(self.run_at),
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "duration": self.duration,
            "waiting_reason": waiting_reason,
        }
