"""Requests and answers of the HTTP API, defined once as typed models (msgspec
Structs): the checks of what a client sends and the OpenAPI document
(service/openapi.py) are both made from them.

- fields: the constrained values (names, keys, filters, cursors ...) and the one
  conversion from what a client sent to a model, with its errors;
- requests: request bodies, query strings and headers;
- answers: every answer's JSON.
"""

from __future__ import annotations

from .fields import MAX_KEY
from .requests import (
    MAX_HOURS,
    MAX_LIMIT,
    MAX_PAGE,
    EventsQuery,
    FailuresQuery,
    HistoryQuery,
    ListQuery,
    ScheduleRequest,
    StatsQuery,
    SubmitRequest,
    event_cursor,
    idempotency_key,
    plausible_id,
    text_param,
)

__all__ = [
    "MAX_HOURS",
    "MAX_KEY",
    "MAX_LIMIT",
    "MAX_PAGE",
    "EventsQuery",
    "FailuresQuery",
    "HistoryQuery",
    "ListQuery",
    "ScheduleRequest",
    "StatsQuery",
    "SubmitRequest",
    "event_cursor",
    "idempotency_key",
    "plausible_id",
    "text_param",
]
