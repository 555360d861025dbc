/* comments.c — comments on issues (and pull requests): list, post, read,
 * edit (marked edited) and delete. Posting and editing record mentions
 * and #N cross-references and write the outbox event in the same
 * transaction. */
#include "api/api.h"
#include "api/collab.h"
#include "base/util.h"
#include "db/db.h"

#include <stdlib.h>
#include <string.h>

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

#define COMMENT_COLUMNS                                                                       \
	"c.id, i.number, u.username, c.body, " SQL_TS("c.created_at") ", "                     \
	SQL_TS("c.updated_at") ", " SQL_TS("c.edited_at") ", "                                 \
	"(SELECT json_object_agg(x.content, x.n) FROM (SELECT content, count(*) AS n "        \
	"  FROM reactions WHERE comment_id = c.id GROUP BY content) x), "                     \
	SQL_US("c.created_at") ", coalesce(c.author_id, 0), c.issue_id"
#define COMMENT_FROM                                                                          \
	"comments c JOIN issues i ON i.id = c.issue_id LEFT JOIN users u ON u.id = c.author_id"

static json_t *comment_row_json(struct req *r, PGresult *res, int row)
{
	long long id = db_int(res, row, 0), number = db_int(res, row, 1);
	const char *author = db_val(res, row, 2), *body = db_val(res, row, 3);
	const char *edited = db_val(res, row, 6);
	const char *api = arena_printf(r->arena, "/api/%s/%s/issues/comments/%lld", r->repo->owner,
				       r->repo->name, id);
	const char *html = arena_printf(r->arena, "/%s/%s/issues/%lld#comment-%lld", r->repo->owner,
					r->repo->name, number, id);
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:b,s:s,s:s}", "id", (json_int_t)id,
			      "issue_number", (json_int_t)number, "author", author ? author : "ghost",
			      "body", body, "body_html", forge_html(FORGE(r), r->repo, body), "created_at",
			      db_val(res, row, 4), "updated_at", db_val(res, row, 5), "edited",
			      edited != NULL, "url", forge_url(r->arena, api), "html_url",
			      forge_url(r->arena, html));
	json_object_set_new(j, "edited_at", edited ? json_string(edited) : json_null());
	json_object_set_new(j, "reactions", reactions_json(db_val(res, row, 7)));
	return j;
}

int comment_load(struct req *r, const char *idtext, bool lock, struct comment *out)
{
	int64_t id;
	if (parse_i64(idtext, 1, INT64_MAX, &id))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "comment '%.40s' not found in '%s/%s'",
			       idtext, r->repo->owner, r->repo->name);
	const char *ids = num(r->arena, (long long)id), *rid = num(r->arena, (long long)r->repo->id);
#define COMMENT_LOAD_SQL \
	"SELECT " COMMENT_COLUMNS " FROM " COMMENT_FROM " WHERE c.id = $1 AND c.repo_id = $2"
	PGresult *res = lock ? db_qv(r->db, r->arena, &r->err,
				     COMMENT_LOAD_SQL " FOR NO KEY UPDATE OF c", ids, rid)
			     : db_qv(r->db, r->arena, &r->err, COMMENT_LOAD_SQL, ids, rid);
#undef COMMENT_LOAD_SQL
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "comment %lld not found in '%s/%s'",
			       (long long)id, r->repo->owner, r->repo->name);
	*out = (struct comment){ id, db_int(res, 0, 10), db_int(res, 0, 9), db_val(res, 0, 3), res };
	return 0;
}

/* The outbox payload's comment object. */
static json_t *comment_payload(struct req *r, const struct issue *is, int64_t id,
			       const char *author, const char *body)
{
	const char *api = arena_printf(r->arena, "/api/%s/%s/issues/comments/%lld", r->repo->owner,
				       r->repo->name, (long long)id);
	const char *html = arena_printf(r->arena, "/%s/%s/issues/%lld#comment-%lld", r->repo->owner,
					r->repo->name, (long long)is->number, (long long)id);
	return json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "body", body, "author",
			 author ? author : "ghost", "url", forge_url(r->arena, api), "html_url",
			 forge_url(r->arena, html));
}

static int comment_outbox(struct req *r, const struct issue *is, const char *type,
			  const char *action, int64_t id, const char *author, const char *body,
			  json_t *extra)
{
	json_t *p = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s?}", "action", action, "body", body, "issue",
			      issue_payload(r->repo, is), "comment",
			      comment_payload(r, is, id, author, body), "repository",
			      repo_payload(r->repo), "sender", r->auth.username);
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	return forge_event(NULL, FORGE(r), r->repo->id, type, p);
}

static int respond_comment(struct req *r, struct resp *w, int status, int64_t id)
{
	struct comment c;
	int rc = comment_load(r, num(r->arena, (long long)id), false, &c);
	if (rc)
		return rc;
	resp_json(w, status, comment_row_json(r, c.res, 0));
	resp_no_cache(r, w);
	return 0;
}

int h_comments_list(struct req *r, struct resp *w)
{
	struct issue is;
	int limit, rc;
	struct cursor cur;
	if ((rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), false)) ||
	    (rc = collab_page(r, "comments", COLLAB_PAGE_MAX, &limit, &cur)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " COMMENT_COLUMNS " FROM " COMMENT_FROM " WHERE c.issue_id = $1 "
			      "AND ($2::bigint IS NULL OR (c.created_at, c.id) > "
			      "(" SQL_FROM_US("$2") ", $3::bigint)) "
			      "ORDER BY c.created_at, c.id LIMIT $4",
			      num(r->arena, (long long)is.id), cur.set ? num(r->arena, cur.key) : NULL,
			      cur.set ? num(r->arena, cur.id) : NULL, num(r->arena, limit + 1));
	if (!res)
		return r->err.code;
	int n = PQntuples(res);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(arr, comment_row_json(r, res, i));
	if (n > limit)
		collab_next_page(r, w, "comments", db_int(res, limit - 1, 8),
				 db_int(res, limit - 1, 0));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_comment_create(struct req *r, struct resp *w)
{
	const char *body = NULL;
	struct issue is;
	int64_t id = 0;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) || (rc = collab_body_field(r, "body", true, &body)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), true)))
		goto done;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO comments (issue_id, repo_id, author_id, body) "
			      "VALUES ($1, $2, $3, $4) RETURNING id",
			      num(r->arena, (long long)is.id), num(r->arena, (long long)r->repo->id),
			      num(r->arena, (long long)r->auth.user_id), body);
	if (!res) {
		rc = r->err.code;
		goto done;
	}
	id = db_int(res, 0, 0);
	if (!db_qv(r->db, r->arena, &r->err, "UPDATE issues SET updated_at = now() WHERE id = $1",
		   num(r->arena, (long long)is.id))) {
		rc = r->err.code;
		goto done;
	}
	if ((rc = mentions_record(FORGE(r), r->repo, is.id, id, body)) ||
	    (rc = issue_refs_record(FORGE(r), r->repo, is.id, id, NULL, body)) ||
	    (rc = comment_outbox(r, &is, "issue.comment", "created", id, r->auth.username, body,
				 NULL)))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/%s/%s/issues/comments/%lld", r->repo->owner,
				 r->repo->name, (long long)id));
	return respond_comment(r, w, 201, id);
}

int h_comment_get(struct req *r, struct resp *w)
{
	struct comment c;
	int rc = comment_load(r, req_param(r, "id"), false, &c);
	if (rc)
		return rc;
	resp_json(w, 200, comment_row_json(r, c.res, 0));
	resp_no_cache(r, w);
	return 0;
}

/* Authors change their own comments (while the repository lets readers
 * take part); writers change anyone's. */
static int may_change(struct req *r, const struct comment *c, const char *verb)
{
	return forge_require_author(FORGE(r), r->repo, c->author_id, "only the author or a writer may %s comment %lld", verb, (long long)c->id);
}

/* The issue a comment belongs to, for payloads. */
static int comment_issue(struct req *r, const struct comment *c, struct issue *out)
{
	return issue_get(out, FORGE(r), r->repo, num(r->arena, db_int(c->res, 0, 1)), false);
}

int h_comment_update(struct req *r, struct resp *w)
{
	const char *body = NULL;
	struct comment c;
	struct issue is;
	int rc;
	if ((rc = collab_body_field(r, "body", true, &body)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = comment_load(r, req_param(r, "id"), true, &c)) || (rc = may_change(r, &c, "edit")))
		goto done;
	if (!strcmp(body, c.body)) {
		rc = db_commit(r->db, &r->err); /* nothing changed: not marked edited */
		goto done;
	}
	const char *ids = num(r->arena, (long long)c.id);
	if (!db_qv(r->db, r->arena, &r->err,
		   "UPDATE comments SET body = $2, updated_at = now(), edited_at = now() WHERE id = $1",
		   ids, body)) {
		rc = r->err.code;
		goto done;
	}
	const char *author = db_val(c.res, 0, 2);
	if ((rc = comment_issue(r, &c, &is)) ||
	    (rc = mentions_record(FORGE(r), r->repo, c.issue_id, c.id, body)) ||
	    (rc = issue_refs_record(FORGE(r), r->repo, c.issue_id, c.id, NULL, body)) ||
	    (rc = comment_outbox(r, &is, "issue.comment.edited", "edited", c.id, author, body,
				 json_pack("{s:{s:{s:s}}}", "changes", "body", "from", c.body))))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	return respond_comment(r, w, 200, c.id);
}

int h_comment_delete(struct req *r, struct resp *w)
{
	struct comment c;
	struct issue is;
	int rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = comment_load(r, req_param(r, "id"), true, &c)) ||
	    (rc = may_change(r, &c, "delete")) || (rc = comment_issue(r, &c, &is)))
		goto done;
	if (!db_qv(r->db, r->arena, &r->err, "DELETE FROM comments WHERE id = $1",
		   num(r->arena, (long long)c.id))) {
		rc = r->err.code;
		goto done;
	}
	if ((rc = comment_outbox(r, &is, "issue.comment.deleted", "deleted", c.id,
				 db_val(c.res, 0, 2), c.body, NULL)))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	w->status = 204;
	return 0;
}
