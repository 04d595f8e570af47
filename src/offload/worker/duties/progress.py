"""Progress: writes the runs' coalesced progress and messages, at most one write per
``progress_flush_s`` for all of them; a run whose write the store refused has lost its
lease."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...backends.base import Backend
from ...errors import OffloadError
from ...records import Progress
from ...settings import Settings
from .base import Held

if TYPE_CHECKING:
    from ..executor import Run


class FlushProgress:
    name = "progress"

    def __init__(self, held: Held, store: Backend, settings: Settings) -> None:
        self.held, self.store = held, store
        self.period = settings.progress_flush_s

    def run(self) -> None:
        pending: list[tuple[Run, Progress]] = []
        for run in self.held.runs():
            run.lock.acquire()
            update = run.ctx.take_progress()
            if update is None:
                run.lock.release()
            else:
                pending.append((run, update))
        if not pending:
            return
        try:
            written = self.store.job_progress([u for _, u in pending])
        except OffloadError:
            for run, update in pending:
                run.ctx.restore(update)
            raise
        finally:
            for run, _ in pending:
                run.lock.release()
        for run, update in pending:
            if update.job_id not in written:
                self.held.lease_lost(run)
