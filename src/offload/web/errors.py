"""The one table from exceptions to HTTP answers, and the error body every answer
uses: ``{"error": {"code", "message"}}``.

Used by the Starlette API and by the Flask and FastAPI integrations alike. Anything a
client sends ends in a 4xx; only a fault of our own is a 500.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ..errors import (
    BackendError,
    BackendUnavailable,
    EnqueueError,
    InvalidArguments,
    InvalidSchedule,
    InvalidTransition,
    JobNotFound,
    NotSerializable,
    OffloadError,
    PayloadTooLarge,
    ScheduleConflict,
    ScheduleNotFound,
    UnknownTask,
    UnsupportedMediaType,
)
from ..service import AccessDenied, AuthenticationFailed, InvalidField, InvalidRequest

log = logging.getLogger(__name__)


class RateLimited(OffloadError):
    """Too many requests (or open streams) for one token."""

    def __init__(self, retry_after: float, what: str = "requests") -> None:
        self.retry_after = retry_after
        super().__init__(f"too many {what}; retry after {math.ceil(retry_after)}s")


# First match wins, so subclasses come before their bases.
ERROR_TABLE: tuple[tuple[type[BaseException], int, str], ...] = (
    (AuthenticationFailed, 401, "unauthorized"),
    (AccessDenied, 403, "forbidden"),
    (JobNotFound, 404, "not_found"),
    (ScheduleNotFound, 404, "not_found"),
    (InvalidTransition, 409, "invalid_transition"),
    (ScheduleConflict, 409, "conflict"),
    (PayloadTooLarge, 413, "payload_too_large"),
    (UnknownTask, 422, "unknown_task"),
    (InvalidSchedule, 422, "invalid_schedule"),
    (InvalidArguments, 422, "invalid_arguments"),
    (NotSerializable, 422, "not_serializable"),
    (InvalidField, 422, "invalid_field"),
    (EnqueueError, 422, "enqueue_refused"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (InvalidRequest, 400, "bad_request"),
    (RateLimited, 429, "rate_limited"),
    (BackendUnavailable, 503, "unavailable"),
    (BackendError, 503, "store_error"),
)

# Statuses Starlette itself raises (unknown route, wrong method).
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def describe(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for an exception."""
    for cls, status, code in ERROR_TABLE:
        if isinstance(exc, cls):
            return status, error_body(code, str(exc)), _headers(exc, status)
    log.error("unexpected error answering a request", exc_info=exc)
    return 500, error_body("internal", "internal error; see the server log"), {}


def _headers(exc: BaseException, status: int) -> dict[str, str]:
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="offload"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    if status == 503:
        return {"Retry-After": "1"}
    return {}
