"""The SQL statements of the PostgreSQL store's smaller tables, by name: events,
queues, workers, schedules, task statistics and API tokens. Placeholders as in
queries.py, which renders these too (``Queries``)."""

from __future__ import annotations

from ..records import JOB_COLUMNS, qualified

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
    " queue, priority, owner, created_at"
)

SCHEDULE_SAVE = (
    """
INSERT INTO {s}.schedules ("""
    + SCHEDULE_COLUMNS
    + """)
VALUES (%(id)s, %(task)s, %(args)s, %(kwargs)s, %(cron)s, %(interval)s, %(timezone)s, %(paused)s,
        %(next_run_at)s, %(last_run_at)s, %(queue)s, %(priority)s, %(owner)s, %(created_at)s)
ON CONFLICT (id) DO UPDATE SET
    task = excluded.task, args = excluded.args, kwargs = excluded.kwargs, cron = excluded.cron,
    interval_s = excluded.interval_s, timezone = excluded.timezone, paused = excluded.paused,
    next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at, queue = excluded.queue,
    priority = excluded.priority, owner = excluded.owner, created_at = excluded.created_at
"""
)

SCHEDULE_GET = "SELECT " + SCHEDULE_COLUMNS + " FROM {s}.schedules WHERE id = %(id)s"

SCHEDULE_LIST = "SELECT " + SCHEDULE_COLUMNS + " FROM {s}.schedules ORDER BY id"

SCHEDULE_DELETE = "DELETE FROM {s}.schedules WHERE id = %(id)s"

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

JOB_HISTORY = (
    """
SELECT """
    + JOB_COLUMNS
    + """ FROM {s}.jobs
WHERE task = %(task)s AND status IN ('completed', 'failed', 'cancelled')
ORDER BY completed_at DESC LIMIT %(limit)s
"""
)

JOB_FAILURES = (
    """
SELECT """
    + JOB_COLUMNS
    + """ FROM {s}.jobs
WHERE status = 'failed' AND completed_at >= %(since)s
  AND (%(owner)s::text IS NULL OR owner = %(owner)s::text)
ORDER BY completed_at DESC LIMIT %(limit)s
"""
)

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
