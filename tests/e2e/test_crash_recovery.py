"""Workers killed with SIGKILL: their jobs are taken over after the lease, never run
twice at once, and a job that kills every worker ends after max_attempts claims."""

from __future__ import annotations

from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, wait_for

SHORT_LEASE = {"OFFLOAD_LEASE_S": "2", "OFFLOAD_HEARTBEAT_S": "0.5"}


def _starts(ledger_path: Path, job_id: str) -> list[ledger.Run]:
    return [r for r in ledger.read(ledger_path) if r.job_id == job_id]


def test_job_of_a_killed_worker_is_finished_by_another_after_the_lease(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    first = procs.worker("--concurrency", "2", env=SHORT_LEASE, name="first")
    victim = app.enqueue("sleep_for", 3.0, _max_attempts=3)
    bystander = app.enqueue("sleep_for", 0.2)
    wait_for(lambda: _starts(ledger_path, victim.id), 30, message=lambda: f"the job to start\n{first.tail()}")
    first_run = victim.refresh()
    assert first_run.status == JobStatus.RUNNING and first_run.attempts == 1
    bystander.wait(30)

    first.kill9()
    assert victim.status() == JobStatus.RUNNING  # nobody noticed yet: the lease still holds

    second = procs.worker("--concurrency", "2", env=SHORT_LEASE, name="second")
    victim.wait(60)
    record = victim.refresh()
    assert record.status == JobStatus.COMPLETED
    assert record.attempts == 2
    assert record.result == {"slept": 3.0}
    assert record.error is None
    assert record.started_at is not None and record.started_at > first.death_time()  # type: ignore[operator]

    report = ledger.check(ledger_path, [victim.id, bystander.id], disturbed_pids=[first.pid], deaths=procs.deaths())
    report.assert_ok()
    runs = report.by_job()[victim.id]
    assert [(r.pid, r.outcome) for r in runs] == [(first.pid, None), (second.pid, "ok")]
    assert runs[0].token != runs[1].token
    assert "recovered from a lost worker" in second.log()
    assert second.alive


def test_poison_pill_fails_with_worker_lost_after_max_attempts_claims(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    pill = app.enqueue("kill_own_worker", _max_attempts=2)
    other = app.enqueue("noop", 7, _max_attempts=3)  # may share a batch with the pill

    dead = []
    for attempt in (1, 2):
        worker = procs.worker("--concurrency", "1", env=SHORT_LEASE, name=f"attempt{attempt}")
        code = worker.wait_exit(30)
        assert code == -9, f"worker {attempt} exited with {code}\n{worker.tail()}"
        dead.append(worker)
        assert len(_starts(ledger_path, pill.id)) == attempt

    survivor = procs.worker(env=SHORT_LEASE, name="survivor")
    record = wait_for(
        lambda: (r := pill.refresh()).status == JobStatus.FAILED and r,
        30,
        message=lambda: f"the pill to fail, now {pill.refresh()}\n{survivor.tail()}",
    )
    assert record.attempts == 2
    assert record.error is not None and "worker lost" in record.error
    assert record.completed_at is not None
    assert other.wait(30) == 7
    assert len(_starts(ledger_path, pill.id)) == 2, "the failed pill ran again"
    assert survivor.alive
    pids = [r.pid for r in _starts(ledger_path, pill.id)]
    assert pids == [w.pid for w in dead]


def test_a_cancel_request_survives_the_recovery_of_a_killed_workers_job(
    procs: Procs, app: offload.App, ledger_path: Path
) -> None:
    """Cancel asked while the job runs (in a task that doesn't look), then its worker
    dies: recovery must not put the job back in line to run again."""
    first = procs.worker("--concurrency", "1", env=SHORT_LEASE, name="first")
    job = app.enqueue("stubborn", 30, _max_attempts=3)
    wait_for(lambda: _starts(ledger_path, job.id), 30, message=lambda: f"the job to start\n{first.tail()}")
    out = procs.cli("jobs", "cancel", job.id)
    assert out.stdout.strip() == f"{job.id} cancel requested", out.stderr
    held = job.refresh().lease_token
    assert held
    first.kill9()

    second = procs.worker("--concurrency", "1", env=SHORT_LEASE, name="second")
    record = wait_for(
        lambda: (r := job.refresh()).lease_token != held and r,
        30,
        message=lambda: f"the job to be recovered, now {job.refresh()}\n{second.tail()}",
    )
    assert record.status == JobStatus.CANCELLED, f"a recovered job lost its cancel request: {record}"
    assert len(_starts(ledger_path, job.id)) == 1
