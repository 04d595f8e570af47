"""The ``offload`` command against a real store: enqueue, jobs list/show/cancel/retry/
purge/watch, and the errors a person typing them should see."""

from __future__ import annotations

import json
import time

import offload
from offload.records import JobStatus
from tests.support.procs import E2E_APP, Procs

APP = ("--app", E2E_APP)


def _count(app: offload.App) -> int:
    return len(app.list_jobs(limit=1000))


def test_enqueue_prints_an_id_and_stores_arguments_and_options(procs: Procs, app: offload.App) -> None:
    before = time.time()
    out = procs.cli(
        "enqueue",
        "sleep_for",
        *APP,
        "--args",
        "[1.5]",
        "--kwargs",
        '{"step": 0.1}',
        "--queue",
        "slow",
        "--priority",
        "7",
        "--delay",
        "60",
        "--owner",
        "user-42",
        "--unique-key",
        "nightly",
    )
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)
    r = app.get_job(job_id).record
    assert (r.task, r.args, r.kwargs) == ("sleep_for", [1.5], {"step": 0.1})
    assert (r.queue, r.priority, r.owner, r.unique_key) == ("slow", 7, "user-42", "nightly")
    assert r.status == JobStatus.SCHEDULED and r.run_at >= before + 60

    again = procs.cli("enqueue", "sleep_for", *APP, "--args", "[1.5]", "--unique-key", "nightly")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == job_id  # the live job holding the key
    assert _count(app) == 1


def test_enqueue_refuses_bad_json_with_a_clear_message_and_stores_nothing(procs: Procs, app: offload.App) -> None:
    cases = [
        (("--args", "[1.5"), "--args", "not valid JSON"),
        (("--args", '{"seconds": 1}'), "--args", "JSON array"),
        (("--args", "[1]", "--kwargs", "{seconds: 1}"), "--kwargs", "not valid JSON"),
        (("--args", "[1]", "--kwargs", "[1]"), "--kwargs", "JSON object"),
    ]
    for argv, param, words in cases:
        out = procs.cli("enqueue", "sleep_for", *APP, *argv)
        assert out.returncode != 0, (argv, out.stdout)
        assert param in out.stderr and words in out.stderr, (argv, out.stderr)
        assert "Traceback" not in out.stderr
        assert out.stdout.strip() == ""
    out = procs.cli("enqueue", "sleep_for", *APP, "--kwargs", '{"bogus": 1}')
    assert out.returncode != 0
    assert "sleep_for" in out.stderr and "Traceback" not in out.stderr
    assert _count(app) == 0


def test_enqueue_of_an_unknown_task_names_it_and_stores_nothing(procs: Procs, app: offload.App) -> None:
    out = procs.cli("enqueue", "scrape_the_moon", *APP, "--args", "[]")
    assert out.returncode != 0
    assert "scrape_the_moon" in out.stderr
    assert "noop" in out.stderr  # the message lists the tasks there are
    assert "Traceback" not in out.stderr
    assert out.stdout.strip() == ""
    assert _count(app) == 0


def test_jobs_list_show_cancel_retry_and_purge(procs: Procs, app: offload.App) -> None:
    done = app.enqueue("chatty", 2)
    waiting = app.enqueue("noop", 5, _queue="elsewhere")
    worker = procs.worker("--burst", "--queues", "default")
    assert worker.wait_exit(30) == 0, worker.tail()

    out = procs.cli("jobs", "list")
    assert out.returncode == 0, out.stderr
    assert done.id in out.stdout and waiting.id in out.stdout
    assert "completed" in out.stdout and "queued" in out.stdout

    out = procs.cli("jobs", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == [waiting.id, done.id]  # newest first
    assert rows[1]["status"] == "completed" and rows[1]["result"] == {"lines": 2}
    assert [m["message"] for m in rows[1]["messages"]] == ["line 1 of 2", "line 2 of 2"]

    out = procs.cli("jobs", "list", "--json", "--status", "queued")
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == [waiting.id]

    out = procs.cli("jobs", "show", done.id)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["id"] == done.id and shown["status"] == "completed" and shown["progress"] == 100.0

    out = procs.cli("jobs", "show", "0" * 32)
    assert out.returncode != 0 and "0" * 32 in out.stderr and "Traceback" not in out.stderr

    out = procs.cli("jobs", "cancel", waiting.id)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{waiting.id} cancelled"
    assert waiting.status() == JobStatus.CANCELLED

    out = procs.cli("jobs", "retry", waiting.id)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{waiting.id} queued"
    r = waiting.refresh()
    assert r.status == JobStatus.QUEUED and r.attempts == 0

    out = procs.cli("jobs", "purge")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "deleted 1 job(s)"
    assert [r.id for r in app.list_jobs()] == [waiting.id]


def test_cancel_or_retry_in_the_wrong_state_says_why_in_plain_words(procs: Procs, app: offload.App) -> None:
    done = app.enqueue("noop", 1)
    worker = procs.worker("--burst")
    assert worker.wait_exit(30) == 0, worker.tail()

    out = procs.cli("jobs", "cancel", done.id)
    assert out.returncode == 1
    assert out.stderr.strip() == f"Error: job {done.id} cannot go from 'completed' to 'cancelled'"

    out = procs.cli("jobs", "retry", done.id)
    assert out.returncode == 1
    assert out.stderr.strip() == f"Error: job {done.id} cannot go from 'completed' to 'queued'"
    assert done.status() == JobStatus.COMPLETED


def test_jobs_watch_follows_a_job_and_exits_with_its_outcome(procs: Procs, app: offload.App) -> None:
    good = app.enqueue("chatty", 3)
    bad = app.enqueue("broken")
    worker = procs.worker("--concurrency", "2")

    out = procs.cli("jobs", "watch", good.id, "--interval", "0.05")
    assert out.returncode == 0, out.stdout + out.stderr
    for i in (1, 2, 3):
        assert f"line {i} of 3" in out.stdout
    assert "completed" in out.stdout and '{"lines":3}' in out.stdout

    out = procs.cli("jobs", "watch", bad.id, "--interval", "0.05")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "about to fail" in out.stdout
    assert "ValueError: broken on purpose" in out.stdout
    assert worker.alive


def test_jobs_watch_shows_what_a_job_wrote_as_it_is(procs: Procs, app: offload.App) -> None:
    text = "[red]alarm[/red] [/bold] [link=http://x]x[/link]"
    job = app.enqueue("say", text)
    procs.worker()
    out = procs.cli("jobs", "watch", job.id, "--interval", "0.05")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(text) == 2, out.stdout  # the message, and the result at the end
