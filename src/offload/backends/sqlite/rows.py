"""Rows to records and records to statement parameters."""

from __future__ import annotations

from typing import Any

from ... import serialization
from ..base import NewJob, Progress


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
