/* pulls.h — pull requests: open one for two branches of a repository,
 * list and show them (mergeability, ahead/behind, the head's statuses),
 * their files and commits, edit, close and reopen them, follow their
 * branches on push, and merge them (the merge engine, forge/merge.c).
 *
 * A pull request is an issue row (forge/issues.h: same numbers, comments,
 * labels, timeline) plus a pull_requests row. The acting user is f->who;
 * each function checks what f->who may do (authz_repo and the
 * forge_* permission helpers) and opens and commits its own transaction
 * unless it says it runs inside the caller's. JSON results are new
 * references the caller owns; strings live in f->arena. */
#ifndef PLUE_FORGE_PULLS_H
#define PLUE_FORGE_PULLS_H

#include <git2.h>

#include "forge/forge.h"
#include "forge/issues.h"

#define PULL_BRANCH_MAX 255  /* bytes of a branch name, without refs/heads/ */
#define PULL_COMMITS_MAX 250 /* commits listed per pull request */
#define PULL_PAGE_MAX 100

/* A pull request: its issue row plus the branch pair (arena strings). */
struct pull {
	struct issue is;         /* number, title, body, state, author... */
	const char *head, *base; /* branch names, without refs/heads/ */
	const char *head_sha;    /* head tip at the last push seen (or at the merge) */
	const char *base_sha;    /* base tip at the last update (before the merge) */
	bool merged;
	const char *merged_at, *merged_by, *merge_commit_sha, *merge_method; /* NULL unless merged */
	const char *mergeable, *mergeable_base, *mergeable_head, *conflicts; /* cache */
};

/* The commits a pull request is about: an open one's live branch tips
 * (head_ok / base_ok false when the branch is gone: the recorded sha is
 * used), a closed or merged one's recorded shas. */
struct pull_tips {
	git_oid head, base;
	bool head_ok, base_ok;
};

/* ---- pieces (for the reviews and the merge engine) ---- */

/* Loads pull request `number` (URL text) of repo, which f->who reads.
 * lock: FOR NO KEY UPDATE of its issue row, inside the caller's
 * transaction. ERR_NOTFOUND "pull request 'o/r#N' not found" when there
 * is none (an issue is not one). */
int pull_get(struct pull *out, struct forge *f, const struct repo *repo, const char *number,
	     bool lock);

/* Borrows this thread's handle on repo's git repository
 * (objects_repo_open; not to be freed); a vanished directory is
 * ERR_NOTFOUND "repository 'o/r' not found". */
int pull_repo_open(git_repository **out, struct forge *f, const struct repo *repo);

/* The tips of p in grepo (see struct pull_tips). 0 or ERR_*. */
int pull_tips_get(struct pull_tips *out, struct forge *f, git_repository *grepo,
		  const struct pull *p);

/* The payload of a `pull_request` / `pull_request.review` event with
 * f->who as sender: {action, number, pull_request {number, title, body,
 * state, author, merged, head_ref, head_sha, base_ref, base_sha, url,
 * html_url, merge_commit_sha?}, repository, sender, base, head_ref,
 * head_sha}. New reference. */
json_t *pull_payload(struct forge *f, const struct repo *repo, const struct pull *p,
		     const char *action);

/* ---- the API's operations ---- */

/* What opens a pull request: title and body validated by the caller's
 * edge as for issues (ISSUE_TITLE_MAX, ISSUE_BODY_MAX); head and base are
 * branch names (without refs/heads/; base NULL: the default branch). */
struct pull_new {
	const char *title, *body;
	const char *head, *base;
};

/* Opens a pull request of head into base in repo by f->who (who may take
 * part: forge_can_participate). Both branches must exist (ERR_INVALID
 * unknown_branch), differ (same_branch), share history
 * (unrelated_histories) and head must bring commits (no_commits); an
 * open pull request for the same pair is ERR_EXISTS pull_exists. Records
 * mentions, cross-references and a `pull_request` "opened" event, in one
 * transaction. *out: the pull request as API JSON (pull_json_get). */
int pull_create(json_t **out, struct forge *f, const struct repo *repo, const struct pull_new *in);

/* Which pull requests pull_list returns: state "open" (NULL), "closed"
 * (merged ones included), "merged" or "all" (else ERR_INVALID
 * invalid_state); head / base branch filters (NULL:
 * any); at most limit (1..PULL_PAGE_MAX), newest first, after the cursor
 * (after_key: creation time in microseconds, after_id) when after_set. */
struct pull_query {
	const char *state, *head, *base;
	int limit;
	bool after_set;
	long long after_key, after_id;
};
/* One page: items (a JSON array, new reference) and, when more follow,
 * the cursor of the last item (next_key, next_id). */
struct pull_page {
	json_t *items;
	bool more;
	long long next_key, next_id;
};
/* Lists repo's pull requests (f->who reads repo) as API JSON without the
 * git-derived fields. 0 or ERR_*. */
int pull_list(struct pull_page *out, struct forge *f, const struct repo *repo,
	      const struct pull_query *q);

/* Pull request `number` of repo as API JSON: its issue JSON plus url,
 * merged*, head/base {ref, sha, exists}, mergeable and conflicts (cached
 * per tips: computed and stored when the tips moved), ahead_by,
 * behind_by, commits, changed_files, additions, deletions and statuses
 * (the head's combined status). 0 or ERR_*. */
int pull_json_get(json_t **out, struct forge *f, const struct repo *repo, const char *number);

/* The files the pull request changes (merge base to head), as the API's
 * JSON array (git/objects.h objects_diff_file_json; patch text capped per
 * answer). 0, ERR_CONFLICT unrelated_histories, or ERR_*. */
int pull_files(json_t **out, struct forge *f, const struct repo *repo, const char *number);

/* The diff of p (loaded with pull_get), merge base to head, for a caller
 * that renders it patch by patch (the pages) instead of as JSON;
 * *out_head receives the head's sha (arena). The caller frees *out with
 * git_diff_free. 0, ERR_CONFLICT unrelated_histories, or ERR_*. */
int pull_diff(git_diff **out, const char **out_head, struct forge *f, const struct repo *repo,
	      const struct pull *p);

/* What opening a pull request of head into base would propose, before it
 * exists (the compare page): both branches' tips, ahead/behind, the
 * commits (objects_commit_json, oldest first, at most PULL_COMMITS_MAX;
 * total: how many) and the diff (merge base to head; the caller frees it
 * with git_diff_free, and owns the commits' reference), and the number
 * of an open pull request for the same pair (0: none). Refusals are
 * pull_create's: same_branch, unknown_branch, unrelated_histories,
 * no_commits (ERR_INVALID). Needs read access. 0 or ERR_*. */
struct pull_compare {
	const char *head_sha, *base_sha;
	size_t ahead, behind;
	json_t *commits;
	size_t total;
	git_diff *diff;
	long long existing;
};
int pull_compare(struct pull_compare *out, struct forge *f, const struct repo *repo,
		 const char *head, const char *base);

/* The commits the pull request brings, oldest first, at most
 * PULL_COMMITS_MAX, as a JSON array; *out_total: how many there are. */
int pull_commits(json_t **out, size_t *out_total, struct forge *f, const struct repo *repo,
		 const char *number);

/* An edit: NULL fields stay as they are. state is "open" or "closed"
 * (else ERR_INVALID invalid_state). */
struct pull_update {
	const char *title, *body, *state;
};
/* Edits, closes or reopens pull request `number` of repo: its author
 * while readers may take part, or a writer (forge_require_author). A
 * merged one cannot be closed or reopened (ERR_CONFLICT already_merged);
 * reopening needs both branches (branch_missing) and no other open pull
 * request for them (ERR_EXISTS pull_exists), and takes the branches'
 * tips. Writes the timeline (renamed, closed, reopened), mentions,
 * cross-references and `pull_request` events (edited with changes,
 * closed, reopened) in one transaction. *out: pull_json_get's JSON. */
int pull_update(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		const struct pull_update *in);

/* ---- pushes (inside the push's transaction; no authorization) ---- */

/* Called by push_record (forge/push.h) for every branch update a push
 * applied (ref "refs/heads/…", before/after 40 hex, SHA1_ZERO for
 * creation/deletion) to repo, whose git repository is grepo, pushed by
 * f->who. Open pull requests whose head is that branch take the new head
 * sha, their inline comments on lines the push changed are marked
 * outdated (the others follow their line), and a `pull_request` event
 * with action "synchronize" is written; open pull requests whose base
 * moved so that it now contains their head are closed as merged (method
 * "push", action "merged"). 0 or ERR_*; the caller rolls back. */
int pulls_on_push(struct forge *f, const struct repo *repo, git_repository *grepo, const char *ref,
		  const char *before, const char *after);

/* Records p (open, loaded with pull_get) as merged by f->who into
 * merge_sha with method ("merge", "squash", "rebase" or "push"): the
 * pull_requests row (merged_at, merged_by, head_sha and base_sha as p
 * holds them), the issue closed (issue_state_set), a `merged` timeline
 * row and the `pull_request` "merged" event; p is updated to match.
 * Inside the caller's transaction. 0 or ERR_*. */
int pull_merged_record(struct forge *f, const struct repo *repo, struct pull *p,
		       const char *merge_sha, const char *method);

/* ---- merging (forge/merge.c) ---- */

/* How to merge: method "merge" (NULL), "squash" or "rebase" (else
 * ERR_INVALID invalid_method); the commit's title and message (NULL:
 * the defaults: "Merge pull request #N from HEAD" and the title, or for
 * a squash "TITLE (#N)" and one line per commit); sha, when set, the
 * head the caller saw (ERR_INVALID invalid_sha when not 40 hex,
 * ERR_CONFLICT head_moved when the head has moved since). */
struct pull_merge_opts {
	const char *method;
	const char *title, *message;
	const char *sha;
};
/* A merge's outcome. On ERR_CONFLICT "merge_conflict", conflicts lists
 * the conflicting paths (arena; the API shows them beside the error). */
struct pull_merge_result {
	int64_t number;     /* the pull request's */
	const char *sha;    /* the base's new tip */
	const char *method; /* "merge", "squash" or "rebase" */
	const char **conflicts;
	size_t nconflicts;
};
/* Merges pull request `number` of repo as f->who (a writer of its pull
 * requests and contents). Merges into one repository take turns (an
 * advisory lock for the transaction). The pull request must be open with
 * both branches present; the base's protection must be satisfied
 * (protection_check_merge: approvals, statuses). The merge, squash or
 * rebase commits are built (git/merge.h), the base branch moves by
 * compare-and-swap from the tip the merge was built on (ERR_CONFLICT
 * base_moved when a push won the race), and everything is recorded in
 * one transaction exactly as a push of that branch is (push_record:
 * branch row, `push` event, the pull request merged, the other pull
 * requests following, pushers); if recording fails, the branch is put
 * back unless something moved it again. 0 or ERR_* (already_merged,
 * pull_closed, branch_missing, head_moved, protected_branch,
 * merge_conflict, not_rebaseable, nothing_to_merge, base_moved). */
int pull_merge(struct pull_merge_result *out, struct forge *f, const struct repo *repo,
	       const char *number, const struct pull_merge_opts *opts);

/* What pull_merge would refuse before it builds anything, for showing
 * beside the merge buttons: f->who's right to merge, the pull request's
 * state and branches, and the base's protection (approvals, statuses).
 * Conflicts are not tried here (pull_json_get's mergeable says). Changes
 * nothing. 0 when a merge may be tried, else pull_merge's ERR_* and
 * message (ERR_PERM/ERR_AUTH, already_merged, pull_closed,
 * branch_missing, protected_branch). */
int pull_merge_check(struct forge *f, const struct repo *repo, const char *number);

#endif
