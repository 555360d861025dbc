-- 0009_maintenance: repository housekeeping (git/maintain.c). One row per
-- repository that was pushed to or maintained: the pushes not yet served
-- (the debounce reads first_push_at and last_push_at), the last run and
-- its result (shown to site administrators by
-- GET /api/repos/:owner/:repo/maintenance), and when the last full repack
-- happened (the plan's clock for the next one).
CREATE TABLE repo_maintenance (
    repo_id          bigint PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    pending_pushes   integer NOT NULL DEFAULT 0,
    first_push_at    timestamptz,           -- NULL: no push waits for housekeeping
    last_push_at     timestamptz,
    last_trigger     text CHECK (last_trigger IN ('push', 'schedule', 'admin')),
    last_started_at  timestamptz,
    last_finished_at timestamptz,           -- before last_started_at: running, or died
    last_status      text CHECK (last_status IN ('ok', 'nothing_to_do', 'failed')),
    last_tasks       text[] NOT NULL DEFAULT '{}',
    last_error       text,
    last_duration_ms bigint,
    last_before      jsonb,                 -- the counters before and after the run
    last_after       jsonb,
    last_full_at     timestamptz,
    runs             bigint NOT NULL DEFAULT 0,
    failures         bigint NOT NULL DEFAULT 0
);
CREATE INDEX repo_maintenance_pending ON repo_maintenance (first_push_at)
    WHERE first_push_at IS NOT NULL;
