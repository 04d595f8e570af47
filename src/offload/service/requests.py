"""What a client may ask for, checked and normalised before anything is touched.

The shapes here are plain JSON values and string query parameters, so the Starlette
API and the Flask and FastAPI integrations share one set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidField, InvalidRequest
from ..names import FILTER_RULE, MAX_LENGTH, is_filter
from ..records import JobStatus

MAX_PAGE = 500
MAX_KEY = MAX_LENGTH
_CURSOR = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")


def plausible_id(job_id: str) -> bool:
    """Whether job_id could name a job at all (else it is not looked up)."""
    return 0 < len(job_id) <= 64 and job_id.isprintable()


SUBMIT_FIELDS = (
    "task",
    "args",
    "kwargs",
    "queue",
    "priority",
    "delay",
    "run_at",
    "max_attempts",
    "timeout",
    "unique_key",
)


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """``POST /api/jobs``: a task, its arguments and the per-job options."""

    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # App.build_job keywords

    @classmethod
    def from_json(cls, body: Any) -> SubmitRequest:
        if not isinstance(body, dict):
            raise InvalidField("body", f"must be a JSON object, got {type(body).__name__}")
        unknown = sorted(set(body) - set(SUBMIT_FIELDS))
        if unknown:
            raise InvalidField("body", f"unknown field(s) {', '.join(map(repr, unknown))}")
        task = body.get("task")
        if not isinstance(task, str) or not task:
            raise InvalidField("task", f"must be a non-empty string, got {task!r:.80}")
        args = _typed(body, "args", list, "a JSON array")
        kwargs = _typed(body, "kwargs", dict, "a JSON object")
        options = {k: body[k] for k in SUBMIT_FIELDS[3:] if body.get(k) is not None}
        for name in ("delay", "timeout"):
            if name in options:
                _check_seconds(name, options[name])
        if "run_at" in options:
            options["run_at"] = parse_time(options["run_at"])
        for name in ("queue", "unique_key"):
            if name in options and not isinstance(options[name], str):
                raise InvalidField(name, f"must be a string, got {options[name]!r:.80}")
        return cls(task, args, kwargs, options)


def _typed(body: dict[str, Any], name: str, kind: type, what: str) -> Any:
    value = body.get(name)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise InvalidField(name, f"must be {what}, got {type(value).__name__}")
    return value


MAX_SECONDS = 100 * 366 * 86400.0  # a delay or timeout beyond a century is a mistake
MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z, the last time ISO 8601 can write


def _check_seconds(name: str, value: Any) -> None:
    """Numbers the store can hold and the API can print back: finite and in range
    (the sign and type are App.build_job's to check)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and not -MAX_SECONDS <= value <= MAX_SECONDS:
        raise InvalidField(name, f"must be at most {MAX_SECONDS:.0f} seconds, got {value!r}")


def parse_time(value: Any) -> float | datetime:
    """``run_at``: ISO 8601 (UTC when no offset is given) or POSIX seconds."""
    if isinstance(value, bool):
        raise InvalidField("run_at", f"must be ISO 8601 or epoch seconds, got {value!r}")
    if isinstance(value, int | float):
        if not -MAX_EPOCH <= value <= MAX_EPOCH:
            raise InvalidField("run_at", f"out of range: {value!r}")
        return value
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidField("run_at", f"must be ISO 8601 or epoch seconds, got {value!r:.80}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidField("run_at", f"not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_KEY or not value.isprintable():
        raise InvalidRequest("Idempotency-Key", f"must be 1-{MAX_KEY} printable characters")
    return value


@dataclass(frozen=True, slots=True)
class ListQuery:
    """``GET /api/jobs?status=&queue=&task=&owner=&limit=&cursor=``."""

    status: str | None = None
    queue: str | None = None
    task: str | None = None
    owner: str | None = None
    limit: int = 20
    cursor: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        status = params.get("status") or None
        if status is not None and status not in JobStatus._value2member_map_:
            raise InvalidRequest("status", f"{status!r} is not one of {', '.join(s.value for s in JobStatus)}")
        raw_limit = params.get("limit") or "20"
        try:
            limit = int(raw_limit)
        except ValueError:
            raise InvalidRequest("limit", f"must be an integer, got {raw_limit!r:.40}") from None
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
        cursor = params.get("cursor") or None
        if cursor is not None and not _CURSOR.match(cursor):
            raise InvalidRequest("cursor", "not a cursor this API returned")
        texts = {name: text_param(params.get(name), name) for name in ("queue", "task", "owner")}
        return cls(status=status, limit=limit, cursor=cursor, **texts)


def text_param(value: str | None, name: str) -> str | None:
    """A queue, task or owner given in a query string or a path (offload.names, filters):
    None when empty; a control character (a NUL, a line break) is refused before any
    store sees it."""
    if value is None or value == "":
        return None
    if not is_filter(value):
        raise InvalidRequest(name, f"must be {FILTER_RULE}, got {value!r:.80}")
    return value


def event_cursor(value: str | None, name: str = "Last-Event-ID") -> int | None:
    """A stream position a client sends back: an event seq."""
    if value is None or value == "":
        return None
    try:
        seq = int(value)
    except ValueError:
        raise InvalidRequest(name, f"must be an event id (an integer), got {value!r:.40}") from None
    if seq < 0 or seq > 2**63:
        raise InvalidRequest(name, f"out of range: {seq}")
    return seq
