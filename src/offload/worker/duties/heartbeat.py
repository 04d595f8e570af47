"""Heartbeat: extends the leases of the jobs the worker holds, learns of cancel requests
and of leases lost, and registers the worker (host, pid, queues, tasks, running and
stuck jobs) for ``GET /api/workers``. It also keeps how long ago the store last took a
beat: a worker out of touch for a whole lease may have lost every job it holds."""

from __future__ import annotations

import os
import socket
import time

from ...backends.base import Backend
from ...records import WorkerInfo
from ...settings import Settings
from .base import Held


class Heartbeat:
    name = "heartbeat"

    def __init__(self, held: Held, store: Backend, settings: Settings) -> None:
        self.held, self.store, self.settings = held, store, settings
        self.period = settings.heartbeat_s
        self.host = settings.hostname or socket.gethostname()
        self.started_at = time.time()
        self.beaten = time.monotonic()  # the last heartbeat the store took

    def run(self) -> None:
        w = self.held
        runs, stuck = w.runs(), w.stuck()
        if self.out_of_touch() and runs:
            # Another worker may already run these jobs.
            for run in runs:
                if not run.ctx.lost:
                    w.lease_lost(run)
        # The leases run from about now: a pause of this process between here and the
        # end must leave `beaten` old, so that the next heartbeat sees it (not the time
        # this one happened to finish).
        asked = time.monotonic()
        if runs:
            result = self.store.job_heartbeat([r.lease for r in runs], lease_s=self.settings.lease_s)
            for run in runs:
                if run.record.id not in result.held and not run.done:
                    w.lease_lost(run)
                elif run.record.id in result.cancel_requested:
                    w.cancel_run(run)
        self.store.worker_beat(
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

    def out_of_touch(self) -> bool:
        """Has the store taken no heartbeat of this worker for a whole lease (a store
        outage, a paused or starved process)? Then its own leases may have run out, and
        so may those of workers that froze with it: rescue waits (see rescue.py)."""
        if time.monotonic() - self.beaten > self.settings.lease_s:
            self.held.lost_touch()
            return True
        return False
