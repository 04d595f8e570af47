"""``offload stats``: per-task counters and timings, recent failures, a task's
history; they outlive pruning. The same JSON as ``GET /api/stats/...``."""

from __future__ import annotations

from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from .. import stats as task_stats_core
from ..service.stats import failure_json, run_json, summary_json
from .jobs import app_option, url_option
from .loading import load_app
from .tables import Cell, Column, fit, fit_ids, seconds, styled_status

console = Console()

# The keys of task_stats' rows, with their columns.
STATS_COLUMNS = {
    "task": Column("task", keep=True),
    "total": Column("total", keep=True, justify="right"),
    "succeeded": Column("succeeded", keep=True, justify="right"),
    "failed": Column("failed", keep=True, justify="right"),
    "cancelled": Column("cancelled", rank=1, justify="right"),
    "total_duration": Column("total time", rank=6, justify="right"),
    "avg_duration": Column("avg", rank=2, justify="right"),
    "p95_duration": Column("p95", rank=3, justify="right"),
    "last_run_at": Column("last run (UTC)", rank=5),
    "last_status": Column("last status", rank=4),
}

# The keys of recent_failures' rows, with their columns.
FAILURE_COLUMNS = {
    "job_id": Column("id", keep=True),
    "task": Column("task", keep=True),
    "queue": Column("queue", rank=5),
    "error": Column("error", rank=1, text=True),
    "attempts": Column("attempts", rank=2, justify="right"),
    "failed_at": Column("failed at (UTC)", rank=3),
    "owner": Column("owner", rank=4),
}


@click.command()
@app_option
@url_option
@click.option("--task", help="One task only.")
@click.option("--failures", is_flag=True, help="Recent failures instead of the counters.")
@click.option("--history", "history_of", metavar="TASK", help="TASK's last finished runs, the newest first.")
@click.option("--clear", is_flag=True, help="Start the statistics afresh (of --task, else of every task).")
@click.option("--hours", type=float, default=24.0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Rows of --history.")
@click.option("--json", "as_json", is_flag=True)
def stats(
    app_spec: str | None,
    url: str | None,
    task: str | None,
    failures: bool,
    history_of: str | None,
    clear: bool,
    hours: float,
    limit: int,
    as_json: bool,
) -> None:
    """Per-task counters and timings, recent failures or a task's history; they
    survive pruning. --clear starts them afresh."""
    if failures + bool(history_of) + clear > 1:
        raise click.UsageError("give at most one of --failures, --history and --clear")
    app = load_app(app_spec, url)
    if clear:
        task_stats_core.clear(app.backend, task)
        click.echo(f"statistics of {'task ' + repr(task) if task else 'every task'} cleared")
        return
    if history_of:
        rows = [run_json(r) for r in task_stats_core.history(app.backend, history_of, limit)]
    elif failures:
        rows = [failure_json(r) for r in task_stats_core.failures(app.backend, hours=hours)]
    else:
        rows = [summary_json(s) for s in task_stats_core.summaries(app.backend, task)]
    if as_json:
        click.echo(orjson.dumps(rows).decode())
        return
    if not rows:
        console.print("nothing yet")
        return
    console.print(_fit_rows(FAILURE_COLUMNS if failures else STATS_COLUMNS, rows))


def _fit_rows(spec: dict[str, Column], rows: list[dict[str, Any]]) -> Table:
    """rows of dicts as a table that fits the terminal; keys without a column in
    ``spec`` join last, under their own name."""
    keys = list(rows[0])
    columns = [spec.get(k) or Column(k.replace("_", " ")) for k in keys]

    def cell(key: str, value: Any, digits: int) -> Cell:
        if value is None:
            return ""
        if key in ("job_id", "id"):
            return str(value)[:digits]
        if key.endswith("_duration") or key == "duration":
            return seconds(value)
        if key.endswith("_at"):
            return str(value).replace("T", " ")[:19]  # ISO 8601 in UTC, to the second
        return styled_status(value) if key.endswith("status") else str(value)

    def rows_with(digits: int) -> list[list[Cell]]:
        return [[cell(k, row[k], digits) for k in keys] for row in rows]

    if any(k in ("job_id", "id") for k in keys):
        return fit_ids(columns, rows_with, console.width)
    return fit(columns, rows_with(32), console.width).table
