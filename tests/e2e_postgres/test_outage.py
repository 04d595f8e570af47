"""PostgreSQL restarted while three workers drain: no worker exits, they reconnect and
finish, nothing is lost or run twice; an enqueue during the outage raises
BackendUnavailable, and the same App enqueues again once the server is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from offload.errors import BackendUnavailable
from tests.e2e import tasks_e2e
from tests.support import ledger
from tests.support.postgres import PostgresCluster
from tests.support.procs import Procs, wait_for

from .conftest import HOSTS, Store, wait_registered

# The outage lasts a few seconds, far less than the lease, so no running job is
# retaken; an idle worker polls only once a minute, so after the restart it must be
# woken by its LISTEN session (reopened by itself) or by its own finished jobs.
WORKER_ENV = {"OFFLOAD_LEASE_S": "30", "OFFLOAD_POLL_S": "60"}


@pytest.fixture
def quick_app(url: str) -> Iterator[offload.App]:
    """An App whose calls give up after 2 s without a connection (default 5 s)."""
    a = tasks_e2e.make_app(f"{url}?pool_timeout=2")
    try:
        yield a
    finally:
        a.close()


def test_postgres_restart_mid_drain_loses_nothing_and_no_worker_exits(
    procs: Procs, server: PostgresCluster, quick_app: offload.App, store: Store, ledger_path: Path
) -> None:
    app = quick_app
    workers = {h: procs.worker("--concurrency", "16", env={**WORKER_ENV, "OFFLOAD_HOSTNAME": h}, name=h) for h in HOSTS}
    wait_registered(app, workers)
    # Long jobs first (claim order is run_at, then id): they run through the outage.
    # The short ones take 50 ms each, so that the 48 slots need 6 s at least for all:
    # however fast the machine, every worker is busy when the server stops.
    sleepers = app.enqueue_many("sleep_for", [((2.0,), {}) for _ in range(12)])
    quick = app.enqueue_many("sleep_for", [((0.05,), {"step": 0.05}) for _ in range(6000)])
    accepted = [h.id for h in sleepers + quick]

    def sleepers_running() -> bool:
        started = {r.job_id for r in ledger.read(ledger_path)}
        return all(h.id in started for h in sleepers)

    wait_for(sleepers_running, 30, message=lambda: f"the long jobs to start\n{procs.logs()[-3000:]}")
    stopped_at = time.time()
    server.stop()
    wait_for(
        lambda: all("the store is failing" in w.log() for w in workers.values()),
        30,
        message=lambda: f"every worker to notice the outage\n{procs.logs()[-3000:]}",
    )
    with pytest.raises(BackendUnavailable):
        app.enqueue("noop", -1)
    with pytest.raises(BackendUnavailable):
        app.enqueue_many("noop", [((), {"n": -2}), ((), {"n": -3})])
    server.start()
    started_at = time.time()

    after = app.enqueue("noop", 6000)  # the same App object, once the server is back
    accepted.append(after.id)
    wait_for(
        lambda: store.status_counts() == {"completed": len(accepted)},
        120,
        interval=0.2,
        message=lambda: f"{len(accepted)} jobs completed, have {store.status_counts()}\n{procs.logs()[-4000:]}",
    )
    assert sorted(store.value("SELECT array_agg(id) FROM offload.jobs")) == sorted(accepted), (
        "the job count is not exact: a failed enqueue was stored, or an accepted job is missing"
    )
    for w in workers.values():
        assert w.alive, f"{w.name} exited during the outage\n{w.tail()}"
        # A line when the store started failing and one when it worked again, not one a
        # try (at 0.1 s that would be dozens); a pooled connection the restart killed may
        # still fail one call after the first that went through: a second, short outage.
        failing, back = w.log().count("the store is failing"), w.log().count("the store works again")
        assert 1 <= failing <= 3 and back == failing, w.tail()

    report = ledger.check(ledger_path, accepted)
    report.assert_ok()
    assert store.attempts() == {1: len(accepted)}
    assert after.refresh().result == 6000
    starts = [r.start for r in report.runs]
    assert min(starts) < stopped_at and max(starts) > started_at, "the drain did not span the restart"
    assert all(h.refresh().result == {"slept": 2.0} for h in sleepers)

    # Every LISTEN session comes back by itself (after its reconnect backoff), and an
    # idle worker is woken through it, not by its once-a-minute poll.
    wait_for(
        lambda: store.listeners() == len(workers),
        30,
        interval=0.1,
        message=lambda: f"{len(workers)} LISTEN sessions, have {store.listeners()}\n{procs.logs()[-3000:]}",
    )
    late = app.enqueue("noop", 6001)
    assert late.wait(20) == 6001
    logs = procs.logs()
    assert "LISTEN connection lost" in logs
    assert "Traceback" not in logs


def test_an_outage_longer_than_the_lease_takes_no_job_from_a_live_worker(
    procs: Procs, server: PostgresCluster, quick_app: offload.App, store: Store, ledger_path: Path, url: str
) -> None:
    """While the store is down nobody can heartbeat, so every lease looks expired once
    it is back. Live workers must get to heartbeat before anyone recovers: no job runs
    twice, and each keeps the result of its first and only run."""
    app = quick_app
    # A short lease, and store calls that give up after 1 s (the lease must outlast them).
    env = {"OFFLOAD_LEASE_S": "3", "OFFLOAD_HEARTBEAT_S": "0.5", "OFFLOAD_URL": f"{url}?pool_timeout=1"}
    workers = {h: procs.worker("--concurrency", "4", env={**env, "OFFLOAD_HOSTNAME": h}, name=h) for h in HOSTS}
    wait_registered(app, workers)
    jobs = app.enqueue_many("stubborn", [((8.0,), {}) for _ in range(6)])  # deaf to cancel requests
    accepted = [h.id for h in jobs]

    def all_running() -> bool:
        return {r.job_id for r in ledger.read(ledger_path)} >= set(accepted)

    wait_for(all_running, 30, message=lambda: f"the jobs to start\n{procs.logs()[-3000:]}")
    server.stop()
    # Out of touch for more than a lease: each worker gives up its runs' leases in its
    # own mind (and asks them to stop), and every stored lease has run out.
    wait_for(
        lambda: procs.logs().count("lease lost") >= len(accepted),
        30,
        interval=0.1,
        message=lambda: f"the workers to notice their leases ran out\n{procs.logs()[-3000:]}",
    )
    server.start()
    wait_for(
        lambda: store.status_counts() == {"completed": len(accepted)},
        60,
        interval=0.2,
        message=lambda: f"{len(accepted)} jobs completed, have {store.status_counts()}\n{procs.logs()[-4000:]}",
    )
    report = ledger.check(ledger_path, accepted)
    report.assert_ok()
    assert store.attempts() == {1: len(accepted)}, "a job was taken from a live worker after the outage"
    for w in workers.values():
        assert w.alive, f"{w.name} exited during the outage\n{w.tail()}"
