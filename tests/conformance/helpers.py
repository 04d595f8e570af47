"""Plain helpers shared by the conformance modules: build jobs, drive them into a state.

Every helper takes an explicit ``now`` so that no test depends on the wall clock.
"""

from __future__ import annotations

import uuid
from typing import Any

from offload.backends.base import Backend
from offload.records import Event, JobRecord, JobStatus, Lease, NewJob, Outcome, new_job_id

T0 = 1_700_000_000.0  # the tests' clock starts here
LEASE_S = 30.0
FAR = 3600.0  # "in the future" for scheduled and retrying jobs
DOCUMENTED_EVENT_TYPES = frozenset({"status", "progress", "message"})


def make_job(**overrides: Any) -> NewJob:
    """A NewJob with a fresh id and empty arguments; any field can be overridden."""
    fields: dict[str, Any] = {
        "id": new_job_id(),
        "task": "tests.noop",
        "queue": "default",
        "args_json": "[]",
        "kwargs_json": "{}",
    }
    fields.update(overrides)
    return NewJob(**fields)


def make_jobs(n: int, *, start: float = T0, **overrides: Any) -> list[NewJob]:
    """``n`` jobs whose ids sort in the order of the list."""
    return [make_job(id=new_job_id(start + i), **overrides) for i in range(n)]


def fresh_queue() -> str:
    return f"q-{uuid.uuid4().hex[:12]}"


def insert(backend: Backend, *jobs: NewJob, now: float = T0) -> list[str]:
    """Insert and return the ids; every job must be created."""
    inserted = backend.job_insert_many(list(jobs), now=now)
    assert [i.created for i in inserted] == [True] * len(jobs)
    assert [i.id for i in inserted] == [j.id for j in jobs]
    return [i.id for i in inserted]


def insert_one(backend: Backend, *, now: float = T0, **overrides: Any) -> str:
    return insert(backend, make_job(**overrides), now=now)[0]


def claim(
    backend: Backend,
    queues: tuple[str, ...] | list[str] = ("default",),
    *,
    limit: int = 100,
    now: float = T0,
    lease_s: float = LEASE_S,
    worker_id: str = "worker-1",
    tasks: list[str] | None = None,
) -> list[JobRecord]:
    return backend.job_claim(
        queues=list(queues), limit=limit, worker_id=worker_id, lease_s=lease_s, now=now, tasks=tasks
    )


def claim_ids(backend: Backend, queues: tuple[str, ...] | list[str] = ("default",), **kw: Any) -> list[str]:
    return [r.id for r in claim(backend, queues, **kw)]


def get(backend: Backend, job_id: str) -> JobRecord:
    record = backend.job_get(job_id)
    assert record is not None, f"job {job_id} is missing"
    return record


def lease_of(record: JobRecord) -> Lease:
    assert record.lease_token, f"job {record.id} has no lease token"
    return Lease(record.id, record.lease_token)


def running_job(backend: Backend, *, now: float = T0, lease_s: float = LEASE_S, **overrides: Any) -> JobRecord:
    """Insert a job into a queue of its own and claim it; return the claimed record."""
    overrides.setdefault("queue", fresh_queue())
    job_id = insert_one(backend, now=now, **overrides)
    claimed = claim(backend, [overrides["queue"]], limit=1, now=now, lease_s=lease_s)
    assert [r.id for r in claimed] == [job_id]
    return claimed[0]


def outcome(record: JobRecord, status: JobStatus, *, token: str | None = None, **kw: Any) -> Outcome:
    return Outcome(job_id=record.id, token=token or lease_of(record).token, status=status, **kw)


def finish(backend: Backend, record: JobRecord, status: JobStatus, *, now: float = T0, **kw: Any) -> set[str]:
    return backend.job_finish([outcome(record, status, **kw)], now=now)


def job_in(backend: Backend, status: JobStatus, *, now: float = T0, **overrides: Any) -> tuple[JobRecord, str | None]:
    """A job brought to ``status`` through the protocol, and the last lease token it had.

    Scheduled and retrying jobs are due at ``now + FAR``. Each job gets a queue of its own
    unless ``queue`` is given.
    """
    overrides.setdefault("queue", fresh_queue())
    if status == JobStatus.SCHEDULED:
        return get(backend, insert_one(backend, now=now, run_at=now + FAR, **overrides)), None
    if status == JobStatus.QUEUED:
        return get(backend, insert_one(backend, now=now, **overrides)), None
    if status == JobStatus.CANCELLED:
        job_id = insert_one(backend, now=now, **overrides)
        backend.job_cancel(job_id, now=now)
        return get(backend, job_id), None
    record = running_job(backend, now=now, **overrides)
    token = lease_of(record).token
    if status == JobStatus.RUNNING:
        return record, token
    kw: dict[str, Any] = {"run_at": now + FAR} if status == JobStatus.RETRYING else {}
    if status in (JobStatus.FAILED, JobStatus.RETRYING):
        kw["error"] = "boom"
    assert finish(backend, record, status, now=now, **kw) == {record.id}
    return get(backend, record.id), token


def events(backend: Backend, job_id: str) -> list[Event]:
    return backend.event_list(job_id=job_id, limit=10_000)


def status_history(backend: Backend, job_id: str) -> list[str]:
    """The statuses a job went through, from its "status" events."""
    return [e.data["status"] for e in events(backend, job_id) if e.type == "status"]
