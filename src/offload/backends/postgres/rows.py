"""Rows to records and records to parameters, for the PostgreSQL store (those every SQL
store shares are in ../rows.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ... import serialization
from ...records import NewJob, Outcome, Progress, PruneRule


@dataclass(frozen=True, slots=True)
class Claim:
    """What every statement of one claim shares (queries.JOB_CLAIM's parameters but the
    queue and the limit)."""

    worker_id: str
    lease_s: float
    now: float | None
    tasks: list[str] | None  # None: any task

    def params(self, queue: str, limit: int, relaxed: bool) -> dict[str, Any]:
        return {
            "queue": queue,
            "limit": limit,
            "worker_id": self.worker_id,
            "lease_s": self.lease_s,
            "now": self.now,
            "relaxed": relaxed,
            "tasks": self.tasks,
        }


class StatsBatch:
    """Adds up the finished runs of one transaction per task, so that each task's
    counters are written once (catalog_queries.STATS_ADD)."""

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


def insert_columns(jobs: Sequence[NewJob], now: float | None, channel: str) -> dict[str, Any]:
    """A batch as the parallel arrays of queries.JOB_INSERT_MANY, one per column."""
    return {
        "id": [j.id for j in jobs],
        "task": [j.task for j in jobs],
        "queue": [j.queue for j in jobs],
        "priority": [j.priority for j in jobs],
        "owner": [j.owner for j in jobs],
        "args": [j.args_json for j in jobs],
        "kwargs": [j.kwargs_json for j in jobs],
        "max_attempts": [j.max_attempts for j in jobs],
        "timeout": [j.timeout for j in jobs],
        "backoff": [j.backoff for j in jobs],
        "unique_key": [j.unique_key for j in jobs],
        "idempotency_key": [j.idempotency_key for j in jobs],
        "run_at": [j.run_at for j in jobs],
        "now": now,
        "channel": channel,
    }


def progress_params(p: Progress | None) -> dict[str, Any]:
    """The job columns a progress write sets, and its events as parallel arrays: one
    ``message`` event per new message, then one ``progress`` event (dated ``now``)."""
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
    types: list[str] = []
    payloads: list[str] = []
    ats: list[float | None] = []
    for m in p.new_messages:  # the new messages first, then the state they led to
        types.append("message")
        payloads.append(serialization.dumps(m))
        ats.append(m["at"])
    types.append("progress")
    payloads.append(serialization.dumps({"current": p.current, "total": p.total, "message": p.message}))
    ats.append(None)
    return {
        "current": p.current,
        "total": p.total,
        "message": p.message,
        "messages": None if p.messages is None else serialization.dumps(p.messages),
        "ev_types": types,
        "ev_data": payloads,
        "ev_at": ats,
    }


def finish_columns(outcomes: Sequence[Outcome], now: float | None) -> dict[str, Any]:
    """Outcomes as the parallel arrays of queries.JOB_FINISH_MANY; their events flattened,
    ``ev_of`` giving the (1-based) outcome each belongs to."""
    columns: dict[str, list[Any]] = {
        k: []
        for k in (
            "id", "token", "status", "result", "error", "traceback", "run_at",
            "current", "total", "message", "messages", "ev_of", "ev_type", "ev_data", "ev_at",
        )
    }  # fmt: skip
    for n, o in enumerate(outcomes, 1):
        p = progress_params(o.progress)
        for key, value in (
            ("id", o.job_id), ("token", o.token), ("status", str(o.status)), ("result", o.result_json),
            ("error", o.error), ("traceback", o.traceback), ("run_at", o.run_at), ("current", p["current"]),
            ("total", p["total"]), ("message", p["message"]), ("messages", p["messages"]),
        ):  # fmt: skip
            columns[key].append(value)
        columns["ev_of"].extend([n] * len(p["ev_types"]))
        columns["ev_type"].extend(p["ev_types"])
        columns["ev_data"].extend(p["ev_data"])
        columns["ev_at"].extend(p["ev_at"])
    return {**columns, "now": now}


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
