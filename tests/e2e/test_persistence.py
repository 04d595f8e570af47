"""Jobs live in the file, not in a process: enqueued by one process, run by another
started later; delayed jobs don't start before their run_at."""

from __future__ import annotations

import time
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support import ledger
from tests.support.procs import Procs, wait_for


def test_jobs_enqueued_by_a_process_that_exited_run_in_a_later_worker(
    procs: Procs, app: offload.App, tmp_path: Path
) -> None:
    out = procs.cli("enqueue", "touch", "--app", "tests.e2e.tasks_e2e:app", "--args", f'["{tmp_path / "a.txt"}"]')
    assert out.returncode == 0, out.stderr
    by_cli = out.stdout.strip()
    code = (
        "from tests.e2e.tasks_e2e import app\n"
        "ids = [app.enqueue('noop', n).id for n in range(5)]\n"
        "print(' '.join(ids))\n"
    )
    out = procs.python(code)
    assert out.returncode == 0, out.stderr
    by_python = out.stdout.split()
    assert len(by_python) == 5

    for job_id in [by_cli, *by_python]:
        assert app.get_job(job_id).status() == JobStatus.QUEUED

    worker = procs.worker("--burst")
    assert worker.wait_exit(60) == 0, worker.tail()
    assert app.get_job(by_cli).refresh().result == by_cli
    assert (tmp_path / "a.txt").read_text() == by_cli
    assert [app.get_job(i).refresh().result for i in by_python] == [0, 1, 2, 3, 4]


def test_delayed_jobs_do_not_start_before_run_at(procs: Procs, app: offload.App, ledger_path: Path) -> None:
    worker = procs.worker("--concurrency", "4")
    enqueued_at = time.time()
    delayed = [app.enqueue("noop", i, _delay=d) for i, d in enumerate((0.6, 1.2, 1.8, 2.4))]
    at = app.enqueue("noop", 9, _run_at=enqueued_at + 1.5)
    now = app.enqueue("noop", 10)
    for h in [*delayed, at]:
        assert h.status() == JobStatus.SCHEDULED
    handles = [*delayed, at, now]

    wait_for(
        lambda: all(h.status() == JobStatus.COMPLETED for h in handles),
        30,
        message=lambda: f"delayed jobs done\n{worker.tail()}",
    )
    runs = {r.job_id: r for r in ledger.read(ledger_path)}
    for h in handles:
        r = h.refresh()
        assert r.started_at is not None and r.started_at >= r.run_at, r
        assert runs[h.id].start >= r.run_at, (runs[h.id], r)
    assert at.refresh().run_at == enqueued_at + 1.5
    assert [h.refresh().run_at for h in delayed] == sorted(h.refresh().run_at for h in delayed)
    assert all(h.refresh().run_at >= enqueued_at + d for h, d in zip(delayed, (0.6, 1.2, 1.8, 2.4), strict=True))
    ledger.check(ledger_path, [h.id for h in handles]).assert_ok()


def test_concurrent_enqueues_with_one_unique_key_make_one_job(procs: Procs, app: offload.App) -> None:
    code = (
        "from tests.e2e.tasks_e2e import app\n"
        "print(' '.join(app.enqueue('noop', 1, _unique_key='only-one').id for _ in range(20)))\n"
    )
    children = [procs.python_bg(code, name=f"enqueuer{i}") for i in range(6)]
    ids = set()
    for child in children:
        assert child.wait_exit(60) == 0, child.tail()
        ids |= set(child.log().split())
    assert len(ids) == 1, ids
    assert [r.id for r in app.list_jobs(limit=1000)] == list(ids)
