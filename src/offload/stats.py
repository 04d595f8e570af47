"""Per-task statistics: counters, recent history, timings and failures. They outlive
pruning: the store keeps the counters apart from the jobs, and a summary of each run it
prunes or deletes (see Backend.job_prune). The service layer turns these into JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .backends.base import Backend
from .records import RunRecord, TaskStats

HISTORY = 100  # runs in view per task for its history and p95
MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """A task's counters, with its timings: the average over every run that completed
    or failed, the p95 over its last HISTORY runs."""

    counters: TaskStats
    avg_duration: float | None
    p95_duration: float | None


def summaries(store: Backend, task: str | None = None) -> list[TaskSummary]:
    """Every task's summary (or ``task``'s), by task name."""
    out = []
    for counters in store.stats_tasks():
        if task is not None and counters.task != task:
            continue
        runs = counters.succeeded + counters.failed
        recent = [d for r in store.job_history(counters.task, limit=HISTORY) if (d := r.duration) is not None]
        avg = round(counters.total_duration / runs, 6) if runs else None
        out.append(TaskSummary(counters, avg, p95(recent)))
    return out


def history(store: Backend, task: str, limit: int = HISTORY) -> list[RunRecord]:
    """The task's last ``limit`` finished runs, the most recently finished first."""
    return store.job_history(task, limit=max(1, min(limit, MAX_ROWS)))


def failures(store: Backend, hours: float = 24.0, limit: int = 100, owner: str | None = None) -> list[RunRecord]:
    """Failed runs that ended in the last ``hours`` (of one owner, when given), newest first."""
    since = time.time() - hours * 3600
    return store.job_failures(since=since, limit=max(1, min(limit, MAX_ROWS)), owner=owner)


def clear(store: Backend, task: str | None = None) -> None:
    """Start ``task``'s statistics (every task's when None) afresh: counters, history,
    p95 and failures count only runs that end from now on."""
    store.stats_clear(task)


def p95(durations: list[float]) -> float | None:
    if not durations:
        return None
    ordered = sorted(durations)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 6)
