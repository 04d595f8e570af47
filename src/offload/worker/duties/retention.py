"""Retention: deletes finished jobs past their time (or beyond the newest N), old
events and long-dead workers, in bounded batches. The store keeps a summary of each
pruned run for the statistics (Backend.job_prune)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from ...backends.base import Backend
from ...records import JobStatus, PruneRule
from ...settings import Settings
from ...task import Task

log = logging.getLogger(__name__)


class Retention:
    name = "retention"

    def __init__(self, store: Backend, tasks: Mapping[str, Task], settings: Settings) -> None:
        self.store, self.tasks, self.settings = store, tasks, settings
        self.period = settings.prune_every_s

    def run(self) -> None:
        now = time.time()
        deleted = self.store.job_prune(rules(self.tasks, self.settings, now))
        self.store.event_prune(before=now - self.settings.keep_events_s)
        self.store.worker_prune(before=now - self.settings.keep_events_s)
        if deleted:
            log.info("retention: pruned %d finished jobs", deleted)


def rules(tasks: Mapping[str, Task], s: Settings, now: float) -> list[PruneRule]:
    """The settings' limits, with each task's own overrides (``keep_completed_s=`` …)."""
    special = tuple(
        n
        for n, t in tasks.items()
        if (t.options.keep_completed_s, t.options.keep_completed, t.options.keep_failed_s) != (None, None, None)
    )
    found = [
        PruneRule(JobStatus.COMPLETED, now - s.keep_completed_s, s.keep_completed, exclude_tasks=special),
        PruneRule(JobStatus.FAILED, now - s.keep_failed_s, exclude_tasks=special),
        PruneRule(JobStatus.CANCELLED, now - s.keep_failed_s, exclude_tasks=special),
    ]
    for name in special:
        o = tasks[name].options
        done_s = s.keep_completed_s if o.keep_completed_s is None else o.keep_completed_s
        keep = s.keep_completed if o.keep_completed is None else o.keep_completed
        failed_s = s.keep_failed_s if o.keep_failed_s is None else o.keep_failed_s
        found += [
            PruneRule(JobStatus.COMPLETED, now - done_s, keep, task=name),
            PruneRule(JobStatus.FAILED, now - failed_s, task=name),
            PruneRule(JobStatus.CANCELLED, now - failed_s, task=name),
        ]
    return found
