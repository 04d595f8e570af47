"""PostgreSQL schema, as forward migrations. Version N is MIGRATIONS[N - 1]; never edit a
released step, append a new one.

Every object lives in the store's own schema (``offload`` unless the URL says
``?schema=``); ``{s}`` below stands for it. Times are ``double precision`` POSIX seconds,
as they cross the Backend protocol. JSON the user gave (args, kwargs, result, messages)
is kept as ``text``, byte for byte; event data is ``jsonb``.

Storage parameters, for the vacuum story in docs/postgres.md:

* ``jobs`` is a hot, churning table: ``fillfactor = 80`` leaves room in each page so that
  heartbeats and progress writes, which touch no indexed column, are HOT updates (no
  index writes, no index bloat); autovacuum runs after 1 % of the rows changed instead
  of the default 20 %, so dead rows left by claims and finishes are reclaimed while the
  table is small.
* The lease time is deliberately in no index, so that a heartbeat stays HOT; recovery
  scans the running jobs through ``jobs_status``, and there are only as many of those as
  worker slots.
* ``events`` is append-mostly and pruned by time: frequent autoanalyze keeps the
  planner's idea of ``seq``/``at`` ranges current.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: jobs, events, queues, workers
    """
    CREATE TABLE {s}.jobs (
        id               text PRIMARY KEY,        -- time-ordered, see offload.records.new_job_id
        task             text NOT NULL,
        queue            text NOT NULL,
        status           text NOT NULL CHECK (status IN ('scheduled', 'queued', 'running', 'retrying',
                                                         'completed', 'failed', 'cancelled')),
        priority         integer NOT NULL DEFAULT 0,
        owner            text,
        args             text NOT NULL,           -- JSON
        kwargs           text NOT NULL,           -- JSON
        result           text,                    -- JSON
        error            text,
        traceback        text,
        attempts         integer NOT NULL DEFAULT 0,
        max_attempts     integer NOT NULL DEFAULT 1,
        timeout          double precision,
        backoff          double precision,
        unique_key       text,
        progress_current double precision,
        progress_total   double precision,
        message          text,
        messages         text,                    -- JSON [{"at": ts, "message": str}]
        created_at       double precision NOT NULL,
        run_at           double precision NOT NULL,
        started_at       double precision,
        completed_at     double precision,
        worker_id        text,
        lease_token      text,
        lease_expires_at double precision,
        cancel_requested boolean NOT NULL DEFAULT false
    ) WITH (fillfactor = 80,
            autovacuum_vacuum_scale_factor = 0.01,
            autovacuum_vacuum_insert_scale_factor = 0.05,
            autovacuum_analyze_scale_factor = 0.02,
            autovacuum_vacuum_cost_delay = 1);

    -- Only waiting jobs are in the claim index, so it stays small however many
    -- finished jobs the table keeps. The claim's WHERE repeats its condition.
    CREATE INDEX jobs_claim ON {s}.jobs (queue, priority DESC, run_at, id)
        WHERE status IN ('scheduled', 'queued', 'retrying');
    CREATE UNIQUE INDEX jobs_unique ON {s}.jobs (unique_key)
        WHERE unique_key IS NOT NULL AND status IN ('scheduled', 'queued', 'retrying', 'running');
    CREATE INDEX jobs_ended ON {s}.jobs (status, task, completed_at)
        WHERE status IN ('completed', 'failed', 'cancelled');
    -- Retention deletes the oldest ended jobs of a status first, across tasks.
    CREATE INDEX jobs_ended_at ON {s}.jobs (status, completed_at)
        WHERE status IN ('completed', 'failed', 'cancelled');
    CREATE INDEX jobs_status ON {s}.jobs (status, id);
    CREATE INDEX jobs_owner ON {s}.jobs (owner, id) WHERE owner IS NOT NULL;
    CREATE INDEX jobs_task ON {s}.jobs (task, id);
    CREATE INDEX jobs_queue_status ON {s}.jobs (queue, status);

    -- seq comes from an identity: never reused after pruning, so readers' cursors stay
    -- valid. xid is the writing transaction; readers use it to hold back events of
    -- transactions that may still commit a smaller seq (see queries.EVENT_LIST).
    CREATE TABLE {s}.events (
        seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id text NOT NULL,
        type   text NOT NULL,
        data   jsonb NOT NULL,
        at     double precision NOT NULL,
        owner  text,
        xid    xid8 NOT NULL DEFAULT pg_current_xact_id()
    ) WITH (autovacuum_analyze_scale_factor = 0.02);
    CREATE INDEX events_job ON {s}.events (job_id, seq);
    CREATE INDEX events_at ON {s}.events (at);

    -- Every status change is an event, whichever statement made it. A new job's event
    -- is dated at its creation; a change, at the time the statement that made it was
    -- given (the transaction-local setting offload.now, see queries.T), else by the
    -- server's clock.
    CREATE FUNCTION {s}.jobs_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO {s}.events (job_id, type, data, at, owner)
            VALUES (NEW.id, 'status',
                    jsonb_build_object('status', NEW.status, 'attempts', NEW.attempts),
                    NEW.created_at, NEW.owner);
        ELSE
            INSERT INTO {s}.events (job_id, type, data, at, owner)
            VALUES (NEW.id, 'status',
                    jsonb_build_object('status', NEW.status, 'attempts', NEW.attempts, 'error', NEW.error),
                    coalesce(nullif(current_setting('offload.now', true), '')::double precision,
                             extract(epoch FROM clock_timestamp())::double precision),
                    NEW.owner);
        END IF;
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER jobs_status_inserted AFTER INSERT ON {s}.jobs
        FOR EACH ROW EXECUTE FUNCTION {s}.jobs_status_event();
    CREATE TRIGGER jobs_status_changed AFTER UPDATE OF status ON {s}.jobs
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION {s}.jobs_status_event();

    CREATE TABLE {s}.queues (
        name   text PRIMARY KEY,
        paused boolean NOT NULL DEFAULT false
    );

    CREATE TABLE {s}.workers (
        id           text PRIMARY KEY,
        host         text NOT NULL,
        pid          integer NOT NULL,
        queues       text NOT NULL,               -- JSON list
        concurrency  integer NOT NULL,
        started_at   double precision NOT NULL,
        heartbeat_at double precision NOT NULL,
        running      text NOT NULL                -- JSON list of job ids
    ) WITH (fillfactor = 70);                     -- heartbeats are HOT updates
    """,
    # 2: idempotency keys of API submissions, API tokens
    """
    ALTER TABLE {s}.jobs ADD COLUMN idempotency_key text;
    CREATE UNIQUE INDEX jobs_idempotency ON {s}.jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

    CREATE TABLE {s}.tokens (
        id         text PRIMARY KEY,
        username   text NOT NULL,
        hash       text NOT NULL UNIQUE,          -- sha256 of the secret
        admin      boolean NOT NULL,
        created_at double precision NOT NULL,
        revoked_at double precision
    );
    """,
    # 3: schedules, task statistics that survive pruning
    """
    CREATE TABLE {s}.schedules (
        id          text PRIMARY KEY,
        task        text NOT NULL,
        args        text NOT NULL,                -- JSON
        kwargs      text NOT NULL,                -- JSON
        cron        text,
        interval_s  double precision,
        timezone    text NOT NULL,
        paused      boolean NOT NULL DEFAULT false,
        next_run_at double precision,
        last_run_at double precision,
        queue       text,
        priority    integer,
        owner       text,
        created_at  double precision NOT NULL
    );
    CREATE INDEX schedules_due ON {s}.schedules (next_run_at) WHERE NOT paused;

    -- A few hot rows, rewritten by every batch of finished jobs: room for HOT updates.
    CREATE TABLE {s}.task_stats (
        task           text PRIMARY KEY,
        succeeded      bigint NOT NULL DEFAULT 0,
        failed         bigint NOT NULL DEFAULT 0,
        cancelled      bigint NOT NULL DEFAULT 0,
        total_duration double precision NOT NULL DEFAULT 0,
        last_run_at    double precision,
        last_status    text
    ) WITH (fillfactor = 50);
    """,
    # 4: status events come from statement-level triggers: one INSERT ... SELECT per
    # statement from its transition tables (all of a batch's events at once) instead of
    # one PL/pgSQL call and one INSERT per row. Dated as before: a new job at its
    # creation, a change at offload.now (queries.T), else by the server's clock. A new
    # batch's events follow the batch's order.
    """
    DROP TRIGGER jobs_status_inserted ON {s}.jobs;
    DROP TRIGGER jobs_status_changed ON {s}.jobs;
    DROP FUNCTION {s}.jobs_status_event();
    CREATE FUNCTION {s}.jobs_inserted_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {s}.events (job_id, type, data, at, owner)
        SELECT n.id, 'status', jsonb_build_object('status', n.status, 'attempts', n.attempts),
               n.created_at, n.owner
        FROM new_jobs AS n;
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER jobs_status_inserted AFTER INSERT ON {s}.jobs
        REFERENCING NEW TABLE AS new_jobs
        FOR EACH STATEMENT EXECUTE FUNCTION {s}.jobs_inserted_events();

    -- A transition table can't go with UPDATE OF status: the trigger sees every UPDATE
    -- of jobs and keeps the rows whose status changed.
    CREATE FUNCTION {s}.jobs_changed_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {s}.events (job_id, type, data, at, owner)
        SELECT n.id, 'status',
               jsonb_build_object('status', n.status, 'attempts', n.attempts, 'error', n.error),
               coalesce(nullif(current_setting('offload.now', true), '')::double precision,
                        extract(epoch FROM clock_timestamp())::double precision),
               n.owner
        FROM new_jobs AS n JOIN old_jobs AS o ON o.id = n.id
        WHERE o.status IS DISTINCT FROM n.status;
        RETURN NULL;
    END
    $$;
    CREATE TRIGGER jobs_status_changed AFTER UPDATE ON {s}.jobs
        REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
        FOR EACH STATEMENT EXECUTE FUNCTION {s}.jobs_changed_events();
    """,
    # 5: events are pruned by seq (which follows time, see catalog_queries.EVENT_PRUNE),
    # so no index on their time: one index entry less for every event written
    """
    DROP INDEX {s}.events_at;
    """,
    # 6: schedules declared in code remember the declaration they were made from (its
    # fingerprint), and one deleted at run time leaves a tombstone, so that a restart
    # neither undoes a pause nor brings a deleted schedule back (scheduler.sync_code).
    # Finished runs of pruned or deleted jobs are kept, a bounded number per task, for
    # history, p95 and recent failures (Backend.job_prune); statistics can be cleared.
    """
    ALTER TABLE {s}.schedules ADD COLUMN fingerprint text;

    CREATE TABLE {s}.schedule_tombstones (
        id          text PRIMARY KEY,
        fingerprint text NOT NULL,
        deleted_at  double precision NOT NULL
    );

    CREATE TABLE {s}.task_runs (
        job_id       text PRIMARY KEY,
        task         text NOT NULL,
        queue        text NOT NULL,
        owner        text,
        status       text NOT NULL,
        started_at   double precision,
        completed_at double precision NOT NULL,
        attempts     integer NOT NULL,
        error        text
    );
    CREATE INDEX task_runs_task ON {s}.task_runs (task, completed_at);
    CREATE INDEX task_runs_failed ON {s}.task_runs (completed_at) WHERE status = 'failed';

    ALTER TABLE {s}.task_stats ADD COLUMN cleared_at double precision;
    """,
    # 7: workers record the tasks they serve (NULL: a worker from before this step, which
    # claims any task) and the jobs whose timed-out threads still run
    """
    ALTER TABLE {s}.workers ADD COLUMN tasks text;                        -- JSON list of task names
    ALTER TABLE {s}.workers ADD COLUMN stuck text NOT NULL DEFAULT '[]';  -- JSON list of job ids
    """,
]

# Run before the migrations, in the same transaction, under the advisory lock.
BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.schema_version (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""

# One lock per schema, held until the migrating transaction ends, so that processes
# starting together apply each step once, one after the other.
MIGRATE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('offload.migrate.' || %(schema)s))"

CURRENT_VERSION = "SELECT coalesce(max(version), 0) FROM {s}.schema_version"

RECORD_VERSION = "INSERT INTO {s}.schema_version (version) VALUES (%(version)s)"

# The write probe (Backend.ping_write): PostgreSQL writes a new row version for any
# UPDATE, so rewriting a value as it is is a real, committed write.
PING_WRITE = (
    "UPDATE {s}.schema_version SET applied_at = applied_at"
    " WHERE version = (SELECT max(version) FROM {s}.schema_version)"
)


def render(sql: str, schema: str) -> str:
    """Put the (already validated) schema name into a statement."""
    return sql.replace("{s}", f'"{schema}"')
