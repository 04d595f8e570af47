"""job_prune: retention rules by age and by count, per task, in bounded batches.

A rule deletes the jobs in its status that ended before ``before``, and also those beyond
the newest ``keep`` of them (either limit alone is enough to go).
"""

from __future__ import annotations

import pytest

from offload.backends.base import Backend
from offload.records import TERMINAL, WAITING, JobFilter, JobStatus, PruneRule

from .helpers import T0, finish, get, insert_one, job_in, running_job

NEVER = 0.0  # a ``before`` no job ended before: the rule prunes by count only
ALWAYS = T0 + 1e9


def ended(backend: Backend, status: JobStatus, at: float, *, task: str = "tests.noop") -> str:
    """A job that reached ``status`` at ``at``."""
    if status == JobStatus.CANCELLED:
        job_id = insert_one(backend, now=at, task=task)
        backend.job_cancel(job_id, now=at)
        return job_id
    r = running_job(backend, now=at, task=task)
    assert finish(backend, r, status, now=at, error="e" if status == JobStatus.FAILED else None) == {r.id}
    return r.id


def remaining(backend: Backend, ids: list[str]) -> list[str]:
    return [i for i in ids if backend.job_get(i) is not None]


def all_ids(backend: Backend) -> set[str]:
    return {j.id for j in backend.job_list(JobFilter(limit=10_000))}


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_prune_by_age(backend: Backend, status: JobStatus) -> None:
    ids = [ended(backend, status, T0 + i * 100) for i in range(5)]  # ended at T0 .. T0+400
    n = backend.job_prune([PruneRule(status=status, before=T0 + 250)])
    assert n == 3
    assert remaining(backend, ids) == ids[3:]


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_prune_by_count_keeps_the_newest(backend: Backend, status: JobStatus) -> None:
    ids = [ended(backend, status, T0 + i * 100) for i in range(5)]
    n = backend.job_prune([PruneRule(status=status, before=NEVER, keep=2)])
    assert n == 3
    assert remaining(backend, ids) == ids[3:]


def test_prune_by_count_newest_by_end_time_not_by_id(backend: Backend) -> None:
    first = running_job(backend, now=T0)
    second = running_job(backend, now=T0 + 1)
    finish(backend, second, JobStatus.COMPLETED, now=T0 + 10)
    finish(backend, first, JobStatus.COMPLETED, now=T0 + 20)  # the older job ended last
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=NEVER, keep=1)]) == 1
    assert remaining(backend, [first.id, second.id]) == [first.id]


def test_keep_zero_deletes_all_of_the_status(backend: Backend) -> None:
    ids = [ended(backend, JobStatus.COMPLETED, T0 + i) for i in range(3)]
    other = ended(backend, JobStatus.FAILED, T0)
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=NEVER, keep=0)]) == 3
    assert remaining(backend, ids) == []
    assert backend.job_get(other) is not None


def test_keep_more_than_there_are(backend: Backend) -> None:
    ids = [ended(backend, JobStatus.COMPLETED, T0 + i) for i in range(3)]
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=NEVER, keep=10)]) == 0
    assert remaining(backend, ids) == ids


def test_age_and_count_together(backend: Backend) -> None:
    ids = [ended(backend, JobStatus.COMPLETED, T0 + i * 100) for i in range(6)]
    # age takes the first two; count keeps the newest three of the rest
    n = backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=T0 + 150, keep=3)])
    assert n == 3
    assert remaining(backend, ids) == ids[3:]


def test_rule_touches_only_its_status(backend: Backend) -> None:
    completed = ended(backend, JobStatus.COMPLETED, T0)
    failed = ended(backend, JobStatus.FAILED, T0)
    cancelled = ended(backend, JobStatus.CANCELLED, T0)
    assert backend.job_prune([PruneRule(status=JobStatus.FAILED, before=ALWAYS, keep=0)]) == 1
    assert remaining(backend, [completed, failed, cancelled]) == [completed, cancelled]


def test_per_task_rule(backend: Backend) -> None:
    a = [ended(backend, JobStatus.COMPLETED, T0 + i, task="a") for i in range(3)]
    b = [ended(backend, JobStatus.COMPLETED, T0 + i, task="b") for i in range(3)]
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=ALWAYS, task="a")]) == 3
    assert remaining(backend, a + b) == b


def test_per_task_count_rule(backend: Backend) -> None:
    a = [ended(backend, JobStatus.COMPLETED, T0 + i, task="a") for i in range(4)]
    b = [ended(backend, JobStatus.COMPLETED, T0 + i, task="b") for i in range(4)]
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=NEVER, keep=1, task="a")]) == 3
    assert remaining(backend, a + b) == a[3:] + b


def test_exclude_tasks(backend: Backend) -> None:
    a = [ended(backend, JobStatus.COMPLETED, T0 + i, task="a") for i in range(2)]
    b = [ended(backend, JobStatus.COMPLETED, T0 + i, task="b") for i in range(2)]
    c = [ended(backend, JobStatus.COMPLETED, T0 + i, task="c") for i in range(2)]
    rule = PruneRule(status=JobStatus.COMPLETED, before=ALWAYS, exclude_tasks=("a", "c"))
    assert backend.job_prune([rule]) == 2
    assert remaining(backend, a + b + c) == a + c


def test_task_specific_and_default_rules_together(backend: Backend) -> None:
    """The usual set-up: a long retention for one task, a short one for the others."""
    special = [ended(backend, JobStatus.COMPLETED, T0 + i * 100, task="special") for i in range(4)]
    other = [ended(backend, JobStatus.COMPLETED, T0 + i * 100, task="other") for i in range(4)]
    rules = [
        PruneRule(status=JobStatus.COMPLETED, before=T0 + 50, task="special"),
        PruneRule(status=JobStatus.COMPLETED, before=T0 + 250, exclude_tasks=("special",)),
    ]
    assert backend.job_prune(rules) == 4
    assert remaining(backend, special + other) == special[1:] + other[3:]


@pytest.mark.parametrize("count", [4, 5, 7])
def test_bounded_batches_delete_everything_due(backend: Backend, count: int) -> None:
    ids = [ended(backend, JobStatus.COMPLETED, T0 + i) for i in range(count)]
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=ALWAYS)], batch=2) == count
    assert remaining(backend, ids) == []


@pytest.mark.parametrize("count", [5, 6, 9])
def test_bounded_batches_by_count(backend: Backend, count: int) -> None:
    ids = [ended(backend, JobStatus.FAILED, T0 + i) for i in range(count)]
    rule = PruneRule(status=JobStatus.FAILED, before=NEVER, keep=1)
    assert backend.job_prune([rule], batch=2) == count - 1
    assert remaining(backend, ids) == ids[-1:]


def test_prune_nothing(backend: Backend) -> None:
    assert backend.job_prune([]) == 0
    assert backend.job_prune([PruneRule(status=JobStatus.COMPLETED, before=ALWAYS)]) == 0


@pytest.mark.parametrize("status", sorted(WAITING | {JobStatus.RUNNING}))
def test_live_jobs_are_never_pruned(backend: Backend, status: JobStatus) -> None:
    """Even a rule naming a live status, with keep=0, leaves waiting and running jobs."""
    live = [job_in(backend, status)[0].id for _ in range(3)]
    rules = [
        PruneRule(status=status, before=ALWAYS),
        PruneRule(status=status, before=ALWAYS, keep=0),
        *(PruneRule(status=s, before=ALWAYS, keep=0) for s in TERMINAL),
    ]
    assert backend.job_prune(rules, batch=2) == 0
    assert remaining(backend, live) == live
    assert all(get(backend, i).status == status for i in live)


def test_live_jobs_survive_next_to_pruned_ones(backend: Backend) -> None:
    live = {job_in(backend, s)[0].id for s in (*WAITING, JobStatus.RUNNING)}
    dead = {ended(backend, s, T0) for s in TERMINAL}
    rules = [PruneRule(status=s, before=ALWAYS, keep=0) for s in TERMINAL]
    assert backend.job_prune(rules, batch=2) == len(dead)
    assert all_ids(backend) == live


def test_retried_job_is_not_pruned_by_its_old_end_time(backend: Backend) -> None:
    job, _ = job_in(backend, JobStatus.FAILED, now=T0)
    backend.job_retry(job.id, now=T0 + 10)
    assert backend.job_prune([PruneRule(status=JobStatus.FAILED, before=ALWAYS, keep=0)]) == 0
    assert get(backend, job.id).status == JobStatus.QUEUED
