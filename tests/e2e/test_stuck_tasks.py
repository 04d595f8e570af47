"""Sync tasks that ignore their timeout, in real worker processes: the default worker
(under its supervisor) replaces the child they are stuck in, so jobs queued behind them
run at once and no core keeps burning; a worker without a supervisor replaces their
threads and reports them as stuck."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, children_of, group_members, pid_alive, wait_for


def _runaways(app: offload.App) -> list[offload.JobHandle]:
    """Three tasks that spin forever and one that sleeps a minute, each with a 2 s timeout."""
    return [app.enqueue("spin_forever", _timeout=2) for _ in range(3)] + [app.enqueue("hang", 60, _timeout=2)]


def _timed_out(handles: list[offload.JobHandle]) -> bool:
    records = [h.refresh() for h in handles]
    return all(r.status == JobStatus.FAILED and r.error == "timed out after 2s" for r in records)


def test_the_default_worker_replaces_a_child_stuck_in_timed_out_tasks(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    sup = procs.supervised_worker("--concurrency", "4", "--grace", "5")
    (first,) = wait_for(lambda: children_of(sup.pid), 30, message=lambda: f"a worker child\n{sup.tail()}")
    wait_for(lambda: first in {w.pid for w in app.backend.worker_list(alive_after=0)}, 30, message="it works")

    runaways = _runaways(app)
    wait_for(lambda: all(h.status() == JobStatus.RUNNING for h in runaways), 30, message="all four running")
    quick = app.enqueue_many("noop", [((), {"n": i}) for i in range(20)])
    wait_for(lambda: _timed_out(runaways), 30, message="the four recorded timed out")
    wait_for(
        lambda: all(h.status() == JobStatus.COMPLETED for h in quick),
        30,
        message=lambda: f"the jobs behind them done (a stuck child holds them 61 s)\n{sup.tail()}",
    )
    wait_for(lambda: not pid_alive(first), 30, message="the stuck child (and its burning threads) gone")
    (second,) = children_of(sup.pid)
    assert second != first
    assert "retires; starting a fresh one" in sup.log()
    report = ledger.check(ledger_path, [h.id for h in quick])
    report.assert_ok()
    assert {r.pid for r in report.runs} <= {first, second}

    sup.send(signal.SIGTERM)
    assert sup.wait_exit(30) == 0, sup.tail()
    assert group_members(sup.pid) == []


def test_without_a_supervisor_stuck_threads_are_replaced_and_reported(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    w = procs.worker("--concurrency", "4")
    wait_for(lambda: w.pid in {i.pid for i in app.backend.worker_list(alive_after=0)}, 30, message="it works")
    runaways = _runaways(app)
    wait_for(lambda: all(h.status() == JobStatus.RUNNING for h in runaways), 30, message="all four running")
    quick = app.enqueue_many("noop", [((), {"n": i}) for i in range(20)])
    wait_for(lambda: _timed_out(runaways), 30, message="the four recorded timed out")
    wait_for(lambda: all(h.status() == JobStatus.COMPLETED for h in quick), 30, message=lambda: w.tail())
    ledger.check(ledger_path, [h.id for h in quick]).assert_ok()

    ids = sorted(h.id for h in runaways)
    wait_for(lambda: [(i.stuck, i.running) for i in app.backend.worker_list(alive_after=0)] == [(ids, [])], 10)
    listed = procs.cli("workers", "--json")
    assert listed.returncode == 0, listed.stderr
    (shown,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (shown["pid"], shown["stuck"], shown["stuck_count"], shown["running"]) == (w.pid, ids, 4, [])
    table = procs.cli("workers")
    assert table.returncode == 0 and f"4 {' '.join(ids)}" in table.stdout.replace("\n", " "), table.stdout
    assert w.alive


def test_an_isolated_task_is_killed_at_its_timeout_under_offload_worker(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    sup = procs.supervised_worker("--concurrency", "2")
    (child,) = wait_for(lambda: children_of(sup.pid), 30, message=lambda: f"a worker child\n{sup.tail()}")
    runaway = app.enqueue("spin_isolated", _timeout=1)
    wait_for(lambda: runaway.status() == JobStatus.FAILED, 30, message=lambda: f"the runaway to fail\n{sup.tail()}")
    record = runaway.refresh()
    assert (record.error, record.attempts) == ("timed out after 1s", 2)
    handles = [app.enqueue("whoami_isolated") for _ in range(4)]
    pids = {h.wait(30) for h in handles}
    assert child not in pids and all(pid_alive(p) for p in pids)  # warm children of the worker, reused
    assert children_of(sup.pid) == [child]  # the worker itself was never replaced
    ledger.check(ledger_path, [h.id for h in handles]).assert_ok()
