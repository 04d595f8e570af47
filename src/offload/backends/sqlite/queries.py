"""Every SQL statement of the SQLite store, by name. Named parameters, except where a
statement runs once per row of a batch."""

from __future__ import annotations

import functools

from ..rows import (
    ARCHIVED_RUN_COLUMNS,
    EVENT_COLUMNS,
    JOB_COLUMNS,
    RUN_COLUMNS,
    SCHEDULE_COLUMNS,
    STATS_COLUMNS,
    TOKEN_COLUMNS,
    WORKER_COLUMNS,
    qualified,
)

# The conditions of the partial indexes (schema step 5), word for word: SQLite uses a
# partial index only for a query whose WHERE repeats its condition.
WAITING = "(status = 'scheduled' OR status = 'queued' OR status = 'retrying')"
LIVE = "(status = 'scheduled' OR status = 'queued' OR status = 'retrying' OR status = 'running')"
ENDED = "(status = 'completed' OR status = 'failed' OR status = 'cancelled')"

# -- health -----------------------------------------------------------------------

# The write probe: SQLite writes nothing for an UPDATE that sets a column to the value it
# has, so the newest version is negated and restored, in one transaction.
PING_WRITE = (
    "UPDATE schema_version SET version = -version WHERE version = (SELECT max(version) FROM schema_version)",
    "UPDATE schema_version SET version = -version WHERE version < 0",
)

# -- enqueue ----------------------------------------------------------------------

# Rows a multi-row INSERT takes at most (see writes.insert_rows): 960 parameters, under
# the 999 of older SQLite builds.
INSERT_ROWS = 64


def _values(slots: tuple[str, ...], null: tuple[int, ...]) -> str:
    """One row of a VALUES list: each slot a literal, or "?" for the next parameter; the
    parameters numbered in `null` are written NULL instead (see writes.insert_rows)."""
    out, k = [], 0
    for slot in slots:
        if slot == "?":
            slot = "NULL" if k in null else "?"
            k += 1
        out.append(slot)
    return "(" + ", ".join(out) + ")"


# Positional parameters (rows.insert_params): binding by name costs ~2 µs a row.
_JOB_INSERT = """
INSERT INTO jobs (id, task, queue, status, priority, owner, args, kwargs, max_attempts,
                  timeout, backoff, unique_key, idempotency_key, created_at, run_at)
VALUES """
_JOB_SLOTS = ("?",) * 15


@functools.lru_cache(maxsize=32)
def job_insert(rows: int, null: tuple[int, ...] = ()) -> str:
    """Plain insert of `rows` jobs: a batch without keys; an id that is taken fails the
    whole batch."""
    return _JOB_INSERT + ", ".join([_values(_JOB_SLOTS, null)] * rows)


# An idempotency_key or a unique_key held by a live job makes the insert a no-op.
JOB_INSERT_KEYED = _JOB_INSERT + _values(_JOB_SLOTS, ()) + " ON CONFLICT DO NOTHING"

JOB_BY_IDEMPOTENCY_KEY = "SELECT id FROM jobs WHERE idempotency_key = :idempotency_key"

JOB_BY_UNIQUE_KEY = f"SELECT id FROM jobs WHERE unique_key = :unique_key AND {LIVE}"

# -- reads ----------------------------------------------------------------------------

JOB_GET = f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = :id"

JOB_STATUS = "SELECT status FROM jobs WHERE id = :id"

# Ids that start with a prefix: every 32-hex-digit id between the prefix padded with 0s
# and with fs, read along the primary key in its order.
JOB_IDS_BETWEEN = "SELECT id FROM jobs WHERE id BETWEEN :low AND :high ORDER BY id LIMIT :limit"

JOB_COUNTS = "SELECT queue, status, count(*) FROM jobs GROUP BY queue, status"

# The claim index holds queue and task of every waiting job, and nothing else.
JOB_WAITING_TASKS = f"SELECT DISTINCT queue, task FROM jobs INDEXED BY jobs_claim WHERE {WAITING}"

# -- the worker's writes --------------------------------------------------------------

PAUSED_QUEUES = "SELECT name FROM queues WHERE paused = 1"

# One queue at a time, so that the claim index serves both the filter and the order.
# A paused queue gives nothing (the check runs once per statement, not per row).
# JOB_CLAIM_TASKS takes only jobs of the tasks named in :tasks (a JSON list): the claim
# index holds each job's task, so the check costs no read of the job's row.
_JOB_CLAIM = f"""
UPDATE jobs
SET status = 'running', attempts = attempts + 1, worker_id = :worker_id,
    lease_token = lower(hex(randomblob(8))), lease_expires_at = :expires,
    started_at = :now, cancel_requested = 0
WHERE id IN (
    SELECT id FROM jobs INDEXED BY jobs_claim
    WHERE queue = :queue AND {WAITING} AND run_at <= :now {{tasks}}
      AND NOT EXISTS (SELECT 1 FROM queues WHERE name = :queue AND paused = 1)
    ORDER BY priority DESC, run_at, id
    LIMIT :limit
)
RETURNING {JOB_COLUMNS}
"""
JOB_CLAIM = _JOB_CLAIM.replace("{tasks}", "")
JOB_CLAIM_TASKS = _JOB_CLAIM.replace("{tasks}", "AND task IN (SELECT value FROM json_each(:tasks))")

JOB_HEARTBEAT = """
UPDATE jobs SET lease_expires_at = :expires
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING id, cancel_requested
"""

JOB_PROGRESS = """
UPDATE jobs
SET progress_current = :current, progress_total = :total,
    message = coalesce(:message, message), messages = coalesce(:messages, messages)
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING id, owner
"""

# Finish a batch of runs in one statement: one row of values per outcome, each
# (id, token, status, result, error, traceback, run_at, current, total, message,
# messages), then `now`. A statement per outcome costs twice as much: RETURNING has a
# fixed cost per statement. Only runs still held under their lease are written. A run
# that returned (or asked for a retry) after somebody asked to cancel its job ends
# cancelled; what it returned is kept as the result.
FINISH_COLUMNS = 11
FINISH_NULLABLE = tuple(range(3, FINISH_COLUMNS))  # result to messages: often None for a whole turn
FINISH_BATCH = 500  # rows per statement: 5,501 parameters, under SQLite's 32,766


# An outcome that a cancel request turns into "cancelled" (see job_finish)
CANCELS = "(jobs.cancel_requested AND v.status IN ('completed', 'retrying'))"


@functools.lru_cache(maxsize=64)
def job_finish(rows: int, null: tuple[int, ...] = ()) -> str:
    """`rows` outcomes; the columns numbered in `null` are NULL in every row (see
    writes.insert_rows)."""
    values = ", ".join([_values(("?",) * FINISH_COLUMNS, null)] * rows)
    return f"""
WITH v (id, token, status, result, error, traceback, run_at, current, total, message, messages)
    AS (VALUES {values})
UPDATE jobs
SET status = CASE WHEN {CANCELS} THEN 'cancelled' ELSE v.status END,
    result = v.result, traceback = v.traceback,
    error = CASE WHEN {CANCELS} THEN 'cancelled on request' ELSE v.error END,
    completed_at = CASE WHEN v.status IN ('completed', 'failed', 'cancelled') OR {CANCELS} THEN ? END,
    run_at = coalesce(v.run_at, jobs.run_at),
    progress_current = coalesce(v.current, progress_current),
    progress_total = coalesce(v.total, progress_total),
    message = coalesce(v.message, jobs.message), messages = coalesce(v.messages, jobs.messages),
    worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
FROM v
WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.status = 'running'
RETURNING jobs.id, owner, task, started_at, jobs.status, attempts, jobs.error
"""


# A job somebody asked to cancel is not put back: the request is honoured now.
JOB_RELEASE = """
UPDATE jobs
SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
    attempts = CASE WHEN cancel_requested THEN attempts ELSE max(attempts - 1, 0) END,
    error = CASE WHEN cancel_requested THEN 'cancelled on request' ELSE error END,
    completed_at = CASE WHEN cancel_requested THEN :now END,
    started_at = CASE WHEN cancel_requested THEN started_at END,
    worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND lease_token = :token AND status = 'running'
RETURNING id, status, attempts, error, owner
"""

# The UPDATE itself decides which expired jobs it takes, so two workers recovering
# at once never both take one job. A job queued again keeps its run_at: it was first
# in line once already, and goes before the jobs that came after it.
JOB_RECOVER = f"""
UPDATE jobs
SET status = CASE WHEN cancel_requested THEN 'cancelled'
                  WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
    error = CASE WHEN cancel_requested THEN 'cancelled on request'
                 ELSE 'worker lost: its lease expired (worker ' || coalesce(worker_id, '?')
                      || ' stopped heartbeating)' END,
    completed_at = CASE WHEN attempts < max_attempts AND NOT cancel_requested THEN NULL ELSE :now END,
    worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
WHERE id IN (
    SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < :now LIMIT :limit
)
RETURNING {JOB_COLUMNS}
"""

# -- actions from users -----------------------------------------------------------------

JOB_CANCEL_WAITING = """
UPDATE jobs SET status = 'cancelled', completed_at = :now
WHERE id = :id AND status IN ('scheduled', 'queued', 'retrying')
RETURNING id, status, attempts, error, owner
"""

JOB_CANCEL_RUNNING = """
UPDATE jobs SET cancel_requested = 1 WHERE id = :id AND status = 'running'
"""

# Another live job holds this job's unique_key (a NULL key matches nothing)
JOB_KEY_TAKEN = f"""
SELECT 1 FROM jobs
WHERE unique_key = (SELECT unique_key FROM jobs WHERE id = :id) AND id != :id AND {LIVE}
"""

JOB_RETRY = """
UPDATE jobs
SET status = 'queued', attempts = 0, error = NULL, traceback = NULL, result = NULL,
    started_at = NULL, completed_at = NULL, run_at = :now, cancel_requested = 0,
    progress_current = NULL, progress_total = NULL, message = NULL
WHERE id = :id AND status IN ('failed', 'cancelled')
RETURNING id, status, attempts, error, owner
"""

# What a deleted job leaves in its task's archive of runs (RUN_ARCHIVE), in that order
DELETED_RUN = (
    "RETURNING id, task, queue, owner, status, started_at, coalesce(completed_at, created_at), attempts, error"
)

JOB_DELETE = f"""
DELETE FROM jobs WHERE id = :id AND status IN ('completed', 'failed', 'cancelled')
{DELETED_RUN}
"""

# -- events ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def status_event_insert(rows: int, null: tuple[int, ...] = ()) -> str:
    """`rows` status events, each (job_id, data, at, owner)."""
    return _events_insert(("?", "'status'", "?", "?", "?"), rows, null)


@functools.lru_cache(maxsize=32)
def event_insert(rows: int, null: tuple[int, ...] = ()) -> str:
    """`rows` events, each (job_id, type, data, at, owner)."""
    return _events_insert(("?", "?", "?", "?", "?"), rows, null)


def _events_insert(slots: tuple[str, ...], rows: int, null: tuple[int, ...]) -> str:
    return "INSERT INTO events (job_id, type, data, at, owner) VALUES " + ", ".join([_values(slots, null)] * rows)


# job_id '' is the mark of schema step 6, not an event.
EVENT_LIST = f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > :after AND job_id <> ''"

# Seqs follow commit order, and so time: everything before the first event at or after
# `before` goes, but never the newest event: SQLite gives a new row max(seq) + 1, so the
# newest holds the sequence's high-water mark. The scan stops there, so it reads what
# it deletes and little more.
EVENT_PRUNE = """
DELETE FROM events WHERE seq < coalesce(
    (SELECT seq FROM events WHERE at >= :before ORDER BY seq LIMIT 1),
    (SELECT max(seq) FROM events))
"""

EVENT_LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM events"

# -- queues and workers -----------------------------------------------------------------

QUEUE_PAUSE = """
INSERT INTO queues (name, paused) VALUES (:name, :paused)
ON CONFLICT (name) DO UPDATE SET paused = excluded.paused
"""

WORKER_BEAT = """
INSERT INTO workers (id, host, pid, queues, concurrency, started_at, heartbeat_at, running, tasks, stuck)
VALUES (:id, :host, :pid, :queues, :concurrency, :started_at, :heartbeat_at, :running, :tasks, :stuck)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, running = excluded.running,
    tasks = excluded.tasks, stuck = excluded.stuck
"""

WORKER_REMOVE = "DELETE FROM workers WHERE id = :id"

WORKER_LIST = f"""
SELECT {WORKER_COLUMNS}
FROM workers WHERE heartbeat_at >= :alive_after ORDER BY started_at
"""

WORKER_PRUNE = "DELETE FROM workers WHERE heartbeat_at < :before"

# -- API tokens -----------------------------------------------------------------------


TOKEN_INSERT = """
INSERT INTO tokens (id, user, hash, admin, created_at) VALUES (:id, :user, :hash, :admin, :created_at)
"""

TOKEN_BY_HASH = f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = :hash"

# Always one row: the token's columns, then the job's, NULL where nothing matched
TOKEN_AND_JOB_GET = f"""
SELECT {qualified(TOKEN_COLUMNS, "tk")}, {qualified(JOB_COLUMNS, "j")}
FROM (SELECT 1) AS one
LEFT JOIN tokens AS tk ON tk.hash = :hash
LEFT JOIN jobs AS j ON j.id = :id
"""

TOKEN_LIST = f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"

TOKEN_REVOKE = "UPDATE tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL"

# -- schedules and statistics ------------------------------------------------------------


SCHEDULE_SAVE = f"""
INSERT OR REPLACE INTO schedules ({SCHEDULE_COLUMNS})
VALUES (:id, :task, :args, :kwargs, :cron, :interval, :timezone, :paused, :next_run_at, :last_run_at,
        :queue, :priority, :owner, :created_at, :fingerprint)
"""

SCHEDULE_GET = f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = :id"

SCHEDULE_LIST = f"SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id"

SCHEDULE_DELETE = "DELETE FROM schedules WHERE id = :id RETURNING fingerprint"

# A schedule declared in code that was deleted: its declaration's fingerprint, so that
# the same declaration does not make it again (scheduler.Schedules.sync_code)
TOMBSTONE_SAVE = """
INSERT OR REPLACE INTO schedule_tombstones (id, fingerprint, deleted_at) VALUES (:id, :fingerprint, :now)
"""

TOMBSTONE_GET = "SELECT fingerprint FROM schedule_tombstones WHERE id = :id"

TOMBSTONE_DELETE = "DELETE FROM schedule_tombstones WHERE id = :id"

SCHEDULE_DUE = f"""
SELECT {SCHEDULE_COLUMNS} FROM schedules
WHERE paused = 0 AND next_run_at <= :now ORDER BY next_run_at LIMIT :limit
"""

SCHEDULE_ADVANCE = """
UPDATE schedules SET next_run_at = :next_run_at, last_run_at = :last_run_at
WHERE id = :id AND next_run_at = :expected_next
"""

# One row per task; a batch of outcomes adds to it once per task.
STATS_ADD = """
INSERT INTO task_stats (task, succeeded, failed, cancelled, total_duration, last_run_at, last_status)
VALUES (:task, :succeeded, :failed, :cancelled, :duration, :now, :last_status)
ON CONFLICT (task) DO UPDATE SET
    succeeded = succeeded + excluded.succeeded,
    failed = failed + excluded.failed,
    cancelled = cancelled + excluded.cancelled,
    total_duration = total_duration + excluded.total_duration,
    last_run_at = excluded.last_run_at,
    last_status = excluded.last_status
"""

STATS_LIST = f"""
SELECT {STATS_COLUMNS}
FROM task_stats ORDER BY task
"""

# A task's statistics count from its last clear (stats_clear): runs that ended then
# or before are left out, whether their job is still in the store or archived.
_SINCE_CLEAR = "completed_at > coalesce((SELECT cleared_at FROM task_stats AS s WHERE s.task = %s.task), -1)"
_JOB_SINCE_CLEAR, _RUN_SINCE_CLEAR = _SINCE_CLEAR.replace("%s", "j"), _SINCE_CLEAR.replace("%s", "r")

# Finished runs of a task: its ended jobs and its archived runs, each side cut to the
# limit before the two are merged.
JOB_HISTORY = f"""
SELECT * FROM (
    SELECT * FROM (
        SELECT {RUN_COLUMNS} FROM jobs AS j
        WHERE task = :task AND {ENDED} AND {_JOB_SINCE_CLEAR}
        ORDER BY completed_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT {ARCHIVED_RUN_COLUMNS} FROM task_runs AS r
        WHERE task = :task AND {_RUN_SINCE_CLEAR}
        ORDER BY completed_at DESC LIMIT :limit)
)
ORDER BY completed_at DESC, id DESC LIMIT :limit
"""

JOB_FAILURES = f"""
SELECT * FROM (
    SELECT * FROM (
        SELECT {RUN_COLUMNS} FROM jobs AS j
        WHERE status = 'failed' AND completed_at >= :since AND (:owner IS NULL OR owner = :owner)
          AND {_JOB_SINCE_CLEAR}
        ORDER BY completed_at DESC LIMIT :limit)
    UNION ALL
    SELECT * FROM (
        SELECT {ARCHIVED_RUN_COLUMNS} FROM task_runs AS r
        WHERE status = 'failed' AND completed_at >= :since AND (:owner IS NULL OR owner = :owner)
          AND {_RUN_SINCE_CLEAR}
        ORDER BY completed_at DESC LIMIT :limit)
)
ORDER BY completed_at DESC, id DESC LIMIT :limit
"""

# Ended jobs per bucket and status. jobs_ended leads with (status, task), so the count
# names every task: their names come from a skip scan of jobs_task (one probe per
# distinct task), and the count then reads only the index entries in the time range
# instead of every ended job's.
JOB_FINISHED_COUNTS = f"""
WITH RECURSIVE tasks(task) AS (
    SELECT min(task) FROM jobs
    UNION ALL
    SELECT (SELECT min(task) FROM jobs WHERE task > tasks.task) FROM tasks WHERE tasks.task IS NOT NULL
)
SELECT CAST(completed_at / :bucket AS INTEGER) AS k, status, count(*) FROM jobs
WHERE {ENDED} AND status IN ('completed', 'failed', 'cancelled')
  AND task IN (SELECT task FROM tasks) AND completed_at >= :since
GROUP BY k, status ORDER BY k, status
"""

# -- the archive of runs (see Backend.job_prune) ------------------------------------------

RUN_ARCHIVE = f"INSERT OR IGNORE INTO task_runs ({ARCHIVED_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

# Keep a task's newest :keep runs, and its newest :keep failures besides.
RUN_TRIM = """
DELETE FROM task_runs
WHERE task = :task
  AND job_id NOT IN (SELECT job_id FROM task_runs WHERE task = :task
                     ORDER BY completed_at DESC, job_id DESC LIMIT :keep)
  AND job_id NOT IN (SELECT job_id FROM task_runs WHERE task = :task AND status = 'failed'
                     ORDER BY completed_at DESC, job_id DESC LIMIT :keep)
"""

# Clearing statistics: the counters start again from zero, and cleared_at hides the
# runs that ended before (see _SINCE_CLEAR). For every task: each one with counters or
# ended jobs.
_STATS_RESET = """
ON CONFLICT (task) DO UPDATE SET succeeded = 0, failed = 0, cancelled = 0, total_duration = 0,
    last_run_at = NULL, last_status = NULL, cleared_at = excluded.cleared_at
"""

STATS_CLEAR_TASK = (
    """
INSERT INTO task_stats (task, succeeded, failed, cancelled, total_duration, cleared_at)
VALUES (:task, 0, 0, 0, 0, :now)"""
    + _STATS_RESET
)

STATS_CLEAR_ALL = (
    f"""
INSERT INTO task_stats (task, succeeded, failed, cancelled, total_duration, cleared_at)
SELECT task, 0, 0, 0, 0, :now FROM (
    SELECT task FROM task_stats UNION SELECT task FROM jobs WHERE {ENDED}
) WHERE true"""
    + _STATS_RESET
)

RUNS_CLEAR_TASK = "DELETE FROM task_runs WHERE task = :task"

RUNS_CLEAR_ALL = "DELETE FROM task_runs"
