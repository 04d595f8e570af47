"""SQLite schema, as forward migrations. Version N is MIGRATIONS[N - 1]; never edit a
released step, append a new one."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: jobs, events, queues, workers (its writes.status_events is batches.status_events now)
    """
    CREATE TABLE jobs (
        id               TEXT PRIMARY KEY,        -- time-ordered, see offload.records.new_job_id
        task             TEXT NOT NULL,
        queue            TEXT NOT NULL,
        status           TEXT NOT NULL,
        priority         INTEGER NOT NULL DEFAULT 0,
        owner            TEXT,
        args             TEXT NOT NULL,           -- JSON
        kwargs           TEXT NOT NULL,           -- JSON
        result           TEXT,                    -- JSON
        error            TEXT,
        traceback        TEXT,
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL DEFAULT 1,
        timeout          REAL,
        backoff          REAL,
        unique_key       TEXT,
        progress_current REAL,
        progress_total   REAL,
        message          TEXT,
        messages         TEXT,                    -- JSON [{"at": ts, "message": str}]
        created_at       REAL NOT NULL,
        run_at           REAL NOT NULL,
        started_at       REAL,
        completed_at     REAL,
        worker_id        TEXT,
        lease_token      TEXT,
        lease_expires_at REAL,
        cancel_requested INTEGER NOT NULL DEFAULT 0
    );
    -- Only waiting jobs are in the claim index, so it stays small however many
    -- finished jobs the table keeps.
    CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id)
        WHERE status IN ('scheduled', 'queued', 'retrying');
    CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
    CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key)
        WHERE unique_key IS NOT NULL AND status IN ('scheduled', 'queued', 'retrying', 'running');
    CREATE INDEX jobs_ended ON jobs (status, task, completed_at)
        WHERE status IN ('completed', 'failed', 'cancelled');
    CREATE INDEX jobs_status ON jobs (status, id);
    CREATE INDEX jobs_owner ON jobs (owner, id) WHERE owner IS NOT NULL;
    CREATE INDEX jobs_task ON jobs (task, id);
    CREATE INDEX jobs_queue_status ON jobs (queue, status);

    -- AUTOINCREMENT: a seq is never reused after pruning, so readers' cursors stay valid.
    -- Every status change writes one row here, in the transaction that made it (see
    -- writes.status_events: batched inserts cost a fraction of what a trigger does).
    CREATE TABLE events (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        type   TEXT NOT NULL,
        data   TEXT NOT NULL,                     -- JSON
        at     REAL NOT NULL,
        owner  TEXT
    );
    CREATE INDEX events_job ON events (job_id, seq);
    CREATE INDEX events_at ON events (at);

    CREATE TABLE queues (
        name   TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE workers (
        id           TEXT PRIMARY KEY,
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        queues       TEXT NOT NULL,               -- JSON list
        concurrency  INTEGER NOT NULL,
        started_at   REAL NOT NULL,
        heartbeat_at REAL NOT NULL,
        running      TEXT NOT NULL                -- JSON list of job ids
    );
    """,
    # 2: idempotency keys of API submissions, API tokens
    """
    ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
    CREATE UNIQUE INDEX jobs_idempotency ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

    CREATE TABLE tokens (
        id         TEXT PRIMARY KEY,
        user       TEXT NOT NULL,
        hash       TEXT NOT NULL UNIQUE,              -- sha256 of the secret
        admin      INTEGER NOT NULL,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    """,
    # 3: schedules, task statistics that survive pruning
    """
    CREATE TABLE schedules (
        id          TEXT PRIMARY KEY,
        task        TEXT NOT NULL,
        args        TEXT NOT NULL,                    -- JSON
        kwargs      TEXT NOT NULL,                    -- JSON
        cron        TEXT,
        interval    REAL,
        timezone    TEXT NOT NULL,
        paused      INTEGER NOT NULL DEFAULT 0,
        next_run_at REAL,
        last_run_at REAL,
        queue       TEXT,
        priority    INTEGER,
        owner       TEXT,
        created_at  REAL NOT NULL
    );
    CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;

    CREATE TABLE task_stats (
        task           TEXT PRIMARY KEY,
        succeeded      INTEGER NOT NULL DEFAULT 0,
        failed         INTEGER NOT NULL DEFAULT 0,
        cancelled      INTEGER NOT NULL DEFAULT 0,
        total_duration REAL NOT NULL DEFAULT 0,
        last_run_at    REAL,
        last_status    TEXT
    );
    """,
    # 4: events are pruned by seq (which follows time), so no index on their time: one
    # index less to write for every status change
    """
    DROP INDEX events_at;
    """,
    # 5: the partial indexes' conditions as OR chains instead of IN lists. SQLite turns an
    # IN list of three or more values into a temporary b-tree, and an INSERT builds one
    # for each row and each such index it checks. The queries that use these indexes
    # repeat the chains word for word.
    """
    DROP INDEX jobs_claim;
    CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id)
        WHERE status = 'scheduled' OR status = 'queued' OR status = 'retrying';
    DROP INDEX jobs_unique;
    CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key)
        WHERE unique_key IS NOT NULL
          AND (status = 'scheduled' OR status = 'queued' OR status = 'retrying' OR status = 'running');
    DROP INDEX jobs_ended;
    CREATE INDEX jobs_ended ON jobs (status, task, completed_at)
        WHERE status = 'completed' OR status = 'failed' OR status = 'cancelled';
    """,
    # 6: events without AUTOINCREMENT. It made every commit that writes an event also
    # rewrite the sqlite_sequence page, a page more for every enqueue. A seq is
    # still never given out twice: SQLite takes max(seq) + 1, and event_prune never
    # deletes the newest event. Should the table be empty now, a mark (job_id '', never
    # listed, see queries.EVENT_LIST) holds the last seq the old table gave out.
    """
    CREATE TABLE events_new (
        seq    INTEGER PRIMARY KEY,
        job_id TEXT NOT NULL,
        type   TEXT NOT NULL,
        data   TEXT NOT NULL,                     -- JSON
        at     REAL NOT NULL,
        owner  TEXT
    );
    INSERT INTO events_new (seq, job_id, type, data, at, owner)
        SELECT seq, job_id, type, data, at, owner FROM events;
    INSERT INTO events_new (seq, job_id, type, data, at, owner)
        SELECT seq, '', 'mark', '{}', 0, NULL FROM sqlite_sequence
        WHERE name = 'events' AND NOT EXISTS (SELECT 1 FROM events_new);
    DROP TABLE events;
    ALTER TABLE events_new RENAME TO events;
    CREATE INDEX events_job ON events (job_id, seq);
    """,
    # 7: schedules declared in code remember the declaration they were made from (its
    # fingerprint), and one deleted at run time leaves a tombstone, so that a restart
    # neither undoes a pause nor brings a deleted schedule back (scheduler.sync_code).
    # Finished runs of pruned or deleted jobs are kept, a bounded number per task, for
    # history, p95 and recent failures (Backend.job_prune); statistics can be cleared.
    """
    ALTER TABLE schedules ADD COLUMN fingerprint TEXT;

    CREATE TABLE schedule_tombstones (
        id          TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        deleted_at  REAL NOT NULL
    );

    CREATE TABLE task_runs (
        job_id       TEXT PRIMARY KEY,
        task         TEXT NOT NULL,
        queue        TEXT NOT NULL,
        owner        TEXT,
        status       TEXT NOT NULL,
        started_at   REAL,
        completed_at REAL NOT NULL,
        attempts     INTEGER NOT NULL,
        error        TEXT
    );
    CREATE INDEX task_runs_task ON task_runs (task, completed_at);
    CREATE INDEX task_runs_failed ON task_runs (completed_at) WHERE status = 'failed';

    ALTER TABLE task_stats ADD COLUMN cleared_at REAL;
    """,
    # 8: workers record the tasks they serve (NULL: a worker from before this step, which
    # claims any task) and the jobs whose timed-out threads still run. The claim index
    # carries the task after its sort columns: a worker claims only tasks it has, and
    # checks that in the index without reading the job's row.
    """
    ALTER TABLE workers ADD COLUMN tasks TEXT;                       -- JSON list of task names
    ALTER TABLE workers ADD COLUMN stuck TEXT NOT NULL DEFAULT '[]'; -- JSON list of job ids
    DROP INDEX jobs_claim;
    CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id, task)
        WHERE status = 'scheduled' OR status = 'queued' OR status = 'retrying';
    """,
]


# The conditions of the partial indexes (step 5, and step 8's jobs_claim), word for word:
# SQLite uses a partial index only for a query whose WHERE repeats its condition.
WAITING = "(status = 'scheduled' OR status = 'queued' OR status = 'retrying')"
LIVE = "(status = 'scheduled' OR status = 'queued' OR status = 'retrying' OR status = 'running')"
ENDED = "(status = 'completed' OR status = 'failed' OR status = 'cancelled')"

BOOTSTRAP = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

CURRENT_VERSION = "SELECT max(version) FROM schema_version"

RECORD_VERSION = "INSERT INTO schema_version (version) VALUES (?)"

# The write probe (Backend.ping_write): SQLite writes nothing for an UPDATE that sets a
# column to the value it has, so the newest version is negated and restored, in one
# transaction.
PING_WRITE = (
    "UPDATE schema_version SET version = -version WHERE version = (SELECT max(version) FROM schema_version)",
    "UPDATE schema_version SET version = -version WHERE version < 0",
)


def statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about
    triggers, whose bodies hold semicolons)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
