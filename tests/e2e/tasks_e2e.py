"""Tasks the end-to-end tests run in real worker processes.

    python -m offload worker --app tests.e2e.tasks_e2e:app

The store is ``OFFLOAD_URL``. Tasks that reliability tests check write their starts
and ends to the ledger named by ``E2E_LEDGER`` (see tests/support/ledger.py).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import offload
from offload import JobContext
from tests.support.ledger import ledgered


def noop(job: JobContext, n: int = 0) -> int:
    with ledgered(job):
        return n


def sleep_for(job: JobContext, seconds: float, step: float = 0.02) -> dict[str, float]:
    """Sleeps in small steps, reporting progress; stops early (outcome "stopped")
    when asked to cancel."""
    with ledgered(job) as run:
        started = time.time()
        while (elapsed := time.time() - started) < seconds:
            if job.cancel_requested:
                run.outcome = "stopped"
                return {"slept": elapsed}
            job.set_progress(elapsed, seconds)
            time.sleep(step)
        return {"slept": seconds}


def wait_for_file(job: JobContext, path: str, limit: float = 60.0) -> str:
    """Runs until ``path`` exists; stops early (outcome "stopped") on a cancel
    request, or after ``limit`` seconds (outcome "limit")."""
    with ledgered(job) as run:
        job.add_message(f"waiting for {path}")
        deadline = time.monotonic() + limit
        while not os.path.exists(path):
            if job.cancel_requested:
                run.outcome = "stopped"
                return "stopped"
            if time.monotonic() >= deadline:
                run.outcome = "limit"
                return "limit"
            time.sleep(0.02)
        job.add_message(f"found {path}")
        return "found"


def kill_own_worker(job: JobContext) -> None:
    """A poison pill: SIGKILLs the process that runs it."""
    with ledgered(job):
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)


def stubborn(job: JobContext, seconds: float) -> dict[str, object]:
    """Runs ``seconds`` of wall time whatever happens (ignores cancel requests),
    reporting progress; returns who ran it."""
    with ledgered(job):
        started = time.time()
        while (elapsed := time.time() - started) < seconds:
            job.set_progress(elapsed, seconds)
            time.sleep(0.02)
        return {"pid": os.getpid(), "token": job.token}


def hang(job: JobContext, seconds: float) -> str:
    """Sleeps ``seconds`` in one call: deaf to cancel requests and timeouts."""
    job.add_message("hanging")
    time.sleep(seconds)
    return "woke up"


def spin(job: JobContext, seconds: float) -> int:
    """Keeps a CPU (and the GIL) busy for ``seconds``."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += sum(i * i for i in range(1000))
    return n


def spin_forever(job: JobContext) -> None:
    """Burns a CPU until its process ends: deaf to cancel requests and timeouts."""
    job.add_message("spinning")
    x = 0
    while True:
        x += 1


def whoami(job: JobContext) -> int:
    with ledgered(job):
        return os.getpid()


def chatty(job: JobContext, lines: int = 3) -> dict[str, int]:
    for i in range(1, lines + 1):
        job.add_message(f"line {i} of {lines}")
        job.set_progress(i, lines)
    return {"lines": lines}


def say(job: JobContext, text: str) -> str:
    """Writes ``text`` as a message and returns it: text a terminal must show as it is."""
    job.add_message(text)
    return text


def broken(job: JobContext) -> None:
    job.add_message("about to fail")
    raise ValueError("broken on purpose")


def work(job: JobContext, seconds: float = 0.0, reports: int = 0, cooperative: bool = True) -> dict[str, object]:
    """A job of the chaos run (bench/chaos.py): ``reports`` progress reports spread
    over ``seconds``. A cooperative one stops early (outcome "stopped") when asked to,
    as a run whose worker lost its lease is; the other runs to its end whatever
    happens, so a paused run that wakes tries to store its result. Returns the run's
    lease token: the stored result shows whose write the store accepted."""
    with ledgered(job) as run:
        steps = max(reports, 1)
        for i in range(1, steps + 1):
            if cooperative and job.cancel_requested:
                run.outcome = "stopped"
                return {"stopped": True, "token": job.token}
            if seconds:
                time.sleep(seconds / steps)
            if reports:
                job.set_progress(i, reports)
        return {"pid": os.getpid(), "token": job.token}


def touch(job: JobContext, path: str) -> str:
    with ledgered(job):
        Path(path).write_text(job.id)
        return job.id


TASKS = (
    noop,
    sleep_for,
    wait_for_file,
    kill_own_worker,
    stubborn,
    hang,
    spin,
    spin_forever,
    chatty,
    say,
    broken,
    work,
    touch,
)


def make_app(url: str | None = None) -> offload.App:
    """An App with these tasks on ``url`` (default: OFFLOAD_URL); the tests build
    their own copy to enqueue and read from the test process."""
    app = offload.App(url)
    for fn in TASKS:
        app.task(fn)
    # The same functions in a child process of the worker, killed at their timeout
    app.task(name="spin_isolated", isolation="process", retries=1, backoff=0)(spin_forever)
    app.task(name="whoami_isolated", isolation="process")(whoami)
    return app


app = make_app()
