"""Schedules: save/get/list/delete, due, and the compare-and-set advance."""

from __future__ import annotations

from dataclasses import replace

import pytest

from offload.backends.base import Backend
from offload.records import ScheduleRecord

from .helpers import T0


def sched(schedule_id: str = "s1", **overrides: object) -> ScheduleRecord:
    fields: dict[str, object] = {
        "id": schedule_id,
        "task": "reports.build",
        "args": [1, "a"],
        "kwargs": {"k": [None, True]},
        "interval": 60.0,
        "timezone": "Europe/Berlin",
        "next_run_at": T0 + 60,
        "queue": "reports",
        "priority": 3,
        "owner": "user-1",
        "created_at": T0,
    }
    fields.update(overrides)
    return ScheduleRecord(**fields)  # type: ignore[arg-type]


def test_save_and_get_round_trip(backend: Backend) -> None:
    s = sched()
    backend.schedule_save(s)
    assert backend.schedule_get("s1") == s
    cron = sched(
        "s2",
        interval=None,
        cron="*/5 * * * *",
        paused=True,
        last_run_at=T0 - 300,
        queue=None,
        priority=None,
        owner=None,
    )
    backend.schedule_save(cron)
    assert backend.schedule_get("s2") == cron


def test_get_missing(backend: Backend) -> None:
    assert backend.schedule_get("nope") is None


def test_save_replaces(backend: Backend) -> None:
    backend.schedule_save(sched())
    changed = sched(interval=120.0, paused=True, next_run_at=T0 + 120)
    backend.schedule_save(changed)
    assert backend.schedule_get("s1") == changed
    assert len(backend.schedule_list()) == 1


def test_list_by_id(backend: Backend) -> None:
    for sid in ("c", "a", "b"):
        backend.schedule_save(sched(sid))
    assert [s.id for s in backend.schedule_list()] == ["a", "b", "c"]


def test_delete(backend: Backend) -> None:
    backend.schedule_save(sched("a"))
    backend.schedule_save(sched("b"))
    assert backend.schedule_delete("a") is True
    assert backend.schedule_delete("a") is False
    assert backend.schedule_delete("never") is False
    assert [s.id for s in backend.schedule_list()] == ["b"]


def test_a_deleted_schedule_declared_in_code_leaves_its_fingerprint(backend: Backend) -> None:
    declared = sched("code:a", fingerprint="f1")
    backend.schedule_save(declared)
    backend.schedule_save(sched("made-at-run-time"))
    assert backend.schedule_get("code:a") == declared  # the fingerprint round-trips
    assert backend.schedule_tombstone("code:a") is None
    assert backend.schedule_delete("code:a", now=T0 + 5) is True
    assert backend.schedule_delete("made-at-run-time") is True
    assert backend.schedule_tombstone("code:a") == "f1"
    assert backend.schedule_tombstone("made-at-run-time") is None  # nothing to remember
    assert backend.schedule_get("code:a") is None and backend.schedule_list() == []
    assert backend.schedule_delete("code:a") is False  # a tombstone is no schedule
    assert backend.schedule_tombstone("code:a") == "f1"


def test_saving_the_id_again_removes_its_tombstone(backend: Backend) -> None:
    backend.schedule_save(sched("code:a", fingerprint="f1"))
    backend.schedule_delete("code:a")
    backend.schedule_save(sched("code:a", fingerprint="f2"))
    assert backend.schedule_tombstone("code:a") is None
    backend.schedule_delete("code:a")
    assert backend.schedule_tombstone("code:a") == "f2"


def test_due(backend: Backend) -> None:
    backend.schedule_save(sched("early", next_run_at=T0 + 10))
    backend.schedule_save(sched("late", next_run_at=T0 + 100))
    backend.schedule_save(sched("paused", next_run_at=T0 + 5, paused=True))
    backend.schedule_save(sched("never", next_run_at=None))
    assert backend.schedule_due(now=T0) == []
    assert [s.id for s in backend.schedule_due(now=T0 + 10)] == ["early"]
    assert {s.id for s in backend.schedule_due(now=T0 + 1000)} == {"early", "late"}
    assert len(backend.schedule_due(now=T0 + 1000, limit=1)) == 1


def test_advance_moves_the_schedule_on(backend: Backend) -> None:
    backend.schedule_save(sched(next_run_at=T0 + 60))
    assert backend.schedule_advance("s1", expected_next=T0 + 60, next_run_at=T0 + 120, last_run_at=T0 + 60)
    s = backend.schedule_get("s1")
    assert s is not None
    assert [s.next_run_at, s.last_run_at] == pytest.approx([T0 + 120, T0 + 60])
    assert backend.schedule_due(now=T0 + 100) == []


def test_advance_only_once_per_fire_time(backend: Backend) -> None:
    """Two schedulers firing the same time: the second advance is refused."""
    backend.schedule_save(sched(next_run_at=T0 + 60))
    first = backend.schedule_advance("s1", expected_next=T0 + 60, next_run_at=T0 + 120, last_run_at=T0 + 60)
    second = backend.schedule_advance("s1", expected_next=T0 + 60, next_run_at=T0 + 120, last_run_at=T0 + 61)
    assert (first, second) == (True, False)
    s = backend.schedule_get("s1")
    assert s is not None and s.last_run_at == pytest.approx(T0 + 60)


def test_advance_of_a_missing_schedule(backend: Backend) -> None:
    assert backend.schedule_advance("nope", expected_next=T0, next_run_at=T0 + 1, last_run_at=T0) is False


def test_advance_keeps_the_rest(backend: Backend) -> None:
    s = sched(next_run_at=T0 + 60)
    backend.schedule_save(s)
    backend.schedule_advance("s1", expected_next=T0 + 60, next_run_at=T0 + 120, last_run_at=T0 + 60)
    assert backend.schedule_get("s1") == replace(s, next_run_at=T0 + 120, last_run_at=T0 + 60)
