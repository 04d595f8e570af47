"""The service layer: what the HTTP API, the integrations and the CLI ask of offload,
with authorization decided in one place. No HTTP types here."""

from __future__ import annotations

from ..errors import AccessDenied, AuthenticationFailed, InvalidField, InvalidRequest, ScheduleNotFound
from .jobs import JobService, Page, Submitted
from .models import (
    FailuresQuery,
    HistoryQuery,
    ListQuery,
    ScheduleRequest,
    StatsQuery,
    SubmitRequest,
    event_cursor,
    idempotency_key,
    text_param,
)
from .principal import Principal
from .schedules import ScheduleService
from .stats import StatsService
from .tokens import TokenService, token_hash

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "InvalidField",
    "FailuresQuery",
    "HistoryQuery",
    "InvalidRequest",
    "JobService",
    "ListQuery",
    "StatsService",
    "Page",
    "Principal",
    "ScheduleNotFound",
    "ScheduleRequest",
    "ScheduleService",
    "StatsQuery",
    "SubmitRequest",
    "Submitted",
    "TokenService",
    "event_cursor",
    "idempotency_key",
    "text_param",
    "token_hash",
]
