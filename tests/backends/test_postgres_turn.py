"""A worker's writes on PostgreSQL. A turn's outcomes and its claim go to the server at
the same time, on two connections (docs/postgres.md, "A worker's turn"): when one half
fails, the other neither loses a job nor leaves one held. Statements that write
several of a worker's jobs take them in id order, so that they never deadlock."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from tests.support.postgres import new_job
from tests.support.procs import wait_for

import offload
from offload.backends.postgres import PostgresBackend
from offload.errors import BackendError, ClaimFailed
from offload.records import JobStatus, Lease, Outcome, Progress

# Makes every UPDATE that turns a job into {status} fail, as a server error would.
REFUSE = """
CREATE FUNCTION offload.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused by the test';
END $$;
CREATE TRIGGER refuse BEFORE UPDATE ON offload.jobs
    FOR EACH ROW WHEN (NEW.status = '{status}' AND OLD.status <> '{status}') EXECUTE FUNCTION offload.refuse();
"""


def _refuse(url: str, status: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(REFUSE.replace("{status}", status))


def _statuses(url: str) -> dict[str, tuple[str, int]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT id, status, attempts FROM offload.jobs").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def _turn(backend: PostgresBackend, outcomes: list[Outcome], limit: int) -> tuple[set[str], list[str]]:
    written, claimed = backend.job_finish_and_claim(
        outcomes, queues=["default"], limit=limit, worker_id="w", lease_s=30
    )
    return written, [r.id for r in claimed]


def test_outcomes_and_claim_both_land(postgres_backend: PostgresBackend, postgres_url: str) -> None:
    jobs = [new_job() for _ in range(5)]
    postgres_backend.job_insert_many(jobs)
    held = postgres_backend.job_claim(queues=["default"], limit=2, worker_id="w", lease_s=30)
    done = [Outcome(r.id, r.lease_token or "", JobStatus.COMPLETED, result_json="1") for r in held]
    written, claimed = _turn(postgres_backend, done, limit=3)
    assert written == {r.id for r in held}
    assert sorted(claimed) == sorted(j.id for j in jobs[2:])
    statuses = _statuses(postgres_url)
    assert {statuses[r.id][0] for r in held} == {"completed"}
    assert {statuses[i][0] for i in claimed} == {"running"}


def test_failed_outcomes_undo_the_claim_beside_them(postgres_backend: PostgresBackend, postgres_url: str) -> None:
    jobs = [new_job() for _ in range(3)]
    postgres_backend.job_insert_many(jobs)
    [a] = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="w", lease_s=30)
    _refuse(postgres_url, "completed")
    with pytest.raises(BackendError, match="refused by the test"):
        _turn(postgres_backend, [Outcome(a.id, a.lease_token or "", JobStatus.COMPLETED)], limit=2)
    statuses = _statuses(postgres_url)
    assert statuses[a.id] == ("running", 1)  # still held: the worker writes its outcome again
    # the claim waited for the outcomes and was rolled back: never claimed, no events
    assert statuses[jobs[1].id] == ("queued", 0) and statuses[jobs[2].id] == ("queued", 0)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        events = conn.execute(
            "SELECT data->>'status' FROM offload.events WHERE job_id = ANY(%s)", ([jobs[1].id, jobs[2].id],)
        ).fetchall()
    assert [e[0] for e in events] == ["queued", "queued"]


def test_a_store_with_one_connection_runs_the_turn_in_one_transaction(postgres_url: str) -> None:
    backend = PostgresBackend(postgres_url, pool_max=1, pool_min=1, pool_timeout=2.0)
    backend.migrate()
    try:
        backend.job_insert_many([new_job() for _ in range(3)])
        [a] = backend.job_claim(queues=["default"], limit=1, worker_id="w", lease_s=30)
        written, claimed = _turn(backend, [Outcome(a.id, a.lease_token or "", JobStatus.COMPLETED)], limit=2)
        assert written == {a.id} and len(claimed) == 2
    finally:
        backend.close()


def test_a_failed_claim_leaves_the_outcomes_written(postgres_backend: PostgresBackend, postgres_url: str) -> None:
    jobs = [new_job() for _ in range(3)]
    postgres_backend.job_insert_many(jobs)
    [a] = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="w", lease_s=30)
    _refuse(postgres_url, "running")
    with pytest.raises(ClaimFailed, match="outcomes were written, but the claim failed: .*refused by the test") as e:
        _turn(postgres_backend, [Outcome(a.id, a.lease_token or "", JobStatus.COMPLETED)], limit=2)
    assert e.value.written == {a.id} and not e.value.retryable
    statuses = _statuses(postgres_url)
    assert statuses[a.id] == ("completed", 1)
    assert statuses[jobs[1].id] == ("queued", 0) and statuses[jobs[2].id] == ("queued", 0)


def test_a_worker_whose_claim_failed_asks_again_once_the_store_answers(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The outcomes of a turn were written, its claim failed: the worker then holds
    nothing, and no ring is coming. It treats the claim's failure as the store's and
    asks again as soon as the store answers, not after its poll interval (a minute
    here), nor does it write those outcomes twice."""
    app = offload.App(postgres_url, poll_s=60, claim_ahead_s=0)
    gate = threading.Event()

    @app.task()
    def gated(job: offload.JobContext) -> str:
        gate.wait(10)
        return "first"

    @app.task()
    def second(job: offload.JobContext) -> str:
        return "second"

    worker = None
    try:
        first = gated.enqueue()
        worker = app.run_workers(concurrency=1)
        wait_for(lambda: first.refresh().status == JobStatus.RUNNING, message="the first job to run")
        _refuse(postgres_url, "running")
        after = second.enqueue()  # rings the worker, whose only slot is taken
        with caplog.at_level(logging.WARNING, logger="offload.worker.runner"):
            gate.set()
            wait_for(lambda: first.refresh().status == JobStatus.COMPLETED, message="the first outcome")
            wait_for(lambda: "the claim failed" in caplog.text, message="the worker to see its claim fail")
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER refuse ON offload.jobs")
        assert after.wait(15) == "second"
        assert "dropped" not in caplog.text  # the first outcome was not written again
    finally:
        if worker is not None:
            worker.stop(grace=1, timeout=10)
        app.close()


def _wait_for_lock(url: str) -> None:
    """Until a session of this test's database waits for a row lock."""
    sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with psycopg.connect(url, autocommit=True) as conn:
        wait_for(
            lambda: (conn.execute(sql).fetchone() or (0,))[0],
            10,
            interval=0.01,
            message="the worker's statement to wait for the other transaction",
        )


@pytest.mark.parametrize("write", ["heartbeat", "progress", "finish", "release"])
def test_a_worker_writes_its_jobs_in_id_order_and_never_deadlocks(
    postgres_backend: PostgresBackend, postgres_url: str, write: str
) -> None:
    """Another transaction that locks the same jobs in id order (as all of a worker's
    statements do) holds the first; the worker's statement, given them in the other
    order, waits for it without taking the second, so the other can take that too."""
    # Many running jobs, as the planner's statistics know: it reaches two of them from
    # the leases given, in their order, not through the index in id order.
    postgres_backend.job_insert_many([new_job() for _ in range(500)])
    running = postgres_backend.job_claim(queues=["default"], limit=500, worker_id="w", lease_s=30)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("ANALYZE offload.jobs")
    first, second = sorted(running, key=lambda r: r.id)[:2]
    leases = [Lease(r.id, r.lease_token or "") for r in (second, first)]
    calls = {
        "heartbeat": lambda: postgres_backend.job_heartbeat(leases, lease_s=60).held,
        "progress": lambda: postgres_backend.job_progress([Progress(x.job_id, x.token, 1, 2, None) for x in leases]),
        "finish": lambda: postgres_backend.job_finish(
            [Outcome(x.job_id, x.token, JobStatus.COMPLETED) for x in leases]
        ),
        "release": lambda: postgres_backend.job_release(leases),
    }
    with psycopg.connect(postgres_url) as other, ThreadPoolExecutor(1) as pool:
        other.execute("UPDATE offload.jobs SET message = 'other' WHERE id = %s", (first.id,))
        result = pool.submit(calls[write])
        _wait_for_lock(postgres_url)
        other.execute("SET lock_timeout = '5s'")
        other.execute("UPDATE offload.jobs SET message = 'other' WHERE id = %s", (second.id,))
        other.commit()
        assert result.result(timeout=10) == {first.id, second.id}
