"""What a chaos run shows, from two witnesses that don't share code: the history
checker's reading of the ledger the tasks wrote (tests/support/ledger.py), and the
store's own record of each job (its final state, the result it kept, its status
events)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaos_fleet import Fleet, Hit
from tests.support import ledger

from offload import App
from offload.records import JobRecord, JobStatus

DROPPED = "dropped, the lease was lost"  # the worker's log line for an outcome the store refused


@dataclass
class Figures:
    store: str
    jobs: int
    completed: int = 0
    lost: list[str] = field(default_factory=list)  # not completed in the store, or no run ended "ok"
    twice: list[str] = field(default_factory=list)  # two accepted completions
    overlaps: list[str] = field(default_factory=list)  # two live runs of one job at once
    late_accepted: list[str] = field(default_factory=list)  # a result kept from a run whose lease was gone
    accepted: int = 0  # completions the store accepted (its status events)
    runs: int = 0
    redone: int = 0  # runs beyond each job's first
    uncaused: int = 0  # jobs run more than once though none of their workers was killed or stopped
    refused: int = 0  # outcomes written after the lease was lost, refused by the store (worker logs)
    stale_results: int = 0  # runs that finished "ok" after their job was taken over; their result not kept
    kills: int = 0
    pauses: int = 0
    recovered_in_pause: int = 0  # runs a pause froze whose job went back in line meanwhile
    orphans: int = 0  # runs cut by a kill
    requeued_s: list[float] = field(default_factory=list)  # kill -> the orphan back in line
    restarted_s: list[float] = field(default_factory=list)  # kill -> the orphan running elsewhere
    lease_s: float = 0.0
    bound_s: float = 3.0
    wall_s: float = 0.0
    exited: list[str] = field(default_factory=list)  # workers that ended without being killed
    slow: list[dict[str, Any]] = field(default_factory=list)  # orphans back in line later than lease + bound
    timeline: list[dict[str, Any]] = field(default_factory=list)  # every kill and pause: when, which pids

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.twice or self.overlaps or self.late_accepted)

    @property
    def slow_recoveries(self) -> int:
        return sum(1 for s in self.requeued_s if s > self.lease_s + self.bound_s)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("requeued_s", "restarted_s"):
            out[key] = spread(out.pop(key))
        out["slow_recoveries"] = self.slow_recoveries
        out["failed"] = self.failed
        return out


def spread(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p99 and max of ``values`` (seconds)."""
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}


# -- the store's record ---------------------------------------------------------------------


def records(app: App, ids: Iterable[str]) -> dict[str, JobRecord]:
    """The final record of every job of the run."""
    wanted = set(ids)
    out: dict[str, JobRecord] = {}
    before: str | None = None
    while True:
        page = app.list_jobs(limit=1000, before=before)
        if not page:
            return out
        out.update((r.id, r) for r in page if r.id in wanted)
        before = page[-1].id


def status_events(app: App) -> tuple[Counter[str], dict[str, list[float]]]:
    """Completions the store accepted, per job; and when each job was put back in line
    after its worker was lost."""
    completions: Counter[str] = Counter()
    requeued: dict[str, list[float]] = defaultdict(list)
    after = 0
    while events := app.backend.event_list(after=after, limit=5000):
        for e in events:
            if e.type != "status":
                continue
            if e.data.get("status") == JobStatus.COMPLETED:
                completions[e.job_id] += 1
            elif str(e.data.get("error") or "").startswith("worker lost"):
                requeued[e.job_id].append(e.at)
        after = events[-1].seq
    return completions, requeued


# -- the verdict ------------------------------------------------------------------------------


def judge(
    fig: Figures, app: App, ids: list[str], ledger_path: Path, fleet: Fleet, logs: Iterable[Path]
) -> ledger.Report:
    """Fill ``fig`` from the ledger, the store and the worker logs."""
    report = ledger.check(ledger_path, ids, disturbed_pids=fleet.disturbed, deaths=fleet.deaths, stops=fleet.stops)
    kept = records(app, ids)
    completions, requeued = status_events(app)
    by_job = report.by_job()

    fig.completed = sum(1 for r in kept.values() if r.status == JobStatus.COMPLETED)
    fig.lost = sorted({i for i in ids if i not in kept or kept[i].status != JobStatus.COMPLETED} | set(report.lost))
    fig.accepted = sum(completions.values())
    fig.twice = sorted({j for j, n in completions.items() if n > 1} | set(report.duplicates))
    fig.overlaps = sorted({a.job_id for a, _ in report.overlaps})
    fig.runs = len(report.runs)
    fig.redone = fig.runs - len(by_job)
    fig.uncaused = len(report.reruns)
    fig.refused = sum(path.read_text(errors="replace").count(DROPPED) for path in logs)
    _fencing(fig, kept, by_job, fleet.pauses, requeued)
    fig.kills, fig.pauses = len(fleet.kills), len(fleet.pauses)
    hits = [("kill", h) for h in fleet.kills] + [("pause", h) for h in fleet.pauses]
    fig.timeline = [{"what": what, **asdict(h)} for what, h in sorted(hits, key=lambda x: x[1].at)]
    _recovery(fig, fleet.kills, by_job, requeued)
    return report


def _fencing(
    fig: Figures,
    kept: dict[str, JobRecord],
    by_job: dict[str, list[ledger.Run]],
    pauses: list[Hit],
    requeued: dict[str, list[float]],
) -> None:
    """Whose result did the store keep? It must be from a run whose lease was never
    taken away: the job's last claim, and no recovery of the job after that run began.
    Anything else is a write accepted after its lease was gone. And what became of the
    runs a pause froze whose jobs were put back in line meanwhile."""
    for job_id, runs in by_job.items():
        record = kept.get(job_id)
        token = (record.result or {}).get("token") if record and record.status == JobStatus.COMPLETED else None
        if token is not None:
            last = max(runs, key=lambda r: r.start)
            if token != last.token or any(t > last.start for t in requeued.get(job_id, ())):
                fig.late_accepted.append(job_id)
        for run in runs:
            hit = _frozen_by(run, pauses)
            if hit is None:
                continue
            resumed = hit.resumed_at or math.inf
            if any(hit.at < t < resumed for t in requeued.get(job_id, ())):
                fig.recovered_in_pause += 1
                if run.ok and run.token != token:
                    fig.stale_results += 1


def _frozen_by(run: ledger.Run, pauses: list[Hit]) -> Hit | None:
    """The pause that froze ``run`` while it ran, if one did."""
    end = math.inf if run.end is None else run.end
    for hit in pauses:
        if run.pid in hit.pids and run.start <= hit.at < end:
            return hit
    return None


def _recovery(
    fig: Figures, kills: list[Hit], by_job: dict[str, list[ledger.Run]], requeued: dict[str, list[float]]
) -> None:
    """For each run a kill cut short while it held its lease: how long until its job was
    back in line (the lease ran out and a live worker noticed), and until it ran again.
    A run whose lease had gone before the kill (to a pause) was no orphan of the kill."""
    cut: dict[int, float] = {pid: hit.at for hit in kills for pid in hit.pids}
    for job_id, runs in by_job.items():
        back_at = requeued.get(job_id, [])
        for run in runs:
            killed_at = cut.get(run.pid)
            if run.end is not None or killed_at is None or run.start > killed_at:
                continue
            if any(run.start < t <= killed_at for t in back_at):
                continue
            fig.orphans += 1
            back = [t - killed_at for t in back_at if t > killed_at]
            if back:
                fig.requeued_s.append(min(back))
                if min(back) > fig.lease_s + fig.bound_s:
                    fig.slow.append({"job": job_id, "pid": run.pid, "killed_at": killed_at, "back_after_s": min(back)})
            later = [r.start for r in runs if r.start > killed_at]
            if later:
                fig.restarted_s.append(min(later) - killed_at)


# -- printing ---------------------------------------------------------------------------------


def _ms(v: float | int | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def table(figs: list[Figures]) -> str:
    """The figures of each store, one column each, as a Markdown table."""
    rows: list[tuple[str, list[str]]] = [
        ("jobs", [f"{f.jobs:,}" for f in figs]),
        ("completed", [f"{f.completed:,}" for f in figs]),
        ("completions the store accepted", [f"{f.accepted:,}" for f in figs]),
        ("lost", [str(len(f.lost)) for f in figs]),
        ("completed twice", [str(len(f.twice)) for f in figs]),
        ("overlapping live runs", [str(len(f.overlaps)) for f in figs]),
        ("late results accepted", [str(len(f.late_accepted)) for f in figs]),
        ("runs (re-done)", [f"{f.runs:,} ({f.redone:,})" for f in figs]),
        ("jobs re-run with no kill or pause to cause it", [str(f.uncaused) for f in figs]),
        ("kill -9 / SIGSTOP past the lease", [f"{f.kills} / {f.pauses}" for f in figs]),
        ("runs cut by a kill", [str(f.orphans) for f in figs]),
        ("runs frozen by a pause, their job recovered meanwhile", [str(f.recovered_in_pause) for f in figs]),
        ("late outcome writes refused (worker logs)", [str(f.refused) for f in figs]),
        ("stale runs that finished, result not kept", [str(f.stale_results) for f in figs]),
    ]
    for key, label in (("requeued_s", "kill → back in line, s"), ("restarted_s", "kill → running again, s")):
        cells = []
        for f in figs:
            s = spread(getattr(f, key))
            cells.append(f"{_ms(s['p50'])} / {_ms(s['p99'])} / {_ms(s['max'])}")
        rows.append((f"{label} (p50 / p99 / max)", cells))
    rows.append(
        (
            "back in line later than lease + 3 s",
            [f"{f.slow_recoveries} of {len(f.requeued_s)} (lease {f.lease_s:g} s)" for f in figs],
        )
    )
    rows.append(("workers that ended on their own", [str(len(f.exited)) for f in figs]))
    rows.append(("wall time, s", [f"{f.wall_s:.1f}" for f in figs]))
    head = "| | " + " | ".join(f.store for f in figs) + " |\n|---|" + "---:|" * len(figs) + "\n"
    return head + "\n".join(f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows)
