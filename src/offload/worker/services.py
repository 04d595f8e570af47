"""The worker's background duties: heartbeats on a thread of their own; coalesced
progress, timeouts of sync tasks, recovery of other workers' lost jobs, schedules and
retention on another."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import OffloadError
from ..records import Progress, WorkerInfo

if TYPE_CHECKING:
    from .executor import Run
    from .runner import Worker

log = logging.getLogger(__name__)

GIVE_BACK_S = 0.1  # a job claimed ahead that waited this long for a slot goes back to its queue


class Every:
    """Runs ``fn`` when ``period`` seconds passed since its last run. A store that keeps
    failing is logged when it starts failing and when the duty works again, not at
    every period."""

    def __init__(self, period: float, fn: Callable[[], None], name: str, on_store_error: Callable[[], None]) -> None:
        self.period, self.fn, self.name, self.on_store_error = period, fn, name, on_store_error
        self.next = 0.0
        self.failing = False

    def tick(self, now: float) -> None:
        if now < self.next:
            return
        self.next = now + self.period
        try:
            self.fn()
        except OffloadError as exc:  # the store is down: try again next period
            self.on_store_error()
            level = logging.DEBUG if self.failing else logging.WARNING
            log.log(level, "worker %s failed: %s", self.name, exc)
            self.failing = True
        except Exception:
            log.exception("worker %s failed", self.name)
        else:
            if self.failing:
                log.info("worker %s works again", self.name)
                self.failing = False


class Services:
    def __init__(self, worker: Worker) -> None:
        self.w = worker
        s = worker.app.settings
        self.host = s.hostname or socket.gethostname()
        self.started_at = time.time()
        self.beaten = time.monotonic()  # the last heartbeat the store took
        self.parent = os.getppid() if worker.supervised else None
        lost_touch = worker.lost_touch
        # Heartbeats get a thread of their own: a long prune or a slow progress write
        # must never delay them past the lease.
        self.beats = [Every(s.heartbeat_s, self.heartbeat, "heartbeat", lost_touch)]
        self.duties = [
            Every(s.progress_flush_s, self.flush_progress, "progress", lost_touch),
            Every(min(s.progress_flush_s, 0.1), self.check_timeouts, "timeouts", lost_touch),
            Every(GIVE_BACK_S, self.give_back_waiting, "give-back", lost_touch),
            Every(min(s.heartbeat_s, s.lease_s / 4), self.recover, "recovery", lost_touch),
            Every(s.prune_every_s, self.prune, "retention", lost_touch),
        ]
        if s.run_scheduler:
            self.duties.append(Every(s.scheduler_s, self.fire_schedules, "scheduler", lost_touch))
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve, args=(self.beats,), name="offload-heartbeat", daemon=True),
            threading.Thread(target=self._serve, args=(self.duties,), name="offload-services", daemon=True),
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.is_alive() and threading.current_thread() is not t:
                t.join(timeout=10)

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads) or self._stop.is_set()

    def _serve(self, duties: list[Every]) -> None:
        tick = min(d.period for d in duties)
        while not self._stop.is_set():
            now = time.monotonic()
            for duty in duties:
                duty.tick(now)
            if duties is self.duties and self.parent is not None and os.getppid() != self.parent:
                log.warning("worker %s: supervisor is gone, stopping", self.w.id)
                self.w.request_stop()
                self.parent = None
            self._stop.wait(tick)

    # -- duties ---------------------------------------------------------------------

    def flush_progress(self) -> None:
        pending: list[tuple[Run, Progress]] = []
        runs = self.w.runs()
        for run in runs:
            run.lock.acquire()
            update = run.ctx.take_progress()
            if update is None:
                run.lock.release()
            else:
                pending.append((run, update))
        if not pending:
            return
        try:
            written = self.w.backend.job_progress([u for _, u in pending])
        except OffloadError:
            for run, update in pending:
                run.ctx.restore(update)
            raise
        finally:
            for run, _ in pending:
                run.lock.release()
        for run, update in pending:
            if update.job_id not in written:
                self.w.lease_lost(run)

    def check_timeouts(self) -> None:
        now = time.monotonic()
        for run in self.w.runs():
            if run.deadline is not None and now >= run.deadline and not run.done:
                self.w.time_out(run)

    def give_back_waiting(self) -> None:
        """Jobs claimed ahead that still wait for a slot after GIVE_BACK_S (every slot
        is busy with long runs) go back to their queue, for any worker, and the worker
        claims nothing ahead until its runs are short again."""
        w, now = self.w, time.monotonic()
        waiting = []
        for run in w.runs():
            with run.lock:
                if run.done or run.begun or now - run.started < GIVE_BACK_S:
                    continue
                run.done = True  # a slot that gets to it now passes it by
            waiting.append(run)
        if not waiting:
            return
        w.ahead.waited(now - min(run.started for run in waiting))
        try:
            released = w.backend.job_release([run.lease for run in waiting])
        except OffloadError:
            for run in waiting:  # still held: run them when a slot frees up
                w.start_again(run)
            raise
        w.forget(waiting)
        log.info("worker %s: gave back %d job(s) claimed ahead; its slots are busy", w.id, len(released))

    def heartbeat(self) -> None:
        w = self.w
        runs, stuck = w.runs(), w.stuck()
        s = w.app.settings
        if self._out_of_touch() and runs:
            # Another worker may already run these jobs.
            for run in runs:
                if not run.ctx.lost:
                    w.lease_lost(run)
        # The leases run from about now: a pause of this process between here and the
        # end must leave `beaten` old, so that the next heartbeat sees it (not the time
        # this one happened to finish).
        asked = time.monotonic()
        if runs:
            result = w.backend.job_heartbeat([r.lease for r in runs], lease_s=s.lease_s)
            for run in runs:
                if run.record.id not in result.held and not run.done:
                    w.lease_lost(run)
                elif run.record.id in result.cancel_requested:
                    w.cancel_run(run)
        w.backend.worker_beat(
            WorkerInfo(
                id=w.id,
                host=self.host,
                pid=os.getpid(),
                queues=list(w.queues),
                concurrency=w.concurrency,
                started_at=self.started_at,
                heartbeat_at=time.time(),
                running=[r.record.id for r in runs],
                tasks=w.served(),
                stuck=stuck,
            )
        )
        self.beaten = asked

    def _out_of_touch(self) -> bool:
        """Has the store taken no heartbeat of this worker for a whole lease (a store
        outage, a paused or starved process)? Then its own leases may have run out, and
        so may those of workers that froze with it: recovery waits (see recover)."""
        if time.monotonic() - self.beaten > self.w.app.settings.lease_s:
            self.w.lost_touch()
            return True
        return False

    def recover(self) -> None:
        """Take back other workers' expired jobs, but only once this worker has been in
        touch with the store for two leases: after an outage or a pause every lease
        looks expired, this worker's own among them, and live workers need time to
        heartbeat again (their own store calls may still be waiting out a connect
        timeout). Only leases that had expired when it checked: a pause of this process
        after the check must not make its own leases look expired."""
        now = time.time()
        if self._out_of_touch() or time.monotonic() - self.w.out_of_touch_at < 2 * self.w.app.settings.lease_s:
            return
        for record in self.w.backend.job_recover(now=now):
            log.warning(
                "job %s recovered from a lost worker: now %s",
                record.id,
                record.status,
                extra={"job_id": record.id, "task": record.task},
            )

    def fire_schedules(self) -> None:
        self.w.app.schedules.tick()

    def prune(self) -> None:
        w = self.w
        now = time.time()
        deleted = w.backend.job_prune(w.app.prune_rules(now))
        w.backend.event_prune(before=now - w.app.settings.keep_events_s)
        w.backend.worker_prune(before=now - w.app.settings.keep_events_s)
        if deleted:
            log.info("retention: pruned %d finished jobs", deleted)
