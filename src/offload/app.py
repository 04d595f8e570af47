"""App: the registry of tasks and the entry point of the public Python API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, overload

from . import serialization
from .backends import open_backend
from .backends.base import Backend
from .crypto import SEALED, Keyring
from .errors import ConfigurationError, InvalidArguments, InvalidRequest, JobNotFound, PayloadTooLarge, UnknownTask
from .handle import JobHandle
from .names import FILTER_RULE, KEY_RULE, NAME_RULE, is_filter, is_key, is_name
from .records import JobFilter, JobRecord, JobStatus, NewJob, PruneRule, job_ids
from .scheduler import Schedules
from .settings import Settings
from .task import Task, TaskOptions

if TYPE_CHECKING:
    from .worker import Worker


class App:
    """``offload.App(url)``: tasks, enqueue, lookups and in-process workers.

    ``url`` defaults to ``OFFLOAD_URL``, else ``sqlite:///offload.db``. The store is
    opened (and migrated) on first use.
    """

    def __init__(self, url: str | None = None, *, settings: Settings | None = None, **overrides: Any) -> None:
        base = (settings or Settings()).with_env()
        if url is not None:
            overrides["url"] = url
        self.settings = base.override(**overrides)
        self.keyring = Keyring.parse(self.settings.encryption_keys)
        self.tasks: dict[str, Task] = {}
        self._declared_queues: set[str] = set()
        for name in self.settings.queues.split(","):
            if name.strip():
                self.queue(name.strip())
        self._backend_obj = open_backend(self.settings.url)  # validates the URL and path now
        self._migrated = False
        self._lock = threading.Lock()
        self.schedules = Schedules(self)

    def __repr__(self) -> str:
        return f"<offload.App {self.settings.url} tasks={len(self.tasks)}>"

    @property
    def backend(self) -> Backend:
        if not self._migrated:
            with self._lock:
                if not self._migrated:
                    self._backend_obj.migrate()
                    self._migrated = True
        return self._backend_obj

    def close(self) -> None:
        self._backend_obj.close()

    # -- tasks ----------------------------------------------------------------------------

    @overload
    def task(self, fn: Callable[..., Any], /) -> Task: ...

    @overload
    def task(
        self, fn: None = None, /, *, name: str | None = None, **options: Any
    ) -> Callable[[Callable[..., Any]], Task]: ...

    def task(
        self, fn: Callable[..., Any] | None = None, /, *, name: str | None = None, **options: Any
    ) -> Task | Callable[[Callable[..., Any]], Task]:
        """Register a function as a task: ``@app.task(queue=, priority=, retries=,
        backoff=, timeout=, dont_retry_for=, keep_completed_s=, keep_completed=,
        keep_failed_s=, encrypt=, isolation=)``. ``encrypt=True`` stores the args, kwargs
        and result of its jobs encrypted (docs/security.md); ``isolation="process"`` runs
        the task in a child process that is killed at its timeout (docs/worker.md)."""
        opts = TaskOptions(**options)
        self._check_options(opts)

        def register(func: Callable[..., Any]) -> Task:
            task_name = name or func.__name__
            if not is_name(task_name):
                raise ConfigurationError(f"task names must be {NAME_RULE}; got {task_name!r} (give name=...)")
            if opts.encrypt:
                self.keyring.require(task_name)
            if task_name in self.tasks and self.tasks[task_name].fn is not func:
                raise ConfigurationError(f"a task named {task_name!r} is already registered")
            task = Task(self, func, task_name, opts)
            self.tasks[task_name] = task
            return task

        return register(fn) if fn is not None else register

    def _check_options(self, opts: TaskOptions) -> None:
        """A task's defaults within the bounds every job keeps (see job_factory)."""
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

    def queue(self, name: str) -> str:
        """Declare a queue that no task uses by default: workers serve it (unless told
        which queues to serve) and HTTP clients may submit jobs to it. Returns the name."""
        if not is_name(name):
            raise ConfigurationError(f"queue names must be {NAME_RULE}; got {name!r}")
        self._declared_queues.add(name)
        return name

    def get_task(self, name: str) -> Task:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownTask(name, list(self.tasks)) from None

    # -- enqueue ----------------------------------------------------------------------------

    def enqueue(self, task_name: str, *args: Any, **kwargs: Any) -> JobHandle:
        """``app.enqueue("scrape", "payback", _delay=30)``: see Task.enqueue."""
        options = {k[1:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
        connection = options.pop("connection", None)
        job = self.build_job(task_name, args, kwargs, **options)
        (inserted,) = self.backend.job_insert_many([job], connection=connection)
        return JobHandle(self, inserted.id, created=inserted.created)

    def enqueue_many(
        self, task_name: str, calls: Iterable[tuple[Sequence[Any], dict[str, Any]] | Sequence[Any]], **options: Any
    ) -> list[JobHandle]:
        """Validate every job, then store them all in one transaction (or none)."""
        connection = options.pop("connection", None)
        make = self.job_factory(task_name, **options)
        jobs = [make(*_split_call(call)) for call in calls]
        if not jobs:
            return []
        inserted = self.backend.job_insert_many(jobs, connection=connection)
        return [JobHandle(self, i.id, created=i.created) for i in inserted]

    def build_job(self, task_name: str, args: Sequence[Any], kwargs: dict[str, Any], **options: Any) -> NewJob:
        """Everything enqueue checks before anything is stored."""
        return self.job_factory(task_name, **options)(args, kwargs)

    def job_factory(
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
        task = self.get_task(task_name)
        if unknown:
            raise InvalidArguments(task_name, f"unknown option(s) {', '.join('_' + k for k in sorted(unknown))}")
        opts, s = task.options, self.settings
        if queue is None:
            queue = opts.queue  # checked when the task was registered
        elif not is_name(queue):
            raise InvalidArguments(task_name, f"_queue must be {NAME_RULE}; got {queue!r:.80}")
        # The fields after args_json and kwargs_json, in NewJob's order: passed by
        # position, a job is built in a third of the time it takes by keyword.
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
        check, limit, ids = task.check_arguments, self.settings.max_payload, job_ids()
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

    # -- lookups ------------------------------------------------------------------------

    def get_job(self, job_id: str) -> JobHandle:
        record = self.backend.job_get(job_id) if is_filter(job_id) else None  # no job has an id like that
        if record is None:
            raise JobNotFound(job_id)
        return JobHandle(self, job_id, self.reveal(record))

    def reveal(self, record: JobRecord) -> JobRecord:
        """The record with the args, kwargs and result of an encrypted job decrypted
        (DecryptionFailed when this process lacks its key); any other record as it is."""
        return record if record.args.__class__ is not SEALED else self.keyring.reveal(record)

    def list_jobs(
        self,
        *,
        status: str | None = None,
        queue: str | None = None,
        task: str | None = None,
        owner: str | None = None,
        limit: int = 20,
        before: str | None = None,
    ) -> list[JobRecord]:
        """Newest first; ``before`` is the id of the last job of the previous page."""
        for name, value in (("queue", queue), ("task", task), ("owner", owner), ("before", before)):
            if value is not None and not is_filter(value):
                raise InvalidRequest(name, f"must be {FILTER_RULE}, got {value!r:.80}")
        flt = JobFilter(
            status=None if status is None else JobStatus(status),
            queue=queue,
            task=task,
            owner=owner,
            before_id=before,
            limit=max(1, min(int(limit), 1000)),
        )
        return [self.reveal(r) for r in self.backend.job_list(flt)]

    # -- workers ------------------------------------------------------------------------

    def run_workers(self, concurrency: int = 4, *, queues: Sequence[str] | None = None) -> Worker:
        """Start an in-process worker pool in a background thread and return at once.
        ``worker.stop()`` ends it."""
        from .worker import Worker

        worker = Worker(self, queues=queues or self.queues(), concurrency=concurrency)
        worker.start()
        return worker

    def queues(self) -> list[str]:
        """Every queue the app declares: those its registered tasks use, those declared
        with ``queue()`` or the ``queues`` setting, and "default" (first)."""
        names = {t.options.queue for t in self.tasks.values()} | self._declared_queues | {"default"}
        return sorted(names, key=lambda n: (n != "default", n))

    def prune_rules(self, now: float | None = None) -> list[PruneRule]:
        """Retention: the App's defaults, with each task's own overrides."""
        now = time.time() if now is None else now
        s = self.settings
        special = tuple(
            n
            for n, t in self.tasks.items()
            if (t.options.keep_completed_s, t.options.keep_completed, t.options.keep_failed_s) != (None, None, None)
        )
        rules = [
            PruneRule(JobStatus.COMPLETED, now - s.keep_completed_s, s.keep_completed, exclude_tasks=special),
            PruneRule(JobStatus.FAILED, now - s.keep_failed_s, exclude_tasks=special),
            PruneRule(JobStatus.CANCELLED, now - s.keep_failed_s, exclude_tasks=special),
        ]
        for name in special:
            o = self.tasks[name].options
            done_s = s.keep_completed_s if o.keep_completed_s is None else o.keep_completed_s
            keep = s.keep_completed if o.keep_completed is None else o.keep_completed
            failed_s = s.keep_failed_s if o.keep_failed_s is None else o.keep_failed_s
            rules += [
                PruneRule(JobStatus.COMPLETED, now - done_s, keep, task=name),
                PruneRule(JobStatus.FAILED, now - failed_s, task=name),
                PruneRule(JobStatus.CANCELLED, now - failed_s, task=name),
            ]
        return rules


def _split_call(call: Any) -> tuple[Sequence[Any], dict[str, Any]]:
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
