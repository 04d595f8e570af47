"""``offload worker``."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import click

from ..worker import Worker
from ..worker.supervisor import Supervisor
from .loading import load_app, need_app

SUPERVISED_ENV = "OFFLOAD_SUPERVISED"


@click.command()
@click.option("--app", "app_spec", help="module:attribute of your offload.App (or OFFLOAD_APP).")
@click.option("--url", help="Store URL (or OFFLOAD_URL); must match the app's.")
@click.option(
    "--queues",
    "-q",
    default=None,
    help="Comma-separated queues, served in this order. Default: every queue of the app's tasks.",
)
@click.option(
    "--concurrency",
    "-c",
    default=4,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Jobs run at once per process.",
)
@click.option(
    "--processes",
    "-p",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes under a supervisor that restarts dead ones.",
)
@click.option("--burst", is_flag=True, help="Exit once no job is left to run.")
@click.option(
    "--grace", type=float, default=None, help="Seconds running jobs get after SIGTERM (default from settings, 30)."
)
def worker(
    app_spec: str | None,
    url: str | None,
    queues: str | None,
    concurrency: int,
    processes: int,
    burst: bool,
    grace: float | None,
) -> None:
    """Run jobs. SIGTERM/SIGINT: stop claiming, let running jobs finish within the grace
    period, then put the rest back to queued; a second signal stops at once."""
    need_app(app_spec)
    if processes > 1:
        argv = _child_argv()
        sys.exit(Supervisor(argv, processes).run())
    app = load_app(app_spec, url, tasks=True)
    if grace is not None:
        app.settings = app.settings.override(grace_s=grace)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else app.queues()
    w = Worker(
        app, queues=names, concurrency=concurrency, burst=burst, supervised=os.environ.get(SUPERVISED_ENV) == "1"
    )
    signals = {"count": 0}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals["count"] += 1
        w.request_stop(None if signals["count"] == 1 else 0.0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.exit(w.run())


def _child_argv() -> list[str]:
    """This command line, minus --processes, run as ``python -m offload``."""
    args = sys.argv[1:]
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("--processes", "-p"):
            skip = True
            continue
        if a.startswith("--processes="):
            continue
        out.append(a)
    return [sys.executable, "-m", "offload", *out]
