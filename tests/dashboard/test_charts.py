"""The charts' shapes: every minute of the window in its place, stacked by status."""

from __future__ import annotations

from offload.dashboard import charts
from offload.records import FinishedCount, JobStatus

NOW = 1_800_000_030.0  # 30 s into a minute
LAST = 1_800_000_000.0


def test_buckets_cover_the_window_oldest_first() -> None:
    counts = [
        FinishedCount(LAST, JobStatus.COMPLETED, 5),
        FinishedCount(LAST - 60, JobStatus.FAILED, 2),
        FinishedCount(LAST - 3600, JobStatus.COMPLETED, 9),  # before the window
    ]
    rows = charts.buckets(counts, NOW, 60)
    assert len(rows) == 60 and rows[-1] == (LAST, {"completed": 5}) and rows[-2] == (LAST - 60, {"failed": 2})
    assert sum(sum(r.values()) for _, r in rows) == 7


def test_throughput_stacks_statuses_and_scales_to_a_round_top() -> None:
    counts = [FinishedCount(LAST, JobStatus.COMPLETED, 30), FinishedCount(LAST, JobStatus.FAILED, 7)]
    chart = charts.throughput(counts, NOW, 60)
    ok, bad = chart.rects
    assert (ok.cls, bad.cls) == ("completed", "failed")
    assert bad.y + bad.h == ok.y  # failed sits on top of completed
    assert [t.label for t in chart.y_ticks] == ["0", "25", "50"]
    assert "30 completed, 7 failed, 0 cancelled" in chart.label


def test_failure_rate_leaves_gaps_where_nothing_ran() -> None:
    counts = [
        FinishedCount(LAST - 120, JobStatus.COMPLETED, 3),
        FinishedCount(LAST - 120, JobStatus.FAILED, 1),
        FinishedCount(LAST - 60, JobStatus.COMPLETED, 4),
        FinishedCount(LAST - 600, JobStatus.FAILED, 2),
    ]
    chart = charts.failure_rate(counts, NOW, 60)
    assert len(chart.lines) == 1 and len(chart.lines[0].split()) == 2  # two minutes in a row
    assert len(chart.dots) == 3  # ... and the lone minute ten minutes ago
    assert "30.0% overall" in chart.label


def test_nice_ceiling() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 0.3, 1, 3, 7, 11, 999)] == [1, 0.5, 1, 5, 10, 20, 1000]
