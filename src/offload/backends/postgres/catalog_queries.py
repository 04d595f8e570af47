"""The SQL statements of the PostgreSQL store's smaller tables, by name: events,
queues, workers, schedules, task statistics and API tokens. Placeholders as in
queries.py, which renders these too (``Queries``)."""

from __future__ import annotations

from ..rows import ARCHIVED_RUN_COLUMNS, JOB_COLUMNS, RUN_COLUMNS, qualified

# -- events ----------------------------------------------------------------------------

# Sequence numbers are handed out before commit, so a transaction that is still open
# may yet commit a smaller seq than one a reader already saw. Events are therefore
# shown only once every transaction older than theirs has ended (xid below the
# snapshot's xmin), or after 5 s, so that one long transaction elsewhere in the
# cluster delays the stream by seconds at most.
EVENT_LIST = """
SELECT seq, job_id, type, data::text, at, owner FROM {s}.events
WHERE seq > %(after)s AND (%(job_id)s::text IS NULL OR job_id = %(job_id)s)
  AND (xid < pg_snapshot_xmin(pg_current_snapshot())
       OR at < extract(epoch FROM clock_timestamp())::double precision - 5)
ORDER BY seq
LIMIT %(limit)s
"""

# The newest event a reader may be shown (the rule of EVENT_LIST), so that a stream
# starting from it still gets the events of transactions that commit after it started.
EVENT_LAST_SEQ = """
SELECT coalesce((
    SELECT seq FROM {s}.events
    WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
       OR at < extract(epoch FROM clock_timestamp())::double precision - 5
    ORDER BY seq DESC LIMIT 1
), 0)
"""

# Seqs follow time (an event's seq is drawn when its statement writes it, its time is
# that statement's), up to the few milliseconds by which concurrent transactions
# interleave: everything before the first event at or after `before` goes, but never
# the newest event (the rule of Backend.event_prune). The scan walks the primary key
# from the oldest event and stops there, so it reads what it deletes and little more.
EVENT_PRUNE = """
DELETE FROM {s}.events WHERE seq < coalesce(
    (SELECT seq FROM {s}.events WHERE at >= %(before)s ORDER BY seq LIMIT 1),
    (SELECT max(seq) FROM {s}.events))
"""

# -- queues and workers -----------------------------------------------------------------

# Workers LISTEN on the store's channel. The payload is a queue name, never job data
# (NOTIFY payloads are limited to 8000 bytes); Postgres delivers it on commit, folds
# duplicates within one transaction, and drops it on rollback.
NOTIFY = "SELECT pg_notify(%(channel)s, q) FROM unnest(%(queues)s::text[]) AS q"

PAUSED_QUEUES = "SELECT name FROM {s}.queues WHERE paused"

QUEUE_PAUSE = """
INSERT INTO {s}.queues (name, paused) VALUES (%(name)s, %(paused)s)
ON CONFLICT (name) DO UPDATE SET paused = excluded.paused
"""

WORKER_BEAT = """
INSERT INTO {s}.workers (id, host, pid, queues, concurrency, started_at, heartbeat_at, running, tasks, stuck)
VALUES (%(id)s, %(host)s, %(pid)s, %(queues)s, %(concurrency)s, %(started_at)s, %(heartbeat_at)s, %(running)s,
        %(tasks)s, %(stuck)s)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, running = excluded.running,
    tasks = excluded.tasks, stuck = excluded.stuck
"""

WORKER_REMOVE = "DELETE FROM {s}.workers WHERE id = %(id)s"

WORKER_PRUNE = "DELETE FROM {s}.workers WHERE heartbeat_at < %(before)s"

WORKER_LIST = """
SELECT id, host, pid, queues, concurrency, started_at, heartbeat_at, running, tasks, stuck
FROM {s}.workers WHERE heartbeat_at >= %(alive_after)s ORDER BY started_at
"""


# -- schedules and statistics -------------------------------------------------------------

SCHEDULE_COLUMNS = (
    "id, task, args, kwargs, cron, interval_s, timezone, paused, next_run_at, last_run_at,"
    " queue, priority, owner, created_at, fingerprint"
)

# A save makes the id live again: a tombstone of it goes in the same statement.
SCHEDULE_SAVE = (
    """
WITH untombed AS (DELETE FROM {s}.schedule_tombstones WHERE id = %(id)s)
INSERT INTO {s}.schedules ("""
    + SCHEDULE_COLUMNS
    + """)
VALUES (%(id)s, %(task)s, %(args)s, %(kwargs)s, %(cron)s, %(interval)s, %(timezone)s, %(paused)s,
        %(next_run_at)s, %(last_run_at)s, %(queue)s, %(priority)s, %(owner)s, %(created_at)s, %(fingerprint)s)
ON CONFLICT (id) DO UPDATE SET
    task = excluded.task, args = excluded.args, kwargs = excluded.kwargs, cron = excluded.cron,
    interval_s = excluded.interval_s, timezone = excluded.timezone, paused = excluded.paused,
    next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, queue = excluded.queue,
    priority = excluded.priority, owner = excluded.owner, created_at = excluded.created_at,
    fingerprint = excluded.fingerprint
"""
)

SCHEDULE_GET = "SELECT " + SCHEDULE_COLUMNS + " FROM {s}.schedules WHERE id = %(id)s"

SCHEDULE_LIST = "SELECT " + SCHEDULE_COLUMNS + " FROM {s}.schedules ORDER BY id"

# A schedule declared in code leaves its declaration's fingerprint behind, so that the
# same declaration does not make it again (scheduler.Schedules.sync_code).
SCHEDULE_DELETE = """
WITH gone AS (DELETE FROM {s}.schedules WHERE id = %(id)s RETURNING id, fingerprint),
tomb AS (
    INSERT INTO {s}.schedule_tombstones (id, fingerprint, deleted_at)
    SELECT id, fingerprint, {now} FROM gone WHERE fingerprint IS NOT NULL
    ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, deleted_at = excluded.deleted_at
)
SELECT count(*) FROM gone
"""

TOMBSTONE_GET = "SELECT fingerprint FROM {s}.schedule_tombstones WHERE id = %(id)s"

SCHEDULE_DUE = (
    """
SELECT """
    + SCHEDULE_COLUMNS
    + """ FROM {s}.schedules
WHERE NOT paused AND next_run_at <= {now} ORDER BY next_run_at LIMIT %(limit)s
"""
)

# Compare-and-set: of several schedulers that fired the same time, one moves it on.
SCHEDULE_ADVANCE = """
UPDATE {s}.schedules SET next_run_at = %(next_run_at)s, last_run_at = %(last_run_at)s
WHERE id = %(id)s AND next_run_at = %(expected_next)s
"""

# How a batch's counters (rows aliased st) add to a task's: here and in JOB_FINISH_MANY.
STATS_ON_CONFLICT = """
ON CONFLICT (task) DO UPDATE SET
    succeeded = st.succeeded + excluded.succeeded,
    failed = st.failed + excluded.failed,
    cancelled = st.cancelled + excluded.cancelled,
    total_duration = st.total_duration + excluded.total_duration,
    last_run_at = excluded.last_run_at,
    last_status = excluded.last_status
"""

# One row per task; a batch adds to each task once. Rows are locked in task order, so two
# transactions adding to the same tasks wait for each other instead of deadlocking.
STATS_ADD = (
    """
INSERT INTO {s}.task_stats AS st (task, succeeded, failed, cancelled, total_duration, last_run_at, last_status)
SELECT x.task, x.succeeded, x.failed, x.cancelled, x.duration, {now}, x.last_status
FROM unnest(%(tasks)s::text[], %(succeeded)s::integer[], %(failed)s::integer[], %(cancelled)s::integer[],
            %(durations)s::double precision[], %(last_status)s::text[])
     AS x(task, succeeded, failed, cancelled, duration, last_status)
ORDER BY x.task
"""
    + STATS_ON_CONFLICT
)

STATS_LIST = """
SELECT task, succeeded, failed, cancelled, total_duration, last_run_at, last_status
FROM {s}.task_stats ORDER BY task
"""

# A task's statistics count from its last clear (STATS_CLEAR): runs that ended then or
# before are left out, whether their job is still in the store or archived.
_SINCE_CLEAR = "completed_at > coalesce((SELECT cleared_at FROM {s}.task_stats AS st WHERE st.task = %s.task), -1)"
_JOB_SINCE_CLEAR, _RUN_SINCE_CLEAR = _SINCE_CLEAR.replace("%s", "j"), _SINCE_CLEAR.replace("%s", "r")

# Finished runs of a task: its ended jobs and its archived runs, each side cut to the
# limit before the two are merged.
JOB_HISTORY = f"""
SELECT * FROM (
    (SELECT {RUN_COLUMNS} FROM {{s}}.jobs AS j
     WHERE task = %(task)s AND status IN ('completed', 'failed', 'cancelled') AND {_JOB_SINCE_CLEAR}
     ORDER BY completed_at DESC LIMIT %(limit)s)
    UNION ALL
    (SELECT {ARCHIVED_RUN_COLUMNS} FROM {{s}}.task_runs AS r
     WHERE task = %(task)s AND {_RUN_SINCE_CLEAR}
     ORDER BY completed_at DESC LIMIT %(limit)s)
) AS runs
ORDER BY completed_at DESC, id DESC LIMIT %(limit)s
"""

JOB_FAILURES = f"""
SELECT * FROM (
    (SELECT {RUN_COLUMNS} FROM {{s}}.jobs AS j
     WHERE status = 'failed' AND completed_at >= %(since)s
       AND (%(owner)s::text IS NULL OR owner = %(owner)s::text) AND {_JOB_SINCE_CLEAR}
     ORDER BY completed_at DESC LIMIT %(limit)s)
    UNION ALL
    (SELECT {ARCHIVED_RUN_COLUMNS} FROM {{s}}.task_runs AS r
     WHERE status = 'failed' AND completed_at >= %(since)s
       AND (%(owner)s::text IS NULL OR owner = %(owner)s::text) AND {_RUN_SINCE_CLEAR}
     ORDER BY completed_at DESC LIMIT %(limit)s)
) AS runs
ORDER BY completed_at DESC, id DESC LIMIT %(limit)s
"""

# Clearing statistics (one task's, or every task's when %(task)s is NULL: each one with
# counters or ended jobs): the counters start again from zero, and cleared_at hides the
# runs that ended before (see _SINCE_CLEAR). Rows are locked in task order, as STATS_ADD.
STATS_CLEAR = """
INSERT INTO {s}.task_stats AS st (task, succeeded, failed, cancelled, total_duration, cleared_at)
SELECT t.task, 0, 0, 0, 0, {now}
FROM (SELECT task FROM {s}.task_stats WHERE %(task)s::text IS NULL
      UNION SELECT task FROM {s}.jobs
            WHERE %(task)s::text IS NULL AND status IN ('completed', 'failed', 'cancelled')
      UNION SELECT %(task)s::text WHERE %(task)s::text IS NOT NULL) AS t
ORDER BY t.task
ON CONFLICT (task) DO UPDATE SET succeeded = 0, failed = 0, cancelled = 0, total_duration = 0,
    last_run_at = NULL, last_status = NULL, cleared_at = excluded.cleared_at
"""

RUNS_CLEAR = "DELETE FROM {s}.task_runs WHERE %(task)s::text IS NULL OR task = %(task)s::text"

# -- the archive of runs (see Backend.job_prune) -------------------------------------------

# A statement that deletes jobs (`gone`, RETURNING GONE) keeps their runs in their
# tasks' archive: only those that can survive RUN_TRIM are written. It answers how many
# jobs went and their tasks, for RUN_TRIM.
GONE = "id, task, queue, owner, status, started_at, coalesce(completed_at, created_at) AS completed_at, attempts, error"
ARCHIVE = """,
kept AS (
    INSERT INTO {s}.task_runs (job_id, task, queue, owner, status, started_at, completed_at, attempts, error)
    SELECT x.id, x.task, x.queue, x.owner, x.status, x.started_at, x.completed_at, x.attempts, x.error
    FROM (SELECT g.*,
                 row_number() OVER (PARTITION BY g.task ORDER BY g.completed_at DESC, g.id DESC) AS n,
                 row_number() OVER (PARTITION BY g.task, g.status = 'failed'
                                    ORDER BY g.completed_at DESC, g.id DESC) AS nf
          FROM gone AS g) AS x
    WHERE x.n <= %(runs_kept)s OR (x.status = 'failed' AND x.nf <= %(runs_kept)s)
    ON CONFLICT (job_id) DO NOTHING
)
SELECT count(*), coalesce(array_agg(DISTINCT task), '{}') FROM gone
"""

# One prune, delete or clear changes kept runs at a time (the lock is the transaction's),
# so that two of them never wait on each other's rows.
RUNS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('offload.task_runs.' || %(schema)s))"

# Keep each task's newest %(runs_kept)s runs, and its newest %(runs_kept)s failures besides.
RUN_TRIM = """
DELETE FROM {s}.task_runs AS r
USING (
    SELECT job_id, status,
           row_number() OVER (PARTITION BY task ORDER BY completed_at DESC, job_id DESC) AS n,
           row_number() OVER (PARTITION BY task, status = 'failed' ORDER BY completed_at DESC, job_id DESC) AS nf
    FROM {s}.task_runs WHERE task = ANY(%(tasks)s::text[])
) AS x
WHERE r.job_id = x.job_id AND x.n > %(runs_kept)s AND (x.status <> 'failed' OR x.nf > %(runs_kept)s)
"""

# Ended jobs per bucket and status, read from jobs_ended_at (status, completed_at).
JOB_FINISHED_COUNTS = """
SELECT floor(completed_at / %(bucket)s)::bigint AS k, status, count(*) FROM {s}.jobs
WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at >= %(since)s
GROUP BY k, status ORDER BY k, status
"""

# -- API tokens (only a hash of each secret is stored) ------------------------------------

TOKEN_COLUMNS = "id, username, hash, admin, created_at, revoked_at"

TOKEN_INSERT = """
INSERT INTO {s}.tokens (id, username, hash, admin, created_at)
VALUES (%(id)s, %(user)s, %(hash)s, %(admin)s, %(created_at)s)
"""

TOKEN_BY_HASH = "SELECT " + TOKEN_COLUMNS + " FROM {s}.tokens WHERE hash = %(hash)s"

# A status GET in one round trip: the token that asks (by the hash of its secret) and
# the job, each or both missing (NULLs). The caller checks the token before it looks
# at the job.
TOKEN_AND_JOB_GET = (
    "SELECT "
    + qualified(TOKEN_COLUMNS, "tk")
    + ", "
    + qualified(JOB_COLUMNS, "j")
    + """
FROM (SELECT 1) AS one
LEFT JOIN {s}.tokens AS tk ON tk.hash = %(hash)s
LEFT JOIN {s}.jobs AS j ON j.id = %(id)s
"""
)

TOKEN_LIST = "SELECT " + TOKEN_COLUMNS + " FROM {s}.tokens ORDER BY created_at, id"

TOKEN_REVOKE = "UPDATE {s}.tokens SET revoked_at = {now} WHERE id = %(id)s AND revoked_at IS NULL"
