"""Task: a registered function, and how its jobs are validated before they are stored."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ConfigurationError, InvalidArguments
from .handle import JobHandle
from .names import NAME_RULE, is_name

CONTEXT_PARAM = "job"
CALLBACK_PARAM = "progress_callback"
ISOLATIONS = ("thread", "process")


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """Defaults for this task's jobs; each may be overridden per enqueue."""

    queue: str = "default"
    priority: int = 0
    retries: int = 0  # runs after the first: max_attempts = retries + 1
    backoff: float = 2.0  # seconds before the first retry, doubling each time, with jitter
    timeout: float | None = None  # seconds; None: no limit
    dont_retry_for: tuple[type[BaseException], ...] = ()
    keep_completed_s: float | None = None  # retention override for this task
    keep_completed: int | None = None
    keep_failed_s: float | None = None
    encrypt: bool = False  # args, kwargs and result stored encrypted (offload.crypto)
    isolation: str = "thread"  # "process": runs in a child process, killed at its timeout

    def __post_init__(self) -> None:
        if not is_name(self.queue):
            raise ConfigurationError(f"queue must be {NAME_RULE}; got {self.queue!r}")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ConfigurationError(f"retries must be an int >= 0, got {self.retries!r}")
        if self.backoff < 0:
            raise ConfigurationError(f"backoff must be >= 0, got {self.backoff!r}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {self.timeout!r}")
        if not isinstance(self.encrypt, bool):
            raise ConfigurationError(f"encrypt must be True or False, got {self.encrypt!r}")
        if self.isolation not in ISOLATIONS:
            raise ConfigurationError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {self.isolation!r}")


Calls = Iterable[tuple[Sequence[Any], dict[str, Any]] | Sequence[Any]]


class Enqueuer(Protocol):
    """Where a task's jobs go (its App)."""

    def enqueue(self, task_name: str, *args: Any, **kwargs: Any) -> JobHandle: ...

    def enqueue_many(self, task_name: str, calls: Calls, **options: Any) -> list[JobHandle]: ...


@dataclass(slots=True)
class Task:
    """A function offload can run in the background. Created by ``@app.task()``."""

    app: Enqueuer
    fn: Callable[..., Any]
    name: str
    options: TaskOptions
    is_async: bool = field(init=False)
    isolated: bool = field(init=False)  # runs in a process of its own (isolation="process")
    wants_context: bool = field(init=False)
    wants_callback: bool = field(init=False)
    _signature: inspect.Signature = field(init=False)
    _takes_nothing: bool = field(init=False)  # every parameter is optional: a bare call binds

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.fn)
        self.isolated = self.options.isolation == "process"
        if self.isolated:
            _check_isolable(self.name, self.fn, self.is_async)
        sig = inspect.signature(self.fn)
        params = list(sig.parameters.values())
        self.wants_context = bool(params) and params[0].name == CONTEXT_PARAM
        self.wants_callback = CALLBACK_PARAM in sig.parameters
        hidden = {CALLBACK_PARAM} | ({CONTEXT_PARAM} if self.wants_context else set())
        self._signature = sig.replace(parameters=[p for p in params if p.name not in hidden])
        self._takes_nothing = all(
            p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            for p in self._signature.parameters.values()
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, in this process (no job)."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name} queue={self.options.queue}>"

    def check_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        if self._takes_nothing and not args and not kwargs:
            return
        try:
            self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidArguments(self.name, f"arguments don't bind: {exc}") from None

    def enqueue(self, *args: Any, **kwargs: Any) -> JobHandle:
        """Store a job for this task and return at once. Options are ``_``-prefixed:
        ``_delay, _run_at, _priority, _queue, _owner, _unique_key, _idempotency_key,
        _retries, _max_attempts, _timeout, _backoff, _connection``."""
        options = {k[1:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
        return self.app.enqueue(self.name, *args, **{f"_{k}": v for k, v in options.items()}, **kwargs)

    def enqueue_many(self, calls: Calls, **options: Any) -> list[JobHandle]:
        """Store many jobs in one transaction: ``calls`` holds ``(args, kwargs)`` pairs
        (or bare argument tuples). Options as for enqueue, without the underscore."""
        return self.app.enqueue_many(self.name, calls, **options)


def _check_isolable(name: str, fn: Callable[..., Any], is_async: bool) -> None:
    """A task with isolation="process" is found again in a fresh interpreter by its
    module and name: it must be a plain function defined at the top of a module."""
    if is_async:
        raise ConfigurationError(
            f"task {name!r}: isolation='process' is for plain functions; async tasks are cancelled at their timeout"
        )
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    main = sys.modules.get("__main__")
    if not module or "<" in qualname or (module == "__main__" and not getattr(main, "__file__", None)):
        raise ConfigurationError(
            f"task {name!r}: isolation='process' needs a function defined at the top of an importable module,"
            f" got {module}.{qualname}"
        )
