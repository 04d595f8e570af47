"""The overview: queues with their counts by state (pause, resume), the last hour's
throughput and failure rate (admins), live workers with the jobs they run."""

from __future__ import annotations

import time
from typing import Any

from ...records import JobRecord, JobStatus
from .. import charts
from ..format import STATUSES, progress
from ..http import Reply, Request, redirect
from .flash import flash
from .host import Host

WINDOW_MIN = 60
RUNNING_SHOWN = 200  # running jobs listed under their workers


def page(d: Host, req: Request, params: dict[str, str]) -> Reply:
    p = req.principal
    now = time.time()
    # The counts are totals over every owner (as GET /api/queues gives them): the same
    # for every visitor, so every open page shares one read.
    queues: list[dict[str, Any]] = d.cached("queues", 1.0, lambda: d.jobs.queues(p))
    totals = {s: sum(q["counts"].get(s, 0) for q in queues) for s in STATUSES}
    ctx = d.context(req, "overview", "Overview")
    ctx.update(
        queues=queues,
        totals=totals,
        workers=_workers(d, req, now),
        charts=_charts(d, now) if p.admin else None,
        failures=d.stats.failures(p, 1.0, 5),
        flash=flash(req.query),
    )
    return d.page(req, "overview.html", "overview_live.html", ctx)


def _workers(d: Host, req: Request, now: float) -> list[dict[str, Any]]:
    """Live workers, each with the running jobs the visitor may see (read from the jobs
    themselves, so a job shows under its worker as soon as it was claimed). Running jobs
    whose worker is not among the live ones (it stopped beating; its lease runs out)
    are listed under a worker of their own, "not answering"."""
    p = req.principal
    running = d.app.list_jobs(status=JobStatus.RUNNING, owner=p.owner_filter, limit=RUNNING_SHOWN)
    by_worker: dict[str, list[JobRecord]] = {}
    for record in sorted(running, key=lambda r: r.started_at or 0):
        by_worker.setdefault(record.worker_id or "", []).append(record)
    out = []
    for w in d.jobs.workers(p):
        jobs = by_worker.pop(w["id"], [])
        # an admin sees every job it runs, as the store has them now (its heartbeat's
        # list is up to a second old); a user, the count its heartbeat gave
        busy = len(jobs) if p.admin else w["running_count"]
        out.append({**w, "running_count": busy, "jobs": [(r, progress(r, now)) for r in jobs], "lost": False})
    for worker_id, jobs in sorted(by_worker.items()):
        out.append(
            {
                "id": worker_id or "unknown",
                "host": "not answering",
                "pid": None,
                "queues": [],
                "concurrency": None,
                "running_count": len(jobs),
                "last_heartbeat": None,
                "jobs": [(r, progress(r, now)) for r in jobs],
                "lost": True,
            }
        )
    return out


def _charts(d: Host, now: float) -> dict[str, Any]:
    counts = d.cached(
        "finished", 5.0, lambda: d.app.backend.job_finished_counts(since=now - WINDOW_MIN * 60, bucket_s=60.0)
    )
    completed = sum(c.count for c in counts if c.status == JobStatus.COMPLETED)
    keep = d.app.settings.keep_completed
    return {
        "throughput": charts.throughput(counts, now, WINDOW_MIN),
        "failures": charts.failure_rate(counts, now, WINDOW_MIN),
        # Completed jobs beyond the newest keep_completed are pruned: then the chart
        # shows fewer than ran, and says so.
        "pruned": keep if completed >= 0.9 * keep else None,
    }


def queue_action(d: Host, req: Request, params: dict[str, str]) -> Reply:
    name = req.field("name") or ""
    action = req.field("action")
    if action not in ("pause", "resume"):
        return d.error(req, 400, "Unknown queue action.")
    d.jobs.set_paused(req.principal, name, action == "pause")
    d.cached("queues", 0.0, lambda: d.jobs.queues(req.principal))  # the next page shows it
    return redirect(req.site.url("/", {"done": action, "name": name}))
