"""Three worker processes, each with its own host identity, share one PostgreSQL store:
every job runs once, and the jobs of a host killed with SIGKILL are taken over by the
others after the lease, never while the first run could still be alive."""

from __future__ import annotations

import collections
import signal
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, wait_for

from .conftest import HOSTS, Store, wait_registered

SHORT_LEASE = {"OFFLOAD_LEASE_S": "2", "OFFLOAD_HEARTBEAT_S": "0.5"}


def test_three_hosts_drain_20000_jobs_each_exactly_once(
    procs: Procs, app: offload.App, store: Store, ledger_path: Path
) -> None:
    total = 20_000
    workers = {h: procs.worker("--concurrency", "16", env={"OFFLOAD_HOSTNAME": h}, name=h) for h in HOSTS}
    wait_registered(app, workers)

    handles: list[offload.JobHandle] = []
    for first in range(0, total, 2000):  # enqueued while the workers claim
        handles += app.enqueue_many("noop", [((), {"n": n}) for n in range(first, first + 2000)])
    ids = [h.id for h in handles]
    assert len(set(ids)) == total

    wait_for(
        lambda: store.status_counts() == {"completed": total},
        150,
        interval=0.25,
        message=lambda: f"{total} jobs completed, have {store.status_counts()}\n{procs.logs()[-3000:]}",
    )
    for w in workers.values():
        w.send(signal.SIGTERM)
    for w in workers.values():
        assert w.wait_exit(30) == 0, w.tail()

    report = ledger.check(ledger_path, ids)
    report.assert_ok()
    runs_per_job = collections.Counter(r.job_id for r in report.runs)
    assert set(runs_per_job.values()) == {1} and len(runs_per_job) == total
    assert store.attempts() == {1: total}, "some job was claimed twice"
    assert store.value("SELECT succeeded FROM offload.task_stats WHERE task = 'noop'") == total
    assert handles[12_345].refresh().result == 12_345

    host_of = {w.pid: h for h, w in workers.items()}
    per_host = collections.Counter(host_of[r.pid] for r in report.runs)
    assert set(per_host) == set(HOSTS), f"jobs per host: {dict(per_host)}"
    logs = procs.logs()
    assert "Traceback" not in logs
    assert "lease lost" not in logs and "recovered from a lost worker" not in logs


def test_jobs_of_a_host_killed_mid_drain_are_taken_over_after_the_lease(
    procs: Procs, app: offload.App, store: Store, ledger_path: Path
) -> None:
    total = 1500
    workers = {
        h: procs.worker("--concurrency", "16", env={**SHORT_LEASE, "OFFLOAD_HOSTNAME": h}, name=h) for h in HOSTS
    }
    worker_ids = wait_registered(app, workers)
    handles = app.enqueue_many("sleep_for", [((0.1,), {}) for _ in range(total)], max_attempts=3)
    ids = [h.id for h in handles]

    victim_host = "host-b"
    victim = workers[victim_host]
    survivors = [w for h, w in workers.items() if h != victim_host]

    def victim_busy() -> bool:
        done = sum(1 for r in ledger.read(ledger_path) if r.pid == victim.pid and r.end is not None)
        held = store.value(
            "SELECT count(*) FROM offload.jobs WHERE status = 'running' AND worker_id = %s", (worker_ids[victim_host],)
        )
        return done >= 32 and held > 0

    wait_for(victim_busy, 60, interval=0.05, message=lambda: f"{victim_host} running jobs\n{victim.tail()}")
    victim.kill9()
    held = dict(
        store.rows(
            "SELECT id, lease_expires_at FROM offload.jobs WHERE status = 'running' AND worker_id = %s",
            (worker_ids[victim_host],),
        )
    )
    assert held, "the killed host held no job"
    assert store.value("SELECT count(*) FROM offload.jobs WHERE status <> 'completed'") > len(held), (
        "the drain ended before the kill"
    )

    wait_for(
        lambda: store.status_counts() == {"completed": total},
        90,
        interval=0.2,
        message=lambda: f"{total} jobs completed, have {store.status_counts()}\n{procs.logs()[-3000:]}",
    )
    assert all(w.alive for w in survivors), procs.logs(survivors)[-3000:]

    report = ledger.check(ledger_path, ids, disturbed_pids=[victim.pid], deaths=procs.deaths())
    report.assert_ok()  # nothing lost, one completion each, no two live runs of a job at once
    assert store.attempts() == {1: total - len(held), 2: len(held)}, "only the killed host's jobs ran twice"
    jobs = report.by_job()
    survivor_pids = {w.pid for w in survivors}
    for job_id, lease_end in held.items():
        runs = jobs[job_id]
        assert all(r.pid == victim.pid for r in runs[:-1]), runs
        taker = runs[-1]
        assert taker.ok and taker.pid in survivor_pids, runs
        assert taker.start > lease_end, f"{job_id} retaken before its lease ran out: {taker.start} <= {lease_end}"
    interrupted = [r for r in report.runs if r.end is None]
    assert {r.pid for r in interrupted} <= {victim.pid}
    assert {r.job_id for r in interrupted} <= set(held)
    assert all(h.refresh().status == JobStatus.COMPLETED for h in handles[:: total // 50])
    assert "recovered from a lost worker" in procs.logs(survivors)
    assert "Traceback" not in procs.logs(survivors)
