"""``offload enqueue``, ``offload jobs …``, ``offload migrate``."""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..app import App
from ..records import TERMINAL, JobRecord, JobStatus, iso
from .loading import load_app
from .tables import Column, age, fit_ids, styled_status

console = Console()
app_option = click.option("--app", "app_spec", help="module:attribute of your offload.App (or OFFLOAD_APP).")
url_option = click.option("--url", help="Store URL (or OFFLOAD_URL).")

ID_OR_PREFIX = re.compile(r"[0-9a-f]{4,32}")
CANDIDATES = 10  # ids an ambiguous prefix lists

# At 80 columns the kept ones are whole; the rest join by rank while they fit.
JOB_COLUMNS = (
    Column("id", keep=True),
    Column("task", keep=True),
    Column("status", keep=True),
    Column("progress", keep=True, justify="right"),
    Column("attempts", rank=2, justify="right"),
    Column("queue", rank=4),
    Column("age", rank=3, justify="right"),
    Column("message", rank=1, text=True),
)


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
    app = load_app(app_spec, url, tasks=True)
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
        from ..service.views import job_json

        for r in records:
            click.echo(orjson.dumps(job_json(r)).decode())
        return
    now = time.time()

    def rows(digits: int) -> list[tuple[str | Text, ...]]:
        return [
            (
                r.id[:digits],
                r.task,
                styled_status(r.status),
                f"{r.progress:.0f}%",
                f"{r.attempts}/{r.max_attempts}",
                r.queue,
                age(r.created_at, now),
                r.message or "",
            )
            for r in records
        ]

    console.print(fit_ids(JOB_COLUMNS, rows, console.width))


def _styled(status: str) -> str:
    color = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}.get(status, "white")
    return f"[{color}]{status}[/{color}]"


def resolve_job_id(app: App, typed: str) -> str:
    """The job a person means: its whole id, or the first digits (4 or more) of the id
    of exactly one job. An ambiguous prefix lists the jobs it could be."""
    prefix = typed.strip().lower()
    if not ID_OR_PREFIX.fullmatch(prefix):
        message = f"{typed!r} is neither a job id nor its first 4 or more hex digits"
        raise click.BadParameter(message, param_hint="JOB_ID")
    if len(prefix) == 32:
        return prefix
    found = app.backend.job_ids_by_prefix(prefix, limit=CANDIDATES + 1)
    if not found:
        raise click.ClickException(f"no job id starts with {prefix!r}")
    if len(found) > 1:
        lines = [f"  {r.id}  {r.task}  {r.status}" for i in found[:CANDIDATES] if (r := app.backend.job_get(i))]
        more = "\n  …and more" if len(found) > CANDIDATES else ""
        raise click.BadParameter(
            f"{prefix!r} starts the ids of several jobs; give more digits:\n" + "\n".join(lines) + more,
            param_hint="JOB_ID",
        )
    return found[0]


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
def show(job_id: str, app_spec: str | None, url: str | None) -> None:
    """The whole job as JSON (traceback included; ``waiting_reason`` says why a waiting
    job can't be claimed now). JOB_ID: the id or its first digits."""
    from ..service import JobService
    from ..service.views import job_json

    app = load_app(app_spec, url)
    record = app.get_job(resolve_job_id(app, job_id)).record
    data = job_json(record, include_traceback=True, waiting_reason=JobService(app).waiting_reason(record))
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
def cancel(job_id: str, app_spec: str | None, url: str | None) -> None:
    """Cancel a waiting job at once, or ask a running one to stop."""
    app = load_app(app_spec, url)
    job_id = resolve_job_id(app, job_id)
    record = app.backend.job_cancel(job_id)
    word = "cancel requested" if record.status == JobStatus.RUNNING else str(record.status)
    click.echo(f"{job_id} {word}")


@jobs.command()
@click.argument("job_id")
@app_option
@url_option
def retry(job_id: str, app_spec: str | None, url: str | None) -> None:
    """Run a failed or cancelled job again."""
    app = load_app(app_spec, url)
    job_id = resolve_job_id(app, job_id)
    record = app.backend.job_retry(job_id)
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
    from ..records import PruneRule

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
    handle = app.get_job(resolve_job_id(app, job_id))
    record = handle.record
    shown = 0
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        line = bar.add_task(f"{escape(record.task)} {record.status}", total=100)
        while True:
            for m in record.messages[shown:]:
                bar.console.print(f"[dim]{iso(m['at'])}[/dim] {escape(str(m['message']))}")
            shown = len(record.messages)
            bar.update(line, completed=record.progress, description=f"{escape(record.task)} {_styled(record.status)}")
            if record.status in TERMINAL:
                break
            time.sleep(interval)
            record = handle.refresh()
    _print_end(record)
    sys.exit(0 if record.status == JobStatus.COMPLETED else 1)


def _print_end(record: JobRecord) -> None:
    if record.status == JobStatus.COMPLETED:
        console.print(
            f"[green]completed[/green] in {record.duration or 0:.2f}s: {escape(orjson.dumps(record.result).decode())}"
        )
    else:
        console.print(f"{_styled(record.status)}: {escape(record.error or '')}")
