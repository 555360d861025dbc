/* push.c — what a push means to the forge: branch rows, the `push`
 * events, pull requests following their branches, who pushed which
 * commits, the first push's default branch. One function for
 * receive-pack and merges alike. */
#include "forge/push.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/pushers.h"

#include <string.h>

/* The branch row of one update: upserted, or deleted with the branch. */
static int branch_row_set(struct forge *f, const struct repo *repo, const struct push_update *u)
{
	const char *rid = arena_int(f->arena, (long long)repo->id), *branch = u->ref + 11;
	PGresult *res =
		!strcmp(u->after, SHA1_ZERO)
			? db_qv(f->db, f->arena, f->err,
				"DELETE FROM branches WHERE repo_id = $1 AND name = $2", rid, branch)
			: db_qv(f->db, f->arena, f->err,
				"INSERT INTO branches (repo_id, name, commit_sha) VALUES ($1, $2, $3) "
				"ON CONFLICT (repo_id, name) DO UPDATE SET commit_sha = EXCLUDED.commit_sha, "
				"updated_at = now()",
				rid, branch, u->after);
	return res ? 0 : f->err->code;
}

/* Everything one ref's move records, in order. */
static int ref_record(struct forge *f, const struct repo *repo, git_repository *grepo,
		      const struct push_update *u, struct push_merge *merge)
{
	bool deleted = !strcmp(u->after, SHA1_ZERO), created = !strcmp(u->before, SHA1_ZERO);
	bool branch = !strncmp(u->ref, "refs/heads/", 11);
	int rc;
	if (branch && (rc = branch_row_set(f, repo, u)))
		return rc;
	json_t *p = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:I,s:b,s:b}", "ref", u->ref, "before",
			      u->before, "after", u->after, "pusher", f->who->username, "repo",
			      arena_printf(f->arena, "%s/%s", repo->owner, repo->name), "repo_id",
			      (json_int_t)repo->id, "created", created, "deleted", deleted);
	if ((rc = forge_event(NULL, f, repo->id, "push", p)))
		return rc;
	if (merge && (rc = pull_merged_record(f, repo, merge->pull, u->after, merge->method)))
		return rc;
	/* pull requests follow their branches */
	if (branch && (rc = pulls_on_push(f, repo, grepo, u->ref, u->before, u->after)))
		return rc;
	return 0;
}

/* Who pushed which commits: approvals by them do not count. */
static int pushers_record(struct forge *f, const struct repo *repo, git_repository *grepo, size_t n,
			  const struct push_update *updates, const struct push_merge *merge)
{
	if (merge)
		return pushers_record_merge(f, grepo, repo->id, &merge->base, &merge->tip,
					    merge->commits);
	const char **refs = arena_alloc(f->arena, (n + 1) * sizeof(*refs));
	const char **olds = arena_alloc(f->arena, (n + 1) * sizeof(*olds));
	const char **news = arena_alloc(f->arena, (n + 1) * sizeof(*news));
	for (size_t i = 0; i < n; i++) {
		refs[i] = updates[i].ref;
		olds[i] = updates[i].before;
		news[i] = updates[i].after;
	}
	return pushers_record_push(f, grepo, repo->id, n, refs, olds, news);
}

/* A first push that does not contain the default branch makes its first
 * branch the default, so clones get a HEAD that exists. */
static int default_branch_fix(struct forge *f, const struct repo *repo, git_repository *grepo,
			      size_t n, const struct push_update *updates)
{
	const char *want = arena_printf(f->arena, "refs/heads/%s", repo->default_branch);
	const char *first = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct push_update *u = &updates[i];
		if (strncmp(u->ref, "refs/heads/", 11) || !strcmp(u->after, SHA1_ZERO))
			continue;
		if (!strcmp(u->ref, want))
			return 0;
		if (!first)
			first = u->ref + 11;
	}
	if (!first)
		return 0;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE repositories SET default_branch = $2 WHERE id = $1",
		   arena_int(f->arena, (long long)repo->id), first))
		return f->err->code;
	git_repository_set_head(grepo, arena_printf(f->arena, "refs/heads/%s", first));
	repo_hint_forget(repo->owner, repo->name);
	return 0;
}

int push_record(struct forge *f, const struct repo *repo, git_repository *grepo, size_t n,
		const struct push_update *updates, struct push_merge *merge)
{
	const char *rid = arena_int(f->arena, (long long)repo->id);
	PGresult *nb = db_qv(f->db, f->arena, f->err,
			     "SELECT NOT EXISTS (SELECT 1 FROM branches WHERE repo_id = $1)", rid);
	if (!nb)
		return f->err->code;
	bool first = db_bool(nb, 0, 0);
	int rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = ref_record(f, repo, grepo, &updates[i], merge)))
			return rc;
	if ((rc = pushers_record(f, repo, grepo, n, updates, merge)) ||
	    (first && (rc = default_branch_fix(f, repo, grepo, n, updates))))
		return rc;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE repositories SET updated_at = now() WHERE id = $1", rid))
		return f->err->code;
	return 0;
}
