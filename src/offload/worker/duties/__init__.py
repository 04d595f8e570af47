"""A worker's duties: what it does now and then besides running jobs. Each duty is a
small class in a module of its own, given only what it needs (the store, the settings,
the worker's side as ``Held`` shows it), with a name, a period and ``run()``; a new one
is added to ``housekeeping`` below."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...backends.base import Backend
from ...settings import Settings
from ...task import Task
from .base import Duty, Held, Housekeeping
from .give_back import GiveBack
from .heartbeat import Heartbeat
from .progress import FlushProgress
from .rescue import Rescue
from .retention import Retention
from .schedules import Fires, FireSchedules
from .timeouts import Timeouts

__all__ = ["Duty", "Fires", "Heartbeat", "Held", "Housekeeping", "housekeeping"]


def housekeeping(
    held: Held,
    store: Backend,
    tasks: Mapping[str, Task],
    settings: Settings,
    schedules: Fires,
    *,
    supervised: bool,
) -> tuple[Housekeeping, Heartbeat]:
    """Every duty of a worker, on its two threads (not started yet), and its heartbeat
    (which the worker asks how long ago the store took a beat)."""
    heartbeat = Heartbeat(held, store, settings)
    duties: list[Duty] = [
        FlushProgress(held, store, settings),
        Timeouts(held, settings),
        GiveBack(held, store),
        Rescue(held, store, settings, heartbeat),
        Retention(store, tasks, settings),
    ]
    if settings.run_scheduler:
        duties.append(FireSchedules(schedules, settings))
    parent = os.getppid() if supervised else None
    return Housekeeping(held, [heartbeat], duties, parent=parent), heartbeat
