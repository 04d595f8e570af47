"""Per-task statistics survive pruning; history and failures; workers fire schedules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import offload
from offload import stats
from offload.records import JobStatus, PruneRule
from offload.service.stats import failure_json, run_json, summary_json
from tests.support.procs import wait_for


# What `offload stats` and GET /api/stats/... show, read the way they read it.
def task_stats(app: offload.App) -> list[dict[str, Any]]:
    return [summary_json(s) for s in stats.summaries(app.backend)]


def task_history(app: offload.App, task: str) -> list[dict[str, Any]]:
    return [run_json(r) for r in stats.history(app.backend, task)]


def recent_failures(app: offload.App, hours: float) -> list[dict[str, Any]]:
    return [failure_json(r) for r in stats.failures(app.backend, hours=hours)]


def clear_stats(app: offload.App, task: str | None = None) -> None:
    stats.clear(app.backend, task)


@pytest.fixture
def app(store_url: str) -> Iterator[offload.App]:
    app = offload.App(store_url, heartbeat_s=0.1, scheduler_s=0.05, poll_s=0.1)

    @app.task()
    def ok(n: int) -> int:
        return n

    @app.task(retries=0)
    def bad() -> None:
        raise RuntimeError("nope")

    yield app
    app.close()


def test_counters_history_and_failures(app: offload.App) -> None:
    for n in range(5):
        app.enqueue("ok", n)
    app.enqueue("bad")
    assert offload.Worker(app, queues=["default"], concurrency=4, burst=True).run() == 0

    stats = {s["task"]: s for s in task_stats(app)}
    assert (stats["ok"]["total"], stats["ok"]["succeeded"], stats["ok"]["failed"]) == (5, 5, 0)
    assert (stats["bad"]["total"], stats["bad"]["failed"], stats["bad"]["last_status"]) == (1, 1, "failed")
    assert stats["ok"]["avg_duration"] is not None and stats["ok"]["p95_duration"] is not None
    assert len(task_history(app, "ok")) == 5
    (failure,) = recent_failures(app, hours=1)
    assert failure["task"] == "bad" and "RuntimeError: nope" in failure["error"]

    history = task_history(app, "ok")
    app.backend.job_prune([PruneRule(s, before=2e9) for s in (JobStatus.COMPLETED, JobStatus.FAILED)])
    assert app.list_jobs() == []
    after = {s["task"]: s for s in task_stats(app)}
    assert after == stats  # counters, p95 and the last run survive pruning
    assert task_history(app, "ok") == history  # and so do history and failures
    assert recent_failures(app, hours=1) == [failure]


def test_clearing_statistics(app: offload.App) -> None:
    app.enqueue("ok", 1)
    app.enqueue("bad")
    assert offload.Worker(app, queues=["default"], concurrency=2, burst=True).run() == 0
    clear_stats(app, "bad")
    assert recent_failures(app, hours=1) == []  # the failed job is still stored, but no longer counts
    assert task_history(app, "bad") == []
    assert [(s["task"], s["total"]) for s in task_stats(app)] == [("bad", 0), ("ok", 1)]
    clear_stats(app)
    assert [(s["task"], s["total"], s["p95_duration"]) for s in task_stats(app)] == [("bad", 0, None), ("ok", 0, None)]
    app.enqueue("bad")
    assert offload.Worker(app, queues=["default"], concurrency=2, burst=True).run() == 0
    assert [f["task"] for f in recent_failures(app, hours=1)] == ["bad"]


def test_a_running_worker_fires_schedules(app: offload.App) -> None:
    app.schedules.add("ok", args=[7], interval=1)
    worker = app.run_workers(concurrency=2)
    try:
        done = wait_for(lambda: [j for j in app.list_jobs(task="ok") if j.status == JobStatus.COMPLETED], timeout=10)
        assert done[0].result == 7
    finally:
        worker.stop(grace=1, timeout=10)
