"""job_claim: which jobs, in what order, how many, under what lease."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from offload.backends.base import Backend
from offload.records import JobStatus, new_job_id

from .helpers import (
    FAR,
    LEASE_S,
    T0,
    claim,
    claim_ids,
    finish,
    get,
    insert,
    insert_one,
    job_in,
    lease_of,
    make_job,
    make_jobs,
    outcome,
    running_job,
)


def test_claim_empty_store(backend: Backend) -> None:
    assert claim(backend) == []


def test_claim_unknown_queue(backend: Backend) -> None:
    insert_one(backend)
    assert claim(backend, ["nobody-uses-this"]) == []


def test_claim_no_queues(backend: Backend) -> None:
    insert_one(backend)
    assert claim(backend, []) == []


def test_claim_sets_the_lease(backend: Backend) -> None:
    job_id = insert_one(backend, max_attempts=3)
    [r] = claim(backend, now=T0 + 5, lease_s=20, worker_id="w-7")
    assert r.id == job_id
    assert r.status == JobStatus.RUNNING
    assert r.attempts == 1
    assert r.worker_id == "w-7"
    assert r.lease_token
    assert r.lease_expires_at == pytest.approx(T0 + 25, abs=1e-3)
    assert r.started_at == pytest.approx(T0 + 5, abs=1e-3)
    assert r.cancel_requested is False
    stored = get(backend, job_id)
    assert (stored.status, stored.attempts, stored.lease_token, stored.worker_id) == (
        JobStatus.RUNNING,
        1,
        r.lease_token,
        "w-7",
    )
    assert stored.lease_expires_at == pytest.approx(T0 + 25, abs=1e-3)


def test_claim_returns_decoded_arguments(backend: Backend) -> None:
    insert(backend, make_job(args_json='[1, {"a": [2]}]', kwargs_json='{"k": null}'))
    [r] = claim(backend)
    assert r.args == [1, {"a": [2]}]
    assert r.kwargs == {"k": None}


@pytest.mark.parametrize("limit", [1, 3, 5, 8])
def test_limit_is_honoured(backend: Backend, limit: int) -> None:
    insert(backend, *make_jobs(5))
    first = claim(backend, limit=limit)
    assert len(first) == min(limit, 5)
    rest = claim(backend, limit=100)
    assert len(rest) == 5 - len(first)
    assert claim(backend) == []


def test_each_job_is_claimed_once(backend: Backend) -> None:
    insert(backend, *make_jobs(6))
    a = claim_ids(backend, limit=4, worker_id="a")
    b = claim_ids(backend, limit=4, worker_id="b")
    assert len(a) == 4 and len(b) == 2
    assert not set(a) & set(b)


def test_concurrent_claims_never_share_a_job(backend: Backend) -> None:
    jobs = make_jobs(40)
    insert(backend, *jobs)
    barrier = threading.Barrier(8)

    def worker(n: int) -> list[str]:
        barrier.wait(timeout=10)
        got: list[str] = []
        while batch := claim_ids(backend, limit=3, worker_id=f"w{n}"):
            got.extend(batch)
        return got

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    every = [job_id for r in results for job_id in r]
    assert sorted(every) == sorted(j.id for j in jobs)  # each exactly once


def test_tokens_are_fresh_and_distinct(backend: Backend) -> None:
    insert(backend, *make_jobs(10))
    claimed = claim(backend)
    tokens = [r.lease_token for r in claimed]
    assert all(tokens) and len(set(tokens)) == 10
    # a second run of the same job gets a new token
    job = claimed[0]
    assert backend.job_release([lease_of(job)], now=T0) == {job.id}
    [again] = claim(backend, now=T0 + 1)
    assert again.id == job.id
    assert again.lease_token not in tokens


def test_order_priority_then_run_at_then_id(backend: Backend) -> None:
    ids = [new_job_id(T0 + i) for i in range(6)]
    # (id, priority, inserted at): run_at is the insert time for jobs due at once
    spec = [(ids[0], 0, T0 + 2), (ids[1], 5, T0 + 3), (ids[2], 5, T0 + 1), (ids[3], 1, T0), (ids[4], 5, T0 + 1)]
    for job_id, priority, at in reversed(spec):
        insert(backend, make_job(id=job_id, priority=priority), now=at)
    order = [claim_ids(backend, limit=1, now=T0 + 10)[0] for _ in spec]
    assert order == [ids[2], ids[4], ids[1], ids[3], ids[0]]


def test_order_uses_run_at_of_due_scheduled_jobs(backend: Backend) -> None:
    late, early = make_job(run_at=T0 + 20), make_job(run_at=T0 + 10)
    insert(backend, late, early, now=T0)
    plain = insert_one(backend, now=T0 + 15)
    order = [claim_ids(backend, limit=1, now=T0 + 30)[0] for _ in range(3)]
    assert order == [early.id, plain, late.id]


def test_limit_picks_the_highest_priority(backend: Backend) -> None:
    low = make_jobs(3, priority=0)
    high = make_jobs(2, start=T0 + 10, priority=9)
    insert(backend, *low, *high)
    assert set(claim_ids(backend, limit=2)) == {j.id for j in high}


def test_queues_served_in_the_order_given(backend: Backend) -> None:
    a = make_jobs(2, queue="a", priority=9)
    b = make_jobs(2, start=T0 + 10, queue="b", priority=0)
    insert(backend, *a, *b)
    got = claim_ids(backend, ["b", "a"], limit=3)
    assert set(got) == {b[0].id, b[1].id, a[0].id}
    assert claim_ids(backend, ["b", "a"]) == [a[1].id]


def test_queues_served_in_the_order_given_reversed(backend: Backend) -> None:
    a = make_jobs(2, queue="a")
    b = make_jobs(2, start=T0 + 10, queue="b")
    insert(backend, *a, *b)
    assert set(claim_ids(backend, ["a", "b"], limit=3)) == {a[0].id, a[1].id, b[0].id}


def test_only_the_queues_asked_for(backend: Backend) -> None:
    insert(backend, make_job(queue="a"), make_job(queue="b"))
    [r] = claim(backend, ["a"])
    assert r.queue == "a"


def test_paused_queues_are_skipped(backend: Backend) -> None:
    a, b = make_job(queue="a"), make_job(queue="b")
    insert(backend, a, b)
    backend.queue_pause("a", True)
    assert claim_ids(backend, ["a", "b"]) == [b.id]
    assert get(backend, a.id).status == JobStatus.QUEUED
    backend.queue_pause("a", False)
    assert claim_ids(backend, ["a", "b"]) == [a.id]


def test_pausing_one_queue_does_not_pause_others(backend: Backend) -> None:
    backend.queue_pause("a", True)
    job_id = insert_one(backend, queue="b")
    assert claim_ids(backend, ["b"]) == [job_id]


def test_scheduled_job_not_claimed_before_run_at(backend: Backend) -> None:
    job_id = insert_one(backend, now=T0, run_at=T0 + 60)
    assert claim(backend, now=T0) == []
    assert claim(backend, now=T0 + 59.5) == []
    assert get(backend, job_id).status == JobStatus.SCHEDULED
    [r] = claim(backend, now=T0 + 60.5)
    assert (r.id, r.status, r.attempts) == (job_id, JobStatus.RUNNING, 1)


def test_retrying_job_claimed_only_when_due(backend: Backend) -> None:
    first = running_job(backend, queue="default", max_attempts=3)
    assert finish(backend, first, JobStatus.RETRYING, now=T0 + 1, error="e", run_at=T0 + 100) == {first.id}
    assert claim(backend, now=T0 + 50) == []
    assert get(backend, first.id).status == JobStatus.RETRYING
    [second] = claim(backend, now=T0 + 100.5)
    assert second.id == first.id
    assert second.attempts == 2
    assert second.lease_token != first.lease_token


def test_attempts_count_every_claim(backend: Backend) -> None:
    job_id = insert_one(backend, max_attempts=5)
    for attempt in range(1, 4):
        [r] = claim(backend, now=T0 + attempt)
        assert r.attempts == attempt
        again = outcome(r, JobStatus.RETRYING, error="again", run_at=T0 + attempt)  # due at once
        assert backend.job_finish([again], now=T0 + attempt) == {job_id}
    assert get(backend, job_id).attempts == 3


@pytest.mark.parametrize("status", [JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_jobs_that_are_not_waiting_are_never_claimed(backend: Backend, status: JobStatus) -> None:
    job, _ = job_in(backend, status, queue="default")
    assert claim(backend, now=T0 + FAR * 10, lease_s=LEASE_S) == []
    assert get(backend, job.id).status == status


def test_claim_does_not_touch_other_jobs(backend: Backend) -> None:
    waiting = insert_one(backend, queue="other")
    scheduled = insert_one(backend, run_at=T0 + FAR)
    insert_one(backend)
    claim(backend)
    assert get(backend, waiting).status == JobStatus.QUEUED
    assert get(backend, scheduled).status == JobStatus.SCHEDULED
