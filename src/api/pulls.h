/* pulls.h — what the pull request module offers the rest of Plue: commit
 * statuses (for CI), the hook into the push path (pull requests follow
 * their branches), and branch protection rules (for the pre-receive hook
 * and API merges). The HTTP handlers themselves are declared in api.h. */
#ifndef PLUE_PULLS_H
#define PLUE_PULLS_H

#include <git2.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/collab.h"
#include "base/arena.h"
#include "base/err.h"
#include "http/http.h"

/* ---- commit statuses (api/statuses.c) ---- */

/* Records a status of commit sha (40 hex digits, either case) in
 * repository repo_id, inside the caller's transaction if one is open:
 * state is pending, success, failure or error; context defaults to
 * "default" when NULL or empty (at most 255 bytes); description (at most
 * 1000 bytes) and target_url (http or https, at most 2000 bytes) may be
 * NULL; creator_id 0 means no user (a CI task). Also writes a `status`
 * event row (the caller sends NOTIFY if it wants the dispatcher woken).
 * The newest status of a (sha, context) is the one that counts. 0, or
 * ERR_INVALID naming the bad field, or the database's ERR_*. */
int commit_status_set(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		      const char *sha, const char *state, const char *context,
		      const char *description, const char *target_url, int64_t creator_id);

/* The combined status of sha as API JSON into *out (a new reference):
 * {state, sha, total_count, statuses:[newest per context]}. state is
 * failure if any context failed, else error if any errored, else pending
 * if any is pending or there are none, else success. 0 or ERR_*. */
int commit_status_combined(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			   const char *sha, json_t **out);

/* ---- the push path (api/pulls.c) ---- */

/* Called for every branch update a push applied (ref "refs/heads/…",
 * before/after 40 hex, all zeros for creation/deletion), inside the push's
 * transaction. Open pull requests whose head is that branch take the new
 * head sha, their inline comments on lines the push changed are marked
 * outdated (the others follow their line), and a `pull_request` event with
 * action "synchronize" is written; open pull requests whose base moved so
 * that it now contains their head are closed as merged (action "merged").
 * pusher_id 0: no user (a CI task). 0 or ERR_*; the caller rolls back. */
int pulls_on_push(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, const char *ref,
		  const char *before, const char *after, int64_t pusher_id);

/* ---- who pushed which commits (api/pushers.c) ---- */

/* Commits recorded per push or merge at most (the newest). */
#define PUSHERS_MAX 10000

/* Records pusher_id (0: a task, nothing recorded) as a pusher of every
 * commit a push made reachable in repository repo_id: those reachable from
 * one of the n updated refs' new tips (news[i], 40 hex; zeros for a
 * deletion) and from none of the refs as they were before (the updated
 * refs at olds[i], every other ref of repo as it is). Call it after the
 * refs moved, inside the push's transaction. 0 or ERR_*. */
int pushers_record_push(PGconn *db, struct arena *a, struct err *e, git_repository *repo,
			int64_t repo_id, int64_t pusher_id, size_t n, const char *const *refs,
			const char *const *olds, const char *const *news);

/* After a merge through the API moved a base from `base` to `tip`: the
 * commits the merge made (reachable from tip, not from base, and with no
 * recorded pusher) are recorded as pushed by merger_id (0: none) and by
 * every recorded pusher of the merged commits (base..head), so a squash
 * or a rebase does not launder who pushed them. 0 or ERR_*. */
int pushers_record_merge(PGconn *db, struct arena *a, struct err *e, git_repository *repo,
			 int64_t repo_id, int64_t merger_id, const git_oid *base,
			 const git_oid *head, const git_oid *tip);

/* The commits of a pull request (reachable from head, not from base; at
 * most PUSHERS_MAX, the newest) as a PostgreSQL text[] literal into *out
 * (arena), for protection_check_merge. 0 or ERR_*. */
int pushers_range(struct arena *a, git_repository *repo, const git_oid *base,
		  const git_oid *head, const char **out, struct err *e);

/* ---- shared by the pull request and review handlers (api/pulls.c) ---- */

/* A pull request: its issue row plus the branch pair (arena strings). */
struct pull {
	struct issue is;          /* number, title, body, state, author... */
	const char *head, *base;  /* branch names, without refs/heads/ */
	const char *head_sha;     /* head tip at the last push seen (or at the merge) */
	const char *base_sha;     /* base tip at the last update (before the merge) */
	bool merged;
	const char *merged_at, *merged_by, *merge_commit_sha, *merge_method; /* NULL unless merged */
	const char *mergeable, *mergeable_base, *mergeable_head, *conflicts; /* cache */
};

/* Loads pull request `number` (URL text) of r->repo. ERR_NOTFOUND "pull
 * request 'o/r#N' not found" when there is none (an issue is not one). */
int pull_load(struct req *r, const char *number, struct pull *out);

/* The commits a pull request is about: an open one's live branch tips
 * (head_ok / base_ok false when the branch is gone: the recorded sha is
 * used), a closed or merged one's recorded shas. */
struct pull_tips {
	git_oid head, base;
	bool head_ok, base_ok;
};
int pull_tips_get(struct req *r, git_repository *repo, const struct pull *p,
		  struct pull_tips *out);

/* The payload of a `pull_request` / `pull_request.review` event:
 * {action, number, pull_request {number, title, body, state, author,
 * merged, head_ref, head_sha, base_ref, base_sha, url, html_url},
 * repository, sender, base, head_ref, head_sha}. New reference. */
json_t *pull_payload(const struct repo *repo, const struct pull *p, const char *action,
		     const char *sender);

/* Opens r->repo's repository for this thread; a vanished directory is the
 * repository not being there. */
int pull_repo_open(struct req *r, git_repository **out);

/* ---- branch protection (api/protection.c) ---- */

/* The rules of every pattern that matches a branch, combined: flags are
 * or-ed, the largest approval count wins, contexts are the union. */
struct protection {
	bool any;                 /* some pattern matched */
	const char *patterns;     /* the matching patterns, comma separated (arena) */
	bool no_force_push;
	bool no_deletion;
	int required_approvals;
	bool require_passing_statuses; /* every status of the head must be success */
	const char **contexts;    /* contexts that must be success on the head (arena) */
	size_t ncontexts;
};

/* True when direct pushes to the branch are refused: merges must go
 * through a pull request (approvals or statuses are required). */
bool protection_needs_pull(const struct protection *p);

/* Loads the rules for branch (without refs/heads/) of repo_id into *out.
 * 0 or ERR_*. */
int protection_get(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		   const char *branch, struct protection *out);

/* Checks a merge into a protected base against its rules: enough
 * approving reviews on head_sha and passing statuses on head_sha. Each
 * reviewer's latest verdict counts, and only while the reviewer still has
 * write access to the repository (authz_repo, now). An approval counts
 * when it was given on head_sha (not an earlier head) by someone who
 * pushed none of the pull request's commits (commits: pushers_range's
 * literal); a request for changes blocks. 0, or ERR_CONFLICT slug
 * "protected_branch" with a message saying what is missing and, for
 * approvals, whose did not count and why. */
int protection_check_merge(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			   const struct protection *p, int64_t pull_id, const char *head_sha,
			   const char *commits);

#endif
