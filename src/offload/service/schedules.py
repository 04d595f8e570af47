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
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import InvalidField, ScheduleConflict, ScheduleNotFound
from ..records import ScheduleRecord
from .jobs import check_queue
from .models import MAX_KEY, ScheduleRequest
from .principal import Principal
from .views import schedule_json

if TYPE_CHECKING:
    from ..app import App
    from ..handle import JobHandle

log = logging.getLogger(__name__)

MAX_ID = 200  # as stored, the user's namespace included


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
            args=req.args or [],
            kwargs=req.kwargs or {},
            cron=req.cron,
            interval=req.interval,
            timezone=req.timezone or "UTC",
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
        return schedule_json(replace(record, id=_shown_id(principal, record.id)))


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
