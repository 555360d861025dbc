/* pulls.c — pull requests: loading one with its tips, their JSON
 * (mergeability cached per tips, ahead/behind, diff size, the head's
 * statuses), opening, listing, editing, closing and reopening them, and
 * how they follow their branches when a push moves them. The merge
 * engine is in forge/merge.c. */
#include "forge/pulls.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/statuses.h"
#include "git/merge.h"
#include "git/objects.h"

#include <stdlib.h>
#include <string.h>

#define PATCH_TOTAL_MAX (2 * 1024 * 1024) /* patch text per files answer */

/* Columns of a pull_requests row (alias p, merger mu), in their one
 * declared order (enum pull_col, relative to where they start). */
#define PULL_COLS                                                                                  \
	"p.head_branch, p.base_branch, p.head_sha, p.base_sha, p.merged, " SQL_TS(                 \
		"p.merged_at") ", mu.username, p.merge_commit_sha, p.merge_method, "               \
			       "p.mergeable, p.mergeable_base, p.mergeable_head, p.conflicts::text"
#define PULL_FROM "pull_requests p LEFT JOIN users mu ON mu.id = p.merged_by"
enum pull_col {
	PULL_COL_HEAD,
	PULL_COL_BASE,
	PULL_COL_HEAD_SHA,
	PULL_COL_BASE_SHA,
	PULL_COL_MERGED,
	PULL_COL_MERGED_AT,
	PULL_COL_MERGED_BY,
	PULL_COL_MERGE_SHA,
	PULL_COL_MERGE_METHOD,
	PULL_COL_MERGEABLE,
	PULL_COL_MERGEABLE_BASE,
	PULL_COL_MERGEABLE_HEAD,
	PULL_COL_CONFLICTS,
};

static const char *oid_hex(struct arena *a, const git_oid *id)
{
	char *hex = arena_alloc(a, GIT_OID_HEXSZ + 1);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, id);
	return hex;
}

/* The PULL_COLS of row, starting at column off, into p. */
static void pull_fill(struct pull *p, struct arena *a, const PGresult *res, int row, int off)
{
#define V(i) (db_val(res, row, off + (i)) ? arena_strdup(a, db_val(res, row, off + (i))) : NULL)
	p->head = V(PULL_COL_HEAD);
	p->base = V(PULL_COL_BASE);
	p->head_sha = V(PULL_COL_HEAD_SHA);
	p->base_sha = V(PULL_COL_BASE_SHA);
	p->merged = db_bool(res, row, off + PULL_COL_MERGED);
	p->merged_at = V(PULL_COL_MERGED_AT);
	p->merged_by = V(PULL_COL_MERGED_BY);
	p->merge_commit_sha = V(PULL_COL_MERGE_SHA);
	p->merge_method = V(PULL_COL_MERGE_METHOD);
	p->mergeable = V(PULL_COL_MERGEABLE);
	p->mergeable_base = V(PULL_COL_MERGEABLE_BASE);
	p->mergeable_head = V(PULL_COL_MERGEABLE_HEAD);
	p->conflicts = V(PULL_COL_CONFLICTS);
#undef V
}

int pull_get(struct pull *out, struct forge *f, const struct repo *repo, const char *number,
	     bool lock)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	rc = issue_get(&out->is, f, repo, number, lock);
	if (rc == ERR_NOTFOUND || (!rc && !out->is.is_pull)) {
		err_clear(f->err);
		return err_set(f->err, ERR_NOTFOUND, NULL, "pull request '%s/%s#%.40s' not found",
			       repo->owner, repo->name, number);
	}
	if (rc)
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " PULL_COLS " FROM " PULL_FROM " WHERE p.issue_id = $1",
			      arena_int(f->arena, (long long)out->is.id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "pull request '%s/%s#%.40s' not found",
			       repo->owner, repo->name, number);
	pull_fill(out, f->arena, res, 0, 0);
	return 0;
}

int pull_repo_open(git_repository **out, struct forge *f, const struct repo *repo)
{
	struct err e = { 0 };
	int rc = objects_repo_open(out, repo->disk_path, &e);
	if (rc == ERR_NOTFOUND)
		return err_set(f->err, ERR_NOTFOUND, NULL, "repository '%s/%s' not found",
			       repo->owner, repo->name);
	if (rc)
		*f->err = e;
	return rc;
}

/* 1 with *out set, 0 when the branch does not exist, or an ERR_*. */
static int branch_tip(git_oid *out, struct forge *f, git_repository *grepo, const char *branch)
{
	int grc = git_reference_name_to_id(out, grepo,
					   arena_printf(f->arena, "refs/heads/%s", branch));
	if (grc == 0)
		return 1;
	if (grc == GIT_ENOTFOUND || grc == GIT_EINVALIDSPEC)
		return 0;
	return objects_error(f->err, grc, "cannot read branch '%.200s'", branch);
}

int pull_tips_get(struct pull_tips *out, struct forge *f, git_repository *grepo, const struct pull *p)
{
	memset(out, 0, sizeof(*out));
	bool live = !strcmp(p->is.state, "open") && !p->merged;
	int rc;
	if (live) {
		if ((rc = branch_tip(&out->head, f, grepo, p->head)) < 0)
			return rc;
		out->head_ok = rc;
		if ((rc = branch_tip(&out->base, f, grepo, p->base)) < 0)
			return rc;
		out->base_ok = rc;
	}
	if (!out->head_ok && git_oid_fromstrn(&out->head, p->head_sha, GIT_OID_HEXSZ) < 0)
		return err_set(f->err, ERR_INTERNAL, NULL, "pull request has a bad head sha");
	if (!out->base_ok && git_oid_fromstrn(&out->base, p->base_sha, GIT_OID_HEXSZ) < 0)
		return err_set(f->err, ERR_INTERNAL, NULL, "pull request has a bad base sha");
	if (!live)
		out->head_ok = out->base_ok = true;
	return 0;
}

/* The pull request's url (the API's) and html_url, set on o. */
static void pull_urls_set(json_t *o, struct arena *a, const struct repo *repo, const struct pull *p)
{
	const char *path = arena_printf(a, "/%s/%s/pulls/%lld", repo->owner, repo->name,
					(long long)p->is.number);
	json_object_set_new(o, "url", json_string(forge_url(a, arena_printf(a, "/api%s", path))));
	json_object_set_new(o, "html_url", json_string(forge_url(a, path)));
}

json_t *pull_payload(struct forge *f, const struct repo *repo, const struct pull *p,
		     const char *action)
{
	json_t *pr = issue_payload(repo, &p->is);
	pull_urls_set(pr, f->arena, repo, p);
	json_object_set_new(pr, "merged", json_boolean(p->merged));
	json_object_set_new(pr, "head_ref", json_string(p->head));
	json_object_set_new(pr, "head_sha", json_string(p->head_sha));
	json_object_set_new(pr, "base_ref", json_string(p->base));
	json_object_set_new(pr, "base_sha", json_string(p->base_sha));
	if (p->merge_commit_sha)
		json_object_set_new(pr, "merge_commit_sha", json_string(p->merge_commit_sha));
	return json_pack("{s:s,s:I,s:o,s:o,s:s?,s:s,s:s,s:s}", "action", action, "number",
			 (json_int_t)p->is.number, "pull_request", pr, "repository",
			 repo_payload(repo), "sender", f->who->username, "base", p->base,
			 "head_ref", p->head, "head_sha", p->head_sha);
}

/* ---- JSON ---- */

/* Does p's cached mergeability belong to the tips bh (base) and hh (head)? */
static bool mergeable_cached(const struct pull *p, const char *bh, const char *hh)
{
	return p->mergeable && p->mergeable_base && p->mergeable_head &&
	       !strcmp(p->mergeable_base, bh) && !strcmp(p->mergeable_head, hh);
}

/* Adds mergeable and conflicts of an open pull request whose branches
 * both exist to o: from the cache when it belongs to these tips (bh, hh),
 * else from ms (a trial merge of them), which is stored for next time. */
static void mergeable_add(json_t *o, struct forge *f, const struct pull *p, const char *bh,
			  const char *hh, const struct merge_state *ms)
{
	if (mergeable_cached(p, bh, hh)) {
		json_object_set_new(o, "mergeable", json_string(p->mergeable));
		json_t *c = p->conflicts ? json_loads(p->conflicts, 0, NULL) : NULL;
		json_object_set_new(o, "conflicts", c ? c : json_array());
		return;
	}
	const char *state = !ms->has_merge_base ? "unrelated" : ms->clean ? "clean" : "conflicts";
	json_t *c = json_array();
	for (size_t i = 0; i < ms->nconflicts; i++)
		json_array_append_new(c,
				      objects_json_str(ms->conflicts[i], strlen(ms->conflicts[i])));
	char *ctext = json_dumps(c, JSON_COMPACT);
	/* a cache: losing the race to another writer costs a recomputation */
	db_qv(f->db, f->arena, NULL,
	      "UPDATE pull_requests SET mergeable = $2, mergeable_base = $3, mergeable_head = $4, "
	      "conflicts = $5::jsonb WHERE issue_id = $1",
	      arena_int(f->arena, (long long)p->is.id), state, bh, hh, ctext);
	free(ctext);
	json_object_set_new(o, "mergeable", json_string(state));
	json_object_set_new(o, "conflicts", c);
}

static json_t *branch_json(const char *name, const char *sha, bool exists)
{
	return json_pack("{s:s,s:s,s:b}", "ref", name, "sha", sha, "exists", exists);
}

/* The pull request's fields on top of its issue JSON o. With detail (one
 * pull request), also the git-derived ones: mergeability, ahead/behind,
 * the diff's size, the head's combined status. */
static int pull_fields_add(json_t *o, struct forge *f, const struct repo *repo,
			   git_repository *grepo, const struct pull *p, bool detail)
{
	struct arena *a = f->arena;
	pull_urls_set(o, a, repo, p);
	json_object_set_new(o, "merged", json_boolean(p->merged));
	json_object_set_new(o, "merged_at", p->merged_at ? json_string(p->merged_at) : json_null());
	json_object_set_new(o, "merged_by", p->merged_by ? json_string(p->merged_by) : json_null());
	json_object_set_new(o, "merge_commit_sha",
			    p->merge_commit_sha ? json_string(p->merge_commit_sha) : json_null());
	json_object_set_new(o, "merge_method",
			    p->merge_method ? json_string(p->merge_method) : json_null());
	if (!detail) {
		json_object_set_new(o, "head", branch_json(p->head, p->head_sha, true));
		json_object_set_new(o, "base", branch_json(p->base, p->base_sha, true));
		return 0;
	}
	struct pull_tips t;
	git_diff *diff = NULL;
	json_t *status = NULL;
	int rc;
	if ((rc = pull_tips_get(&t, f, grepo, p)))
		return rc;
	const char *hh = oid_hex(a, &t.head), *bh = oid_hex(a, &t.base);
	json_object_set_new(o, "head", branch_json(p->head, hh, t.head_ok));
	json_object_set_new(o, "base", branch_json(p->base, bh, t.base_ok));
	bool open = !strcmp(p->is.state, "open") && !p->merged;
	bool live = open && t.head_ok && t.base_ok;
	/* one look at the tips: the trial merge only when the cache is stale */
	struct merge_state ms;
	if ((rc = merge_state_get(&ms, a, grepo, &t.base, &t.head,
				  live && !mergeable_cached(p, bh, hh), f->err)))
		return rc;
	if (live) {
		mergeable_add(o, f, p, bh, hh, &ms);
	} else {
		json_object_set_new(o, "mergeable", open ? json_string("unknown") : json_null());
		json_object_set_new(o, "conflicts", json_array());
	}
	json_object_set_new(o, "ahead_by", json_integer((json_int_t)ms.ahead));
	json_object_set_new(o, "behind_by", json_integer((json_int_t)ms.behind));
	json_object_set_new(o, "commits", json_integer((json_int_t)ms.ahead));
	size_t files = 0, adds = 0, dels = 0;
	if (ms.has_merge_base) {
		git_diff_stats *st = NULL;
		if ((rc = merge_diff(&diff, grepo, &ms.merge_base, &t.head, f->err)))
			return rc;
		if (git_diff_get_stats(&st, diff) == 0) {
			files = git_diff_stats_files_changed(st);
			adds = git_diff_stats_insertions(st);
			dels = git_diff_stats_deletions(st);
		}
		git_diff_stats_free(st);
		git_diff_free(diff);
	}
	json_object_set_new(o, "changed_files", json_integer((json_int_t)files));
	json_object_set_new(o, "additions", json_integer((json_int_t)adds));
	json_object_set_new(o, "deletions", json_integer((json_int_t)dels));
	if ((rc = commit_status_combined(&status, f, repo->id, hh)))
		return rc;
	json_object_set_new(o, "statuses", status);
	return 0;
}

/* The full JSON of a loaded pull request. */
static int pull_json(json_t **out, struct forge *f, const struct repo *repo, git_repository *grepo,
		     const struct pull *p)
{
	json_t *o = NULL;
	int rc = issue_json_get(&o, f, repo, p->is.id);
	if (!rc && (rc = pull_fields_add(o, f, repo, grepo, p, true))) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return rc;
}

int pull_json_get(json_t **out, struct forge *f, const struct repo *repo, const char *number)
{
	struct pull p;
	git_repository *grepo;
	int rc;
	if ((rc = pull_get(&p, f, repo, number, false)) || (rc = pull_repo_open(&grepo, f, repo)))
		return rc;
	return pull_json(out, f, repo, grepo, &p);
}

/* An open pull request of repo for head → base other than except_id:
 * its number into *out, or 0. 0 or ERR_*. */
static int open_duplicate(long long *out, struct forge *f, const struct repo *repo,
			  const char *head, const char *base, int64_t except_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT i.number FROM pull_requests p JOIN issues i ON i.id = p.issue_id "
			      "WHERE p.repo_id = $1 AND p.head_branch = $2 AND p.base_branch = $3 "
			      "AND i.state = 'open' AND p.issue_id <> $4 LIMIT 1",
			      arena_int(f->arena, (long long)repo->id), head, base,
			      arena_int(f->arena, (long long)except_id));
	if (!res)
		return f->err->code;
	*out = PQntuples(res) ? db_int(res, 0, 0) : 0;
	return 0;
}

/* ---- opening ---- */

/* Checks that head can be proposed for base (both exist, related, head
 * ahead) and fills their tips. */
static int create_check(git_oid *out_head, git_oid *out_base, struct forge *f,
			const struct repo *repo, git_repository *grepo, const struct pull_new *in)
{
	const char *names[2] = { in->head, in->base };
	git_oid *ids[2] = { out_head, out_base };
	struct merge_state ms;
	int rc;
	for (int i = 0; i < 2; i++) {
		if ((rc = branch_tip(ids[i], f, grepo, names[i])) < 0)
			return rc;
		if (!rc)
			return err_set(f->err, ERR_INVALID, "unknown_branch",
				       "branch '%.100s' does not exist in '%s/%s'", names[i],
				       repo->owner, repo->name);
	}
	if ((rc = merge_state_get(&ms, f->arena, grepo, out_base, out_head, false, f->err)))
		return rc;
	if (!ms.has_merge_base)
		return err_set(f->err, ERR_INVALID, "unrelated_histories",
			       "'%.100s' and '%.100s' have unrelated histories", in->head, in->base);
	if (ms.ahead == 0)
		return err_set(f->err, ERR_INVALID, "no_commits",
			       "'%.100s' has no commits that '%.100s' does not have", in->head,
			       in->base);
	return 0;
}

/* The rows and events of a new pull request, inside the transaction. */
static int create_record(struct pull *p, struct forge *f, const struct repo *repo)
{
	long long dup = 0;
	int rc;
	/* issue_insert holds the repository's counter row until commit, so
	 * creators are serialised and the duplicate check is exact */
	if ((rc = issue_insert(&p->is, f, repo->id, p->is.title, p->is.body, true)))
		return rc;
	p->is.author = f->who->username;
	if ((rc = open_duplicate(&dup, f, repo, p->head, p->base, p->is.id)))
		return rc;
	if (dup)
		return err_set(f->err, ERR_EXISTS, "pull_exists",
			       "an open pull request for '%.100s' into '%.100s' already exists: #%lld",
			       p->head, p->base, dup);
	if (!db_qv(f->db, f->arena, f->err,
		   "INSERT INTO pull_requests (issue_id, repo_id, head_branch, base_branch, head_sha, "
		   "base_sha) VALUES ($1, $2, $3, $4, $5, $6)",
		   arena_int(f->arena, (long long)p->is.id), arena_int(f->arena, (long long)repo->id),
		   p->head, p->base, p->head_sha, p->base_sha))
		return f->err->code;
	if ((rc = mentions_record(f, repo, p->is.id, 0, p->is.body)) ||
	    (rc = issue_refs_record(f, repo, p->is.id, 0, NULL, p->is.body)) ||
	    (rc = forge_event(NULL, f, repo->id, "pull_request", pull_payload(f, repo, p, "opened"))))
		return rc;
	return 0;
}

int pull_create(json_t **out, struct forge *f, const struct repo *repo, const struct pull_new *in)
{
	struct pull_new n = *in;
	git_repository *grepo;
	git_oid hid, bid;
	struct pull p = { 0 };
	int rc;
	if (!n.base)
		n.base = repo->default_branch;
	if (!n.body)
		n.body = "";
	if ((rc = forge_can_participate(f, repo)))
		return rc;
	if (!strcmp(n.head, n.base))
		return err_set(f->err, ERR_INVALID, "same_branch",
			       "head and base are the same branch '%.100s'", n.head);
	if ((rc = pull_repo_open(&grepo, f, repo)) ||
	    (rc = create_check(&hid, &bid, f, repo, grepo, &n)) || (rc = db_begin(f->db, f->err)))
		return rc;
	p.is.title = n.title;
	p.is.body = n.body;
	p.head = n.head;
	p.base = n.base;
	p.head_sha = oid_hex(f->arena, &hid);
	p.base_sha = oid_hex(f->arena, &bid);
	if ((rc = create_record(&p, f, repo)) || (rc = db_commit(f->db, f->err))) {
		db_rollback(f->db);
		return rc;
	}
	return pull_json_get(out, f, repo, arena_int(f->arena, (long long)p.is.number));
}

int pull_compare(struct pull_compare *out, struct forge *f, const struct repo *repo,
		 const char *head, const char *base)
{
	struct pull_new n = { .head = head, .base = base };
	git_repository *grepo;
	git_oid hid, bid;
	struct merge_state ms;
	git_commit **commits = NULL;
	size_t nc = 0;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (!strcmp(head, base))
		return err_set(f->err, ERR_INVALID, "same_branch",
			       "head and base are the same branch '%.100s'", head);
	if ((rc = pull_repo_open(&grepo, f, repo)) ||
	    (rc = create_check(&hid, &bid, f, repo, grepo, &n)) ||
	    (rc = merge_state_get(&ms, f->arena, grepo, &bid, &hid, false, f->err)) ||
	    (rc = open_duplicate(&out->existing, f, repo, head, base, 0)) ||
	    (rc = merge_commits_list(&commits, &nc, &out->total, f->arena, grepo, &bid, &hid,
				     PULL_COMMITS_MAX, f->err)))
		return rc;
	out->head_sha = oid_hex(f->arena, &hid);
	out->base_sha = oid_hex(f->arena, &bid);
	out->ahead = ms.ahead;
	out->behind = ms.behind;
	out->commits = json_array();
	for (size_t i = 0; i < nc; i++) {
		json_array_append_new(out->commits, objects_commit_json(commits[i]));
		git_commit_free(commits[i]);
	}
	if ((rc = merge_diff(&out->diff, grepo, &ms.merge_base, &hid, f->err))) {
		json_decref(out->commits);
		out->commits = NULL;
	}
	return rc;
}

/* ---- listing ---- */

int pull_list(struct pull_page *out, struct forge *f, const struct repo *repo,
	      const struct pull_query *q)
{
	const char *state = q->state ? q->state : "open";
	int limit = q->limit, rc;
	memset(out, 0, sizeof(*out));
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "merged") &&
	    strcmp(state, "all"))
		return err_set(f->err, ERR_INVALID, "invalid_state",
			       "state '%.40s' is not one of open, closed, merged, all", state);
	if (limit < 1 || limit > PULL_PAGE_MAX)
		limit = PULL_PAGE_MAX;
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT " ISSUE_COLUMNS ", " PULL_COLS " FROM " ISSUE_FROM
		" JOIN pull_requests p ON p.issue_id = i.id LEFT JOIN users mu ON mu.id = p.merged_by "
		"WHERE i.repo_id = $1 AND ($2 = 'all' OR i.state = $2 OR ($2 = 'merged' AND p.merged)) "
		"AND ($3::text IS NULL OR p.head_branch = $3) AND ($4::text IS NULL OR p.base_branch = $4) "
		"AND ($5::bigint IS NULL OR (" SQL_US("i.created_at")
		", i.id) < ($5::bigint, $6::bigint)) "
		"ORDER BY i.created_at DESC, i.id DESC LIMIT $7",
		arena_int(f->arena, (long long)repo->id), state, q->head, q->base,
		q->after_set ? arena_int(f->arena, q->after_key) : NULL,
		q->after_set ? arena_int(f->arena, q->after_id) : NULL,
		arena_int(f->arena, (long long)limit + 1));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		struct pull p = { 0 };
		p.is.id = db_int(res, i, ISSUE_COL_ID);
		p.is.number = db_int(res, i, ISSUE_COL_NUMBER);
		p.is.state = db_val(res, i, ISSUE_COL_STATE);
		pull_fill(&p, f->arena, res, i, ISSUE_COL_UPDATED_US + 1);
		json_t *o = issue_row_json(f, repo, res, i);
		pull_fields_add(o, f, repo, NULL, &p, false);
		json_array_append_new(arr, o);
	}
	out->items = arr;
	if (n > limit) {
		out->more = true;
		out->next_key = db_int(res, limit - 1, ISSUE_COL_CREATED_US);
		out->next_id = db_int(res, limit - 1, ISSUE_COL_ID);
	}
	return 0;
}

/* ---- diffs ---- */

/* The merge base and head of a pull request's diff. */
static int diff_ends(git_oid *out_mb, git_oid *out_head, struct forge *f, git_repository *grepo,
		     const struct pull *p)
{
	struct pull_tips t;
	struct merge_state ms;
	int rc;
	if ((rc = pull_tips_get(&t, f, grepo, p)) ||
	    (rc = merge_state_get(&ms, f->arena, grepo, &t.base, &t.head, false, f->err)))
		return rc;
	if (!ms.has_merge_base)
		return err_set(f->err, ERR_CONFLICT, "unrelated_histories",
			       "'%.100s' and '%.100s' no longer share any history", p->head,
			       p->base);
	git_oid_cpy(out_mb, &ms.merge_base);
	git_oid_cpy(out_head, &t.head);
	return 0;
}

int pull_files(json_t **out, struct forge *f, const struct repo *repo, const char *number)
{
	struct pull p;
	git_repository *grepo;
	git_oid mb, head;
	git_diff *diff = NULL;
	json_t *arr = NULL;
	int rc;
	if ((rc = pull_get(&p, f, repo, number, false)) || (rc = pull_repo_open(&grepo, f, repo)) ||
	    (rc = diff_ends(&mb, &head, f, grepo, &p)) ||
	    (rc = merge_diff(&diff, grepo, &mb, &head, f->err)))
		return rc;
	size_t n = git_diff_num_deltas(diff), budget = PATCH_TOTAL_MAX, adds = 0, dels = 0;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = NULL;
		if ((rc = objects_diff_file_json(diff, i, &budget, &o, &adds, &dels, f->err)))
			goto done;
		json_array_append_new(arr, o);
	}
	*out = arr;
	arr = NULL;
done:
	json_decref(arr);
	git_diff_free(diff);
	return rc;
}

int pull_diff(git_diff **out, const char **out_head, struct forge *f, const struct repo *repo,
	      const struct pull *p)
{
	git_repository *grepo;
	git_oid mb, head;
	int rc;
	*out = NULL;
	if ((rc = pull_repo_open(&grepo, f, repo)) || (rc = diff_ends(&mb, &head, f, grepo, p)) ||
	    (rc = merge_diff(out, grepo, &mb, &head, f->err)))
		return rc;
	*out_head = oid_hex(f->arena, &head);
	return 0;
}

int pull_commits(json_t **out, size_t *out_total, struct forge *f, const struct repo *repo,
		 const char *number)
{
	struct pull p;
	struct pull_tips t;
	git_repository *grepo;
	git_commit **commits = NULL;
	size_t n = 0;
	int rc;
	if ((rc = pull_get(&p, f, repo, number, false)) || (rc = pull_repo_open(&grepo, f, repo)) ||
	    (rc = pull_tips_get(&t, f, grepo, &p)) ||
	    (rc = merge_commits_list(&commits, &n, out_total, f->arena, grepo, &t.base, &t.head,
				     PULL_COMMITS_MAX, f->err)))
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, objects_commit_json(commits[i]));
		git_commit_free(commits[i]);
	}
	*out = arr;
	return 0;
}

/* ---- editing ---- */

/* Reopening p: both branches must exist and no other pull request be
 * open for them; p takes their tips. */
static int reopen_check(struct forge *f, const struct repo *repo, git_repository *grepo,
			struct pull *p)
{
	git_oid h, b;
	long long dup = 0;
	int hr = branch_tip(&h, f, grepo, p->head);
	int br = hr > 0 ? branch_tip(&b, f, grepo, p->base) : hr;
	if (hr < 0 || br < 0)
		return f->err->code;
	if (!hr || !br)
		return err_set(f->err, ERR_CONFLICT, "branch_missing",
			       "cannot reopen pull request #%lld: branch '%.100s' no longer exists",
			       (long long)p->is.number, !hr ? p->head : p->base);
	int rc = open_duplicate(&dup, f, repo, p->head, p->base, p->is.id);
	if (rc)
		return rc;
	if (dup)
		return err_set(f->err, ERR_EXISTS, "pull_exists",
			       "cannot reopen pull request #%lld: #%lld is open for the same "
			       "branches",
			       (long long)p->is.number, dup);
	p->head_sha = oid_hex(f->arena, &h);
	p->base_sha = oid_hex(f->arena, &b);
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE pull_requests SET head_sha = $2, base_sha = $3 WHERE issue_id = $1",
		   arena_int(f->arena, (long long)p->is.id), p->head_sha, p->base_sha))
		return f->err->code;
	return 0;
}

/* A new title and/or body of p: the row, the timeline, mentions,
 * cross-references and the `edited` event with what changed. */
static int edit_record(struct forge *f, const struct repo *repo, struct pull *p, const char *title,
		       const char *body)
{
	json_t *changes = NULL;
	int rc = issue_edit(&changes, f, repo, &p->is, title, body);
	/* updated_at moves with any edit, as it always did */
	if (!rc &&
	    !db_qv(f->db, f->arena, f->err, "UPDATE issues SET updated_at = now() WHERE id = $1",
		   arena_int(f->arena, (long long)p->is.id)))
		rc = f->err->code;
	if (!rc && json_object_size(changes)) {
		json_t *pl = pull_payload(f, repo, p, "edited");
		json_object_set(pl, "changes", changes);
		rc = forge_event(NULL, f, repo->id, "pull_request", pl);
	}
	json_decref(changes);
	return rc;
}

/* Everything an update changes, inside its transaction. */
static int update_apply(struct forge *f, const struct repo *repo, git_repository *grepo,
			const char *number, const struct pull_update *in)
{
	struct pull p;
	int rc;
	if ((rc = pull_get(&p, f, repo, number, true)))
		return rc;
	/* the author edits, closes and reopens while readers may take part */
	if ((rc = forge_require_author(f, repo, p.is.author_id,
				       "write access to repository '%s/%s' is required to edit a "
				       "pull request of someone else",
				       repo->owner, repo->name)))
		return rc;
	bool closing = in->state && !strcmp(in->state, "closed") && !strcmp(p.is.state, "open");
	bool reopening = in->state && !strcmp(in->state, "open") && !strcmp(p.is.state, "closed");
	if ((closing || reopening) && p.merged)
		return err_set(f->err, ERR_CONFLICT, "already_merged",
			       "pull request #%lld is merged and cannot be %s",
			       (long long)p.is.number, closing ? "closed" : "reopened");
	if (reopening && (rc = reopen_check(f, repo, grepo, &p)))
		return rc;
	if ((rc = edit_record(f, repo, &p, in->title, in->body)))
		return rc;
	if (closing || reopening) {
		const char *what = closing ? "closed" : "reopened";
		p.is.state = in->state;
		if ((rc = issue_state_set(f, p.is.id, in->state)) ||
		    (rc = issue_event_add(f, repo->id, p.is.id, what, json_object())) ||
		    (rc = forge_event(NULL, f, repo->id, "pull_request",
				      pull_payload(f, repo, &p, what))))
			return rc;
	}
	return 0;
}

int pull_update(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		const struct pull_update *in)
{
	git_repository *grepo;
	int rc;
	if (in->state && strcmp(in->state, "open") && strcmp(in->state, "closed"))
		return err_set(f->err, ERR_INVALID, "invalid_state",
			       "state '%.40s' is not one of open, closed", in->state);
	if ((rc = pull_repo_open(&grepo, f, repo)) || (rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = update_apply(f, repo, grepo, number, in)) || (rc = db_commit(f->db, f->err))) {
		db_rollback(f->db);
		return rc;
	}
	return pull_json_get(out, f, repo, number);
}

/* ---- pushes ---- */

/* Carries pull request pull_id's live inline comments from its old head
 * to new_head (and its left sides to the new merge base): a comment whose
 * line changed is marked outdated, the others follow their line. A
 * commit that cannot be read makes the comment outdated. */
static int comments_follow(struct forge *f, git_repository *grepo, int64_t pull_id,
			   const git_oid *new_head, const git_oid *new_mb, bool has_mb)
{
	struct arena *a = f->arena;
	enum { C_ID, C_SIDE, C_PATH, C_OLD_PATH, C_COMMIT, C_BASE, C_LINE };
	PGresult *res = db_qv(f->db, a, f->err,
			      "SELECT id, side, path, old_path, commit_sha, base_sha, line "
			      "FROM review_comments WHERE pull_id = $1 AND NOT outdated",
			      arena_int(a, (long long)pull_id));
	if (!res)
		return f->err->code;
	const char *head_hex = oid_hex(a, new_head), *mb_hex = has_mb ? oid_hex(a, new_mb) : NULL;
	for (int i = 0; i < PQntuples(res); i++) {
		bool left = !strcmp(db_val(res, i, C_SIDE), "LEFT");
		const char *from_hex = db_val(res, i, left ? C_BASE : C_COMMIT);
		const char *path = db_val(res, i, left ? C_OLD_PATH : C_PATH);
		int line = (int)db_int(res, i, C_LINE), moved = 0;
		git_oid from;
		struct err ge = { 0 };
		if (left && !has_mb)
			moved = 0;
		else if (git_oid_fromstrn(&from, from_hex, GIT_OID_HEXSZ) < 0 ||
			 merge_line_follow(&moved, grepo, &from, left ? new_mb : new_head, path,
					   line, &ge))
			moved = 0;
		PGresult *u = moved ? db_qv(f->db, a, f->err,
					    "UPDATE review_comments SET line = $2, commit_sha = $3, "
					    "base_sha = coalesce($4, base_sha) WHERE id = $1",
					    db_val(res, i, C_ID), arena_int(a, moved), head_hex,
					    mb_hex)
				    : db_qv(f->db, a, f->err,
					    "UPDATE review_comments SET outdated = true WHERE id = $1",
					    db_val(res, i, C_ID));
		if (!u)
			return f->err->code;
	}
	return 0;
}

/* The open pull requests of repo_id with branch as head or as base,
 * locked, with their issue fields (enum open_col, then PULL_COLS): those
 * from branch first, then those into it, each in the order they were
 * opened. */
enum open_col {
	OPEN_COL_ID,
	OPEN_COL_NUMBER,
	OPEN_COL_TITLE,
	OPEN_COL_BODY,
	OPEN_COL_STATE,
	OPEN_COL_AUTHOR_ID,
	OPEN_COL_AUTHOR,
	OPEN_COL_PULL,
};
static PGresult *open_pulls(struct forge *f, int64_t repo_id, const char *branch)
{
	return db_qv(f->db, f->arena, f->err,
		     "SELECT i.id, i.number, i.title, i.body, i.state, coalesce(i.author_id, 0), "
		     "  coalesce(au.username, 'ghost'), " PULL_COLS " "
		     "FROM pull_requests p JOIN issues i ON i.id = p.issue_id "
		     "LEFT JOIN users au ON au.id = i.author_id LEFT JOIN users mu ON mu.id = p.merged_by "
		     "WHERE p.repo_id = $1 AND i.state = 'open' AND "
		     "  (p.head_branch = $2 OR p.base_branch = $2) "
		     "ORDER BY p.head_branch = $2 DESC, i.id FOR NO KEY UPDATE OF p",
		     arena_int(f->arena, (long long)repo_id), branch);
}

static void open_pull_fill(struct pull *p, struct arena *a, const PGresult *res, int i)
{
	memset(p, 0, sizeof(*p));
	p->is.id = db_int(res, i, OPEN_COL_ID);
	p->is.number = db_int(res, i, OPEN_COL_NUMBER);
	p->is.title = db_val(res, i, OPEN_COL_TITLE);
	p->is.body = db_val(res, i, OPEN_COL_BODY);
	p->is.state = db_val(res, i, OPEN_COL_STATE);
	p->is.is_pull = true;
	p->is.author_id = db_int(res, i, OPEN_COL_AUTHOR_ID);
	p->is.author = db_val(res, i, OPEN_COL_AUTHOR);
	pull_fill(p, a, res, i, OPEN_COL_PULL);
}

int pull_merged_record(struct forge *f, const struct repo *repo, struct pull *p,
		       const char *merge_sha, const char *method)
{
	int rc;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE pull_requests SET merged = true, merged_at = now(), merged_by = $2, "
		   "merge_commit_sha = $3, merge_method = $4, head_sha = $5, base_sha = $6 "
		   "WHERE issue_id = $1",
		   arena_int(f->arena, (long long)p->is.id),
		   arena_id(f->arena, (long long)f->who->user_id), merge_sha, method, p->head_sha,
		   p->base_sha))
		return f->err->code;
	p->merged = true;
	p->is.state = "closed";
	p->merge_commit_sha = merge_sha;
	if ((rc = issue_state_set(f, p->is.id, "closed")) ||
	    (rc = issue_event_add(f, repo->id, p->is.id, "merged",
				  json_pack("{s:s,s:s}", "commit_sha", merge_sha, "method", method))) ||
	    (rc = forge_event(NULL, f, repo->id, "pull_request", pull_payload(f, repo, p, "merged"))))
		return rc;
	return 0;
}

/* An open pull request from the pushed branch: the new head. */
static int head_moved(struct forge *f, const struct repo *repo, git_repository *grepo,
		      struct pull *p, const git_oid *new_tip, const char *after)
{
	if (!strcmp(p->head_sha, after))
		return 0;
	const char *old_head = p->head_sha;
	git_oid base_tip, mb;
	struct err ge = { 0 };
	struct forge quiet = *f;
	quiet.err = &ge; /* a missing base only leaves the comments' left sides */
	bool has_mb = branch_tip(&base_tip, &quiet, grepo, p->base) > 0 &&
		      git_merge_base(&mb, grepo, &base_tip, new_tip) == 0;
	int rc;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE pull_requests SET head_sha = $2 WHERE issue_id = $1",
		   arena_int(f->arena, (long long)p->is.id), after) ||
	    (rc = comments_follow(f, grepo, p->is.id, new_tip, &mb, has_mb)))
		return f->err->code;
	p->head_sha = after;
	json_t *pl = pull_payload(f, repo, p, "synchronize");
	json_object_set_new(pl, "before", json_string(old_head));
	json_object_set_new(pl, "after", json_string(after));
	return forge_event(NULL, f, repo->id, "pull_request", pl);
}

/* An open pull request into the pushed branch: merged when the push
 * brought in its head, else its base tip moves. */
static int base_moved(struct forge *f, const struct repo *repo, git_repository *grepo,
		      struct pull *p, const git_oid *new_tip, const char *before, const char *after)
{
	git_oid head;
	struct err ge = { 0 };
	struct forge quiet = *f;
	quiet.err = &ge;
	bool contained = branch_tip(&head, &quiet, grepo, p->head) > 0 &&
			 (git_oid_equal(&head, new_tip) ||
			  git_graph_descendant_of(grepo, new_tip, &head) == 1);
	if (!contained) {
		if (!db_qv(f->db, f->arena, f->err,
			   "UPDATE pull_requests SET base_sha = $2 WHERE issue_id = $1",
			   arena_int(f->arena, (long long)p->is.id), after))
			return f->err->code;
		return 0;
	}
	p->head_sha = oid_hex(f->arena, &head);
	p->base_sha = before;
	return pull_merged_record(f, repo, p, after, "push");
}

int pulls_on_push(struct forge *f, const struct repo *repo, git_repository *grepo, const char *ref,
		  const char *before, const char *after)
{
	if (strncmp(ref, "refs/heads/", 11) || !strcmp(after, SHA1_ZERO))
		return 0; /* a deleted branch leaves its pull requests as they are */
	const char *branch = ref + 11;
	git_oid new_tip;
	int rc;
	PGresult *res = open_pulls(f, repo->id, branch);
	if (!res)
		return f->err->code;
	if (!PQntuples(res))
		return 0;
	if (git_oid_fromstrn(&new_tip, after, GIT_OID_HEXSZ) < 0) {
		log_error("push to %s/%s: bad new tip '%.40s', pull requests not updated",
			  repo->owner, repo->name, after);
		return 0; /* the push itself stands */
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct pull p;
		open_pull_fill(&p, f->arena, res, i);
		/* head and base differ (pull_create): each is one or the other */
		if ((rc = !strcmp(p.head, branch)
				  ? head_moved(f, repo, grepo, &p, &new_tip, after)
				  : base_moved(f, repo, grepo, &p, &new_tip, before, after)))
			return rc;
	}
	return 0;
}
