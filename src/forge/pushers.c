/* pushers.c — who pushed which commits: the history walks and the
 * push_commits rows of a push or a merge (forge/pushers.h). */
#include "forge/pushers.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "git/objects.h"

#include <stdlib.h>
#include <string.h>

/* The commit an object id names (a tag is followed), or false. */
static bool peel_commit(git_repository *repo, const git_oid *id, git_oid *out)
{
	git_object *o = NULL, *c = NULL;
	bool ok = git_object_lookup(&o, repo, id, GIT_OBJECT_ANY) == 0 &&
		  git_object_peel(&c, o, GIT_OBJECT_COMMIT) == 0;
	if (ok)
		git_oid_cpy(out, git_object_id(c));
	git_object_free(c);
	git_object_free(o);
	return ok;
}

/* The commits reachable from tips and from none of hide, newest first, at
 * most PUSHERS_MAX, as a PostgreSQL text[] literal into *out (arena) and
 * their number into *n. Ids that do not name commits are skipped. */
static int walk(const char **out, size_t *n, struct forge *f, git_repository *repo,
		const git_oid *tips, size_t ntips, const git_oid *hide, size_t nhide)
{
	struct err *e = f->err;
	git_revwalk *w = NULL;
	struct buf b = BUF_INIT;
	size_t cnt = 0, pushed = 0;
	git_oid id;
	int rc = 0, grc;
	if ((grc = git_revwalk_new(&w, repo)) < 0 ||
	    (grc = git_revwalk_sorting(w, GIT_SORT_TIME)) < 0) {
		rc = objects_error(e, grc, "cannot walk the history");
		goto done;
	}
	for (size_t i = 0; i < ntips; i++)
		if (peel_commit(repo, &tips[i], &id) && git_revwalk_push(w, &id) == 0)
			pushed++;
	for (size_t i = 0; i < nhide; i++)
		if (peel_commit(repo, &hide[i], &id))
			git_revwalk_hide(w, &id);
	buf_addch(&b, '{');
	while (pushed && cnt < PUSHERS_MAX && (grc = git_revwalk_next(&id, w)) == 0) {
		buf_addf(&b, "%s%s", cnt ? "," : "", git_oid_tostr_s(&id));
		cnt++;
	}
	if (pushed && cnt < PUSHERS_MAX && grc != GIT_ITEROVER) {
		rc = objects_error(e, grc, "cannot walk the history");
		goto done;
	}
	buf_addch(&b, '}');
	*out = arena_strndup(f->arena, b.ptr, b.len);
	*n = cnt;
done:
	buf_release(&b);
	git_revwalk_free(w);
	return rc;
}

int pushers_range(const char **out, struct forge *f, git_repository *grepo, const git_oid *base,
		  const git_oid *head)
{
	size_t n;
	return walk(out, &n, f, grepo, head, 1, base, 1);
}

/* Is ref one of the n names? */
static bool named(const char *ref, size_t n, const char *const *refs)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(refs[i], ref))
			return true;
	return false;
}

int pushers_record_push(struct forge *f, git_repository *repo, int64_t repo_id, size_t n,
			const char *const *refs, const char *const *olds, const char *const *news)
{
	struct arena *a = f->arena;
	struct err *e = f->err;
	int64_t pusher_id = f->who->user_id;
	git_reference_iterator *it = NULL;
	git_reference *ref;
	size_t ntips = 0, nhide = 0, hcap = n + 16, count;
	git_oid *tips = arena_alloc(a, (n + 1) * sizeof(*tips));
	git_oid *hide = xcalloc(hcap, sizeof(*hide));
	const char *shas;
	int rc = 0;
	if (!pusher_id)
		goto done; /* a task's push: no user to record */
	/* what was reachable before: the updated refs' old tips and every
	 * other ref as it is */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(news[i], SHA1_ZERO) && !git_oid_fromstr(&tips[ntips], news[i]))
			ntips++;
		if (strcmp(olds[i], SHA1_ZERO) && !git_oid_fromstr(&hide[nhide], olds[i]))
			nhide++;
	}
	if (!ntips)
		goto done;
	if (git_reference_iterator_new(&it, repo) < 0) {
		rc = objects_error(e, -1, "cannot list the references");
		goto done;
	}
	while (git_reference_next(&ref, it) == 0) {
		git_reference *res = NULL;
		if (!named(git_reference_name(ref), n, refs) &&
		    git_reference_resolve(&res, ref) == 0 && git_reference_target(res)) {
			if (nhide == hcap) {
				hcap *= 2;
				hide = xrealloc(hide, hcap * sizeof(*hide));
			}
			git_oid_cpy(&hide[nhide++], git_reference_target(res));
		}
		git_reference_free(res);
		git_reference_free(ref);
	}
	if ((rc = walk(&shas, &count, f, repo, tips, ntips, hide, nhide)) || !count)
		goto done;
	if (count == PUSHERS_MAX)
		log_warn("push to repository %lld: only the newest %d new commits record "
			 "their pusher",
			 (long long)repo_id, PUSHERS_MAX);
	if (!db_qv(f->db, a, e,
		   "INSERT INTO push_commits (repo_id, sha, pusher_id) "
		   "SELECT $1, s, $2 FROM unnest($3::text[]) s ON CONFLICT DO NOTHING",
		   arena_int(a, (long long)repo_id), arena_int(a, (long long)pusher_id), shas))
		rc = e->code;
done:
	git_reference_iterator_free(it);
	free(hide);
	return rc;
}

int pushers_record_merge(struct forge *f, git_repository *repo, int64_t repo_id,
			 const git_oid *base, const git_oid *tip, const char *merged)
{
	struct arena *a = f->arena;
	const char *made;
	size_t nmade;
	int rc;
	if ((rc = walk(&made, &nmade, f, repo, tip, 1, base, 1)))
		return rc;
	/* a commit already recorded is one the merge brought in unchanged;
	 * the ones it made (a merge, squash or rebased commit) carry what the
	 * merged commits carried */
	if (!db_qv(f->db, a, f->err,
		   "INSERT INTO push_commits (repo_id, sha, pusher_id) "
		   "SELECT $1, s, p FROM unnest($2::text[]) s, "
		   "  (SELECT $3::bigint AS p UNION SELECT pusher_id FROM push_commits "
		   "   WHERE repo_id = $1 AND sha = ANY($4::text[])) who "
		   "WHERE p IS NOT NULL AND NOT EXISTS (SELECT 1 FROM push_commits x "
		   "  WHERE x.repo_id = $1 AND x.sha = s) "
		   "ON CONFLICT DO NOTHING",
		   arena_int(a, (long long)repo_id), made, arena_id(a, (long long)f->who->user_id),
		   merged))
		return f->err->code;
	return 0;
}
