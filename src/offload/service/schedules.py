"""ScheduleService: cron and interval schedules, with authorization.

A schedule belongs to the user who created it (``ScheduleRecord.owner``) and the jobs
it fires are owned by that user. A user sees and acts only on their own schedules;
another user's schedule is reported exactly like a missing one. Admins see all.

Schedule ids are per user, like unique keys: a user who names a schedule ``nightly``
gets ``nightly`` back, stored as ``<user>:nightly``, so two users can both have a
``nightly`` schedule and neither can name (or reveal) the other's. Admins use the
stored ids as they are.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from croniter import croniter

from ..errors import InvalidField, ScheduleConflict, ScheduleNotFound
from ..records import ScheduleRecord
from .jobs import check_queue
from .principal import Principal
from .requests import MAX_KEY

if TYPE_CHECKING:
    from ..app import App
    from ..handle import JobHandle

log = logging.getLogger(__name__)

SCHEDULE_FIELDS = ("task", "args", "kwargs", "cron", "interval", "timezone", "id", "queue", "priority")
MAX_INTERVAL = 100 * 366 * 86400.0  # a century between runs is a mistake
MAX_ID = 200  # as stored, the user's namespace included
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$")  # ids go into URL paths


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """``POST /api/schedules``: a task, its arguments, exactly one of cron or interval,
    and the options of the jobs it fires."""

    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    cron: str | None = None
    interval: float | None = None
    timezone: str = "UTC"
    id: str | None = None
    queue: str | None = None
    priority: int | None = None

    @classmethod
    def from_json(cls, body: Any) -> ScheduleRequest:
        if not isinstance(body, dict):
            raise InvalidField("body", f"must be a JSON object, got {type(body).__name__}")
        unknown = sorted(set(body) - set(SCHEDULE_FIELDS))
        if unknown:
            raise InvalidField("body", f"unknown field(s) {', '.join(map(repr, unknown))}")
        task = body.get("task")
        if not isinstance(task, str) or not task:
            raise InvalidField("task", f"must be a non-empty string, got {task!r:.80}")
        args = body.get("args")
        if args is not None and not isinstance(args, list):
            raise InvalidField("args", f"must be a JSON array, got {type(args).__name__}")
        kwargs = body.get("kwargs")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise InvalidField("kwargs", f"must be a JSON object, got {type(kwargs).__name__}")
        texts = {name: _text(body, name) for name in ("cron", "timezone", "id", "queue")}
        if texts["id"] is not None and not ID.match(texts["id"]):
            raise InvalidField("id", "must start with a letter or digit and hold only letters, digits and ._:@-")
        if texts["timezone"] is not None:
            _check_timezone(texts["timezone"])
        if texts["cron"] is not None:
            _check_cron(texts["cron"])
        interval = body.get("interval")
        if interval is not None and (
            isinstance(interval, bool) or not isinstance(interval, int | float) or not 1 <= interval <= MAX_INTERVAL
        ):
            raise InvalidField("interval", f"must be seconds from 1 to {MAX_INTERVAL:.0f}, got {interval!r:.80}")
        priority = body.get("priority")
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise InvalidField("priority", f"must be an integer, got {priority!r:.80}")
        if (texts["cron"] is None) == (interval is None):
            raise InvalidField("body", "give exactly one of cron or interval")
        return cls(
            task=task,
            args=list(args or []),
            kwargs=dict(kwargs or {}),
            cron=texts["cron"],
            interval=None if interval is None else float(interval),
            timezone=texts["timezone"] or "UTC",
            id=texts["id"],
            queue=texts["queue"],
            priority=priority,
        )


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_KEY or not value.isprintable():
        raise InvalidField(name, f"must be 1-{MAX_KEY} printable characters, got {value!r:.80}")
    return value


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


class ScheduleService:
    """Every action on schedules, with the same rule as jobs: yours, or an admin's."""

    def __init__(self, app: App) -> None:
        self.app = app

    def list_schedules(self, principal: Principal) -> list[dict[str, Any]]:
        return [
            self.to_json(principal, r)
            for r in self.app.schedules.list()
            if principal.admin or r.owner == principal.user
        ]

    def get(self, principal: Principal, schedule_id: str) -> ScheduleRecord:
        for stored in _candidates(principal, schedule_id):
            record = self.app.backend.schedule_get(stored)
            if record is not None and (principal.admin or record.owner == principal.user):
                return record
        raise ScheduleNotFound(schedule_id)

    def create(self, principal: Principal, req: ScheduleRequest) -> tuple[ScheduleRecord, bool]:
        """Create (or replace one of the caller's own) schedule; True when it is new.
        The task and arguments are checked like an enqueue's before anything is stored."""
        if req.queue is not None:
            check_queue(self.app, principal, req.queue)
        stored = _stored_id(principal, req.id or secrets.token_hex(8))
        if len(stored) > MAX_ID:
            room = MAX_ID - (len(stored) - len(req.id or ""))
            raise InvalidField("id", f"too long: yours may have at most {room} characters")
        old = self.app.backend.schedule_get(stored)
        if old is not None and not principal.admin and old.owner != principal.user:
            raise ScheduleConflict(req.id or stored)
        record = self.app.schedules.add(
            req.task,
            args=req.args,
            kwargs=req.kwargs,
            cron=req.cron,
            interval=req.interval,
            timezone=req.timezone,
            id=stored,
            queue=req.queue,
            priority=req.priority,
            owner=principal.user,
        )
        log.info("schedule %s %s by %s", record.id, "replaced" if old else "created", principal.user)
        return record, old is None

    def set_paused(self, principal: Principal, schedule_id: str, paused: bool) -> ScheduleRecord:
        record = self.get(principal, schedule_id)
        if paused:
            return self.app.schedules.pause(record.id)
        return self.app.schedules.resume(record.id)

    def run_now(self, principal: Principal, schedule_id: str) -> JobHandle:
        """Enqueue the schedule's job at once, owned by the schedule's owner."""
        record = self.get(principal, schedule_id)
        return self.app.schedules.run_now(record.id)

    def delete(self, principal: Principal, schedule_id: str) -> None:
        record = self.get(principal, schedule_id)
        try:
            self.app.schedules.delete(record.id)
        except ScheduleNotFound:
            raise ScheduleNotFound(schedule_id) from None  # as the caller named it

    def to_json(self, principal: Principal, record: ScheduleRecord) -> dict[str, Any]:
        """The schedule as the caller names it."""
        return replace(record, id=_shown_id(principal, record.id)).to_dict()


def _stored_id(principal: Principal, schedule_id: str) -> str:
    return schedule_id if principal.admin else principal.scoped(schedule_id)


def _shown_id(principal: Principal, stored: str) -> str:
    prefix = principal.key_prefix
    return stored[len(prefix) :] if not principal.admin and stored.startswith(prefix) else stored


def _candidates(principal: Principal, schedule_id: str) -> list[str]:
    """Stored ids a caller's id may name: for users their own namespace first, then the
    id as it is (a schedule made in code or the CLI with ``owner=`` that user)."""
    if not schedule_id or len(schedule_id) > 2 * MAX_KEY + 1 or not schedule_id.isprintable():
        return []  # no stored id looks like that
    if principal.admin:
        return [schedule_id]
    return [_stored_id(principal, schedule_id), schedule_id]
