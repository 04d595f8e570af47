"""A sync task that ignores its timeout gives its slot back at once: it is recorded timed
out, another thread takes its place, and the thread that is still busy is reported as
stuck until it returns. On every store."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import offload
from offload import errors
from offload.records import JobStatus
from offload.service import JobService
from offload.service.principal import Principal
from tests.support.procs import wait_for


@pytest.fixture
def app(store_url: str) -> Iterator[offload.App]:
    app = offload.App(store_url, heartbeat_s=0.1, progress_flush_s=0.05, lease_s=5.0, poll_s=0.2)
    yield app
    app.close()


def task_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("offload-task"))


def test_a_task_deaf_to_its_timeout_frees_its_slot_and_is_reported_stuck(app: offload.App) -> None:
    release = threading.Event()

    @app.task(timeout=0.3)
    def deaf() -> str:
        release.wait(30)  # ignores job.cancel_requested
        return "late"

    @app.task()
    def quick(n: int) -> int:
        return n

    before = task_threads()
    worker = app.run_workers(concurrency=1)
    try:
        stuck = deaf.enqueue()
        with pytest.raises(errors.JobFailed, match=r"timed out after 0.3s"):
            stuck.wait(10)
        handles = [quick.enqueue(n) for n in range(20)]
        assert [h.wait(10) for h in handles] == list(range(20))  # the one slot was free again

        assert worker.stuck() == [stuck.id] and worker.health()["stuck"] == [stuck.id]
        wait_for(lambda: [w.stuck for w in app.backend.worker_list(alive_after=0)] == [[stuck.id]])
        [shown] = JobService(app).workers(Principal("admin", admin=True))
        assert (shown["stuck"], shown["stuck_count"]) == ([stuck.id], 1)
        assert task_threads() == before + 2  # the stuck thread and the one in its place

        release.set()  # the deaf task returns at last: its thread ends, its late result is dropped
        wait_for(lambda: worker.stuck() == [] and task_threads() == before + 1)
        wait_for(lambda: [w.stuck for w in app.backend.worker_list(alive_after=0)] == [[]])
        record = stuck.refresh()
        assert (record.status, record.result) == (JobStatus.FAILED, None)
    finally:
        release.set()
        worker.stop(grace=0.5, timeout=10)


def test_a_cooperative_task_stops_at_its_timeout_and_leaves_nothing_stuck(app: offload.App) -> None:
    @app.task(timeout=0.2)
    def polite(job: offload.JobContext) -> None:
        while not job.cancel_requested:
            threading.Event().wait(0.01)

    before = task_threads()
    worker = app.run_workers(concurrency=2)
    try:
        with pytest.raises(errors.JobFailed, match="timed out"):
            polite.enqueue().wait(10)
        wait_for(lambda: worker.stuck() == [] and task_threads() == before + 2)
    finally:
        worker.stop(grace=0.5, timeout=10)


def test_a_job_whose_every_attempt_gets_stuck_counts_a_thread_each(app: offload.App) -> None:
    release = threading.Event()

    @app.task(timeout=0.3, retries=1, backoff=0)
    def deaf() -> None:
        release.wait(30)

    before = task_threads()
    worker = app.run_workers(concurrency=1)
    try:
        h = deaf.enqueue()
        with pytest.raises(errors.JobFailed, match="timed out"):
            h.wait(10)
        assert h.refresh().attempts == 2
        assert worker.stuck() == [h.id, h.id]  # two threads, one per attempt
        assert task_threads() == before + 3
        release.set()
        wait_for(lambda: worker.stuck() == [] and task_threads() == before + 1)
    finally:
        release.set()
        worker.stop(grace=0.5, timeout=10)
