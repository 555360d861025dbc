-- 0001_core: accounts, tokens, repositories, collaborators, refs, the event outbox.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL,
    email         text,
    password_hash text,
    eth_address   text UNIQUE,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));

CREATE TABLE access_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   text NOT NULL UNIQUE,          -- SHA-256 hex of the secret
    scopes       text[] NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_tokens_user ON access_tokens (user_id);

CREATE TABLE repositories (
    id             bigserial PRIMARY KEY,
    owner_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    is_private     boolean NOT NULL DEFAULT false,
    default_branch text NOT NULL DEFAULT 'main',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX repositories_owner_name ON repositories (owner_id, lower(name));

CREATE TABLE collaborators (
    repo_id    bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_id, user_id)
);
CREATE INDEX collaborators_user ON collaborators (user_id);

-- Branch tips, updated in the same transaction as the push's events.
CREATE TABLE branches (
    repo_id    bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name       text NOT NULL,                   -- without refs/heads/
    commit_sha text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_id, name)
);

-- The outbox: one row per observable change, written in the change's
-- transaction; NOTIFY plue_events wakes the dispatcher.
CREATE TABLE events (
    id            bigserial PRIMARY KEY,
    repo_id       bigint REFERENCES repositories(id) ON DELETE CASCADE,
    type          text NOT NULL,
    actor_id      bigint REFERENCES users(id) ON DELETE SET NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz
);
CREATE INDEX events_pending ON events (id) WHERE dispatched_at IS NULL;
CREATE INDEX events_repo ON events (repo_id, id);
