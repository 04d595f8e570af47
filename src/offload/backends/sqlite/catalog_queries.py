"""The SQL statements of the SQLite store's smaller tables, by name: events, queues,
workers, schedules, task statistics, the archive of runs and API tokens (the jobs' are
in queries.py). Named parameters, except where a statement runs once per row."""

from __future__ import annotations

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
from .schema import ENDED

# -- events ----------------------------------------------------------------------------

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

PAUSED_QUEUES = "SELECT name FROM queues WHERE paused = 1"

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

# What a deleted job leaves in its task's archive of runs (RUN_ARCHIVE), in that order
DELETED_RUN = (
    "RETURNING id, task, queue, owner, status, started_at, coalesce(completed_at, created_at), attempts, error"
)

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
