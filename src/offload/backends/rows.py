"""Rows to records and records to statement parameters, shared by every SQL store.
Each store selects its columns in the orders named here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .. import serialization
from ..errors import InvalidRequest
from ..records import (
    Event,
    FinishedCount,
    JobRecord,
    JobStatus,
    RunRecord,
    ScheduleRecord,
    TaskStats,
    TokenRecord,
    WorkerInfo,
)

T = TypeVar("T")

JOB_COLUMNS = (
    "id, task, queue, status, priority, owner, args, kwargs, attempts, max_attempts,"
    " created_at, run_at, timeout, backoff, unique_key, result, error, traceback,"
    " progress_current, progress_total, message, messages, started_at, completed_at,"
    " worker_id, lease_token, lease_expires_at, cancel_requested"
)
SCHEDULE_COLUMNS = (
    "id, task, args, kwargs, cron, interval, timezone, paused, next_run_at, last_run_at,"
    " queue, priority, owner, created_at, fingerprint"
)
# A finished run (RunRecord): a job's columns, or an archived run's (job_id AS id)
RUN_COLUMNS = "id, task, queue, owner, status, started_at, completed_at, attempts, error"
ARCHIVED_RUN_COLUMNS = "job_id, task, queue, owner, status, started_at, completed_at, attempts, error"
TOKEN_COLUMNS = "id, user, hash, admin, created_at, revoked_at"
EVENT_COLUMNS = "seq, job_id, type, data, at, owner"
WORKER_COLUMNS = "id, host, pid, queues, concurrency, started_at, heartbeat_at, running, tasks, stuck"
STATS_COLUMNS = "task, succeeded, failed, cancelled, total_duration, last_run_at, last_status"


_STATUS = {str(s): s for s in JobStatus}


def by_position(cls: type[T]) -> Callable[..., T]:
    """A function that builds a frozen slotted dataclass from all its fields, in order.
    The dataclass's own __init__ sets each field with ``object.__setattr__(self, name,
    value)``, a look-up by name per field; this one calls each slot's setter directly.
    The record is the same and stays frozen. It builds the records made by the
    thousand (a claim's jobs, a worker's outcomes), where the drain gains from it end
    to end (docs/performance.md, "Why the code is written as it is")."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    params = ", ".join(f"v{i}" for i in range(len(names)))
    body = "".join(f"    set{i}(o, v{i})\n" for i in range(len(names)))
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    scope.update({f"set{i}": getattr(cls, name).__set__ for i, name in enumerate(names)})
    exec(f"def build({params}):\n    o = new(cls)\n{body}    return o\n", scope)  # noqa: S102 - code made here, from field names
    build: Callable[..., T] = scope["build"]
    return build


_new_job_record = by_position(JobRecord)


def job_record(row: Sequence[Any]) -> JobRecord:
    """A row in the order of JOB_COLUMNS, which is JobRecord's field order: built by
    position (see by_position), with the status looked up in a dict; a claim builds
    one per job, a status GET one per request."""
    result, messages = row[15], row[21]
    return _new_job_record(
        row[0], row[1], row[2], _STATUS[row[3]], row[4], row[5],
        serialization.loads(row[6]), serialization.loads(row[7]),
        row[8], row[9], row[10], row[11], row[12], row[13], row[14],
        None if result is None else serialization.loads(result),
        row[16], row[17], row[18], row[19], row[20],
        [] if messages is None else serialization.loads(messages) or [],
        row[22], row[23], row[24], row[25], row[26], bool(row[27]),
    )  # fmt: skip


def schedule_record(row: Sequence[Any]) -> ScheduleRecord:
    """A row in the order of SCHEDULE_COLUMNS."""
    return ScheduleRecord(
        id=row[0],
        task=row[1],
        args=serialization.loads(row[2]),
        kwargs=serialization.loads(row[3]),
        cron=row[4],
        interval=row[5],
        timezone=row[6],
        paused=bool(row[7]),
        next_run_at=row[8],
        last_run_at=row[9],
        queue=row[10],
        priority=row[11],
        owner=row[12],
        created_at=row[13],
        fingerprint=row[14],
    )


def schedule_params(record: ScheduleRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "task": record.task,
        "args": serialization.dumps(record.args),
        "kwargs": serialization.dumps(record.kwargs),
        "cron": record.cron,
        "interval": record.interval,
        "timezone": record.timezone,
        "paused": record.paused,
        "next_run_at": record.next_run_at,
        "last_run_at": record.last_run_at,
        "queue": record.queue,
        "priority": record.priority,
        "owner": record.owner,
        "created_at": record.created_at,
        "fingerprint": record.fingerprint,
    }


def token_record(row: Sequence[Any]) -> TokenRecord:
    """A row in the order of TOKEN_COLUMNS."""
    return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


def qualified(columns: str, alias: str) -> str:
    """A column list as above, each name prefixed with ``alias.``."""
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


_TOKEN_WIDTH = len(TOKEN_COLUMNS.split(","))


def token_and_job(row: Sequence[Any]) -> tuple[TokenRecord | None, JobRecord | None]:
    """A row of a store's TOKEN_AND_JOB_GET: the token's columns, then the job's, NULL
    where nothing matched."""
    token = None if row[0] is None else token_record(row[:_TOKEN_WIDTH])
    job = None if row[_TOKEN_WIDTH] is None else job_record(row[_TOKEN_WIDTH:])
    return token, job


def event_record(row: Sequence[Any]) -> Event:
    """A row in the order of EVENT_COLUMNS."""
    return Event(row[0], row[1], row[2], serialization.loads(row[3]), row[4], row[5])


def worker_record(row: Sequence[Any]) -> WorkerInfo:
    """A row in the order of WORKER_COLUMNS."""
    loads = serialization.loads
    tasks = None if row[8] is None else loads(row[8])
    return WorkerInfo(
        row[0], row[1], row[2], loads(row[3]), row[4], row[5], row[6], loads(row[7]), tasks, loads(row[9])
    )


def worker_params(info: WorkerInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "host": info.host,
        "pid": info.pid,
        "queues": serialization.dumps(info.queues),
        "concurrency": info.concurrency,
        "started_at": info.started_at,
        "heartbeat_at": info.heartbeat_at,
        "running": serialization.dumps(info.running),
        "tasks": None if info.tasks is None else serialization.dumps(info.tasks),
        "stuck": serialization.dumps(info.stuck),
    }


def stats_record(row: Sequence[Any]) -> TaskStats:
    """A row in the order of STATS_COLUMNS."""
    return TaskStats(row[0], int(row[1]), int(row[2]), int(row[3]), row[4], row[5], row[6])


def run_record(row: Sequence[Any]) -> RunRecord:
    """A row in the order of RUN_COLUMNS."""
    return RunRecord(row[0], row[1], row[2], row[3], _STATUS[row[4]], row[5], row[6], row[7], row[8])


def bucket_length(bucket_s: float) -> float:
    """A job_finished_counts bucket length, checked: a positive, finite number of seconds."""
    if not 0 < bucket_s < float("inf"):
        raise InvalidRequest("bucket_s", f"must be a positive number of seconds, got {bucket_s!r}")
    return float(bucket_s)


def finished_count(row: Sequence[Any], bucket_s: float) -> FinishedCount:
    """(bucket number, status, count) -> FinishedCount."""
    return FinishedCount(bucket=row[0] * bucket_s, status=JobStatus(row[1]), count=row[2])
