"""Cancellation, timeouts, priorities and start-up errors, with real worker processes."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from offload import demo
from offload.records import JobStatus
from offload.task import Task
from tests.support import ledger
from tests.support.procs import Procs, children_of, wait_for


@pytest.fixture
def demo_app(url: str) -> Iterator[offload.App]:
    app = offload.App(url)
    for name, task in demo.app.tasks.items():
        app.tasks[name] = Task(app, task.fn, name, task.options)
    try:
        yield app
    finally:
        app.close()


def test_cancel_from_the_cli_stops_running_sync_and_async_jobs(procs: Procs, demo_app: offload.App) -> None:
    worker = procs.worker("--concurrency", "4", app="offload.demo:app", env={"OFFLOAD_HEARTBEAT_S": "0.2"})
    video = demo_app.enqueue("generate_video", "long", frames=600, speed=0.05)  # 30 s, checks for cancel
    batch = demo_app.enqueue("annotate_batch", [f"item {i}" for i in range(100)], speed=0.1)  # async, 20 s
    for h in (video, batch):
        wait_for(
            lambda h=h: (r := h.refresh()).status == JobStatus.RUNNING and r.progress > 0,
            30,
            message=lambda h=h: f"{h.id} running\n{worker.tail()}",
        )
        out = procs.cli("jobs", "cancel", h.id)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"{h.id} cancel requested"
    for h in (video, batch):
        r = wait_for(
            lambda h=h: (r := h.refresh()).status != JobStatus.RUNNING and r,
            30,
            message=lambda h=h: f"{h.id} to stop\n{worker.tail()}",
        )
        assert r.status == JobStatus.CANCELLED, r
        assert r.error == "cancelled on request"
        assert 0 < r.progress < 100
        assert r.attempts == 1
    assert worker.alive


def test_a_timed_out_sync_task_fails_and_frees_its_slot_by_recycling_the_child(procs: Procs, app: offload.App) -> None:
    sup = procs.worker("--processes", "2", "--concurrency", "1", "--grace", "1", name="supervisor")
    kids = wait_for(
        lambda: (k := children_of(sup.pid)) and len(k) == 2 and k, 30, message=lambda: f"two children\n{sup.tail()}"
    )
    stuck = app.enqueue("hang", 60, _timeout=0.5)
    r = wait_for(
        lambda: (r := stuck.refresh()).status == JobStatus.FAILED and r,
        30,
        message=lambda: f"the hung job to time out, now {stuck.refresh()}\n{sup.tail()}",
    )
    assert r.error == "timed out after 0.5s"
    wait_for(lambda: "recycling this process" in sup.log(), 10, message=lambda: sup.tail())
    wait_for(
        lambda: (k := children_of(sup.pid)) and len(k) == 2 and set(k) != set(kids),
        30,
        message=lambda: f"a fresh child\n{sup.tail()}",
    )
    handles = app.enqueue_many("noop", [((), {"n": i}) for i in range(20)])
    assert [h.wait(30) for h in handles] == list(range(20))


def test_higher_priority_jobs_start_first(procs: Procs, app: offload.App, ledger_path: Path) -> None:
    low = [app.enqueue("noop", i, _priority=0) for i in range(3)]
    high = [app.enqueue("noop", 10 + i, _priority=5) for i in range(3)]
    mid = app.enqueue("noop", 20, _priority=2)
    worker = procs.worker("--burst", "--concurrency", "1")
    assert worker.wait_exit(30) == 0, worker.tail()
    order = [r.job_id for r in ledger.read(ledger_path)]
    assert order == [h.id for h in [*high, mid, *low]]


def test_a_job_whose_task_the_worker_lacks_waits_for_one_that_has_it(procs: Procs, app: offload.App) -> None:
    job = app.enqueue("noop", 1)
    other = procs.worker("--concurrency", "2", app="offload.demo:app")
    wait_for(lambda: other.pid in {w.pid for w in app.backend.worker_list(alive_after=0)}, 30, message=other.tail)
    kwargs = '{"items": ["a"], "speed": 0.01}'
    theirs = procs.cli("enqueue", "annotate_batch", "--app", "offload.demo:app", "--kwargs", kwargs)
    assert theirs.returncode == 0, theirs.stderr
    wait_for(lambda: app.backend.job_get(theirs.stdout.strip()).status == JobStatus.COMPLETED, 30)
    assert job.refresh().status == JobStatus.QUEUED  # left for a worker that has the task, not failed

    shown = procs.cli("jobs", "show", job.id)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["waiting_reason"] == "no live worker serves task 'noop'"

    mine = procs.worker("--burst")
    assert mine.wait_exit(30) == 0, mine.tail()
    assert (job.refresh().status, job.refresh().attempts) == (JobStatus.COMPLETED, 1)
    assert json.loads(procs.cli("jobs", "show", job.id).stdout)["waiting_reason"] is None


def test_a_worker_on_a_store_it_cannot_open_exits_with_a_clear_error(procs: Procs, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "jobs.db"
    worker = procs.worker(env={"OFFLOAD_URL": f"sqlite:///{missing}"})
    assert worker.wait_exit(30) != 0
    log = worker.log()
    assert "does not exist" in log and str(missing.parent) in log
    assert "Traceback" not in log


def test_an_async_task_past_its_timeout_is_cancelled_and_fails(procs: Procs, demo_app: offload.App) -> None:
    worker = procs.worker("--concurrency", "2", app="offload.demo:app")
    slow = demo_app.enqueue("annotate_batch", ["a", "b", "c", "d"], speed=1.0, _timeout=0.5, _retries=0)
    r = wait_for(
        lambda: (r := slow.refresh()).status == JobStatus.FAILED and r,
        30,
        message=lambda: f"the async job to time out, now {slow.refresh()}\n{worker.tail()}",
    )
    assert r.error == "timed out after 0.5s"
    assert r.attempts == 1
    assert worker.alive


def test_a_cancel_request_survives_the_worker_giving_the_job_back(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    """Cancel asked while the job runs (in a task that doesn't look), then the worker
    is stopped and releases the job: the job must not run again."""
    worker = procs.worker("--concurrency", "1", "--grace", "0.5", env={"OFFLOAD_HEARTBEAT_S": "0.2"}, name="first")
    job = app.enqueue("stubborn", 30, _max_attempts=3)
    wait_for(lambda: _ledger_runs(ledger_path, job.id), 30, message=lambda: f"the job to start\n{worker.tail()}")
    out = procs.cli("jobs", "cancel", job.id)
    assert out.stdout.strip() == f"{job.id} cancel requested", out.stderr
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(15) == 0, worker.tail()

    after_release = job.refresh()
    assert after_release.cancel_requested or after_release.status == JobStatus.CANCELLED
    second = procs.worker("--concurrency", "1", "--grace", "0.5", name="second")
    wait_for(lambda: second.log().count("started"), 30, message=lambda: second.tail())
    r = wait_for(
        lambda: (r := job.refresh()).status != JobStatus.QUEUED and r,
        30,
        message=lambda: f"the job to leave queued, now {job.refresh()}",
    )
    assert after_release.status == JobStatus.CANCELLED, f"a released job lost its cancel request: {after_release}"
    assert r.status == JobStatus.CANCELLED
    assert len(_ledger_runs(ledger_path, job.id)) == 1


def _ledger_runs(path: Path, job_id: str) -> list[ledger.Run]:
    return [r for r in ledger.read(path) if r.job_id == job_id]


def test_worker_prunes_finished_jobs_beyond_the_retention_count(procs: Procs, app: offload.App) -> None:
    handles = app.enqueue_many("noop", [((), {"n": i}) for i in range(30)])
    worker = procs.worker("--concurrency", "4", env={"OFFLOAD_KEEP_COMPLETED": "5", "OFFLOAD_PRUNE_EVERY_S": "0.3"})
    wait_for(
        lambda: len(app.list_jobs(limit=1000)) == 5,
        30,
        message=lambda: f"retention to keep 5 jobs, have {len(app.list_jobs(limit=1000))}\n{worker.tail()}",
    )
    kept = app.list_jobs(limit=1000)
    assert {r.status for r in kept} == {JobStatus.COMPLETED}
    assert {r.id for r in kept} <= {h.id for h in handles}
    assert "retention: pruned" in worker.log()
