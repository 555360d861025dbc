-- 0005_pulls: pull requests (an issues row with is_pull = true plus the
-- branch pair here), reviews and their inline comments, protected
-- branches. Commit statuses are in 0004_execution.

CREATE TABLE pull_requests (
    issue_id         bigint PRIMARY KEY REFERENCES issues(id) ON DELETE CASCADE,
    repo_id          bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    head_branch      text NOT NULL,                 -- without refs/heads/
    base_branch      text NOT NULL,
    head_sha         text NOT NULL,                 -- the head tip at the last push seen
    base_sha         text NOT NULL,                 -- the base tip at the last update
    merged           boolean NOT NULL DEFAULT false,
    merged_at        timestamptz,
    merged_by        bigint REFERENCES users(id) ON DELETE SET NULL,
    merge_commit_sha text,                          -- the commit base moved to
    merge_method     text CHECK (merge_method IN ('merge', 'squash', 'rebase', 'push')),
    -- mergeability of (mergeable_base, mergeable_head), recomputed when
    -- either tip differs: 'clean', 'conflicts' or 'unrelated'
    mergeable        text,
    mergeable_base   text,
    mergeable_head   text,
    conflicts        jsonb,
    CHECK (head_branch <> base_branch)
);
CREATE INDEX pull_requests_head ON pull_requests (repo_id, head_branch);
CREATE INDEX pull_requests_base ON pull_requests (repo_id, base_branch);

CREATE TABLE reviews (
    id           bigserial PRIMARY KEY,
    pull_id      bigint NOT NULL REFERENCES pull_requests(issue_id) ON DELETE CASCADE,
    repo_id      bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    author_id    bigint REFERENCES users(id) ON DELETE SET NULL,
    state        text NOT NULL CHECK (state IN ('approved', 'changes_requested', 'commented')),
    body         text NOT NULL DEFAULT '',
    commit_sha   text NOT NULL,                     -- the head the review looked at
    submitted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_pull ON reviews (pull_id, id);

-- An inline comment is anchored to (path, commit, side, line) of the pull
-- request's diff: RIGHT lines are numbered in the head's file, LEFT lines
-- in the merge base's (old_path). When a push moves the head, a comment
-- whose line the push changed becomes outdated (kept, never deleted);
-- the others follow their line (commit_sha, base_sha and line move, the
-- original_* columns keep where it was written).
CREATE TABLE review_comments (
    id                  bigserial PRIMARY KEY,
    review_id           bigint NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
    pull_id             bigint NOT NULL REFERENCES pull_requests(issue_id) ON DELETE CASCADE,
    repo_id             bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    author_id           bigint REFERENCES users(id) ON DELETE SET NULL,
    path                text NOT NULL,
    old_path            text NOT NULL,
    side                text NOT NULL CHECK (side IN ('LEFT', 'RIGHT')),
    original_commit_sha text NOT NULL,
    commit_sha          text NOT NULL,
    base_sha            text NOT NULL,
    original_line       integer NOT NULL CHECK (original_line > 0),
    line                integer NOT NULL CHECK (line > 0),
    diff_hunk           text NOT NULL DEFAULT '',
    body                text NOT NULL,
    outdated            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_comments_pull ON review_comments (pull_id, id);
CREATE INDEX review_comments_review ON review_comments (review_id);

-- Rules per branch glob; every rule whose pattern matches a branch applies.
CREATE TABLE protected_branches (
    id                       bigserial PRIMARY KEY,
    repo_id                  bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    pattern                  text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 255),
    no_force_push            boolean NOT NULL DEFAULT true,
    no_deletion              boolean NOT NULL DEFAULT true,
    required_approvals       integer NOT NULL DEFAULT 0 CHECK (required_approvals BETWEEN 0 AND 20),
    require_passing_statuses boolean NOT NULL DEFAULT false,
    required_status_contexts text[] NOT NULL DEFAULT '{}',
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repo_id, pattern)
);
