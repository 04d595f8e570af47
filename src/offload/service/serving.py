"""Which tasks the live workers serve, and on which queues: why a waiting job waits
(``waiting_reason`` in the job JSON) and which waiting tasks nobody serves
(``/api/health``). A status GET reads it from a copy at most REFRESH_S old, never
from the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..records import WorkerInfo

REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class Served:
    """What the live workers serve: ``tasks`` maps a task to the queues some worker
    claims it from; ``any_task`` holds queues of workers that record no tasks (from
    before workers did), which claim whatever is there."""

    tasks: dict[str, frozenset[str]] = field(default_factory=dict)
    any_task: frozenset[str] = frozenset()

    @classmethod
    def of(cls, workers: Iterable[WorkerInfo]) -> Served:
        tasks: dict[str, set[str]] = {}
        any_task: set[str] = set()
        for w in workers:
            if w.tasks is None:
                any_task.update(w.queues)
                continue
            for name in w.tasks:
                tasks.setdefault(name, set()).update(w.queues)
        return cls({t: frozenset(q) for t, q in tasks.items()}, frozenset(any_task))

    def reason(self, queue: str, task: str) -> str | None:
        """Why a job of ``task`` in ``queue`` can't be claimed now, or None."""
        if queue in self.any_task:
            return None
        queues = self.tasks.get(task)
        if not queues:
            return f"no live worker serves task {task!r}"
        if queue not in queues:
            return f"no live worker serves task {task!r} on queue {queue!r}"
        return None


class ServedCache:
    """``Served``, read again through ``read`` when the copy is older than ``max_age``."""

    def __init__(self, read: Callable[[], list[WorkerInfo]], max_age: float = REFRESH_S) -> None:
        self._read = read
        self._max_age = max_age
        self._value: Served | None = None
        self._at = -1e18  # monotonic time of the copy
        self._refreshing = threading.Lock()

    def fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._at < self._max_age

    def get(self) -> Served:
        if not self.fresh():
            self.refresh()
        assert self._value is not None
        return self._value

    def refresh(self) -> Served:
        """Read the workers again, unless another caller is doing so right now (then the
        copy it is replacing is good enough, unless there is none yet)."""
        if not self._refreshing.acquire(blocking=self._value is None):
            assert self._value is not None
            return self._value
        try:
            value = self._value
            if value is None or not self.fresh():
                value = Served.of(self._read())
                self._value, self._at = value, time.monotonic()
            return value
        finally:
            self._refreshing.release()
