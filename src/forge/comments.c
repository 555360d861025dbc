/* comments.c — comments on issues and pull requests (see comments.h). */
#include "forge/comments.h"
#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"

#include <string.h>

#define COMMENT_COLUMNS                                                                                        \
	"c.id, i.number, u.username, c.body, " SQL_TS("c.created_at") ", " SQL_TS("c.updated_at") ", " SQL_TS( \
		"c.edited_at") ", "                                                                            \
			       "(SELECT json_object_agg(x.content, x.n) FROM (SELECT content, count(*) AS n "  \
			       "  FROM reactions WHERE comment_id = c.id GROUP BY content) x), " SQL_US(       \
				       "c.created_at") ", coalesce(c.author_id, 0), c.issue_id"
#define COMMENT_FROM                                                                               \
	"comments c JOIN issues i ON i.id = c.issue_id LEFT JOIN users u ON u.id = c.author_id"
/* Column indexes of COMMENT_COLUMNS, in their one declared order. */
enum comment_col {
	COMMENT_COL_ID,
	COMMENT_COL_NUMBER,
	COMMENT_COL_AUTHOR,
	COMMENT_COL_BODY,
	COMMENT_COL_CREATED_AT,
	COMMENT_COL_UPDATED_AT,
	COMMENT_COL_EDITED_AT,
	COMMENT_COL_REACTIONS,
	COMMENT_COL_CREATED_US,
	COMMENT_COL_AUTHOR_ID,
	COMMENT_COL_ISSUE_ID,
};

static json_t *comment_row_json(struct forge *f, const struct repo *repo, PGresult *res, int row)
{
	long long id = db_int(res, row, COMMENT_COL_ID),
		  number = db_int(res, row, COMMENT_COL_NUMBER);
	const char *author = db_val(res, row, COMMENT_COL_AUTHOR);
	const char *body = db_val(res, row, COMMENT_COL_BODY);
	const char *edited = db_val(res, row, COMMENT_COL_EDITED_AT);
	const char *api = arena_printf(f->arena, "/api/%s/%s/issues/comments/%lld", repo->owner,
				       repo->name, id);
	const char *html = arena_printf(f->arena, "/%s/%s/issues/%lld#comment-%lld", repo->owner,
					repo->name, number, id);
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:b,s:s,s:s}", "id", (json_int_t)id,
			      "issue_number", (json_int_t)number, "author",
			      author ? author : "ghost", "body", body, "body_html",
			      forge_html(f, repo, body), "created_at",
			      db_val(res, row, COMMENT_COL_CREATED_AT), "updated_at",
			      db_val(res, row, COMMENT_COL_UPDATED_AT), "edited", edited != NULL,
			      "url", forge_url(f->arena, api), "html_url",
			      forge_url(f->arena, html));
	json_object_set_new(j, "edited_at", edited ? json_string(edited) : json_null());
	json_object_set_new(j, "reactions", reactions_json(db_val(res, row, COMMENT_COL_REACTIONS)));
	return j;
}

json_t *comment_json(struct forge *f, const struct repo *repo, const struct comment *c)
{
	return comment_row_json(f, repo, c->res, 0);
}

int comment_load(struct comment *out, struct forge *f, const struct repo *repo, const char *idtext,
		 bool lock)
{
	int64_t id;
	if (parse_i64(idtext, 1, INT64_MAX, &id))
		return err_set(f->err, ERR_NOTFOUND, NULL, "comment '%.40s' not found in '%s/%s'",
			       idtext, repo->owner, repo->name);
	const char *ids = arena_int(f->arena, (long long)id);
	const char *rid = arena_int(f->arena, (long long)repo->id);
#define COMMENT_LOAD_SQL                                                                           \
	"SELECT " COMMENT_COLUMNS " FROM " COMMENT_FROM " WHERE c.id = $1 AND c.repo_id = $2"
	PGresult *res = lock ? db_qv(f->db, f->arena, f->err,
				     COMMENT_LOAD_SQL " FOR NO KEY UPDATE OF c", ids, rid)
			     : db_qv(f->db, f->arena, f->err, COMMENT_LOAD_SQL, ids, rid);
#undef COMMENT_LOAD_SQL
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "comment %lld not found in '%s/%s'",
			       (long long)id, repo->owner, repo->name);
	*out = (struct comment){
		.id = id,
		.issue_id = db_int(res, 0, COMMENT_COL_ISSUE_ID),
		.issue_number = db_int(res, 0, COMMENT_COL_NUMBER),
		.author_id = db_int(res, 0, COMMENT_COL_AUTHOR_ID),
		.author = db_val(res, 0, COMMENT_COL_AUTHOR),
		.body = db_val(res, 0, COMMENT_COL_BODY),
		.res = res,
	};
	return 0;
}

int comment_read(json_t **out, struct forge *f, const struct repo *repo, const char *id)
{
	struct comment c;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = comment_load(&c, f, repo, id, false)))
		return rc;
	*out = comment_json(f, repo, &c);
	return 0;
}

/* The outbox payload's comment object. */
static json_t *comment_payload(struct forge *f, const struct repo *repo, const struct issue *is,
			       int64_t id, const char *author, const char *body)
{
	const char *api = arena_printf(f->arena, "/api/%s/%s/issues/comments/%lld", repo->owner,
				       repo->name, (long long)id);
	const char *html = arena_printf(f->arena, "/%s/%s/issues/%lld#comment-%lld", repo->owner,
					repo->name, (long long)is->number, (long long)id);
	return json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id, "body", body, "author",
			 author ? author : "ghost", "url", forge_url(f->arena, api), "html_url",
			 forge_url(f->arena, html));
}

static int comment_outbox(struct forge *f, const struct repo *repo, const struct issue *is,
			  const char *type, const char *action, int64_t id, const char *author,
			  const char *body, json_t *extra)
{
	json_t *p = json_pack("{s:s,s:o,s:o}", "body", body, "issue", issue_payload(repo, is),
			      "comment", comment_payload(f, repo, is, id, author, body));
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	return repo_event(f, repo, type, action, p);
}

int comments_list(struct page *out, struct forge *f, const struct repo *repo,
		  const struct issue *is, int limit, const struct cursor *after)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " COMMENT_COLUMNS " FROM " COMMENT_FROM
			      " WHERE c.issue_id = $1 "
			      "AND ($2::bigint IS NULL OR (c.created_at, c.id) > "
			      "(" SQL_FROM_US("$2")
			      ", $3::bigint)) "
			      "ORDER BY c.created_at, c.id LIMIT $4",
			      arena_int(f->arena, (long long)is->id),
			      after->set ? arena_int(f->arena, after->key) : NULL,
			      after->set ? arena_int(f->arena, after->id) : NULL,
			      arena_int(f->arena, limit + 1));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	memset(out, 0, sizeof(*out));
	out->items = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(out->items, comment_row_json(f, repo, res, i));
	if (n > limit)
		out->next = (struct cursor){ true, db_int(res, limit - 1, COMMENT_COL_CREATED_US),
					     db_int(res, limit - 1, COMMENT_COL_ID) };
	return 0;
}

/* The comment's API JSON after a change. */
static int comment_reload(json_t **out, struct forge *f, const struct repo *repo, int64_t id)
{
	struct comment c;
	int rc = comment_load(&c, f, repo, arena_int(f->arena, (long long)id), false);
	if (!rc)
		*out = comment_json(f, repo, &c);
	return rc;
}

int comment_create(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		   const char *body)
{
	struct issue is;
	int64_t id = 0;
	int rc;
	if ((rc = forge_can_participate(f, repo)) ||
	    (rc = forge_body_check(f, "body", body ? body : "", true)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = issue_get(&is, f, repo, number, true)))
		goto done;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO comments (issue_id, repo_id, author_id, body) "
			      "VALUES ($1, $2, $3, $4) RETURNING id",
			      arena_int(f->arena, (long long)is.id),
			      arena_int(f->arena, (long long)repo->id),
			      arena_int(f->arena, (long long)f->who->user_id), body);
	if (!res) {
		rc = f->err->code;
		goto done;
	}
	id = db_int(res, 0, 0);
	if (!db_qv(f->db, f->arena, f->err, "UPDATE issues SET updated_at = now() WHERE id = $1",
		   arena_int(f->arena, (long long)is.id))) {
		rc = f->err->code;
		goto done;
	}
	if ((rc = mentions_record(f, repo, is.id, id, body)) ||
	    (rc = issue_refs_record(f, repo, is.id, id, NULL, body)) ||
	    (rc = comment_outbox(f, repo, &is, "issue.comment", "created", id, f->who->username,
				 body, NULL)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	return comment_reload(out, f, repo, id);
}

/* Authors change their own comments (while the repository lets readers
 * take part); writers change anyone's. */
static int may_change(struct forge *f, const struct repo *repo, const struct comment *c,
		      const char *verb)
{
	return forge_require_author(f, repo, c->author_id,
				    "only the author or a writer may %s comment %lld", verb,
				    (long long)c->id);
}

/* The issue a comment belongs to, for payloads. */
static int comment_issue(struct issue *out, struct forge *f, const struct repo *repo,
			 const struct comment *c)
{
	return issue_get(out, f, repo, arena_int(f->arena, (long long)c->issue_number), false);
}

int comment_update(json_t **out, struct forge *f, const struct repo *repo, const char *id,
		   const char *body)
{
	struct comment c;
	struct issue is;
	int rc;
	if ((rc = forge_body_check(f, "body", body ? body : "", true)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = comment_load(&c, f, repo, id, true)) || (rc = may_change(f, repo, &c, "edit")))
		goto done;
	if (!strcmp(body, c.body)) {
		rc = db_commit(f->db, f->err); /* nothing changed: not marked edited */
		goto done;
	}
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE comments SET body = $2, updated_at = now(), edited_at = now() WHERE id = $1",
		   arena_int(f->arena, (long long)c.id), body)) {
		rc = f->err->code;
		goto done;
	}
	if ((rc = comment_issue(&is, f, repo, &c)) ||
	    (rc = mentions_record(f, repo, c.issue_id, c.id, body)) ||
	    (rc = issue_refs_record(f, repo, c.issue_id, c.id, NULL, body)) ||
	    (rc = comment_outbox(f, repo, &is, "issue.comment.edited", "edited", c.id, c.author, body,
				 json_pack("{s:{s:{s:s}}}", "changes", "body", "from", c.body))))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	return comment_reload(out, f, repo, c.id);
}

int comment_delete(struct forge *f, const struct repo *repo, const char *id)
{
	struct comment c;
	struct issue is;
	int rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = comment_load(&c, f, repo, id, true)) ||
	    (rc = may_change(f, repo, &c, "delete")) || (rc = comment_issue(&is, f, repo, &c)))
		goto done;
	if (!db_qv(f->db, f->arena, f->err, "DELETE FROM comments WHERE id = $1",
		   arena_int(f->arena, (long long)c.id))) {
		rc = f->err->code;
		goto done;
	}
	if ((rc = comment_outbox(f, repo, &is, "issue.comment.deleted", "deleted", c.id, c.author,
				 c.body, NULL)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc)
		db_rollback(f->db);
	return rc;
}
