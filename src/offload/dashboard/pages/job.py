"""One job: live progress, status, messages, arguments, result, error (the traceback
for admins), its attempts, and Cancel / Retry / Delete.

The store keeps a job's current state (attempts so far, the last error, the times of
the latest run) and, for the event retention (``keep_events_s``, an hour by default),
its events. Each attempt's start, end and error come from the job's status events, so
they are shown while those are kept; after that the page shows the totals.
"""

from __future__ import annotations

import time
from typing import Any

from ...errors import InvalidTransition
from ...records import TERMINAL, WAITING, Event, JobRecord, JobStatus
from ...service import Principal
from ...service.views import job_json
from ..format import progress
from ..http import Reply, Request, redirect
from .flash import flash
from .host import Host

EVENT_PAGES = 4  # status events are read from the job's first 2,000 events at most
PAGE = 500

# Which button each state allows: the server decides, the page's script mirrors it.
ALLOWED = {
    "cancel": sorted(WAITING | {JobStatus.RUNNING}),
    "retry": sorted({JobStatus.FAILED, JobStatus.CANCELLED}),
    "delete": sorted(TERMINAL),
}


def actions(record: JobRecord) -> dict[str, bool]:
    allowed = {name: record.status in states for name, states in ALLOWED.items()}
    if record.cancel_requested and record.status == JobStatus.RUNNING:
        allowed["cancel"] = False  # asked already; the worker stops it at its next check
    return allowed


def allowed_states(record: JobRecord) -> dict[str, str]:
    """For each button, the states it is enabled in (the page's script reads them as the
    job's state changes). A running job somebody asked to cancel can't be asked again."""
    out = {}
    for name, states in ALLOWED.items():
        held = name == "cancel" and record.cancel_requested
        out[name] = " ".join(s for s in states if not (held and s == JobStatus.RUNNING))
    return out


def page(d: Host, req: Request, params: dict[str, str]) -> Reply:
    p = req.principal
    # The job as it stands and the newest event it reflects: the page's script skips
    # the stream's events up to there, so nothing shows twice or goes backwards.
    record, seq = d.jobs.snapshot(p, params["job_id"], d.jobs.latest_seq())
    statuses = status_events(d, p, record.id)
    ctx = d.context(req, "job", f"{record.task} · job {record.id[-8:]}")
    ctx.update(
        job=record,
        seq=seq,
        data=job_json(record, include_traceback=p.admin),
        bar=progress(record, time.time()),
        actions=actions(record),
        allowed=allowed_states(record),
        attempts=attempts(statuses),
        timeline=statuses,
        stream=req.site.job_stream(record.id),
        flash=flash(req.query),
        keep_events_s=d.app.settings.keep_events_s,
    )
    return d.page(req, "job.html", "job_live.html", ctx)


def act(d: Host, req: Request, params: dict[str, str]) -> Reply:
    job_id, action = params["job_id"], params["action"]
    p = req.principal
    try:
        if action == "cancel":
            d.jobs.cancel(p, job_id)
        elif action == "retry":
            d.jobs.retry(p, job_id)
        else:
            d.jobs.delete(p, job_id)
            return redirect(req.site.url("/jobs", {"done": "delete", "n": 1}))
    except InvalidTransition:
        return redirect(req.site.url(f"/jobs/{job_id}", {"refused": action}))
    return redirect(req.site.url(f"/jobs/{job_id}"))


def status_events(d: Host, p: Principal, job_id: str) -> list[Event]:
    """The job's status events still kept, oldest first."""
    found: list[Event] = []
    after = 0
    for _ in range(EVENT_PAGES):
        batch, last = d.jobs.events(p, after=after, job_id=job_id, limit=PAGE)
        found += [e for e in batch if e.type == "status"]
        if last == after or len(batch) < PAGE:
            break
        after = last
    return found


def attempts(statuses: list[Event]) -> list[dict[str, Any]]:
    """Each run from the status events: a "running" event starts one (its data carries
    the attempt's number); the next status ends it, with that status and its error."""
    runs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for e in statuses:
        status = e.data.get("status")
        if status == "running":
            current = {"n": e.data.get("attempts"), "started": e.at, "ended": None, "outcome": None, "error": None}
            runs.append(current)
        elif current is not None:
            current.update(ended=e.at, outcome=status, error=e.data.get("error"))
            current = None
    return runs
