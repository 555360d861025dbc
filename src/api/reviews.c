/* reviews.c — reviews of pull requests: submit one (approve, request
 * changes or comment) with inline comments anchored to (path, commit,
 * side, line) of the pull request's diff, and list reviews and inline
 * comments. Comments on lines a later push changed are marked outdated by
 * pulls_on_push (api/pulls.c), never deleted. */
#include "api/api.h"
#include "api/collab.h"
#include "api/pulls.h"
#include "base/util.h"
#include "db/db.h"
#include "git/merge.h"
#include "git/objects.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMMENTS_MAX 100   /* inline comments per review */
#define LIST_MAX 1000      /* reviews or comments listed */

struct inline_comment {
	const char *path, *old_path, *body, *hunk;
	bool left;
	int line;
};

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

/* The API's spelling of a review state. */
static const char *state_api(const char *db_state)
{
	return !strcmp(db_state, "approved")	      ? "APPROVED"
	       : !strcmp(db_state, "changes_requested") ? "CHANGES_REQUESTED"
							: "COMMENTED";
}

/* comments[] of the body, checked against the pull request's diff. */
static int comments_parse(struct req *r, git_diff *diff, struct inline_comment **out, size_t *n)
{
	json_t *arr = json_object_get(r->json, "comments");
	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'comments' must be an array");
	if (json_array_size(arr) > COMMENTS_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "a review has at most %d inline comments", COMMENTS_MAX);
	struct inline_comment *v = arena_alloc(r->arena, (json_array_size(arr) + 1) * sizeof(*v));
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		if (!json_is_object(c))
			return err_set(&r->err, ERR_INVALID, "invalid_comment",
				       "comments[%zu] must be an object", i);
		json_t *jp = json_object_get(c, "path"), *jl = json_object_get(c, "line"),
		       *js = json_object_get(c, "side"), *jb = json_object_get(c, "body");
		const char *path = json_string_value(jp);
		if (!path || strlen(path) != json_string_length(jp) ||
		    !(path = path_normalise(r->arena, path)) || !*path)
			return err_set(&r->err, ERR_INVALID, "invalid_comment",
				       "comments[%zu].path must be a file path", i);
		if (!json_is_integer(jl) || json_integer_value(jl) < 1 ||
		    json_integer_value(jl) > 100000000)
			return err_set(&r->err, ERR_INVALID, "invalid_comment",
				       "comments[%zu].line must be a line number", i);
		const char *side = js && !json_is_null(js) ? json_string_value(js) : "RIGHT";
		if (!side || (strcasecmp(side, "LEFT") && strcasecmp(side, "RIGHT")))
			return err_set(&r->err, ERR_INVALID, "invalid_comment",
				       "comments[%zu].side must be LEFT or RIGHT", i);
		const char *body = json_string_value(jb);
		if (!body || strlen(body) != json_string_length(jb) || !*body ||
		    strspn(body, " \t\r\n") == strlen(body))
			return err_set(&r->err, ERR_INVALID, "invalid_comment",
				       "comments[%zu].body must not be empty", i);
		if (json_string_length(jb) > COLLAB_BODY_MAX)
			return err_set(&r->err, ERR_TOOLARGE, "too_large",
				       "comments[%zu].body is longer than %d characters", i,
				       COLLAB_BODY_MAX);
		struct inline_comment *ic = &v[i];
		ic->path = path;
		ic->body = body;
		ic->left = !strcasecmp(side, "LEFT");
		ic->line = (int)json_integer_value(jl);
		struct err le = { 0 };
		int rc = merge_diff_line_check(diff, r->arena, path, ic->left, ic->line, &ic->hunk,
					       &ic->old_path, &le);
		if (rc) {
			if (rc != ERR_INVALID) {
				r->err = le;
				return rc;
			}
			return err_set(&r->err, ERR_INVALID, le.slug, "comments[%zu]: %s", i, le.msg);
		}
		/* the hunk is file content: stored as valid UTF-8 */
		json_t *h = objects_json_str(ic->hunk, strlen(ic->hunk));
		ic->hunk = arena_strdup(r->arena, json_string_value(h));
		json_decref(h);
	}
	*out = v;
	*n = json_array_size(arr);
	return 0;
}

/* Columns of a review query (alias rv, author u), in review_json's order. */
#define REVIEW_COLS                                                                     \
	"rv.id, coalesce(u.username, 'ghost'), rv.state, rv.body, rv.commit_sha, " SQL_TS( \
		"rv.submitted_at") ", (SELECT count(*) FROM review_comments c WHERE c.review_id = rv.id)"

static json_t *review_json(struct req *r, const PGresult *res, int i)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:s,s:I}", "id", (json_int_t)db_int(res, i, 0),
			 "author", db_val(res, i, 1), "state", state_api(db_val(res, i, 2)), "body",
			 db_val(res, i, 3), "body_html", forge_html(FORGE(r), r->repo, db_val(res, i, 3)),
			 "commit_sha", db_val(res, i, 4), "submitted_at", db_val(res, i, 5),
			 "comments", (json_int_t)db_int(res, i, 6));
}

/* Columns of an inline comment query (alias c, author u), in comment_json's order. */
#define COMMENT_COLS                                                                        \
	"c.id, c.review_id, coalesce(u.username, 'ghost'), c.path, c.old_path, c.side, "    \
	"c.line, c.original_line, c.commit_sha, c.original_commit_sha, c.diff_hunk, c.body, " \
	"c.outdated, " SQL_TS("c.created_at")

static json_t *comment_json(struct req *r, const PGresult *res, int i)
{
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:b,s:s}",
			      "id", (json_int_t)db_int(res, i, 0), "review_id",
			      (json_int_t)db_int(res, i, 1), "author", db_val(res, i, 2), "path",
			      db_val(res, i, 3), "old_path", db_val(res, i, 4), "side",
			      db_val(res, i, 5), "line", (json_int_t)db_int(res, i, 6),
			      "original_line", (json_int_t)db_int(res, i, 7), "commit_sha",
			      db_val(res, i, 8), "original_commit_sha", db_val(res, i, 9),
			      "diff_hunk", db_val(res, i, 10), "body", db_val(res, i, 11),
			      "body_html", forge_html(FORGE(r), r->repo, db_val(res, i, 11)), "outdated",
			      db_bool(res, i, 12), "created_at", db_val(res, i, 13));
	if (!o) /* a hunk of invalid UTF-8 from git */
		o = json_pack("{s:I,s:s}", "id", (json_int_t)db_int(res, i, 0), "error",
			      "comment cannot be shown");
	return o;
}

int h_review_create(struct req *r, struct resp *w)
{
	const char *event = "COMMENT", *body = "", *commit = NULL;
	struct pull p;
	struct pull_tips t;
	struct merge_state ms;
	git_repository *repo;
	git_diff *diff = NULL;
	struct inline_comment *cs = NULL;
	size_t ncs = 0;
	json_t *out = NULL;
	int rc;
	if ((rc = json_str_field(r, "event", false, 20, &event)) ||
	    (rc = collab_body_field(r, "body", false, &body)) ||
	    (rc = json_str_field(r, "commit_id", false, 40, &commit)))
		return rc;
	const char *state = !strcasecmp(event, "APPROVE")	    ? "approved"
			    : !strcasecmp(event, "REQUEST_CHANGES") ? "changes_requested"
			    : !strcasecmp(event, "COMMENT")	    ? "commented"
								    : NULL;
	if (!state)
		return err_set(&r->err, ERR_INVALID, "invalid_event",
			       "event '%.40s' is not one of APPROVE, REQUEST_CHANGES, COMMENT", event);
	bool verdict = strcmp(state, "commented");
	if ((rc = pull_load(r, req_param(r, "number"), &p)))
		return rc;
	if ((rc = verdict ? forge_require_writer(FORGE(r), r->repo, "approve or request changes")
			  : forge_can_participate(FORGE(r), r->repo)))
		return rc;
	if (verdict && p.is.author_id == r->auth.user_id)
		return err_set(&r->err, ERR_PERM, "own_pull_request",
			       "you cannot %s your own pull request",
			       !strcmp(state, "approved") ? "approve" : "request changes on");
	if (verdict && (p.merged || strcmp(p.is.state, "open")))
		return err_set(&r->err, ERR_CONFLICT, "pull_closed", "pull request #%lld is %s",
			       (long long)p.is.number, p.merged ? "merged" : "closed");
	if ((rc = pull_repo_open(r, &repo)) || (rc = pull_tips_get(r, repo, &p, &t)))
		return rc;
	const char *head_hex = arena_strdup(r->arena, git_oid_tostr_s(&t.head));
	if (commit && strcasecmp(commit, head_hex))
		return err_set(&r->err, ERR_CONFLICT, "head_moved",
			       "commit_id '%.40s' is not the head of pull request #%lld (now '%s')",
			       commit, (long long)p.is.number, head_hex);
	if ((rc = merge_state_get(&ms, r->arena, repo, &t.base, &t.head, false, &r->err)))
		return rc;
	if (!ms.has_merge_base)
		return err_set(&r->err, ERR_CONFLICT, "unrelated_histories",
			       "'%.100s' and '%.100s' no longer share any history", p.head, p.base);
	if ((rc = merge_diff(&diff, repo, &ms.merge_base, &t.head, &r->err)))
		return rc;
	rc = comments_parse(r, diff, &cs, &ncs);
	git_diff_free(diff);
	if (rc)
		return rc;
	if (!strcmp(state, "changes_requested") && !*body)
		return err_set(&r->err, ERR_INVALID, "missing_field",
			       "field 'body' is required to request changes");
	if (!strcmp(state, "commented") && !*body && !ncs)
		return err_set(&r->err, ERR_INVALID, "missing_field",
			       "a comment review needs a body or inline comments");
	const char *mb_hex = arena_strdup(r->arena, git_oid_tostr_s(&ms.merge_base));
	const char *pid = num(r->arena, (long long)p.is.id), *rid = num(r->arena, (long long)r->repo->id);
	const char *uid = num(r->arena, (long long)r->auth.user_id);
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO reviews (pull_id, repo_id, author_id, state, body, commit_sha) "
			      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
			      pid, rid, uid, state, body, head_hex);
	if (!res)
		goto fail;
	const char *review_id = arena_strdup(r->arena, db_val(res, 0, 0));
	for (size_t i = 0; i < ncs; i++) {
		struct inline_comment *c = &cs[i];
		const char *line = num(r->arena, c->line);
		if (!db_qv(r->db, r->arena, &r->err,
			   "INSERT INTO review_comments (review_id, pull_id, repo_id, author_id, path, "
			   "old_path, side, original_commit_sha, commit_sha, base_sha, original_line, "
			   "line, diff_hunk, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, "
			   "$10, $11, $12)",
			   review_id, pid, rid, uid, c->path, c->old_path, c->left ? "LEFT" : "RIGHT",
			   head_hex, mb_hex, line, c->hunk, c->body) ||
		    mentions_record(FORGE(r), r->repo, p.is.id, 0, c->body))
			goto fail;
	}
	json_t *rv = json_pack("{s:I,s:s,s:s,s:s?,s:I}", "id",
			       (json_int_t)strtoll(review_id, NULL, 10), "state",
			       state_api(state), "body", body, "author", r->auth.username,
			       "comments", (json_int_t)ncs);
	json_object_set_new(rv, "commit_sha", json_string(head_hex));
	json_t *pl = pull_payload(r->repo, &p, "submitted", r->auth.username);
	json_object_set_new(pl, "review", rv);
	if (mentions_record(FORGE(r), r->repo, p.is.id, 0, body) ||
	    issue_event_add(FORGE(r), r->repo->id, p.is.id, "reviewed", json_pack("{s:I,s:s}", "review_id", (json_int_t)strtoll(review_id, NULL, 10),
				      "state", state_api(state))) ||
	    forge_event(NULL, FORGE(r), r->repo->id, "pull_request.review", pl) ||
	    db_commit(r->db, &r->err))
		goto fail;
	res = db_qv(r->db, r->arena, &r->err,
		    "SELECT " REVIEW_COLS " FROM reviews rv LEFT JOIN users u ON u.id = rv.author_id "
		    "WHERE rv.id = $1",
		    review_id);
	PGresult *cres = res ? db_qv(r->db, r->arena, &r->err,
				     "SELECT " COMMENT_COLS " FROM review_comments c "
				     "LEFT JOIN users u ON u.id = c.author_id WHERE c.review_id = $1 "
				     "ORDER BY c.id",
				     review_id)
			     : NULL;
	if (!cres)
		return r->err.code;
	out = review_json(r, res, 0);
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(cres); i++)
		json_array_append_new(arr, comment_json(r, cres, i));
	json_object_set_new(out, "inline_comments", arr);
	resp_json(w, 201, out);
	return 0;
fail:
	db_rollback(r->db);
	return r->err.code ? r->err.code : ERR_INTERNAL;
}

int h_review_list(struct req *r, struct resp *w)
{
	struct pull p;
	int rc;
	if ((rc = pull_load(r, req_param(r, "number"), &p)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " REVIEW_COLS " FROM reviews rv LEFT JOIN users u ON "
			      "u.id = rv.author_id WHERE rv.pull_id = $1 ORDER BY rv.id LIMIT $2",
			      num(r->arena, (long long)p.is.id), num(r->arena, LIST_MAX));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, review_json(r, res, i));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_review_comments(struct req *r, struct resp *w)
{
	struct pull p;
	int rc;
	if ((rc = pull_load(r, req_param(r, "number"), &p)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " COMMENT_COLS " FROM review_comments c LEFT JOIN users u ON "
			      "u.id = c.author_id WHERE c.pull_id = $1 ORDER BY c.id LIMIT $2",
			      num(r->arena, (long long)p.is.id), num(r->arena, LIST_MAX));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, comment_json(r, res, i));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}
