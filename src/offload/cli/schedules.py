"""``offload schedules …``."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from .jobs import app_option, url_option
from .loading import load_app
from .tables import Column, fit, utc_time

console = Console()

SCHEDULE_COLUMNS = (
    Column("id", keep=True),
    Column("task", keep=True),
    Column("when", keep=True),
    Column("timezone", rank=3),
    Column("paused", rank=2),
    Column("next run (UTC)", rank=1),
    Column("last run (UTC)", rank=4),
)


@click.group()
def schedules() -> None:
    """Cron and interval schedules (every worker fires them, each fire time once)."""


@schedules.command("list")
@app_option
@url_option
def list_schedules(app_spec: str | None, url: str | None) -> None:
    app = load_app(app_spec, url)
    rows = [
        (
            s.id,
            s.task,
            s.cron or f"every {s.interval:g}s",
            s.timezone,
            "yes" if s.paused else "",
            utc_time(s.next_run_at),
            utc_time(s.last_run_at),
        )
        for s in app.schedules.list()
    ]
    console.print(fit(SCHEDULE_COLUMNS, rows, console.width).table)


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

    app = load_app(app_spec, url, tasks=True)
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
        app = load_app(app_spec, url, tasks=name == "run-now")  # run-now enqueues: it needs the task
        result = getattr(app.schedules, name.replace("-", "_"))(schedule_id)
        click.echo(f"{schedule_id} {name}: {getattr(result, 'id', 'done')}")

    return command


schedules.add_command(_action("pause", "Stop firing until resumed."))
schedules.add_command(_action("resume", "Fire again, from the next fire time after now."))
schedules.add_command(_action("delete", "Remove the schedule."))
schedules.add_command(_action("run-now", "Enqueue the schedule's job now; prints its job id."))
