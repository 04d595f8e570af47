"""``offload stats`` and ``offload schedules`` as a person types them, on each store:
statistics that outlive ``jobs purge``, clearing them, a task's history, and messages
that name what is wrong."""

from __future__ import annotations

import json

import pytest

import offload
from tests.support.procs import E2E_APP, Procs

APP = ("--app", E2E_APP)


@pytest.fixture
def url(store_url: str) -> str:
    """Every process of these tests on SQLite and on PostgreSQL."""
    return store_url


def cli_json(procs: Procs, *args: str) -> list[dict[str, object]]:
    out = procs.cli(*args, *APP, "--json")
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, object]] = json.loads(out.stdout)
    return rows


def test_statistics_outlive_purge_until_cleared(procs: Procs, app: offload.App) -> None:
    failed = [app.enqueue("broken").id for _ in range(3)]
    done = [app.enqueue("noop", n).id for n in range(2)]
    worker = procs.cli("worker", *APP, "--burst", "--concurrency", "2")
    assert worker.returncode == 0, worker.stderr
    purge = procs.cli("jobs", "purge", *APP)
    assert purge.returncode == 0 and "deleted 5 job(s)" in purge.stdout, purge.stdout + purge.stderr
    assert app.list_jobs() == []

    failures = cli_json(procs, "stats", "--failures")
    assert sorted(f["job_id"] for f in failures) == sorted(failed)  # type: ignore[type-var]
    assert {f["error"] for f in failures} == {"ValueError: broken on purpose"}
    history = cli_json(procs, "stats", "--history", "noop")
    assert sorted(h["job_id"] for h in history) == sorted(done)  # type: ignore[type-var]
    assert all(h["status"] == "completed" and h["duration"] is not None for h in history)
    stats = {s["task"]: s for s in cli_json(procs, "stats")}
    assert (stats["broken"]["failed"], stats["noop"]["succeeded"]) == (3, 2)
    assert stats["noop"]["p95_duration"] is not None

    cleared = procs.cli("stats", *APP, "--clear", "--task", "broken")
    assert cleared.returncode == 0 and "cleared" in cleared.stdout, cleared.stderr
    assert procs.cli("stats", *APP, "--failures").stdout.strip() == "nothing yet"
    assert cli_json(procs, "stats", "--history", "broken") == []
    assert len(cli_json(procs, "stats", "--history", "noop")) == 2  # another task's stay
    both = procs.cli("stats", *APP, "--clear", "--failures")
    assert both.returncode != 0 and "at most one" in both.stderr


def test_schedule_messages_name_the_schedule_and_the_cron(procs: Procs, app: offload.App) -> None:
    for action in ("delete", "pause", "resume", "run-now"):
        out = procs.cli("schedules", action, "nope", *APP)
        assert out.returncode == 1, out.stdout
        assert "no schedule with id 'nope'" in out.stderr and "job" not in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    bad = procs.cli("schedules", "add", "noop", *APP, "--cron", "61 * * * *")
    assert bad.returncode == 1
    assert "schedule of task 'noop': invalid cron expression '61 * * * *'" in bad.stderr, bad.stderr
    assert "argument" not in bad.stderr
    assert app.schedules.list() == []
