"""One run of one job: call the task, turn what happened into an Outcome."""

from __future__ import annotations

import concurrent.futures
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import serialization
from ..backends.rows import by_position
from ..context import JobContext
from ..crypto import SEALED, Keyring
from ..errors import DecryptionFailed, IsolatedTaskError, JobCancelled, NotSerializable, UnknownTask
from ..names import storable
from ..records import JobRecord, JobStatus, Lease, Outcome
from ..retry import Retry, backoff_delay

if TYPE_CHECKING:
    from ..settings import Settings
    from ..task import Task

log = logging.getLogger(__name__)

_new_outcome = by_position(Outcome)  # one per run (see by_position)


@dataclass(eq=False)
class Run:
    """A job this worker holds, from claim until its outcome is written."""

    record: JobRecord
    ctx: JobContext
    task: Task | None
    keyring: Keyring | None = None  # opens an encrypted job's arguments (see plain_arguments)
    started: float = field(default_factory=time.monotonic)  # claimed; from `begun` on, started
    begun: bool = False  # a slot took it (a job claimed ahead waits for one first)
    ran_s: float = 0.0  # from start to outcome
    deadline: float | None = None  # monotonic; sync tasks only (async ones use wait_for)
    future: concurrent.futures.Future[Any] | None = None  # async tasks
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards done/abandoned and progress writes
    done: bool = False
    abandoned: bool = False  # timed out: whatever the thread returns later is dropped

    @property
    def lease(self) -> Lease:
        return Lease(self.record.id, self.ctx.token)


def plain_arguments(run: Run) -> tuple[list[Any], dict[str, Any]]:
    """The job's args and kwargs as the task gets them: decrypted when the job is
    encrypted (here, in the run's own thread or process hand-off)."""
    assert run.task is not None
    args, kwargs = run.record.args, run.record.kwargs
    if args.__class__ is SEALED:
        assert run.keyring is not None
        args, kwargs = run.ctx.args, run.ctx.kwargs = run.keyring.open_call(run.record)
    return args, kwargs


def call_arguments(run: Run) -> tuple[list[Any], dict[str, Any]]:
    assert run.task is not None
    args, kwargs = plain_arguments(run)
    args = list(args)
    kwargs = dict(kwargs)
    if run.task.wants_context:
        args.insert(0, run.ctx)
    if run.task.wants_callback:
        kwargs["progress_callback"] = run.ctx.progress_callback
    return args, kwargs


def run_sync(run: Run) -> Any:
    args, kwargs = call_arguments(run)
    assert run.task is not None
    return run.task.fn(*args, **kwargs)


async def run_async(run: Run) -> Any:
    import asyncio

    args, kwargs = call_arguments(run)
    assert run.task is not None
    coro = run.task.fn(*args, **kwargs)
    if run.record.timeout:
        return await asyncio.wait_for(coro, run.record.timeout)
    return await coro


class Outcomes:
    """Turns a return value or an exception into the Outcome to store."""

    def __init__(self, settings: Settings, keyring: Keyring) -> None:
        self.settings = settings
        self.keyring = keyring  # seals an encrypted job's result

    def final_progress(self, run: Run) -> Any:
        with run.lock:  # waits for an in-flight progress write of this run
            return run.ctx.take_progress()

    def completed(self, run: Run, value: Any) -> Outcome:
        try:
            result_json = (
                "null" if value is None else serialization.dumps(value, what=f"result of task {run.record.task!r}")
            )
        except NotSerializable as exc:
            return self._failed(run, str(exc), None)
        if run.record.args.__class__ is SEALED:  # an encrypted job: so is its result
            assert run.task is not None
            result_json = self.keyring.seal(result_json, run.record.id, "result")
        progress = self.final_progress(run)
        return _new_outcome(run.record.id, run.ctx.token, JobStatus.COMPLETED, result_json, None, None, None, progress)

    def unknown_task(self, run: Run, known: list[str]) -> Outcome:
        return self._failed(run, f"{UnknownTask(run.record.task, known)} in this worker", None)

    def timed_out(self, run: Run) -> Outcome:
        return self._retry_or_fail(run, f"timed out after {run.record.timeout:g}s", None, None)

    def failed(self, run: Run, exc: BaseException) -> Outcome:
        if isinstance(exc, DecryptionFailed):  # the same keys would fail again: no retry
            return self._failed(run, str(exc), None)
        if isinstance(exc, IsolatedTaskError):
            return self._isolated_failed(run, exc)
        tb = "".join(traceback.format_exception(exc))
        if isinstance(exc, Retry):
            return self._retry_or_fail(run, exc.reason, None, exc.delay)
        cancelled = isinstance(exc, JobCancelled | concurrent.futures.CancelledError) or _is_async_cancel(exc)
        if cancelled and run.ctx.cancel_requested:
            return Outcome(
                run.record.id,
                run.ctx.token,
                JobStatus.CANCELLED,
                error="cancelled on request",
                progress=self.final_progress(run),
            )
        if isinstance(exc, TimeoutError) and run.record.timeout:  # asyncio.wait_for's, among others
            return self.timed_out(run)
        error = f"{type(exc).__name__}: {exc}"
        assert run.task is not None
        if isinstance(exc, run.task.options.dont_retry_for):
            return self._failed(run, error, tb)
        return self._retry_or_fail(run, error, tb, None)

    def _isolated_failed(self, run: Run, exc: IsolatedTaskError) -> Outcome:
        """As failed, for an exception raised in the task's own process: known by the
        names of its classes."""
        assert run.task is not None
        if exc.final or any(f"{c.__module__}.{c.__qualname__}" in exc.mro for c in run.task.options.dont_retry_for):
            return self._failed(run, exc.error, exc.remote_traceback)
        if "builtins.TimeoutError" in exc.mro and run.record.timeout:
            return self.timed_out(run)
        return self._retry_or_fail(run, exc.error, exc.remote_traceback, None)

    def _failed(self, run: Run, error: str, tb: str | None) -> Outcome:
        error, tb = storable(error), None if tb is None else storable(tb)  # a NUL must not lose the outcome
        return Outcome(
            run.record.id, run.ctx.token, JobStatus.FAILED, error=error, traceback=tb, progress=self.final_progress(run)
        )

    def _retry_or_fail(self, run: Run, error: str, tb: str | None, delay: float | None) -> Outcome:
        error, tb = storable(error), None if tb is None else storable(tb)
        rec = run.record
        if rec.attempts >= rec.max_attempts:
            return self._failed(run, error, tb)
        if delay is None:
            delay = backoff_delay(rec.attempts, rec.backoff or 0.0, self.settings.max_backoff_s)
        return Outcome(
            rec.id,
            run.ctx.token,
            JobStatus.RETRYING,
            error=error,
            traceback=tb,
            run_at=time.time() + delay,
            progress=self.final_progress(run),
        )


def _is_async_cancel(exc: BaseException) -> bool:
    """asyncio is imported only by workers that run async tasks (it is slow to
    import): without it, no asyncio.CancelledError can exist."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)
