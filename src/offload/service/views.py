"""The JSON the HTTP API answers with, made in one place for every adapter (``offload
serve``, the Flask and FastAPI integrations, the dashboard, the CLI): a job, a
schedule, a worker, an event, and the "state" item that opens and closes a job's
stream. The records stay plain data; what the API shows of them is decided here.

Timestamps are ISO 8601 UTC; a job's percent done is ``records.percent`` on every path
(the job, its progress events), so the two can never disagree.
"""

from __future__ import annotations

import time
from typing import Any

from ..records import Event, JobRecord, ScheduleRecord, WorkerInfo, iso, percent


def job_json(
    record: JobRecord, *, include_traceback: bool = False, waiting_reason: str | None = None
) -> dict[str, Any]:
    """The job JSON of the HTTP API. ``include_traceback``: for admins (the error's
    message is shown to everyone who may see the job); ``waiting_reason``: why the job
    waits, when the caller knows (JobService.waiting_reason)."""
    error: dict[str, Any] | None = None
    if record.error is not None:
        error = {"message": record.error}
        if include_traceback and record.traceback:
            error["traceback"] = record.traceback
    return {
        "id": record.id,
        "task": record.task,
        "queue": record.queue,
        "status": str(record.status),
        "priority": record.priority,
        "owner": record.owner,
        "args": record.args,
        "kwargs": record.kwargs,
        "progress": record.progress,
        "progress_current": record.progress_current,
        "progress_total": record.progress_total,
        "message": record.message,
        "messages": [{"timestamp": iso(m["at"]), "message": m["message"]} for m in record.messages],
        "result": record.result,
        "error": error,
        "attempts": record.attempts,
        "max_attempts": record.max_attempts,
        "created_at": iso(record.created_at),
        "run_at": iso(record.run_at),
        "started_at": iso(record.started_at),
        "completed_at": iso(record.completed_at),
        "duration": record.duration,
        "waiting_reason": waiting_reason,
    }


def schedule_json(record: ScheduleRecord) -> dict[str, Any]:
    """A schedule as the HTTP API shows it (with the id its caller knows it by: see
    ScheduleService)."""
    return {
        "id": record.id,
        "task": record.task,
        "args": record.args,
        "kwargs": record.kwargs,
        "cron": record.cron,
        "interval": record.interval,
        "timezone": record.timezone,
        "paused": record.paused,
        "next_run_at": iso(record.next_run_at),
        "last_run_at": iso(record.last_run_at),
        "queue": record.queue,
        "priority": record.priority,
        "owner": record.owner,
    }


def worker_json(w: WorkerInfo, visible: set[str] | None) -> dict[str, Any]:
    """A live worker. ``visible``: the ids of running jobs the caller may see (None:
    all); the counts are of every job it runs."""
    running = w.running if visible is None else [j for j in w.running if j in visible]
    stuck = w.stuck if visible is None else [j for j in w.stuck if j in visible]
    return {
        "id": w.id,
        "host": w.host,
        "pid": w.pid,
        "queues": w.queues,
        "concurrency": w.concurrency,
        "running": running,
        "running_count": len(w.running),
        "stuck": stuck,  # jobs that timed out while their threads still run: each holds a thread
        "stuck_count": len(w.stuck),
        "tasks": w.tasks,
        "started_at": iso(w.started_at),
        "last_heartbeat": iso(w.heartbeat_at),
    }


def event_json(e: Event) -> dict[str, Any]:
    """The JSON of an event on every stream: ``{seq, job_id, type, data, at}``. A
    progress event carries its percent, a message event its ISO timestamp."""
    data = dict(e.data)
    if e.type == "progress":
        data["progress"] = percent(data.get("current"), data.get("total"))
    elif e.type == "message" and "at" in data:
        data = {"timestamp": iso(data["at"]), "message": data.get("message")}
    return {"seq": e.seq, "job_id": e.job_id, "type": e.type, "data": data, "at": iso(e.at)}


def state_json(record: JobRecord, seq: int, *, include_traceback: bool) -> dict[str, Any]:
    """The "state" item of a job's stream: the whole job as it stands at event ``seq``
    (a stream starts with it, and ends with it once the job has ended)."""
    return {
        "seq": seq,
        "job_id": record.id,
        "type": "state",
        "data": job_json(record, include_traceback=include_traceback),
        "at": iso(time.time()),
    }
