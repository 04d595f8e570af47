"""The worker in-process: progress, retries, timeouts, cancellation, ordering, fencing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

import offload
from offload import errors
from offload.records import JobStatus
from offload.service.views import job_json
from tests.support.procs import wait_for


@pytest.fixture
def app(sqlite_url: str) -> Iterator[offload.App]:
    app = offload.App(sqlite_url, heartbeat_s=0.1, progress_flush_s=0.05, lease_s=5.0, poll_s=0.2)
    yield app
    app.close()


@pytest.fixture
def workers(app: offload.App) -> Iterator[list[offload.Worker]]:
    started: list[offload.Worker] = []
    yield started
    for w in started:
        w.stop(grace=0.5, timeout=10)


def start(app: offload.App, workers: list[offload.Worker], concurrency: int = 4) -> offload.Worker:
    w = app.run_workers(concurrency=concurrency)
    workers.append(w)
    return w


def test_progress_and_messages_are_seen_while_running(app: offload.App, workers: list) -> None:
    halfway, finish = threading.Event(), threading.Event()

    @app.task()
    def report(job: offload.JobContext) -> str:
        job.add_message("Starting")
        job.set_progress(5, 10)
        job.add_message("Halfway")
        halfway.set()
        finish.wait(10)
        job.set_progress(10)
        job.add_message("Done")
        return "ok"

    h = report.enqueue()
    start(app, workers)
    wait_for(halfway.is_set)
    seen = wait_for(lambda: (r := h.refresh()).progress == 50 and r, message="progress 50%")
    assert seen.status == JobStatus.RUNNING
    assert [m["message"] for m in seen.messages] == ["Starting", "Halfway"]
    assert seen.message == "Halfway"
    finish.set()
    assert h.wait(10) == "ok"
    done = h.refresh()
    assert [m["message"] for m in done.messages] == ["Starting", "Halfway", "Done"]
    assert (done.progress_current, done.progress_total, done.progress) == (10, 10, 100.0)
    types = [e.type for e in app.backend.event_list(job_id=h.id)]
    assert types.count("message") == 3 and "progress" in types


def test_progress_writes_are_coalesced_and_the_last_lands(app: offload.App, workers: list) -> None:
    @app.task()
    def chatty(job: offload.JobContext) -> None:
        for i in range(1, 20_001):
            job.set_progress(i, 20_000)

    h = chatty.enqueue()
    start(app, workers)
    h.wait(30)
    record = h.refresh()
    assert (record.progress_current, record.progress_total) == (20_000, 20_000)
    progress_events = [e for e in app.backend.event_list(job_id=h.id, limit=50_000) if e.type == "progress"]
    assert 1 <= len(progress_events) < 200  # 20,000 calls, a handful of writes
    assert progress_events[-1].data["current"] == 20_000


def test_bad_progress_fails_the_call_and_odd_numbers_pass(app: offload.App, workers: list) -> None:
    class Ratio(float):  # a float subclass, as numeric libraries hand out
        pass

    @app.task()
    def reporter(job: offload.JobContext) -> list[str]:
        refused = []
        for current, total in [(True, 10), (float("nan"), 10), ("3", 10), (1, -1), (1, float("inf"))]:
            try:
                job.set_progress(current, total)
            except ValueError as exc:
                refused.append(str(exc))
        job.set_progress(Ratio(2.5), 10)
        job.set_progress(5)  # the total stays
        return refused

    h = reporter.enqueue()
    start(app, workers)
    refused = h.wait(10)
    assert refused == [
        "set_progress: current must be a finite number, got True",
        "set_progress: current must be a finite number, got nan",
        "set_progress: current must be a finite number, got '3'",
        "set_progress: total must be >= 0, got -1",
        "set_progress: total must be a finite number, got inf",
    ]
    record = h.refresh()
    assert (record.progress_current, record.progress_total) == (5, 10)


def test_four_jobs_run_at_the_same_time(app: offload.App, workers: list) -> None:
    """Seed 000: four users' fetches run side by side, not one after another."""
    barrier = threading.Barrier(4, timeout=10)

    @app.task()
    def fetch(account: str) -> str:
        barrier.wait()  # passes only when all four are running at once
        return account

    handles = [fetch.enqueue(f"user{i}") for i in range(4)]
    start(app, workers, concurrency=4)
    assert [h.wait(15) for h in handles] == [f"user{i}" for i in range(4)]


def test_retries_with_backoff_then_success(app: offload.App, workers: list) -> None:
    @app.task(retries=3, backoff=0.01)
    def flaky(job: offload.JobContext) -> int:
        if job.attempt < 3:
            raise ConnectionError(f"attempt {job.attempt}")
        return job.attempt

    h = flaky.enqueue()
    start(app, workers)
    assert h.wait(10) == 3
    record = h.refresh()
    assert (record.attempts, record.max_attempts, record.error) == (3, 4, None)
    statuses = [e.data["status"] for e in app.backend.event_list(job_id=h.id) if e.type == "status"]
    assert statuses == ["queued", "running", "retrying", "running", "retrying", "running", "completed"]


def test_failure_without_attempts_left_keeps_error_and_traceback(app: offload.App, workers: list) -> None:
    @app.task(retries=1, backoff=0)
    def broken() -> None:
        raise RuntimeError("model server answered 500")

    h = broken.enqueue()
    start(app, workers)
    with pytest.raises(errors.JobFailed, match="RuntimeError: model server answered 500"):
        h.wait(10)
    record = h.refresh()
    assert record.status == JobStatus.FAILED and record.attempts == 2
    assert "Traceback" in (record.traceback or "") and "model server" in (record.traceback or "")
    assert job_json(record)["error"] == {"message": "RuntimeError: model server answered 500"}
    assert "traceback" in job_json(record, include_traceback=True)["error"]


def test_explicit_retry_request(app: offload.App, workers: list) -> None:
    @app.task(retries=1, backoff=3600)
    def later(job: offload.JobContext) -> str:
        if job.attempt == 1:
            raise offload.Retry(delay=0.05, reason="rate limited")
        return "second"

    h = later.enqueue()
    start(app, workers)
    assert h.wait(10) == "second"  # the task's own delay (0.05 s), not the 1-hour backoff


def test_retry_request_without_attempts_left_fails_with_its_reason(app: offload.App, workers: list) -> None:
    @app.task()
    def once() -> None:
        raise offload.Retry(reason="quota exhausted")

    h = once.enqueue()
    start(app, workers)
    with pytest.raises(errors.JobFailed, match="quota exhausted"):
        h.wait(10)


def test_dont_retry_for(app: offload.App, workers: list) -> None:
    @app.task(retries=5, backoff=0, dont_retry_for=(ValueError,))
    def strict(value: str) -> None:
        raise ValueError(f"bad value {value}")

    h = strict.enqueue("x")
    start(app, workers)
    with pytest.raises(errors.JobFailed, match="ValueError: bad value x"):
        h.wait(10)
    assert h.refresh().attempts == 1


def test_result_that_is_not_json_fails_clearly(app: offload.App, workers: list) -> None:
    @app.task(retries=3)
    def returns_set() -> set[int]:
        return {1, 2}

    h = returns_set.enqueue()
    start(app, workers)
    with pytest.raises(errors.JobFailed, match="result of task 'returns_set' is not JSON"):
        h.wait(10)
    assert h.refresh().attempts == 1  # not retried: it would fail the same way


def test_sync_timeout(app: offload.App, workers: list) -> None:
    @app.task(timeout=0.2)
    def slow(job: offload.JobContext) -> None:
        while not job.cancel_requested:  # cooperative: stops once timed out
            threading.Event().wait(0.01)

    h = slow.enqueue()
    start(app, workers, concurrency=1)
    with pytest.raises(errors.JobFailed, match=r"timed out after 0.2s"):
        h.wait(10)

    @app.task()
    def quick() -> str:
        return "slot freed"

    assert quick.enqueue().wait(10) == "slot freed"


def test_async_timeout_cancels_the_coroutine(app: offload.App, workers: list) -> None:
    cancelled = threading.Event()

    @app.task(timeout=0.2, retries=1, backoff=0)
    async def hangs() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    h = hangs.enqueue()
    start(app, workers)
    with pytest.raises(errors.JobFailed, match="timed out after 0.2s"):
        h.wait(10)
    assert cancelled.is_set() and h.refresh().attempts == 2


def test_cancel_waiting_job_at_once(app: offload.App) -> None:
    @app.task()
    def never() -> None: ...

    h = never.enqueue(_delay=60)
    assert h.cancel().status == JobStatus.CANCELLED
    with pytest.raises(errors.InvalidTransition):
        h.cancel()


def test_cancel_running_sync_job_is_cooperative(app: offload.App, workers: list) -> None:
    started = threading.Event()

    @app.task()
    def loop(job: offload.JobContext) -> None:
        started.set()
        while True:
            job.check_cancelled()
            threading.Event().wait(0.01)

    h = loop.enqueue()
    start(app, workers)
    wait_for(started.is_set)
    assert h.cancel().status == JobStatus.RUNNING  # requested; the worker decides
    with pytest.raises(errors.JobCancelled):
        h.wait(10)
    assert h.refresh().status == JobStatus.CANCELLED


def test_cancel_running_async_job_is_real(app: offload.App, workers: list) -> None:
    started = threading.Event()

    @app.task()
    async def render() -> None:
        started.set()
        await asyncio.sleep(60)  # never checks anything

    h = render.enqueue()
    start(app, workers)
    wait_for(started.is_set)
    h.cancel()
    assert h.wait(10, raise_on_failure=False) is None
    assert h.refresh().status == JobStatus.CANCELLED


def test_job_that_ignores_a_cancel_request_ends_cancelled_with_its_result(app: offload.App, workers: list) -> None:
    started, go = threading.Event(), threading.Event()

    @app.task()
    def stubborn() -> str:
        started.set()
        go.wait(10)
        return "finished anyway"

    h = stubborn.enqueue()
    start(app, workers)
    wait_for(started.is_set)
    h.cancel()
    wait_for(lambda: app.backend.job_get(h.id).cancel_requested)
    go.set()
    assert h.wait(10, raise_on_failure=False) == "finished anyway"
    assert h.refresh().status == JobStatus.CANCELLED


def test_priority_then_age_order(app: offload.App, workers: list) -> None:
    order: list[str] = []

    @app.task()
    def record(name: str) -> None:
        order.append(name)

    record.enqueue("low-1", _priority=0)
    record.enqueue("high", _priority=10)
    record.enqueue("low-2", _priority=0)
    record.enqueue("mid", _priority=5)
    last = record.enqueue("lowest", _priority=-1)
    start(app, workers, concurrency=1)
    last.wait(10)
    assert order == ["high", "mid", "low-1", "low-2", "lowest"]


def test_manual_retry_of_failed_job(app: offload.App, workers: list) -> None:
    fail = threading.Event()
    fail.set()

    @app.task()
    def sometimes() -> str:
        if fail.is_set():
            raise RuntimeError("down")
        return "up"

    h = sometimes.enqueue()
    start(app, workers)
    with pytest.raises(errors.JobFailed):
        h.wait(10)
    fail.clear()
    assert h.retry().status == JobStatus.QUEUED
    assert h.wait(10) == "up"
    assert h.refresh().attempts == 1


def test_legacy_progress_callback(app: offload.App, workers: list) -> None:
    @app.task()
    def legacy(prompt: str, progress_callback=None) -> str:  # type: ignore[no-untyped-def]
        progress_callback(40, "Generating frame 12/30")
        return prompt

    h = legacy.enqueue("cat")
    start(app, workers)
    assert h.wait(10) == "cat"
    record = h.refresh()
    assert (record.progress_current, record.progress_total, record.message) == (40, 100, "Generating frame 12/30")


def test_lost_lease_stops_the_run_and_its_writes_are_ignored(app: offload.App, workers: list) -> None:
    started, saw_cancel = threading.Event(), threading.Event()

    @app.task(retries=1)
    def long(job: offload.JobContext) -> str:
        started.set()
        wait_for(lambda: job.cancel_requested, timeout=10)
        saw_cancel.set()
        return "stale result"

    h = long.enqueue()
    start(app, workers)
    wait_for(started.is_set)
    app.backend.queue_pause("default", True)  # nobody may take it back before we look
    recovered = app.backend.job_recover(now=time.time() + 3600)
    assert [r.id for r in recovered] == [h.id]
    wait_for(saw_cancel.is_set)
    record = wait_for(lambda: (r := h.refresh()).status == JobStatus.QUEUED and r.worker_id is None and r)
    assert record.result is None and "worker lost" in (record.error or "")


def test_graceful_stop_puts_unfinished_jobs_back(app: offload.App) -> None:
    started = threading.Event()

    @app.task(retries=2)
    def endless(job: offload.JobContext) -> None:
        started.set()
        while True:
            threading.Event().wait(0.01)

    @app.task()
    def quick() -> None: ...

    h = endless.enqueue()
    w = app.run_workers(concurrency=2)
    wait_for(started.is_set)
    w.stop(grace=0.2, timeout=10)
    record = h.refresh()
    assert (record.status, record.attempts, record.worker_id) == (JobStatus.QUEUED, 0, None)


def test_retention_prunes_without_any_cron(sqlite_url: str, workers: list) -> None:
    app = offload.App(sqlite_url, keep_completed=2, prune_every_s=0.05, heartbeat_s=0.1)

    @app.task()
    def noop(n: int) -> int:
        return n

    @app.task(keep_completed=10)
    def precious(n: int) -> int:
        return n

    for n in range(6):
        noop.enqueue(n)
    for n in range(4):
        precious.enqueue(n)
    start(app, workers)
    wait_for(lambda: app.backend.stats_tasks() and sum(s.succeeded for s in app.backend.stats_tasks()) == 10)
    wait_for(lambda: len(app.list_jobs(task="noop", limit=100)) == 2, message="pruned to 2")
    assert [j.status for j in app.list_jobs(task="precious", limit=100)] == [JobStatus.COMPLETED] * 4


def test_wait_timeout(app: offload.App) -> None:
    @app.task()
    def idle() -> None: ...

    with pytest.raises(errors.WaitTimeout, match="still queued"):
        idle.enqueue().wait(0.05)


def test_burst_worker_returns_when_empty(app: offload.App) -> None:
    @app.task()
    def noop(n: int) -> int:
        return n * 2

    handles = noop.enqueue_many([(n,) for n in range(300)])
    code = offload.Worker(app, queues=["default"], concurrency=8, burst=True).run()
    assert code == 0
    assert app.backend.job_counts()["default"] == {"completed": 300}
    assert handles[-1].result == 598
