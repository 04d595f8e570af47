"""Schedules: cron or interval, in a timezone, and when each one fires next."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidSchedule
from ..names import KEY_RULE, is_key
from ..records import ScheduleRecord


def validate(record: ScheduleRecord) -> ScheduleRecord:
    """Check cron / interval / timezone / id; raise InvalidSchedule naming the problem."""
    if (record.cron is None) == (record.interval is None):
        raise InvalidSchedule(record.task, "a schedule needs exactly one of cron or interval")
    try:
        ZoneInfo(record.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        raise InvalidSchedule(record.task, f"unknown timezone {record.timezone!r}") from None
    if record.cron is not None:
        from croniter import CroniterBadDateError, croniter  # only where schedules are used: it is slow to import

        if not croniter.is_valid(record.cron):
            raise InvalidSchedule(record.task, f"invalid cron expression {record.cron!r}")
        try:
            next_after(record, 0.0)
        except CroniterBadDateError:
            raise InvalidSchedule(record.task, f"cron expression {record.cron!r} never fires") from None
    if record.interval is not None and (
        isinstance(record.interval, bool) or not isinstance(record.interval, int | float) or record.interval < 1
    ):
        raise InvalidSchedule(record.task, f"interval must be a number of seconds >= 1, got {record.interval!r}")
    if not is_key(record.id):
        raise InvalidSchedule(record.task, f"schedule id must be {KEY_RULE}; got {record.id!r:.80}")
    return record


def next_after(record: ScheduleRecord, after: float) -> float:
    """The first fire time strictly after ``after``, in the schedule's timezone (DST
    included: a wall time that doesn't exist fires at the next one that does)."""
    if record.interval is not None:
        anchor = record.last_run_at if record.last_run_at is not None else record.created_at
        if anchor > after:
            return anchor
        periods = int((after - anchor) // record.interval) + 1
        return anchor + periods * record.interval
    assert record.cron is not None
    from croniter import croniter

    tz = ZoneInfo(record.timezone)
    start = datetime.fromtimestamp(after, tz=UTC).astimezone(tz)
    fire: datetime = croniter(record.cron, start).get_next(datetime)
    return fire.timestamp()


def fired(record: ScheduleRecord, fire_at: float, now: float) -> ScheduleRecord:
    """The schedule after firing for ``fire_at``: the next fire time is after now, so
    a schedule that missed many runs while nothing was running fires once, not in a
    burst."""
    done = replace(record, last_run_at=fire_at)
    return replace(done, next_run_at=next_after(done, max(now, fire_at)))
