/* pulls.c — pull requests: open one for two branches of a repository, list
 * and show them (mergeability, ahead/behind, the head's statuses), their
 * files and commits, edit, close and reopen them, and merge them with
 * libgit2 (git/merge.h) under a compare-and-swap of the base branch. A
 * pull request is an issue row (api/collab.h: same numbers, comments,
 * labels) plus a pull_requests row. Pushes reach pull requests through
 * pulls_on_push. Every change writes its rows and its events in one
 * transaction. */
#include "api/api.h"
#include "api/collab.h"
#include "api/pulls.h"
#include "auth/auth.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "git/merge.h"
#include "git/objects.h"
#include "git/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BRANCH_MAX 255
#define PATCH_TOTAL_MAX (2 * 1024 * 1024) /* patch text per files answer */
#define COMMITS_MAX 250                   /* commits listed per pull request */
#define SQUASH_LIST_MAX 100               /* commit summaries in a squash message */
#define ZERO_SHA "0000000000000000000000000000000000000000"

/* Columns of a pull_requests row (alias p, merger mu), in pull_fill's order. */
#define PULL_COLS                                                                        \
	"p.head_branch, p.base_branch, p.head_sha, p.base_sha, p.merged, " SQL_TS(       \
		"p.merged_at") ", mu.username, p.merge_commit_sha, p.merge_method, "     \
		       "p.mergeable, p.mergeable_base, p.mergeable_head, p.conflicts::text"
#define PULL_NCOLS 13
#define PULL_FROM "pull_requests p LEFT JOIN users mu ON mu.id = p.merged_by"

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

static const char *oid_hex(struct arena *a, const git_oid *id)
{
	char *hex = arena_alloc(a, GIT_OID_HEXSZ + 1);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, id);
	return hex;
}

static void pull_fill(struct arena *a, struct pull *p, const PGresult *res, int row, int off)
{
#define V(i) (db_val(res, row, off + (i)) ? arena_strdup(a, db_val(res, row, off + (i))) : NULL)
	p->head = V(0);
	p->base = V(1);
	p->head_sha = V(2);
	p->base_sha = V(3);
	p->merged = db_bool(res, row, off + 4);
	p->merged_at = V(5);
	p->merged_by = V(6);
	p->merge_commit_sha = V(7);
	p->merge_method = V(8);
	p->mergeable = V(9);
	p->mergeable_base = V(10);
	p->mergeable_head = V(11);
	p->conflicts = V(12);
#undef V
}

int pull_load(struct req *r, const char *number, struct pull *out)
{
	memset(out, 0, sizeof(*out));
	int rc = issue_get(&out->is, FORGE(r), r->repo, number, false);
	if (rc == ERR_NOTFOUND || (!rc && !out->is.is_pull)) {
		err_clear(&r->err);
		return err_set(&r->err, ERR_NOTFOUND, NULL, "pull request '%s/%s#%.40s' not found",
			       r->repo->owner, r->repo->name, number);
	}
	if (rc)
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " PULL_COLS " FROM " PULL_FROM " WHERE p.issue_id = $1",
			      num(r->arena, (long long)out->is.id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "pull request '%s/%s#%.40s' not found",
			       r->repo->owner, r->repo->name, number);
	pull_fill(r->arena, out, res, 0, 0);
	return 0;
}

int pull_repo_open(struct req *r, git_repository **out)
{
	struct err e = { 0 };
	int rc = objects_repo_open(out, r->repo->disk_path, &e);
	if (rc == ERR_NOTFOUND)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "repository '%s/%s' not found",
			       r->repo->owner, r->repo->name);
	if (rc)
		r->err = e;
	return rc;
}

/* 1 with *out set, 0 when the branch does not exist, or an ERR_*. */
static int branch_tip(struct arena *a, git_repository *repo, const char *branch, git_oid *out,
		      struct err *e)
{
	int grc = git_reference_name_to_id(out, repo, arena_printf(a, "refs/heads/%s", branch));
	if (grc == 0)
		return 1;
	if (grc == GIT_ENOTFOUND || grc == GIT_EINVALIDSPEC)
		return 0;
	return objects_error(e, grc, "cannot read branch '%.200s'", branch);
}

int pull_tips_get(struct req *r, git_repository *repo, const struct pull *p,
		  struct pull_tips *out)
{
	memset(out, 0, sizeof(*out));
	bool live = !strcmp(p->is.state, "open") && !p->merged;
	int rc;
	if (live) {
		if ((rc = branch_tip(r->arena, repo, p->head, &out->head, &r->err)) < 0)
			return rc;
		out->head_ok = rc;
		if ((rc = branch_tip(r->arena, repo, p->base, &out->base, &r->err)) < 0)
			return rc;
		out->base_ok = rc;
	}
	if (!out->head_ok && git_oid_fromstrn(&out->head, p->head_sha, GIT_OID_HEXSZ) < 0)
		return err_set(&r->err, ERR_INTERNAL, NULL, "pull request has a bad head sha");
	if (!out->base_ok && git_oid_fromstrn(&out->base, p->base_sha, GIT_OID_HEXSZ) < 0)
		return err_set(&r->err, ERR_INTERNAL, NULL, "pull request has a bad base sha");
	if (!live)
		out->head_ok = out->base_ok = true;
	return 0;
}

json_t *pull_payload(const struct repo *repo, const struct pull *p, const char *action,
		     const char *sender)
{
	json_t *pr = issue_payload(repo, &p->is);
	char path[600];
	snprintf(path, sizeof(path), "/%s/%s/pulls/%lld", repo->owner, repo->name,
		 (long long)p->is.number);
	const char *site = cfg.public_url ? cfg.public_url : "";
	char *api = xasprintf("%s/api%s", site, path);
	char *html = xasprintf("%s%s", site, path);
	json_object_set_new(pr, "url", json_string(api));
	json_object_set_new(pr, "html_url", json_string(html));
	free(api);
	free(html);
	json_object_set_new(pr, "merged", json_boolean(p->merged));
	json_object_set_new(pr, "head_ref", json_string(p->head));
	json_object_set_new(pr, "head_sha", json_string(p->head_sha));
	json_object_set_new(pr, "base_ref", json_string(p->base));
	json_object_set_new(pr, "base_sha", json_string(p->base_sha));
	if (p->merge_commit_sha)
		json_object_set_new(pr, "merge_commit_sha", json_string(p->merge_commit_sha));
	return json_pack("{s:s,s:I,s:o,s:o,s:s?,s:s,s:s,s:s}", "action", action, "number",
			 (json_int_t)p->is.number, "pull_request", pr, "repository",
			 repo_payload(repo), "sender", sender, "base", p->base, "head_ref",
			 p->head, "head_sha", p->head_sha);
}

/* ---- JSON ---- */

/* The mergeability of an open pull request whose branches both exist:
 * from the cache when it was computed for these tips, else computed and
 * stored. Adds mergeable (and conflicts) to o. */
static int mergeable_add(struct req *r, git_repository *repo, const struct pull *p,
			 const struct pull_tips *t, json_t *o)
{
	const char *bh = oid_hex(r->arena, &t->base), *hh = oid_hex(r->arena, &t->head);
	if (p->mergeable && p->mergeable_base && p->mergeable_head &&
	    !strcmp(p->mergeable_base, bh) && !strcmp(p->mergeable_head, hh)) {
		json_object_set_new(o, "mergeable", json_string(p->mergeable));
		json_t *c = p->conflicts ? json_loads(p->conflicts, 0, NULL) : NULL;
		json_object_set_new(o, "conflicts", c ? c : json_array());
		return 0;
	}
	struct merge_state ms;
	int rc = merge_state_get(&ms, r->arena, repo, &t->base, &t->head, true, &r->err);
	if (rc)
		return rc;
	const char *state = !ms.has_merge_base ? "unrelated" : ms.clean ? "clean" : "conflicts";
	json_t *c = json_array();
	for (size_t i = 0; i < ms.nconflicts; i++)
		json_array_append_new(c, objects_json_str(ms.conflicts[i], strlen(ms.conflicts[i])));
	char *ctext = json_dumps(c, JSON_COMPACT);
	/* a cache: losing the race to another writer costs a recomputation */
	db_qv(r->db, r->arena, NULL,
	      "UPDATE pull_requests SET mergeable = $2, mergeable_base = $3, mergeable_head = $4, "
	      "conflicts = $5::jsonb WHERE issue_id = $1",
	      num(r->arena, (long long)p->is.id), state, bh, hh, ctext);
	free(ctext);
	json_object_set_new(o, "mergeable", json_string(state));
	json_object_set_new(o, "conflicts", c);
	return 0;
}

static json_t *branch_json(const char *name, const char *sha, bool exists)
{
	return json_pack("{s:s,s:s,s:b}", "ref", name, "sha", sha, "exists", exists);
}

/* The pull request's fields on top of its issue JSON o. With detail (one
 * pull request), also the git-derived ones: mergeability, ahead/behind,
 * the diff's size, the head's combined status. */
static int pull_fields_add(struct req *r, git_repository *repo, const struct pull *p, bool detail,
			   json_t *o)
{
	const char *path = arena_printf(r->arena, "/%s/%s/pulls/%lld", r->repo->owner,
					r->repo->name, (long long)p->is.number);
	json_object_set_new(o, "url", json_string(forge_url(r->arena,
							     arena_printf(r->arena, "/api%s", path))));
	json_object_set_new(o, "html_url", json_string(forge_url(r->arena, path)));
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
	if ((rc = pull_tips_get(r, repo, p, &t)))
		return rc;
	const char *hh = oid_hex(r->arena, &t.head);
	json_object_set_new(o, "head", branch_json(p->head, hh, t.head_ok));
	json_object_set_new(o, "base", branch_json(p->base, oid_hex(r->arena, &t.base), t.base_ok));
	bool open = !strcmp(p->is.state, "open") && !p->merged;
	if (open && t.head_ok && t.base_ok) {
		if ((rc = mergeable_add(r, repo, p, &t, o)))
			return rc;
	} else {
		json_object_set_new(o, "mergeable", open ? json_string("unknown") : json_null());
		json_object_set_new(o, "conflicts", json_array());
	}
	struct merge_state ms;
	if ((rc = merge_state_get(&ms, r->arena, repo, &t.base, &t.head, false, &r->err)))
		return rc;
	json_object_set_new(o, "ahead_by", json_integer((json_int_t)ms.ahead));
	json_object_set_new(o, "behind_by", json_integer((json_int_t)ms.behind));
	json_object_set_new(o, "commits", json_integer((json_int_t)ms.ahead));
	size_t files = 0, adds = 0, dels = 0;
	if (ms.has_merge_base) {
		git_diff_stats *st = NULL;
		if ((rc = merge_diff(&diff, repo, &ms.merge_base, &t.head, &r->err)))
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
	if ((rc = commit_status_combined(r->db, r->arena, &r->err, r->repo->id, hh, &status)))
		return rc;
	json_object_set_new(o, "statuses", status);
	return 0;
}

static int pull_json(struct req *r, git_repository *repo, const struct pull *p, json_t **out)
{
	json_t *o = NULL;
	int rc = issue_json_get(&o, FORGE(r), r->repo, p->is.id);
	if (!rc && (rc = pull_fields_add(r, repo, p, true, o))) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return rc;
}

/* ---- request pieces ---- */

/* A branch name from the body: "refs/heads/" is optional; git's ref rules. */
static int branch_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *b = NULL;
	int rc = json_str_field(r, field, required, BRANCH_MAX + 11, &b);
	if (rc || !b)
		return rc;
	if (!strncmp(b, "refs/heads/", 11))
		b += 11;
	if (!*b || strlen(b) > BRANCH_MAX || !refname_valid(arena_printf(r->arena, "refs/heads/%s", b)))
		return err_set(&r->err, ERR_INVALID, "invalid_branch",
			       "%s '%.100s' is not a valid branch name", field, b);
	*out = b;
	return 0;
}

/* Who the acting user is, for payloads. */
static const char *sender(struct req *r)
{
	return r->auth.username;
}

/* An open pull request for head → base other than except_id: its number,
 * or 0. -1 on a database error. */
static long long open_duplicate(struct req *r, const char *head, const char *base,
				int64_t except_id)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT i.number FROM pull_requests p JOIN issues i ON i.id = p.issue_id "
			      "WHERE p.repo_id = $1 AND p.head_branch = $2 AND p.base_branch = $3 "
			      "AND i.state = 'open' AND p.issue_id <> $4 LIMIT 1",
			      num(r->arena, (long long)r->repo->id), head, base,
			      num(r->arena, (long long)except_id));
	if (!res)
		return -1;
	return PQntuples(res) ? db_int(res, 0, 0) : 0;
}

/* ---- handlers ---- */

int h_pull_create(struct req *r, struct resp *w)
{
	const char *title = NULL, *body = "", *head = NULL, *base = r->repo->default_branch;
	git_repository *repo;
	git_oid hid, bid;
	struct merge_state ms;
	struct pull p = { 0 };
	json_t *o = NULL;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) || (rc = collab_title_field(r, "title", true, &title)) ||
	    (rc = collab_body_field(r, "body", false, &body)) ||
	    (rc = branch_field(r, "head", true, &head)) ||
	    (rc = branch_field(r, "base", false, &base)))
		return rc;
	if (!strcmp(head, base))
		return err_set(&r->err, ERR_INVALID, "same_branch",
			       "head and base are the same branch '%.100s'", head);
	if ((rc = pull_repo_open(r, &repo)))
		return rc;
	const char *names[2] = { head, base };
	git_oid *ids[2] = { &hid, &bid };
	for (int i = 0; i < 2; i++) {
		if ((rc = branch_tip(r->arena, repo, names[i], ids[i], &r->err)) < 0)
			return rc;
		if (!rc)
			return err_set(&r->err, ERR_INVALID, "unknown_branch",
				       "branch '%.100s' does not exist in '%s/%s'", names[i],
				       r->repo->owner, r->repo->name);
	}
	if ((rc = merge_state_get(&ms, r->arena, repo, &bid, &hid, false, &r->err)))
		return rc;
	if (!ms.has_merge_base)
		return err_set(&r->err, ERR_INVALID, "unrelated_histories",
			       "'%.100s' and '%.100s' have unrelated histories", head, base);
	if (ms.ahead == 0)
		return err_set(&r->err, ERR_INVALID, "no_commits",
			       "'%.100s' has no commits that '%.100s' does not have", head, base);
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	/* issue_insert holds the repository's counter row until commit, so
	 * creators are serialised and the duplicate check below is exact */
	if ((rc = issue_insert(&p.is, FORGE(r), r->repo->id, title, body, true)))
		goto fail;
	p.is.author = r->auth.username;
	long long dup = open_duplicate(r, head, base, p.is.id);
	if (dup) {
		rc = dup < 0 ? r->err.code
			     : err_set(&r->err, ERR_EXISTS, "pull_exists",
				       "an open pull request for '%.100s' into '%.100s' already exists: #%lld",
				       head, base, dup);
		goto fail;
	}
	p.head = head;
	p.base = base;
	p.head_sha = oid_hex(r->arena, &hid);
	p.base_sha = oid_hex(r->arena, &bid);
	const char *id = num(r->arena, (long long)p.is.id);
	if (!db_qv(r->db, r->arena, &r->err,
		   "INSERT INTO pull_requests (issue_id, repo_id, head_branch, base_branch, head_sha, "
		   "base_sha) VALUES ($1, $2, $3, $4, $5, $6)",
		   id, num(r->arena, (long long)r->repo->id), head, base, p.head_sha, p.base_sha) ||
	    (rc = mentions_record(FORGE(r), r->repo, p.is.id, 0, body)) ||
	    (rc = issue_refs_record(FORGE(r), r->repo, p.is.id, 0, NULL, body)) ||
	    (rc = forge_event(NULL, FORGE(r), r->repo->id, "pull_request", pull_payload(r->repo, &p, "opened", sender(r)))) ||
	    (rc = db_commit(r->db, &r->err))) {
		rc = r->err.code;
		goto fail;
	}
	if ((rc = pull_load(r, num(r->arena, (long long)p.is.number), &p)) ||
	    (rc = pull_json(r, repo, &p, &o)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/%s/%s/pulls/%lld", r->repo->owner, r->repo->name,
				 (long long)p.is.number));
	resp_json(w, 201, o);
	return 0;
fail:
	db_rollback(r->db);
	return rc;
}

int h_pull_list(struct req *r, struct resp *w)
{
	const char *state = req_query(r, "state"), *head = req_query(r, "head"),
		   *base = req_query(r, "base");
	int limit;
	struct cursor cur;
	int rc;
	if (!state)
		state = "open";
	if (strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "all"))
		return err_set(&r->err, ERR_INVALID, "invalid_state",
			       "state '%.40s' is not one of open, closed, all", state);
	if ((rc = collab_page(r, "pulls:created:desc", COLLAB_PAGE_MAX, &limit, &cur)))
		return rc;
	PGresult *res = db_qv(
		r->db, r->arena, &r->err,
		"SELECT " ISSUE_COLUMNS ", " PULL_COLS " FROM " ISSUE_FROM
		" JOIN pull_requests p ON p.issue_id = i.id LEFT JOIN users mu ON mu.id = p.merged_by "
		"WHERE i.repo_id = $1 AND ($2 = 'all' OR i.state = $2) "
		"AND ($3::text IS NULL OR p.head_branch = $3) AND ($4::text IS NULL OR p.base_branch = $4) "
		"AND ($5::bigint IS NULL OR (" SQL_US("i.created_at") ", i.id) < ($5::bigint, $6::bigint)) "
		"ORDER BY i.created_at DESC, i.id DESC LIMIT $7",
		num(r->arena, (long long)r->repo->id), state, head, base,
		cur.set ? num(r->arena, cur.key) : NULL, cur.set ? num(r->arena, cur.id) : NULL,
		num(r->arena, (long long)limit + 1));
	if (!res)
		return r->err.code;
	int n = PQntuples(res);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		struct pull p = { 0 };
		p.is.id = db_int(res, i, 0);
		p.is.number = db_int(res, i, 1);
		p.is.state = db_val(res, i, 4);
		pull_fill(r->arena, &p, res, i, ISSUE_COL_UPDATED_US + 1);
		json_t *o = issue_row_json(FORGE(r), r->repo, res, i);
		pull_fields_add(r, NULL, &p, false, o);
		json_array_append_new(arr, o);
	}
	if (n > limit)
		collab_next_page(r, w, "pulls:created:desc", db_int(res, limit - 1, ISSUE_COL_CREATED_US),
				 db_int(res, limit - 1, 0));
	resp_json(w, 200, arr);
	return 0;
}

int h_pull_get(struct req *r, struct resp *w)
{
	struct pull p;
	git_repository *repo;
	json_t *o;
	int rc;
	if ((rc = pull_load(r, req_param(r, "number"), &p)) || (rc = pull_repo_open(r, &repo)) ||
	    (rc = pull_json(r, repo, &p, &o)))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}

/* The merge base and head of a pull request's diff. */
static int diff_ends(struct req *r, git_repository *repo, const struct pull *p, git_oid *mb,
		     git_oid *head)
{
	struct pull_tips t;
	struct merge_state ms;
	int rc;
	if ((rc = pull_tips_get(r, repo, p, &t)) ||
	    (rc = merge_state_get(&ms, r->arena, repo, &t.base, &t.head, false, &r->err)))
		return rc;
	if (!ms.has_merge_base)
		return err_set(&r->err, ERR_CONFLICT, "unrelated_histories",
			       "'%.100s' and '%.100s' no longer share any history", p->head, p->base);
	git_oid_cpy(mb, &ms.merge_base);
	git_oid_cpy(head, &t.head);
	return 0;
}

int h_pull_files(struct req *r, struct resp *w)
{
	struct pull p;
	git_repository *repo;
	git_oid mb, head;
	git_diff *diff = NULL;
	json_t *arr = NULL;
	int rc;
	if ((rc = pull_load(r, req_param(r, "number"), &p)) || (rc = pull_repo_open(r, &repo)) ||
	    (rc = diff_ends(r, repo, &p, &mb, &head)) ||
	    (rc = merge_diff(&diff, repo, &mb, &head, &r->err)))
		return rc;
	size_t n = git_diff_num_deltas(diff), budget = PATCH_TOTAL_MAX, adds = 0, dels = 0;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *f = NULL;
		if ((rc = objects_diff_file_json(diff, i, &budget, &f, &adds, &dels, &r->err)))
			goto done;
		json_array_append_new(arr, f);
	}
	resp_json(w, 200, arr);
	arr = NULL;
	resp_no_cache(r, w);
done:
	json_decref(arr);
	git_diff_free(diff);
	return rc;
}

int h_pull_commits(struct req *r, struct resp *w)
{
	struct pull p;
	struct pull_tips t;
	git_repository *repo;
	git_commit **commits = NULL;
	size_t n = 0, total = 0;
	int rc;
	if ((rc = pull_load(r, req_param(r, "number"), &p)) || (rc = pull_repo_open(r, &repo)) ||
	    (rc = pull_tips_get(r, repo, &p, &t)) ||
	    (rc = merge_commits_list(&commits, &n, &total, r->arena, repo, &t.base, &t.head,
				     COMMITS_MAX, &r->err)))
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, objects_commit_json(commits[i]));
		git_commit_free(commits[i]);
	}
	resp_header(w, "X-Total-Count", num(r->arena, (long long)total));
	resp_no_cache(r, w);
	resp_json(w, 200, arr);
	return 0;
}

int h_pull_update(struct req *r, struct resp *w)
{
	struct pull p;
	git_repository *repo;
	const char *title = NULL, *body = NULL, *state = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = collab_title_field(r, "title", false, &title)) ||
	    (rc = collab_body_field(r, "body", false, &body)) ||
	    (rc = json_str_field(r, "state", false, 10, &state)))
		return rc;
	if (state && strcmp(state, "open") && strcmp(state, "closed"))
		return err_set(&r->err, ERR_INVALID, "invalid_state",
			       "state '%.40s' is not one of open, closed", state);
	if ((rc = pull_repo_open(r, &repo)) || (rc = db_begin(r->db, &r->err)))
		return rc;
	const char *number = req_param(r, "number");
	struct issue locked;
	if ((rc = issue_get(&locked, FORGE(r), r->repo, number, true)) || (rc = pull_load(r, number, &p)))
		goto fail;
	/* the author edits, closes and reopens while readers may take part */
	if ((rc = forge_require_author(FORGE(r), r->repo, p.is.author_id, "write access to repository '%s/%s' is required to edit a "
					"pull request of someone else", r->repo->owner, r->repo->name)))
		goto fail;
	bool closing = state && !strcmp(state, "closed") && !strcmp(p.is.state, "open");
	bool reopening = state && !strcmp(state, "open") && !strcmp(p.is.state, "closed");
	if ((closing || reopening) && p.merged) {
		rc = err_set(&r->err, ERR_CONFLICT, "already_merged",
			     "pull request #%lld is merged and cannot be %s", (long long)p.is.number,
			     closing ? "closed" : "reopened");
		goto fail;
	}
	if (reopening) {
		git_oid h, b;
		int hr = branch_tip(r->arena, repo, p.head, &h, &r->err);
		int br = hr > 0 ? branch_tip(r->arena, repo, p.base, &b, &r->err) : hr;
		if (hr < 0 || br < 0) {
			rc = r->err.code;
			goto fail;
		}
		if (!hr || !br) {
			rc = err_set(&r->err, ERR_CONFLICT, "branch_missing",
				     "cannot reopen pull request #%lld: branch '%.100s' no longer exists",
				     (long long)p.is.number, !hr ? p.head : p.base);
			goto fail;
		}
		long long dup = open_duplicate(r, p.head, p.base, p.is.id);
		if (dup) {
			rc = dup < 0 ? r->err.code
				     : err_set(&r->err, ERR_EXISTS, "pull_exists",
					       "cannot reopen pull request #%lld: #%lld is open for the "
					       "same branches",
					       (long long)p.is.number, dup);
			goto fail;
		}
		p.head_sha = oid_hex(r->arena, &h);
		p.base_sha = oid_hex(r->arena, &b);
		if (!db_qv(r->db, r->arena, &r->err,
			   "UPDATE pull_requests SET head_sha = $2, base_sha = $3 WHERE issue_id = $1",
			   num(r->arena, (long long)p.is.id), p.head_sha, p.base_sha)) {
			rc = r->err.code;
			goto fail;
		}
	}
	bool retitled = title && strcmp(title, p.is.title);
	bool rebodied = body && strcmp(body, p.is.body);
	const char *id = num(r->arena, (long long)p.is.id);
	const char *uid = num(r->arena, (long long)r->auth.user_id);
	if (!db_qv(r->db, r->arena, &r->err,
		   "UPDATE issues SET title = $2, body = $3, state = $4, "
		   "closed_by = CASE WHEN $4 = 'closed' THEN coalesce(CASE WHEN state = 'closed' "
		   "  THEN closed_by END, $5::bigint) END, "
		   "closed_at = CASE WHEN $4 = 'closed' THEN coalesce(CASE WHEN state = 'closed' "
		   "  THEN closed_at END, now()) END, "
		   "updated_at = now() WHERE id = $1",
		   id, retitled ? title : p.is.title, rebodied ? body : p.is.body,
		   state ? state : p.is.state, uid)) {
		rc = r->err.code;
		goto fail;
	}
	json_t *changes = json_object();
	if (retitled) {
		json_object_set_new(changes, "title", json_pack("{s:s}", "from", p.is.title));
		if ((rc = issue_event_add(FORGE(r), r->repo->id, p.is.id, "renamed", json_pack("{s:s,s:s}", "from", p.is.title, "to", title))))
			goto fail_changes;
		p.is.title = title;
	}
	if (rebodied) {
		json_object_set_new(changes, "body", json_pack("{s:s}", "from", p.is.body));
		p.is.body = body;
		if ((rc = mentions_record(FORGE(r), r->repo, p.is.id, 0, body)) ||
		    (rc = issue_refs_record(FORGE(r), r->repo, p.is.id, 0, NULL, body)))
			goto fail_changes;
	}
	if (retitled || rebodied) {
		json_t *pl = pull_payload(r->repo, &p, "edited", sender(r));
		json_object_set(pl, "changes", changes);
		if ((rc = forge_event(NULL, FORGE(r), r->repo->id, "pull_request", pl)))
			goto fail_changes;
	}
	json_decref(changes);
	if (closing || reopening) {
		p.is.state = state;
		const char *what = closing ? "closed" : "reopened";
		if ((rc = issue_event_add(FORGE(r), r->repo->id, p.is.id, what, json_object())) ||
		    (rc = forge_event(NULL, FORGE(r), r->repo->id, "pull_request", pull_payload(r->repo, &p, what, sender(r)))))
			goto fail;
	}
	if ((rc = db_commit(r->db, &r->err)))
		goto fail;
	if ((rc = pull_load(r, number, &p)) || (rc = pull_json(r, repo, &p, &o)))
		return rc;
	resp_json(w, 200, o);
	return 0;
fail_changes:
	json_decref(changes);
fail:
	db_rollback(r->db);
	return rc;
}

/* ---- merging ---- */

/* The user's signature for new commits: username and email (a no-reply
 * address when the account has none). */
static int user_signature(struct req *r, int64_t user_id, const char *fallback,
			  git_signature **out)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT username, coalesce(email, '') FROM users WHERE id = $1",
			      num(r->arena, (long long)user_id));
	if (!res)
		return r->err.code;
	const char *name = PQntuples(res) ? db_val(res, 0, 0) : fallback;
	const char *email = PQntuples(res) ? db_val(res, 0, 1) : "";
	if (!*email || strpbrk(email, "<>\n"))
		email = arena_printf(r->arena, "%s@users.noreply.plue", name);
	if (git_signature_now(out, name, email) < 0 &&
	    git_signature_now(out, "plue", "plue@users.noreply.plue") < 0)
		return err_set(&r->err, ERR_INTERNAL, NULL, "cannot make a commit signature");
	return 0;
}

/* The squash commit's default body: one line per commit of the pull request. */
static const char *squash_body(struct req *r, git_repository *repo, const git_oid *base,
			       const git_oid *head)
{
	git_commit **commits = NULL;
	size_t n = 0, total = 0;
	struct err e = { 0 };
	if (merge_commits_list(&commits, &n, &total, r->arena, repo, base, head, SQUASH_LIST_MAX,
			       &e))
		return "";
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_addf(&b, "* %s\n", git_commit_summary(commits[i]) ? git_commit_summary(commits[i]) : "");
		git_commit_free(commits[i]);
	}
	if (total > n)
		buf_addf(&b, "* ... and %zu more\n", total - n);
	const char *s = arena_strndup(r->arena, b.ptr, b.len);
	buf_release(&b);
	return s;
}

/* A merge refused for conflicts: 409 with the paths beside the message. */
static void conflict_response(struct req *r, struct resp *w, const char **paths, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, objects_json_str(paths[i], strlen(paths[i])));
	resp_json(w, 409,
		  json_pack("{s:{s:s,s:s,s:o}}", "error", "code", r->err.slug, "message", r->err.msg,
			    "conflicts", arr));
}

int h_pull_merge(struct req *r, struct resp *w)
{
	const char *method_s = "merge", *ctitle = NULL, *cmsg = NULL, *want_sha = NULL;
	git_repository *repo;
	git_signature *merger = NULL, *author = NULL;
	struct pull p = { 0 };
	struct pull_tips t = { 0 };
	git_oid tip = { 0 };
	bool moved = false;
	int rc;
	if ((rc = json_str_field(r, "method", false, 20, &method_s)) ||
	    (rc = json_str_field(r, "commit_title", false, COLLAB_TITLE_MAX, &ctitle)) ||
	    (rc = json_str_field(r, "commit_message", false, COLLAB_BODY_MAX, &cmsg)) ||
	    (rc = json_str_field(r, "sha", false, 40, &want_sha)))
		return rc;
	int method = merge_method_parse(method_s);
	if (method < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_method",
			       "method '%.40s' is not one of merge, squash, rebase", method_s);
	if (want_sha && !is_sha1_hex(want_sha))
		return err_set(&r->err, ERR_INVALID, "invalid_sha", "sha '%.40s' is not a commit sha",
			       want_sha);
	if ((rc = pull_repo_open(r, &repo)) || (rc = db_begin(r->db, &r->err)))
		return rc;
	/* merges into one repository take turns, so two of them both land
	 * (each on the other's result) instead of racing for the base */
	const char *rid = num(r->arena, (long long)r->repo->id);
	if (!db_qv(r->db, r->arena, &r->err,
		   "SELECT pg_advisory_xact_lock(hashtextextended('plue-merge:' || $1, 0))", rid)) {
		rc = r->err.code;
		goto fail;
	}
	if ((rc = pull_load(r, req_param(r, "number"), &p)))
		goto fail;
	if (p.merged) {
		rc = err_set(&r->err, ERR_CONFLICT, "already_merged",
			     "pull request #%lld is already merged", (long long)p.is.number);
		goto fail;
	}
	if (strcmp(p.is.state, "open")) {
		rc = err_set(&r->err, ERR_CONFLICT, "pull_closed",
			     "pull request #%lld is closed; reopen it to merge", (long long)p.is.number);
		goto fail;
	}
	if ((rc = pull_tips_get(r, repo, &p, &t)))
		goto fail;
	if (!t.head_ok || !t.base_ok) {
		rc = err_set(&r->err, ERR_CONFLICT, "branch_missing",
			     "cannot merge: branch '%.100s' no longer exists",
			     !t.head_ok ? p.head : p.base);
		goto fail;
	}
	const char *head_hex = oid_hex(r->arena, &t.head), *base_hex = oid_hex(r->arena, &t.base);
	if (want_sha && strcasecmp(want_sha, head_hex)) {
		rc = err_set(&r->err, ERR_CONFLICT, "head_moved",
			     "the head of pull request #%lld is now '%s', not '%.40s'",
			     (long long)p.is.number, head_hex, want_sha);
		goto fail;
	}
	struct protection prot;
	const char *commits = NULL; /* approvals by their pushers do not count */
	if ((rc = protection_get(r->db, r->arena, &r->err, r->repo->id, p.base, &prot)) ||
	    (prot.required_approvals > 0 &&
	     (rc = pushers_range(r->arena, repo, &t.base, &t.head, &commits, &r->err))) ||
	    (rc = protection_check_merge(r->db, r->arena, &r->err, r->repo->id, &prot, p.is.id,
					 head_hex, commits)))
		goto fail;
	if ((rc = user_signature(r, r->auth.user_id, r->auth.username ? r->auth.username : "plue",
				 &merger)) ||
	    (rc = user_signature(r, p.is.author_id ? p.is.author_id : r->auth.user_id, "ghost",
				 &author)))
		goto fail;
	const char *message;
	if (method == MERGE_METHOD_SQUASH)
		message = arena_printf(r->arena, "%s\n\n%s",
				       ctitle ? ctitle
					      : arena_printf(r->arena, "%s (#%lld)", p.is.title,
							     (long long)p.is.number),
				       cmsg ? cmsg : squash_body(r, repo, &t.base, &t.head));
	else
		message = arena_printf(r->arena, "%s\n\n%s\n",
				       ctitle ? ctitle
					      : arena_printf(r->arena, "Merge pull request #%lld from %s",
							     (long long)p.is.number, p.head),
				       cmsg ? cmsg : p.is.title);
	struct merge_job job = {
		.method = (enum merge_method)method,
		.message = message,
		.author = method == MERGE_METHOD_SQUASH ? author : merger,
		.committer = merger,
	};
	git_oid_cpy(&job.base, &t.base);
	git_oid_cpy(&job.head, &t.head);
	const char **conflicts = NULL;
	size_t nconflicts = 0;
	if ((rc = merge_build(&tip, r->arena, repo, &job, &conflicts, &nconflicts, &r->err))) {
		if (rc == ERR_CONFLICT && !strcmp(r->err.slug, "merge_conflict")) {
			db_rollback(r->db);
			conflict_response(r, w, conflicts, nconflicts);
			rc = 0;
			goto done;
		}
		goto fail;
	}
	const char *ref = arena_printf(r->arena, "refs/heads/%s", p.base);
	const char *tip_hex = oid_hex(r->arena, &tip);
	if ((rc = merge_ref_cas(repo, ref, &t.base, &tip,
				arena_printf(r->arena, "merge pull request #%lld (%s)",
					     (long long)p.is.number, merge_method_name(job.method)),
				&r->err)))
		goto fail;
	moved = true;
	const char *pid = num(r->arena, (long long)p.is.id);
	/* a workflow's task token merges as no user */
	const char *uid = r->auth.user_id ? num(r->arena, (long long)r->auth.user_id) : NULL;
	json_t *push = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:I,s:b,s:b}", "ref", ref, "before",
				 base_hex, "after", tip_hex, "pusher", r->auth.username, "repo",
				 arena_printf(r->arena, "%s/%s", r->repo->owner, r->repo->name),
				 "repo_id", (json_int_t)r->repo->id, "created", 0, "deleted", 0);
	if (!db_qv(r->db, r->arena, &r->err,
		   "INSERT INTO branches (repo_id, name, commit_sha) VALUES ($1, $2, $3) "
		   "ON CONFLICT (repo_id, name) DO UPDATE SET commit_sha = EXCLUDED.commit_sha, "
		   "updated_at = now()",
		   rid, p.base, tip_hex) ||
	    !db_qv(r->db, r->arena, &r->err,
		   "UPDATE pull_requests SET merged = true, merged_at = now(), merged_by = $2, "
		   "merge_commit_sha = $3, merge_method = $4, head_sha = $5, base_sha = $6 "
		   "WHERE issue_id = $1",
		   pid, uid, tip_hex, merge_method_name(job.method), head_hex, base_hex) ||
	    !db_qv(r->db, r->arena, &r->err,
		   "UPDATE issues SET state = 'closed', closed_by = $2, closed_at = now(), "
		   "updated_at = now() WHERE id = $1",
		   pid, uid) ||
	    !db_qv(r->db, r->arena, &r->err,
		   "UPDATE repositories SET updated_at = now() WHERE id = $1", rid)) {
		json_decref(push);
		rc = r->err.code;
		goto fail;
	}
	p.merged = true;
	p.is.state = "closed";
	p.head_sha = head_hex;
	p.base_sha = base_hex;
	p.merge_commit_sha = tip_hex;
	if ((rc = forge_event(NULL, FORGE(r), r->repo->id, "push", push)) ||
	    (rc = pushers_record_merge(r->db, r->arena, &r->err, repo, r->repo->id,
				       r->auth.user_id, &t.base, &t.head, &tip)) ||
	    (rc = issue_event_add(FORGE(r), r->repo->id, p.is.id, "merged", json_pack("{s:s,s:s}", "commit_sha", tip_hex, "method",
					    merge_method_name(job.method)))) ||
	    (rc = forge_event(NULL, FORGE(r), r->repo->id, "pull_request", pull_payload(r->repo, &p, "merged", sender(r)))) ||
	    /* the other pull requests on this base or with it as head */
	    (rc = pulls_on_push(r->db, r->arena, &r->err, r->repo->id, ref, base_hex, tip_hex,
				r->auth.user_id)) ||
	    (rc = db_commit(r->db, &r->err)))
		goto fail;
	log_info("pull request %s/%s#%lld merged (%s) into %s at %s", r->repo->owner, r->repo->name,
		 (long long)p.is.number, merge_method_name(job.method), p.base, tip_hex);
	resp_json(w, 200,
		  json_pack("{s:b,s:s,s:s,s:s}", "merged", 1, "sha", tip_hex, "method",
			    merge_method_name(job.method), "message",
			    arena_printf(r->arena, "pull request #%lld merged", (long long)p.is.number)));
	goto done;
fail:
	db_rollback(r->db);
	if (moved) {
		/* the branch moved but nothing was recorded: put it back unless a
		 * push moved it again since */
		struct err ue = { 0 };
		if (merge_ref_cas(repo, arena_printf(r->arena, "refs/heads/%s", p.base), &tip, &t.base,
				  "undo a merge that could not be recorded", &ue))
			log_error("merge of %s/%s#%lld: branch '%s' moved to %s but was not recorded "
				  "and cannot be put back: %s",
				  r->repo->owner, r->repo->name, (long long)p.is.number, p.base,
				  oid_hex(r->arena, &tip), ue.msg);
	}
done:
	git_signature_free(merger);
	git_signature_free(author);
	return rc;
}

/* ---- the push path ---- */

static int repo_by_id(PGconn *db, struct arena *a, struct err *e, int64_t id, struct repo *out)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT u.username, r.name, r.is_private, r.owner_id, r.default_branch "
			      "FROM repositories r JOIN users u ON u.id = r.owner_id WHERE r.id = $1",
			      num(a, (long long)id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "repository %lld not found", (long long)id);
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->owner = arena_strdup(a, db_val(res, 0, 0));
	out->name = arena_strdup(a, db_val(res, 0, 1));
	out->is_private = db_bool(res, 0, 2);
	out->owner_id = db_int(res, 0, 3);
	out->default_branch = arena_strdup(a, db_val(res, 0, 4));
	out->disk_path = repo_store_path(a, id);
	return 0;
}

/* Carries pull request pull_id's live inline comments from its old head
 * to new_head (and its left sides to the new merge base): a comment whose
 * line changed is marked outdated, the others follow their line. A
 * commit that cannot be read makes the comment outdated. */
static int comments_follow(PGconn *db, struct arena *a, struct err *e, git_repository *repo,
			   int64_t pull_id, const git_oid *new_head, const git_oid *new_mb,
			   bool has_mb)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT id, side, path, old_path, commit_sha, base_sha, line "
			      "FROM review_comments WHERE pull_id = $1 AND NOT outdated",
			      num(a, (long long)pull_id));
	if (!res)
		return e->code;
	const char *head_hex = oid_hex(a, new_head), *mb_hex = has_mb ? oid_hex(a, new_mb) : NULL;
	for (int i = 0; i < PQntuples(res); i++) {
		bool left = !strcmp(db_val(res, i, 1), "LEFT");
		const char *from_hex = db_val(res, i, left ? 5 : 4);
		const char *path = db_val(res, i, left ? 3 : 2);
		int line = (int)db_int(res, i, 6), out = 0;
		git_oid from;
		struct err ge = { 0 };
		if (left && !has_mb)
			out = 0;
		else if (git_oid_fromstrn(&from, from_hex, GIT_OID_HEXSZ) < 0 ||
			 merge_line_follow(&out, repo, &from, left ? new_mb : new_head, path, line,
					   &ge))
			out = 0;
		PGresult *u = out
			? db_qv(db, a, e,
				"UPDATE review_comments SET line = $2, commit_sha = $3, "
				"base_sha = coalesce($4, base_sha) WHERE id = $1",
				db_val(res, i, 0), num(a, out), head_hex, mb_hex)
			: db_qv(db, a, e, "UPDATE review_comments SET outdated = true WHERE id = $1",
				db_val(res, i, 0));
		if (!u)
			return e->code;
	}
	return 0;
}

/* The open pull requests with `column` (head_branch or base_branch) =
 * branch, with their issue fields. */
static PGresult *open_pulls(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			    const char *branch, bool by_head)
{
	return db_qv(db, a, e,
		     "SELECT i.id, i.number, i.title, i.body, i.state, coalesce(i.author_id, 0), "
		     "  coalesce(au.username, 'ghost'), " PULL_COLS " "
		     "FROM pull_requests p JOIN issues i ON i.id = p.issue_id "
		     "LEFT JOIN users au ON au.id = i.author_id LEFT JOIN users mu ON mu.id = p.merged_by "
		     "WHERE p.repo_id = $1 AND i.state = 'open' AND "
		     "  CASE WHEN $3 THEN p.head_branch ELSE p.base_branch END = $2 "
		     "ORDER BY i.id FOR NO KEY UPDATE OF p",
		     num(a, (long long)repo_id), branch, by_head ? "true" : "false");
}

static void open_pull_fill(struct arena *a, struct pull *p, const PGresult *res, int i)
{
	memset(p, 0, sizeof(*p));
	p->is.id = db_int(res, i, 0);
	p->is.number = db_int(res, i, 1);
	p->is.title = db_val(res, i, 2);
	p->is.body = db_val(res, i, 3);
	p->is.state = db_val(res, i, 4);
	p->is.is_pull = true;
	p->is.author_id = db_int(res, i, 5);
	p->is.author = db_val(res, i, 6);
	pull_fill(a, p, res, i, 7);
}

int pulls_on_push(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, const char *ref,
		  const char *before, const char *after, int64_t pusher_id)
{
	if (strncmp(ref, "refs/heads/", 11) || !strcmp(after, ZERO_SHA))
		return 0; /* a deleted branch leaves its pull requests as they are */
	const char *branch = ref + 11;
	struct repo rp;
	git_repository *repo;
	git_oid new_tip;
	struct err ge = { 0 };
	int rc;
	PGresult *heads = open_pulls(db, a, e, repo_id, branch, true);
	PGresult *bases = heads ? open_pulls(db, a, e, repo_id, branch, false) : NULL;
	if (!bases)
		return e->code;
	if (!PQntuples(heads) && !PQntuples(bases))
		return 0;
	if ((rc = repo_by_id(db, a, e, repo_id, &rp)))
		return rc;
	PGresult *pu = pusher_id ? db_qv(db, a, e, "SELECT username FROM users WHERE id = $1",
					 num(a, (long long)pusher_id))
				 : NULL;
	const char *pusher = pu && PQntuples(pu) ? db_val(pu, 0, 0) : NULL;
	struct auth who = { .user_id = pusher_id, .username = pusher };
	struct forge f = { .db = db, .arena = a, .err = e, .who = &who };
	if (objects_repo_open(&repo, rp.disk_path, &ge) ||
	    git_oid_fromstrn(&new_tip, after, GIT_OID_HEXSZ) < 0) {
		log_error("push to %s/%s: cannot open the repository to update pull requests: %s",
			  rp.owner, rp.name, ge.msg);
		return 0; /* the push itself stands */
	}
	/* pull requests from this branch: a new head */
	for (int i = 0; i < PQntuples(heads); i++) {
		struct pull p;
		open_pull_fill(a, &p, heads, i);
		if (!strcmp(p.head_sha, after))
			continue;
		const char *old_head = p.head_sha;
		git_oid base_tip, mb;
		bool has_mb = branch_tip(a, repo, p.base, &base_tip, &ge) > 0 &&
			      git_merge_base(&mb, repo, &base_tip, &new_tip) == 0;
		if (!db_qv(db, a, e, "UPDATE pull_requests SET head_sha = $2 WHERE issue_id = $1",
			   num(a, (long long)p.is.id), after) ||
		    (rc = comments_follow(db, a, e, repo, p.is.id, &new_tip, &mb, has_mb)))
			return e->code;
		p.head_sha = after;
		json_t *pl = pull_payload(&rp, &p, "synchronize", pusher);
		json_object_set_new(pl, "before", json_string(old_head));
		json_object_set_new(pl, "after", json_string(after));
		if ((rc = forge_event(NULL, &f, repo_id, "pull_request", pl)))
			return rc;
	}
	/* pull requests into this branch: a push that brought in their head
	 * merged them */
	for (int i = 0; i < PQntuples(bases); i++) {
		struct pull p;
		git_oid head;
		open_pull_fill(a, &p, bases, i);
		const char *pid = num(a, (long long)p.is.id);
		bool contained = branch_tip(a, repo, p.head, &head, &ge) > 0 &&
				 (git_oid_equal(&head, &new_tip) ||
				  git_graph_descendant_of(repo, &new_tip, &head) == 1);
		if (!contained) {
			if (!db_qv(db, a, e, "UPDATE pull_requests SET base_sha = $2 WHERE issue_id = $1",
				   pid, after))
				return e->code;
			continue;
		}
		const char *uid = pusher_id ? num(a, (long long)pusher_id) : NULL;
		p.merged = true;
		p.is.state = "closed";
		p.head_sha = oid_hex(a, &head);
		p.merge_commit_sha = after;
		if (!db_qv(db, a, e,
			   "UPDATE pull_requests SET merged = true, merged_at = now(), merged_by = $2, "
			   "merge_commit_sha = $3, merge_method = 'push', head_sha = $4, base_sha = $5 "
			   "WHERE issue_id = $1",
			   pid, uid, after, p.head_sha, before) ||
		    (rc = issue_state_set(&f, p.is.id, "closed")) ||
		    (rc = issue_event_add(&f, repo_id, p.is.id, "merged",
					  json_pack("{s:s,s:s}", "commit_sha", after, "method",
						    "push"))) ||
		    (rc = forge_event(NULL, &f, repo_id, "pull_request",
				       pull_payload(&rp, &p, "merged", pusher))))
			return e->code;
	}
	return 0;
}
