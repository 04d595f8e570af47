"""The dashboard's charts, drawn by us as SVG: this module computes the shapes (in a
fixed viewBox), the chart template (templates/_chart.html) writes them out. No
styles in the markup: colours come from classes in the stylesheet."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..records import FinishedCount
from .format import span

WIDTH, HEIGHT = 600.0, 160.0
LEFT, RIGHT, TOP, BOTTOM = 40.0, 8.0, 10.0, 22.0  # room for the axis labels
STACK = ("completed", "failed", "cancelled")  # bottom to top


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float  # y for the value axis, x for the time axis
    label: str


@dataclass(slots=True)
class Chart:
    label: str  # the chart in words, for screen readers and as its caption
    rects: list[Rect] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # polyline points, one list per unbroken run
    dots: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, title) of lone points
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _y(value: float, top: float) -> float:
    return round(HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / top, 2)


def _value_ticks(top: float, fmt: str = "{:g}") -> list[Tick]:
    return [Tick(_y(v, top), fmt.format(v)) for v in (0.0, top / 2, top)]


def _time_ticks(minutes: int) -> list[Tick]:
    slot = (WIDTH - LEFT - RIGHT) / minutes
    ticks = []
    for back in range(minutes, -1, -15 if minutes >= 30 else 5):
        x = LEFT + (minutes - back) * slot
        ticks.append(Tick(round(x, 2), "now" if back == 0 else f"−{back} min"))
    return ticks


def buckets(counts: Sequence[FinishedCount], now: float, minutes: int) -> list[tuple[float, dict[str, int]]]:
    """Every minute of the window, oldest first, with its counts by status (the store
    leaves out empty minutes)."""
    last = math.floor(now / 60) * 60
    starts = [last - 60 * (minutes - 1 - i) for i in range(minutes)]
    by_start: dict[float, dict[str, int]] = {s: {} for s in starts}
    for c in counts:
        slot = by_start.get(math.floor(c.bucket / 60) * 60)
        if slot is not None:
            slot[str(c.status)] = slot.get(str(c.status), 0) + c.count
    return [(s, by_start[s]) for s in starts]


def throughput(counts: Sequence[FinishedCount], now: float, minutes: int = 60) -> Chart:
    """Finished jobs per minute, stacked by final status."""
    rows = buckets(counts, now, minutes)
    totals = {s: sum(r.get(s, 0) for _, r in rows) for s in STACK}
    peak = max((sum(r.values()) for _, r in rows), default=0)
    top = nice_ceiling(peak)
    words = ", ".join(f"{totals[s]:,} {s}" for s in STACK)
    chart = Chart(f"Jobs finished per minute over the last {minutes} minutes: {words}; at most {peak:,} in a minute.")
    slot = (WIDTH - LEFT - RIGHT) / minutes
    for i, (_, row) in enumerate(rows):
        base = 0
        for status in STACK:
            n = row.get(status, 0)
            if n:
                y1, y0 = _y(base + n, top), _y(base, top)
                when = "this minute" if i == minutes - 1 else f"{minutes - 1 - i} min ago"
                title = f"{n:,} {status}, {when}"
                chart.rects.append(
                    Rect(round(LEFT + i * slot + 0.5, 2), y1, round(slot - 1, 2), y0 - y1, status, title)
                )
                base += n
    chart.y_ticks = _value_ticks(top)
    chart.x_ticks = _time_ticks(minutes)
    return chart


def failure_rate(counts: Sequence[FinishedCount], now: float, minutes: int = 60) -> Chart:
    """Failed runs as a share of finished runs (completed + failed) per minute; minutes
    without runs leave a gap in the line."""
    rows = buckets(counts, now, minutes)
    points: list[tuple[float, float, str] | None] = []
    ran = failed = 0
    for i, (_, row) in enumerate(rows):
        ok, bad = row.get("completed", 0), row.get("failed", 0)
        ran += ok + bad
        failed += bad
        points.append(None if ok + bad == 0 else (i, 100.0 * bad / (ok + bad), f"{bad:,} of {ok + bad:,} failed"))
    peak = max((p[1] for p in points if p is not None), default=0.0)
    top = min(100.0, nice_ceiling(max(peak, 5.0)))
    overall = f"{100.0 * failed / ran:.1f}%" if ran else "no runs"
    chart = Chart(f"Failure rate per minute over the last {minutes} minutes: {overall} overall.")
    slot = (WIDTH - LEFT - RIGHT) / minutes
    run: list[tuple[float, float, str]] = []
    for p in [*points, None]:
        if p is not None:
            run.append((round(LEFT + (p[0] + 0.5) * slot, 2), _y(p[1], top), p[2]))
            continue
        if len(run) == 1:
            chart.dots.append(run[0])
        elif run:
            chart.lines.append(" ".join(f"{x},{y}" for x, y, _ in run))
            chart.dots.extend(run)
        run = []
    chart.y_ticks = _value_ticks(top, "{:g}%")
    chart.x_ticks = _time_ticks(minutes)
    return chart


def durations(runs: Sequence[dict[str, object]]) -> Chart:
    """A task's recent runs, oldest left: one bar each, its height the run's duration."""
    ordered = list(reversed(runs))  # history comes newest first
    timed = [float(d) for r in ordered if isinstance(d := r.get("duration"), int | float)]
    top = nice_ceiling(max(timed, default=0.0))
    chart = Chart(
        f"Durations of the last {len(ordered)} runs, oldest first; the longest took {span(max(timed, default=0))}."
    )
    if not ordered:
        return chart
    slot = (WIDTH - LEFT - RIGHT) / max(len(ordered), 20)
    for i, r in enumerate(ordered):
        d = r.get("duration")
        if not isinstance(d, int | float):
            continue
        y = _y(float(d), top)
        title = f"{r.get('status')} in {span(float(d))}"
        chart.rects.append(
            Rect(
                round(LEFT + i * slot + 0.5, 2),
                y,
                round(max(slot - 1, 1), 2),
                round(HEIGHT - BOTTOM - y, 2),
                str(r.get("status")),
                title,
            )
        )
    chart.y_ticks = [Tick(_y(v, top), span(v) if v else "0") for v in (0.0, top / 2, top)]
    return chart
