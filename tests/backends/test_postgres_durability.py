"""Which commits wait for the WAL flush on PostgreSQL, and the fencing that makes a
claim lost in a server crash harmless (docs/postgres.md, "Durability of claims")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from tests.support.postgres import new_job

from offload.backends.postgres import PostgresBackend
from offload.records import JobStatus, Lease, Outcome, Progress

# Records, for every row a statement writes to jobs, the synchronous_commit in force in
# its transaction (the setting a commit obeys is the one in force when it commits).
PROBE = """
CREATE TABLE offload.commit_probe (op text, job_id text, setting text);
CREATE FUNCTION offload.commit_probe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO offload.commit_probe VALUES (TG_OP, NEW.id, current_setting('synchronous_commit'));
    RETURN NULL;
END $$;
CREATE TRIGGER commit_probe AFTER INSERT OR UPDATE ON offload.jobs
    FOR EACH ROW EXECUTE FUNCTION offload.commit_probe();
"""


@pytest.fixture
def durable(postgres_url: str) -> Iterator[PostgresBackend]:
    """A store whose database waits for the flush by default (the test cluster doesn't)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        db = conn.execute("SELECT current_database()").fetchone()
        assert db is not None
        conn.execute(f'ALTER DATABASE "{db[0]}" SET synchronous_commit = on')
    backend = PostgresBackend(postgres_url)
    backend.migrate()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(PROBE)
    yield backend
    backend.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{db[0]}" RESET synchronous_commit')


def _probe(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT op, job_id, setting FROM offload.commit_probe").fetchall()
        conn.execute("DELETE FROM offload.commit_probe")
    return [(r[0], r[1], r[2]) for r in rows]


def test_only_a_claim_alone_commits_without_waiting_for_the_flush(durable: PostgresBackend, postgres_url: str) -> None:
    jobs = [new_job() for _ in range(4)] + [new_job("other")]
    durable.job_insert_many(jobs[:2])
    durable.job_insert_many(jobs[2:], connection=None)
    assert {s for _, _, s in _probe(postgres_url)} == {"on"}  # an enqueue is always durable

    a, b = durable.job_claim(queues=["default"], limit=2, worker_id="w", lease_s=30)
    assert _probe(postgres_url) == [("UPDATE", a.id, "off"), ("UPDATE", b.id, "off")]

    done = Outcome(a.id, a.lease_token or "", JobStatus.COMPLETED, result_json="1")
    written, claimed = durable.job_finish_and_claim([done], queues=["default"], limit=1, worker_id="w", lease_s=30)
    assert written == {a.id} and len(claimed) == 1
    # A turn's outcomes may be read as soon as they commit, so they wait; its claim,
    # a transaction of its own beside them, does not.
    c = claimed[0]
    assert sorted(_probe(postgres_url)) == sorted([("UPDATE", a.id, "on"), ("UPDATE", c.id, "off")])

    durable.job_finish([Outcome(b.id, b.lease_token or "", JobStatus.FAILED, error="x")])
    durable.job_progress([Progress(c.id, c.lease_token or "", 1, 2, None)])
    durable.job_heartbeat([Lease(c.id, c.lease_token or "")], lease_s=30)
    assert {s for _, _, s in _probe(postgres_url)} == {"on"}

    claimed = durable.job_claim(queues=["other", "default"], limit=5, worker_id="w", lease_s=30)
    assert {s for _, _, s in _probe(postgres_url)} == {"off"} and len(claimed) == 2


def test_a_turn_with_a_retry_claims_in_the_outcomes_transaction(durable: PostgresBackend, postgres_url: str) -> None:
    """So that the retry, due now, may be claimed in the same turn."""
    jobs = [new_job(max_attempts=2) for _ in range(2)]
    durable.job_insert_many(jobs)
    [a] = durable.job_claim(queues=["default"], limit=1, worker_id="w", lease_s=30)
    _probe(postgres_url)
    retry = Outcome(a.id, a.lease_token or "", JobStatus.RETRYING, error="x", run_at=0.0)
    written, claimed = durable.job_finish_and_claim([retry], queues=["default"], limit=2, worker_id="w", lease_s=30)
    assert written == {a.id} and {r.id for r in claimed} == {j.id for j in jobs}
    assert {s for _, _, s in _probe(postgres_url)} == {"on"}


def _row(url: str, job_id: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute("SELECT * FROM offload.jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None
    return row


def test_a_claim_lost_in_a_crash_is_claimed_again_and_the_lost_run_changes_nothing(
    postgres_backend: PostgresBackend, postgres_url: str
) -> None:
    job = new_job(max_attempts=3)
    postgres_backend.job_insert_many([job])
    before = _row(postgres_url, job.id)
    (lost,) = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="a", lease_s=30)
    # A crash before the claim's commit reached the disk: after recovery the row is
    # as it was before the claim, while worker a went on running the job.
    columns = ", ".join(f"{k} = %({k})s" for k in before if k != "id")
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"UPDATE offload.jobs SET {columns} WHERE id = %(id)s", before)

    (again,) = postgres_backend.job_claim(queues=["default"], limit=1, worker_id="b", lease_s=30)
    assert again.id == job.id and again.lease_token != lost.lease_token and again.attempts == 1
    token = lost.lease_token or ""
    assert postgres_backend.job_heartbeat([Lease(job.id, token)], lease_s=30).held == frozenset()
    assert postgres_backend.job_progress([Progress(job.id, token, 9, 9, "stale")]) == set()
    assert postgres_backend.job_finish([Outcome(job.id, token, JobStatus.COMPLETED, result_json="1")]) == set()
    assert postgres_backend.job_release([Lease(job.id, token)]) == set()
    record = postgres_backend.job_get(job.id)
    assert record is not None and record.status == JobStatus.RUNNING and record.worker_id == "b"
    assert record.result is None and record.progress_current is None

    ok = Outcome(job.id, again.lease_token or "", JobStatus.COMPLETED, result_json="2")
    assert postgres_backend.job_finish([ok]) == {job.id}
    record = postgres_backend.job_get(job.id)
    assert record is not None and record.status == JobStatus.COMPLETED and record.result == 2
