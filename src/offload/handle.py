"""JobHandle: what enqueue returns; follows one job from any process."""

from __future__ import annotations

import time
from typing import Any, Protocol

from .backends.base import Backend
from .errors import JobCancelled, JobFailed, JobNotFound, WaitTimeout
from .records import TERMINAL, JobRecord, JobStatus


class Jobs(Protocol):
    """What a handle reads its job through (an App): the store, and the decryption of
    an encrypted job's values."""

    @property
    def backend(self) -> Backend: ...

    def reveal(self, record: JobRecord) -> JobRecord: ...


class JobHandle:
    def __init__(self, app: Jobs, job_id: str, record: JobRecord | None = None, *, created: bool = True) -> None:
        self.app = app
        self.id = job_id
        self.created = created  # False when a unique_key returned an existing job
        self._record = record

    def __repr__(self) -> str:
        status = self._record.status if self._record else "?"
        return f"<JobHandle {self.id} {status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def refresh(self) -> JobRecord:
        """Read the job from the store again."""
        record = self.app.backend.job_get(self.id)
        if record is None:
            raise JobNotFound(self.id)
        self._record = record = self.app.reveal(record)
        return record

    @property
    def record(self) -> JobRecord:
        return self._record if self._record is not None else self.refresh()

    def status(self) -> JobStatus:
        return self.refresh().status

    @property
    def result(self) -> Any:
        """The stored result (None until the job completed)."""
        record = self.record
        if record.status not in TERMINAL:
            record = self.refresh()
        return record.result

    @property
    def progress(self) -> float:
        return self.refresh().progress

    def wait(self, timeout: float | None = None, *, raise_on_failure: bool = True) -> Any:
        """Block until the job ends; return its result. Raises WaitTimeout, and (unless
        ``raise_on_failure`` is False) JobFailed or JobCancelled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while True:
            record = self.refresh()
            if record.status in TERMINAL:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(self.id, timeout or 0.0, record.status)
            left = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            time.sleep(min(pause, left))
            pause = min(pause * 1.5, 0.25)
        if raise_on_failure and record.status == JobStatus.FAILED:
            raise JobFailed(self.id, record.error)
        if raise_on_failure and record.status == JobStatus.CANCELLED:
            raise JobCancelled(self.id)
        return record.result

    def cancel(self) -> JobRecord:
        """Cancel now when waiting; ask the worker to stop when running."""
        self._record = self.app.reveal(self.app.backend.job_cancel(self.id))
        return self._record

    def retry(self) -> JobRecord:
        """Run a failed or cancelled job again (attempts reset)."""
        self._record = self.app.reveal(self.app.backend.job_retry(self.id))
        return self._record
