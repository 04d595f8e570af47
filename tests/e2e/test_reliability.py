"""The promises of RELIABILITY.md with real processes: fencing after a pause, no false
takeover of long jobs, and a drain under repeated SIGKILLs checked by the ledger."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import offload
from offload.records import TERMINAL, JobStatus
from tests.support import ledger
from tests.support.procs import Proc, Procs, pause_outside_a_write, wait_for


def _runs_of(ledger_path: Path, job_id: str) -> list[ledger.Run]:
    return [r for r in ledger.read(ledger_path) if r.job_id == job_id]


def test_a_paused_worker_past_its_lease_changes_nothing_when_it_wakes(
    procs: Procs, app: offload.App, ledger_path: Path, tmp_path: Path
) -> None:
    lease = {"OFFLOAD_LEASE_S": "1.5", "OFFLOAD_HEARTBEAT_S": "0.3"}
    paused = procs.worker("--concurrency", "2", env=lease, name="paused")
    job = app.enqueue("stubborn", 3.0, _max_attempts=3)
    wait_for(lambda: _runs_of(ledger_path, job.id), 30, message=lambda: f"the first run\n{paused.tail()}")
    pause_outside_a_write(paused.send, tmp_path / "jobs.db")
    try:
        taker = procs.worker("--concurrency", "2", env=lease, name="taker")
        wait_for(
            lambda: len(_runs_of(ledger_path, job.id)) == 2,
            30,
            message=lambda: f"the job to be taken over\n{taker.tail()}",
        )
    finally:
        paused.send(signal.SIGCONT)

    record = wait_for(
        lambda: (r := job.refresh()).status == JobStatus.COMPLETED and r,
        30,
        message=lambda: f"the job to complete, now {job.refresh()}",
    )
    first, second = _runs_of(ledger_path, job.id)
    assert (first.pid, second.pid) == (paused.pid, taker.pid)
    assert record.attempts == 2
    assert record.result == {"pid": taker.pid, "token": second.token}, "the paused run's result was stored"
    stale = wait_for(
        lambda: (r := _runs_of(ledger_path, job.id)[0]).end is not None and r, 30, message="the paused run to end"
    )
    assert stale.outcome == "ok"  # it ran to its end, but its result was not kept
    wait_for(
        lambda: "dropped, the lease was lost" in paused.log(),
        10,
        message=lambda: f"the paused worker to drop its outcome\n{paused.tail()}",
    )
    assert "lease lost" in paused.log()
    assert job.refresh().result == {"pid": taker.pid, "token": second.token}
    report = ledger.check(ledger_path, [job.id], disturbed_pids=[paused.pid], deaths=procs.deaths())
    assert not report.lost and not report.duplicates, report.summary()

    # The woken worker is healthy: it goes on taking jobs.
    more = app.enqueue_many("noop", [((), {"n": i}) for i in range(40)])
    for h in more:
        h.wait(30)
    assert paused.alive and taker.alive


def test_a_run_that_stops_because_its_worker_lost_touch_is_run_again_not_completed(
    procs: Procs, app: offload.App, ledger_path: Path, tmp_path: Path
) -> None:
    # Paused past its lease, the worker asks its runs to stop: another worker might be
    # running their jobs by now. A cooperative task returns early with what it has; that
    # is not the job's result. Nobody took the job over here, so the worker gives it back
    # and runs it again, to its end.
    lease = {"OFFLOAD_LEASE_S": "1.5", "OFFLOAD_HEARTBEAT_S": "0.3"}
    worker = procs.worker("--concurrency", "2", env=lease, name="alone")
    job = app.enqueue("sleep_for", 4.0, _max_attempts=3)
    wait_for(lambda: _runs_of(ledger_path, job.id), 30, message=lambda: f"the first run\n{worker.tail()}")
    pause_outside_a_write(worker.send, tmp_path / "jobs.db")
    paused_at = time.monotonic()
    try:
        wait_for(lambda: time.monotonic() - paused_at > 2.0, 10, message="the pause to outlast the lease")
    finally:
        worker.send(signal.SIGCONT)

    record = wait_for(
        lambda: (r := job.refresh()).status in TERMINAL and r,
        60,
        message=lambda: f"the job to end, now {job.refresh()}\n{worker.tail()}",
    )
    runs = _runs_of(ledger_path, job.id)
    assert [r.outcome for r in runs] == ["stopped", "ok"], runs
    assert record.status == JobStatus.COMPLETED and record.result == {"slept": 4.0}, record
    assert "lease lost" in worker.log()


def test_a_job_running_three_times_its_lease_is_not_taken_over(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    # A 2 s lease: three threads spinning in pure Python hold the GIL most of the time,
    # and a heartbeat (a handful of store calls, each taking the GIL back) may need a
    # good part of a second to get through; 2 s leaves it room.
    lease = {"OFFLOAD_LEASE_S": "2", "OFFLOAD_HEARTBEAT_S": "0.25"}
    # Only `busy` serves "long"; `idle` serves "default" and recovers expired leases of every queue.
    busy = procs.worker("--concurrency", "4", "--queues", "long", env=lease, name="busy")
    idle = procs.worker("--concurrency", "4", env=lease, name="idle")
    job = app.enqueue("stubborn", 6.0, _max_attempts=3, _queue="long")
    spinners = [app.enqueue("spin", 6.0, _queue="long") for _ in range(3)]  # CPU-bound, beside it
    record = wait_for(
        lambda: (r := job.refresh()).status == JobStatus.COMPLETED and r,
        30,
        message=lambda: f"the long job to complete, now {job.refresh()}",
    )
    assert record.attempts == 1
    assert record.result["pid"] == busy.pid
    assert all(h.wait(30) > 0 for h in spinners)
    assert [r.pid for r in _runs_of(ledger_path, job.id)] == [busy.pid]
    assert "recovered from a lost worker" not in idle.log() + busy.log()
    assert "lease lost" not in busy.log()


def test_drain_under_repeated_sigkill_loses_nothing_and_never_overlaps(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    lease = {"OFFLOAD_LEASE_S": "1.5", "OFFLOAD_HEARTBEAT_S": "0.3"}
    handles = app.enqueue_many("sleep_for", [((0.05,), {}) for _ in range(600)], max_attempts=20)
    ids = [h.id for h in handles]

    def start(i: int) -> Proc:
        return procs.worker("--concurrency", "4", env=lease, name=f"w{i}")

    workers = [start(0), start(1)]
    rng = random.Random(1234)
    killed: list[int] = []

    def completed() -> int:
        return sum(1 for r in app.list_jobs(status="completed", limit=1000))

    for i in range(8):
        mark = completed()
        wait_for(
            lambda m=mark: completed() >= min(600, m + 40), 60, message=lambda: f"progress\n{procs.logs()[-3000:]}"
        )
        if completed() == 600:
            break
        victim = workers.pop(rng.randrange(len(workers)))
        victim.kill9()
        killed.append(victim.pid)
        workers.append(start(i + 2))

    wait_for(
        lambda: completed() == 600,
        90,
        interval=0.1,
        message=lambda: f"every job completed, have {completed()}\n{procs.logs()[-3000:]}",
    )
    assert killed, "the jobs ran out before any worker was killed"
    report = ledger.check(ledger_path, ids, disturbed_pids=killed, deaths=procs.deaths())
    report.assert_ok()
    interrupted = [r for r in report.runs if r.end is None]
    assert interrupted and {r.pid for r in interrupted} <= set(killed)
    statuses = {r.status for r in app.list_jobs(limit=1000)}
    assert statuses == {JobStatus.COMPLETED}
    assert "database is locked" not in procs.logs()
