"""How values look on the dashboard's pages: times, durations, JSON, triggers,
progress. Jinja filters, and plain functions the page builders use."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from ..records import JobRecord, JobStatus, iso

STATUSES = [s.value for s in JobStatus]


def when(ts: float | None) -> str:
    """ISO 8601 for a ``<time datetime>``: the page's script shows it in local time."""
    return iso(ts) or ""


def clock(ts: float | None) -> str:
    """A readable UTC time, what a page shows before (or without) its script."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(ts: float | None, now: float | None = None) -> str:
    if ts is None:
        return "—"
    delta = (time.time() if now is None else now) - ts
    if abs(delta) < 1:
        return "just now"
    text = span(abs(delta), precise=False)
    return f"{text} ago" if delta > 0 else f"in {text}"


def span(seconds: float, *, precise: bool = True) -> str:
    """3 ms · 1.25 s · 4 min 05 s · 2 h 10 min · 3 d 4 h."""
    if seconds < 1 and precise:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s" if precise and seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if precise else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def duration(seconds: float | None) -> str:
    return "—" if seconds is None else span(seconds)


def pretty(value: Any) -> str:
    """JSON, indented (the template escapes it)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except TypeError:
        return repr(value)


def number(value: float | None) -> str:
    """1,234 · 12.5 · — ; progress counts are floats that are usually whole."""
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def percent(part: float, whole: float) -> str:
    return "—" if not whole else f"{100.0 * part / whole:.1f}%"


def short_id(job_id: str) -> str:
    """The random end of a job id: its start is a timestamp, the same for jobs made together."""
    return job_id[-8:]


def every(seconds: float) -> str:
    if seconds % 86400 == 0:
        n, unit = seconds / 86400, "day"
    elif seconds % 3600 == 0:
        n, unit = seconds / 3600, "hour"
    elif seconds % 60 == 0:
        n, unit = seconds / 60, "minute"
    else:
        n, unit = seconds, "second"
    return f"every {unit}" if n == 1 else f"every {number(n)} {unit}s"


def trigger(schedule: dict[str, Any]) -> str:
    """A schedule's trigger in words: ``cron */5 * * * * (Europe/Berlin)`` or ``every 5 minutes``."""
    if schedule.get("cron"):
        return f"cron {schedule['cron']} ({schedule.get('timezone') or 'UTC'})"
    return every(float(schedule.get("interval") or 0))


def progress(record: JobRecord, now: float | None = None) -> dict[str, Any]:
    """What a progress bar shows: percent, current of total, and for a running job the
    rate so far and the time left at that rate (the page's script refines both)."""
    now = time.time() if now is None else now
    pct = record.progress
    cur, tot = record.progress_current, record.progress_total
    info: dict[str, Any] = {"pct": pct, "current": cur, "total": tot, "rate": None, "eta": None}
    if record.status == JobStatus.RUNNING and record.started_at and cur and tot:
        elapsed = max(1e-3, now - record.started_at)
        rate = cur / elapsed
        info["rate"] = rate
        if rate > 0 and tot > cur:
            info["eta"] = (tot - cur) / rate
    return info


def bar_width(pct: float | None) -> str:
    """The width attribute of a bar's fill in a 0-100 viewBox (an attribute, not a style)."""
    if pct is None or not math.isfinite(pct):
        return "0"
    return f"{max(0.0, min(100.0, pct)):.2f}".rstrip("0").rstrip(".")


def segment(value: str) -> str:
    """A value as one URL path segment (a "/" in it is encoded too)."""
    return quote(str(value), safe="")


FILTERS = {
    "segment": segment,
    "when": when,
    "clock": clock,
    "ago": ago,
    "duration": duration,
    "pretty": pretty,
    "number": number,
    "short_id": short_id,
    "trigger": trigger,
    "bar_width": bar_width,
}
