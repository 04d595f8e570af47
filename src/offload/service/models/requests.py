"""What a client may send: request bodies, query strings and headers, checked before
anything is touched. The Starlette API, the Flask and FastAPI integrations and the
dashboard share these rules, and the OpenAPI document is generated from them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from croniter import croniter
from msgspec import Meta, Struct

from ...errors import InvalidField, InvalidRequest
from ...records import JobStatus
from ...stats import HISTORY
from .fields import (
    MAX_EPOCH,
    MAX_JOB_ID,
    MAX_KEY,
    MAX_SECONDS,
    SCHEDULE_ID_PATTERN,
    SCHEDULE_ID_RULE,
    Cursor,
    EventId,
    Filter,
    Key,
    Name,
    Priority,
    from_body,
    from_params,
    from_text,
    printable,
)

MAX_PAGE = 500
MAX_LIMIT = 1000
MAX_HOURS = 366 * 24.0
MAX_INTERVAL = 100 * 366 * 86400.0  # a century between runs is a mistake

Task = Annotated[str, Meta(min_length=1, description="a task the app registers")]
Args = Annotated[list[Any] | None, Meta(description="positional arguments (null: none)")]
Kwargs = Annotated[dict[str, Any] | None, Meta(description="keyword arguments (null: none)")]
Queue = Annotated[Name, Meta(description="one the app declares")]
Seconds = Annotated[float, Meta(ge=0, le=MAX_SECONDS)]
Timeout = Annotated[float, Meta(gt=0, le=MAX_SECONDS)]
Epoch = Annotated[float, Meta(ge=0, le=MAX_EPOCH)]
IsoTime = Annotated[str, Meta(max_length=64, extra_json_schema={"format": "date-time"})]
Text = Annotated[str, Meta(min_length=1, max_length=MAX_KEY)]  # printable: checked by the model

SUBMIT_OPTIONS = ("queue", "priority", "delay", "run_at", "max_attempts", "timeout", "unique_key")


def plausible_id(job_id: str) -> bool:
    """Whether job_id could name a job at all (else it is not looked up)."""
    return 0 < len(job_id) <= MAX_JOB_ID and job_id.isprintable()


class SubmitRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """A job to submit: a task, its arguments and the job's options. A null field is
    as if it were left out."""

    task: Task
    args: Args = None
    kwargs: Kwargs = None
    queue: Queue | None = None
    priority: Priority | None = None
    delay: Annotated[Seconds | None, Meta(description="seconds from now, at most the max_delay_s setting")] = None
    run_at: Annotated[
        IsoTime | Epoch | None, Meta(description="ISO 8601 (UTC when no offset is given) or POSIX seconds")
    ] = None
    max_attempts: Annotated[
        Annotated[int, Meta(ge=1)] | None, Meta(description="at most the max_attempts_limit setting")
    ] = None
    timeout: Annotated[Timeout | None, Meta(description="seconds, at most the max_timeout_s setting")] = None
    unique_key: Key | None = None

    def __post_init__(self) -> None:
        printable("unique_key", self.unique_key)
        if isinstance(self.run_at, str):
            parse_time(self.run_at)

    @classmethod
    def from_json(cls, body: Any) -> SubmitRequest:
        return from_body(body, cls)

    @property
    def options(self) -> dict[str, Any]:
        """The options given, as ``App.build_job`` keywords."""
        out = {}
        for name in SUBMIT_OPTIONS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if isinstance(self.run_at, str):
            out["run_at"] = parse_time(self.run_at)
        return out


def parse_time(value: str) -> datetime:
    """``run_at`` as ISO 8601: UTC when no offset is given."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidField("run_at", f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class ScheduleRequest(Struct, frozen=True, forbid_unknown_fields=True):
    """A schedule to create: a task, its arguments, exactly one of cron or interval,
    and the options of the jobs it fires. A null field is as if it were left out."""

    task: Task
    args: Args = None
    kwargs: Kwargs = None
    cron: Annotated[Text | None, Meta(description="5 fields (a 6th: seconds), or @hourly, @daily, ...")] = None
    interval: Annotated[
        Annotated[float, Meta(ge=1, le=MAX_INTERVAL)] | None, Meta(description="seconds between runs")
    ] = None
    timezone: Annotated[
        Text | None, Meta(description="IANA name (UTC when left out); cron times are wall times there, DST included")
    ] = None
    id: Annotated[
        Annotated[str, Meta(pattern=SCHEDULE_ID_PATTERN)] | None,
        Meta(description=f"{SCHEDULE_ID_RULE}; yours to choose, random when left out"),
    ] = None
    queue: Queue | None = None
    priority: Priority | None = None

    def __post_init__(self) -> None:
        printable("cron", self.cron)
        printable("timezone", self.timezone)
        if self.timezone is not None:
            _check_timezone(self.timezone)
        if self.cron is not None:
            _check_cron(self.cron)
        if (self.cron is None) == (self.interval is None):
            raise InvalidField("body", "give exactly one of cron or interval")

    @classmethod
    def from_json(cls, body: Any) -> ScheduleRequest:
        return from_body(body, cls)


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, not a zone key, a folder of zones
        raise InvalidField("timezone", f"unknown timezone {name!r}") from None


def _check_cron(expr: str) -> None:
    """Valid, and fires at least once (``0 0 30 2 *`` never does)."""
    try:
        ok = croniter.is_valid(expr)
        if ok:
            croniter(expr, time.time()).get_next(float)
    except Exception:  # noqa: BLE001 - croniter's errors are many and not all documented
        ok = False
    if not ok:
        raise InvalidField("cron", f"invalid cron expression {expr!r} (or one that never fires)")


# -- query strings ----------------------------------------------------------------------


class ListQuery(Struct, frozen=True):
    """The job list's filters and page."""

    status: JobStatus | None = None
    queue: Filter | None = None
    task: Filter | None = None
    owner: Annotated[Filter | None, Meta(description="admins only")] = None
    limit: Annotated[int, Meta(ge=1, le=MAX_PAGE)] = 20
    cursor: Cursor | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        return from_params(params, cls)


class StatsQuery(Struct, frozen=True):
    """Statistics of every task, or of one."""

    task: Filter | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> StatsQuery:
        return from_params(params, cls)


class HistoryQuery(Struct, frozen=True):
    """How many of a task's last runs."""

    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = HISTORY

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> HistoryQuery:
        return from_params(params, cls)


class FailuresQuery(Struct, frozen=True):
    """Failures of the last ``hours``, at most ``limit`` of them."""

    hours: Annotated[float, Meta(gt=0, le=MAX_HOURS)] = 24.0
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = 100

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> FailuresQuery:
        return from_params(params, cls)


class EventsQuery(Struct, frozen=True):
    """Where an event stream resumes, and the token for clients that can't send
    headers (EventSource, WebSocket)."""

    last_event_id: EventId | None = None
    access_token: Annotated[str | None, Meta(description="the token, for EventSource, which can't send headers")] = None


# -- single values: headers and path segments -----------------------------------------------


def idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header: a key (surrounding spaces dropped), or None."""
    if value is None:
        return None
    key: str = from_text(value.strip(), Key, "Idempotency-Key")
    printable("Idempotency-Key", key, InvalidRequest)
    return key


def text_param(value: str | None, name: str) -> str | None:
    """A queue, task or owner in a query string or a path: None when empty; a control
    character (a NUL, a line break) is refused before any store sees it."""
    if value is None or value == "":
        return None
    text: str = from_text(value, Filter, name)
    return text


def event_cursor(value: str | None, name: str = "Last-Event-ID") -> int | None:
    """A stream position a client sends back: an event seq."""
    if value is None or value == "":
        return None
    seq: int = from_text(value, EventId, name)
    return seq
