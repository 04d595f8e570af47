"""Task statistics, run history and recent failures."""

from __future__ import annotations

import pytest

from offload.backends.base import Backend
from offload.records import RUNS_KEPT, JobStatus, PruneRule, TaskStats

from .helpers import T0, claim, finish, fresh_queue, insert, make_jobs, outcome, running_job

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


def prune_all(backend: Backend) -> int:
    return backend.job_prune([PruneRule(status=s, before=T0 + 1e9) for s in (JobStatus.COMPLETED, JobStatus.FAILED)])


def test_counters_history_and_failures_survive_pruning(backend: Backend) -> None:
    done = [running_job(backend, task="t", owner="ann", now=T0 + i) for i in range(3)]
    for i, r in enumerate(done):
        finish(backend, r, JobStatus.COMPLETED, now=T0 + 10 + i)
    bad = running_job(backend, task="t", owner="bob", now=T0 + 20, max_attempts=1)
    finish(backend, bad, JobStatus.FAILED, now=T0 + 22.5, error="ValueError: nope")
    before = [(r.id, r.status, r.duration, r.error) for r in backend.job_history("t")]
    assert prune_all(backend) == 4
    assert stats(backend)["t"].succeeded == 3
    history = backend.job_history("t")
    assert [(r.id, r.status, r.duration, r.error) for r in history] == before
    assert [r.id for r in history] == [bad.id, done[2].id, done[1].id, done[0].id]
    kept = history[0]
    assert (kept.task, kept.queue, kept.owner, kept.attempts) == ("t", bad.queue, "bob", 1)
    assert (kept.started_at, kept.completed_at, kept.duration) == (T0 + 20, T0 + 22.5, 2.5)
    assert [r.id for r in backend.job_failures(since=T0)] == [bad.id]
    assert [r.id for r in backend.job_failures(since=T0, owner="bob")] == [bad.id]
    assert backend.job_failures(since=T0, owner="ann") == []
    assert backend.job_failures(since=T0 + 23) == []


def test_a_deleted_job_stays_in_the_history(backend: Backend) -> None:
    r = running_job(backend, task="t")
    finish(backend, r, JobStatus.FAILED, now=T0 + 5, error="boom")
    backend.job_delete(r.id)
    assert backend.job_get(r.id) is None
    assert [(h.id, h.error) for h in backend.job_history("t")] == [(r.id, "boom")]
    assert [f.id for f in backend.job_failures(since=T0)] == [r.id]


def test_history_merges_jobs_in_the_store_and_pruned_ones(backend: Backend) -> None:
    old = running_job(backend, task="t")
    finish(backend, old, JobStatus.COMPLETED, now=T0 + 1)
    backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=T0 + 2)])
    new = running_job(backend, task="t", now=T0 + 3)
    finish(backend, new, JobStatus.COMPLETED, now=T0 + 4)
    assert [r.id for r in backend.job_history("t")] == [new.id, old.id]
    assert [r.id for r in backend.job_history("t", limit=1)] == [new.id]


def finish_many(backend: Backend, task: str, statuses: list[JobStatus], start: float) -> list[str]:
    """Jobs of ``task`` that end one second apart from ``start``, in the given statuses."""
    queue = fresh_queue()
    jobs = make_jobs(len(statuses), task=task, queue=queue, start=start)
    insert(backend, *jobs, now=start)
    running = claim(backend, [queue], limit=len(jobs), now=start)
    assert len(running) == len(jobs)
    order = {j.id: n for n, j in enumerate(jobs)}
    for r in sorted(running, key=lambda r: order[r.id]):
        n = order[r.id]
        backend.job_finish([outcome(r, statuses[n], error="e")], now=start + n)
    return [j.id for j in jobs]


def test_kept_runs_are_bounded_per_task_failures_apart(backend: Backend) -> None:
    failed = finish_many(backend, "t", [JobStatus.FAILED] * 5, T0)
    first = finish_many(backend, "t", [JobStatus.COMPLETED] * (RUNS_KEPT - 10), T0 + 100)
    other = finish_many(backend, "u", [JobStatus.COMPLETED] * 3, T0 + 100)
    prune_all(backend)  # the archive holds 5 failures and RUNS_KEPT - 10 runs of t
    later = finish_many(backend, "t", [JobStatus.COMPLETED] * 20, T0 + 10_000)
    prune_all(backend)
    newest = [*first, *later][::-1][:RUNS_KEPT]  # the 10 oldest of `first` went
    assert [r.id for r in backend.job_history("t", limit=RUNS_KEPT)] == newest
    everything = [r.id for r in backend.job_history("t", limit=RUNS_KEPT + 100)]
    assert everything == newest + failed[::-1]  # older failures are kept besides
    assert [r.id for r in backend.job_failures(since=0, limit=100)] == failed[::-1]
    assert [r.id for r in backend.job_history("u")] == other[::-1]  # another task's are its own


def test_clear_starts_a_task_afresh(backend: Backend) -> None:
    pruned = running_job(backend, task="t")
    finish(backend, pruned, JobStatus.FAILED, now=T0 + 1, error="old")
    prune_all(backend)
    stays = running_job(backend, task="t")
    finish(backend, stays, JobStatus.FAILED, now=T0 + 2, error="old too")
    kept = running_job(backend, task="u")
    finish(backend, kept, JobStatus.FAILED, now=T0 + 3, error="other task")
    late = running_job(backend, task="t", now=T0 + 5)  # running across the clear

    backend.stats_clear("t", now=T0 + 10)
    s = stats(backend)
    assert (s["t"].total, s["t"].total_duration, s["t"].last_run_at, s["t"].last_status) == (0, 0, None, None)
    assert s["u"].failed == 1
    assert backend.job_history("t") == []
    assert [r.id for r in backend.job_failures(since=T0)] == [kept.id]
    assert backend.job_get(stays.id) is not None  # clearing statistics deletes no job

    finish(backend, late, JobStatus.COMPLETED, now=T0 + 11)
    assert [r.id for r in backend.job_history("t")] == [late.id]
    assert (stats(backend)["t"].succeeded, stats(backend)["t"].total) == (1, 1)


def test_clear_every_task(backend: Backend) -> None:
    for task in ("a", "b"):
        finish(backend, running_job(backend, task=task), JobStatus.FAILED, now=T0 + 1, error="x")
    prune_all(backend)
    finish(backend, running_job(backend, task="c"), JobStatus.COMPLETED, now=T0 + 2)
    backend.stats_clear(now=T0 + 3)
    assert {t: s.total for t, s in stats(backend).items()} == {"a": 0, "b": 0, "c": 0}
    assert [backend.job_history(t) for t in ("a", "b", "c")] == [[], [], []]
    assert backend.job_failures(since=0) == []


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
