"""The records every layer shares: job states and the one transition table, the job
record, and what crosses the store protocol (new jobs, leases, progress, outcomes,
events, workers, schedules, statistics, tokens). Plain frozen data, no behaviour
beyond what a field derives; the store fills them in, the layers above read them
(their JSON is the service layer's: offload.service.views)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator, Sequence
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


def percent(current: float | None, total: float | None) -> float:
    """Percent done from a job's reported ``current`` of ``total``, 0-100, to two
    decimals; 0 while either is unknown. The one formula of every path that shows it
    (the job, its progress events, the dashboard, the CLI)."""
    if current is None or not total:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * current / total)), 2)


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
        """Percent done, 0-100: a completed job is done, whatever it last reported."""
        if self.status == JobStatus.COMPLETED:
            return 100.0
        return percent(self.progress_current, self.progress_total)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at if self.completed_at is not None else time.time()
        return round(end - self.started_at, 6)


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A persisted schedule. Times are POSIX seconds."""

    id: str
    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None
    interval: float | None = None  # seconds
    timezone: str = "UTC"
    paused: bool = False
    next_run_at: float | None = None
    last_run_at: float | None = None
    queue: str | None = None
    priority: int | None = None
    owner: str | None = None
    created_at: float = 0.0
    # Declared in code: the fingerprint of the declaration last applied (see
    # Schedules.sync_code); None for a schedule made at run time.
    fingerprint: str | None = None


def new_schedule_id() -> str:
    return secrets.token_hex(8)


# -- what crosses the store protocol ---------------------------------------------


# Not frozen, unlike the other records: a bulk enqueue builds one for every job, and a
# frozen dataclass sets each field through object.__setattr__ (docs/performance.md).
# Nothing changes one once built.
@dataclass(slots=True)
class NewJob:
    """A validated job, ready to be stored."""

    id: str
    task: str
    queue: str
    args_json: str
    kwargs_json: str
    priority: int = 0
    owner: str | None = None
    max_attempts: int = 1
    run_at: float | None = None  # None or <= now: queued at once; later: scheduled
    timeout: float | None = None
    backoff: float | None = None
    unique_key: str | None = None
    idempotency_key: str | None = None  # unique among all stored jobs, finished ones too


@dataclass(frozen=True, slots=True)
class Inserted:
    """What ``job_insert_many`` did with one NewJob."""

    id: str  # the new job's id, or the id of the job holding its idempotency_key / unique_key
    created: bool


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof that a worker holds a running job."""

    job_id: str
    token: str


@dataclass(frozen=True, slots=True)
class Progress:
    """A coalesced progress write from the worker that holds the job."""

    job_id: str
    token: str
    current: float | None
    total: float | None
    message: str | None
    messages: list[dict[str, Any]] | None = None  # the full list; None leaves it as is
    new_messages: Sequence[dict[str, Any]] = ()  # added since the last write: one event each


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one run ended, written by the worker that holds the job.

    ``status`` is COMPLETED, FAILED, RETRYING (``run_at`` says when to run again) or
    CANCELLED. The final progress is written in the same statement.
    """

    job_id: str
    token: str
    status: JobStatus
    result_json: str | None = None
    error: str | None = None
    traceback: str | None = None
    run_at: float | None = None
    progress: Progress | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    held: frozenset[str]  # leases extended; any other job was lost
    cancel_requested: frozenset[str]  # held jobs somebody asked to cancel


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: JobStatus | None = None
    queue: str | None = None
    task: str | None = None
    owner: str | None = None
    before_id: str | None = None  # cursor: only jobs with a smaller id (older)
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Event:
    """One change to a job, as other processes see it."""

    seq: int  # increasing per store; a cursor for readers
    job_id: str
    type: str  # "status" | "progress" | "message"
    data: dict[str, Any]
    at: float
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: float
    heartbeat_at: float
    running: list[str] = field(default_factory=list)
    tasks: list[str] | None = None  # the tasks it serves; None: not recorded (it claims any task)
    stuck: list[str] = field(default_factory=list)  # jobs that timed out, their threads still running


@dataclass(frozen=True, slots=True)
class FinishedCount:
    """How many jobs ended in one final status within one time bucket."""

    bucket: float  # the bucket's start, POSIX seconds: a multiple of the bucket's length
    status: JobStatus
    count: int


@dataclass(frozen=True, slots=True)
class TaskStats:
    """Counters of finished runs of one task. They survive pruning of the jobs."""

    task: str
    succeeded: int
    failed: int
    cancelled: int
    total_duration: float  # seconds, over the runs that completed or failed
    last_run_at: float | None
    last_status: str | None

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.cancelled


# Finished runs kept per task once their jobs are pruned or deleted (job_prune): the
# newest RUNS_KEPT, and besides them the newest RUNS_KEPT failures.
RUNS_KEPT = 1000


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A finished run as history and failures show it: a finished job still in the
    store, or the summary kept of one that was pruned or deleted."""

    id: str  # the job's
    task: str
    queue: str
    owner: str | None
    status: JobStatus
    started_at: float | None
    completed_at: float
    attempts: int
    error: str | None

    @property
    def duration(self) -> float | None:
        return None if self.started_at is None else round(self.completed_at - self.started_at, 6)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token. Only a hash of the secret is stored."""

    id: str
    user: str
    hash: str
    admin: bool
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class PruneRule:
    """Two limits on jobs in ``status`` (a final one; others are never pruned): delete
    those that ended before ``before``, and also those beyond the newest ``keep``.
    ``task`` None means every task not in ``exclude_tasks``."""

    status: JobStatus
    before: float
    keep: int | None = None
    task: str | None = None
    exclude_tasks: tuple[str, ...] = ()
