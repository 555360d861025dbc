/* reviews.c — reviews of pull requests and their inline comments:
 * checking a review against the pull request's diff, recording it, and
 * its JSON. */
#include "forge/reviews.h"
#include "forge/issues.h"
#include "forge/pulls.h"
#include "db/db.h"
#include "git/merge.h"
#include "git/objects.h"

#include <string.h>
#include <strings.h>

/* A checked inline comment. */
struct inline_comment {
	const char *path, *old_path, *body, *hunk;
	bool left;
	int line;
};

/* The API's spelling of a review state. */
static const char *state_api(const char *db_state)
{
	return !strcmp(db_state, "approved")            ? "APPROVED"
	       : !strcmp(db_state, "changes_requested") ? "CHANGES_REQUESTED"
							: "COMMENTED";
}

/* Checks comment i against the diff into *out. */
static int comment_check(struct inline_comment *out, struct forge *f, git_diff *diff, size_t i,
			 const struct review_comment_input *c)
{
	if (!c->path || !*c->path)
		return err_set(f->err, ERR_INVALID, "invalid_comment",
			       "comments[%zu].path must be a file path", i);
	if (c->line < 1 || c->line > 100000000)
		return err_set(f->err, ERR_INVALID, "invalid_comment",
			       "comments[%zu].line must be a line number", i);
	if (!c->side || (strcasecmp(c->side, "LEFT") && strcasecmp(c->side, "RIGHT")))
		return err_set(f->err, ERR_INVALID, "invalid_comment",
			       "comments[%zu].side must be LEFT or RIGHT", i);
	if (!c->body || !*c->body || strspn(c->body, " \t\r\n") == strlen(c->body))
		return err_set(f->err, ERR_INVALID, "invalid_comment",
			       "comments[%zu].body must not be empty", i);
	if (c->body_len > ISSUE_BODY_MAX)
		return err_set(f->err, ERR_TOOLARGE, "too_large",
			       "comments[%zu].body is longer than %d characters", i, ISSUE_BODY_MAX);
	out->path = c->path;
	out->body = c->body;
	out->left = !strcasecmp(c->side, "LEFT");
	out->line = (int)c->line;
	struct err le = { 0 };
	int rc = merge_diff_line_check(diff, f->arena, c->path, out->left, out->line, &out->hunk,
				       &out->old_path, &le);
	if (rc) {
		if (rc != ERR_INVALID) {
			*f->err = le;
			return rc;
		}
		return err_set(f->err, ERR_INVALID, le.slug, "comments[%zu]: %s", i, le.msg);
	}
	/* the hunk is file content: stored as valid UTF-8 */
	json_t *h = objects_json_str(out->hunk, strlen(out->hunk));
	out->hunk = arena_strdup(f->arena, json_string_value(h));
	json_decref(h);
	return 0;
}

/* Every inline comment of in, checked against the diff (merge base to
 * head), into *out (arena). */
static int comments_check(struct inline_comment **out, struct forge *f, git_repository *grepo,
			  const git_oid *mb, const git_oid *head, const struct review_input *in)
{
	git_diff *diff = NULL;
	int rc = 0;
	*out = NULL;
	if (!in->ncomments)
		return 0;
	if (in->ncomments > REVIEW_COMMENTS_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "a review has at most %d inline comments", REVIEW_COMMENTS_MAX);
	if ((rc = merge_diff(&diff, grepo, mb, head, f->err)))
		return rc;
	struct inline_comment *v = arena_alloc(f->arena, (in->ncomments + 1) * sizeof(*v));
	for (size_t i = 0; i < in->ncomments && !rc; i++)
		rc = comment_check(&v[i], f, diff, i, &in->comments[i]);
	git_diff_free(diff);
	if (!rc)
		*out = v;
	return rc;
}

/* Columns of a review query (alias rv, author u), in their one declared order. */
#define REVIEW_COLS                                                                                \
	"rv.id, coalesce(u.username, 'ghost'), rv.state, rv.body, rv.commit_sha, " SQL_TS(         \
		"rv.submitted_at") ", (SELECT count(*) FROM review_comments c WHERE c.review_id = rv.id)"
enum review_col {
	REVIEW_COL_ID,
	REVIEW_COL_AUTHOR,
	REVIEW_COL_STATE,
	REVIEW_COL_BODY,
	REVIEW_COL_COMMIT,
	REVIEW_COL_SUBMITTED_AT,
	REVIEW_COL_COMMENTS,
};

static json_t *review_json(struct forge *f, const struct repo *repo, const PGresult *res, int i)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:s,s:I}", "id",
			 (json_int_t)db_int(res, i, REVIEW_COL_ID), "author",
			 db_val(res, i, REVIEW_COL_AUTHOR), "state",
			 state_api(db_val(res, i, REVIEW_COL_STATE)), "body",
			 db_val(res, i, REVIEW_COL_BODY), "body_html",
			 forge_html(f, repo, db_val(res, i, REVIEW_COL_BODY)), "commit_sha",
			 db_val(res, i, REVIEW_COL_COMMIT), "submitted_at",
			 db_val(res, i, REVIEW_COL_SUBMITTED_AT), "comments",
			 (json_int_t)db_int(res, i, REVIEW_COL_COMMENTS));
}

/* Columns of an inline comment query (alias c, author u), in their one
 * declared order. */
#define COMMENT_COLS                                                                               \
	"c.id, c.review_id, coalesce(u.username, 'ghost'), c.path, c.old_path, c.side, "           \
	"c.line, c.original_line, c.commit_sha, c.original_commit_sha, c.diff_hunk, c.body, "      \
	"c.outdated, " SQL_TS("c.created_at")
enum comment_col {
	COMMENT_COL_ID,
	COMMENT_COL_REVIEW,
	COMMENT_COL_AUTHOR,
	COMMENT_COL_PATH,
	COMMENT_COL_OLD_PATH,
	COMMENT_COL_SIDE,
	COMMENT_COL_LINE,
	COMMENT_COL_ORIGINAL_LINE,
	COMMENT_COL_COMMIT,
	COMMENT_COL_ORIGINAL_COMMIT,
	COMMENT_COL_HUNK,
	COMMENT_COL_BODY,
	COMMENT_COL_OUTDATED,
	COMMENT_COL_CREATED_AT,
};

static json_t *comment_json(struct forge *f, const struct repo *repo, const PGresult *res, int i)
{
#define V(c) db_val(res, i, COMMENT_COL_##c)
#define N(c) (json_int_t) db_int(res, i, COMMENT_COL_##c)
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:b,s:s}", "id",
			      N(ID), "review_id", N(REVIEW), "author", V(AUTHOR), "path", V(PATH),
			      "old_path", V(OLD_PATH), "side", V(SIDE), "line", N(LINE),
			      "original_line", N(ORIGINAL_LINE), "commit_sha", V(COMMIT),
			      "original_commit_sha", V(ORIGINAL_COMMIT), "diff_hunk", V(HUNK),
			      "body", V(BODY), "body_html", forge_html(f, repo, V(BODY)), "outdated",
			      db_bool(res, i, COMMENT_COL_OUTDATED), "created_at", V(CREATED_AT));
	if (!o) /* a hunk of invalid UTF-8 from git */
		o = json_pack("{s:I,s:s}", "id", N(ID), "error", "comment cannot be shown");
	return o;
#undef V
#undef N
}

/* Every row of res through row_json (review_json or comment_json), as a
 * JSON array (new reference). */
static json_t *rows_json(struct forge *f, const struct repo *repo, const PGresult *res,
			 json_t *(*row_json)(struct forge *, const struct repo *, const PGresult *,
					     int))
{
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, row_json(f, repo, res, i));
	return arr;
}

/* The review's rows, mentions, timeline and event, inside the
 * transaction; *out receives the review's id. */
static int review_record(int64_t *out, struct forge *f, const struct repo *repo,
			 const struct pull *p, const char *state, const char *body,
			 const char *head_hex, const char *mb_hex, const struct inline_comment *cs,
			 size_t ncs)
{
	struct arena *a = f->arena;
	const char *pid = arena_int(a, (long long)p->is.id),
		   *rid = arena_int(a, (long long)repo->id);
	const char *uid = arena_int(a, (long long)f->who->user_id);
	int rc;
	PGresult *res = db_qv(f->db, a, f->err,
			      "INSERT INTO reviews (pull_id, repo_id, author_id, state, body, commit_sha) "
			      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
			      pid, rid, uid, state, body, head_hex);
	if (!res)
		return f->err->code;
	int64_t id = db_int(res, 0, 0);
	const char *review_id = arena_int(a, (long long)id);
	for (size_t i = 0; i < ncs; i++) {
		const struct inline_comment *c = &cs[i];
		if (!db_qv(f->db, a, f->err,
			   "INSERT INTO review_comments (review_id, pull_id, repo_id, author_id, path, "
			   "old_path, side, original_commit_sha, commit_sha, base_sha, original_line, "
			   "line, diff_hunk, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, "
			   "$10, $11, $12)",
			   review_id, pid, rid, uid, c->path, c->old_path, c->left ? "LEFT" : "RIGHT",
			   head_hex, mb_hex, arena_int(a, c->line), c->hunk, c->body))
			return f->err->code;
		if ((rc = mentions_record(f, repo, p->is.id, 0, c->body)))
			return rc;
	}
	json_t *rv = json_pack("{s:I,s:s,s:s,s:s?,s:I}", "id", (json_int_t)id, "state",
			       state_api(state), "body", body, "author", f->who->username,
			       "comments", (json_int_t)ncs);
	json_object_set_new(rv, "commit_sha", json_string(head_hex));
	json_t *pl = pull_payload(f, repo, p, "submitted");
	json_object_set_new(pl, "review", rv);
	if ((rc = mentions_record(f, repo, p->is.id, 0, body))) {
		json_decref(pl);
		return rc;
	}
	if ((rc = issue_event_add(f, repo->id, p->is.id, "reviewed",
				  json_pack("{s:I,s:s}", "review_id", (json_int_t)id, "state",
					    state_api(state)))) ||
	    (rc = forge_event(NULL, f, repo->id, "pull_request.review", pl)))
		return rc;
	*out = id;
	return 0;
}

/* A review and its inline comments as API JSON. */
static int review_json_get(json_t **out, struct forge *f, const struct repo *repo, int64_t id)
{
	const char *review_id = arena_int(f->arena, (long long)id);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " REVIEW_COLS " FROM reviews rv "
			      "LEFT JOIN users u ON u.id = rv.author_id WHERE rv.id = $1",
			      review_id);
	PGresult *cres = res ? db_qv(f->db, f->arena, f->err,
				     "SELECT " COMMENT_COLS " FROM review_comments c "
				     "LEFT JOIN users u ON u.id = c.author_id WHERE c.review_id = $1 "
				     "ORDER BY c.id",
				     review_id)
			     : NULL;
	if (!cres)
		return f->err->code;
	json_t *o = review_json(f, repo, res, 0);
	json_object_set_new(o, "inline_comments", rows_json(f, repo, cres, comment_json));
	*out = o;
	return 0;
}

int review_create(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		  const struct review_input *in)
{
	const char *event = in->event ? in->event : "COMMENT", *body = in->body ? in->body : "";
	struct pull p;
	struct pull_tips t;
	struct merge_state ms;
	git_repository *grepo;
	struct inline_comment *cs = NULL;
	int64_t id = 0;
	int rc;
	const char *state = !strcasecmp(event, "APPROVE")           ? "approved"
			    : !strcasecmp(event, "REQUEST_CHANGES") ? "changes_requested"
			    : !strcasecmp(event, "COMMENT")         ? "commented"
								    : NULL;
	if (!state)
		return err_set(f->err, ERR_INVALID, "invalid_event",
			       "event '%.40s' is not one of APPROVE, REQUEST_CHANGES, COMMENT",
			       event);
	bool verdict = strcmp(state, "commented");
	if ((rc = pull_get(&p, f, repo, number, false)))
		return rc;
	if ((rc = verdict ? forge_require_writer(f, repo, "approve or request changes")
			  : forge_can_participate(f, repo)))
		return rc;
	if (verdict && p.is.author_id == f->who->user_id)
		return err_set(f->err, ERR_PERM, "own_pull_request",
			       "you cannot %s your own pull request",
			       !strcmp(state, "approved") ? "approve" : "request changes on");
	if (verdict && (p.merged || strcmp(p.is.state, "open")))
		return err_set(f->err, ERR_CONFLICT, "pull_closed", "pull request #%lld is %s",
			       (long long)p.is.number, p.merged ? "merged" : "closed");
	if ((rc = pull_repo_open(&grepo, f, repo)) || (rc = pull_tips_get(&t, f, grepo, &p)))
		return rc;
	const char *head_hex = arena_strdup(f->arena, git_oid_tostr_s(&t.head));
	if (in->commit && strcasecmp(in->commit, head_hex))
		return err_set(f->err, ERR_CONFLICT, "head_moved",
			       "commit_id '%.40s' is not the head of pull request #%lld (now '%s')",
			       in->commit, (long long)p.is.number, head_hex);
	if ((rc = merge_state_get(&ms, f->arena, grepo, &t.base, &t.head, false, f->err)))
		return rc;
	if (!ms.has_merge_base)
		return err_set(f->err, ERR_CONFLICT, "unrelated_histories",
			       "'%.100s' and '%.100s' no longer share any history", p.head, p.base);
	if ((rc = comments_check(&cs, f, grepo, &ms.merge_base, &t.head, in)))
		return rc;
	if (!strcmp(state, "changes_requested") && !*body)
		return err_set(f->err, ERR_INVALID, "missing_field",
			       "field 'body' is required to request changes");
	if (!strcmp(state, "commented") && !*body && !in->ncomments)
		return err_set(f->err, ERR_INVALID, "missing_field",
			       "a comment review needs a body or inline comments");
	const char *mb_hex = arena_strdup(f->arena, git_oid_tostr_s(&ms.merge_base));
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = review_record(&id, f, repo, &p, state, body, head_hex, mb_hex, cs, in->ncomments)) ||
	    (rc = db_commit(f->db, f->err))) {
		db_rollback(f->db);
		return rc ? rc : ERR_INTERNAL;
	}
	return review_json_get(out, f, repo, id);
}

/* Pull request `number`'s reviews, or its inline comments, oldest first,
 * at most REVIEW_LIST_MAX, as a JSON array. */
static int rows_list(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		     bool comments)
{
	struct pull p;
	int rc;
	if ((rc = pull_get(&p, f, repo, number, false)))
		return rc;
	const char *pid = arena_int(f->arena, (long long)p.is.id),
		   *max = arena_int(f->arena, REVIEW_LIST_MAX);
	PGresult *res = comments ? db_qv(f->db, f->arena, f->err,
					 "SELECT " COMMENT_COLS " FROM review_comments c LEFT JOIN "
					 "users u ON u.id = c.author_id WHERE c.pull_id = $1 "
					 "ORDER BY c.id LIMIT $2",
					 pid, max)
				 : db_qv(f->db, f->arena, f->err,
					 "SELECT " REVIEW_COLS " FROM reviews rv LEFT JOIN users u "
					 "ON u.id = rv.author_id WHERE rv.pull_id = $1 "
					 "ORDER BY rv.id LIMIT $2",
					 pid, max);
	if (!res)
		return f->err->code;
	*out = rows_json(f, repo, res, comments ? comment_json : review_json);
	return 0;
}

int review_list(json_t **out, struct forge *f, const struct repo *repo, const char *number)
{
	return rows_list(out, f, repo, number, false);
}

int review_comments_list(json_t **out, struct forge *f, const struct repo *repo, const char *number)
{
	return rows_list(out, f, repo, number, true);
}
