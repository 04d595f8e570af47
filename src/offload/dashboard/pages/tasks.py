"""Tasks: per-task statistics (runs, success rate, mean and p95 duration, last run)
and recent failures; a task's page adds its recent runs. Statistics aggregate every
user's jobs, so they are for admins (as in the HTTP API); a user sees the recent
failures of their own jobs."""

from __future__ import annotations

from typing import Any

from ...errors import JobNotFound
from ...service import AccessDenied
from .. import charts
from ..http import Reply, Request
from .host import Host

FAILURE_HOURS = 24.0


def _row(stats: dict[str, Any] | None, name: str) -> dict[str, Any]:
    s = stats or {"task": name, "total": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
    ran = s["succeeded"] + s["failed"]
    return {
        **s,
        "success_rate": (100.0 * s["succeeded"] / ran) if ran else None,
        "registered": True,
    }


def page(d: Host, req: Request, params: dict[str, str]) -> Reply:
    p = req.principal
    rows: list[dict[str, Any]] | None = None
    if p.admin:
        stats = {s["task"]: s for s in d.cached("task-stats", 2.0, lambda: d.stats.task_stats(p))}
        names = sorted(set(stats) | set(d.app.tasks))
        rows = [{**_row(stats.get(n), n), "registered": n in d.app.tasks} for n in names]
    ctx = d.context(req, "tasks", "Tasks")
    ctx.update(rows=rows, failures=d.stats.failures(p, FAILURE_HOURS, 20), failure_hours=FAILURE_HOURS)
    return d.page(req, "tasks.html", "tasks_live.html", ctx)


def detail(d: Host, req: Request, params: dict[str, str]) -> Reply:
    p = req.principal
    name = params["task"]
    if not p.admin:
        raise AccessDenied("reading task statistics")
    found = d.stats.task_stats(p, name)
    if not found and name not in d.app.tasks:
        raise JobNotFound(name)
    history = d.stats.task_history(p, name, 100)
    failures = [f for f in d.stats.failures(p, FAILURE_HOURS * 7, 1000) if f["task"] == name][:20]
    ctx = d.context(req, "tasks", f"Task {name}")
    ctx.update(
        task=name,
        stats=_row(found[0] if found else None, name),
        history=history,
        chart=charts.durations(history),
        failures=failures,
        failure_days=7,
    )
    return d.page(req, "task.html", "task_live.html", ctx)
