"""JobContext: what a running task sees as its ``job`` parameter."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from .errors import JobCancelled
from .names import storable
from .records import JobRecord, Progress

_isfinite = math.isfinite
_PLAIN = (int, float)


class JobContext:
    """Progress, messages and cancellation for one run of one job.

    Writes are kept in memory and flushed by the worker at most every
    ``progress_flush_s`` (and always at the end of the run), so a task may report as
    often as it likes.
    """

    def __init__(self, record: JobRecord, *, max_messages: int = 1000) -> None:
        self.id = record.id
        self.task = record.task
        self.args = record.args
        self.kwargs = record.kwargs
        self.owner = record.owner
        self.attempt = record.attempts
        self.max_attempts = record.max_attempts
        self._token = record.lease_token or ""
        self._max_messages = max_messages
        self._lock = threading.Lock()
        self._cancel = False  # set from other threads; a bool write is atomic
        # (current, total), replaced whole by the task's thread alone: no lock to take
        self._progress: tuple[float | None, float | None] = (record.progress_current, record.progress_total)
        self._message = record.message
        self._messages: list[dict[str, Any]] = list(record.messages)
        self._new: list[dict[str, Any]] = []
        self._dirty = False
        self.lost = False  # the lease was lost: nothing this run writes will be kept
        self.saw_cancel = False  # the task read a cancel request: what it returns may be partial

    # -- the task's side ----------------------------------------------------------

    def set_progress(self, current: float, total: float | None = None) -> None:
        """Report progress as ``current`` of ``total`` (percent derived); total may be
        omitted after the first call. Costs well under a microsecond: call it as often
        as you like."""
        kind = type(current)
        if not (kind is int is type(total) and total >= 0) and not (  # the usual call, then plain numbers
            (kind is int or (kind is float and _isfinite(current)))
            and (total is None or (type(total) in _PLAIN and _isfinite(total) and total >= 0))
        ):
            _check_progress(current, total)  # names the problem, or lets odd-but-valid numbers through
        self._progress = (current, self._progress[1] if total is None else total)
        self._dirty = True  # after the value: take_progress clears the flag before it reads

    def add_message(self, message: str) -> None:
        """Append a status line (kept with a timestamp; the newest is ``message``)."""
        text = storable(str(message))
        entry = {"at": time.time(), "message": text}
        with self._lock:
            self._message = text
            self._messages.append(entry)
            if len(self._messages) > self._max_messages:
                del self._messages[: len(self._messages) - self._max_messages]
            self._new.append(entry)
            self._dirty = True

    def progress_callback(self, progress: float, message: str = "") -> None:
        """Callback style, for functions written that way: ``progress`` in percent, an
        optional message. Raises JobCancelled once somebody asked to cancel the job, so
        that such a function stops at its next report."""
        self.check_cancelled()
        self.set_progress(progress, 100)
        if message:
            self.add_message(message)

    @property
    def cancel_requested(self) -> bool:
        if self._cancel:
            self.saw_cancel = True
            return True
        return False

    def check_cancelled(self) -> None:
        """Raise JobCancelled when somebody asked to cancel this job: call it between steps."""
        if self._cancel:
            self.saw_cancel = True
            raise JobCancelled(self.id)

    # -- the worker's side ----------------------------------------------------------

    @property
    def token(self) -> str:
        return self._token

    def request_cancel(self) -> None:
        self._cancel = True

    @property
    def stop_requested(self) -> bool:
        """A cancel was requested (read by the worker, so it doesn't count as seen)."""
        return self._cancel

    def absorb(self, current: float | None, total: float | None, new_messages: list[dict[str, Any]]) -> None:
        """Take in what the task reported from its own process (isolation="process")."""
        with self._lock:
            if current is not None or total is not None:
                self._progress = (current, total)
            if new_messages:
                self._messages.extend(new_messages)
                if len(self._messages) > self._max_messages:
                    del self._messages[: len(self._messages) - self._max_messages]
                self._new.extend(new_messages)
                self._message = new_messages[-1]["message"]
            self._dirty = True

    def take_progress(self) -> Progress | None:
        """The pending write, or None when nothing changed since the last one."""
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            current, total = self._progress
            update = Progress(
                job_id=self.id,
                token=self._token,
                current=current,
                total=total,
                message=self._message,
                messages=list(self._messages) if self._new else None,
                new_messages=tuple(self._new),
            )
            self._new = []
            return update

    def restore(self, update: Progress) -> None:
        """Put back a write the store did not take, so the next one carries it."""
        with self._lock:
            self._new[:0] = update.new_messages
            self._dirty = True


def _check_progress(current: Any, total: Any) -> None:
    for name, value in (("current", current), ("total", total)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise ValueError(f"set_progress: {name} must be a finite number, got {value!r}")
    if total is not None and total < 0:
        raise ValueError(f"set_progress: total must be >= 0, got {total!r}")
