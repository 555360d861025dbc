-- 0004_execution: the execution system. Workflow definitions, runs and
-- jobs; the workload queue that runners claim from (workflow and agent
-- workloads alike); the runners of the warm pool; the event streams that
-- SSE replays; repository secrets; commit statuses; cron bookkeeping.

-- A stream is an ordered log of events (a workflow run's, later an agent
-- session's). stream_seq is assigned from last_seq at insert, so the SSE id
-- of a stream is monotonic whatever workload wrote the event.
CREATE TABLE streams (
    id         bigserial PRIMARY KEY,
    repo_id    bigint REFERENCES repositories(id) ON DELETE CASCADE,
    last_seq   bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Parsed workflow files, by content: the same file at many commits is
-- stored once. model is workflow_to_json; error is "FILE:LINE:COL: what"
-- when the file does not parse (model is then NULL).
CREATE TABLE workflow_definitions (
    id           bigserial PRIMARY KEY,
    content_hash text NOT NULL UNIQUE,   -- SHA-256 of path, NUL, file bytes
    path         text NOT NULL,
    name         text NOT NULL,
    model        jsonb,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workflow_runs (
    id                 bigserial PRIMARY KEY,
    repo_id            bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    run_number         integer NOT NULL,
    definition_id      bigint REFERENCES workflow_definitions(id),
    workflow_path      text NOT NULL,
    name               text NOT NULL,
    event_id           bigint REFERENCES events(id) ON DELETE SET NULL,
    event_type         text NOT NULL,
    ref                text,
    commit_sha         text,
    actor_id           bigint REFERENCES users(id) ON DELETE SET NULL,
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'success', 'failure',
                                         'cancelled', 'skipped')),
    conclusion         text,                 -- why it ended so (parse error, cancelled by ...)
    cancel_requested   boolean NOT NULL DEFAULT false,
    context            jsonb NOT NULL DEFAULT '{}',  -- expression contexts: event, repo, inputs
    concurrency_group  text,
    cancel_in_progress boolean NOT NULL DEFAULT false,
    sandbox            text,                 -- gvisor | bwrap | none, of the jobs that ran
    stream_id          bigint NOT NULL REFERENCES streams(id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    UNIQUE (repo_id, run_number)
);
CREATE INDEX workflow_runs_repo ON workflow_runs (repo_id, id DESC);
CREATE INDEX workflow_runs_active_group ON workflow_runs (repo_id, concurrency_group)
    WHERE status IN ('queued', 'running');

-- One row per job instance (a matrix combination is its own job). pending:
-- waiting for its needs; queued: its workload waits for a runner.
CREATE TABLE workflow_jobs (
    id                bigserial PRIMARY KEY,
    run_id            bigint NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
    job_key           text NOT NULL,          -- the key under jobs:
    name              text NOT NULL,          -- display name, matrix suffix included
    needs             text[] NOT NULL DEFAULT '{}',
    matrix            jsonb NOT NULL DEFAULT '{}',
    if_expr           text,
    continue_on_error boolean NOT NULL DEFAULT false,
    spec              jsonb NOT NULL,         -- what its workload runs
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'queued', 'running', 'success', 'failure',
                                        'cancelled', 'skipped')),
    steps             jsonb NOT NULL DEFAULT '[]',  -- [{name,status,exit_code,started_at,finished_at}]
    exit_code         integer,
    conclusion        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz
);
CREATE INDEX workflow_jobs_run ON workflow_jobs (run_id, id);

CREATE TABLE runners (
    id             bigserial PRIMARY KEY,
    token_hash     text NOT NULL UNIQUE,     -- SHA-256 of the runner token
    host           text NOT NULL DEFAULT '',
    pid            integer,
    sandbox        text,
    status         text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'busy', 'dead')),
    workload_id    bigint,                   -- the workload it holds (no FK: rows cross-refer)
    last_heartbeat timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runners_alive ON runners (last_heartbeat) WHERE status <> 'dead';

-- The unit a runner executes. waiting → claimed → running → done.
CREATE TABLE workloads (
    id              bigserial PRIMARY KEY,
    type            text NOT NULL CHECK (type IN ('workflow', 'agent')),
    job_id          bigint REFERENCES workflow_jobs(id) ON DELETE CASCADE,
    repo_id         bigint REFERENCES repositories(id) ON DELETE CASCADE,
    stream_id       bigint NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'waiting'
                    CHECK (status IN ('waiting', 'claimed', 'running', 'done')),
    result          text CHECK (result IN ('success', 'failure', 'cancelled', 'error')),
    exit_code       integer,
    reason          text,
    attempt         integer NOT NULL DEFAULT 1,
    max_attempts    integer NOT NULL DEFAULT 2,
    cancel          boolean NOT NULL DEFAULT false,
    task_token_hash text UNIQUE,             -- SHA-256; NULL when no token is alive
    runner_id       bigint REFERENCES runners(id) ON DELETE SET NULL,
    may_write       boolean NOT NULL DEFAULT false,
    spec            jsonb NOT NULL,
    sandbox         text,
    heartbeat_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX workloads_waiting ON workloads (id) WHERE status = 'waiting';
CREATE INDEX workloads_job ON workloads (job_id);

-- The stream's events. seq is the runner's own number within the workload
-- (a retried batch conflicts and is dropped); events the server writes
-- itself (done, job_end of a skipped job, runner lost) have no workload.
CREATE TABLE workload_events (
    id          bigserial PRIMARY KEY,
    stream_id   bigint NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
    stream_seq  bigint NOT NULL,
    workload_id bigint REFERENCES workloads(id) ON DELETE CASCADE,
    seq         bigint,
    type        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, stream_seq),
    UNIQUE (workload_id, seq)
);

-- Repository secrets, sealed with crypto_secretbox under a key derived
-- from the server key. Both columns are hex.
CREATE TABLE secrets (
    repo_id    bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name       text NOT NULL,
    nonce      text NOT NULL,
    ciphertext text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_id, name)
);

-- Commit statuses: a history per (sha, context); the newest row wins.
CREATE TABLE commit_statuses (
    id          bigserial PRIMARY KEY,
    repo_id     bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    sha         text NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'success', 'failure', 'error')),
    context     text NOT NULL,
    description text NOT NULL DEFAULT '',
    target_url  text,
    creator_id  bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commit_statuses_sha ON commit_statuses (repo_id, sha, context, id DESC);

-- Cron entries of the default branch's workflows, refreshed when the
-- dispatcher sees a push to the default branch. last_fired is the minute
-- last fired, so a minute fires once across restarts and a minute missed
-- while the server was down is not replayed.
CREATE TABLE workflow_schedules (
    repo_id       bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    workflow_path text NOT NULL,
    cron          text NOT NULL,
    commit_sha    text NOT NULL,
    last_fired    timestamptz,
    PRIMARY KEY (repo_id, workflow_path, cron)
);
