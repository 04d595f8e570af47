"""``offload worker --processes 2``: dead children are replaced; SIGTERM stops them
all; children of a SIGKILLed supervisor stop by themselves."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import offload
from offload.job import JobStatus
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
