"""Per-task monitoring: counters, history, timings and failures that survive pruning
(the store keeps the runs of pruned jobs, see Backend.job_prune)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .records import iso

if TYPE_CHECKING:
    from .app import App

HISTORY = 100  # runs kept in view per task for history and p95


def _p95(durations: list[float]) -> float | None:
    if not durations:
        return None
    ordered = sorted(durations)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 6)


def task_stats(app: App, task: str | None = None) -> list[dict[str, Any]]:
    """Totals, successes, failures, durations (total, average, p95 of the last 100
    runs) and the last run, per task."""
    out = []
    for s in app.backend.stats_tasks():
        if task is not None and s.task != task:
            continue
        runs = s.succeeded + s.failed
        recent = [d for r in app.backend.job_history(s.task, limit=HISTORY) if (d := r.duration) is not None]
        out.append(
            {
                "task": s.task,
                "total": s.total,
                "succeeded": s.succeeded,
                "failed": s.failed,
                "cancelled": s.cancelled,
                "total_duration": round(s.total_duration, 6),
                "avg_duration": round(s.total_duration / runs, 6) if runs else None,
                "p95_duration": _p95(recent),
                "last_run_at": iso(s.last_run_at),
                "last_status": s.last_status,
            }
        )
    return out


def task_history(app: App, task: str, limit: int = HISTORY) -> list[dict[str, Any]]:
    return [
        {
            "job_id": r.id,
            "status": str(r.status),
            "started_at": iso(r.started_at),
            "completed_at": iso(r.completed_at),
            "duration": r.duration,
            "attempts": r.attempts,
            "error": r.error,
        }
        for r in app.backend.job_history(task, limit=max(1, min(limit, 1000)))
    ]


def clear_stats(app: App, task: str | None = None) -> None:
    """Start ``task``'s statistics (every task's when None) afresh: counters, history,
    p95 and failures count only runs that end from now on."""
    app.backend.stats_clear(task)


def recent_failures(app: App, hours: float = 24.0, limit: int = 100, owner: str | None = None) -> list[dict[str, Any]]:
    """Failed jobs that ended in the last ``hours`` (of one owner, when given)."""
    since = time.time() - hours * 3600
    return [
        {
            "job_id": r.id,
            "task": r.task,
            "queue": r.queue,
            "error": r.error,
            "attempts": r.attempts,
            "failed_at": iso(r.completed_at),
            "owner": r.owner,
        }
        for r in app.backend.job_failures(since=since, limit=max(1, min(limit, 1000)), owner=owner)
    ]
