"""``offload workers``: the live workers, what they run, and threads stuck on a timed-out job."""

from __future__ import annotations

import time
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..service import JobService
from ..service.principal import Principal
from .loading import load_app

console = Console()


@click.command()
@click.option("--app", "app_spec", help="module:attribute of your offload.App (or OFFLOAD_APP).")
@click.option("--url", help="Store URL (or OFFLOAD_URL).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per worker and line.")
def workers(app_spec: str | None, url: str | None, as_json: bool) -> None:
    """Live workers: host, pid, queues, slots, running jobs and stuck threads (a task
    that outlived its timeout and still runs; the worker replaced its thread)."""
    app = load_app(app_spec, url)
    found = JobService(app).workers(Principal("cli", admin=True))
    if as_json:
        for w in found:
            click.echo(orjson.dumps(w).decode())
        return
    table = Table("id", "host", "pid", "queues", "slots", "running", "stuck", "tasks", "heartbeat")
    for w in found:
        table.add_row(
            w["id"],
            w["host"],
            str(w["pid"]),
            Text(",".join(w["queues"])),
            str(w["concurrency"]),
            str(w["running_count"]),
            _stuck(w),
            "any" if w["tasks"] is None else str(len(w["tasks"])),
            _age(w),
        )
    console.print(table if found else "no live workers")


def _stuck(w: dict[str, Any]) -> str:
    if not w["stuck_count"]:
        return "0"
    return f"[red]{w['stuck_count']}[/red] " + " ".join(w["stuck"])


def _age(w: dict[str, Any]) -> str:
    from datetime import datetime

    seen = datetime.fromisoformat(w["last_heartbeat"].replace("Z", "+00:00")).timestamp()
    return f"{max(0.0, time.time() - seen):.1f}s ago"
