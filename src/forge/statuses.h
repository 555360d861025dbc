/* statuses.h — commit statuses: CI (and anyone with write access) reports
 * the state of a commit under a context; readers see each commit's history
 * of statuses and the combined state (the newest status per context).
 * Pull requests show their head's combined status; branch protection
 * requires it (forge/protection.h). */
#ifndef PLUE_FORGE_STATUSES_H
#define PLUE_FORGE_STATUSES_H

#include "forge/forge.h"

#define STATUS_CONTEXT_MAX 255      /* bytes of a context */
#define STATUS_DESCRIPTION_MAX 1000 /* bytes of a description */
#define STATUS_URL_MAX 2000         /* bytes of a target_url */
#define STATUS_LIST_DEFAULT 30
#define STATUS_LIST_MAX 100

/* What a status says (strings borrowed; NULL or "" where optional). */
struct status_input {
	const char *state;      /* pending, success, failure or error */
	const char *context;    /* NULL or "": "default" */
	const char *description;
	const char *target_url; /* http or https */
};

/* Records a status of commit sha (40 hex digits, either case) in
 * repository repo_id as created by f->who (user 0: no user, a CI task),
 * inside the caller's transaction if one is open, with its `status`
 * event (forge_event: the dispatcher wakes at commit). No authorization:
 * for the system's own callers (the workflow runs, queue/runs.c) and
 * commit_status_create. *out (may be NULL) receives the status's id. The
 * newest status of a (sha, context) is the one that counts. 0, or
 * ERR_INVALID naming the bad field (invalid_sha, invalid_state,
 * invalid_field, invalid_url), or the database's ERR_*. */
int commit_status_set(int64_t *out, struct forge *f, int64_t repo_id, const char *sha,
		      const struct status_input *in);

/* POST .../statuses/:sha: f->who (a writer of the statuses area) records
 * a status of commit sha of repo (which must exist in the repository:
 * ERR_INVALID invalid_sha, ERR_NOTFOUND "commit 'SHA' not found in
 * 'o/r'"), in its own transaction. *out: the status as API JSON {id, sha,
 * state, context, description, target_url, creator, created_at}, a new
 * reference. 0 or ERR_*. */
int commit_status_create(json_t **out, struct forge *f, const struct repo *repo, const char *sha,
			 const struct status_input *in);

/* The statuses of commit sha of repo, newest first, at most limit
 * (1..STATUS_LIST_MAX), as a JSON array into *out (new reference). The
 * commit must exist as for commit_status_create. 0 or ERR_*. */
int commit_status_list(json_t **out, struct forge *f, const struct repo *repo, const char *sha,
		       int limit);

/* The combined status of commit sha of repo (which must exist, as
 * above) for a reader: commit_status_combined after the checks. */
int commit_status_combined_get(json_t **out, struct forge *f, const struct repo *repo,
			       const char *sha);

/* The combined status of sha in repository repo_id as API JSON into *out
 * (a new reference): {state, sha, total_count, statuses:[newest per
 * context]}. state is failure if any context failed, else error if any
 * errored, else pending if any is pending or there are none, else
 * success. No authorization (for pull requests and protection, whose
 * callers checked). 0 or ERR_*. */
int commit_status_combined(json_t **out, struct forge *f, int64_t repo_id, const char *sha);

#endif
