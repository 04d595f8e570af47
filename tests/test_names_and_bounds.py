"""What enqueue refuses before any store sees it: names outside the documented
character set, keys with control characters (NUL among them), and options past the
bounds of the settings; and text a task produces that no store could keep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import offload
from offload import errors
from offload.records import TERMINAL, JobStatus
from offload.service import Principal, ScheduleRequest, ScheduleService, SubmitRequest
from offload.service.jobs import JobService
from tests.support.procs import wait_for

DAY = 86400.0


def make_app(url: str, **settings: Any) -> offload.App:
    app = offload.App(url, poll_s=0.1, heartbeat_s=0.1, **settings)

    @app.task()
    def echo(job: offload.JobContext, value: Any = None) -> Any:
        return value

    @app.task(retries=0)
    def nul_error(job: offload.JobContext) -> None:
        job.add_message("about to fail\x00 here")
        raise ValueError("a\x00b")

    @app.task()
    def nul_message(job: offload.JobContext) -> str:
        job.add_message("line\x00one")
        job.set_progress(1, 2)
        return "done"

    return app


@pytest.fixture
def app(store_url: str) -> Iterator[offload.App]:
    a = make_app(store_url)
    yield a
    a.close()


def nothing_stored(app: offload.App) -> bool:
    return app.list_jobs(limit=10) == []


# -- NUL and other control characters ----------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        {"_queue": "q\x00"},
        {"_queue": "a\nb"},
        {"_unique_key": "a\x00b"},
        {"_unique_key": "line\nbreak"},
        {"_idempotency_key": "k\x00"},
        {"_owner": "ann\x00"},
        {"_owner": "ann\u202e"},  # a right-to-left override hides what follows
    ],
)
def test_control_characters_in_names_and_keys_are_refused_before_the_store(
    app: offload.App, option: dict[str, str]
) -> None:
    with pytest.raises(errors.InvalidArguments, match=list(option)[0]):
        app.enqueue("echo", 1, **option)
    assert nothing_stored(app)


def test_lookups_with_a_nul_never_reach_the_store(app: offload.App) -> None:
    for name in ("queue", "task", "owner"):
        with pytest.raises(errors.InvalidRequest, match=name):
            app.list_jobs(**{name: "a\x00b"})
    with pytest.raises(errors.JobNotFound):
        app.get_job("a\x00b")
    with pytest.raises(errors.InvalidSchedule, match="schedule id"):
        app.schedules.add("echo", interval=60, id="s\x00")


def run_until_done(app: offload.App, handle: offload.JobHandle) -> offload.JobRecord:
    worker = app.run_workers(concurrency=2)
    try:
        return wait_for(lambda: (r := handle.refresh()).status in TERMINAL and r, timeout=15)
    finally:
        worker.stop(grace=1, timeout=10)


def test_a_nul_in_an_exception_does_not_lose_the_outcome(app: offload.App) -> None:
    record = run_until_done(app, app.enqueue("nul_error"))
    assert record.status == JobStatus.FAILED
    assert record.error == "ValueError: a\ufffdb"
    assert record.traceback is not None and "ValueError: a\ufffdb" in record.traceback
    assert [m["message"] for m in record.messages] == ["about to fail\ufffd here"]


def test_a_nul_in_a_message_does_not_lose_the_progress_or_the_result(app: offload.App) -> None:
    record = run_until_done(app, app.enqueue("nul_message"))
    assert (record.status, record.result) == (JobStatus.COMPLETED, "done")
    assert record.message == "line\ufffdone"
    assert (record.progress_current, record.progress_total) == (1, 2)


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "reports.daily", "tenant:eu", "ops@host-1", "_low", "A-9"])
def test_names_in_the_documented_set_are_accepted(app: offload.App, name: str) -> None:
    assert app.enqueue("echo", 1, _queue=name).refresh().queue == name


@pytest.mark.parametrize("name", ["", "a b", "a/b", "a+b", ".hidden", "-x", "über", "q\t", "x" * 201])
def test_names_outside_the_set_are_refused_everywhere(app: offload.App, name: str) -> None:
    with pytest.raises(errors.InvalidArguments, match="_queue must be"):
        app.enqueue("echo", 1, _queue=name)
    with pytest.raises(errors.ConfigurationError, match="queue"):
        app.task(lambda: None, name="ok_name", queue=name)
    with pytest.raises(errors.ConfigurationError, match="queue names"):
        app.queue(name)
    with pytest.raises(errors.ConfigurationError, match="task names"):
        app.task(lambda: None, name=name)
    assert nothing_stored(app)


def test_a_task_whose_function_name_is_outside_the_set_needs_a_name(app: offload.App) -> None:
    with pytest.raises(errors.ConfigurationError, match="give name="):
        app.task(lambda: None)
    assert app.task(lambda: None, name="anonymous").name == "anonymous"


def test_keys_may_use_any_printable_text(app: offload.App) -> None:
    handle = app.enqueue("echo", 1, _unique_key="Zürich 1/2 (nightly)", _owner="zoë@example.org")
    record = handle.refresh()
    assert (record.unique_key, record.owner) == ("Zürich 1/2 (nightly)", "zoë@example.org")
    with pytest.raises(errors.InvalidArguments, match="_unique_key must be 1-200"):
        app.enqueue("echo", 1, _unique_key="k" * 201)


# -- queues a user may submit to ----------------------------------------------------------


def test_declared_queues_are_the_tasks_ones_and_those_declared(store_url: str) -> None:
    app = make_app(store_url, queues="bulk, nightly")
    app.queue("reports")
    assert app.queues() == ["default", "bulk", "nightly", "reports"]
    with pytest.raises(errors.ConfigurationError, match="queue names"):
        make_app(store_url, queues="ok,not ok")
    app.close()


def test_users_submit_only_to_declared_queues_and_admins_as_the_setting_says(store_url: str) -> None:
    user, admin = Principal("ann"), Principal("root", admin=True)
    app = make_app(store_url, queues="bulk")
    jobs = JobService(app)
    assert jobs.submit(user, SubmitRequest("echo", queue="bulk")).created
    for who in (user, admin):  # admins too, unless api_admin_any_queue
        with pytest.raises(errors.InvalidField, match=r"'made-up' is not a queue this app declares \(default, bulk\)"):
            jobs.submit(who, SubmitRequest("echo", queue="made-up"))
        with pytest.raises(errors.InvalidField, match="made-up"):
            ScheduleService(app).create(who, ScheduleRequest("echo", interval=60, queue="made-up"))
    app.close()

    lenient = make_app(store_url, api_admin_any_queue=True)
    jobs = JobService(lenient)
    assert jobs.submit(admin, SubmitRequest("echo", queue="made-up")).created
    with pytest.raises(errors.InvalidField, match="made-up"):
        jobs.submit(user, SubmitRequest("echo", queue="made-up"))
    assert [j.queue for j in lenient.list_jobs()] == ["made-up", "bulk"]
    lenient.close()


# -- bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"_max_attempts": 1_000_000_000}, r"at most 100 \(the max_attempts_limit setting\), got 1000000000"),
        ({"_max_attempts": 101}, "max_attempts_limit"),
        ({"_retries": 100}, "max_attempts_limit"),
        ({"_timeout": 7 * DAY + 1}, r"at most 604800 seconds \(the max_timeout_s setting\)"),
        ({"_delay": 367 * DAY}, r"at most 31622400 seconds ahead \(the max_delay_s setting\)"),
        ({"_run_at": 2e9 + 10 * 366 * DAY}, "max_delay_s"),
    ],
)
def test_options_past_their_bounds_are_refused(app: offload.App, options: dict[str, Any], needle: str) -> None:
    with pytest.raises(errors.InvalidArguments, match=needle):
        app.enqueue("echo", 1, **options)
    assert nothing_stored(app)


def test_options_at_their_bounds_are_accepted(app: offload.App) -> None:
    record = app.enqueue("echo", 1, _max_attempts=100, _timeout=7 * DAY, _delay=366 * DAY - 60).refresh()
    assert (record.max_attempts, record.timeout, record.status) == (100, 7 * DAY, JobStatus.SCHEDULED)


def test_the_bounds_are_settings(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFLOAD_MAX_ATTEMPTS_LIMIT", "5")
    monkeypatch.setenv("OFFLOAD_MAX_TIMEOUT_S", "60")
    monkeypatch.setenv("OFFLOAD_MAX_DELAY_S", "3600")
    app = make_app(store_url)
    with pytest.raises(errors.InvalidArguments, match="at most 5"):
        app.enqueue("echo", _retries=5)
    with pytest.raises(errors.InvalidArguments, match="at most 60 seconds"):
        app.enqueue("echo", _timeout=61)
    with pytest.raises(errors.InvalidArguments, match="at most 3600 seconds ahead"):
        app.enqueue("echo", _delay=3601)
    with pytest.raises(errors.ConfigurationError, match="max_attempts_limit"):
        app.task(lambda: None, name="stubborn", retries=5)
    with pytest.raises(errors.ConfigurationError, match="max_timeout_s"):
        app.task(lambda: None, name="slow", timeout=120)
    assert nothing_stored(app)
    app.close()
