"""``app.schedules``: creating, listing, pausing, resuming, deleting and running
schedules, and saving those declared in code. Firing them is firing.py's.

Schedules declared in code (``periodic``) are saved when a scheduler starts, and the
store remembers a fingerprint of the declaration it last applied. A start applies a
declaration only when it differs from that one, so what was done at run time (pause,
resume, delete, a replacement) stands across restarts until the code changes; a
changed declaration replaces the plan and keeps the paused flag, and brings a deleted
schedule back. docs/schedules.md says the same for users.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from typing import Any

import orjson

from ..errors import ScheduleNotFound
from ..handle import JobHandle
from ..records import ScheduleRecord, new_schedule_id
from .firing import Parts, fire_due, job_options
from .timing import next_after, validate

log = logging.getLogger(__name__)


class Schedules:
    """``app.schedules``: create, list, pause, resume, delete and fire schedules."""

    def __init__(self, app: Parts) -> None:
        self.app = app
        self._in_code: list[ScheduleRecord] = []
        self._synced = False

    def add(
        self,
        task: str,
        *,
        args: list[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        cron: str | None = None,
        interval: float | None = None,
        timezone: str = "UTC",
        id: str | None = None,  # noqa: A002 - the schedule's id, as in the API
        queue: str | None = None,
        priority: int | None = None,
        owner: str | None = None,
        paused: bool = False,
        now: float | None = None,
    ) -> ScheduleRecord:
        """Create or replace a schedule. Its arguments are checked like an enqueue's."""
        now = time.time() if now is None else now
        args, kwargs = list(args or []), dict(kwargs or {})
        self.app.build_job(task, args, kwargs, queue=queue, priority=priority, owner=owner)  # validates
        record = validate(
            ScheduleRecord(
                id=id or new_schedule_id(),
                task=task,
                args=args,
                kwargs=kwargs,
                cron=cron,
                interval=interval,
                timezone=timezone,
                paused=paused,
                queue=queue,
                priority=priority,
                owner=owner,
                created_at=now,
            )
        )
        old = self.app.backend.schedule_get(record.id)
        # A schedule declared in code, replaced (or made again after a delete) at run
        # time, keeps the fingerprint of its declaration: the replacement stands until
        # the declaration changes.
        applied = old.fingerprint if old is not None else self.app.backend.schedule_tombstone(record.id)
        return self._save(replace(record, fingerprint=applied), old, now)

    def _save(self, record: ScheduleRecord, old: ScheduleRecord | None, now: float) -> ScheduleRecord:
        if old is not None and _same_plan(old, record):
            record = replace(record, created_at=old.created_at, last_run_at=old.last_run_at)
        record = replace(record, next_run_at=next_after(record, now))
        self.app.backend.schedule_save(record)
        return record

    def periodic(self, task: str, **options: Any) -> None:
        """Declare a schedule in code; schedulers save it when they start (see
        sync_code for how it meets what was done at run time). ``paused=True`` makes
        it paused when it is first saved."""
        self._in_code.append(validate(ScheduleRecord(id=options.pop("id", f"code:{task}"), task=task, **options)))

    def get(self, schedule_id: str) -> ScheduleRecord:
        record = self.app.backend.schedule_get(schedule_id)
        if record is None:
            raise ScheduleNotFound(schedule_id)
        return record

    def list(self) -> list[ScheduleRecord]:
        return self.app.backend.schedule_list()

    def delete(self, schedule_id: str) -> None:
        """Remove a schedule. One declared in code stays deleted across restarts until
        its declaration changes."""
        if not self.app.backend.schedule_delete(schedule_id):
            raise ScheduleNotFound(schedule_id)

    def pause(self, schedule_id: str) -> ScheduleRecord:
        record = replace(self.get(schedule_id), paused=True)
        self.app.backend.schedule_save(record)
        return record

    def resume(self, schedule_id: str, *, now: float | None = None) -> ScheduleRecord:
        """Unpause; the next run is the next fire time from now (paused time is not made up)."""
        now = time.time() if now is None else now
        record = replace(self.get(schedule_id), paused=False)
        record = replace(record, next_run_at=next_after(record, now))
        self.app.backend.schedule_save(record)
        return record

    def run_now(self, schedule_id: str) -> JobHandle:
        """Enqueue the schedule's job now, outside its timetable."""
        record = self.get(schedule_id)
        options = {f"_{k}": v for k, v in job_options(record).items()}
        return self.app.enqueue(record.task, *record.args, **record.kwargs, **options)

    # -- firing --------------------------------------------------------------------------

    def sync_code(self, now: float | None = None) -> None:
        """Save the schedules declared in code, each unless the store already holds
        what was made of that very declaration (see the module docstring)."""
        now = time.time() if now is None else now
        for declared in self._in_code:
            self._apply(declared, now)
        self._synced = True

    def _apply(self, declared: ScheduleRecord, now: float) -> None:
        fingerprint = _fingerprint(declared)
        old = self.app.backend.schedule_get(declared.id)
        if old is not None and old.fingerprint == fingerprint:
            return  # as declared when last applied: pauses and edits made since stand
        if old is None and self.app.backend.schedule_tombstone(declared.id) == fingerprint:
            return  # deleted at run time, and the declaration is the one it was made from
        self.app.build_job(declared.task, declared.args, declared.kwargs, **job_options(declared))  # validates
        paused = declared.paused if old is None else old.paused
        record = replace(declared, paused=paused, created_at=now, fingerprint=fingerprint)
        self._save(record, old, now)
        log.info("schedule %s %s from its declaration in code", declared.id, "updated" if old else "saved")

    def tick(self, now: float | None = None) -> int:
        """Fire every due schedule once (saving the code's declarations first, once);
        return how many jobs this call created."""
        now = time.time() if now is None else now
        if not self._synced:
            self.sync_code(now)
        return fire_due(self.app, now)


def _same_plan(a: ScheduleRecord, b: ScheduleRecord) -> bool:
    return (a.task, a.cron, a.interval, a.timezone) == (b.task, b.cron, b.interval, b.timezone)


def _fingerprint(declared: ScheduleRecord) -> str:
    """What a declaration asks for (its plan and the jobs it makes), as a short hash;
    ``interval=60`` and ``60.0``, or keyword arguments in another order, are the same."""
    plan = [
        declared.task,
        declared.args,
        declared.kwargs,
        declared.cron,
        None if declared.interval is None else float(declared.interval),
        declared.timezone,
        declared.queue,
        declared.priority,
        declared.owner,
    ]
    return hashlib.sha256(orjson.dumps(plan, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
