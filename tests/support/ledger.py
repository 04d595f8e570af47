"""The history checker: tasks write one line per execution start and end to a ledger
file; the checker reads it afterwards and reports lost jobs, duplicate completions,
re-runs nobody caused, and overlapping runs of one job.

Writing: every line is one ``os.write`` to a file opened with ``O_APPEND``, so lines
from many processes and threads never interleave. The ledger path comes from the
``E2E_LEDGER`` environment variable of the worker process.

A run is keyed by its lease token (fresh for every claim). Its interval is
``[start, end]``; a run without an end line (its process was killed, or it was
abandoned at shutdown) lasts until its process died, as the test saw it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV = "E2E_LEDGER"


def write_line(path: str, entry: dict[str, Any]) -> None:
    data = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class Execution:
    """What a task holds while it runs under ``ledgered``: set ``outcome`` to say how
    the run ended when it returns without having done its work (e.g. "stopped")."""

    def __init__(self, job: Any) -> None:
        self.job_id: str = job.id
        self.attempt: int = job.attempt
        self.token: str = getattr(job, "token", "") or getattr(job, "_token", "")
        self.outcome: str = "ok"


@contextlib.contextmanager
def ledgered(job: Any) -> Iterator[Execution]:
    """Record the start and end of one execution of ``job`` (a JobContext)."""
    path = os.environ.get(ENV)
    run = Execution(job)
    base = {
        "job": run.job_id,
        "attempt": run.attempt,
        "token": run.token,
        "pid": os.getpid(),
        "thread": threading.get_ident(),
    }
    if path:
        write_line(path, {**base, "ev": "start", "t": time.time()})
    try:
        yield run
    except BaseException as exc:
        run.outcome = f"error:{type(exc).__name__}"
        raise
    finally:
        if path:
            write_line(path, {**base, "ev": "end", "t": time.time(), "outcome": run.outcome})


# -- reading and checking --------------------------------------------------------------------


@dataclass
class Run:
    job_id: str
    attempt: int
    token: str
    pid: int
    start: float
    end: float | None = None
    outcome: str | None = None  # None: no end line

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def read(path: str | Path) -> list[Run]:
    runs: dict[tuple[str, str, int, int], Run] = {}
    order: list[tuple[str, str, int, int]] = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        key = (e["job"], e["token"], e["pid"], e["attempt"])
        if e["ev"] == "start":
            if key in runs:
                raise AssertionError(f"ledger: two starts for one run {key}")
            runs[key] = Run(e["job"], e["attempt"], e["token"], e["pid"], e["t"])
            order.append(key)
        else:
            run = runs.get(key)
            if run is None or run.end is not None:
                raise AssertionError(f"ledger: end without its start {key}")
            run.end, run.outcome = e["t"], e["outcome"]
    return [runs[k] for k in order]


@dataclass
class Report:
    runs: list[Run]
    lost: list[str] = field(default_factory=list)  # expected, no completed run
    duplicates: dict[str, int] = field(default_factory=dict)  # job -> completed runs (> 1)
    reruns: dict[str, int] = field(default_factory=dict)  # undisturbed job run more than once
    overlaps: list[tuple[Run, Run]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # ran, but not one of the expected jobs

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.reruns or self.overlaps or self.unexpected)

    def by_job(self) -> dict[str, list[Run]]:
        out: dict[str, list[Run]] = defaultdict(list)
        for r in self.runs:
            out[r.job_id].append(r)
        return out

    def summary(self) -> str:
        def head(items: Iterable[Any]) -> str:
            items = list(items)
            return f"{len(items)} {items[:5]!r}"

        return (
            f"runs={len(self.runs)} lost={head(self.lost)} duplicates={head(self.duplicates.items())} "
            f"reruns={head(self.reruns.items())} overlaps={head(self.overlaps)} unexpected={head(self.unexpected)}"
        )

    def assert_ok(self) -> None:
        assert self.ok, f"ledger check failed: {self.summary()}"


def check(
    path: str | Path,
    expected: Iterable[str],
    *,
    disturbed_pids: Iterable[int] = (),
    deaths: dict[int, float] | None = None,
    stops: dict[int, list[float]] | None = None,
) -> Report:
    """Check the history of the ``expected`` job ids.

    * lost: an expected job without a run that ended "ok";
    * duplicates: a job with two runs that ended "ok" in undisturbed processes (a run
      in a process the test killed or stopped may have finished without its outcome
      being stored: at-least-once allows the re-run that follows);
    * reruns: a job run more than once although none of its runs was in a disturbed
      process;
    * overlaps: two runs of one job whose intervals cross. A run without an end lasts
      until ``deaths[pid]`` (the moment its process was killed or seen gone), and
      forever when its process is not known to be dead. A run going when its process
      was stopped (SIGSTOP) past its lease, at one of ``stops[pid]``, counts until that
      moment: from then on its worker is out of touch with the store, which fences
      whatever the run does after it wakes.
    """
    deaths = deaths or {}
    stops = stops or {}

    def live_until(run: Run) -> float:
        end = run.end if run.end is not None else deaths.get(run.pid, math.inf)
        return min([end, *(t for t in stops.get(run.pid, ()) if run.start <= t)])

    disturbed = set(disturbed_pids)
    runs = read(path)
    expected_ids = list(expected)
    report = Report(runs)
    jobs = report.by_job()
    report.unexpected = sorted(set(jobs) - set(expected_ids))
    for job_id in expected_ids:
        mine = sorted(jobs.get(job_id, []), key=lambda r: r.start)
        completed = [r for r in mine if r.ok]
        if not completed:
            report.lost.append(job_id)
        if len([r for r in completed if r.pid not in disturbed]) > 1:
            report.duplicates[job_id] = len(completed)
        if len(mine) > 1 and not any(r.pid in disturbed for r in mine):
            report.reruns[job_id] = len(mine)
        for i, a in enumerate(mine):
            a_end = live_until(a)
            for b in mine[i + 1 :]:
                if b.start < a_end:
                    report.overlaps.append((a, b))
    return report
