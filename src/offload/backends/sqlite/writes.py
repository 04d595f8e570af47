"""The multi-statement steps that run inside one write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from ... import serialization
from ...errors import BackendError
from ...records import RUNS_KEPT, TERMINAL, Inserted, JobRecord, JobStatus, NewJob, Outcome, Progress, PruneRule
from .. import rows as shared
from . import queries as q
from . import rows

RUN_ENDINGS = TERMINAL | {JobStatus.RETRYING}

# (job id, status, attempts, error, owner): what a status event says
StatusRow = tuple[str, str, int, str | None, str | None]


# What the status event of a new job says, by its status
NEW_EVENT = {status: f'{{"status":"{status}","attempts":0}}' for status in ("queued", "scheduled")}
EVENT_NULLABLE = (3,)  # the owner of a status event row (see insert_rows)
ANY_EVENT_NULLABLE = (4,)  # the owner of a (job id, type, data, at, owner) event row


def status_events(c: sqlite3.Connection, changed: Sequence[StatusRow], now: float) -> None:
    """One "status" event per changed job, in one batch."""
    data = [(i, serialization.dumps({"status": st, "attempts": n, "error": e}), now, o) for i, st, n, e, o in changed]
    insert_rows(c, q.status_event_insert, data, nullable=EVENT_NULLABLE)


def insert_rows(
    c: sqlite3.Connection,
    sql: Callable[[int, tuple[int, ...]], str],
    params: Sequence[tuple[Any, ...]],
    *,
    nullable: tuple[int, ...] = (),
) -> None:
    """Insert rows in multi-row statements: executemany runs the whole statement again
    for each row (its cursors on the table and on every index, its statement journal),
    which costs more than the row itself. At most q.INSERT_ROWS rows a statement, then
    powers of two: preparing costs ~9 µs a row, so a connection prepares at most seven
    sizes of each statement, and SQLite's statement cache keeps them.

    A `nullable` column that is None in every row is written NULL in the statement, not
    bound: the driver looks for an adapter for every None it binds (about 3,300
    instructions each, as much as binding the rest of a job's row)."""
    if not params:
        return
    null, params = _without_nulls(params, nullable)
    i, n = 0, len(params)
    while i < n:
        size = min(q.INSERT_ROWS, 1 << ((n - i).bit_length() - 1))
        c.execute(sql(size, null), list(chain.from_iterable(params[i : i + size])))
        i += size


def _without_nulls(
    params: Sequence[tuple[Any, ...]], nullable: tuple[int, ...]
) -> tuple[tuple[int, ...], Sequence[tuple[Any, ...]]]:
    """The `nullable` columns that are None in every row (to be written NULL in the
    statement), and the rows without them."""
    null = tuple(k for k in nullable if params[0][k] is None and all(row[k] is None for row in params))
    if not null:
        return null, params
    bound = [k for k in range(len(params[0])) if k not in null]  # two or more: itemgetter gives tuples
    return null, list(map(itemgetter(*bound), params))


def insert(c: sqlite3.Connection, jobs: Sequence[NewJob], now: float) -> tuple[list[Inserted], bool]:
    """Store new jobs and their status events; also say whether any of them is queued
    (ready now: the workers' bells should ring)."""
    params = [rows.insert_params(j, now) for j in jobs]
    if not any(j.unique_key or j.idempotency_key for j in jobs):
        insert_rows(c, q.job_insert, params, nullable=rows.NULLABLE)  # random ids: no conflict is possible
        result = [Inserted(j.id, True) for j in jobs]
        made = params
    else:
        result = [_insert_one(c, j, row) for j, row in zip(jobs, params, strict=True)]
        made = [p for p, r in zip(params, result, strict=True) if r.created]
    ID, STATUS, OWNER = rows.ID, rows.STATUS, rows.OWNER
    events = [(p[ID], NEW_EVENT[p[STATUS]], now, p[OWNER]) for p in made]
    insert_rows(c, q.status_event_insert, events, nullable=EVENT_NULLABLE)
    return result, any(p[STATUS] == "queued" for p in params)


def _insert_one(c: sqlite3.Connection, job: NewJob, row: tuple[Any, ...]) -> Inserted:
    if c.execute(q.JOB_INSERT_KEYED, row).rowcount == 1:
        return Inserted(job.id, True)
    holder = None
    if job.idempotency_key:
        holder = c.execute(q.JOB_BY_IDEMPOTENCY_KEY, {"idempotency_key": job.idempotency_key}).fetchone()
    if holder is None and job.unique_key:
        holder = c.execute(q.JOB_BY_UNIQUE_KEY, {"unique_key": job.unique_key}).fetchone()
    if holder is None:  # the conflict was on the id itself
        raise BackendError(f"job id {job.id} is already taken")
    return Inserted(holder[0], False)


def claim(
    c: sqlite3.Connection,
    queues: Sequence[str],
    limit: int,
    worker_id: str,
    lease_s: float,
    now: float,
    tasks: Sequence[str] | None = None,
) -> list[JobRecord]:
    """Up to `limit` jobs of `queues` (in that order), of `tasks` only unless None."""
    claimed: list[JobRecord] = []
    sql = q.JOB_CLAIM if tasks is None else q.JOB_CLAIM_TASKS
    tasks_json = None if tasks is None else serialization.dumps(list(tasks))
    for queue in queues:
        if len(claimed) >= limit:
            break
        params = {
            "queue": queue,
            "limit": limit - len(claimed),
            "worker_id": worker_id,
            "expires": now + lease_s,
            "now": now,
            "tasks": tasks_json,
        }
        found = [shared.job_record(r) for r in c.execute(sql, params)]
        found.sort(key=lambda j: (-j.priority, j.run_at, j.id))
        claimed.extend(found)
    status_events(c, [(j.id, "running", j.attempts, j.error, j.owner) for j in claimed], now)
    return claimed


def finish(c: sqlite3.Connection, outcomes: Sequence[Outcome], now: float) -> set[str]:
    """Write the outcomes of runs still held under their lease, in a few statements;
    return the ids written. Final progress goes out before the final status."""
    ending = [o for o in outcomes if o.status in RUN_ENDINGS]  # else refused like a stale lease
    written: list[Any] = []
    for i in range(0, len(ending), q.FINISH_BATCH):
        null, chunk = _without_nulls([_finish_row(o) for o in ending[i : i + q.FINISH_BATCH]], q.FINISH_NULLABLE)
        params = [*chain.from_iterable(chunk), now]
        written += c.execute(q.job_finish(len(chunk), null), params).fetchall()
    order = {o.job_id: n for n, o in enumerate(ending)}
    written.sort(key=lambda r: order[r[0]])  # events in the order the outcomes came
    progress = {o.job_id: o.progress for o in ending if o.progress is not None}
    if progress:  # the written runs' final progress events, before their status events
        events: list[tuple[Any, ...]] = []
        for r in written:
            if (p := progress.get(r[0])) is not None:
                events += progress_event_rows(p, r[1], now)
        insert_rows(c, q.event_insert, events, nullable=ANY_EVENT_NULLABLE)
    stats = StatsBatch(now)
    for r in written:
        stats.add(r[2], r[4], None if r[3] is None else now - r[3])
    status_events(c, [(r[0], r[4], r[5], r[6], r[1]) for r in written], now)
    stats.write(c)
    return {r[0] for r in written}


def _finish_row(o: Outcome) -> tuple[Any, ...]:
    """An outcome's parameters in the order of q.job_finish."""
    head = (o.job_id, o.token, str(o.status), o.result_json, o.error, o.traceback, o.run_at)
    if o.progress is None:
        return (*head, None, None, None, None)
    p = rows.progress_params(o.progress)
    return (*head, p["current"], p["total"], p["message"], p["messages"])


class StatsBatch:
    """Adds up finished runs per task so a batch updates each task's counters once."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, task: str, status: str, duration: float | None) -> None:
        if status not in ("completed", "failed", "cancelled"):
            return
        row = self.rows.setdefault(
            task, {"task": task, "succeeded": 0, "failed": 0, "cancelled": 0, "duration": 0.0, "now": self.now}
        )
        row["succeeded" if status == "completed" else status] += 1
        if status != "cancelled" and duration is not None:
            row["duration"] += duration
        row["last_status"] = status

    def write(self, c: sqlite3.Connection) -> None:
        if self.rows:
            c.executemany(q.STATS_ADD, list(self.rows.values()))


def progress_events(c: sqlite3.Connection, p: Progress, owner: str | None, now: float) -> None:
    insert_rows(c, q.event_insert, progress_event_rows(p, owner, now), nullable=ANY_EVENT_NULLABLE)


def progress_event_rows(p: Progress, owner: str | None, now: float) -> list[tuple[Any, ...]]:
    """(job id, type, data, at, owner): the new messages, oldest first, then one
    "progress" event with the latest state."""
    events: list[tuple[Any, ...]] = [
        (p.job_id, "message", serialization.dumps(m), m["at"], owner) for m in p.new_messages
    ]
    data = {"current": p.current, "total": p.total, "message": p.message}
    events.append((p.job_id, "progress", serialization.dumps(data), now, owner))
    return events


def prune_statements(rule: PruneRule, batch: int) -> list[tuple[str, dict[str, Any]]]:
    where = "status = :status"
    params: dict[str, Any] = {"status": str(rule.status), "before": rule.before, "batch": batch}
    # A rule for one task reads jobs_ended. Without a task, jobs_status: it holds a
    # status's jobs oldest first, so the expired ones come first (the planner would pick
    # jobs_ended, whose condition `status = :status` implies: 1.5-2x slower a batch).
    source = "jobs INDEXED BY jobs_status"
    if rule.task is not None:
        where += " AND task = :task"
        params["task"] = rule.task
        source = "jobs"
    for i, name in enumerate(rule.exclude_tasks):
        where += f" AND task != :x{i}"
        params[f"x{i}"] = name
    statements = [
        (
            f"DELETE FROM jobs WHERE id IN (SELECT id FROM {source} WHERE {where} AND completed_at < :before"
            f" LIMIT :batch) {q.DELETED_RUN}",
            params,
        )
    ]
    if rule.keep is not None:
        statements.append(
            (
                f"DELETE FROM jobs WHERE id IN (SELECT id FROM {source} WHERE {where}"
                f" ORDER BY completed_at DESC LIMIT :batch OFFSET :keep) {q.DELETED_RUN}",
                {**params, "keep": rule.keep},
            )
        )
    return statements


def archive(c: sqlite3.Connection, runs: Sequence[tuple[Any, ...]]) -> None:
    """Keep the runs of deleted jobs (rows of q.DELETED_RUN) in their tasks' archive,
    then trim each task's archive to what Backend.job_prune promises. Of the deleted
    runs, only those that can survive the trim are written."""
    by_task: dict[str, list[tuple[Any, ...]]] = {}
    for run in runs:
        by_task.setdefault(run[1], []).append(run)
    for task, group in by_task.items():
        group.sort(key=lambda r: (r[6], r[0]), reverse=True)  # newest first
        failed = [r for r in group if r[4] == "failed"][:RUNS_KEPT]
        c.executemany(q.RUN_ARCHIVE, group[:RUNS_KEPT] + failed)
        c.execute(q.RUN_TRIM, {"task": task, "keep": RUNS_KEPT})
