/* reactions.c — emoji reactions on issues and comments (see reactions.h). */
#include "forge/reactions.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "db/db.h"
#include "forge/comments.h"

#include <string.h>

/* What a reaction is on: an issue, or a comment of an issue. */
struct target {
	struct issue issue;
	int64_t comment_id; /* 0: the issue itself */
};

static int target_load(struct target *out, struct forge *f, const struct repo *repo,
		       const char *number, const char *comment_id)
{
	memset(out, 0, sizeof(*out));
	if (!comment_id)
		return issue_get(&out->issue, f, repo, number, false);
	struct comment c;
	int rc = comment_load(&c, f, repo, comment_id, false);
	if (rc)
		return rc;
	out->comment_id = c.id;
	return issue_get(&out->issue, f, repo, arena_int(f->arena, (long long)c.issue_number), false);
}

/* Columns of the reaction queries, in order. */
enum reaction_col {
	REACTION_COL_ID,
	REACTION_COL_USER,
	REACTION_COL_CONTENT,
	REACTION_COL_CREATED_AT
};

static json_t *reaction_json(PGresult *res, int row)
{
	const char *user = db_val(res, row, REACTION_COL_USER);
	return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)db_int(res, row, REACTION_COL_ID),
			 "user", user ? user : "ghost", "content",
			 db_val(res, row, REACTION_COL_CONTENT), "created_at",
			 db_val(res, row, REACTION_COL_CREATED_AT));
}

int reaction_check(struct forge *f, const char *content)
{
	if (reaction_valid(content))
		return 0;
	return err_set(f->err, ERR_INVALID, "invalid_reaction",
		       "reaction '%.20s' is not one of +1, -1, laugh, hooray, confused, heart, "
		       "rocket, eyes",
		       content);
}

int reactions_list(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		   const char *comment_id, const char *content)
{
	struct target t;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = target_load(&t, f, repo, number, comment_id)) ||
	    (content && (rc = reaction_check(f, content))))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT x.id, u.username, x.content, " SQL_TS("x.created_at")
			      " "
			      "FROM reactions x LEFT JOIN users u ON u.id = x.user_id "
			      "WHERE (x.issue_id = $1 OR x.comment_id = $2) "
			      "AND ($3::text IS NULL OR x.content = $3) ORDER BY x.id LIMIT 1000",
			      t.comment_id ? NULL : arena_int(f->arena, (long long)t.issue.id),
			      arena_id(f->arena, (long long)t.comment_id), content);
	if (!res)
		return f->err->code;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(*out, reaction_json(res, i));
	return 0;
}

static int reaction_outbox(struct forge *f, const struct repo *repo, const struct target *t,
			   const char *action, const char *content)
{
	json_t *p = json_pack("{s:{s:s,s:s?},s:o}", "reaction", "content", content, "user",
			      f->who->username, "issue", issue_payload(repo, &t->issue));
	if (t->comment_id)
		json_object_set_new(p, "comment",
				    json_pack("{s:I}", "id", (json_int_t)t->comment_id));
	return repo_event(f, repo, arena_printf(f->arena, "reaction.%s", action), action, p);
}

int reaction_add(json_t **out, bool *out_created, struct forge *f, const struct repo *repo,
		 const char *number, const char *comment_id, const char *content)
{
	struct target t;
	int rc;
	if ((rc = forge_can_participate(f, repo)) || (rc = reaction_check(f, content)) ||
	    (rc = target_load(&t, f, repo, number, comment_id)))
		return rc;
	const char *iid = t.comment_id ? NULL : arena_int(f->arena, (long long)t.issue.id);
	const char *cid = arena_id(f->arena, (long long)t.comment_id);
	const char *uid = arena_int(f->arena, (long long)f->who->user_id);
	bool created = false;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO reactions (user_id, issue_id, comment_id, content) "
			      "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
			      uid, iid, cid, content);
	if (!res) {
		rc = f->err->code;
		goto done;
	}
	created = PQntuples(res) == 1;
	if (created && (rc = reaction_outbox(f, repo, &t, "created", content)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	/* adding a reaction one already gave answers the existing one */
	res = db_qv(f->db, f->arena, f->err,
		    "SELECT x.id, u.username, x.content, " SQL_TS("x.created_at")
		    " "
		    "FROM reactions x JOIN users u ON u.id = x.user_id WHERE x.user_id = $1 "
		    "AND (x.issue_id = $2 OR x.comment_id = $3) AND x.content = $4",
		    uid, iid, cid, content);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1) /* removed again in between */
		return err_set(f->err, ERR_CONFLICT, NULL, "the reaction was removed concurrently");
	*out = reaction_json(res, 0);
	*out_created = created;
	return 0;
}

int reaction_remove(struct forge *f, const struct repo *repo, const char *number,
		    const char *comment_id, const char *content)
{
	struct target t;
	int rc;
	/* one's own reaction can be taken back even where taking part is
	 * restricted to writers */
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (!f->who->user_id)
		return err_set(f->err, ERR_AUTH, NULL, "authentication required");
	if ((rc = reaction_check(f, content)) || (rc = target_load(&t, f, repo, number, comment_id)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM reactions WHERE user_id = $1 AND (issue_id = $2 OR "
			      "comment_id = $3) AND content = $4 RETURNING id",
			      arena_int(f->arena, (long long)f->who->user_id),
			      t.comment_id ? NULL : arena_int(f->arena, (long long)t.issue.id),
			      arena_id(f->arena, (long long)t.comment_id), content);
	if (!res) {
		rc = f->err->code;
		goto done;
	}
	if (PQntuples(res) == 0) {
		rc = err_set(f->err, ERR_NOTFOUND, NULL, "you have no '%s' reaction on %s", content,
			     t.comment_id
				     ? arena_printf(f->arena, "comment %lld", (long long)t.comment_id)
				     : arena_printf(f->arena, "issue '%s/%s#%lld'", repo->owner,
						    repo->name, (long long)t.issue.number));
		goto done;
	}
	if ((rc = reaction_outbox(f, repo, &t, "deleted", content)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc)
		db_rollback(f->db);
	return rc;
}

int reactions_of_comments(json_t **out, struct forge *f, const struct repo *repo,
			  const struct issue *is, const int64_t *ids, size_t n)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	*out = json_object();
	if (!n)
		return 0;
	struct buf list = BUF_INIT;
	buf_adds(&list, "{");
	for (size_t i = 0; i < n; i++)
		buf_addf(&list, "%s%lld", i ? "," : "", (long long)ids[i]);
	buf_adds(&list, "}");
	const char *array = arena_strdup(f->arena, list.ptr);
	buf_release(&list);
	/* counts per comment and content, and whether f->who is among them */
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT x.comment_id, json_object_agg(x.content, x.n)::text, "
			      "  coalesce(json_agg(x.content ORDER BY x.content) FILTER (WHERE x.mine), "
			      "  '[]')::text FROM (SELECT r.comment_id, r.content, count(*) AS n, "
			      "  bool_or(r.user_id = $3) AS mine FROM reactions r "
			      "  JOIN comments c ON c.id = r.comment_id "
			      "  WHERE c.issue_id = $1 AND r.comment_id = ANY($2::bigint[]) "
			      "  GROUP BY r.comment_id, r.content) x GROUP BY x.comment_id",
			      arena_int(f->arena, (long long)is->id), array,
			      arena_id(f->arena, (long long)f->who->user_id));
	if (!res) {
		json_decref(*out);
		*out = NULL;
		return f->err->code;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *mine = json_loads(db_val(res, i, 2), 0, NULL);
		if (!json_is_array(mine)) {
			json_decref(mine);
			mine = json_array();
		}
		json_object_set_new(*out, db_val(res, i, 0),
				    json_pack("{s:o,s:o}", "counts",
					      reactions_json(db_val(res, i, 1)), "mine", mine));
	}
	return 0;
}
