"""``offload demo``: workers and the demo tasks in one process, shown live."""

from __future__ import annotations

import time

import click
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..records import TERMINAL, JobRecord


def _table(records: list[JobRecord]) -> Table:
    table = Table("task", "status", "progress", "attempts", "latest message", title="offload demo")
    for r in records:
        bar = "█" * int(r.progress / 5) + "░" * (20 - int(r.progress / 5))
        table.add_row(
            r.task,
            r.status,
            f"{bar} {r.progress:5.1f}%",
            f"{r.attempts}/{r.max_attempts}",
            Text((r.error if r.status == "failed" else r.message) or ""),
        )
    return table


@click.command()
@click.option("--concurrency", "-c", default=8, show_default=True, type=click.IntRange(1, 1000))
@click.option("--speed", default=0.2, show_default=True, type=float, help="Scale of the demo tasks' sleeps.")
def demo(concurrency: int, speed: float) -> None:
    """Run workers with the demo tasks, submit one job of each, and show them live."""
    from .. import demo as tasks

    worker = tasks.app.run_workers(concurrency=concurrency)
    ids = tasks.submit_showcase(speed=speed)
    try:
        with Live(refresh_per_second=8) as live:
            while True:
                records = [tasks.app.get_job(i).record for i in ids]
                live.update(_table(records))
                if all(r.status in TERMINAL for r in records):
                    break
                time.sleep(0.2)
    finally:
        worker.stop(grace=5)
