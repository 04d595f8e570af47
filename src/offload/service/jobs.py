"""JobService: every action on jobs, queues, workers and events, with authorization.

Callers (the HTTP API, the framework integrations, the dashboard) hand in a
``Principal`` and plain values; nothing here knows about HTTP. A job the principal
may not see is reported exactly like a missing one (``JobNotFound``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.base import Backend
from ..errors import AccessDenied, InvalidField, InvalidRequest, JobNotFound, OffloadError
from ..records import WAITING, Event, JobFilter, JobRecord, JobStatus, WorkerInfo
from .models import ListQuery, SubmitRequest, plausible_id, text_param
from .principal import Principal
from .serving import Served, ServedCache
from .views import worker_json

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger(__name__)

WORKER_ALIVE_S = 15.0  # a worker that hasn't beaten for this long is not listed


@dataclass(frozen=True, slots=True)
class Submitted:
    job_id: str
    status: str
    created: bool  # False: an Idempotency-Key or unique_key named an existing job


@dataclass(frozen=True, slots=True)
class Page:
    jobs: list[JobRecord]
    next_cursor: str | None


class JobService:
    """The one place that decides who may see and do what."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.served = ServedCache(self._live_workers)

    @property
    def backend(self) -> Backend:
        return self.app.backend

    # -- jobs -------------------------------------------------------------------------

    def submit(self, principal: Principal, req: SubmitRequest, *, idempotency_key: str | None = None) -> Submitted:
        """Validate and store a job owned by the caller. Keys are namespaced by owner, so
        one user's key can never name (or reveal) another user's job."""
        options = dict(req.options)
        if "queue" in options:
            check_queue(self.app, principal, options["queue"])
        if "unique_key" in options and not principal.admin:
            options["unique_key"] = principal.scoped(options["unique_key"])
        if idempotency_key is not None:
            options["idempotency_key"] = principal.scoped(idempotency_key)
        job = self.app.build_job(req.task, req.args or [], req.kwargs or {}, owner=principal.user, **options)
        (inserted,) = self.backend.job_insert_many([job])
        if inserted.created:
            queued = job.run_at is None or job.run_at <= time.time()
            return Submitted(job.id, "queued" if queued else "scheduled", True)
        record = self.backend.job_get(inserted.id)
        if record is None or not principal.may_see(record):
            raise InvalidRequest("unique_key", "held by a job that is gone or not yours; try again")
        return Submitted(record.id, str(record.status), False)

    def get(self, principal: Principal, job_id: str) -> JobRecord:
        return self.visible(principal, job_id, self.backend.job_get(job_id) if plausible_id(job_id) else None)

    async def get_async(self, principal: Principal, job_id: str) -> JobRecord:
        """As get, awaited on the event loop (the store must have async_reads)."""
        reads = self.backend.async_reads
        assert reads is not None
        return self.visible(principal, job_id, await reads.job_get(job_id) if plausible_id(job_id) else None)

    def visible(self, principal: Principal, job_id: str, record: JobRecord | None) -> JobRecord:
        """``record`` (job_id's, or None), decrypted, if the principal may see it; else
        JobNotFound."""
        if record is None or not principal.may_see(record):
            raise JobNotFound(job_id)
        return self.app.reveal(record)

    def waiting_reason(self, record: JobRecord) -> str | None:
        """Why a waiting job can't be claimed now (no live worker serves its task), or
        None. From a copy of the workers at most a second old."""
        if record.status not in WAITING:
            return None
        return self.served.get().reason(record.queue, record.task)

    async def waiting_reason_async(self, record: JobRecord) -> str | None:
        """As waiting_reason, on an event loop: a stale copy is read again in a thread
        when the store's reads go over the network."""
        if record.status not in WAITING:
            return None
        if not self.served.fresh() and not self.backend.local_reads:
            import asyncio  # only an API process gets here, and it has asyncio already

            await asyncio.to_thread(self.served.refresh)
        return self.served.get().reason(record.queue, record.task)

    def _live_workers(self) -> list[WorkerInfo]:
        return self.backend.worker_list(alive_after=time.time() - WORKER_ALIVE_S)

    def list_jobs(self, principal: Principal, query: ListQuery) -> Page:
        """Newest first; ``next_cursor`` is None on the last page."""
        owner = query.owner if principal.admin else principal.user
        records = self.app.list_jobs(
            status=query.status,
            queue=query.queue,
            task=query.task,
            owner=owner,
            limit=query.limit + 1,
            before=query.cursor,
        )
        more = len(records) > query.limit
        records = records[: query.limit]
        return Page(records, records[-1].id if more and records else None)

    def cancel(self, principal: Principal, job_id: str) -> JobRecord:
        self.get(principal, job_id)
        return self.app.reveal(self.backend.job_cancel(job_id))

    def retry(self, principal: Principal, job_id: str) -> JobRecord:
        self.get(principal, job_id)
        return self.app.reveal(self.backend.job_retry(job_id))

    def delete(self, principal: Principal, job_id: str) -> None:
        # Not self.get: a job this process can't decrypt (its key is gone) may still be deleted.
        record = self.backend.job_get(job_id) if plausible_id(job_id) else None
        if record is None or not principal.may_see(record):
            raise JobNotFound(job_id)
        self.backend.job_delete(job_id)

    # -- queues and workers -------------------------------------------------------------

    def queues(self, principal: Principal) -> list[dict[str, Any]]:
        """Every queue with its job counts by state. The counts are totals over all
        owners: how busy a queue is, never whose jobs are in it."""
        counts = self.backend.job_counts()
        paused = self.backend.queue_paused()
        names = set(counts) | paused | set(self.app.queues())
        return [
            {
                "name": name,
                "paused": name in paused,
                "counts": dict(sorted(counts.get(name, {}).items())),
                "total": sum(counts.get(name, {}).values()),
            }
            for name in sorted(names)
        ]

    def set_paused(self, principal: Principal, name: str, paused: bool) -> dict[str, Any]:
        if not principal.admin:
            raise AccessDenied("pausing or resuming a queue")
        name = text_param(name, "queue") or ""
        if not name:
            raise InvalidRequest("queue", "must not be empty")
        self.backend.queue_pause(name, paused)
        log.info("queue %s %s by %s", name, "paused" if paused else "resumed", principal.user)
        return {"name": name, "paused": paused}

    def workers(self, principal: Principal) -> list[dict[str, Any]]:
        """Live workers. A user sees which of their own jobs each one runs; the ids of
        other users' jobs are left out."""
        infos = self.backend.worker_list(alive_after=time.time() - WORKER_ALIVE_S)
        mine: set[str] | None = None
        if not principal.admin and any(w.running or w.stuck for w in infos):
            # the store's records, not app.list_jobs: only ids are needed, nothing to decrypt
            own = self.backend.job_list(JobFilter(status=JobStatus.RUNNING, owner=principal.user, limit=1000))
            mine = {r.id for r in own}
            for job_id in {j for w in infos for j in w.stuck}:  # timed out: no longer running
                record = self.backend.job_get(job_id)
                if record is not None and principal.may_see(record):
                    mine.add(job_id)
        return [worker_json(w, mine) for w in infos]

    # -- events ---------------------------------------------------------------------------

    def events(
        self, principal: Principal, *, after: int, job_id: str | None = None, limit: int = 500
    ) -> tuple[list[Event], int]:
        """Events after ``after`` the principal may see, and the seq read up to (also
        past events it may not see, so that a reader's cursor moves on)."""
        batch = self.backend.event_list(after=after, job_id=job_id, limit=limit)
        last = batch[-1].seq if batch else after
        return [e for e in batch if principal.may_see_event(e)], last

    def latest_seq(self) -> int:
        """The newest event's seq (0 when there is none)."""
        return self.backend.event_last_seq()

    def snapshot(self, principal: Principal, job_id: str, seen: int) -> tuple[JobRecord, int]:
        """The job as it stands, and the seq of the newest event it reflects, so that a
        stream can go on from exactly there.

        ``seen``: a seq whose events are all committed (the stream hub's cursor). The
        record is read again until no event of the job came after the seq it is paired
        with, which in a store that numbers events in commit order pins it exactly.
        """
        seq = seen
        record = self.get(principal, job_id)
        for _ in range(5):
            later = self.backend.event_list(after=seq, job_id=job_id, limit=500)
            if not later:
                break
            seq = later[-1].seq
            record = self.get(principal, job_id)
        return record, seq

    # -- health and metrics ---------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        engine = self.app.settings.url.split(":", 1)[0]
        try:
            self.backend.ping()
            workers = self.backend.worker_list(alive_after=time.time() - WORKER_ALIVE_S)
            served = Served.of(workers)
            unserved = sorted({t for q, t in self.backend.job_waiting_tasks() if served.reason(q, t)})
        except OffloadError as exc:
            return False, {"status": "unavailable", "backend": {"engine": engine, "ok": False, "error": str(exc)}}
        return True, {
            "status": "ok",
            "backend": {"engine": engine, "ok": True},
            "workers": {"alive": len(workers), "slots": sum(w.concurrency for w in workers)},
            "unserved_tasks": unserved,
        }

    def stats(self) -> dict[str, Any]:
        """What /metrics reports: job counts by queue and state, paused queues, workers."""
        return {
            "counts": self.backend.job_counts(),
            "paused": self.backend.queue_paused(),
            "workers": self.backend.worker_list(alive_after=time.time() - WORKER_ALIVE_S),
        }


def check_queue(app: App, principal: Principal, queue: str) -> None:
    """Over HTTP, jobs go only to queues the app declares (App.queues), so that users
    can't make up queues no worker serves; admins may be let further by the
    api_admin_any_queue setting. The name's characters are App.job_factory's to check."""
    if principal.admin and app.settings.api_admin_any_queue:
        return
    declared = app.queues()
    if queue not in declared:
        raise InvalidField("queue", f"{queue!r:.80} is not a queue this app declares ({', '.join(declared)})")
