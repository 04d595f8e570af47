"""Schedules: cron and interval, DST, misfires, exactly-once firing, management."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import offload
from offload import errors
from offload.records import ScheduleRecord
from offload.schedules.timing import next_after


def ts(text: str, tz: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def local(t: float, tz: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(tz)).isoformat()


def make_app(url: str) -> offload.App:
    app = offload.App(url)

    @app.task()
    def sync(account: str) -> str:
        return account

    return app


@pytest.fixture
def app(store_url: str) -> Iterator[offload.App]:
    app = make_app(store_url)
    yield app
    app.close()


def jobs_of(app: offload.App) -> list[offload.JobRecord]:
    return app.list_jobs(task="sync", limit=1000)


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        # Spring forward: 02:30 does not exist that night; it fires at 03:00, once.
        ("Europe/Berlin", "2026-03-28T12:00", ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]),
        ("America/New_York", "2026-03-07T12:00", ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]),
        ("Australia/Sydney", "2026-10-03T12:00", ["2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"]),
    ],
)
def test_daily_cron_across_spring_forward(tz: str, start: str, expected: list[str]) -> None:
    record = ScheduleRecord(id="s", task="t", cron="30 2 * * *", timezone=tz)
    first = next_after(record, ts(start, tz))
    second = next_after(record, first)
    assert [local(first, tz), local(second, tz)] == expected


@pytest.mark.parametrize(
    ("tz", "day"),
    [("Europe/Berlin", "2026-10-25"), ("America/New_York", "2026-11-01"), ("Australia/Sydney", "2026-04-05")],
)
def test_daily_cron_across_fall_back_fires_once_a_day(tz: str, day: str) -> None:
    record = ScheduleRecord(id="s", task="t", cron="30 9 * * *", timezone=tz)
    t = ts(f"{day}T00:00", tz) - 86400
    fires = []
    for _ in range(3):
        t = next_after(record, t)
        fires.append(local(t, tz)[:16])
    assert [f[11:] for f in fires] == ["09:30"] * 3  # the wall time holds across the change
    assert len(set(f[:10] for f in fires)) == 3


def test_interval_schedule(app: offload.App) -> None:
    record = app.schedules.add("sync", args=["a"], interval=60, now=1000.0)
    assert record.next_run_at == 1060.0
    assert app.schedules.tick(now=1059.0) == 0
    assert app.schedules.tick(now=1060.0) == 1
    assert app.schedules.get(record.id).next_run_at == 1120.0
    assert [j.args for j in jobs_of(app)] == [["a"]]


def test_misfire_after_downtime_runs_once_not_a_burst(app: offload.App) -> None:
    record = app.schedules.add("sync", args=["a"], interval=60, now=1000.0)
    assert app.schedules.tick(now=1000.0 + 6 * 3600) == 1  # six hours down: 360 missed runs
    assert app.schedules.tick(now=1000.0 + 6 * 3600 + 1) == 0
    assert len(jobs_of(app)) == 1
    assert app.schedules.get(record.id).next_run_at > 1000.0 + 6 * 3600


def test_cron_schedule_in_a_timezone(app: offload.App) -> None:
    now = ts("2026-06-01T08:00", "Europe/Berlin")
    record = app.schedules.add("sync", args=["b"], cron="0 9 * * *", timezone="Europe/Berlin", now=now)
    assert local(record.next_run_at or 0, "Europe/Berlin") == "2026-06-01T09:00:00+02:00"
    assert app.schedules.tick(now=record.next_run_at) == 1
    assert local(app.schedules.get(record.id).next_run_at or 0, "Europe/Berlin") == "2026-06-02T09:00:00+02:00"


def test_many_schedulers_fire_each_time_exactly_once(store_url: str) -> None:
    apps = [make_app(store_url) for _ in range(3)]
    record = apps[0].schedules.add("sync", args=["x"], interval=10, id="every-10", now=0.0)
    assert record.id == "every-10"
    barrier = threading.Barrier(3)

    def run(a: offload.App) -> None:
        for step in range(1, 21):
            barrier.wait(10)
            a.schedules.tick(now=step * 10.0)

    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    keys = sorted(j.created_at for j in jobs_of(apps[0]))
    assert len(keys) == 20  # one job per fire time, three schedulers
    for a in apps:
        a.close()


def test_pause_resume_delete_and_run_now(app: offload.App) -> None:
    record = app.schedules.add("sync", args=["p"], interval=60, now=0.0)
    app.schedules.pause(record.id)
    assert app.schedules.tick(now=120.0) == 0
    resumed = app.schedules.resume(record.id, now=500.0)
    assert not resumed.paused and resumed.next_run_at == 540.0
    handle = app.schedules.run_now(record.id)
    assert handle.refresh().args == ["p"]
    app.schedules.delete(record.id)
    assert app.schedules.list() == []


@pytest.mark.parametrize("action", ["get", "delete", "pause", "resume", "run_now"])
def test_a_missing_schedule_is_named_as_a_schedule(app: offload.App, action: str) -> None:
    with pytest.raises(errors.ScheduleNotFound, match="no schedule with id 'nope'") as caught:
        getattr(app.schedules, action)("nope")
    assert caught.value.schedule_id == "nope"
    assert not isinstance(caught.value, errors.JobNotFound)


def test_replacing_a_schedule_keeps_its_history(app: offload.App) -> None:
    app.schedules.add("sync", args=["a"], interval=60, id="s", now=0.0)
    app.schedules.tick(now=60.0)
    again = app.schedules.add("sync", args=["b"], interval=60, id="s", now=70.0)
    assert again.last_run_at == 60.0 and again.next_run_at == 120.0 and again.args == ["b"]


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"cron": "61 * * * *"}, "invalid cron"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"cron": "* * * * *", "timezone": "Europe"}, "unknown timezone"),
        ({"cron": "0 0 30 2 *"}, "never fires"),
        ({}, "exactly one of cron or interval"),
        ({"cron": "* * * * *", "interval": 5}, "exactly one of cron or interval"),
        ({"interval": 0.5}, "interval must be"),
    ],
)
def test_bad_schedules_are_refused(app: offload.App, options: dict, needle: str) -> None:
    with pytest.raises(errors.InvalidSchedule, match=needle) as caught:
        app.schedules.add("sync", args=["a"], **options)
    assert str(caught.value).startswith("schedule of task 'sync': ")
    assert "argument" not in str(caught.value)  # the schedule is wrong, not the arguments
    with pytest.raises(errors.InvalidSchedule, match=needle):
        app.schedules.periodic("sync", args=["a"], **options)
    assert app.schedules.list() == []


def test_schedule_arguments_are_checked_like_an_enqueue(app: offload.App) -> None:
    with pytest.raises(errors.InvalidArguments, match="missing a required argument"):
        app.schedules.add("sync", interval=60)
    with pytest.raises(errors.UnknownTask):
        app.schedules.add("nope", interval=60)


def test_schedules_declared_in_code_are_saved_by_the_scheduler(app: offload.App) -> None:
    app.schedules.periodic("sync", args=["code"], cron="*/5 * * * *")
    app.schedules.tick(now=0.0)
    (record,) = app.schedules.list()
    assert (record.id, record.cron, record.args) == ("code:sync", "*/5 * * * *", ["code"])


# -- schedules declared in code meet what was done at run time ------------------------------


def restarted(url: str, **declaration: object) -> offload.App:
    """A new process of the app (a restart or a deploy): same store, the schedule
    declared in code as given, its scheduler started (sync_code on the first tick)."""
    app = make_app(url)
    app.schedules.periodic("sync", **declaration)
    app.schedules.tick(now=10.0)
    return app


def test_a_pause_made_at_run_time_survives_restarts(store_url: str) -> None:
    first = restarted(store_url, args=["a"], interval=60)
    first.schedules.pause("code:sync")
    again = restarted(store_url, args=["a"], interval=60)
    assert again.schedules.get("code:sync").paused
    assert again.schedules.tick(now=1000.0) == 0  # nothing fired while paused
    again.schedules.resume("code:sync", now=1000.0)
    third = restarted(store_url, args=["a"], interval=60)
    assert not third.schedules.get("code:sync").paused  # the resume stands too
    for a in (first, again, third):
        a.close()


def test_a_deleted_code_schedule_stays_deleted_until_its_declaration_changes(store_url: str) -> None:
    first = restarted(store_url, args=["a"], interval=60)
    first.schedules.delete("code:sync")
    again = restarted(store_url, args=["a"], interval=60)
    assert again.schedules.list() == []
    assert again.schedules.tick(now=1000.0) == 0
    changed = restarted(store_url, args=["a"], interval=30)  # a new declaration: made again
    (record,) = changed.schedules.list()
    assert (record.interval, record.paused) == (30, False)
    for a in (first, again, changed):
        a.close()


def test_a_changed_declaration_takes_effect_and_a_paused_schedule_stays_paused(store_url: str) -> None:
    first = restarted(store_url, args=["a"], interval=60)
    first.schedules.pause("code:sync")
    changed = restarted(store_url, args=["b"], cron="0 9 * * *", timezone="Europe/Berlin")
    record = changed.schedules.get("code:sync")
    assert (record.cron, record.interval, record.timezone, record.args) == ("0 9 * * *", None, "Europe/Berlin", ["b"])
    assert record.paused
    for a in (first, changed):
        a.close()


def test_a_replacement_made_at_run_time_stands_until_the_code_changes(store_url: str) -> None:
    first = restarted(store_url, args=["a"], interval=60)
    first.schedules.add("sync", args=["ops"], interval=600, id="code:sync")
    again = restarted(store_url, args=["a"], interval=60)
    assert (again.schedules.get("code:sync").interval, again.schedules.get("code:sync").args) == (600, ["ops"])
    changed = restarted(store_url, args=["a"], interval=120)
    assert changed.schedules.get("code:sync").interval == 120
    for a in (first, again, changed):
        a.close()


def test_a_declaration_may_start_paused(store_url: str) -> None:
    app = restarted(store_url, args=["a"], interval=60, paused=True)
    assert app.schedules.get("code:sync").paused
    assert app.schedules.tick(now=1000.0) == 0
    app.close()


def test_the_same_declaration_written_differently_is_the_same(store_url: str) -> None:
    first = restarted(store_url, kwargs={"account": "a"}, interval=60)
    first.schedules.delete("code:sync")
    again = restarted(store_url, kwargs={"account": "a"}, interval=60.0)
    assert again.schedules.list() == []  # 60 and 60.0 are one interval: still deleted
    for a in (first, again):
        a.close()
