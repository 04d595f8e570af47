"""Worker: one fetch loop that claims jobs into free slots and writes their outcomes
in batches (group commit)."""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ..backends.base import Backend, Waiter
from ..context import JobContext
from ..crypto import Keyring
from ..errors import ClaimFailed, OffloadError
from ..records import JobRecord, JobStatus, Outcome
from ..settings import Settings
from ..task import Task
from .ahead import ClaimAhead
from .duties import Fires, Heartbeat, Housekeeping, housekeeping
from .executor import Outcomes, Run
from .outage import Outage
from .slots import Slots

log = logging.getLogger(__name__)

EXIT_RECYCLE = 75  # a child that must be replaced (a sync task outlived its timeout)


class Source(Protocol):
    """What a worker is given (an App is one): the tasks it runs, the store, the
    settings, the keys of encrypted jobs and the schedules it fires."""

    keyring: Keyring

    @property
    def tasks(self) -> Mapping[str, Task]: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def backend(self) -> Backend: ...

    @property
    def schedules(self) -> Fires: ...


class Worker:
    """Runs jobs from ``queues`` (served in that order) with ``concurrency`` slots.

    While runs are short it holds a few jobs more than its slots (see ``ahead``). It
    claims only jobs of the tasks its app has registered.

    A sync task that outlives its timeout is recorded timed out at once, and its thread
    is replaced, so the slot is free again; the thread is reported as stuck until it
    returns. ``burst``: return once nothing is left to claim. ``supervised``: a child of
    ``offload worker``'s supervisor: when a stuck thread won't stop, it calls
    ``on_recycle`` (the supervisor starts a fresh child at once), stops claiming,
    finishes its other jobs within the grace period and exits for good; it also stops
    when its supervisor disappears.
    """

    def __init__(
        self,
        app: Source,
        *,
        queues: Sequence[str],
        concurrency: int = 4,
        burst: bool = False,
        supervised: bool = False,
        on_recycle: Callable[[], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.tasks = app.tasks
        self.settings = settings = app.settings
        self.keyring = app.keyring
        self.schedules = app.schedules
        self._source = app  # for its store, opened (and migrated) when the worker runs
        self.queues = list(queues)
        self.concurrency = concurrency
        self.burst = burst
        self.supervised = supervised
        self.on_recycle = on_recycle
        self.id = f"{secrets.token_hex(5)}"
        self.exit_code = 0
        self.outcomes = Outcomes(settings, self.keyring)
        self.ahead = ClaimAhead(concurrency, settings.claim_ahead_s)
        self._running: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._done: collections.deque[tuple[Run, Outcome]] = collections.deque()
        self.slots = Slots(self, concurrency)
        self._all_done = threading.Event()  # set when every run this worker holds has an outcome
        self._idle = False  # the loop is about to wait for a ring, or waiting (see finish)
        self.out_of_touch_at = -1e18  # monotonic time a store call last failed, or a heartbeat was late
        self.outage = Outage(self.id)
        self._served: tuple[int, list[str]] = (-1, [])  # the app's task names, by how many it had
        self._stop_claiming = threading.Event()
        self._deadline: float | None = None  # monotonic end of the grace period
        self._stopped = threading.Event()
        self._waiter: Waiter | None = None
        self._thread: threading.Thread | None = None
        self._housekeeping: Housekeeping | None = None
        self._heartbeat: Heartbeat | None = None

    @property
    def backend(self) -> Backend:
        return self._source.backend

    # -- control ------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background thread (``app.run_workers``). Should the process exit
        without calling stop(), the worker gives its jobs back at exit."""
        self._thread = threading.Thread(target=self.run, name=f"offload-worker-{self.id}", daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    def request_stop(self, grace: float | None = None) -> None:
        """Stop claiming; running jobs get ``grace`` seconds, then go back to queued."""
        grace = self.settings.grace_s if grace is None else grace
        deadline = time.monotonic() + grace
        if self._deadline is None or deadline < self._deadline:
            log.info("worker %s stops claiming; running jobs get %gs", self.id, grace)
            self._deadline = deadline
        self._stop_claiming.set()
        if self._waiter is not None:
            self._waiter.ring()

    def stop(self, grace: float | None = None, timeout: float | None = None) -> None:
        """Stop claiming, give running jobs ``grace`` seconds (default: the grace_s
        setting), put the rest back to queued, and wait until that is done (at most
        ``timeout`` seconds). For the shutdown hook of a web app that runs workers."""
        atexit.unregister(self._at_exit)
        self.request_stop(grace)
        if self._thread is not None:
            self._thread.join(timeout)

    def _at_exit(self) -> None:
        self.stop(grace=0.0, timeout=10.0)

    def wait(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    @property
    def alive(self) -> bool:
        """True while the worker runs: its loop and its background threads are up and
        it was not asked to stop. A liveness check for a web app that runs workers."""
        if self._housekeeping is None or self._stopped.is_set() or self._stop_claiming.is_set():
            return False
        if self._thread is not None and not self._thread.is_alive():
            return False
        return self._housekeeping.alive()

    def health(self) -> dict[str, Any]:
        """What the worker is doing, for a health endpoint: ``alive``, its slots, the
        jobs it holds, the jobs whose timed-out threads still run (``stuck``), whether
        it is stopping, and how it fares with the store (``store_ok``, and while that is
        False, for how long it failed and when it tries again)."""
        beaten = self._heartbeat.beaten if self._heartbeat is not None else None
        return {
            "alive": self.alive,
            "id": self.id,
            "slots": self.concurrency,
            "running": len(self._running),
            "stuck": self.stuck(),
            "stopping": self._stop_claiming.is_set(),
            "store_ok": not self.outage.failing,
            "store_failing_s": round(self.outage.failing_for(), 3),
            "store_retry_in_s": self.outage.pause,
            "heartbeat_age_s": None if beaten is None else round(time.monotonic() - beaten, 3),
        }

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._running.values())

    def stuck(self) -> list[str]:
        """Ids of the jobs whose timed-out threads are still busy."""
        return self.slots.stuck_jobs()

    def served(self) -> list[str]:
        """The tasks this worker claims: every task its app has (read again when it grew)."""
        count, names = self._served
        if count != len(self.tasks):
            names = sorted(self.tasks)
            self._served = (len(names), names)
        return names

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> int:
        """Claim and run until stopped (or, in burst mode, until nothing is left)."""
        self._waiter = self.backend.waiter(self.id, self.queues)
        self.slots.open()
        services, self._heartbeat = housekeeping(
            self, self.backend, self.tasks, self.settings, self.schedules, supervised=self.supervised
        )
        self._housekeeping = services
        services.start()
        log.info("worker %s started: queues=%s concurrency=%d", self.id, ",".join(self.queues), self.concurrency)
        try:
            self._loop_until_stopped(services)
        finally:
            self._shut_down(services)
        return self.exit_code

    def _loop_until_stopped(self, services: Housekeeping) -> None:
        assert self._waiter is not None
        outage = self.outage
        while True:
            if self._should_end(services):
                return
            stopping = self._stop_claiming.is_set()
            if not outage.failing or outage.probed:
                try:
                    if self._turn(claiming=not stopping):
                        continue
                except OffloadError as exc:
                    self.lost_touch()
                    outage.failed(exc)
                if self.burst and not self._running and not self._done and not outage.failing:
                    return
            self._idle = True
            if not self._done or outage.failing:  # an outcome that came meanwhile did not ring
                self._waiter.wait(outage.pause or (0.05 if stopping else self.settings.poll_s))
            self._idle = False
            if outage.failing and not outage.probed:
                outage.probe_answered(self._probe())

    def _should_end(self, services: Housekeeping) -> bool:
        """Time to leave the loop? Also starts the stop for a worker whose services died,
        or whose stuck thread calls for a fresh process."""
        if not services.alive():
            log.error("worker %s: its background services died; stopping", self.id)
            self.request_stop()
        if self._stop_claiming.is_set():
            return not self._running or (self._deadline is not None and time.monotonic() >= self._deadline)
        if self.supervised and self.slots.stuck_for_good():
            log.warning("worker %s: a timed-out task won't stop; recycling this process", self.id)
            self.exit_code = EXIT_RECYCLE
            if self.on_recycle is not None:
                self.on_recycle()  # a fresh process takes over the slots now
            self.request_stop()
        return False

    def _probe(self) -> bool:
        try:
            self.backend.ping()
            return True
        except OffloadError:
            return False

    def _turn(self, *, claiming: bool) -> bool:
        """One round trip: write the outcomes that are ready and claim jobs for the free
        slots, in one transaction. True when every free slot got a job (more may be
        waiting: turn again at once); otherwise the queue is empty for now, and the
        loop waits for a ring instead of asking the store again."""
        linger = self.settings.commit_linger_s
        if linger and self._done and not self._all_in():
            # Let runs about to finish join this commit: until all have, at most `linger`.
            self._all_done.clear()
            if not self._all_in():
                self._all_done.wait(linger)
        batch = []
        while self._done:
            batch.append(self._done.popleft())
        self.ahead.ran(run.ran_s for run, _ in batch)
        held = len(self._running) - len(batch)  # a stuck thread holds no slot: it was replaced
        free = self.concurrency + self.ahead.extra - held if claiming else 0
        if not batch and free <= 0:
            return False
        s = self.settings
        # A run stopped because this worker lost touch with the store, not on request,
        # goes back to queued (or to cancelled, if a cancel was asked for meanwhile):
        # whether it raised, or returned after it saw the request (its result may be
        # whatever it had so far, not the job's).
        given_back = [(run, o) for run, o in batch if run.ctx.lost and _stopped(run, o)]
        finished = [item for item in batch if item not in given_back] if given_back else batch
        try:
            released = self.backend.job_release([run.lease for run, _ in given_back]) if given_back else set()
            if finished:
                written, jobs = self.backend.job_finish_and_claim(
                    [o for _, o in finished],
                    queues=self.queues,
                    limit=max(free, 0),
                    worker_id=self.id,
                    lease_s=s.lease_s,
                    tasks=self.served(),
                )
            else:
                claimed = self.backend.job_claim(
                    queues=self.queues, limit=free, worker_id=self.id, lease_s=s.lease_s, tasks=self.served()
                )
                written, jobs = set(), claimed
        except ClaimFailed as exc:  # the outcomes stand: only the claim is to ask again
            self._retire(batch, exc.written | released)
            raise
        except OffloadError:
            self._done.extendleft(reversed(batch))  # keep them; write again later
            raise
        self.outage.succeeded()
        self._retire(batch, written | released)
        for record in jobs:
            self._dispatch(record)
        return bool(jobs) and len(jobs) >= free

    def _all_in(self) -> bool:
        """Has every run held an outcome, but those claimed ahead? (A turn waits for it.)"""
        return len(self._done) >= len(self._running) - self.ahead.extra

    def _retire(self, batch: list[tuple[Run, Outcome]], written: set[str]) -> None:
        with self._lock:
            for run, _ in batch:
                self._running.pop(run.record.id, None)
        for run, outcome in batch:
            if run.record.id not in written:
                log.warning(
                    "job %s: outcome %s dropped, the lease was lost",
                    run.record.id,
                    outcome.status,
                    extra={"job_id": run.record.id, "task": run.record.task},
                )

    def _dispatch(self, record: JobRecord) -> None:
        task = self.tasks.get(record.task)
        run = Run(record, JobContext(record, max_messages=self.settings.max_messages), task, self.keyring)
        with self._lock:
            self._running[record.id] = run
        if task is None:
            self.finish(run, self.outcomes.unknown_task(run, list(self.tasks)))
        else:
            self.slots.start(run)

    def finish(self, run: Run, outcome: Outcome) -> None:
        """Hand an outcome to the loop for the next group commit."""
        with run.lock:
            if run.abandoned:  # timed out or given back: what it returned now is dropped
                self.slots.returned(run)
                return
            if run.done:
                return
            run.done = True
        run.ran_s = time.monotonic() - run.started
        self._done.append((run, outcome))
        if self._all_in():
            self._all_done.set()
        # Ring only a loop that waits: a busy one takes the outcome with its next turn. It
        # sets _idle before it looks at _done one last time, so one of the two sees the other.
        if self._waiter is not None and self._idle:
            self._waiter.ring()

    # -- called by its duties (duties.Held) -----------------------------------------------------------------

    def lost_touch(self) -> None:
        self.out_of_touch_at = time.monotonic()

    def time_out(self, run: Run) -> None:
        """A sync task ran past its timeout: record it now. An isolated one's process is
        killed (by the thread that waits for it); a thread that runs the task itself is
        abandoned, and another thread takes its slot."""
        with run.lock:
            if run.done:
                return
            run.done = run.abandoned = True
            self.slots.replace(run)
        run.ctx.request_cancel()  # a cooperative task will stop at its next check
        run.ran_s = time.monotonic() - run.started
        self._done.append((run, self.outcomes.timed_out(run)))
        if self._waiter is not None:
            self._waiter.ring()

    def start_again(self, run: Run) -> None:
        """Put a run taken out of line back in it (a give-back the store refused)."""
        with run.lock:
            run.done = False
        self.slots.start(run)

    def forget(self, runs: list[Run]) -> None:
        """Stop holding runs that were given back before they began."""
        with self._lock:
            for run in runs:
                self._running.pop(run.record.id, None)

    def lease_lost(self, run: Run) -> None:
        log.warning(
            "job %s: lease lost; this run's writes will be ignored",
            run.record.id,
            extra={"job_id": run.record.id, "task": run.record.task},
        )
        run.ctx.lost = True
        self.cancel_run(run)

    def cancel_run(self, run: Run) -> None:
        run.ctx.request_cancel()
        if run.future is not None:
            run.future.cancel()

    # -- shutdown ---------------------------------------------------------------------------

    def _shut_down(self, services: Housekeeping) -> None:
        self._stop_claiming.set()
        leftovers = []
        for run in self.runs():
            with run.lock:  # from here on, whatever the run returns is dropped
                if run.done:
                    continue
                run.done = run.abandoned = True
            leftovers.append(run)
            self.cancel_run(run)
        try:
            self._turn(claiming=False)  # the outcomes of every run that did finish
        except OffloadError as exc:
            log.error("worker %s: could not write the last outcomes (%s)", self.id, exc)
        if leftovers:
            try:
                released = self.backend.job_release([r.lease for r in leftovers])
                log.warning("worker %s: put %d unfinished job(s) back to queued", self.id, len(released))
            except OffloadError as exc:
                log.error("worker %s: could not release jobs (%s); they return after their lease", self.id, exc)
        services.stop()
        with contextlib.suppress(OffloadError):
            self.backend.worker_remove(self.id)
        if self._waiter is not None:
            self._waiter.close()
        self.slots.close()
        self._stopped.set()
        log.info("worker %s stopped", self.id)


def _stopped(run: Run, outcome: Outcome) -> bool:
    """Did ``run`` end because it was asked to stop?"""
    return outcome.status == JobStatus.CANCELLED or (outcome.status == JobStatus.COMPLETED and run.ctx.saw_cancel)
