"""Rows to records and records to statement parameters, for the SQLite store (those every
SQL store shares are in ../rows.py)."""

from __future__ import annotations

import time
from typing import Any

from ... import serialization
from ...records import NewJob, Outcome, Progress, PruneRule


def clock(now: float | None) -> float:
    """The time a statement is given: the caller's ``now``, else this machine's clock (a
    file has no server to ask; PostgreSQL's statements read the server's)."""
    return time.time() if now is None else now


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
# backoff, unique_key, idempotency_key): see batches.insert_rows
NULLABLE = (OWNER, 9, 10, 11, 12)

# What the status event of a new job says, by its status
NEW_EVENT = {status: f'{{"status":"{status}","attempts":0}}' for status in ("queued", "scheduled")}


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


def finish_row(o: Outcome) -> tuple[Any, ...]:
    """An outcome's parameters in the order of queries.job_finish."""
    head = (o.job_id, o.token, str(o.status), o.result_json, o.error, o.traceback, o.run_at)
    if o.progress is None:
        return (*head, None, None, None, None)
    p = progress_params(o.progress)
    return (*head, p["current"], p["total"], p["message"], p["messages"])


def progress_event_rows(p: Progress, owner: str | None, now: float) -> list[tuple[Any, ...]]:
    """(job id, type, data, at, owner): the new messages, oldest first, then one
    "progress" event with the latest state."""
    events: list[tuple[Any, ...]] = [
        (p.job_id, "message", serialization.dumps(m), m["at"], owner) for m in p.new_messages
    ]
    data = {"current": p.current, "total": p.total, "message": p.message}
    events.append((p.job_id, "progress", serialization.dumps(data), now, owner))
    return events


class StatsBatch:
    """Adds up finished runs per task so a batch updates each task's counters once
    (catalog_queries.STATS_ADD)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, task: str, status: str, duration: float | None) -> None:
        if status not in ("completed", "failed", "cancelled"):
            return
        row = self.rows.setdefault(
            task, {"task": task, "succeeded": 0, "failed": 0, "cancelled": 0, "duration": 0.0, "now": self.now}
        )
        row["succeeded" if status == "completed" else status] += 1
        if status != "cancelled" and duration is not None:
            row["duration"] += duration
        row["last_status"] = status

    def params(self) -> list[dict[str, Any]] | None:
        """One parameter set per task for STATS_ADD, or None when nothing finished."""
        return list(self.rows.values()) if self.rows else None


def prune_where(rule: PruneRule, batch: int) -> tuple[str, str, dict[str, Any]]:
    """Where a retention rule's batch reads (queries.PRUNE_*'s {source}), its conditions
    ({where}: fixed SQL, values as parameters) and the parameters."""
    where = "status = :status"
    params: dict[str, Any] = {"status": str(rule.status), "before": rule.before, "batch": batch}
    # A rule for one task reads jobs_ended. Without a task, jobs_status: it holds a
    # status's jobs oldest first, so the expired ones come first (the planner would pick
    # jobs_ended, whose condition `status = :status` implies, and read more a batch).
    source = "jobs INDEXED BY jobs_status"
    if rule.task is not None:
        where += " AND task = :task"
        params["task"] = rule.task
        source = "jobs"
    for i, name in enumerate(rule.exclude_tasks):
        where += f" AND task != :x{i}"
        params[f"x{i}"] = name
    return source, where, params
