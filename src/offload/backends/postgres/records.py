"""Rows to records and records to parameters, for the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import serialization
from ...job import JobRecord, JobStatus
from ...schedule import ScheduleRecord
from ..base import Event, NewJob, Outcome, Progress, PruneRule, TaskStats, TokenRecord, WorkerInfo


def job_record(row: Sequence[Any]) -> JobRecord:
    """A row in the order of queries.JOB_COLUMNS."""
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


def event(row: Sequence[Any]) -> Event:
    return Event(row[0], row[1], row[2], serialization.loads(row[3]), row[4], row[5])


def worker_info(row: Sequence[Any]) -> WorkerInfo:
    return WorkerInfo(
        row[0], row[1], row[2], serialization.loads(row[3]), row[4], row[5], row[6], serialization.loads(row[7])
    )


def schedule(row: Sequence[Any]) -> ScheduleRecord:
    """A row in the order of queries.SCHEDULE_COLUMNS."""
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


def task_stats(row: Sequence[Any]) -> TaskStats:
    return TaskStats(row[0], int(row[1]), int(row[2]), int(row[3]), row[4], row[5], row[6])


class StatsBatch:
    """Adds up the finished runs of one transaction per task, so that each task's
    counters are written once (queries.STATS_ADD)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, task: str, status: str, duration: float | None) -> None:
        if status not in ("completed", "failed", "cancelled"):
            return
        row = self.rows.setdefault(task, {"succeeded": 0, "failed": 0, "cancelled": 0, "duration": 0.0})
        row["succeeded" if status == "completed" else status] += 1
        if status != "cancelled" and duration is not None:
            row["duration"] += duration
        row["last_status"] = status

    def params(self, now: float | None) -> dict[str, Any] | None:
        """Parallel arrays for STATS_ADD, or None when nothing finished."""
        if not self.rows:
            return None
        tasks = sorted(self.rows)
        return {
            "tasks": tasks,
            "succeeded": [self.rows[t]["succeeded"] for t in tasks],
            "failed": [self.rows[t]["failed"] for t in tasks],
            "cancelled": [self.rows[t]["cancelled"] for t in tasks],
            "durations": [self.rows[t]["duration"] for t in tasks],
            "last_status": [self.rows[t]["last_status"] for t in tasks],
            "now": now,
        }


def token(row: Sequence[Any]) -> TokenRecord:
    return TokenRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


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


def insert_params(job: NewJob, now: float | None) -> dict[str, Any]:
    return {
        "id": job.id,
        "task": job.task,
        "queue": job.queue,
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
        "run_at": job.run_at,
    }


def progress_params(p: Progress | None) -> dict[str, Any]:
    """The job columns a progress write sets, and its events as parallel arrays: one
    ``progress`` event (dated ``now``) and one ``message`` event per new message."""
    if p is None:
        return {
            "current": None,
            "total": None,
            "message": None,
            "messages": None,
            "ev_types": [],
            "ev_data": [],
            "ev_at": [],
        }
    data = {"current": p.current, "total": p.total, "message": p.message}
    types, payloads, ats = ["progress"], [serialization.dumps(data)], [None]
    for m in p.new_messages:
        types.append("message")
        payloads.append(serialization.dumps(m))
        ats.append(m["at"])
    return {
        "current": p.current,
        "total": p.total,
        "message": p.message,
        "messages": None if p.messages is None else serialization.dumps(p.messages),
        "ev_types": types,
        "ev_data": payloads,
        "ev_at": ats,
    }


def outcome_params(o: Outcome, now: float | None) -> dict[str, Any]:
    return {
        "id": o.job_id,
        "token": o.token,
        "status": str(o.status),
        "result": o.result_json,
        "error": o.error,
        "traceback": o.traceback,
        "run_at": o.run_at,
        "now": now,
        **progress_params(o.progress),
    }


def prune_where(rule: PruneRule) -> tuple[str, dict[str, Any]]:
    """The conditions of a retention rule: fixed SQL, values as parameters."""
    where = "status = %(status)s"
    params: dict[str, Any] = {"status": str(rule.status), "before": rule.before}
    if rule.task is not None:
        where += " AND task = %(task)s"
        params["task"] = rule.task
    if rule.exclude_tasks:
        where += " AND task <> ALL(%(exclude)s::text[])"
        params["exclude"] = list(rule.exclude_tasks)
    return where, params
