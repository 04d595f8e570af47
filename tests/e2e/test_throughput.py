"""Many jobs, several slots and processes: everything runs, each job once."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, sqlite_path, wait_for


def _status_counts(url: str) -> dict[str, int]:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())


def test_four_one_second_jobs_run_side_by_side_with_concurrency_4(procs: Procs, app: offload.App) -> None:
    handles = [app.enqueue("sleep_for", 1.0) for _ in range(4)]
    worker = procs.worker("--concurrency", "4")

    def all_running() -> bool:
        return all(h.status() == JobStatus.RUNNING for h in handles)

    wait_for(all_running, 30, interval=0.01, message=lambda: f"four jobs running at once\n{worker.tail()}")
    for h in handles:
        h.wait(30)
    records = [h.refresh() for h in handles]
    assert all(r.status == JobStatus.COMPLETED for r in records)
    starts = [r.started_at for r in records]
    ends = [r.completed_at for r in records]
    assert None not in starts and None not in ends
    assert max(starts) < min(ends), f"the four runs did not overlap: {list(zip(starts, ends, strict=True))}"  # type: ignore[type-var]


def test_burst_worker_drains_2000_noop_jobs_and_exits_0(procs: Procs, app: offload.App, ledger_path: Path) -> None:
    handles = app.enqueue_many("noop", [((), {"n": i}) for i in range(2000)])
    worker = procs.worker("--burst", "--concurrency", "8")
    assert worker.wait_exit(120) == 0, worker.tail()
    assert _status_counts(app.settings.url) == {"completed": 2000}
    report = ledger.check(ledger_path, [h.id for h in handles])
    report.assert_ok()
    assert len(report.runs) == 2000
    assert handles[1234].refresh().result == 1234


def test_three_worker_processes_share_one_sqlite_file(procs: Procs, app: offload.App, ledger_path: Path) -> None:
    workers = [procs.worker("--concurrency", "8", "--grace", "5", name=f"worker{i}") for i in range(3)]
    pids = {w.pid for w in workers}
    wait_for(
        lambda: {i.pid for i in app.backend.worker_list(alive_after=0)} == pids,
        30,
        message=lambda: f"three workers registered\n{procs.logs(workers)}",
    )
    handles = []
    for chunk in range(30):  # enqueued while the workers claim: writers contend for the file
        handles += app.enqueue_many("noop", [((), {"n": chunk * 100 + i}) for i in range(100)])

    wait_for(
        lambda: _status_counts(app.settings.url) == {"completed": 3000},
        150,
        interval=0.1,
        message=lambda: f"3000 jobs completed, have {_status_counts(app.settings.url)}",
    )
    for w in workers:
        w.send(signal.SIGTERM)
    for w in workers:
        assert w.wait_exit(30) == 0, w.tail()

    report = ledger.check(ledger_path, [h.id for h in handles])
    report.assert_ok()
    assert len(report.runs) == 3000
    assert {r.pid for r in report.runs} == pids, "some worker never got a job"
    with sqlite3.connect(sqlite_path(app.settings.url)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    logs = procs.logs(workers)
    assert "database is locked" not in logs
    assert " is busy" not in logs
    assert "Traceback" not in logs
