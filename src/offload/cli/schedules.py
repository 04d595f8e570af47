"""``offload schedules …`` and ``offload stats``."""

from __future__ import annotations

from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from ..job import iso
from ..stats import clear_stats, recent_failures, task_history, task_stats
from .jobs import app_option, url_option
from .loading import load_app

console = Console()


@click.group()
def schedules() -> None:
    """Cron and interval schedules (every worker fires them, each fire time once)."""


@schedules.command("list")
@app_option
@url_option
def list_schedules(app_spec: str | None, url: str | None) -> None:
    app = load_app(app_spec, url)
    table = Table("id", "task", "when", "timezone", "paused", "next run", "last run")
    for s in app.schedules.list():
        when = s.cron or f"every {s.interval:g}s"
        table.add_row(
            s.id,
            s.task,
            when,
            s.timezone,
            "yes" if s.paused else "",
            iso(s.next_run_at) or "",
            iso(s.last_run_at) or "",
        )
    console.print(table)


@schedules.command("add")
@click.argument("task")
@app_option
@url_option
@click.option("--cron", help='Cron expression, e.g. "*/5 * * * *".')
@click.option("--interval", type=float, help="Seconds between runs.")
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--id", "schedule_id", help="Stable id; adding the same id again replaces the schedule.")
@click.option("--args", "args_json", default="[]", help="JSON array of positional arguments.")
@click.option("--kwargs", "kwargs_json", default="{}", help="JSON object of keyword arguments.")
@click.option("--queue")
@click.option("--priority", type=int)
def add(
    task: str,
    app_spec: str | None,
    url: str | None,
    args_json: str,
    kwargs_json: str,
    schedule_id: str | None,
    **options: Any,
) -> None:
    """Create or replace a schedule for TASK; prints its id."""
    from .jobs import _json_arg

    app = load_app(app_spec, url)
    record = app.schedules.add(
        task,
        args=_json_arg(args_json, "--args", list),
        kwargs=_json_arg(kwargs_json, "--kwargs", dict),
        id=schedule_id,
        **options,
    )
    click.echo(record.id)


def _action(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("schedule_id")
    @app_option
    @url_option
    def command(schedule_id: str, app_spec: str | None, url: str | None) -> None:
        app = load_app(app_spec, url)
        result = getattr(app.schedules, name.replace("-", "_"))(schedule_id)
        click.echo(f"{schedule_id} {name}: {getattr(result, 'id', 'done')}")

    return command


schedules.add_command(_action("pause", "Stop firing until resumed."))
schedules.add_command(_action("resume", "Fire again, from the next fire time after now."))
schedules.add_command(_action("delete", "Remove the schedule."))
schedules.add_command(_action("run-now", "Enqueue the schedule's job now; prints its job id."))


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
        clear_stats(app, task)
        click.echo(f"statistics of {'task ' + repr(task) if task else 'every task'} cleared")
        return
    if history_of:
        rows = task_history(app, history_of, limit)
    else:
        rows = recent_failures(app, hours=hours) if failures else task_stats(app, task)
    if as_json:
        click.echo(orjson.dumps(rows).decode())
        return
    if not rows:
        console.print("nothing yet")
        return
    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
