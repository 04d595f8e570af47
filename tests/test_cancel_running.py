"""Cancelling a running job ends it cancelled, whatever kind of task runs it: one that
checks the flag and returns early, a callback-style one that only reports progress, an
async one. On every store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import offload
from offload import errors
from offload.records import JobStatus
from tests.support.procs import wait_for


@pytest.fixture
def app(store_url: str) -> Iterator[offload.App]:
    app = offload.App(store_url, heartbeat_s=0.1, progress_flush_s=0.05, lease_s=5.0, poll_s=0.2)
    worker: list[offload.Worker] = []
    app.started = worker  # type: ignore[attr-defined]
    yield app
    for w in worker:
        w.stop(grace=0.5, timeout=10)
    app.close()


def run_workers(app: offload.App) -> None:
    app.started.append(app.run_workers(concurrency=2))  # type: ignore[attr-defined]


def test_a_task_that_returns_early_on_the_request_ends_cancelled_and_keeps_its_result(app: offload.App) -> None:
    started = threading.Event()

    @app.task()
    def scan(job: offload.JobContext, pages: int) -> dict[str, int]:
        done = 0
        for _ in range(pages):
            if job.cancel_requested:
                break
            started.set()
            done += 1
            job.set_progress(done, pages)
            threading.Event().wait(0.01)
        return {"scanned": done}

    h = scan.enqueue(100_000)
    run_workers(app)
    wait_for(started.is_set)
    h.cancel()
    with pytest.raises(errors.JobCancelled):
        h.wait(10)
    record = h.refresh()
    assert record.status == JobStatus.CANCELLED
    assert 0 < record.result["scanned"] < 100_000
    assert record.error == "cancelled on request"


def test_a_callback_style_task_stops_at_its_next_report(app: offload.App) -> None:
    reported, after_cancel = threading.Event(), []

    @app.task()
    def render(prompt: str, progress_callback=None) -> str:  # type: ignore[no-untyped-def]
        for frame in range(1, 100_000):
            progress_callback(frame / 1000, f"frame {frame}")
            reported.set()
            if app.backend.job_get(h.id).cancel_requested:
                after_cancel.append(frame)
            threading.Event().wait(0.01)
        return prompt

    h = render.enqueue("cat")
    run_workers(app)
    wait_for(reported.is_set)
    h.cancel()
    assert h.wait(10, raise_on_failure=False) is None
    record = h.refresh()
    assert (record.status, record.result) == (JobStatus.CANCELLED, None)
    assert record.message is not None and record.message.startswith("frame")
    assert len(after_cancel) < 30  # stopped at the report after the worker learnt of the request


def test_an_async_task_is_cancelled_as_before(app: offload.App) -> None:
    started = threading.Event()

    @app.task()
    async def poll() -> None:
        started.set()
        await asyncio.sleep(60)

    h = poll.enqueue()
    run_workers(app)
    wait_for(started.is_set)
    h.cancel()
    assert h.wait(10, raise_on_failure=False) is None
    assert (h.refresh().status, h.refresh().error) == (JobStatus.CANCELLED, "cancelled on request")


def test_a_job_nobody_cancelled_still_completes(app: offload.App) -> None:
    @app.task()
    def legacy(prompt: str, progress_callback=None) -> str:  # type: ignore[no-untyped-def]
        progress_callback(50, "half")
        return prompt

    h = legacy.enqueue("dog")
    run_workers(app)
    assert h.wait(10) == "dog"
    assert h.refresh().status == JobStatus.COMPLETED
