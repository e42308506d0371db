-- The durable job queue. Workers claim rows with FOR UPDATE SKIP LOCKED, hold a lease they
-- renew while running, and finish them; a trigger wakes idle workers through NOTIFY.
CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 100),
    payload jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'dead', 'cancelled')),
    -- Higher runs first.
    priority smallint NOT NULL DEFAULT 0,
    run_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 1000),
    dedupe_key text,
    last_error text,
    locked_by text,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    progress jsonb,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);

-- One live job per (kind, dedupe key): a second enqueue returns the first.
CREATE UNIQUE INDEX jobs_live_dedupe_key_idx ON jobs (kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'retrying');
-- What workers claim next.
CREATE INDEX jobs_ready_idx ON jobs (priority DESC, run_at, id) WHERE state IN ('queued', 'retrying');
-- Leases to reap.
CREATE INDEX jobs_running_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- Listings by kind (and state), newest first. Every index costs a write per state change
-- (state changes are never HOT updates), so listings by state alone scan the primary key.
CREATE INDEX jobs_kind_state_id_idx ON jobs (kind, state, id DESC);

CREATE FUNCTION jobs_notify_ready() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('medley_jobs_ready', NEW.kind);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER jobs_notify_ready_trigger
    AFTER INSERT OR UPDATE OF state, run_at ON jobs
    FOR EACH ROW WHEN (NEW.state IN ('queued', 'retrying'))
    EXECUTE FUNCTION jobs_notify_ready();

-- Recurring schedules. Every worker ticks them; the row lock taken while enqueueing makes each
-- tick fire on exactly one instance.
CREATE TABLE job_schedules (
    name text PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 100),
    kind text NOT NULL,
    cron text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    paused boolean NOT NULL DEFAULT false,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    last_job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
