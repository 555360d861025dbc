/* pushers.h — who pushed which commits (table push_commits), for the rule
 * that approvals by anyone who pushed commits of a pull request do not
 * count (forge/protection.h). A push records its pusher for the commits
 * it made reachable; a merge through the forge records its merger, and
 * the pushers of the merged commits, for the commits it creates. Both
 * are called by push_record (forge/push.h) inside the push's transaction;
 * none checks authorization (the push or merge was allowed). */
#ifndef PLUE_FORGE_PUSHERS_H
#define PLUE_FORGE_PUSHERS_H

#include <git2.h>

#include "forge/forge.h"

/* Commits recorded per push or merge at most (the newest). */
#define PUSHERS_MAX 10000

/* Records f->who (user 0: a task, nothing recorded) as a pusher of every
 * commit a push made reachable in repository repo_id (grepo): those
 * reachable from one of the n updated refs' new tips (news[i], 40 hex;
 * zeros for a deletion) and from none of the refs as they were before
 * (the updated refs at olds[i], every other ref as it is). Call it after
 * the refs moved. 0 or ERR_*. */
int pushers_record_push(struct forge *f, git_repository *grepo, int64_t repo_id, size_t n,
			const char *const *refs, const char *const *olds, const char *const *news);

/* After a merge moved a base from `base` to `tip`: the commits the merge
 * made (reachable from tip, not from base, and with no recorded pusher)
 * are recorded as pushed by f->who (user 0: none) and by every recorded
 * pusher of the merged commits (merged: pushers_range of base and the
 * merged head), so a squash or a rebase does not launder who pushed
 * them. 0 or ERR_*. */
int pushers_record_merge(struct forge *f, git_repository *grepo, int64_t repo_id,
			 const git_oid *base, const git_oid *tip, const char *merged);

/* The commits of a pull request (reachable from head, not from base; at
 * most PUSHERS_MAX, the newest) as a PostgreSQL text[] literal into *out
 * (f->arena), for protection_check_merge and pushers_record_merge. 0 or
 * ERR_*. */
int pushers_range(const char **out, struct forge *f, git_repository *grepo, const git_oid *base,
		  const git_oid *head);

#endif
