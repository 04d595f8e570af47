"""``offload worker``."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from types import FrameType

import click

from ..errors import OffloadError
from ..worker import Worker
from ..worker.supervisor import HURRY, ChildLink, Supervisor
from .loading import load_app, need_app


@dataclass(frozen=True)
class Options:
    app_spec: str | None
    url: str | None
    queues: str | None
    concurrency: int
    burst: bool
    grace: float | None


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
    help="Worker processes under the supervisor, which replaces dead or stuck ones.",
)
@click.option("--burst", is_flag=True, help="Exit once no job is left to run.")
@click.option(
    "--grace", type=float, default=None, help="Seconds running jobs get after SIGTERM (default from settings, 30)."
)
@click.option(
    "--no-supervisor",
    is_flag=True,
    help="Run the worker in this process, without a supervisor (for debugging): nothing replaces it "
    "when a timed-out task won't stop or a task kills it.",
)
def worker(
    app_spec: str | None,
    url: str | None,
    queues: str | None,
    concurrency: int,
    processes: int,
    burst: bool,
    grace: float | None,
    no_supervisor: bool,
) -> None:
    """Run jobs, in worker processes under a supervisor. SIGTERM/SIGINT: stop claiming,
    let running jobs finish within the grace period, then put the rest back to queued;
    a second signal stops at once."""
    need_app(app_spec)
    options = Options(app_spec, url, queues, concurrency, burst, grace)
    if no_supervisor:
        if processes > 1:
            raise click.UsageError("--no-supervisor runs one process: leave out --processes")
        sys.exit(run_worker(options, None))
    sys.exit(Supervisor(lambda link: run_worker(options, link), processes).run())


def run_worker(options: Options, link: ChildLink | None) -> int:
    """One worker in this process (a supervisor's child when ``link`` is given)."""
    try:
        app = load_app(options.app_spec, options.url, tasks=True)
        if options.grace is not None:
            app.settings = app.settings.override(grace_s=options.grace)
        names = [q.strip() for q in options.queues.split(",") if q.strip()] if options.queues else app.queues()
        w = Worker(
            app,
            queues=names,
            concurrency=options.concurrency,
            burst=options.burst,
            supervised=link is not None,
            on_recycle=None if link is None else link.retiring,
        )
        app.backend  # opened and migrated: this child works  # noqa: B018
    except OffloadError as exc:
        click.echo(f"Error: {exc}", err=True)
        return 1
    except click.ClickException as exc:  # a bad --app, found in the child that loads it
        exc.show()
        return exc.exit_code
    if link is None:
        _stop_on_signals(w)
    else:
        # The supervisor counts the signals: SIGTERM is a graceful stop, HURRY one now.
        signal.signal(signal.SIGTERM, lambda signum, frame: w.request_stop())
        signal.signal(HURRY, lambda signum, frame: w.request_stop(0.0))
        link.working()
    return w.run()


def _stop_on_signals(w: Worker) -> None:
    """SIGTERM or SIGINT: a graceful stop; a second one: stop now."""
    signals = {"count": 0}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals["count"] += 1
        w.request_stop(None if signals["count"] == 1 else 0.0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
