"""What a page says after an action: the action's redirect names what happened in
the query string (``?done=retry&n=3&skipped=1``) and the page words it. Only known
codes and numbers are read; names are shown escaped, like any other text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

JOBS = {"cancel": "Cancel requested for {n}", "retry": "Queued again: {n}", "delete": "Deleted: {n}"}
THINGS = {
    "pause": "Queue {name} paused.",
    "resume": "Queue {name} resumed.",
    "schedule-pause": "Schedule {name} paused.",
    "schedule-resume": "Schedule {name} resumed.",
    "schedule-run": "Schedule {name} started a job.",
    "schedule-delete": "Schedule {name} deleted.",
}
ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
REFUSED = {
    "cancel": "This job can't be cancelled any more: it has ended.",
    "retry": "Only failed or cancelled jobs can be retried (and not while another job holds its unique key).",
    "delete": "Only jobs that have ended can be deleted.",
}


def _count(query: Mapping[str, str], name: str) -> int:
    raw = query.get(name) or "0"
    return int(raw) if raw.isdigit() and len(raw) < 7 else 0


def _jobs(n: int) -> str:
    return "1 job" if n == 1 else f"{n:,} jobs"


def flash(query: Mapping[str, str]) -> dict[str, Any] | None:
    """{"kind": "ok" | "warn", "text": ..., "job": id or None} for the page's banner."""
    done, refused = query.get("done"), query.get("refused")
    if refused in REFUSED:
        return {"kind": "warn", "text": REFUSED[refused], "job": None}
    if done in JOBS:
        n, skipped = _count(query, "n"), _count(query, "skipped")
        text = JOBS[done].format(n=_jobs(n)) + "."
        if skipped:
            text += f" {_jobs(skipped)} skipped: the state did not allow it, or the job is gone."
        return {"kind": "warn" if skipped and not n else "ok", "text": text, "job": None}
    if done in THINGS:
        name = (query.get("name") or "")[:200]
        job = query.get("job") or ""
        return {"kind": "ok", "text": THINGS[done].format(name=f"“{name}”"), "job": job if ID.match(job) else None}
    return None
