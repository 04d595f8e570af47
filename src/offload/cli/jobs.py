"""``offload enqueue``, ``offload jobs …``, ``offload migrate``."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..job import TERMINAL, JobRecord, JobStatus, iso
from .loading import load_app

console = Console()
app_option = click.option("--app", "app_spec", help="module:attribute of your offload.App (or OFFLOAD_APP).")
url_option = click.option("--url", help="Store URL (or OFFLOAD_URL).")


def _json_arg(value: str, name: str, kind: type) -> Any:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=name) from None
    if not isinstance(parsed, kind):
        raise click.BadParameter(f"must be a JSON {'array' if kind is list else 'object'}", param_hint=name)
    return parsed


@click.command()
@click.argument("task")
@app_option
@url_option
@click.option("--args", "args_json", default="[]", help="JSON array of positional arguments, e.g. '[\"payback\"]'.")
@click.option("--kwargs", "kwargs_json", default="{}", help="JSON object of keyword arguments.")
@click.option("--queue", default=None)
@click.option("--priority", type=int, default=None)
@click.option("--delay", type=float, default=None, help="Seconds from now.")
@click.option("--unique-key", default=None)
@click.option("--owner", default=None)
def enqueue(task: str, app_spec: str | None, url: str | None, args_json: str, kwargs_json: str, **opts: Any) -> None:
    """Submit a job for TASK; prints its id."""
    app = load_app(app_spec, url)
    args = _json_arg(args_json, "--args", list)
    kwargs = _json_arg(kwargs_json, "--kwargs", dict)
    options = {f"_{k}": v for k, v in opts.items() if v is not None}
    handle = app.enqueue(task, *args, **kwargs, **options)
    click.echo(handle.id)


@click.command()
@app_option
@url_option
def migrate(app_spec: str | None, url: str | None) -> None:
    """Create or upgrade the store's schema."""
    app = load_app(app_spec, url)
    version = app.backend.migrate()
    click.echo(f"schema at version {version}")


@click.group()
def jobs() -> None:
    """List, inspect, cancel, retry, purge and watch jobs."""


@jobs.command("list")
@app_option
@url_option
@click.option("--status", type=click.Choice([s.value for s in JobStatus]))
@click.option("--queue")
@click.option("--task")
@click.option("--owner")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_jobs(app_spec: str | None, url: str | None, as_json: bool, **flt: Any) -> None:
    """Newest jobs first."""
    app = load_app(app_spec, url)
    records = app.list_jobs(**flt)
    if as_json:
        for r in records:
            click.echo(orjson.dumps(r.to_dict()).decode())
        return
    table = Table("task", "queue", "status", "progress", "attempts", "created", "message")
    table.add_column("id", no_wrap=True, min_width=32)
    for r in records:
        table.add_row(
            r.task,
            r.queue,
            _styled(r.status),
            f"{r.progress:.0f}%",
            f"{r.attempts}/{r.max_attempts}",
            iso(r.created_at) or "",
            (r.message or "")[:50],
            r.id,
        )
    console.print(table)


def _styled(status: str) -> str:
    color = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}.get(status, "white")
    return f"[{color}]{status}[/{color}]"


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
def show(job_id: str, app_spec: str | None, url: str | None) -> None:
    """The whole job as JSON (traceback included; ``waiting_reason`` says why a waiting
    job can't be claimed now)."""
    from ..service import JobService

    app = load_app(app_spec, url)
    record = app.get_job(job_id).record
    data = record.to_dict(include_traceback=True, waiting_reason=JobService(app).waiting_reason(record))
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
def cancel(job_id: str, app_spec: str | None, url: str | None) -> None:
    """Cancel a waiting job at once, or ask a running one to stop."""
    record = load_app(app_spec, url).backend.job_cancel(job_id)
    word = "cancel requested" if record.status == JobStatus.RUNNING else str(record.status)
    click.echo(f"{job_id} {word}")


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
def retry(job_id: str, app_spec: str | None, url: str | None) -> None:
    """Run a failed or cancelled job again."""
    record = load_app(app_spec, url).backend.job_retry(job_id)
    click.echo(f"{job_id} {record.status}")


@jobs.command()
@app_option
@url_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    default=("completed", "failed", "cancelled"),
    type=click.Choice(["completed", "failed", "cancelled"]),
    show_default=True,
)
@click.option("--older-than", type=float, default=0.0, show_default=True, help="Seconds since the job ended.")
@click.option("--task", default=None)
def purge(
    app_spec: str | None, url: str | None, statuses: tuple[str, ...], older_than: float, task: str | None
) -> None:
    """Delete finished jobs now (retention also prunes on its own)."""
    from ..backends.base import PruneRule

    app = load_app(app_spec, url)
    before = time.time() - older_than
    rules = [PruneRule(JobStatus(s), before, task=task) for s in statuses]
    click.echo(f"deleted {app.backend.job_prune(rules)} job(s)")


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
@click.option("--interval", type=float, default=0.2, show_default=True)
def watch(job_id: str, app_spec: str | None, url: str | None, interval: float) -> None:
    """A live progress bar with the job's messages as they come. Exits 0 when the job
    completed, 1 when it failed or was cancelled."""
    app = load_app(app_spec, url)
    handle = app.get_job(job_id)
    record = handle.record
    shown = 0
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        line = bar.add_task(f"{record.task} {record.status}", total=100)
        while True:
            for m in record.messages[shown:]:
                bar.console.print(f"[dim]{iso(m['at'])}[/dim] {m['message']}")
            shown = len(record.messages)
            bar.update(line, completed=record.progress, description=f"{record.task} {_styled(record.status)}")
            if record.status in TERMINAL:
                break
            time.sleep(interval)
            record = handle.refresh()
    _print_end(record)
    sys.exit(0 if record.status == JobStatus.COMPLETED else 1)


def _print_end(record: JobRecord) -> None:
    if record.status == JobStatus.COMPLETED:
        console.print(
            f"[green]completed[/green] in {record.duration or 0:.2f}s: {orjson.dumps(record.result).decode()}"
        )
    else:
        console.print(f"{_styled(record.status)}: {record.error or ''}")
