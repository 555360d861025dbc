/* milestones.c — a repository's milestones (see milestones.h). */
#include "forge/milestones.h"
#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"

#include <string.h>

#define MILESTONE_COLUMNS                                                                                                                                                   \
	"m.id, m.number, m.title, m.description, m.state, to_char(m.due_on, 'YYYY-MM-DD'), " SQL_TS(                                                                        \
		"m.created_at") ", " SQL_TS("m.updated_at") ", " SQL_TS("m.closed_at") ", "                                                                                 \
										       "(SELECT count(*) FROM issues i WHERE i.milestone_id = m.id AND i.state = 'open'), " \
										       "(SELECT count(*) FROM issues i WHERE i.milestone_id = m.id AND i.state = 'closed')"
/* Column indexes of MILESTONE_COLUMNS, in their one declared order. */
enum milestone_col {
	MS_COL_ID,
	MS_COL_NUMBER,
	MS_COL_TITLE,
	MS_COL_DESCRIPTION,
	MS_COL_STATE,
	MS_COL_DUE_ON,
	MS_COL_CREATED_AT,
	MS_COL_UPDATED_AT,
	MS_COL_CLOSED_AT,
	MS_COL_OPEN,
	MS_COL_CLOSED,
};

static json_t *milestone_json(struct forge *f, const struct repo *repo, PGresult *res, int row)
{
	long long number = db_int(res, row, MS_COL_NUMBER);
	const char *due = db_val(res, row, MS_COL_DUE_ON),
		   *closed = db_val(res, row, MS_COL_CLOSED_AT);
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "id",
			      (json_int_t)db_int(res, row, MS_COL_ID), "number", (json_int_t)number,
			      "title", db_val(res, row, MS_COL_TITLE), "description",
			      db_val(res, row, MS_COL_DESCRIPTION), "state",
			      db_val(res, row, MS_COL_STATE), "created_at",
			      db_val(res, row, MS_COL_CREATED_AT), "updated_at",
			      db_val(res, row, MS_COL_UPDATED_AT), "open_issues",
			      (json_int_t)db_int(res, row, MS_COL_OPEN), "closed_issues",
			      (json_int_t)db_int(res, row, MS_COL_CLOSED), "url",
			      forge_url(f->arena, arena_printf(f->arena, "/api/%s/%s/milestones/%lld",
							       repo->owner, repo->name, number)));
	json_object_set_new(j, "due_on", due ? json_string(due) : json_null());
	json_object_set_new(j, "closed_at", closed ? json_string(closed) : json_null());
	return j;
}

static int milestone_load(PGresult **out, struct forge *f, const struct repo *repo,
			  const char *number, bool lock)
{
	int64_t n;
	if (parse_i64(number, 1, INT64_MAX, &n))
		return err_set(f->err, ERR_NOTFOUND, NULL, "milestone '%.40s' not found in '%s/%s'",
			       number, repo->owner, repo->name);
	const char *rid = arena_int(f->arena, (long long)repo->id);
	const char *ns = arena_int(f->arena, (long long)n);
#define MILESTONE_LOAD_SQL                                                                         \
	"SELECT " MILESTONE_COLUMNS " FROM milestones m WHERE m.repo_id = $1 AND m.number = $2"
	PGresult *res = lock ? db_qv(f->db, f->arena, f->err, MILESTONE_LOAD_SQL " FOR UPDATE OF m",
				     rid, ns)
			     : db_qv(f->db, f->arena, f->err, MILESTONE_LOAD_SQL, rid, ns);
#undef MILESTONE_LOAD_SQL
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "milestone %lld not found in '%s/%s'",
			       (long long)n, repo->owner, repo->name);
	*out = res;
	return 0;
}

int milestone_due_check(const char **out, struct forge *f, const char *s)
{
	if (strlen(s) > 40 || !date_valid(s) || (s[10] && s[10] != 'T'))
		return err_set(f->err, ERR_INVALID, "invalid_date",
			       "due_on '%.40s' is not a date (YYYY-MM-DD)", s);
	*out = arena_strndup(f->arena, s, 10);
	return 0;
}

/* The fields of in that are given, checked. */
static int fields_check(struct milestone_fields *out, struct forge *f,
			const struct milestone_fields *in)
{
	int rc;
	*out = *in;
	if ((in->title && (rc = forge_title_check(&out->title, f, "title", in->title))) ||
	    (in->due_set && in->due && (rc = milestone_due_check(&out->due, f, in->due))) ||
	    (in->state && (rc = forge_state_check(f, in->state))))
		return rc;
	if (in->description && strlen(in->description) > MILESTONE_DESC_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'description' is longer than %d characters",
			       MILESTONE_DESC_MAX);
	return 0;
}

static int milestone_outbox(struct forge *f, const struct repo *repo, const char *action,
			    PGresult *res)
{
	return repo_event(f, repo, arena_printf(f->arena, "milestone.%s", action), action,
			  json_pack("{s:o}", "milestone", milestone_json(f, repo, res, 0)));
}

static int exists_error(struct forge *f, const struct repo *repo, const char *title)
{
	if (f->err->code != ERR_EXISTS)
		return f->err->code;
	err_clear(f->err);
	return err_set(f->err, ERR_EXISTS, NULL, "milestone '%s' already exists in '%s/%s'", title,
		       repo->owner, repo->name);
}

int milestones_list(json_t **out, struct forge *f, const struct repo *repo, const char *state)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (!state || !strcmp(state, "open"))
		state = "open";
	else if (!strcmp(state, "all"))
		state = NULL;
	else if (strcmp(state, "closed"))
		return err_set(f->err, ERR_INVALID, "invalid_filter",
			       "state '%.20s' is not one of open, closed, all", state);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " MILESTONE_COLUMNS " FROM milestones m WHERE m.repo_id = $1 "
			      "AND ($2::text IS NULL OR m.state = $2) "
			      "ORDER BY m.due_on NULLS LAST, m.number LIMIT 1000",
			      arena_int(f->arena, (long long)repo->id), state);
	if (!res)
		return f->err->code;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(*out, milestone_json(f, repo, res, i));
	return 0;
}

int milestone_read(json_t **out, struct forge *f, const struct repo *repo, const char *number)
{
	PGresult *res;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = milestone_load(&res, f, repo, number, false)))
		return rc;
	*out = milestone_json(f, repo, res, 0);
	return 0;
}

int milestone_create(json_t **out, struct forge *f, const struct repo *repo,
		     const struct milestone_fields *in)
{
	struct milestone_fields m;
	PGresult *res = NULL;
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_ISSUES, f->err)))
		return rc;
	if (!in->title)
		return err_set(f->err, ERR_INVALID, "missing_field", "field 'title' is required");
	if ((rc = fields_check(&m, f, in)))
		return rc;
	if (!m.description)
		m.description = "";
	if (!m.state)
		m.state = "open";
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	const char *rid = arena_int(f->arena, (long long)repo->id);
	PGresult *num = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO repo_counters (repo_id, last_milestone) VALUES ($1, 1) "
			      "ON CONFLICT (repo_id) DO UPDATE SET last_milestone = "
			      "repo_counters.last_milestone + 1 RETURNING last_milestone",
			      rid);
	if (!num) {
		rc = f->err->code;
		goto done;
	}
	const char *number = arena_strdup(f->arena, db_val(num, 0, 0));
	if (!db_qv(f->db, f->arena, f->err,
		   "INSERT INTO milestones (repo_id, number, title, description, due_on, state, "
		   "closed_at) VALUES ($1, $2, $3, $4, $5::date, $6, "
		   "CASE WHEN $6 = 'closed' THEN now() END)",
		   rid, number, m.title, m.description, m.due, m.state)) {
		rc = exists_error(f, repo, m.title);
		goto done;
	}
	if ((rc = milestone_load(&res, f, repo, number, false)) ||
	    (rc = milestone_outbox(f, repo, "created", res)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	*out = milestone_json(f, repo, res, 0);
	return 0;
}

int milestone_update(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		     const struct milestone_fields *in)
{
	struct milestone_fields m;
	PGresult *old, *res = NULL;
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_ISSUES, f->err)) ||
	    (rc = fields_check(&m, f, in)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = milestone_load(&old, f, repo, number, true)))
		goto done;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE milestones SET title = coalesce($2, title), "
		   "description = coalesce($3, description), "
		   "due_on = CASE WHEN $4 THEN $5::date ELSE due_on END, "
		   "closed_at = CASE WHEN $6::text IS NULL OR $6 = state THEN closed_at "
		   "  WHEN $6 = 'closed' THEN now() END, "
		   "state = coalesce($6, state), updated_at = now() WHERE id = $1",
		   db_val(old, 0, MS_COL_ID), m.title, m.description, m.due_set ? "true" : "false",
		   m.due, m.state)) {
		rc = exists_error(f, repo, m.title ? m.title : "");
		goto done;
	}
	if ((rc = milestone_load(&res, f, repo, db_val(old, 0, MS_COL_NUMBER), false)))
		goto done;
	const char *action = "edited";
	if (m.state && strcmp(m.state, db_val(old, 0, MS_COL_STATE)))
		action = !strcmp(m.state, "closed") ? "closed" : "opened";
	if ((rc = milestone_outbox(f, repo, action, res)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	*out = milestone_json(f, repo, res, 0);
	return 0;
}

int milestone_delete(struct forge *f, const struct repo *repo, const char *number)
{
	PGresult *old;
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_ISSUES, f->err)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = milestone_load(&old, f, repo, number, true)))
		goto done;
	/* issues lose the milestone through ON DELETE SET NULL */
	if (!db_qv(f->db, f->arena, f->err, "DELETE FROM milestones WHERE id = $1",
		   db_val(old, 0, MS_COL_ID))) {
		rc = f->err->code;
		goto done;
	}
	if ((rc = milestone_outbox(f, repo, "deleted", old)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc)
		db_rollback(f->db);
	return rc;
}
