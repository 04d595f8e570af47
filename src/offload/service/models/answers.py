"""What the HTTP API answers, as models: the OpenAPI document describes every answer
from these, and the API tests hold every real answer to its model. The answers
themselves are built as plain JSON by the service layer (the hot paths stay plain
dicts); these models say what that JSON is. An answer with a field its model doesn't
name is a mistake, so every model forbids unknown fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from ...records import JobStatus
from ...stats import HISTORY

Time = Annotated[datetime, Meta(description="ISO 8601, UTC")]


class Answer(Struct, forbid_unknown_fields=True):
    """The base of every answer's model."""


class ErrorDetail(Answer):
    code: Annotated[str, Meta(description="e.g. bad_request, invalid_field, not_found; see docs/http.md")]
    message: Annotated[str, Meta(description="what was wrong, naming the field or value")]


class Error(Answer):
    """Every error answer."""

    error: ErrorDetail


# -- jobs ---------------------------------------------------------------------------------


class JobMessage(Answer):
    timestamp: Time | None
    message: str


class JobError(Answer):
    message: str
    traceback: Annotated[str | UnsetType, Meta(description="admins only")] = UNSET


class Job(Answer):
    """A job."""

    id: str
    task: str
    queue: str
    status: JobStatus
    priority: int
    owner: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    progress: Annotated[float, Meta(ge=0, le=100)]
    progress_current: float | None
    progress_total: float | None
    message: Annotated[str | None, Meta(description="the latest message")]
    messages: list[JobMessage]
    result: Annotated[Any, Meta(description="the task's JSON result once completed")]
    error: JobError | None
    attempts: int
    max_attempts: int
    created_at: Time
    run_at: Time | None
    started_at: Time | None
    completed_at: Time | None
    duration: Annotated[float | None, Meta(description="seconds")]
    waiting_reason: Annotated[
        str | None,
        Meta(description="why a waiting job can't be claimed now (no live worker serves its task), else null"),
    ]


class JobPage(Answer):
    """Jobs you may see, the newest first."""

    jobs: list[Job]
    next_cursor: Annotated[str | None, Meta(description="the cursor of the next page; null on the last")]


class Accepted(Answer):
    """A job was enqueued (or, with an Idempotency-Key or unique_key, found)."""

    job_id: str
    status: JobStatus


class JobDeleted(Answer):
    job_id: str
    deleted: bool


# -- queues, workers, health -----------------------------------------------------------------


class Queue(Answer):
    name: str
    paused: bool
    counts: Annotated[dict[str, int], Meta(description="jobs by state, every owner's")]
    total: int


class QueueList(Answer):
    queues: list[Queue]


class QueuePaused(Answer):
    name: str
    paused: bool


class Worker(Answer):
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    running: Annotated[list[str], Meta(description="ids of running jobs you may see")]
    running_count: int
    stuck: Annotated[
        list[str], Meta(description="ids of jobs you may see that timed out while their threads still run")
    ]
    stuck_count: int
    tasks: Annotated[list[str] | None, Meta(description="the tasks it claims; null: any (a worker that records none)")]
    started_at: Time | None
    last_heartbeat: Time | None


class WorkerList(Answer):
    workers: list[Worker]


class StoreHealth(Answer):
    engine: str
    ok: Annotated[bool, Meta(description="the store answers")]
    writable: Annotated[bool | UnsetType, Meta(description="a write committed")] = UNSET
    error: Annotated[str | UnsetType, Meta(description="why not ok or not writable")] = UNSET


class WorkersHealth(Answer):
    alive: int
    slots: int


class InProcessWorker(Answer):
    slots: int
    running: int
    stuck: int
    alive: bool


class Health(Answer):
    """The store's and the workers' state."""

    status: Annotated[
        Literal["ok", "degraded", "unavailable"],
        Meta(description="degraded: the store answers reads, but a write failed or took over the budget"),
    ]
    backend: StoreHealth
    workers: WorkersHealth | UnsetType = UNSET
    unserved_tasks: Annotated[
        list[str] | UnsetType, Meta(description="tasks with waiting jobs that no live worker serves")
    ] = UNSET
    in_process_worker: Annotated[
        InProcessWorker | UnsetType, Meta(description="offload serve --workers N: its worker")
    ] = UNSET


# -- schedules -----------------------------------------------------------------------------


class Schedule(Answer):
    """A schedule, by the id you gave it."""

    id: str
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    cron: str | None
    interval: Annotated[float | None, Meta(description="seconds")]
    timezone: str
    paused: bool
    next_run_at: Time | None
    last_run_at: Time | None
    queue: Annotated[str | None, Meta(description="null: the task's queue")]
    priority: Annotated[int | None, Meta(description="null: the task's priority")]
    owner: Annotated[str | None, Meta(description="the user whose jobs it fires")]


class ScheduleList(Answer):
    schedules: list[Schedule]


class ScheduleDeleted(Answer):
    id: str
    deleted: bool


# -- statistics ----------------------------------------------------------------------------


class TaskStats(Answer):
    task: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    total_duration: Annotated[float, Meta(description="seconds, over every run counted")]
    avg_duration: float | None
    p95_duration: Annotated[float | None, Meta(description=f"over the last {HISTORY} runs")]
    last_run_at: Time | None
    last_status: str | None


class TaskStatsList(Answer):
    tasks: list[TaskStats]


class TaskRun(Answer):
    job_id: str
    status: JobStatus
    started_at: Time | None
    completed_at: Time | None
    duration: float | None
    attempts: int
    error: str | None


class TaskHistory(Answer):
    """A task's finished runs, the newest first."""

    task: str
    runs: list[TaskRun]


class Failure(Answer):
    job_id: str
    task: str
    queue: str
    error: str | None
    attempts: int
    failed_at: Time | None
    owner: str | None


class FailureList(Answer):
    failures: list[Failure]
