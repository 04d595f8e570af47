"""Every exception offload raises.

OffloadError
├── ConfigurationError        bad URL, store path that can't be opened, bad setting
├── EnqueueError              nothing was stored
│   ├── UnknownTask
│   ├── InvalidArguments      arguments don't bind to the task's signature, or an
│   │   │                     option or name is out of bounds
│   │   └── InvalidSchedule   a cron, interval, timezone or id a schedule can't use
│   ├── NotSerializable       a value isn't JSON
│   └── PayloadTooLarge
├── JobNotFound
├── ScheduleNotFound          no such schedule (or, over HTTP, not the caller's)
├── InvalidTransition         the job's state forbids the action
├── ScheduleConflict          a schedule id the caller may not take
├── BackendError
│   └── BackendUnavailable    the store can't be reached right now (retryable)
├── AuthenticationFailed      no credentials, or ones the store doesn't know (revoked too)
├── AccessDenied              authenticated, but not allowed (admin-only actions)
├── RateLimited               too many requests, or open streams, for one caller
├── InvalidRequest            a request parameter that can't be understood
│   ├── InvalidField          a field of a request body with the wrong type or value
│   └── UnsupportedMediaType  a request body that isn't application/json
├── DecryptionFailed          an encrypted job's value can't be opened (key id not
│                             configured, wrong key, altered or moved ciphertext)
├── WaitTimeout               JobHandle.wait ran out of time
├── JobFailed                 JobHandle.wait on a job that ended failed
├── JobCancelled              JobHandle.wait on a cancelled job; also raised in a task
│                             by JobContext.check_cancelled()
└── IsolatedTaskError         a task with isolation="process" raised, or its process died
"""

from __future__ import annotations

import math

__all__ = [
    "AccessDenied",
    "AuthenticationFailed",
    "BackendError",
    "BackendUnavailable",
    "ConfigurationError",
    "DecryptionFailed",
    "EnqueueError",
    "InvalidArguments",
    "InvalidField",
    "InvalidRequest",
    "InvalidSchedule",
    "InvalidTransition",
    "IsolatedTaskError",
    "JobCancelled",
    "JobFailed",
    "JobNotFound",
    "NotSerializable",
    "OffloadError",
    "PayloadTooLarge",
    "RateLimited",
    "ScheduleConflict",
    "ScheduleNotFound",
    "UnknownTask",
    "UnsupportedMediaType",
    "WaitTimeout",
]


class OffloadError(Exception):
    """Root of every offload exception."""


class ConfigurationError(OffloadError):
    """A URL, path or setting that offload cannot work with."""


class EnqueueError(OffloadError):
    """A job was refused before anything was stored."""


class UnknownTask(EnqueueError):
    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f" (registered: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"unknown task {name!r}{hint}")


class InvalidArguments(EnqueueError):
    """A job of ``task`` can't be built: its arguments don't bind to the function, or
    an option or a name is out of bounds. ``reason`` says which."""

    what = "task"

    def __init__(self, task: str, reason: str) -> None:
        self.task = task
        self.reason = reason
        super().__init__(f"{self.what} {task!r}: {reason}")


class InvalidSchedule(InvalidArguments):
    """A schedule's cron, interval, timezone or id is unusable; nothing was stored."""

    what = "schedule of task"


class NotSerializable(EnqueueError):
    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        super().__init__(f"{what} is not JSON: {reason}")


class PayloadTooLarge(EnqueueError):
    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"payload is {size} bytes, over the limit of {limit} bytes")


class JobNotFound(OffloadError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}")


class ScheduleNotFound(OffloadError):
    """No schedule with that id (over HTTP also: one the caller may not see)."""

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id
        super().__init__(f"no schedule with id {schedule_id!r}")


class ScheduleConflict(OffloadError):
    """The id names a schedule the caller may not replace."""

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id
        super().__init__(f"schedule id {schedule_id!r} is taken; choose another")


class InvalidTransition(OffloadError):
    def __init__(self, job_id: str, src: str, dst: str) -> None:
        self.job_id = job_id
        self.src = str(src)
        self.dst = str(dst)
        super().__init__(f"job {job_id} cannot go from {self.src!r} to {self.dst!r}")


class BackendError(OffloadError):
    """The store refused or failed an operation."""

    retryable = False


class BackendUnavailable(BackendError):
    """The store can't be reached or is busy; the same call may succeed later."""

    retryable = True


class ClaimFailed(BackendError):
    """job_finish_and_claim wrote the outcomes, but its claim failed: ``written`` are
    the ids written (they stand), and nothing was claimed. The caller treats it as a
    failing store (the claim may be asked again, later), and keeps no outcome to write
    again."""

    def __init__(self, written: set[str], cause: BackendError) -> None:
        super().__init__(f"the outcomes were written, but the claim failed: {cause}")
        self.written = written
        self.retryable = cause.retryable


class AuthenticationFailed(OffloadError):
    def __init__(self, reason: str = "a valid bearer token is required") -> None:
        super().__init__(reason)


class AccessDenied(OffloadError):
    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"{action} needs an admin token")


class RateLimited(OffloadError):
    """Too many requests (or open streams) for one token; ``retry_after`` seconds
    until the next one is let through."""

    def __init__(self, retry_after: float, what: str = "requests") -> None:
        self.retry_after = retry_after
        super().__init__(f"too many {what}; retry after {math.ceil(retry_after)}s")


class StreamClosed(OffloadError):
    """A live stream ended under its reader: the event hub stopped, or the stream fell
    too far behind it. Never answered over HTTP: the stream just ends, and the client
    reconnects from its last event id."""


class InvalidRequest(OffloadError):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"{name}: {reason}")


class InvalidField(InvalidRequest):
    """A field of a request body that is missing, of the wrong type or out of range (422)."""


class UnsupportedMediaType(InvalidRequest):
    """A request body whose Content-Type is not application/json (415)."""

    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type
        given = "missing" if content_type is None else repr(content_type)
        super().__init__("Content-Type", f"{given}; the body must be application/json")


class DecryptionFailed(OffloadError):
    """A value of a job made with ``encrypt=True`` can't be decrypted here. The message
    names the job, the field and the key id, never key material."""

    def __init__(self, job_id: str, field: str, reason: str, key_id: str | None = None) -> None:
        self.job_id = job_id
        self.field = field
        self.key_id = key_id
        self.reason = reason
        super().__init__(f"job {job_id}: cannot decrypt its {field}: {reason}")


class WaitTimeout(OffloadError):
    def __init__(self, job_id: str, timeout: float, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"job {job_id} still {status} after {timeout:g}s")


class JobFailed(OffloadError):
    def __init__(self, job_id: str, error: str | None) -> None:
        self.job_id = job_id
        self.error = error
        super().__init__(f"job {job_id} failed: {error}")


class JobCancelled(OffloadError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} was cancelled")


class IsolatedTaskError(OffloadError):
    """What a task that ran in a process of its own (``isolation="process"``) raised,
    carried back as text: ``error`` is what the job records ("ValueError: bad row"),
    ``traceback`` the task's, ``mro`` the exception's classes by module and name (for
    ``dont_retry_for``). ``final``: the attempt must not be retried (its result is not
    JSON)."""

    def __init__(
        self, error: str, *, traceback: str | None = None, mro: list[str] | None = None, final: bool = False
    ) -> None:
        self.error = error
        self.remote_traceback = traceback
        self.mro = list(mro or [])
        self.final = final
        super().__init__(error)
