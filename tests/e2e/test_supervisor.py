"""``offload worker`` (under its supervisor, with one child or ``--processes N``): dead
children are replaced; SIGTERM stops them all, a second one at once; children of a
SIGKILLed supervisor stop by themselves; a child that can't start ends it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, children_of, group_members, pid_alive, wait_for


def _two_children(supervisor_pid: int) -> list[int]:
    kids = children_of(supervisor_pid)
    return kids if len(kids) == 2 else []


def _registered(app: offload.App, pids: list[int]) -> bool:
    return set(pids) <= {w.pid for w in app.backend.worker_list(alive_after=0)}


def test_supervisor_replaces_a_killed_child_and_stops_all_on_sigterm(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    sup = procs.worker("--processes", "2", "--concurrency", "2", "--grace", "5", name="supervisor")
    kids = wait_for(lambda: _two_children(sup.pid), 30, message=lambda: f"two children\n{sup.tail()}")
    wait_for(lambda: _registered(app, kids), 30, message=lambda: f"children working\n{sup.tail()}")

    victim, other = kids
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not pid_alive(victim), 10, message="the killed child to go")
    new_kids = wait_for(
        lambda: (k := _two_children(sup.pid)) and victim not in k and k,
        30,
        message=lambda: f"a replacement child\n{sup.tail()}",
    )
    assert other in new_kids
    (replacement,) = set(new_kids) - {other}
    wait_for(lambda: _registered(app, [replacement]), 30, message="the replacement to work")

    handles = app.enqueue_many("noop", [((), {"n": i}) for i in range(200)])
    wait_for(
        lambda: all(h.status() == JobStatus.COMPLETED for h in handles),
        60,
        message=lambda: f"jobs done under the supervisor\n{sup.tail()}",
    )
    report = ledger.check(ledger_path, [h.id for h in handles])
    report.assert_ok()
    assert {r.pid for r in report.runs} <= set(new_kids)
    assert "restarting" in sup.log()

    sup.send(signal.SIGTERM)
    assert sup.wait_exit(30) == 0, sup.tail()
    assert group_members(sup.pid) == [], "children outlived their supervisor"
    assert not any(pid_alive(p) for p in new_kids)


def test_children_of_a_killed_supervisor_stop_by_themselves(procs: Procs, app: offload.App) -> None:
    sup = procs.worker("--processes", "2", "--concurrency", "2", "--grace", "2", name="supervisor")
    kids = wait_for(lambda: _two_children(sup.pid), 30, message=lambda: f"two children\n{sup.tail()}")
    wait_for(lambda: _registered(app, kids), 30, message=lambda: f"children working\n{sup.tail()}")
    busy = app.enqueue("sleep_for", 0.5)
    wait_for(lambda: busy.status() != JobStatus.QUEUED, 30, message="a child to take the job")

    sup.kill9()
    wait_for(
        lambda: not group_members(sup.pid),
        30,
        message=lambda: f"orphaned children {group_members(sup.pid)} to exit\n{sup.tail()}",
    )
    assert busy.refresh().status in (JobStatus.COMPLETED, JobStatus.QUEUED)
    assert "supervisor is gone" in sup.log()


def test_sigterm_stops_a_supervisor_that_is_waiting_to_restart_a_child(procs: Procs, app: offload.App) -> None:
    sup = procs.worker("--processes", "2", "--concurrency", "1", "--grace", "2", name="supervisor")
    kids = wait_for(lambda: _two_children(sup.pid), 30, message=lambda: f"two children\n{sup.tail()}")
    wait_for(lambda: _registered(app, kids), 30, message=lambda: f"children working\n{sup.tail()}")
    victim, other = kids

    # Kill one slot's child twice: the second restart waits 1 s (backoff).
    os.kill(victim, signal.SIGKILL)
    kids = wait_for(
        lambda: (k := _two_children(sup.pid)) and victim not in k and k,
        30,
        message=lambda: f"a replacement child\n{sup.tail()}",
    )
    (replacement,) = set(kids) - {other}
    os.kill(replacement, signal.SIGKILL)
    wait_for(
        lambda: "exited with -9; restarting in 1.0s" in sup.log(),
        10,
        message=lambda: f"the second restart to be scheduled\n{sup.tail()}",
    )

    sup.send(signal.SIGTERM)  # while the slot waits for its restart
    assert sup.wait_exit(10) == 0, sup.tail()
    assert group_members(sup.pid) == []


def test_the_default_worker_survives_a_task_that_kills_its_process(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    """`offload worker` runs under the supervisor: a poison pill kills the child, not
    the worker; the job ends failed after its attempts, and later jobs still run."""
    sup = procs.supervised_worker("--concurrency", "2", env={"OFFLOAD_LEASE_S": "2", "OFFLOAD_HEARTBEAT_S": "0.2"})
    wait_for(lambda: len(children_of(sup.pid)) == 1, 30, message=lambda: f"a child\n{sup.tail()}")
    pill = app.enqueue("kill_own_worker", _max_attempts=2)
    wait_for(lambda: pill.status() == JobStatus.FAILED, 60, message=lambda: f"the pill to fail\n{sup.tail()}")
    assert "worker lost" in (pill.refresh().error or "")
    after = app.enqueue("noop", 5)
    assert after.wait(30) == 5
    assert sup.alive and "restarting in" in sup.log()
    runs = [r for r in ledger.read(ledger_path) if r.job_id == pill.id]
    assert [r.outcome for r in runs] == [None, None]  # each attempt killed its process
    assert len({r.pid for r in runs}) == 2 and not any(pid_alive(r.pid) for r in runs)


def test_a_second_signal_to_the_supervisor_stops_at_once(procs: Procs, app: offload.App, tmp_path: Path) -> None:
    sup = procs.supervised_worker("--concurrency", "1", "--grace", "60")
    job = app.enqueue("wait_for_file", str(tmp_path / "never"), _max_attempts=3)
    wait_for(lambda: job.status() == JobStatus.RUNNING, 30, message=lambda: f"the job running\n{sup.tail()}")
    sup.send(signal.SIGTERM)
    wait_for(lambda: "stops claiming; running jobs get 60s" in sup.log(), 10, message=sup.tail)
    assert sup.alive and job.status() == JobStatus.RUNNING  # the first signal: a grace period
    sup.send(signal.SIGTERM)
    assert sup.wait_exit(15) == 0, sup.tail()
    assert group_members(sup.pid) == []
    record = job.refresh()
    assert (record.status, record.attempts) == (JobStatus.QUEUED, 0)  # given back, the attempt refunded


def test_a_child_that_cannot_start_ends_the_supervisor_with_a_clear_error(procs: Procs, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "jobs.db"
    sup = procs.supervised_worker("--processes", "2", env={"OFFLOAD_URL": f"sqlite:///{missing}"})
    assert sup.wait_exit(30) == 1
    log = sup.log()
    assert "does not exist" in log and "failed before it started" in log and "Traceback" not in log
    assert group_members(sup.pid) == []
