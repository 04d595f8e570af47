"""StatsService: per-task statistics, run history and recent failures, with
authorization.

Statistics and history aggregate every user's jobs, so they are for admins. Recent
failures are per job: an admin sees all of them, a user only those of their own jobs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import stats
from ..errors import AccessDenied
from ..records import RunRecord, iso
from ..stats import HISTORY, TaskSummary
from .principal import Principal

if TYPE_CHECKING:
    from ..app import App

STATS = "reading task statistics"
HISTORY_ACTION = "reading a task's history"


class StatsService:
    def __init__(self, app: App) -> None:
        self.app = app

    @staticmethod
    def require_admin(principal: Principal, action: str) -> None:
        if not principal.admin:
            raise AccessDenied(action)

    def task_stats(self, principal: Principal, task: str | None = None) -> list[dict[str, Any]]:
        """Counters and timings per task (all of them, or ``task``'s): admins only."""
        self.require_admin(principal, STATS)
        return [summary_json(s) for s in stats.summaries(self.app.backend, task)]

    def task_history(self, principal: Principal, task: str, limit: int = HISTORY) -> list[dict[str, Any]]:
        """The task's last ``limit`` finished runs, the newest first: admins only."""
        self.require_admin(principal, HISTORY_ACTION)
        return [run_json(r) for r in stats.history(self.app.backend, task, limit)]

    def failures(self, principal: Principal, hours: float = 24.0, limit: int = 100) -> list[dict[str, Any]]:
        """Failed jobs that ended in the last ``hours``, the newest first; a user's own only."""
        return [failure_json(r) for r in stats.failures(self.app.backend, hours, limit, owner=principal.owner_filter)]


# -- the JSON of the statistics ------------------------------------------------------------


def summary_json(s: TaskSummary) -> dict[str, Any]:
    c = s.counters
    return {
        "task": c.task,
        "total": c.total,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "cancelled": c.cancelled,
        "total_duration": round(c.total_duration, 6),
        "avg_duration": s.avg_duration,
        "p95_duration": s.p95_duration,
        "last_run_at": iso(c.last_run_at),
        "last_status": c.last_status,
    }


def run_json(r: RunRecord) -> dict[str, Any]:
    return {
        "job_id": r.id,
        "status": str(r.status),
        "started_at": iso(r.started_at),
        "completed_at": iso(r.completed_at),
        "duration": r.duration,
        "attempts": r.attempts,
        "error": r.error,
    }


def failure_json(r: RunRecord) -> dict[str, Any]:
    return {
        "job_id": r.id,
        "task": r.task,
        "queue": r.queue,
        "error": r.error,
        "attempts": r.attempts,
        "failed_at": iso(r.completed_at),
        "owner": r.owner,
    }
