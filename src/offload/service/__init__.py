"""The service layer: what the HTTP API, the integrations and the CLI ask of offload,
with authorization decided in one place. No HTTP types here."""

from __future__ import annotations

from ..errors import AccessDenied, AuthenticationFailed, InvalidField, InvalidRequest, ScheduleNotFound
from .jobs import JobService, Page, Submitted
from .monitoring import MonitoringService
from .principal import Principal
from .requests import ListQuery, SubmitRequest, event_cursor, idempotency_key
from .schedules import ScheduleRequest, ScheduleService
from .tokens import TokenService, token_hash

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "InvalidField",
    "InvalidRequest",
    "JobService",
    "ListQuery",
    "MonitoringService",
    "Page",
    "Principal",
    "ScheduleNotFound",
    "ScheduleRequest",
    "ScheduleService",
    "SubmitRequest",
    "Submitted",
    "TokenService",
    "event_cursor",
    "idempotency_key",
    "token_hash",
]
