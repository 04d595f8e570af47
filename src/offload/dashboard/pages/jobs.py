"""The job list: filters (state, queue, task, owner for admins), search by id or by
its first digits, cursor pages (newest first, each page read through the store's
indexes by ``before_id``), and actions on several selected jobs at once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from ...errors import InvalidTransition, JobNotFound
from ...records import JobRecord
from ...service import ListQuery, Principal
from ..format import progress, segment
from ..http import Reply, Request, redirect
from .flash import flash
from .host import Host

FILTERS = ("status", "queue", "task", "owner", "limit")
PAGE_SIZES = (20, 50, 100)
MAX_SELECTED = 500
PREFIX = re.compile(r"^[0-9a-f]{4,31}$")  # the first digits of an id (the CLI takes them too)
MATCHES = 50


def filters(admin: bool, get: Callable[[str], str | None]) -> dict[str, str]:
    """The list's filters, from the query or from a form: owner only for admins."""
    out = {}
    for name in FILTERS:
        value = (get(name) or "").strip()
        if value and (name != "owner" or admin):
            out[name] = value
    if out.get("limit") and out["limit"] not in {str(n) for n in PAGE_SIZES}:
        out.pop("limit")
    return out


def page(d: Host, req: Request, params: dict[str, str]) -> Reply:
    p = req.principal
    search = (req.query.get("q") or "").strip().lower()
    matches = None
    if search:
        if not PREFIX.match(search):
            return redirect(req.site.url("/jobs/" + segment(search)))
        matches = by_prefix(d, p, search)
        if len(matches) == 1:
            return redirect(req.site.url("/jobs/" + matches[0].id))
    chosen = filters(p.admin, req.query.get)
    cursor = req.query.get("cursor") or None
    query = ListQuery.from_params({**chosen, **({"cursor": cursor} if cursor else {})})
    if matches is None:
        found = d.jobs.list_jobs(p, query)
        records, next_cursor = found.jobs, found.next_cursor
    else:
        records, next_cursor = matches, None
    now = time.time()
    ctx = d.context(req, "jobs", "Jobs")
    ctx.update(
        rows=[(r, progress(r, now)) for r in records],
        search=search if matches is not None else None,
        next_cursor=next_cursor,
        cursor=cursor,
        filters=chosen,
        no_status={k: v for k, v in chosen.items() if k != "status"},
        limit=query.limit,
        page_sizes=PAGE_SIZES,
        tasks=sorted(d.app.tasks),
        queues=sorted(d.app.queues()),
        flash=flash(req.query),
        filtered=bool(set(chosen) - {"limit"}),
    )
    return d.page(req, "jobs.html", "jobs_live.html", ctx)


def by_prefix(d: Host, p: Principal, prefix: str) -> list[JobRecord]:
    """The jobs the visitor may see whose id starts with ``prefix``: one range read of
    the primary key, then the jobs themselves, newest first."""
    found = []
    for job_id in reversed(d.app.backend.job_ids_by_prefix(prefix, limit=MATCHES)):
        try:
            found.append(d.jobs.get(p, job_id))
        except JobNotFound:
            continue
    return found


def bulk(d: Host, req: Request, params: dict[str, str]) -> Reply:
    """Retry, cancel or delete the selected jobs; those whose state doesn't allow it
    (or that are gone, or not the visitor's) are skipped and counted."""
    action = req.field("action")
    act = {"retry": d.jobs.retry, "cancel": d.jobs.cancel, "delete": d.jobs.delete}.get(action or "")
    if act is None:
        return d.error(req, 400, "Choose Retry, Cancel or Delete.")
    ids = list(dict.fromkeys(req.form.get("ids") or []))[:MAX_SELECTED]
    done = skipped = 0
    for job_id in ids:
        try:
            act(req.principal, job_id)
            done += 1
        except (InvalidTransition, JobNotFound):
            skipped += 1
    back: dict[str, object] = dict(filters(req.principal.admin, req.field))
    if req.field("cursor"):
        back["cursor"] = req.field("cursor")
    back.update(done=action, n=done, skipped=skipped)
    return redirect(req.site.url("/jobs", back))
