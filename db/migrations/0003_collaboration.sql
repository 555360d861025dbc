-- 0003_collaboration: issues, comments, labels, milestones, assignees,
-- mentions, reactions and the issue timeline. A pull request is an issue
-- row with is_pull = true plus a pull_requests row (a later migration)
-- keyed by issues.id: it shares the number space, comments and labels.

-- Who may open issues and comment: everyone who can read (the default) or
-- only writers.
ALTER TABLE repositories ADD COLUMN issues_open_to_readers boolean NOT NULL DEFAULT true;

-- Per-repository counters. Taking the next number is an UPSERT on this row
-- inside the creating transaction: the row lock serialises concurrent
-- creators and a rollback returns the number, so numbers are 1..N with no
-- gaps or duplicates.
CREATE TABLE repo_counters (
    repo_id        bigint PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    last_issue     bigint NOT NULL DEFAULT 0,
    last_milestone bigint NOT NULL DEFAULT 0
);

CREATE TABLE milestones (
    id          bigserial PRIMARY KEY,
    repo_id     bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    number      bigint NOT NULL,
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 256),
    description text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    due_on      date,
    closed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo_id, number)
);
CREATE UNIQUE INDEX milestones_repo_title ON milestones (repo_id, lower(title));

CREATE TABLE issues (
    id           bigserial PRIMARY KEY,
    repo_id      bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    number       bigint NOT NULL,
    is_pull      boolean NOT NULL DEFAULT false,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 256),
    body         text NOT NULL DEFAULT '',
    state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    author_id    bigint REFERENCES users(id) ON DELETE SET NULL,
    milestone_id bigint REFERENCES milestones(id) ON DELETE SET NULL,
    closed_by    bigint REFERENCES users(id) ON DELETE SET NULL,
    closed_at    timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo_id, number)
);
-- list order (created or updated, newest first) with the id as tie-break
CREATE INDEX issues_repo_created ON issues (repo_id, created_at, id);
CREATE INDEX issues_repo_updated ON issues (repo_id, updated_at, id);
CREATE INDEX issues_author ON issues (author_id);
CREATE INDEX issues_milestone ON issues (milestone_id) WHERE milestone_id IS NOT NULL;

CREATE TABLE comments (
    id         bigserial PRIMARY KEY,
    issue_id   bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    repo_id    bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    author_id  bigint REFERENCES users(id) ON DELETE SET NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    edited_at  timestamptz
);
CREATE INDEX comments_issue ON comments (issue_id, created_at, id);
CREATE INDEX comments_repo ON comments (repo_id);

CREATE TABLE labels (
    id          bigserial PRIMARY KEY,
    repo_id     bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    color       text NOT NULL DEFAULT 'ededed' CHECK (color ~ '^[0-9a-f]{6}$'),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX labels_repo_name ON labels (repo_id, lower(name));

-- deleting a label removes it from every issue
CREATE TABLE issue_labels (
    issue_id   bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    label_id   bigint NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issue_id, label_id)
);
CREATE INDEX issue_labels_label ON issue_labels (label_id);

CREATE TABLE issue_assignees (
    issue_id   bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issue_id, user_id)
);
CREATE INDEX issue_assignees_user ON issue_assignees (user_id);

-- One row per user mentioned in one body (the issue's own body when
-- comment_id is NULL); editing a body records only new mentions.
CREATE TABLE mentions (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    repo_id    bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    issue_id   bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    comment_id bigint REFERENCES comments(id) ON DELETE CASCADE,
    by_id      bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mentions_once ON mentions (user_id, issue_id, comment_id) NULLS NOT DISTINCT;
CREATE INDEX mentions_user ON mentions (user_id, id);

CREATE TABLE reactions (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issue_id   bigint REFERENCES issues(id) ON DELETE CASCADE,
    comment_id bigint REFERENCES comments(id) ON DELETE CASCADE,
    content    text NOT NULL CHECK (content IN ('+1', '-1', 'laugh', 'hooray', 'confused',
                                                'heart', 'rocket', 'eyes')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((issue_id IS NULL) <> (comment_id IS NULL))
);
CREATE UNIQUE INDEX reactions_issue_once ON reactions (issue_id, user_id, content)
    WHERE issue_id IS NOT NULL;
CREATE UNIQUE INDEX reactions_comment_once ON reactions (comment_id, user_id, content)
    WHERE comment_id IS NOT NULL;

-- The timeline besides comments. data holds what the event needs to be
-- shown after the things it names are gone (label name and colour, the
-- old and new title, the referencing issue). type is one of: closed,
-- reopened, labeled, unlabeled, assigned, unassigned, renamed, milestoned,
-- demilestoned, referenced (later also the pull request events).
CREATE TABLE issue_events (
    id         bigserial PRIMARY KEY,
    issue_id   bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    repo_id    bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    actor_id   bigint REFERENCES users(id) ON DELETE SET NULL,
    type       text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issue_events_issue ON issue_events (issue_id, created_at, id);
