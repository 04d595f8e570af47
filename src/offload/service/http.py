"""The one table from exceptions to HTTP answers, and the error body every answer
uses: ``{"error": {"code", "message"}}``.

Used by every adapter alike (``offload serve``, the Flask and FastAPI integrations,
the connection limits). Anything a client sends ends in a 4xx; only a fault of our
own is a 500. A new exception gets its row here.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    BackendError,
    BackendUnavailable,
    EnqueueError,
    InvalidArguments,
    InvalidField,
    InvalidRequest,
    InvalidSchedule,
    InvalidTransition,
    JobNotFound,
    NotSerializable,
    PayloadTooLarge,
    RateLimited,
    ScheduleConflict,
    ScheduleNotFound,
    UnknownTask,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)


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

# Statuses a web framework itself answers with (unknown route, wrong method).
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The body of every error answer."""
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
