/* milestones.c — a repository's milestones: list (with open and closed
 * issue counts), create, read, edit (title, description, due date,
 * state), delete (its issues keep going without one). Numbers come from
 * the repository's counter, like issue numbers. */
#include "api/api.h"
#include "api/collab.h"
#include "base/util.h"
#include "db/db.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MILESTONE_DESC_MAX 10000

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

#define MILESTONE_COLUMNS                                                                     \
	"m.id, m.number, m.title, m.description, m.state, to_char(m.due_on, 'YYYY-MM-DD'), "   \
	SQL_TS("m.created_at") ", " SQL_TS("m.updated_at") ", " SQL_TS("m.closed_at") ", "     \
	"(SELECT count(*) FROM issues i WHERE i.milestone_id = m.id AND i.state = 'open'), "   \
	"(SELECT count(*) FROM issues i WHERE i.milestone_id = m.id AND i.state = 'closed')"

static json_t *milestone_json(struct req *r, PGresult *res, int row)
{
	long long number = db_int(res, row, 1);
	const char *due = db_val(res, row, 5), *closed = db_val(res, row, 8);
	json_t *j = json_pack(
		"{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "id", (json_int_t)db_int(res, row, 0),
		"number", (json_int_t)number, "title", db_val(res, row, 2), "description",
		db_val(res, row, 3), "state", db_val(res, row, 4), "created_at", db_val(res, row, 6),
		"updated_at", db_val(res, row, 7), "open_issues", (json_int_t)db_int(res, row, 9),
		"closed_issues", (json_int_t)db_int(res, row, 10), "url",
		forge_url(r->arena, arena_printf(r->arena, "/api/%s/%s/milestones/%lld",
						  r->repo->owner, r->repo->name, number)));
	json_object_set_new(j, "due_on", due ? json_string(due) : json_null());
	json_object_set_new(j, "closed_at", closed ? json_string(closed) : json_null());
	return j;
}

static int milestone_load(struct req *r, const char *number, bool lock, PGresult **out)
{
	int64_t n;
	if (parse_i64(number, 1, INT64_MAX, &n))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "milestone '%.40s' not found in '%s/%s'",
			       number, r->repo->owner, r->repo->name);
	const char *rid = num(r->arena, (long long)r->repo->id), *ns = num(r->arena, (long long)n);
#define MILESTONE_LOAD_SQL \
	"SELECT " MILESTONE_COLUMNS " FROM milestones m WHERE m.repo_id = $1 AND m.number = $2"
	PGresult *res = lock ? db_qv(r->db, r->arena, &r->err,
				     MILESTONE_LOAD_SQL " FOR UPDATE OF m", rid, ns)
			     : db_qv(r->db, r->arena, &r->err, MILESTONE_LOAD_SQL, rid, ns);
#undef MILESTONE_LOAD_SQL
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "milestone %lld not found in '%s/%s'",
			       (long long)n, r->repo->owner, r->repo->name);
	*out = res;
	return 0;
}

/* due_on: "YYYY-MM-DD" (a longer ISO 8601 timestamp is cut to its date),
 * a real calendar day; null clears it. *set says whether it was given. */
static int due_field(struct req *r, bool *set, const char **out)
{
	json_t *v = json_object_get(r->json, "due_on");
	*set = v != NULL;
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	const char *s = json_string_value(v);
	if (!s || strlen(s) > 40 || !date_valid(s) || (s[10] && s[10] != 'T'))
		return err_set(&r->err, ERR_INVALID, "invalid_date",
			       "due_on '%.40s' is not a date (YYYY-MM-DD)", s ? s : "");
	*out = arena_strndup(r->arena, s, 10);
	return 0;
}

static int state_field(struct req *r, const char **out)
{
	const char *v = NULL;
	int rc = json_str_field(r, "state", false, 20, &v);
	if (rc || !v)
		return rc;
	if (strcmp(v, "open") && strcmp(v, "closed"))
		return err_set(&r->err, ERR_INVALID, "invalid_state",
			       "state '%s' is not one of open, closed", v);
	*out = v;
	return 0;
}

static int milestone_outbox(struct req *r, const char *action, PGresult *res, json_t *extra)
{
	json_t *p = json_pack("{s:s,s:o,s:o,s:s?}", "action", action, "milestone",
			      milestone_json(r, res, 0), "repository", repo_payload(r->repo),
			      "sender", r->auth.username);
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	return forge_event(NULL, FORGE(r), r->repo->id, arena_printf(r->arena, "milestone.%s", action), p);
}

static int exists_error(struct req *r, const char *title)
{
	if (r->err.code != ERR_EXISTS)
		return r->err.code;
	err_clear(&r->err);
	return err_set(&r->err, ERR_EXISTS, NULL, "milestone '%s' already exists in '%s/%s'", title,
		       r->repo->owner, r->repo->name);
}

int h_milestones_list(struct req *r, struct resp *w)
{
	const char *state = req_query(r, "state");
	if (!state || !strcmp(state, "open"))
		state = "open";
	else if (!strcmp(state, "all"))
		state = NULL;
	else if (strcmp(state, "closed"))
		return err_set(&r->err, ERR_INVALID, "invalid_filter",
			       "state '%.20s' is not one of open, closed, all", state);
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " MILESTONE_COLUMNS " FROM milestones m WHERE m.repo_id = $1 "
			      "AND ($2::text IS NULL OR m.state = $2) "
			      "ORDER BY m.due_on NULLS LAST, m.number LIMIT 1000",
			      num(r->arena, (long long)r->repo->id), state);
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, milestone_json(r, res, i));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_milestone_get(struct req *r, struct resp *w)
{
	PGresult *res;
	int rc = milestone_load(r, req_param(r, "number"), false, &res);
	if (rc)
		return rc;
	resp_json(w, 200, milestone_json(r, res, 0));
	resp_no_cache(r, w);
	return 0;
}

int h_milestone_create(struct req *r, struct resp *w)
{
	const char *title = NULL, *desc = "", *due = NULL, *state = "open";
	bool due_set;
	int rc;
	if ((rc = collab_title_field(r, "title", true, &title)) ||
	    (rc = json_str_field(r, "description", false, MILESTONE_DESC_MAX, &desc)) ||
	    (rc = due_field(r, &due_set, &due)) || (rc = state_field(r, &state)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	const char *rid = num(r->arena, (long long)r->repo->id);
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO repo_counters (repo_id, last_milestone) VALUES ($1, 1) "
			      "ON CONFLICT (repo_id) DO UPDATE SET last_milestone = "
			      "repo_counters.last_milestone + 1 RETURNING last_milestone",
			      rid);
	if (!res) {
		rc = r->err.code;
		goto done;
	}
	const char *number = arena_strdup(r->arena, db_val(res, 0, 0));
	if (!db_qv(r->db, r->arena, &r->err,
		   "INSERT INTO milestones (repo_id, number, title, description, due_on, state, "
		   "closed_at) VALUES ($1, $2, $3, $4, $5::date, $6, "
		   "CASE WHEN $6 = 'closed' THEN now() END)",
		   rid, number, title, desc, due, state)) {
		rc = exists_error(r, title);
		goto done;
	}
	if ((rc = milestone_load(r, number, false, &res)) ||
	    (rc = milestone_outbox(r, "created", res, NULL)))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	json_t *j = milestone_json(r, res, 0);
	resp_header(w, "Location", json_string_value(json_object_get(j, "url")));
	resp_json(w, 201, j);
	return 0;
}

int h_milestone_update(struct req *r, struct resp *w)
{
	const char *title = NULL, *desc = NULL, *due = NULL, *state = NULL;
	bool due_set;
	PGresult *old, *res = NULL;
	int rc;
	if ((rc = collab_title_field(r, "title", false, &title)) ||
	    (rc = json_str_field(r, "description", false, MILESTONE_DESC_MAX, &desc)) ||
	    (rc = due_field(r, &due_set, &due)) || (rc = state_field(r, &state)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = milestone_load(r, req_param(r, "number"), true, &old)))
		goto done;
	const char *number = db_val(old, 0, 1);
	if (!db_qv(r->db, r->arena, &r->err,
		   "UPDATE milestones SET title = coalesce($2, title), "
		   "description = coalesce($3, description), "
		   "due_on = CASE WHEN $4 THEN $5::date ELSE due_on END, "
		   "closed_at = CASE WHEN $6::text IS NULL OR $6 = state THEN closed_at "
		   "  WHEN $6 = 'closed' THEN now() END, "
		   "state = coalesce($6, state), updated_at = now() WHERE id = $1",
		   db_val(old, 0, 0), title, desc, due_set ? "true" : "false", due, state)) {
		rc = exists_error(r, title ? title : "");
		goto done;
	}
	if ((rc = milestone_load(r, number, false, &res)))
		goto done;
	const char *action = "edited";
	if (state && strcmp(state, db_val(old, 0, 4)))
		action = !strcmp(state, "closed") ? "closed" : "opened";
	if ((rc = milestone_outbox(r, action, res, NULL)))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	resp_json(w, 200, milestone_json(r, res, 0));
	return 0;
}

int h_milestone_delete(struct req *r, struct resp *w)
{
	PGresult *old;
	int rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = milestone_load(r, req_param(r, "number"), true, &old)))
		goto done;
	/* issues lose the milestone through ON DELETE SET NULL */
	if (!db_qv(r->db, r->arena, &r->err, "DELETE FROM milestones WHERE id = $1",
		   db_val(old, 0, 0))) {
		rc = r->err.code;
		goto done;
	}
	if ((rc = milestone_outbox(r, "deleted", old, NULL)))
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
