"""Rows to records and records to parameters, for the PostgreSQL store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import serialization
from ...job import JobRecord, JobStatus
from ..base import Event, NewJob, Outcome, Progress, PruneRule, TokenRecord, WorkerInfo


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
