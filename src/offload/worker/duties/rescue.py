"""Rescue: takes back other workers' running jobs whose lease expired (the worker was
killed, froze or lost the store): queued again when attempts are left, else failed
with "worker lost"; each expired job is rescued once, however many workers try."""

from __future__ import annotations

import logging
import time

from ...backends.base import Backend
from ...settings import Settings
from .base import Held
from .heartbeat import Heartbeat

log = logging.getLogger(__name__)


class Rescue:
    name = "recovery"

    def __init__(self, held: Held, store: Backend, settings: Settings, heartbeat: Heartbeat) -> None:
        self.held, self.store, self.heartbeat = held, store, heartbeat
        self.lease_s = settings.lease_s
        self.period = min(settings.heartbeat_s, settings.lease_s / 4)

    def run(self) -> None:
        """Only once this worker has been in touch with the store for two leases: after an
        outage or a pause every lease looks expired, this worker's own among them, and
        live workers need time to heartbeat again (their own store calls may still be
        waiting out a connect timeout). Only leases that had expired when it checked: a
        pause of this process after the check must not make its own leases look expired."""
        now = time.time()
        if self.heartbeat.out_of_touch() or time.monotonic() - self.held.out_of_touch_at < 2 * self.lease_s:
            return
        for record in self.store.job_recover(now=now):
            log.warning(
                "job %s recovered from a lost worker: now %s",
                record.id,
                record.status,
                extra={"job_id": record.id, "task": record.task},
            )
