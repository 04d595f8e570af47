"""SIGTERM: stop claiming, let running jobs finish within the grace period, put the
rest back to queued with the attempt refunded, exit 0; a second signal stops at once."""

from __future__ import annotations

import signal
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, wait_for


def _started(ledger_path: Path, ids: list[str]) -> bool:
    return set(ids) <= {r.job_id for r in ledger.read(ledger_path)}


def test_sigterm_finishes_short_jobs_and_requeues_long_ones(
    procs: Procs, app: offload.App, ledger_path: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "long-jobs-may-finish"
    short = [app.enqueue("sleep_for", 0.5) for _ in range(3)]
    long = [app.enqueue("wait_for_file", str(gate), limit=30) for _ in range(3)]
    ids = [h.id for h in short + long]
    first = procs.worker("--concurrency", "6", "--grace", "2", name="first")
    wait_for(lambda: _started(ledger_path, ids), 30, message=lambda: f"six jobs running\n{first.tail()}")

    first.send(signal.SIGTERM)
    for h in short:
        assert h.wait(30) == {"slept": 0.5}
    late = app.enqueue("noop", 1)  # the worker stopped claiming: this one waits for the next
    assert first.wait_exit(15) == 0, first.tail()

    for h in long:
        r = h.refresh()
        assert r.status == JobStatus.QUEUED, r
        assert r.attempts == 0, "the released attempt was not refunded"
        assert r.worker_id is None and r.lease_token is None and r.started_at is None
    for h in short:
        assert h.refresh().attempts == 1
    assert late.refresh().status == JobStatus.QUEUED and late.refresh().attempts == 0
    assert "put 3 unfinished job(s) back to queued" in first.log()

    gate.touch()
    second = procs.worker("--burst", "--concurrency", "6", name="second")
    assert second.wait_exit(60) == 0, second.tail()
    for h in long:
        r = h.refresh()
        assert r.status == JobStatus.COMPLETED and r.result == "found" and r.attempts == 1
    assert late.refresh().status == JobStatus.COMPLETED

    report = ledger.check(ledger_path, [*ids, late.id], disturbed_pids=[first.pid], deaths=procs.deaths())
    report.assert_ok()
    runs = report.by_job()
    for h in short:
        assert [(r.pid, r.outcome) for r in runs[h.id]] == [(first.pid, "ok")]
    for h in long:
        assert [r.pid for r in runs[h.id]] == [first.pid, second.pid]
        assert runs[h.id][0].outcome in ("stopped", None)  # None: the process ended first
        assert runs[h.id][1].outcome == "ok"
    assert [r.pid for r in runs[late.id]] == [second.pid]


def test_second_sigterm_stops_at_once(procs: Procs, app: offload.App, ledger_path: Path, tmp_path: Path) -> None:
    gate = tmp_path / "never"
    long = [app.enqueue("wait_for_file", str(gate), limit=120) for _ in range(2)]
    short = app.enqueue("sleep_for", 0.3)
    worker = procs.worker("--concurrency", "3", "--grace", "120")
    wait_for(
        lambda: _started(ledger_path, [h.id for h in [*long, short]]),
        30,
        message=lambda: f"three jobs running\n{worker.tail()}",
    )

    worker.send(signal.SIGTERM)
    short.wait(30)  # still draining: the short job finished after the first signal
    assert worker.alive
    assert all(h.status() == JobStatus.RUNNING for h in long)

    worker.send(signal.SIGTERM)
    assert worker.wait_exit(10) == 0, worker.tail()  # far less than the 120 s grace
    for h in long:
        r = h.refresh()
        assert r.status == JobStatus.QUEUED and r.attempts == 0, r
