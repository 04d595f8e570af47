"""Rows to records and records to statement parameters, shared by every SQL store.
Each store selects its columns in the orders named here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import serialization
from ..job import JobRecord, JobStatus
from ..schedule import ScheduleRecord
from .base import Event, TaskStats, TokenRecord, WorkerInfo

JOB_COLUMNS = (
    "id, task, queue, status, priority, owner, args, kwargs, attempts, max_attempts,"
    " created_at, run_at, timeout, backoff, unique_key, result, error, traceback,"
    " progress_current, progress_total, message, messages, started_at, completed_at,"
    " worker_id, lease_token, lease_expires_at, cancel_requested"
)
SCHEDULE_COLUMNS = (
    "id, task, args, kwargs, cron, interval, timezone, paused, next_run_at, last_run_at,"
    " queue, priority, owner, created_at"
)
TOKEN_COLUMNS = "id, user, hash, admin, created_at, revoked_at"
EVENT_COLUMNS = "seq, job_id, type, data, at, owner"
WORKER_COLUMNS = "id, host, pid, queues, concurrency, started_at, heartbeat_at, running"
STATS_COLUMNS = "task, succeeded, failed, cancelled, total_duration, last_run_at, last_status"


def job_record(row: Sequence[Any]) -> JobRecord:
    """A row in the order of JOB_COLUMNS."""
    return JobRecord(
        id=row[0],
        task=row[1],
        queue=row[2],
        status=JobStatus(row[3]),
        priority=row[4],
        owner=row[5],
        args=serialization.loads(row[6]),
        kwargs=serialization.loads(row[7]),
        attempts=row[8],
        max_attempts=row[9],
        created_at=row[10],
        run_at=row[11],
        timeout=row[12],
        backoff=row[13],
        unique_key=row[14],
        result=serialization.loads(row[15]),
        error=row[16],
        traceback=row[17],
        progress_current=row[18],
        progress_total=row[19],
        message=row[20],
        messages=serialization.loads(row[21]) or [],
        started_at=row[22],
        completed_at=row[23],
        worker_id=row[24],
        lease_token=row[25],
        lease_expires_at=row[26],
        cancel_requested=bool(row[27]),
    )


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
    }


def token_record(row: Sequence[Any]) -> TokenRecord:
    """A row in the order of TOKEN_COLUMNS."""
    return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


def event_record(row: Sequence[Any]) -> Event:
    """A row in the order of EVENT_COLUMNS."""
    return Event(row[0], row[1], row[2], serialization.loads(row[3]), row[4], row[5])


def worker_record(row: Sequence[Any]) -> WorkerInfo:
    """A row in the order of WORKER_COLUMNS."""
    return WorkerInfo(
        row[0], row[1], row[2], serialization.loads(row[3]), row[4], row[5], row[6], serialization.loads(row[7])
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
    }


def stats_record(row: Sequence[Any]) -> TaskStats:
    """A row in the order of STATS_COLUMNS."""
    return TaskStats(row[0], int(row[1]), int(row[2]), int(row[3]), row[4], row[5], row[6])
