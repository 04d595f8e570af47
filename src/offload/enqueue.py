"""Everything enqueue checks before anything is stored, and the job it builds: the
task is known, the options are within their rules and bounds, the arguments bind to the
function, the values are JSON and the payload fits (then, for ``encrypt=True``, the
job is sealed). Nothing here touches the store."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from . import serialization
from .crypto import Keyring
from .errors import ConfigurationError, InvalidArguments, PayloadTooLarge, UnknownTask
from .names import KEY_RULE, NAME_RULE, is_key, is_name
from .records import NewJob, job_ids
from .settings import Settings
from .task import Task, TaskOptions


class JobBuilder:
    """Checks and builds the jobs of one app's tasks (``App.build_job``)."""

    def __init__(self, tasks: Mapping[str, Task], settings: Settings, keyring: Keyring) -> None:
        self.tasks = tasks
        self.settings = settings
        self.keyring = keyring

    def task(self, name: str) -> Task:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownTask(name, list(self.tasks)) from None

    def build(self, task_name: str, args: Sequence[Any], kwargs: dict[str, Any], **options: Any) -> NewJob:
        """One job: everything enqueue checks before anything is stored."""
        return self.factory(task_name, **options)(args, kwargs)

    def factory(
        self,
        task_name: str,
        *,
        delay: float | None = None,
        run_at: datetime | float | None = None,
        priority: int | None = None,
        queue: str | None = None,
        owner: str | None = None,
        unique_key: str | None = None,
        idempotency_key: str | None = None,
        retries: int | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        backoff: float | None = None,
        **unknown: Any,
    ) -> Callable[[Sequence[Any], dict[str, Any]], NewJob]:
        """Check the options once; the function returned checks one call's arguments and
        builds its job (a batch of jobs with the same options checks them once)."""
        task = self.task(task_name)
        if unknown:
            raise InvalidArguments(task_name, f"unknown option(s) {', '.join('_' + k for k in sorted(unknown))}")
        opts, s = task.options, self.settings
        if queue is None:
            queue = opts.queue  # checked when the task was registered
        elif not is_name(queue):
            raise InvalidArguments(task_name, f"_queue must be {NAME_RULE}; got {queue!r:.80}")
        # The fields after args_json and kwargs_json, in NewJob's order: passed by
        # position (much cheaper than by keyword, and made once per call).
        rest = (
            _check_int(task_name, "priority", opts.priority if priority is None else priority),
            None if owner is None else _check_key(task_name, "owner", owner),
            _max_attempts(task_name, opts, retries, max_attempts, s.max_attempts_limit),
            _run_at(task_name, delay, run_at, s.max_delay_s),
            _timeout(task_name, opts.timeout if timeout is None else timeout, s.max_timeout_s),
            _positive(task_name, "backoff", opts.backoff if backoff is None else backoff, allow_zero=True),
            None if unique_key is None else _check_key(task_name, "unique_key", unique_key),
            None if idempotency_key is None else _check_key(task_name, "idempotency_key", idempotency_key),
        )
        check, limit, ids = task.check_arguments, s.max_payload, job_ids()
        what_args, what_kwargs = f"arguments of {task_name!r}", f"keyword arguments of {task_name!r}"

        def make(args: Sequence[Any], kwargs: dict[str, Any]) -> NewJob:
            check(args, kwargs)
            args_json = serialization.dumps(list(args), what=what_args) if args else "[]"
            kwargs_json = serialization.dumps(kwargs, what=what_kwargs) if kwargs else "{}"
            size = len(args_json) + len(kwargs_json)
            if size > limit:
                raise PayloadTooLarge(size, limit)
            return NewJob(next(ids), task_name, queue, args_json, kwargs_json, *rest)

        return self.keyring.sealing(make) if opts.encrypt else make

    def check_options(self, opts: TaskOptions) -> None:
        """A task's defaults within the bounds every job keeps (see factory)."""
        s = self.settings
        if opts.retries + 1 > s.max_attempts_limit:
            raise ConfigurationError(
                f"retries={opts.retries} makes {opts.retries + 1} attempts, over the max_attempts_limit "
                f"setting ({s.max_attempts_limit})"
            )
        if opts.timeout is not None and opts.timeout > s.max_timeout_s:
            raise ConfigurationError(
                f"timeout={opts.timeout!r} is over the max_timeout_s setting ({_secs(s.max_timeout_s)} seconds)"
            )


def split_call(call: Any) -> tuple[Sequence[Any], dict[str, Any]]:
    """One call of enqueue_many: ``(args, kwargs)``, bare arguments, or a single value."""
    # (list, tuple), not list | tuple: that union is built anew at every call
    if isinstance(call, tuple) and len(call) == 2 and isinstance(call[1], dict) and isinstance(call[0], (list, tuple)):
        return call[0], call[1]
    if isinstance(call, (list, tuple)):
        return call, {}
    return (call,), {}


def _check_key(task: str, name: str, value: Any) -> str:
    if not is_key(value):
        raise InvalidArguments(task, f"_{name} must be {KEY_RULE}; got {value!r:.80}")
    return value  # type: ignore[no-any-return]


def _check_int(task: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**31:
        raise InvalidArguments(task, f"_{name} must be an integer, got {value!r}")
    return value


def _positive(task: str, name: str, value: Any, *, allow_zero: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (value == 0 and not allow_zero):
        raise InvalidArguments(task, f"_{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _max_attempts(task: str, opts: TaskOptions, retries: int | None, max_attempts: int | None, limit: int) -> int:
    if max_attempts is not None and retries is not None:
        raise InvalidArguments(task, "give _retries or _max_attempts, not both")
    if max_attempts is None:
        max_attempts = _check_int(task, "retries", opts.retries if retries is None else retries) + 1
    if _check_int(task, "max_attempts", max_attempts) < 1:
        raise InvalidArguments(task, f"_max_attempts must be >= 1 (and _retries >= 0), got {max_attempts!r}")
    if max_attempts > limit:
        raise InvalidArguments(
            task, f"_max_attempts must be at most {limit} (the max_attempts_limit setting), got {max_attempts!r}"
        )
    return max_attempts


def _secs(seconds: float) -> str:
    return f"{seconds:.0f}" if seconds == int(seconds) else f"{seconds:g}"


def _timeout(task: str, value: Any, limit: float) -> float | None:
    seconds = _positive(task, "timeout", value)
    if seconds is not None and seconds > limit:
        raise InvalidArguments(
            task, f"_timeout must be at most {_secs(limit)} seconds (the max_timeout_s setting), got {value!r}"
        )
    return seconds


MAX_TIMESTAMP = 253402300799.0  # 9999-12-31T23:59:59Z: later times can't be shown as dates


def _run_at(task: str, delay: float | None, run_at: datetime | float | None, max_delay: float) -> float | None:
    if delay is not None and run_at is not None:
        raise InvalidArguments(task, "give _delay or _run_at, not both")
    if delay is not None:
        ahead = _positive(task, "delay", delay, allow_zero=True) or 0.0
        when = time.time() + ahead
    elif run_at is None:
        return None
    else:
        when = _when(task, run_at)
        ahead = when - time.time()
    if ahead > max_delay:
        raise InvalidArguments(
            task, f"_delay / _run_at may be at most {_secs(max_delay)} seconds ahead (the max_delay_s setting)"
        )
    if not when <= MAX_TIMESTAMP:  # also refuses NaN
        raise InvalidArguments(task, "_run_at / _delay must end before the year 10000")
    return when


def _when(task: str, run_at: datetime | float) -> float:
    if isinstance(run_at, datetime):
        if run_at.tzinfo is None:
            raise InvalidArguments(task, f"_run_at must be timezone-aware, got naive {run_at.isoformat()}")
        return run_at.timestamp()
    return _positive(task, "run_at", run_at) or 0.0
