"""Enqueue validates everything before anything is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from offload import errors


@pytest.fixture
def app(sqlite_url: str) -> Iterator[offload.App]:
    app = offload.App(sqlite_url)

    @app.task(queue="mail", priority=3, retries=2, backoff=1.5, timeout=60)
    def fetch(job: offload.JobContext, account: str, limit: int = 10) -> None: ...

    @app.task()
    def plain(a: int, *, b: int = 0) -> int:
        return a + b

    yield app
    app.close()


def assert_nothing_stored(app: offload.App) -> None:
    assert app.list_jobs(limit=100) == []


def test_enqueue_stores_options_from_task_and_call(app: offload.App) -> None:
    h = app.tasks["fetch"].enqueue("a@example.com", limit=3, _owner="user-1", _priority=9)
    job = h.refresh()
    assert (job.task, job.queue, job.priority, job.owner) == ("fetch", "mail", 9, "user-1")
    assert (job.args, job.kwargs) == (["a@example.com"], {"limit": 3})
    assert (job.max_attempts, job.timeout, job.backoff) == (3, 60.0, 1.5)
    assert job.status == offload.JobStatus.QUEUED
    assert h.created


def test_enqueue_by_name_and_delay_schedules(app: offload.App) -> None:
    h = app.enqueue("plain", 1, b=2, _delay=60)
    job = h.refresh()
    assert job.status == offload.JobStatus.SCHEDULED
    assert job.run_at >= job.created_at + 59


def test_run_at_datetime(app: offload.App) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    job = app.enqueue("plain", 1, _run_at=when).refresh()
    assert job.status == offload.JobStatus.SCHEDULED
    assert abs(job.run_at - when.timestamp()) < 0.001


def test_unknown_task(app: offload.App) -> None:
    with pytest.raises(errors.UnknownTask, match="'nope'"):
        app.enqueue("nope")
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        ((), {}, "missing a required argument: 'a'"),
        ((1, 2), {}, "too many positional"),
        ((1,), {"c": 3}, "unexpected keyword argument 'c'"),
    ],
)
def test_arguments_that_do_not_bind(app: offload.App, args: tuple, kwargs: dict, needle: str) -> None:
    with pytest.raises(errors.InvalidArguments, match=needle):
        app.enqueue("plain", *args, **kwargs)
    assert_nothing_stored(app)


def test_context_parameter_is_not_an_argument(app: offload.App) -> None:
    with pytest.raises(errors.InvalidArguments, match="missing a required argument: 'account'"):
        app.tasks["fetch"].enqueue()


@pytest.mark.parametrize("value", [object(), {1: "int key"}, dt.datetime(2026, 1, 1), {"s": {1, 2}}, b"bytes", 2**70])
def test_values_that_are_not_json(app: offload.App, value: object) -> None:
    with pytest.raises(errors.NotSerializable, match="arguments of 'plain' is not JSON"):
        app.enqueue("plain", value)
    assert_nothing_stored(app)


def test_payload_over_the_limit(sqlite_url: str) -> None:
    app = offload.App(sqlite_url, max_payload=1000)

    @app.task()
    def echo(text: str) -> str:
        return text

    echo.enqueue("x" * 900)
    with pytest.raises(errors.PayloadTooLarge, match="over the limit of 1000 bytes"):
        echo.enqueue("x" * 1000)
    assert len(app.list_jobs()) == 1


def test_default_payload_limit_is_one_mebibyte(app: offload.App) -> None:
    with pytest.raises(errors.PayloadTooLarge, match="1048576"):
        app.enqueue("plain", "x" * (1024 * 1024))
    assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"_priority": "high"}, "_priority must be an integer"),
        ({"_queue": ""}, "_queue must be 1-200 characters of A-Z a-z 0-9"),
        ({"_delay": -1}, "_delay must be a positive number"),
        ({"_delay": 1, "_run_at": 5.0}, "not both"),
        ({"_retries": -1}, "_max_attempts must be >= 1"),
        ({"_max_attempts": 0}, "_max_attempts must be >= 1"),
        ({"_timeout": 0}, "_timeout must be a positive number"),
        ({"_run_at": dt.datetime(2030, 1, 1)}, "timezone-aware"),
        ({"_colour": "red"}, "unknown option"),
    ],
)
def test_bad_options(app: offload.App, options: dict, needle: str) -> None:
    with pytest.raises(errors.InvalidArguments, match=needle):
        app.enqueue("plain", 1, **options)
    assert_nothing_stored(app)


def test_enqueue_many_is_all_or_nothing(app: offload.App) -> None:
    with pytest.raises(errors.InvalidArguments):
        app.tasks["plain"].enqueue_many([(1,), (2,), ()])
    assert_nothing_stored(app)
    handles = app.tasks["plain"].enqueue_many([(1,), ([2], {"b": 3})])
    assert [h.refresh().args for h in handles] == [[1], [2]]
    assert handles[1].refresh().kwargs == {"b": 3}


def test_unique_key_returns_the_live_job(app: offload.App) -> None:
    first = app.enqueue("plain", 1, _unique_key="k")
    second = app.enqueue("plain", 2, _unique_key="k")
    assert second.id == first.id and not second.created
    first.cancel()
    third = app.enqueue("plain", 3, _unique_key="k")
    assert third.id != first.id and third.created


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match="does not exist"):
        offload.App(f"sqlite:///{tmp_path}/missing/jobs.db")


def test_folder_given_as_database(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match="it is a folder"):
        offload.App(f"sqlite:///{tmp_path}")


def test_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a sqlite file" * 100)
    app = offload.App(f"sqlite:///{path}")

    @app.task()
    def plain(a: int) -> None: ...

    with pytest.raises(errors.ConfigurationError, match="junk.db"):
        app.enqueue("plain", 1)


@pytest.mark.parametrize(
    "url", ["mysql://x", "sqlite://relative.db", "sqlite:///:memory:", "sqlite:///x.db?synchronous=maybe"]
)
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(errors.ConfigurationError):
        offload.App(url)


def test_duplicate_task_name(app: offload.App) -> None:
    with pytest.raises(errors.ConfigurationError, match="already registered"):

        @app.task(name="plain")
        def other() -> None: ...


def test_bad_task_options(app: offload.App) -> None:
    with pytest.raises(errors.ConfigurationError, match="retries"):
        app.task(retries=-1)


@pytest.mark.parametrize("options", [{"_delay": float("inf")}, {"_delay": float("nan")}, {"_run_at": 1e15}])
def test_times_past_the_year_9999_are_refused(app: offload.App, options: dict) -> None:
    with pytest.raises(errors.InvalidArguments):
        app.enqueue("plain", 1, **options)
    assert_nothing_stored(app)
