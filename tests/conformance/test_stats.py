"""Task statistics, run history and recent failures."""

from __future__ import annotations

import pytest

from offload.backends.base import Backend, PruneRule, TaskStats
from offload.job import JobStatus

from .helpers import T0, finish, running_job

STALE = "0" * 16


def stats(backend: Backend) -> dict[str, TaskStats]:
    return {s.task: s for s in backend.stats_tasks()}


def test_no_stats_at_first(backend: Backend) -> None:
    assert backend.stats_tasks() == []


def test_finished_runs_are_counted(backend: Backend) -> None:
    a = running_job(backend, task="t", now=T0)
    b = running_job(backend, task="t", now=T0)
    c = running_job(backend, task="t", now=T0)
    finish(backend, a, JobStatus.COMPLETED, now=T0 + 2)
    finish(backend, b, JobStatus.FAILED, now=T0 + 3, error="x")
    finish(backend, c, JobStatus.CANCELLED, now=T0 + 4)
    s = stats(backend)["t"]
    assert (s.succeeded, s.failed, s.cancelled, s.total) == (1, 1, 1, 3)
    assert s.total_duration == pytest.approx(5.0, abs=1e-3)  # 2 s + 3 s; cancelled runs don't count
    assert s.last_run_at == pytest.approx(T0 + 4, abs=1e-3)
    assert s.last_status == "cancelled"


def test_by_task_name(backend: Backend) -> None:
    for task in ("b", "a"):
        finish(backend, running_job(backend, task=task), JobStatus.COMPLETED, now=T0 + 1)
    assert [s.task for s in backend.stats_tasks()] == ["a", "b"]


def test_retries_and_refused_writes_are_not_counted(backend: Backend) -> None:
    r = running_job(backend, task="t", max_attempts=3)
    finish(backend, r, JobStatus.RETRYING, now=T0 + 1, error="e", run_at=T0 + 10)
    finish(backend, r, JobStatus.COMPLETED, now=T0 + 2)  # stale: the lease is gone
    finish(backend, running_job(backend, task="u"), JobStatus.COMPLETED, token=STALE, now=T0 + 3)
    assert stats(backend) == {}


def test_worker_lost_counts_as_failed(backend: Backend) -> None:
    running_job(backend, task="t", lease_s=10, max_attempts=1)
    running_job(backend, task="t", lease_s=10, max_attempts=2)  # goes back to queued: not a finished run
    backend.job_recover(now=T0 + 11)
    s = stats(backend)["t"]
    assert (s.succeeded, s.failed, s.cancelled) == (0, 1, 0)
    assert s.last_status == "failed"


def test_counters_survive_pruning(backend: Backend) -> None:
    for _ in range(3):
        finish(backend, running_job(backend, task="t"), JobStatus.COMPLETED, now=T0 + 1)
    backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=T0 + 1e9)])
    assert stats(backend)["t"].succeeded == 3
    assert backend.job_history("t") == []


def test_history_most_recently_finished_first(backend: Backend) -> None:
    first = running_job(backend, task="t", now=T0)
    second = running_job(backend, task="t", now=T0 + 1)
    running = running_job(backend, task="t", now=T0 + 2)
    other = running_job(backend, task="u", now=T0 + 3)
    finish(backend, second, JobStatus.FAILED, now=T0 + 10, error="x")
    finish(backend, first, JobStatus.COMPLETED, now=T0 + 20)
    finish(backend, other, JobStatus.COMPLETED, now=T0 + 30)
    assert [j.id for j in backend.job_history("t")] == [first.id, second.id]
    assert [j.id for j in backend.job_history("t", limit=1)] == [first.id]
    assert running.id not in {j.id for j in backend.job_history("t")}
    assert backend.job_history("nobody") == []


def test_failures_since(backend: Backend) -> None:
    old = running_job(backend, task="t")
    new = running_job(backend, task="u")
    ok = running_job(backend, task="t")
    finish(backend, old, JobStatus.FAILED, now=T0 + 10, error="old")
    finish(backend, new, JobStatus.FAILED, now=T0 + 20, error="new")
    finish(backend, ok, JobStatus.COMPLETED, now=T0 + 30)
    assert [j.id for j in backend.job_failures(since=T0)] == [new.id, old.id]
    assert [j.id for j in backend.job_failures(since=T0 + 10)] == [new.id, old.id]  # "at or after"
    assert [j.id for j in backend.job_failures(since=T0 + 11)] == [new.id]
    assert [j.id for j in backend.job_failures(since=T0, limit=1)] == [new.id]
    assert backend.job_failures(since=T0 + 21) == []
