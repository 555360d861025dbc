/* push.h — recording a push: the one function that writes what a branch
 * or tag moving means to the forge, called by receive-pack (HTTP and SSH,
 * through git_push_record in git/transport.h) and by merges
 * (forge/merge.c), so that a merge's effects are exactly a push's. */
#ifndef PLUE_FORGE_PUSH_H
#define PLUE_FORGE_PUSH_H

#include <git2.h>

#include "forge/forge.h"
#include "forge/pulls.h"

/* One ref a push moved: full name, and the tips before and after (40
 * hex; SHA1_ZERO for a created ref's before and a deleted ref's after). */
struct push_update {
	const char *ref;
	const char *before, *after;
};

/* A merge through the forge that moved the one updated ref: the pull
 * request it merged (open, as pull_get loaded it; updated in place),
 * the method's name, the commits the merge built on (base) and produced
 * (tip), and the commits it merged (pushers_range, forge/pushers.h). */
struct push_merge {
	struct pull *pull;
	const char *method;
	git_oid base, tip;
	const char *commits;
};

/* Records that the n refs of updates moved in repo (grepo, the thread's
 * handle) as f->who pushed them, inside the caller's transaction:
 * for each ref in order, its `branches` row (upserted, or deleted with
 * the branch), one `push` event {ref, before, after, pusher, repo,
 * repo_id, created, deleted} (forge_event), then for merge (n is 1) the
 * pull request merged (pull_merged_record), then the pull requests that
 * follow the branch (pulls_on_push); then the pushers of the new commits
 * (pushers_record_push, or pushers_record_merge for a merge); a first
 * push that does not contain the default branch makes its first branch
 * the default (repositories row, the repository's HEAD,
 * repo_hint_forget); the repository's updated_at moves. After the
 * caller commits, maintain_note_push (git/maintain.h) notes the push for
 * housekeeping. No authorization: the transport or the merge decided.
 * 0 or ERR_*; the caller rolls back. */
int push_record(struct forge *f, const struct repo *repo, git_repository *grepo, size_t n,
		const struct push_update *updates, struct push_merge *merge);

#endif
