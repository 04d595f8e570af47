"""The one protocol every store implements (its records are in offload.records).

Rules every implementation keeps (the conformance suite in tests/conformance checks them):

* Every write that changes a job's status is conditional on the status it comes from
  (see ``offload.records.TRANSITIONS``); a write from a worker is also conditional on the
  lease token it got at claim time. A refused write changes nothing and reports it
  (the job is missing from the returned ids) instead of raising.
* Batch by default: methods take and return sequences, one round trip each.
* ``now`` is POSIX seconds. When it is None the store uses its own clock; tests pass it
  so that they never sleep.
* JSON values (args, kwargs, result) cross as already-encoded ``str`` on the way in and
  as decoded Python values on the way out (``JobRecord``).
* Every status change and every progress write also appends an event (see ``Event``)
  in the same transaction, so that other processes can follow a job.
* Driver errors are translated at the boundary: ``BackendUnavailable`` when the
  store can't be reached or is busy (the call may be repeated), ``BackendError``
  otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..records import (
    Event,
    FinishedCount,
    HeartbeatResult,
    Inserted,
    JobFilter,
    JobRecord,
    Lease,
    NewJob,
    Outcome,
    Progress,
    PruneRule,
    RunRecord,
    ScheduleRecord,
    TaskStats,
    TokenRecord,
    WorkerInfo,
)


class Waiter(Protocol):
    """Wakes a worker when new work may be there. A missed wake-up costs one poll."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when woken by a ring."""

    def ring(self) -> None:
        """Wake this waiter from another thread of the same process."""

    def close(self) -> None: ...


class AsyncReads(Protocol):
    """The HTTP API's hottest reads, awaited on an asyncio event loop: over the network
    without a thread or a blocked loop (PostgreSQL), or made on the loop itself where
    reads never wait (SQLite)."""

    async def job_get(self, job_id: str) -> JobRecord | None:
        """As Backend.job_get."""

    async def token_and_job_get(
        self, token_hash: str, job_id: str | None
    ) -> tuple[TokenRecord | None, JobRecord | None]:
        """token_by_hash and job_get (None: no job) at once: a status GET's reads."""

    async def close(self) -> None:
        """Release what the running loop holds (called when the API shuts down)."""


class Backend(Protocol):
    """A job store. See the module docstring for the rules."""

    url: str
    # True when reads never wait on a network or a lock (SQLite in WAL mode), so an
    # event loop may make them itself instead of handing them to a thread.
    local_reads: bool

    @property
    def async_reads(self) -> AsyncReads | None:
        """Reads for an event loop, or None (then: local_reads, or a thread)."""

    def migrate(self) -> int:
        """Bring the schema to the newest version; return that version."""

    def close(self) -> None:
        """Release connections. The object may not be used afterwards."""

    def ping(self) -> None:
        """Raise BackendUnavailable unless the store answers."""

    def ping_write(self) -> None:
        """Commit a write that changes nothing anyone can see (the newest schema_version
        row, rewritten as it was), or raise BackendError (BackendUnavailable when the
        store is busy or gone). A health check: a store can answer reads while every
        write fails (a full disk, a read-only server). It must really write: a statement
        the store may skip as a no-op proves nothing."""

    # -- jobs -----------------------------------------------------------------

    def job_insert_many(
        self, jobs: Sequence[NewJob], *, now: float | None = None, connection: Any = None
    ) -> list[Inserted]:
        """Store jobs atomically (all or none), in order; wake waiting workers after commit.

        A job whose idempotency_key is held by any stored job, or whose unique_key is held
        by a scheduled, queued, retrying or running job, is not stored; its Inserted
        names the holder (the idempotency_key holder first).

        ``connection``: the caller's own open transaction (a psycopg connection for
        PostgreSQL). The jobs are written in it and exist if and only if the caller
        commits; workers are woken by the commit. Stores that can't do this raise
        ConfigurationError.
        """

    def job_get(self, job_id: str) -> JobRecord | None: ...

    def job_ids_by_prefix(self, prefix: str, *, limit: int) -> list[str]:
        """Ids of jobs, in any state, that start with ``prefix`` (lowercase hex digits;
        ids are 32 of them), in id order, at most ``limit``: one range read on the
        primary key, however many jobs there are."""

    def job_list(self, flt: JobFilter) -> list[JobRecord]:
        """Jobs matching the filter, newest first (id descending)."""

    def job_claim(
        self,
        *,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float | None = None,
        tasks: Sequence[str] | None = None,
    ) -> list[JobRecord]:
        """Move up to ``limit`` due jobs to running, each under a fresh lease token.

        Queues are served in the order given; within one, by priority desc, run_at, id.
        Paused queues are skipped. Each claim counts one attempt. ``tasks``: only jobs
        of these tasks are taken (the others are left waiting, in their order, for a
        worker that has them); None takes any task.
        """

    def job_heartbeat(self, leases: Sequence[Lease], *, lease_s: float, now: float | None = None) -> HeartbeatResult:
        """Extend the leases that are still current."""

    def job_progress(self, updates: Sequence[Progress], *, now: float | None = None) -> set[str]:
        """Write progress of held jobs; return the ids written (the rest were lost)."""

    def job_finish(self, outcomes: Sequence[Outcome], *, now: float | None = None) -> set[str]:
        """Record how runs ended, in one transaction; return the ids written."""

    def job_finish_and_claim(
        self,
        outcomes: Sequence[Outcome],
        *,
        queues: Sequence[str],
        limit: int,
        worker_id: str,
        lease_s: float,
        now: float | None = None,
        tasks: Sequence[str] | None = None,
    ) -> tuple[set[str], list[JobRecord]]:
        """A worker's turn: job_finish and job_claim in one call (a busy worker's loop
        makes one call per turn). The outcomes are durable when it returns. A store
        may run the two at once in separate transactions (PostgreSQL does); a retry
        due now among the outcomes can still be claimed in the same turn. ``limit`` 0
        claims nothing. If the outcomes were written but the claim failed, it raises
        ClaimFailed."""

    def job_release(self, leases: Sequence[Lease], *, now: float | None = None) -> set[str]:
        """Put held jobs back to queued, refunding the attempt (graceful shutdown). A job
        with a cancel request is cancelled instead."""

    def job_recover(self, *, now: float | None = None, limit: int = 1000) -> list[JobRecord]:
        """Take back running jobs whose lease expired: queued when attempts are left,
        else failed with "worker lost"; cancelled when a cancel was requested. Each
        expired job is recovered exactly once even when many workers call this at the
        same time."""

    def job_cancel(self, job_id: str, *, now: float | None = None) -> JobRecord:
        """Waiting jobs: cancelled at once. Running jobs: cancel_requested is set and the
        worker decides. JobNotFound / InvalidTransition otherwise."""

    def job_retry(self, job_id: str, *, now: float | None = None) -> JobRecord:
        """failed or cancelled -> queued, attempts reset, error cleared."""

    def job_delete(self, job_id: str) -> None:
        """Remove a job that has ended (JobNotFound / InvalidTransition otherwise); its
        run is kept as job_prune keeps them."""

    def job_prune(self, rules: Sequence[PruneRule], *, batch: int = 5000) -> int:
        """Apply retention rules in bounded batches; return how many jobs were deleted.

        The run of every deleted job (task, queue, id, owner, status, start, end,
        attempts, error) goes to its task's archive in the same transaction, and the
        archive keeps the newest RUNS_KEPT runs and the newest RUNS_KEPT failures of
        each task, so that history, p95 and failures outlive the jobs."""

    def job_counts(self) -> dict[str, dict[str, int]]:
        """{queue: {status: count}} for every queue that has jobs or is paused."""

    def job_waiting_tasks(self) -> set[tuple[str, str]]:
        """(queue, task) of every scheduled, queued or retrying job, each pair once."""

    # -- queues, events, workers ---------------------------------------------------

    def queue_pause(self, name: str, paused: bool) -> None: ...

    def queue_paused(self) -> set[str]: ...

    def event_list(self, *, after: int = 0, job_id: str | None = None, limit: int = 500) -> list[Event]:
        """Events with seq > after, oldest first."""

    def event_last_seq(self) -> int:
        """The seq of the newest event, 0 when there is none."""

    def event_prune(self, *, before: float) -> int:
        """Delete the events older than ``before`` (in seq order, up to the first one at
        or after it), but never the newest event: it holds the sequence's high-water
        mark, so that no seq is ever given out twice. Returns how many went."""

    def worker_beat(self, info: WorkerInfo) -> None:
        """Register or refresh a live worker."""

    def worker_remove(self, worker_id: str) -> None: ...

    def worker_list(self, *, alive_after: float) -> list[WorkerInfo]: ...

    def worker_prune(self, *, before: float) -> int:
        """Forget workers whose last heartbeat is older than ``before`` (killed ones never
        remove themselves); return how many."""

    # -- schedules and statistics ------------------------------------------------------------

    def schedule_save(self, record: ScheduleRecord) -> None:
        """Insert, or replace the schedule with the same id; a tombstone of the id goes."""

    def schedule_get(self, schedule_id: str) -> ScheduleRecord | None: ...

    def schedule_list(self) -> list[ScheduleRecord]:
        """Every schedule, by id."""

    def schedule_delete(self, schedule_id: str, *, now: float | None = None) -> bool:
        """Delete; False when there was no such schedule. A schedule declared in code (a
        fingerprint) leaves a tombstone holding its fingerprint, in the same transaction."""

    def schedule_tombstone(self, schedule_id: str) -> str | None:
        """The fingerprint a deleted schedule declared in code left, or None."""

    def schedule_due(self, *, now: float | None = None, limit: int = 100) -> list[ScheduleRecord]:
        """Unpaused schedules whose next_run_at has come."""

    def schedule_advance(
        self, schedule_id: str, *, expected_next: float, next_run_at: float, last_run_at: float
    ) -> bool:
        """Move a schedule on after a firing, only if its next_run_at is still
        ``expected_next`` (another scheduler did not move it first)."""

    def stats_tasks(self) -> list[TaskStats]:
        """Counters per task (updated by job_finish and job_recover), by task name."""

    def stats_clear(self, task: str | None = None, *, now: float | None = None) -> None:
        """Start a task's statistics (every task's when None) afresh, as of ``now``:
        counters to zero, its kept runs dropped, and its runs that ended until now,
        jobs still in the store included, left out of job_history and job_failures."""

    def job_history(self, task: str, *, limit: int = 100) -> list[RunRecord]:
        """Finished runs of a task, the most recently finished first: jobs in the store
        and the runs kept of pruned or deleted ones, since the last stats_clear."""

    def job_failures(self, *, since: float, limit: int = 100, owner: str | None = None) -> list[RunRecord]:
        """Failed runs that ended at or after ``since`` (of ``owner`` when given), the
        newest first, from the same two sources as job_history."""

    def job_finished_counts(self, *, since: float, bucket_s: float = 60.0) -> list[FinishedCount]:
        """Stored jobs that ended (completed, failed, cancelled) at or after ``since``,
        counted by final status per bucket of ``bucket_s`` seconds (buckets start at
        multiples of ``bucket_s``); the oldest bucket first, then by status. Empty
        buckets are left out; pruned jobs are not counted."""

    # -- API tokens ----------------------------------------------------------------------

    def token_insert(self, token: TokenRecord) -> None: ...

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The token with this hash, revoked or not."""

    def token_list(self) -> list[TokenRecord]:
        """Every token, oldest first."""

    def token_revoke(self, token_id: str, *, now: float | None = None) -> bool:
        """Mark revoked; False when no such token (or already revoked)."""

    def waiter(self, worker_id: str, queues: Sequence[str]) -> Waiter:
        """A doorbell rung by job_insert_many and job_retry for these queues."""
