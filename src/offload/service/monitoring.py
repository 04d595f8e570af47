"""MonitoringService: per-task statistics, run history and recent failures, with
authorization.

Statistics and history aggregate every user's jobs, so they are for admins. Recent
failures are per job: an admin sees all of them, a user only those of their own jobs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import AccessDenied, InvalidRequest
from ..job import JobRecord, iso
from ..stats import HISTORY, recent_failures, task_history, task_stats
from .principal import Principal
from .requests import MAX_KEY

if TYPE_CHECKING:
    from ..app import App

MAX_LIMIT = 1000
MAX_HOURS = 366 * 24.0
SCAN_PAGE = 1000  # a user's failed jobs are read in pages of this many
SCAN_MAX = 20_000  # and at most this many in all
STATS = "reading task statistics"
HISTORY_ACTION = "reading a task's history"


class MonitoringService:
    def __init__(self, app: App) -> None:
        self.app = app

    @staticmethod
    def require_admin(principal: Principal, action: str) -> None:
        if not principal.admin:
            raise AccessDenied(action)

    def task_stats(self, principal: Principal, task: str | None = None) -> list[dict[str, Any]]:
        """Counters and timings per task (all of them, or ``task``'s): admins only."""
        self.require_admin(principal, STATS)
        return task_stats(self.app, task)

    def task_history(self, principal: Principal, task: str, limit: int = HISTORY) -> list[dict[str, Any]]:
        """The task's last ``limit`` finished runs, the newest first: admins only."""
        self.require_admin(principal, HISTORY_ACTION)
        return task_history(self.app, task, limit)

    def failures(self, principal: Principal, hours: float = 24.0, limit: int = 100) -> list[dict[str, Any]]:
        """Failed jobs that ended in the last ``hours``, the newest first."""
        if principal.admin:
            return recent_failures(self.app, hours, limit)
        since = time.time() - hours * 3600
        mine: list[JobRecord] = []
        before: str | None = None
        for _ in range(SCAN_MAX // SCAN_PAGE):
            page = self.app.list_jobs(status="failed", owner=principal.user, limit=SCAN_PAGE, before=before)
            mine += [r for r in page if r.completed_at is not None and r.completed_at >= since]
            if len(page) < SCAN_PAGE:
                break
            before = page[-1].id
        mine.sort(key=lambda r: (r.completed_at or 0.0, r.id), reverse=True)
        return [failure_json(r) for r in mine[:limit]]


def failure_json(r: JobRecord) -> dict[str, Any]:
    """One failure, in the shape of ``offload.stats.recent_failures``."""
    return {
        "job_id": r.id,
        "task": r.task,
        "queue": r.queue,
        "error": r.error,
        "attempts": r.attempts,
        "failed_at": iso(r.completed_at),
        "owner": r.owner,
    }


# -- query parameters ----------------------------------------------------------------------


def int_param(params: Mapping[str, str], name: str, default: int, lo: int = 1, hi: int = MAX_LIMIT) -> int:
    raw = params.get(name) or None
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(name, f"must be an integer, got {raw!r:.40}") from None
    if not lo <= value <= hi:
        raise InvalidRequest(name, f"must be between {lo} and {hi}, got {value}")
    return value


def hours_param(params: Mapping[str, str], default: float = 24.0) -> float:
    raw = params.get("hours") or None
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidRequest("hours", f"must be a number, got {raw!r:.40}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_HOURS:
        raise InvalidRequest("hours", f"must be more than 0 and at most {MAX_HOURS:.0f}, got {raw!r:.40}")
    return value


def task_param(value: str | None, name: str = "task") -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_KEY:
        raise InvalidRequest(name, f"longer than {MAX_KEY} characters")
    return value
