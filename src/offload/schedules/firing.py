"""Firing schedules. Any number of schedulers may run (every worker runs one): a
firing is one job with the idempotency key ``schedule:{id}:{fire time}``, and the
schedule moves on only if nobody moved it first, so each (schedule, fire time) makes
exactly one job. A schedule whose task this process doesn't have is left to one that
has it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..backends.base import Backend
from ..errors import OffloadError
from ..handle import JobHandle
from ..records import NewJob, ScheduleRecord
from ..task import Task
from .timing import fired

log = logging.getLogger(__name__)


class Parts(Protocol):
    """What schedules need of their app: its store, its tasks, and its enqueue checks."""

    @property
    def backend(self) -> Backend: ...

    @property
    def tasks(self) -> Mapping[str, Task]: ...

    def build_job(self, task_name: str, args: Sequence[Any], kwargs: dict[str, Any], **options: Any) -> NewJob: ...

    def enqueue(self, task_name: str, *args: Any, **kwargs: Any) -> JobHandle: ...


def fire_due(app: Parts, now: float) -> int:
    """Fire every due schedule whose task ``app`` has, once; return how many jobs were made."""
    created = 0
    for record in app.backend.schedule_due(now=now):
        if record.task not in app.tasks:
            continue  # another process with that task's code fires it
        try:
            created += _fire(app, record, now)
        except OffloadError as exc:
            log.warning("schedule %s could not fire: %s", record.id, exc)
    return created


def _fire(app: Parts, record: ScheduleRecord, now: float) -> int:
    assert record.next_run_at is not None
    fire_at = record.next_run_at
    key = f"schedule:{record.id}:{fire_at:.3f}"
    (inserted,) = app.backend.job_insert_many(
        [app.build_job(record.task, record.args, record.kwargs, idempotency_key=key, **job_options(record))]
    )
    after = fired(record, fire_at, now)
    assert after.next_run_at is not None
    app.backend.schedule_advance(record.id, expected_next=fire_at, next_run_at=after.next_run_at, last_run_at=fire_at)
    return int(inserted.created)


def job_options(record: ScheduleRecord) -> dict[str, Any]:
    """The enqueue options of a schedule's jobs."""
    options = {"queue": record.queue, "priority": record.priority, "owner": record.owner}
    return {k: v for k, v in options.items() if v is not None}
