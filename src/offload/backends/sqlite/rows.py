"""Rows to records and records to statement parameters."""

from __future__ import annotations

from typing import Any

from ... import serialization
from ...records import NewJob, Progress


def progress_params(p: Progress | None) -> dict[str, Any]:
    if p is None:
        return {"current": None, "total": None, "message": None, "messages": None}
    return {
        "current": p.current,
        "total": p.total,
        "message": p.message,
        "messages": None if p.messages is None else serialization.dumps(p.messages),
    }


# Where insert_params puts what the store reads back from a row
ID, STATUS, OWNER = 0, 3, 5
# The columns of insert_params that are often None for a whole batch (owner, timeout,
# backoff, unique_key, idempotency_key): see writes.insert_rows
NULLABLE = (OWNER, 9, 10, 11, 12)


def insert_params(job: NewJob, now: float) -> tuple[Any, ...]:
    """The parameters of one job in queries.job_insert, in its column order."""
    run_at = now if job.run_at is None or job.run_at <= now else job.run_at
    return (
        job.id,
        job.task,
        job.queue,
        "queued" if run_at <= now else "scheduled",
        job.priority,
        job.owner,
        job.args_json,
        job.kwargs_json,
        job.max_attempts,
        job.timeout,
        job.backoff,
        job.unique_key,
        job.idempotency_key,
        now,
        run_at,
    )
