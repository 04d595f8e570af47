"""Rows to records and records to statement parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import serialization
from ...job import JobRecord, JobStatus
from ...schedule import ScheduleRecord
from ..base import NewJob, Progress, TokenRecord


def record(row: Sequence[Any]) -> JobRecord:
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


def schedule(row: Sequence[Any]) -> ScheduleRecord:
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


def token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


def progress_params(p: Progress | None) -> dict[str, Any]:
    if p is None:
        return {"current": None, "total": None, "message": None, "messages": None}
    return {
        "current": p.current,
        "total": p.total,
        "message": p.message,
        "messages": None if p.messages is None else serialization.dumps(p.messages),
    }


def insert_params(job: NewJob, now: float) -> dict[str, Any]:
    run_at = now if job.run_at is None or job.run_at <= now else job.run_at
    return {
        "id": job.id,
        "task": job.task,
        "queue": job.queue,
        "status": "queued" if run_at <= now else "scheduled",
        "priority": job.priority,
        "owner": job.owner,
        "args": job.args_json,
        "kwargs": job.kwargs_json,
        "max_attempts": job.max_attempts,
        "timeout": job.timeout,
        "backoff": job.backoff,
        "unique_key": job.unique_key,
        "idempotency_key": job.idempotency_key,
        "now": now,
        "run_at": run_at,
    }
