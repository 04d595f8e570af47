"""The SQL statements of the PostgreSQL store's jobs, by name (those of its smaller
tables are in catalog_queries.py; ``Queries`` renders both).

Placeholders, filled by ``Queries`` once per store:

* ``{s}``   the store's schema, quoted;
* ``{now}`` the caller's ``now`` (``%(now)s``) or, when that is NULL, the server's clock
  read once for the statement. Lease expiry is judged by the server, never by workers.
* ``{t}``   a CTE ``t(now)`` holding that time once; it also hands the time to the status
  trigger (schema.py) through the transaction-local setting ``offload.now``, so that a
  status event is dated like the write that caused it.

Parameters are psycopg's ``%(name)s``. Batches pass parallel arrays and ``unnest`` them,
so that one statement (one round trip) handles any number of jobs.
"""

from __future__ import annotations

from ..rows import JOB_COLUMNS
from . import catalog_queries
from .schema import render

NOW = "coalesce(%(now)s::double precision, extract(epoch FROM statement_timestamp())::double precision)"

T = """t AS (
    SELECT n.now, set_config('offload.now', n.now::text, true) AS stamped
    FROM (SELECT {now} AS now) AS n
)"""


# -- enqueue ----------------------------------------------------------------------

# A job due now (no run_at, or one in the past) is queued with run_at = now; a later
# one is scheduled. An idempotency_key held by any job, or a unique_key held by a live
# job, makes the insert a no-op (jobs_idempotency, jobs_unique); so does an existing id.
# The trigger dates the job's first status event at created_at.
JOB_INSERT = """
INSERT INTO {s}.jobs (id, task, queue, status, priority, owner, args, kwargs, max_attempts,
                      timeout, backoff, unique_key, idempotency_key, created_at, run_at)
SELECT %(id)s, %(task)s, %(queue)s,
       CASE WHEN %(run_at)s::double precision > t.now THEN 'scheduled' ELSE 'queued' END,
       %(priority)s, %(owner)s, %(args)s, %(kwargs)s, %(max_attempts)s,
       %(timeout)s, %(backoff)s, %(unique_key)s, %(idempotency_key)s, t.now,
       greatest(coalesce(%(run_at)s::double precision, t.now), t.now)
FROM (SELECT {now} AS now) AS t
ON CONFLICT DO NOTHING
RETURNING id, queue, status
"""

# A whole batch in one statement: the jobs come in as parallel arrays (one per column,
# in the batch's order) and their status events from the statement-level trigger
# (schema.py, step 4). Due jobs wake the workers of their queues in the same statement
# (see catalog_queries.NOTIFY); the payload of a queue name longer than 1000 bytes is empty.
# JOB_INSERT_MANY runs inside a transaction: ON CONFLICT DO NOTHING, and the rows left
# out are then looked up one by one (like JOB_INSERT's). JOB_INSERT_MANY_STRICT, for a
# batch without keys sent on its own, either stores every job or none; JOB_INSERT_ONE_STRICT
# is the same for a single job, its columns as plain parameters (a single enqueue
# would otherwise spend more time building thirteen one-element arrays than the
# server spends storing the job).
_JOB_INSERT_BATCH = """
WITH t AS (SELECT {now} AS now),
ins AS (
    INSERT INTO {s}.jobs (id, task, queue, status, priority, owner, args, kwargs, max_attempts,
                          timeout, backoff, unique_key, idempotency_key, created_at, run_at)
    SELECT r.id, r.task, r.queue,
           CASE WHEN r.run_at > t.now THEN 'scheduled' ELSE 'queued' END,
           r.priority, r.owner, r.args, r.kwargs, r.max_attempts, r.timeout, r.backoff,
           r.unique_key, r.idempotency_key, t.now, greatest(coalesce(r.run_at, t.now), t.now)
    FROM t, {rows}
    ORDER BY r.n
    {conflict}
    RETURNING id, queue, status
), woken AS (
    SELECT count(pg_notify(%(channel)s, w.q)) AS n
    FROM (SELECT DISTINCT CASE WHEN octet_length(queue) <= 1000 THEN queue ELSE '' END AS q
          FROM ins WHERE status = 'queued' ORDER BY 1) AS w
)
SELECT ins.id, ins.queue, ins.status FROM ins, woken
"""
_BATCH_ROWS = """unnest(%(id)b::text[], %(task)b::text[], %(queue)b::text[], %(priority)b::integer[],
                   %(owner)b::text[], %(args)b::text[], %(kwargs)b::text[], %(max_attempts)b::integer[],
                   %(timeout)b::double precision[], %(backoff)b::double precision[],
                   %(unique_key)b::text[], %(idempotency_key)b::text[], %(run_at)b::double precision[])
            WITH ORDINALITY AS r(id, task, queue, priority, owner, args, kwargs, max_attempts,
                                 timeout, backoff, unique_key, idempotency_key, run_at, n)"""
_ONE_ROW = """(VALUES (%(id)s::text, %(task)s::text, %(queue)s::text, %(priority)s::integer,
                   %(owner)s::text, %(args)s::text, %(kwargs)s::text, %(max_attempts)s::integer,
                   %(timeout)s::double precision, %(backoff)s::double precision,
                   %(unique_key)s::text, %(idempotency_key)s::text, %(run_at)s::double precision, 1))
            AS r(id, task, queue, priority, owner, args, kwargs, max_attempts,
                 timeout, backoff, unique_key, idempotency_key, run_at, n)"""
JOB_INSERT_MANY = _JOB_INSERT_BATCH.replace("{rows}", _BATCH_ROWS).replace("{conflict}", "ON CONFLICT DO NOTHING")
JOB_INSERT_MANY_STRICT = _JOB_INSERT_BATCH.replace("{rows}", _BATCH_ROWS).replace("{conflict}", "")
JOB_INSERT_ONE_STRICT = _JOB_INSERT_BATCH.replace("{rows}", _ONE_ROW).replace("{conflict}", "")

JOB_BY_IDEMPOTENCY_KEY = "SELECT id FROM {s}.jobs WHERE idempotency_key = %(idempotency_key)s"

JOB_BY_UNIQUE_KEY = """
SELECT id FROM {s}.jobs
WHERE unique_key = %(unique_key)s AND status IN ('scheduled', 'queued', 'retrying', 'running')
"""

# -- reads ----------------------------------------------------------------------------

JOB_GET = "SELECT " + JOB_COLUMNS + " FROM {s}.jobs WHERE id = %(id)s"

# Ids that start with a prefix: every 32-hex-digit id between the prefix padded with 0s
# and with fs, read along the primary key in its order.
JOB_IDS_BETWEEN = "SELECT id FROM {s}.jobs WHERE id BETWEEN %(low)s AND %(high)s ORDER BY id LIMIT %(limit)s"

# FOR UPDATE: actions from users decide on the status they read, so they hold the row.
JOB_STATUS_LOCKED = "SELECT status FROM {s}.jobs WHERE id = %(id)s FOR UPDATE"

JOB_COUNTS = "SELECT queue, status, count(*) FROM {s}.jobs GROUP BY queue, status"

# The waiting jobs only (the claim index's condition), for /api/health.
JOB_WAITING_TASKS = """
SELECT DISTINCT queue, task FROM {s}.jobs WHERE status IN ('scheduled', 'queued', 'retrying')
"""

QUEUE_NAMES = "SELECT name FROM {s}.queues"

# -- the worker's writes --------------------------------------------------------------

# One queue per statement, so that the claim index serves both the filter and the
# order. Only jobs of the worker's tasks are taken (%(tasks)s; NULL: any task): a job
# of another task is left in line for a worker that has it. SKIP LOCKED: concurrent
# claimers pass over each other's rows instead of waiting; in READ COMMITTED a row that
# changed after the snapshot is re-checked against the WHERE once it is locked, so a job
# is never claimed twice. MATERIALIZED makes the locking sub-select run exactly once.
# The UPDATE repeats the status guard.
#
# With relaxed true (a transaction that claims and does nothing else), the commit
# returns before the WAL is flushed: see docs/postgres.md, "Durability of claims". The
# setting lives in t, which every claim reads once, and lasts until the commit.
JOB_CLAIM = """
WITH t AS (
    SELECT n.now, set_config('offload.now', n.now::text, true) AS stamped,
           CASE WHEN %(relaxed)s THEN set_config('synchronous_commit', 'off', true) END AS relaxed
    FROM (SELECT {now} AS now) AS n
),
picked AS MATERIALIZED (
    SELECT id FROM {s}.jobs, t
    WHERE queue = %(queue)s AND status IN ('scheduled', 'queued', 'retrying') AND run_at <= t.now
      AND (%(tasks)s::text[] IS NULL OR task = ANY(%(tasks)s::text[]))
      AND NOT EXISTS (SELECT 1 FROM {s}.queues WHERE name = %(queue)s AND paused)
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE OF jobs SKIP LOCKED
)
UPDATE {s}.jobs AS j
SET status = 'running', attempts = j.attempts + 1, worker_id = %(worker_id)s,
    lease_token = replace(gen_random_uuid()::text, '-', ''),
    lease_expires_at = t.now + %(lease_s)s, started_at = t.now, cancel_requested = false
FROM picked, t
WHERE j.id = picked.id AND j.status IN ('scheduled', 'queued', 'retrying')
RETURNING """ + ", ".join(f"j.{c.strip()}" for c in JOB_COLUMNS.split(","))

# A worker's statements that write several of its running jobs can run at the same
# moment (a turn's outcomes in its loop; a heartbeat, progress or a release from its
# services thread), and an UPDATE ... FROM locks rows in whatever order its plan meets
# them: two such statements could deadlock. All of them take the rows in id order:
# a heartbeat and a release lock them first (held, below); progress goes one job per
# statement, sorted by id (backend.job_progress); a turn's outcomes are sorted by id
# and met in that order whichever side the plan starts from (the outcomes, or the
# jobs_status index on (status, id)); locking them first too made the statement
# slower. A row that changed while its lock was awaited is checked again (READ
# COMMITTED), so a job another statement just finished is left out.
_HELD = """held AS MATERIALIZED (
    SELECT j.id FROM {s}.jobs AS j JOIN {leases} ON j.id = l.id AND j.lease_token = l.token
    WHERE j.status = 'running'
    ORDER BY j.id
    FOR UPDATE OF j
)"""
_LEASES = "unnest(%(ids)s::text[], %(tokens)s::text[]) AS l(id, token)"

JOB_HEARTBEAT = (
    "WITH "
    + _HELD.replace("{leases}", _LEASES)
    + """
UPDATE {s}.jobs AS j SET lease_expires_at = {now} + %(lease_s)s
FROM held
WHERE j.id = held.id AND j.status = 'running'
RETURNING j.id, j.cancel_requested
"""
)

# Progress and its events in one statement: the events are written only when the
# guarded UPDATE found the job (the INSERT reads from its RETURNING).
JOB_PROGRESS = """
WITH u AS (
    UPDATE {s}.jobs
    SET progress_current = %(current)s, progress_total = %(total)s,
        message = coalesce(%(message)s, message), messages = coalesce(%(messages)s, messages)
    WHERE id = %(id)s AND lease_token = %(token)s AND status = 'running'
    RETURNING id, owner
), e AS (
    INSERT INTO {s}.events (job_id, type, data, at, owner)
    SELECT u.id, e.type, e.data::jsonb, coalesce(e.at, {now}), u.owner
    FROM u, unnest(%(ev_types)s::text[], %(ev_data)s::text[], %(ev_at)s::double precision[])
            WITH ORDINALITY AS e(type, data, at, n)
    ORDER BY e.n
)
SELECT id FROM u
"""

# A run that returned (or asked for a retry) after somebody asked to cancel its job ends
# cancelled; what it returned is kept as the result (see JOB_FINISH_MANY).
CANCELS = "(j.cancel_requested AND o.status IN ('completed', 'retrying'))"

# A worker's finished runs in one statement: the outcomes come in as parallel arrays
# (o.n is each one's place in the batch) and their progress and message events as
# arrays of their own, ev_of naming the outcome each belongs to. Each run's events come
# before its status event (the row trigger fires at the end of the statement). The
# task counters (task_stats) are added in the same statement, once per task, rows
# locked in task order like STATS_ADD's. Refused outcomes (stale lease, not running, or
# a status that does not end a run) change nothing and count nowhere.
JOB_FINISH_MANY = (
    """
WITH {t},
o AS MATERIALIZED (
    SELECT * FROM unnest(%(id)b::text[], %(token)b::text[], %(status)b::text[], %(result)b::text[],
                         %(error)b::text[], %(traceback)b::text[], %(run_at)b::double precision[],
                         %(current)b::double precision[], %(total)b::double precision[],
                         %(message)b::text[], %(messages)b::text[])
        WITH ORDINALITY AS o(id, token, status, result, error, traceback, run_at, current, total,
                             message, messages, n)
    WHERE o.status IN ('completed', 'failed', 'retrying', 'cancelled')
    ORDER BY o.id  -- the jobs' rows are locked in id order (see _HELD)
),
u AS (
    UPDATE {s}.jobs AS j
    SET status = CASE WHEN {cancels} THEN 'cancelled' ELSE o.status END,
        result = o.result, traceback = o.traceback,
        error = CASE WHEN {cancels} THEN 'cancelled on request' ELSE o.error END,
        completed_at = CASE WHEN o.status IN ('completed', 'failed', 'cancelled') OR {cancels} THEN t.now END,
        run_at = coalesce(o.run_at, j.run_at),
        progress_current = coalesce(o.current, j.progress_current),
        progress_total = coalesce(o.total, j.progress_total),
        message = coalesce(o.message, j.message), messages = coalesce(o.messages, j.messages),
        worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
    FROM o, t
    WHERE j.id = o.id AND j.lease_token = o.token AND j.status = 'running'
    RETURNING j.id, j.owner, j.task, j.status, t.now - j.started_at AS duration, o.n
),
e AS (
    INSERT INTO {s}.events (job_id, type, data, at, owner)
    SELECT u.id, ev.type, ev.data::jsonb, coalesce(ev.at, t.now), u.owner
    FROM unnest(%(ev_of)b::bigint[], %(ev_type)b::text[], %(ev_data)b::text[], %(ev_at)b::double precision[])
            WITH ORDINALITY AS ev(of, type, data, at, m)
         JOIN u ON u.n = ev.of, t
    ORDER BY ev.m
),
stats AS (
    INSERT INTO {s}.task_stats AS st (task, succeeded, failed, cancelled, total_duration, last_run_at, last_status)
    SELECT u.task,
           count(*) FILTER (WHERE u.status = 'completed'),
           count(*) FILTER (WHERE u.status = 'failed'),
           count(*) FILTER (WHERE u.status = 'cancelled'),
           coalesce(sum(u.duration) FILTER (WHERE u.status <> 'cancelled'), 0),
           min(t.now),
           (array_agg(u.status ORDER BY u.n DESC))[1]
    FROM u, t
    WHERE u.status IN ('completed', 'failed', 'cancelled')
    GROUP BY u.task
    ORDER BY u.task
    """
    + catalog_queries.STATS_ON_CONFLICT
    + """
)
SELECT id FROM u
"""
).replace("{cancels}", CANCELS)

# Graceful shutdown: back to queued at once, and the attempt does not count. A job
# somebody asked to cancel is not put back: the request is honoured now.
JOB_RELEASE = (
    "WITH {t}, "
    + _HELD.replace("{leases}", _LEASES)
    + """
UPDATE {s}.jobs AS j
SET status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'queued' END,
    attempts = CASE WHEN j.cancel_requested THEN j.attempts ELSE greatest(j.attempts - 1, 0) END,
    error = CASE WHEN j.cancel_requested THEN 'cancelled on request' ELSE j.error END,
    completed_at = CASE WHEN j.cancel_requested THEN t.now END,
    started_at = CASE WHEN j.cancel_requested THEN j.started_at END,
    worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
FROM held, t
WHERE j.id = held.id AND j.status = 'running'
RETURNING j.id, j.queue, j.status
"""
)

# A job whose cancel was requested ends cancelled instead; one queued again keeps its
# run_at: it was first in line once already, and goes before the jobs that came after
# it. The statement itself decides which expired jobs it takes: rows another recoverer
# holds are skipped, rows it has already changed fail the re-check, so each expired
# job is recovered once however many workers run this at the same moment. A heartbeat
# that lands first moves lease_expires_at and the re-check lets the job be.
JOB_RECOVER = """
WITH {t},
expired AS MATERIALIZED (
    SELECT id FROM {s}.jobs, t
    WHERE status = 'running' AND lease_expires_at < t.now
    ORDER BY lease_expires_at
    LIMIT %(limit)s
    FOR UPDATE OF jobs SKIP LOCKED
)
UPDATE {s}.jobs AS j
SET status = CASE WHEN j.cancel_requested THEN 'cancelled'
                  WHEN j.attempts < j.max_attempts THEN 'queued' ELSE 'failed' END,
    error = CASE WHEN j.cancel_requested THEN 'cancelled on request'
                 ELSE 'worker lost: its lease expired (worker ' || coalesce(j.worker_id, '?')
                      || ' stopped heartbeating)' END,
    completed_at = CASE WHEN j.attempts < j.max_attempts AND NOT j.cancel_requested THEN NULL ELSE t.now END,
    worker_id = NULL, lease_token = NULL, lease_expires_at = NULL
FROM expired, t
WHERE j.id = expired.id AND j.status = 'running' AND j.lease_expires_at < t.now
RETURNING """ + ", ".join(f"j.{c.strip()}" for c in JOB_COLUMNS.split(","))

# -- actions from users (each runs after JOB_STATUS_LOCKED in the same transaction) ----

JOB_CANCEL_WAITING = """
WITH {t}
UPDATE {s}.jobs SET status = 'cancelled', completed_at = t.now
FROM t
WHERE id = %(id)s AND status IN ('scheduled', 'queued', 'retrying')
"""

JOB_CANCEL_RUNNING = "UPDATE {s}.jobs SET cancel_requested = true WHERE id = %(id)s AND status = 'running'"

JOB_RETRY = """
WITH {t}
UPDATE {s}.jobs
SET status = 'queued', attempts = 0, error = NULL, traceback = NULL, result = NULL,
    started_at = NULL, completed_at = NULL, run_at = t.now, cancel_requested = false,
    progress_current = NULL, progress_total = NULL, message = NULL
FROM t
WHERE id = %(id)s AND status IN ('failed', 'cancelled')
RETURNING queue
"""

# -- deleting jobs; their runs go to the archive (catalog_queries.ARCHIVE) -------------------

JOB_DELETE = (
    """
WITH gone AS (
    DELETE FROM {s}.jobs WHERE id = %(id)s AND status IN ('completed', 'failed', 'cancelled')
    RETURNING """
    + catalog_queries.GONE
    + "\n)"
    + catalog_queries.ARCHIVE
)

# -- retention: one bounded batch per transaction --------------------------------------------

# {where} is filled by the backend with fixed conditions on status and task. Only jobs
# that ended are ever deleted, whatever the rule says.
PRUNE_ENDED_BEFORE = (
    """
WITH gone AS (
    DELETE FROM {s}.jobs WHERE id IN (
        SELECT id FROM {s}.jobs
        WHERE {where} AND status IN ('completed', 'failed', 'cancelled') AND completed_at < %(before)s
        LIMIT %(batch)s
    )
    RETURNING """
    + catalog_queries.GONE
    + "\n)"
    + catalog_queries.ARCHIVE
)

PRUNE_BEYOND_KEEP = (
    """
WITH gone AS (
    DELETE FROM {s}.jobs WHERE id IN (
        SELECT id FROM {s}.jobs WHERE {where} AND status IN ('completed', 'failed', 'cancelled')
        ORDER BY completed_at DESC, id DESC LIMIT %(batch)s OFFSET %(keep)s
    )
    RETURNING """
    + catalog_queries.GONE
    + "\n)"
    + catalog_queries.ARCHIVE
)


class Queries:
    """The statements of this module and of catalog_queries, with the schema and the
    clock filled in, by the same names."""

    def __init__(self, schema: str) -> None:
        for name, value in [*globals().items(), *vars(catalog_queries).items()]:
            if name.isupper() and isinstance(value, str) and not name.endswith("_COLUMNS") and name not in ("NOW", "T"):
                setattr(self, name, render(value.replace("{t}", T).replace("{now}", NOW), schema))
        self.JOB_COLUMNS = JOB_COLUMNS

    def __getattr__(self, name: str) -> str:  # for type checkers: every statement is a str
        raise AttributeError(name)
