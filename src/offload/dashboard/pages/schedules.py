"""Schedules: each with its trigger, next and last run; pause, resume, run now,
delete. A user sees their own schedules (by the ids they gave them), admins all."""

from __future__ import annotations

from ..http import Reply, Request, redirect
from .flash import flash
from .host import Host


def page(d: Host, req: Request, params: dict[str, str]) -> Reply:
    p = req.principal
    found = d.schedules.list_schedules(p)
    found.sort(key=lambda s: (s["paused"], s["next_run_at"] or "~", s["id"]))
    ctx = d.context(req, "schedules", "Schedules")
    ctx.update(schedules=found, flash=flash(req.query))
    return d.page(req, "schedules.html", "schedules_live.html", ctx)


def act(d: Host, req: Request, params: dict[str, str]) -> Reply:
    schedule_id = req.field("id") or ""
    action = req.field("action")
    p = req.principal
    job = None
    if action == "pause" or action == "resume":
        d.schedules.set_paused(p, schedule_id, action == "pause")
    elif action == "run":
        job = d.schedules.run_now(p, schedule_id).id
    elif action == "delete":
        d.schedules.delete(p, schedule_id)
    else:
        return d.error(req, 400, "Choose Pause, Resume, Run now or Delete.")
    return redirect(req.site.url("/schedules", {"done": f"schedule-{action}", "name": schedule_id, "job": job}))
