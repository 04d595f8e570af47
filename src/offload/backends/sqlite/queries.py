"""The SQL statements of the SQLite store's jobs, by name (those of its smaller tables
are in catalog_queries.py). Named parameters, except where a statement runs once per row
of a batch. The conditions of the partial indexes come from schema.py, word for word."""

from __future__ import annotations

import functools

from ..rows import JOB_COLUMNS
from .catalog_queries import DELETED_RUN
from .schema import LIVE, WAITING

# -- enqueue ----------------------------------------------------------------------

# Rows a multi-row INSERT takes at most (see batches.insert_rows): 960 parameters, under
# the 999 of older SQLite builds.
INSERT_ROWS = 64


def _values(slots: tuple[str, ...], null: tuple[int, ...]) -> str:
    """One row of a VALUES list: each slot a literal, or "?" for the next parameter; the
    parameters numbered in `null` are written NULL instead (see batches.insert_rows)."""
    out, k = [], 0
    for slot in slots:
        if slot == "?":
            slot = "NULL" if k in null else "?"
            k += 1
        out.append(slot)
    return "(" + ", ".join(out) + ")"


# Positional parameters (rows.insert_params): binding by name looks each one up, for
# every row of a bulk enqueue.
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

QUEUE_NAMES = "SELECT name FROM queues"

# The claim index holds queue and task of every waiting job, and nothing else.
JOB_WAITING_TASKS = f"SELECT DISTINCT queue, task FROM jobs INDEXED BY jobs_claim WHERE {WAITING}"

# -- the worker's writes --------------------------------------------------------------

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
# messages), then `now`: RETURNING has a fixed cost per statement, which a statement
# per outcome would pay for each. Only runs still held under their lease are written. A run
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
    batches.insert_rows)."""
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

# -- deleting jobs; their runs go to the archive (catalog_queries.DELETED_RUN) ---------------

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


# -- retention: one bounded batch per transaction --------------------------------------------

# {where} is filled by the backend with fixed conditions on status and task (rows.prune_where),
# {source} with the table, and the index to read it by.
PRUNE_ENDED_BEFORE = (
    "DELETE FROM jobs WHERE id IN (SELECT id FROM {source} WHERE {where} AND completed_at < :before"
    " LIMIT :batch) " + DELETED_RUN
)

PRUNE_BEYOND_KEEP = (
    "DELETE FROM jobs WHERE id IN (SELECT id FROM {source} WHERE {where}"
    " ORDER BY completed_at DESC LIMIT :batch OFFSET :keep) " + DELETED_RUN
)
