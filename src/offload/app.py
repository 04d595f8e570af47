"""App: the registry of tasks and the entry point of the public Python API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

from .backends import open_backend
from .backends.base import Backend
from .crypto import SEALED, Keyring
from .enqueue import JobBuilder, split_call
from .errors import ConfigurationError, InvalidRequest, JobNotFound
from .handle import JobHandle
from .names import FILTER_RULE, NAME_RULE, is_filter, is_name
from .records import JobFilter, JobRecord, JobStatus, NewJob
from .schedules import Schedules
from .settings import Settings
from .task import Calls, Task, TaskOptions

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
        self.tasks: dict[str, Task] = {}
        settings = base.override(**overrides)
        self.keyring = Keyring.parse(settings.encryption_keys)
        self.settings = settings  # also makes the builder
        self._declared_queues: set[str] = set()
        for name in self.settings.queues.split(","):
            if name.strip():
                self.queue(name.strip())
        self._backend_obj = open_backend(self.settings.url)  # validates the URL and path now
        self._migrated = False
        self._lock = threading.Lock()
        self.schedules = Schedules(self)

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """Settings may be replaced before workers start (``offload worker --grace``)."""
        self._settings = settings
        self.builder = JobBuilder(self.tasks, settings, self.keyring)

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
        self.builder.check_options(opts)

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

    def queue(self, name: str) -> str:
        """Declare a queue that no task uses by default: workers serve it (unless told
        which queues to serve) and HTTP clients may submit jobs to it. Returns the name."""
        if not is_name(name):
            raise ConfigurationError(f"queue names must be {NAME_RULE}; got {name!r}")
        self._declared_queues.add(name)
        return name

    def get_task(self, name: str) -> Task:
        return self.builder.task(name)

    # -- enqueue ----------------------------------------------------------------------------

    def enqueue(self, task_name: str, *args: Any, **kwargs: Any) -> JobHandle:
        """``app.enqueue("scrape", "payback", _delay=30)``: see Task.enqueue."""
        options = {k[1:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
        connection = options.pop("connection", None)
        job = self.build_job(task_name, args, kwargs, **options)
        (inserted,) = self.backend.job_insert_many([job], connection=connection)
        return JobHandle(self, inserted.id, created=inserted.created)

    def enqueue_many(self, task_name: str, calls: Calls, **options: Any) -> list[JobHandle]:
        """Validate every job, then store them all in one transaction (or none)."""
        connection = options.pop("connection", None)
        make = self.builder.factory(task_name, **options)
        jobs = [make(*split_call(call)) for call in calls]
        if not jobs:
            return []
        inserted = self.backend.job_insert_many(jobs, connection=connection)
        return [JobHandle(self, i.id, created=i.created) for i in inserted]

    def build_job(self, task_name: str, args: Sequence[Any], kwargs: dict[str, Any], **options: Any) -> NewJob:
        """Everything enqueue checks before anything is stored (see offload.enqueue)."""
        return self.builder.build(task_name, args, kwargs, **options)

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
