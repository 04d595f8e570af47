"""Where a worker's runs run: ``concurrency`` threads for sync tasks, one event loop for
async ones, warm child processes for those with ``isolation="process"``. Each run
ends in ``Worker.finish`` with its outcome.

A sync run past its timeout is recorded timed out at once (Worker.time_out) and frees
its slot there and then: the child process of an isolated run is killed; a thread that
runs the task itself can't be killed, so another thread takes its place and the old
one is *stuck* until the task returns, when it ends instead of serving on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import JobCancelled
from ..records import Outcome
from ..settings import Settings
from ..task import Task
from .executor import Outcomes, Run, run_async, run_sync
from .isolation import ProcessPool
from .pool import AsyncLoop, ThreadPool


class Owner(Protocol):
    """The worker whose runs the slots run: where their outcomes go."""

    outcomes: Outcomes

    @property
    def tasks(self) -> Mapping[str, Task]: ...

    @property
    def settings(self) -> Settings: ...

    def finish(self, run: Run, outcome: Outcome) -> None: ...


STUCK_AFTER_S = 1.0  # a thread still busy this long after its run timed out is stuck for good
_SKIPPED = object()  # what an async run given back before it began returns


class Slots:
    def __init__(self, worker: Owner, concurrency: int) -> None:
        self.w = worker
        self.concurrency = concurrency
        self.pool: ThreadPool | None = None
        self.loop: AsyncLoop | None = None
        self.isolated: ProcessPool | None = None
        # Timed-out runs whose threads are still busy (each one replaced), by run: a job
        # that timed out, was retried and timed out again may have two.
        self.stuck: dict[int, Run] = {}
        self._isolated_lock = threading.Lock()

    def open(self) -> None:
        self.pool = ThreadPool(self.concurrency)
        if any(t.isolated for t in self.w.tasks.values()):
            self._isolated_pool().warm()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        if self.loop is not None:
            self.loop.shutdown()
        if self.isolated is not None:
            self.isolated.shutdown()

    def start(self, run: Run) -> None:
        """Hand a run to a free slot, or to the line for the next one."""
        assert run.task is not None
        if run.task.is_async:
            if self.loop is None:
                self.loop = AsyncLoop(self.concurrency)
            future = run.future = self.loop.submit(self._execute_async(run))
            future.add_done_callback(lambda f: self._after(run, f))
        else:
            assert self.pool is not None
            self.pool.submit(lambda: self._execute_sync(run))

    # -- timeouts (called with run.lock held) ------------------------------------------------

    def replace(self, run: Run) -> None:
        """``run`` timed out: unless its process will be killed, its thread is stuck, and
        another one takes its slot."""
        if run.task is not None and not run.task.isolated and self.pool is not None:
            self.stuck[id(run)] = run
            self.pool.grow()

    def returned(self, run: Run) -> None:
        """An abandoned run came back: if a thread took its place, this thread ends."""
        if self.stuck.pop(id(run), None) is not None and self.pool is not None:
            self.pool.retire_current()

    def stuck_jobs(self) -> list[str]:
        """The jobs of the stuck threads, one entry a thread."""
        return sorted(r.record.id for r in list(self.stuck.values()))

    def stuck_for_good(self) -> bool:
        now = time.monotonic()
        return any(r.deadline is not None and now - r.deadline >= STUCK_AFTER_S for r in list(self.stuck.values()))

    # -- one run ---------------------------------------------------------------------------

    def _begin(self, run: Run) -> bool:
        """A slot is free for ``run``: start it, unless it was given back meanwhile (or
        handed to a slot twice, see duties/give_back.py)."""
        with run.lock:
            if run.done or run.begun:
                return False
            run.begun = True
            run.started = time.monotonic()
            return True

    def _execute_sync(self, run: Run) -> None:
        if not self._begin(run):
            return
        if run.record.timeout:
            run.deadline = run.started + run.record.timeout
        outcomes = self.w.outcomes
        try:
            if run.ctx.lost:  # its lease went while it waited for a slot: it goes back unrun
                raise JobCancelled(run.record.id)
            assert run.task is not None
            value = self._isolated_pool().run(run) if run.task.isolated else run_sync(run)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes the job's outcome
            self.w.finish(run, outcomes.failed(run, exc))
        else:
            self.w.finish(run, outcomes.completed(run, value))

    async def _execute_async(self, run: Run) -> Any:
        if not self._begin(run):
            return _SKIPPED
        if run.ctx.lost:
            raise JobCancelled(run.record.id)
        return await run_async(run)

    def _after(self, run: Run, future: Any) -> None:
        try:
            value = future.result()
            if value is _SKIPPED:
                return
        except BaseException as exc:  # noqa: BLE001
            self.w.finish(run, self.w.outcomes.failed(run, exc))
        else:
            self.w.finish(run, self.w.outcomes.completed(run, value))

    def _isolated_pool(self) -> ProcessPool:
        with self._isolated_lock:
            if self.isolated is None:
                s = self.w.settings
                self.isolated = ProcessPool(self.concurrency, s.progress_flush_s / 2, s.max_messages)
            return self.isolated
