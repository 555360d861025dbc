-- 0011_agents: agent sessions. A session is a conversation between a
-- person (or a workflow's actor) and a model about one repository; each
-- message a person sends starts a turn, an `agent` workload that a runner
-- claims like a workflow job. The session's events (message_start, token,
-- tool_start, tool_end, message_end, done, error, aborted) go to its own
-- stream — or, for a session an agent-mode workflow started, to its run's.
-- Messages and their parts are the persisted history the model is asked
-- about on the next turn and the API returns.
CREATE TABLE agent_sessions (
    id                bigserial PRIMARY KEY,
    repo_id           bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    -- whose authority the tools act with: the person who created the
    -- session, or the actor of the event that started the workflow
    creator_id        bigint REFERENCES users(id) ON DELETE SET NULL,
    run_id            bigint REFERENCES workflow_runs(id) ON DELETE CASCADE,
    title             text NOT NULL,
    provider          text,                 -- NULL: the server's
    model             text NOT NULL,
    system_prompt     text,
    tools             text[] NOT NULL DEFAULT '{}',
    max_turns         integer NOT NULL DEFAULT 20,
    timeout_s         integer NOT NULL DEFAULT 600,
    max_output_tokens integer NOT NULL DEFAULT 4096,
    archived          boolean NOT NULL DEFAULT false,
    stream_id         bigint NOT NULL REFERENCES streams(id),
    workload_id       bigint,               -- the last turn's (no FK: rows cross-refer)
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_sessions_repo ON agent_sessions (repo_id, creator_id, id DESC);
CREATE INDEX agent_sessions_run ON agent_sessions (run_id) WHERE run_id IS NOT NULL;

-- A user message, or one reply of the model (one model call). A turn is
-- the user message and the assistant messages its workload produced; the
-- results of an assistant message's tool calls are parts of that message.
CREATE TABLE messages (
    id                 bigserial PRIMARY KEY,
    session_id         bigint NOT NULL REFERENCES agent_sessions(id) ON DELETE CASCADE,
    workload_id        bigint REFERENCES workloads(id) ON DELETE SET NULL,
    turn               integer,             -- assistant: the model call's number in its workload
    role               text NOT NULL CHECK (role IN ('user', 'assistant')),
    status             text NOT NULL DEFAULT 'complete'
                       CHECK (status IN ('streaming', 'complete', 'aborted', 'error')),
    author_id          bigint REFERENCES users(id) ON DELETE SET NULL,
    model              text,
    stop_reason        text,
    error              text,                -- why it ended so (status error/aborted)
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cost_micro_usd     bigint,              -- NULL: the model's price is not known
    created_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    UNIQUE (workload_id, turn)
);
CREATE INDEX messages_session ON messages (session_id, id);

CREATE TABLE parts (
    id          bigserial PRIMARY KEY,
    message_id  bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    idx         integer NOT NULL,
    type        text NOT NULL CHECK (type IN ('text', 'tool_use', 'tool_result')),
    text        text,                       -- text; tool_result: the output
    tool_use_id text,                       -- tool_use: its id; tool_result: the id it answers
    name        text,                       -- tool_use: the tool
    input       jsonb,                      -- tool_use: the arguments
    is_error    boolean NOT NULL DEFAULT false,
    duration_ms integer,
    UNIQUE (message_id, idx)
);
CREATE UNIQUE INDEX parts_result ON parts (message_id, tool_use_id) WHERE type = 'tool_result';

-- Which session an agent workload is a turn of, and whose authority its
-- task token carries (a forge tool or a push through it does only what
-- that person may).
ALTER TABLE workloads ADD COLUMN session_id bigint REFERENCES agent_sessions(id) ON DELETE CASCADE;
ALTER TABLE workloads ADD COLUMN actor_id bigint REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX workloads_session ON workloads (session_id) WHERE session_id IS NOT NULL;
