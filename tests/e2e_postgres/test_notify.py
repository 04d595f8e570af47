"""Enqueue through the public API inside the caller's own psycopg transaction, seen by a
real worker that polls only once a minute, so that what wakes it is NOTIFY: commit
runs the job, rollback leaves no job, no event and no notification."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Proc, Procs, wait_for

from .conftest import CHANNEL, Store

IDLE = {"OFFLOAD_POLL_S": "60"}  # longer than any wait below: only a NOTIFY can wake the worker in time
WAKE_S = 20.0


@pytest.fixture
def idle_worker(procs: Procs, app: offload.App, tmp_path: Path) -> Proc:
    """A worker that has finished a first job (not in the ledger) and is now idle,
    waiting on its LISTEN session."""
    worker = procs.worker("--concurrency", "4", env=IDLE, name="idle")
    first = app.enqueue("chatty", 1)
    assert first.wait(30) == {"lines": 1}, worker.tail()
    return worker


@pytest.fixture
def listener(url: str, idle_worker: Proc) -> Iterator[psycopg.Connection]:
    """A LISTEN session of the test's own on the store's channel, opened once the
    worker is idle."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'LISTEN "{CHANNEL}"')
        yield conn


def _notifications_until(conn: psycopg.Connection, store: Store, marker: str) -> list[str]:
    """Payloads delivered to ``conn`` up to ``marker``, which is sent now: notifications
    arrive in commit order, so whatever an earlier commit sent comes before it."""
    store.notify(marker)
    payloads: list[str] = []
    for n in conn.notifies(timeout=10):
        if n.payload == marker:
            return payloads
        payloads.append(n.payload)
    raise AssertionError(f"the marker notification never came; got {payloads}")


def _events_of(store: Store, job_id: str) -> int:
    return int(store.value("SELECT count(*) FROM offload.events WHERE job_id = %s", (job_id,)))


def test_enqueue_in_the_callers_transaction_commit_runs_rollback_leaves_nothing(
    idle_worker: Proc,
    app: offload.App,
    store: Store,
    url: str,
    listener: psycopg.Connection,
    ledger_path: Path,
    tmp_path: Path,
) -> None:
    touch = app.get_task("touch")
    store.execute("CREATE TABLE public.orders (id integer PRIMARY KEY, job_id text NOT NULL)")
    assert _notifications_until(listener, store, "start") == []

    # Rolled back: the order row and the job go together.
    with psycopg.connect(url) as conn:  # not autocommit: the first statement opens the transaction
        ghost = touch.enqueue(str(tmp_path / "ghost"), _connection=conn)
        conn.execute("INSERT INTO public.orders VALUES (1, %s)", (ghost.id,))
        assert store.value("SELECT count(*) FROM offload.jobs WHERE id = %s", (ghost.id,)) == 0
        conn.rollback()
    assert _notifications_until(listener, store, "after-rollback") == []
    assert app.backend.job_get(ghost.id) is None
    assert _events_of(store, ghost.id) == 0
    assert store.value("SELECT count(*) FROM public.orders") == 0

    # Committed: the idle worker is woken and runs it.
    with psycopg.connect(url) as conn, conn.transaction():
        real = touch.enqueue(str(tmp_path / "real"), _connection=conn)
        conn.execute("INSERT INTO public.orders VALUES (2, %s)", (real.id,))
        assert store.value("SELECT count(*) FROM offload.jobs WHERE id = %s", (real.id,)) == 0  # not yet visible
    assert _notifications_until(listener, store, "after-commit") == ["default"]
    assert real.wait(WAKE_S) == real.id, idle_worker.tail()
    assert (tmp_path / "real").read_text() == real.id
    assert store.rows("SELECT id, job_id FROM public.orders") == [(2, real.id)]
    assert real.refresh().status == JobStatus.COMPLETED and real.refresh().attempts == 1
    assert _events_of(store, real.id) >= 3  # queued, running, completed

    # The worker never saw the rolled-back job.
    assert not (tmp_path / "ghost").exists()
    assert ghost.id not in {r.job_id for r in ledger.read(ledger_path)}
    assert ghost.id not in idle_worker.log()
    assert _events_of(store, ghost.id) == 0
    assert idle_worker.alive


def test_idle_worker_is_woken_by_notify_for_each_job_enqueued_one_at_a_time(
    idle_worker: Proc, app: offload.App, store: Store, ledger_path: Path
) -> None:
    handles: list[offload.JobHandle] = []

    def last_ran() -> bool:
        return any(r.job_id == handles[-1].id and r.ok for r in ledger.read(ledger_path))

    for n in range(20):
        handle = app.enqueue("noop", n)
        handles.append(handle)
        # One at a time: each is enqueued once the one before has run.
        wait_for(last_ran, WAKE_S, message=lambda: f"job {len(handles)} to run\n{idle_worker.tail()}")
    assert [h.wait(5) for h in handles] == list(range(20))
    report = ledger.check(ledger_path, [h.id for h in handles])
    report.assert_ok()
    assert all(r.pid == idle_worker.pid for r in report.runs)
    assert store.value("SELECT count(*) FROM offload.jobs WHERE status = 'completed' AND attempts = 1") == 21
