"""Claims and recovery under real concurrency: many threads, each with its own
connection, against one PostgreSQL store."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.support.postgres import new_job

from offload.backends.postgres import PostgresBackend
from offload.records import JobStatus, Lease, Outcome


def _in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in n threads released together; re-raise the first error."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_concurrent_claims_never_hand_out_a_job_twice(postgres_url: str) -> None:
    backend = PostgresBackend(postgres_url, pool_max=20)
    try:
        backend.migrate()
        jobs = [new_job(priority=i % 5) for i in range(1000)]
        for start in range(0, len(jobs), 250):
            backend.job_insert_many(jobs[start : start + 250])

        def drain(i: int) -> list[tuple[str, str]]:
            mine: list[tuple[str, str]] = []
            while True:
                batch = backend.job_claim(queues=["default"], limit=7, worker_id=f"w{i}", lease_s=60)
                if not batch:
                    return mine
                mine.extend((j.id, j.lease_token or "") for j in batch)

        per_thread = _in_threads(16, drain)
        claimed = [job_id for part in per_thread for job_id, _ in part]
        assert len(claimed) == len(jobs)
        assert Counter(claimed).most_common(1)[0][1] == 1
        assert set(claimed) == {j.id for j in jobs}
        tokens = [token for part in per_thread for _, token in part]
        assert len(set(tokens)) == len(tokens)  # a fresh lease token per claim
        assert sum(1 for part in per_thread if part) > 1  # the work really was shared
        assert backend.job_counts()["default"] == {"running": 1000}
    finally:
        backend.close()


def test_claim_order_queues_priority_and_run_at(postgres_backend: PostgresBackend) -> None:
    now = 1_000_000.0
    low = new_job("a", priority=0)
    high = new_job("a", priority=9)
    other = new_job("b", priority=99)
    later = new_job("a", priority=9, run_at=now + 10)
    postgres_backend.job_insert_many([low, high, other, later], now=now)
    claimed = postgres_backend.job_claim(queues=["a", "b"], limit=10, worker_id="w", lease_s=30, now=now + 1)
    assert [j.id for j in claimed] == [high.id, low.id, other.id]  # queues in the order given
    assert all(j.attempts == 1 and j.lease_expires_at == now + 31 for j in claimed)
    # The scheduled job is not leased before it is due, then it is.
    assert postgres_backend.job_claim(queues=["a"], limit=10, worker_id="w", lease_s=30, now=now + 9) == []
    assert [
        j.id for j in postgres_backend.job_claim(queues=["a"], limit=10, worker_id="w", lease_s=30, now=now + 10)
    ] == [later.id]


def test_concurrent_recovery_takes_each_expired_job_once(postgres_url: str) -> None:
    backend = PostgresBackend(postgres_url, pool_max=20)
    try:
        backend.migrate()
        now = 2_000_000.0
        jobs = [new_job(max_attempts=1 + i % 2) for i in range(300)]
        backend.job_insert_many(jobs, now=now)
        claimed = backend.job_claim(queues=["default"], limit=300, worker_id="dead", lease_s=10, now=now)
        assert len(claimed) == 300

        results = _in_threads(12, lambda i: backend.job_recover(now=now + 11, limit=40))
        recovered = [r.id for part in results for r in part]
        while more := backend.job_recover(now=now + 11, limit=1000):
            recovered.extend(r.id for r in more)
        assert sorted(recovered) == sorted(j.id for j in jobs)

        counts = backend.job_counts()["default"]
        assert counts == {"queued": 150, "failed": 150}  # attempts left -> queued; none left -> failed
        failed = [r for part in results for r in part if r.status == JobStatus.FAILED]
        assert all(r.error and r.error.startswith("worker lost") for r in failed)
        # One status event per recovery, not one per recoverer.
        events = Counter(
            e.job_id
            for e in backend.event_list(after=0, limit=100_000)
            if e.type == "status" and e.data["status"] in ("queued", "failed") and e.data.get("error")
        )
        assert set(events.values()) == {1} and len(events) == 300
    finally:
        backend.close()


def test_stale_worker_writes_change_nothing_after_recovery(postgres_backend: PostgresBackend) -> None:
    now = 3_000_000.0
    job = new_job(max_attempts=3)
    postgres_backend.job_insert_many([job], now=now)
    (first,) = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="a", lease_s=5, now=now)
    postgres_backend.job_recover(now=now + 6)
    (second,) = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="b", lease_s=5, now=now + 6)
    stale = Lease(job.id, first.lease_token or "")
    assert postgres_backend.job_heartbeat([stale], lease_s=5, now=now + 7).held == frozenset()
    assert postgres_backend.job_finish([Outcome(job.id, stale.token, JobStatus.COMPLETED, result_json="1")]) == set()
    assert postgres_backend.job_release([stale]) == set()
    assert postgres_backend.job_finish(
        [Outcome(job.id, second.lease_token or "", JobStatus.COMPLETED, result_json="2")]
    ) == {job.id}
    record = postgres_backend.job_get(job.id)
    assert record is not None and record.result == 2 and record.attempts == 2


def test_heartbeat_racing_recovery_keeps_the_job(postgres_backend: PostgresBackend) -> None:
    """A lease extended before recovery runs is judged by its new expiry."""
    now = 4_000_000.0
    job = new_job()
    postgres_backend.job_insert_many([job], now=now)
    (claimed,) = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="a", lease_s=5, now=now)
    held = postgres_backend.job_heartbeat([Lease(job.id, claimed.lease_token or "")], lease_s=5, now=now + 4)
    assert held.held == {job.id}
    assert postgres_backend.job_recover(now=now + 6) == []
    assert [r.id for r in postgres_backend.job_recover(now=now + 10)] == [job.id]


def test_cancel_request_is_honoured_by_release_and_recovery(postgres_backend: PostgresBackend) -> None:
    now = 5_000_000.0
    released, lost = new_job(max_attempts=3), new_job(max_attempts=3)
    postgres_backend.job_insert_many([released, lost], now=now)
    a, b = postgres_backend.job_claim(queues=["default"], limit=2, worker_id="w", lease_s=5, now=now)
    for job in (a, b):
        postgres_backend.job_cancel(job.id, now=now + 1)
    assert postgres_backend.job_release([Lease(a.id, a.lease_token or "")], now=now + 2) == {a.id}
    (recovered,) = postgres_backend.job_recover(now=now + 10)
    assert recovered.id == b.id
    for job_id in (a.id, b.id):
        record = postgres_backend.job_get(job_id)
        assert record is not None
        assert (record.status, record.error, record.attempts) == (JobStatus.CANCELLED, "cancelled on request", 1)
    assert postgres_backend.job_claim(queues=["default"], limit=2, worker_id="w", lease_s=5, now=now + 11) == []
