/* reactions.c — emoji reactions (+1 -1 laugh hooray confused heart rocket
 * eyes) on issues and comments: list, add (once per user and content),
 * remove one's own. */
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

/* What a reaction is on: an issue, or a comment of an issue. */
struct target {
	struct issue issue;
	int64_t comment_id; /* 0: the issue itself */
};

static int target_load(struct req *r, struct target *t)
{
	memset(t, 0, sizeof(*t));
	const char *cid = req_param(r, "id");
	if (!cid)
		return issue_get(&t->issue, FORGE(r), r->repo, req_param(r, "number"), false);
	struct comment c;
	int rc = comment_load(r, cid, false, &c);
	if (rc)
		return rc;
	t->comment_id = c.id;
	return issue_get(&t->issue, FORGE(r), r->repo, num(r->arena, db_int(c.res, 0, 1)), false);
}

static json_t *reaction_json(PGresult *res, int row)
{
	const char *user = db_val(res, row, 1);
	return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)db_int(res, row, 0), "user",
			 user ? user : "ghost", "content", db_val(res, row, 2), "created_at",
			 db_val(res, row, 3));
}

static int content_check(struct req *r, const char *content)
{
	if (reaction_valid(content))
		return 0;
	return err_set(&r->err, ERR_INVALID, "invalid_reaction",
		       "reaction '%.20s' is not one of +1, -1, laugh, hooray, confused, heart, "
		       "rocket, eyes",
		       content);
}

int h_reactions_list(struct req *r, struct resp *w)
{
	struct target t;
	const char *content = req_query(r, "content");
	int rc;
	if ((rc = target_load(r, &t)) || (content && (rc = content_check(r, content))))
		return rc;
	const char *iid = t.comment_id ? NULL : num(r->arena, (long long)t.issue.id);
	const char *cid = t.comment_id ? num(r->arena, (long long)t.comment_id) : NULL;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT x.id, u.username, x.content, " SQL_TS("x.created_at") " "
			      "FROM reactions x LEFT JOIN users u ON u.id = x.user_id "
			      "WHERE (x.issue_id = $1 OR x.comment_id = $2) "
			      "AND ($3::text IS NULL OR x.content = $3) ORDER BY x.id LIMIT 1000",
			      iid, cid, content);
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, reaction_json(res, i));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

static int reaction_outbox(struct req *r, const struct target *t, const char *action,
			   const char *content)
{
	json_t *p = json_pack("{s:s,s:{s:s,s:s?},s:o,s:o,s:s?}", "action", action, "reaction",
			      "content", content, "user", r->auth.username, "issue",
			      issue_payload(r->repo, &t->issue), "repository",
			      repo_payload(r->repo), "sender", r->auth.username);
	if (t->comment_id)
		json_object_set_new(p, "comment", json_pack("{s:I}", "id", (json_int_t)t->comment_id));
	return forge_event(NULL, FORGE(r), r->repo->id, arena_printf(r->arena, "reaction.%s", action), p);
}

int h_reaction_create(struct req *r, struct resp *w)
{
	struct target t;
	const char *content = NULL;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) ||
	    (rc = json_str_field(r, "content", true, 20, &content)) ||
	    (rc = content_check(r, content)) || (rc = target_load(r, &t)))
		return rc;
	const char *iid = t.comment_id ? NULL : num(r->arena, (long long)t.issue.id);
	const char *cid = t.comment_id ? num(r->arena, (long long)t.comment_id) : NULL;
	const char *uid = num(r->arena, (long long)r->auth.user_id);
	bool created = false;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO reactions (user_id, issue_id, comment_id, content) "
			      "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
			      uid, iid, cid, content);
	if (!res) {
		rc = r->err.code;
		goto done;
	}
	created = PQntuples(res) == 1;
	if (created && (rc = reaction_outbox(r, &t, "created", content)))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	/* adding a reaction one already gave answers the existing one */
	res = db_qv(r->db, r->arena, &r->err,
		    "SELECT x.id, u.username, x.content, " SQL_TS("x.created_at") " "
		    "FROM reactions x JOIN users u ON u.id = x.user_id WHERE x.user_id = $1 "
		    "AND (x.issue_id = $2 OR x.comment_id = $3) AND x.content = $4",
		    uid, iid, cid, content);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1) /* removed again in between */
		return err_set(&r->err, ERR_CONFLICT, NULL, "the reaction was removed concurrently");
	resp_json(w, created ? 201 : 200, reaction_json(res, 0));
	return 0;
}

int h_reaction_delete(struct req *r, struct resp *w)
{
	struct target t;
	const char *content = req_param(r, "content");
	int rc;
	if ((rc = content_check(r, content)) || (rc = target_load(r, &t)))
		return rc;
	const char *iid = t.comment_id ? NULL : num(r->arena, (long long)t.issue.id);
	const char *cid = t.comment_id ? num(r->arena, (long long)t.comment_id) : NULL;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM reactions WHERE user_id = $1 AND (issue_id = $2 OR "
			      "comment_id = $3) AND content = $4 RETURNING id",
			      num(r->arena, (long long)r->auth.user_id), iid, cid, content);
	if (!res) {
		rc = r->err.code;
		goto done;
	}
	if (PQntuples(res) == 0) {
		rc = err_set(&r->err, ERR_NOTFOUND, NULL, "you have no '%s' reaction on %s", content,
			     t.comment_id ? arena_printf(r->arena, "comment %lld",
							 (long long)t.comment_id)
					  : arena_printf(r->arena, "issue '%s/%s#%lld'",
							 r->repo->owner, r->repo->name,
							 (long long)t.issue.number));
		goto done;
	}
	if ((rc = reaction_outbox(r, &t, "deleted", content)))
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
