-- 0007_authz: who pushed which commits. A push records its pusher for
-- every commit it made reachable in the repository (reachable from none of
-- the refs before it); a merge through the API records its merger, and the
-- pushers of the merged commits, for the commits it creates. Approvals of a
-- pull request by anyone who pushed one of its commits do not count toward
-- a protected branch's required approvals. Commits pushed before this
-- migration have no recorded pusher.
CREATE TABLE push_commits (
    repo_id   bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    sha       text NOT NULL CHECK (sha ~ '^[0-9a-f]{40}$'),
    pusher_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pushed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repo_id, sha, pusher_id)
);
