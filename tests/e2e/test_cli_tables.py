"""The CLI's tables on an 80-column terminal (COLUMNS=80, as a terminal of that width
sets it), and job ids given by their first digits."""

from __future__ import annotations

import os
from pathlib import Path

import offload
from offload.records import JobStatus
from tests.support.procs import Procs, wait_for

NARROW = {"COLUMNS": "80"}


def _narrow(procs: Procs, *args: str) -> list[str]:
    out = procs.cli(*args, env=NARROW)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.rstrip("\n").splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines), out.stdout
    return lines


def _row(lines: list[str], *words: str) -> str:
    """The one line that has every word, each whole (between spaces or the line's ends)."""
    found = [line for line in lines if all(w in line.split() for w in words)]
    assert len(found) == 1, (words, "\n".join(lines))
    return found[0]


def _jobs_in_every_state(procs: Procs, app: offload.App) -> dict[str, offload.JobHandle]:
    jobs = {
        "completed": app.enqueue("chatty", 2),
        "failed": app.enqueue("broken"),
        "cancelled": app.enqueue("noop", 1, _queue="elsewhere"),
        "queued": app.enqueue("noop", 2, _queue="elsewhere"),
        "scheduled": app.enqueue("sleep_for", 1.0, _delay=3600),
    }
    jobs["cancelled"].cancel()
    worker = procs.worker("--burst", "--queues", "default")
    assert worker.wait_exit(30) == 0, worker.tail()
    return jobs


def test_jobs_list_at_80_columns_shows_id_task_status_and_progress_whole(procs: Procs, app: offload.App) -> None:
    jobs = _jobs_in_every_state(procs, app)
    lines = _narrow(procs, "jobs", "list")
    for status, handle in jobs.items():
        r = handle.refresh()
        assert r.status == status
        _row(lines, r.id[:12], r.task, status, f"{r.progress:.0f}%")
    _row(lines, "id", "task", "status", "progress")
    assert "…" not in "\n".join(lines)

    # A wide terminal shows whole ids.
    out = procs.cli("jobs", "list", env={"COLUMNS": "200"})
    assert all(h.id in out.stdout for h in jobs.values()), out.stdout


def test_a_long_message_is_cut_and_nothing_else(procs: Procs, app: offload.App, tmp_path: Path) -> None:
    path = tmp_path / "a-file-whose-name-is-long-enough-to-fill-a-line-by-itself" / ("x" * 60)
    job = app.enqueue("wait_for_file", str(path), 120.0)
    procs.worker()
    wait_for(lambda: job.refresh().message, timeout=30, message="the job's first message")
    lines = _narrow(procs, "jobs", "list")
    row = _row(lines, job.id[:12], "wait_for_file", "running", "0%")
    assert row.rstrip().endswith("…") and row.count("…") == 1, row


def test_stats_and_failures_at_80_columns(procs: Procs, app: offload.App) -> None:
    _jobs_in_every_state(procs, app)
    lines = _narrow(procs, "stats")
    _row(lines, "chatty", "1", "1", "0")
    _row(lines, "broken", "1", "0", "1")
    _row(lines, "task", "total", "succeeded", "failed")
    assert "…" not in "\n".join(lines)

    lines = _narrow(procs, "stats", "--failures")
    (failed,) = app.list_jobs(status=JobStatus.FAILED)
    row = _row(lines, failed.id[:12], "broken")
    assert "ValueError" in row


def test_schedules_list_at_80_columns(procs: Procs, app: offload.App) -> None:
    every = app.schedules.add("wait_for_file", args=["/tmp/x"], cron="*/5 * * * *", timezone="Europe/Berlin")
    other = app.schedules.add("noop", args=[1], interval=300, id="nightly-cleanup")
    lines = _narrow(procs, "schedules", "list")
    assert "*/5 * * * *" in _row(lines, every.id, "wait_for_file")
    assert "every 300s" in _row(lines, other.id, "noop")
    _row(lines, "id", "task", "when")
    assert "…" not in "\n".join(lines)


def test_every_command_that_takes_a_job_id_takes_its_first_digits(procs: Procs, app: offload.App) -> None:
    done = app.enqueue("chatty", 1)
    waiting = app.enqueue("noop", 1, _queue="elsewhere")
    worker = procs.worker("--burst", "--queues", "default")
    assert worker.wait_exit(30) == 0, worker.tail()

    out = procs.cli("jobs", "show", done.id[:12])
    assert out.returncode == 0, out.stderr
    assert f'"id": "{done.id}"' in out.stdout
    out = procs.cli("jobs", "watch", done.id[:12].upper())  # as typed from a screen
    assert out.returncode == 0, out.stderr
    assert "completed" in out.stdout
    out = procs.cli("jobs", "cancel", waiting.id[:12])
    assert out.stdout.strip() == f"{waiting.id} cancelled", out.stderr
    out = procs.cli("jobs", "retry", waiting.id[:12])
    assert out.stdout.strip() == f"{waiting.id} queued", out.stderr


def test_an_ambiguous_or_unknown_prefix_is_refused_and_says_why(procs: Procs, app: offload.App) -> None:
    jobs = [app.enqueue("noop", n, _queue="elsewhere") for n in range(3)]
    common = os.path.commonprefix([j.id for j in jobs])
    assert len(common) >= 4  # ids start with the time they were made
    out = procs.cli("jobs", "cancel", common)
    assert out.returncode == 2
    assert f"{common!r} starts the ids of several jobs" in out.stderr, out.stderr
    for j in jobs:
        assert f"{j.id}  noop  queued" in out.stderr
    assert all(j.status() == JobStatus.QUEUED for j in jobs)  # nothing was cancelled

    unknown = "f" * 12
    out = procs.cli("jobs", "show", unknown)
    assert out.returncode == 1
    assert out.stderr.strip() == f"Error: no job id starts with {unknown!r}"

    for typed in ("abc", "not-an-id", "g" * 12):
        out = procs.cli("jobs", "retry", typed)
        assert out.returncode == 2
        assert f"{typed!r} is neither a job id nor its first 4 or more hex digits" in out.stderr
        assert "Traceback" not in out.stderr
