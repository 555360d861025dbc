/* issues.c — the issue routes: list with filters and cursor pagination,
 * open, read, edit (title, body, state, labels, assignees, milestone), the
 * timeline, and the caller's mentions. Every change writes its rows, its
 * timeline events and its outbox events in one transaction. */
#include "api/api.h"
#include "api/collab.h"
#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 100
#define MAX_ASSIGNEES 10

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

/* A label, assignee or milestone named in a request, resolved to its row. */
struct named {
	int64_t id;
	const char *name;
	const char *color; /* labels */
	long long number;  /* milestones */
};

struct named_list {
	struct named *v;
	size_t n;
};

static bool named_has(const struct named_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return true;
	return false;
}

/* A JSON array of strings (at most max) from field; ERR_INVALID otherwise. */
static int string_array(struct req *r, json_t *v, const char *field, size_t max)
{
	if (!json_is_array(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' must be an array of strings", field);
	if (json_array_size(v) > max)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' has more than %zu entries", field, max);
	size_t i;
	json_t *s;
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s) ||
		    json_string_length(s) > 200)
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field '%s' must be an array of strings", field);
	}
	return 0;
}

static int label_find(struct req *r, const char *name, struct named *out)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT id, name, color FROM labels WHERE repo_id = $1 AND "
			      "lower(name) = lower($2)",
			      num(r->arena, (long long)r->repo->id), name);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_INVALID, "unknown_label", "label '%.100s' does not exist",
			       name);
	*out = (struct named){ db_int(res, 0, 0), db_val(res, 0, 1), db_val(res, 0, 2), 0 };
	return 0;
}

/* Label names → rows, without duplicates. */
static int labels_resolve(struct req *r, json_t *arr, struct named_list *out)
{
	int rc;
	if ((rc = string_array(r, arr, "labels", MAX_LABELS)))
		return rc;
	out->v = arena_alloc(r->arena, (json_array_size(arr) + 1) * sizeof(*out->v));
	out->n = 0;
	size_t i;
	json_t *s;
	json_array_foreach(arr, i, s)
	{
		struct named l;
		if ((rc = label_find(r, json_string_value(s), &l)))
			return rc;
		if (!named_has(out, l.id))
			out->v[out->n++] = l;
	}
	return 0;
}

/* Usernames → users who can read the repository, without duplicates. */
static int assignees_resolve(struct req *r, json_t *arr, struct named_list *out)
{
	int rc;
	if ((rc = string_array(r, arr, "assignees", MAX_ASSIGNEES)))
		return rc;
	out->v = arena_alloc(r->arena, (json_array_size(arr) + 1) * sizeof(*out->v));
	out->n = 0;
	size_t i;
	json_t *s;
	json_array_foreach(arr, i, s)
	{
		const char *name = json_string_value(s);
		PGresult *u = db_qv(r->db, r->arena, &r->err,
				    "SELECT u.id, u.username, u.is_admin, coalesce(c.role, '') "
				    "FROM users u LEFT JOIN collaborators c ON c.repo_id = $2 "
				    "  AND c.user_id = u.id WHERE lower(u.username) = lower($1)",
				    name, num(r->arena, (long long)r->repo->id));
		if (!u)
			return r->err.code;
		if (PQntuples(u) != 1)
			return err_set(&r->err, ERR_INVALID, "unknown_user",
				       "user '%.100s' does not exist", name);
		if (!authz_user_may(r->repo, db_int(u, 0, 0), db_bool(u, 0, 2), db_val(u, 0, 3),
				    ACT_READ))
			return err_set(&r->err, ERR_INVALID, "invalid_assignee",
				       "user '%s' cannot be assigned: they cannot read '%s/%s'",
				       db_val(u, 0, 1), r->repo->owner, r->repo->name);
		struct named n = { db_int(u, 0, 0), db_val(u, 0, 1), NULL, 0 };
		if (!named_has(out, n.id))
			out->v[out->n++] = n;
	}
	return 0;
}

/* A milestone number (or null: none) → its row; *set is false when the
 * field is absent. */
static int milestone_resolve(struct req *r, json_t *v, struct named *out)
{
	memset(out, 0, sizeof(*out));
	if (json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'milestone' must be a milestone number or null");
	json_int_t n = json_integer_value(v);
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT id, title, number FROM milestones WHERE repo_id = $1 AND number = $2",
			      num(r->arena, (long long)r->repo->id), num(r->arena, (long long)n));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_INVALID, "unknown_milestone",
			       "milestone %lld does not exist", (long long)n);
	*out = (struct named){ db_int(res, 0, 0), db_val(res, 0, 1), NULL, db_int(res, 0, 2) };
	return 0;
}

/* The request's labels / assignees / milestone, when given. */
struct issue_sets {
	bool has_labels, has_assignees, has_milestone;
	struct named_list labels, assignees;
	struct named milestone; /* id 0: none */
};

static int sets_parse(struct req *r, struct issue_sets *s)
{
	memset(s, 0, sizeof(*s));
	json_t *l = json_object_get(r->json, "labels"), *a = json_object_get(r->json, "assignees");
	json_t *m = json_object_get(r->json, "milestone");
	int rc;
	if (l && !json_is_null(l)) {
		if ((rc = forge_require_writer(FORGE(r), r->repo, "set labels")) || (rc = labels_resolve(r, l, &s->labels)))
			return rc;
		s->has_labels = true;
	}
	if (a && !json_is_null(a)) {
		if ((rc = forge_require_writer(FORGE(r), r->repo, "assign users")) ||
		    (rc = assignees_resolve(r, a, &s->assignees)))
			return rc;
		s->has_assignees = true;
	}
	if (m) {
		if ((rc = forge_require_writer(FORGE(r), r->repo, "set milestones")) ||
		    (rc = milestone_resolve(r, m, &s->milestone)))
			return rc;
		s->has_milestone = true;
	}
	return 0;
}

/* An outbox event about an issue: {action, issue, repository, sender, ...extra}. */
static int issue_outbox(struct req *r, const struct issue *is, const char *type,
			const char *action, json_t *extra)
{
	json_t *p = json_pack("{s:s,s:o,s:o,s:s?}", "action", action, "issue",
			      issue_payload(r->repo, is), "repository",
			      repo_payload(r->repo), "sender", r->auth.username);
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	return forge_event(NULL, FORGE(r), r->repo->id, type, p);
}

/* A timeline row and its outbox event together. */
static int issue_change(struct req *r, const struct issue *is, const char *kind, json_t *data)
{
	int rc = issue_event_add(FORGE(r), r->repo->id, is->id, kind, json_incref(data));
	if (!rc)
		rc = issue_outbox(r, is, arena_printf(r->arena, "issue.%s", kind), kind,
				  json_incref(data));
	json_decref(data);
	return rc;
}

static int labels_apply(struct req *r, const struct issue *is, const struct named_list *want)
{
	const char *iid = num(r->arena, (long long)is->id);
	PGresult *cur = db_qv(r->db, r->arena, &r->err,
			      "SELECT l.id, l.name, l.color FROM issue_labels il JOIN labels l "
			      "ON l.id = il.label_id WHERE il.issue_id = $1",
			      iid);
	if (!cur)
		return r->err.code;
	int rc = 0;
	for (int i = 0; i < PQntuples(cur) && !rc; i++) {
		if (named_has(want, db_int(cur, i, 0)))
			continue;
		if (!db_qv(r->db, r->arena, &r->err,
			   "DELETE FROM issue_labels WHERE issue_id = $1 AND label_id = $2", iid,
			   db_val(cur, i, 0)))
			return r->err.code;
		rc = issue_change(r, is, "unlabeled",
				  json_pack("{s:{s:s,s:s}}", "label", "name", db_val(cur, i, 1),
					    "color", db_val(cur, i, 2)));
	}
	for (size_t k = 0; k < want->n && !rc; k++) {
		PGresult *ins = db_qv(r->db, r->arena, &r->err,
				      "INSERT INTO issue_labels (issue_id, label_id) VALUES ($1, $2) "
				      "ON CONFLICT DO NOTHING RETURNING label_id",
				      iid, num(r->arena, (long long)want->v[k].id));
		if (!ins)
			return r->err.code;
		if (PQntuples(ins))
			rc = issue_change(r, is, "labeled",
					  json_pack("{s:{s:s,s:s}}", "label", "name", want->v[k].name,
						    "color", want->v[k].color));
	}
	return rc;
}

static int assignees_apply(struct req *r, const struct issue *is, const struct named_list *want)
{
	const char *iid = num(r->arena, (long long)is->id);
	PGresult *cur = db_qv(r->db, r->arena, &r->err,
			      "SELECT u.id, u.username FROM issue_assignees a JOIN users u "
			      "ON u.id = a.user_id WHERE a.issue_id = $1",
			      iid);
	if (!cur)
		return r->err.code;
	int rc = 0;
	for (int i = 0; i < PQntuples(cur) && !rc; i++) {
		if (named_has(want, db_int(cur, i, 0)))
			continue;
		if (!db_qv(r->db, r->arena, &r->err,
			   "DELETE FROM issue_assignees WHERE issue_id = $1 AND user_id = $2", iid,
			   db_val(cur, i, 0)))
			return r->err.code;
		rc = issue_change(r, is, "unassigned",
				  json_pack("{s:s}", "assignee", db_val(cur, i, 1)));
	}
	for (size_t k = 0; k < want->n && !rc; k++) {
		PGresult *ins = db_qv(r->db, r->arena, &r->err,
				      "INSERT INTO issue_assignees (issue_id, user_id) VALUES ($1, $2) "
				      "ON CONFLICT DO NOTHING RETURNING user_id",
				      iid, num(r->arena, (long long)want->v[k].id));
		if (!ins)
			return r->err.code;
		if (PQntuples(ins))
			rc = issue_change(r, is, "assigned",
					  json_pack("{s:s}", "assignee", want->v[k].name));
	}
	return rc;
}

static int milestone_apply(struct req *r, const struct issue *is, const struct named *want)
{
	if (is->milestone_id == want->id)
		return 0;
	int rc = 0;
	if (is->milestone_id) {
		PGresult *old = db_qv(r->db, r->arena, &r->err,
				      "SELECT number, title FROM milestones WHERE id = $1",
				      num(r->arena, (long long)is->milestone_id));
		if (!old)
			return r->err.code;
		if (PQntuples(old) == 1)
			rc = issue_change(r, is, "demilestoned",
					  json_pack("{s:{s:I,s:s}}", "milestone", "number",
						    (json_int_t)db_int(old, 0, 0), "title",
						    db_val(old, 0, 1)));
	}
	if (!rc && !db_qv(r->db, r->arena, &r->err,
			  "UPDATE issues SET milestone_id = $2 WHERE id = $1",
			  num(r->arena, (long long)is->id),
			  want->id ? num(r->arena, (long long)want->id) : NULL))
		return r->err.code;
	if (!rc && want->id)
		rc = issue_change(r, is, "milestoned",
				  json_pack("{s:{s:I,s:s}}", "milestone", "number",
					    (json_int_t)want->number, "title", want->name));
	return rc;
}

static int sets_apply(struct req *r, const struct issue *is, const struct issue_sets *s)
{
	int rc = 0;
	if (s->has_labels)
		rc = labels_apply(r, is, &s->labels);
	if (!rc && s->has_assignees)
		rc = assignees_apply(r, is, &s->assignees);
	if (!rc && s->has_milestone)
		rc = milestone_apply(r, is, &s->milestone);
	return rc;
}

static int respond_issue(struct req *r, struct resp *w, int status, int64_t id)
{
	json_t *j;
	int rc = issue_json_get(&j, FORGE(r), r->repo, id);
	if (rc)
		return rc;
	resp_json(w, status, j);
	resp_no_cache(r, w);
	return 0;
}

int h_issue_create(struct req *r, struct resp *w)
{
	const char *title = NULL, *body = "";
	struct issue_sets sets;
	struct issue is;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) || (rc = collab_title_field(r, "title", true, &title)) ||
	    (rc = collab_body_field(r, "body", false, &body)) || (rc = sets_parse(r, &sets)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = issue_insert(&is, FORGE(r), r->repo->id, title, body, false)))
		goto done;
	is.author = r->auth.username;
	if ((rc = sets_apply(r, &is, &sets)) ||
	    (rc = mentions_record(FORGE(r), r->repo, is.id, 0, body)) ||
	    (rc = issue_refs_record(FORGE(r), r->repo, is.id, 0, NULL, body)) ||
	    (rc = issue_outbox(r, &is, "issue.opened", "opened", json_pack("{s:s}", "body", body))))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/%s/%s/issues/%lld", r->repo->owner, r->repo->name,
				 (long long)is.number));
	return respond_issue(r, w, 201, is.id);
}

int h_issue_get(struct req *r, struct resp *w)
{
	struct issue is;
	int rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), false);
	return rc ? rc : respond_issue(r, w, 200, is.id);
}

int h_issue_update(struct req *r, struct resp *w)
{
	const char *title = NULL, *body = NULL, *state = NULL;
	struct issue_sets sets;
	struct issue is;
	int rc;
	if ((rc = collab_title_field(r, "title", false, &title)) ||
	    (rc = collab_body_field(r, "body", false, &body)) ||
	    (rc = json_str_field(r, "state", false, 20, &state)))
		return rc;
	if (state && strcmp(state, "open") && strcmp(state, "closed"))
		return err_set(&r->err, ERR_INVALID, "invalid_state",
			       "state '%s' is not one of open, closed", state);
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), true)))
		goto done;
	/* authors edit, close and reopen their own issues, when the
	 * repository lets readers take part at all */
	if ((rc = forge_require_author(FORGE(r), r->repo, is.author_id, "only the author or a writer may %s issue '%s/%s#%lld'", state && !title && !body ? "close or reopen" : "edit", r->repo->owner, r->repo->name, (long long)is.number)))
		goto done;
	if (state && is.is_pull && strcmp(state, is.state)) {
		/* merging, and what a merged pull request may do, are the pulls
		 * endpoint's rules */
		rc = err_set(&r->err, ERR_INVALID, "pull_request",
			     "issue '%s/%s#%lld' is a pull request: close or reopen it with "
			     "PATCH /api/%s/%s/pulls/%lld",
			     r->repo->owner, r->repo->name, (long long)is.number, r->repo->owner,
			     r->repo->name, (long long)is.number);
		goto done;
	}
	if ((rc = sets_parse(r, &sets)))
		goto done;
	const char *iid = num(r->arena, (long long)is.id);
	bool renamed = title && strcmp(title, is.title);
	bool rebodied = body && strcmp(body, is.body);
	json_t *changes = json_object();
	if (renamed) {
		if (!db_qv(r->db, r->arena, &r->err, "UPDATE issues SET title = $2 WHERE id = $1", iid,
			   title)) {
			json_decref(changes);
			rc = r->err.code;
			goto done;
		}
		json_object_set_new(changes, "title", json_pack("{s:s}", "from", is.title));
		rc = issue_event_add(FORGE(r), r->repo->id, is.id, "renamed", json_pack("{s:s,s:s}", "from", is.title, "to", title));
		is.title = title;
	}
	if (!rc && rebodied) {
		if (!db_qv(r->db, r->arena, &r->err, "UPDATE issues SET body = $2 WHERE id = $1", iid,
			   body)) {
			json_decref(changes);
			rc = r->err.code;
			goto done;
		}
		json_object_set_new(changes, "body", json_pack("{s:s}", "from", is.body));
		is.body = body;
		rc = mentions_record(FORGE(r), r->repo, is.id, 0, body);
		if (!rc)
			rc = issue_refs_record(FORGE(r), r->repo, is.id, 0, NULL, body);
	}
	if (!rc && (renamed || rebodied))
		rc = issue_outbox(r, &is, "issue.edited", "edited",
				  json_pack("{s:O}", "changes", changes));
	json_decref(changes);
	if (rc)
		goto done;
	if (state && strcmp(state, is.state)) {
		bool closing = !strcmp(state, "closed");
		if (!db_qv(r->db, r->arena, &r->err,
			   closing ? "UPDATE issues SET state = 'closed', closed_by = $2, "
				     "closed_at = now() WHERE id = $1"
				   : "UPDATE issues SET state = 'open', closed_by = NULL, "
				     "closed_at = NULL WHERE id = $1 AND $2::bigint IS NOT NULL",
			   iid, num(r->arena, (long long)r->auth.user_id))) {
			rc = r->err.code;
			goto done;
		}
		is.state = state;
		if ((rc = issue_change(r, &is, closing ? "closed" : "reopened", json_object())))
			goto done;
	}
	if ((rc = sets_apply(r, &is, &sets)))
		goto done;
	if (!db_qv(r->db, r->arena, &r->err, "UPDATE issues SET updated_at = now() WHERE id = $1",
		   iid)) {
		rc = r->err.code;
		goto done;
	}
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	return respond_issue(r, w, 200, is.id);
}

/* ---- listing ---- */

#define ISSUE_LIST_SQL(col, cmp, dir)                                                          \
	"SELECT " ISSUE_COLUMNS " FROM " ISSUE_FROM " WHERE i.repo_id = $1 "                    \
	"AND ($2::text IS NULL OR i.state = $2) "                                               \
	"AND ($3::bigint[] IS NULL OR (SELECT count(*) FROM issue_labels il "                   \
	"  WHERE il.issue_id = i.id AND il.label_id = ANY($3::bigint[])) = cardinality($3::bigint[])) " \
	"AND ($4::bigint IS NULL "                                                              \
	"  OR ($4 = 0 AND NOT EXISTS (SELECT 1 FROM issue_assignees a WHERE a.issue_id = i.id)) " \
	"  OR ($4 = -1 AND EXISTS (SELECT 1 FROM issue_assignees a WHERE a.issue_id = i.id)) "  \
	"  OR EXISTS (SELECT 1 FROM issue_assignees a WHERE a.issue_id = i.id AND a.user_id = $4)) " \
	"AND ($5::bigint IS NULL OR i.author_id = $5) "                                         \
	"AND ($6::bigint IS NULL OR ($6 = 0 AND i.milestone_id IS NULL) "                       \
	"  OR ($6 = -1 AND i.milestone_id IS NOT NULL) OR i.milestone_id = $6) "                \
	"AND ($7::text IS NULL OR i.title ILIKE $7 OR i.body ILIKE $7) "                        \
	"AND ($8::boolean IS NULL OR i.is_pull = $8) "                                          \
	"AND ($9::bigint IS NULL OR (i." col ", i.id) " cmp " (" SQL_FROM_US("$9") ", $10::bigint)) " \
	"ORDER BY i." col " " dir ", i.id " dir " LIMIT $11"

static const char *const issue_list_sql[2][2] = {
	{ ISSUE_LIST_SQL("created_at", "<", "DESC"), ISSUE_LIST_SQL("created_at", ">", "ASC") },
	{ ISSUE_LIST_SQL("updated_at", "<", "DESC"), ISSUE_LIST_SQL("updated_at", ">", "ASC") },
};

/* "%text%" for ILIKE with %, _ and \ taken literally. */
static const char *like_pattern(struct arena *a, const char *q)
{
	char *out = arena_alloc(a, 2 * strlen(q) + 3), *p = out;
	*p++ = '%';
	for (; *q; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*p++ = '\\';
		*p++ = *q;
	}
	*p++ = '%';
	*p = '\0';
	return out;
}

/* ?labels=a,b → a bigint[] literal of their ids. */
static int labels_filter(struct req *r, const char *csv, const char **out)
{
	struct buf b = BUF_INIT;
	int rc = 0, count = 0;
	buf_addch(&b, '{');
	for (const char *p = csv; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (n) {
			struct named l;
			if (++count > MAX_LABELS) {
				rc = err_set(&r->err, ERR_INVALID, "invalid_filter",
					     "at most %d labels may be given", MAX_LABELS);
				goto done;
			}
			if ((rc = label_find(r, arena_strndup(r->arena, p, n), &l)))
				goto done;
			buf_addf(&b, "%s%lld", b.len > 1 ? "," : "", (long long)l.id);
		}
		if (!end)
			break;
		p = end + 1;
	}
	buf_addch(&b, '}');
	*out = count ? arena_strdup(r->arena, b.ptr) : NULL;
done:
	buf_release(&b);
	return rc;
}

/* ?assignee= / ?milestone=: "none" → "0", "*" → "-1", else the row's id. */
static int user_filter(struct req *r, const char *v, const char **out)
{
	if (!v || !*v)
		return 0;
	if (!strcmp(v, "none")) {
		*out = "0";
		return 0;
	}
	if (!strcmp(v, "*")) {
		*out = "-1";
		return 0;
	}
	int64_t id;
	int rc = user_find(&id, NULL, FORGE(r), v);
	if (!rc)
		*out = num(r->arena, (long long)id);
	return rc;
}

static int milestone_filter(struct req *r, const char *v, const char **out)
{
	if (!v || !*v)
		return 0;
	if (!strcmp(v, "none")) {
		*out = "0";
		return 0;
	}
	if (!strcmp(v, "*")) {
		*out = "-1";
		return 0;
	}
	int64_t n;
	bool numeric = !parse_i64(v, 1, INT64_MAX, &n);
	const char *rid = num(r->arena, (long long)r->repo->id);
	PGresult *res = numeric ? db_qv(r->db, r->arena, &r->err,
					"SELECT id FROM milestones WHERE repo_id = $1 AND number = $2",
					rid, v)
				: db_qv(r->db, r->arena, &r->err,
					"SELECT id FROM milestones WHERE repo_id = $1 AND "
					"lower(title) = lower($2)",
					rid, v);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_INVALID, "unknown_milestone",
			       "milestone '%.100s' does not exist", v);
	*out = arena_strdup(r->arena, db_val(res, 0, 0));
	return 0;
}

int h_issues_list(struct req *r, struct resp *w)
{
	const char *state = req_query(r, "state"), *sort = req_query(r, "sort");
	const char *dir = req_query(r, "direction"), *type = req_query(r, "type");
	const char *q = req_query(r, "q"), *author = req_query(r, "creator");
	const char *labels = NULL, *assignee = NULL, *author_id = NULL, *milestone = NULL;
	const char *is_pull = NULL;
	int rc;
	if (!author)
		author = req_query(r, "author");
	if (!state || !strcmp(state, "open"))
		state = "open";
	else if (!strcmp(state, "all"))
		state = NULL;
	else if (strcmp(state, "closed"))
		return err_set(&r->err, ERR_INVALID, "invalid_filter",
			       "state '%.20s' is not one of open, closed, all", state);
	int by_updated = 0, asc = 0;
	if (sort && !strcmp(sort, "updated"))
		by_updated = 1;
	else if (sort && strcmp(sort, "created"))
		return err_set(&r->err, ERR_INVALID, "invalid_filter",
			       "sort '%.20s' is not one of created, updated", sort);
	if (dir && !strcmp(dir, "asc"))
		asc = 1;
	else if (dir && strcmp(dir, "desc"))
		return err_set(&r->err, ERR_INVALID, "invalid_filter",
			       "direction '%.20s' is not one of asc, desc", dir);
	if (type && !strcmp(type, "issues"))
		is_pull = "false";
	else if (type && !strcmp(type, "pulls"))
		is_pull = "true";
	else if (type && strcmp(type, "all"))
		return err_set(&r->err, ERR_INVALID, "invalid_filter",
			       "type '%.20s' is not one of issues, pulls, all", type);
	if (q && strlen(q) > 256)
		return err_set(&r->err, ERR_INVALID, "invalid_filter",
			       "q is longer than 256 characters");
	const char *tag = arena_printf(r->arena, "issues:%s:%s", by_updated ? "updated" : "created",
				       asc ? "asc" : "desc");
	int limit;
	struct cursor cur;
	if ((rc = collab_page(r, tag, COLLAB_PAGE_MAX, &limit, &cur)))
		return rc;
	if ((req_query(r, "labels") && (rc = labels_filter(r, req_query(r, "labels"), &labels))) ||
	    (rc = user_filter(r, req_query(r, "assignee"), &assignee)))
		return rc;
	if (author && *author) {
		int64_t id;
		if ((rc = user_find(&id, NULL, FORGE(r), author)))
			return rc;
		author_id = num(r->arena, (long long)id);
	}
	if ((rc = milestone_filter(r, req_query(r, "milestone"), &milestone)))
		return rc;
	const char *params[11] = {
		num(r->arena, (long long)r->repo->id),
		state,
		labels,
		assignee,
		author_id,
		milestone,
		q && *q ? like_pattern(r->arena, q) : NULL,
		is_pull,
		cur.set ? num(r->arena, cur.key) : NULL,
		cur.set ? num(r->arena, cur.id) : NULL,
		num(r->arena, limit + 1),
	};
	PGresult *res = db_query(r->db, r->arena, &r->err, issue_list_sql[by_updated][asc], 11,
				 params);
	if (!res)
		return r->err.code;
	int n = PQntuples(res);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(arr, issue_row_json(FORGE(r), r->repo, res, i));
	if (n > limit)
		collab_next_page(r, w, tag,
				 db_int(res, limit - 1,
					by_updated ? ISSUE_COL_UPDATED_US : ISSUE_COL_CREATED_US),
				 db_int(res, limit - 1, 0));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

/* ---- the timeline ---- */

int h_issue_timeline(struct req *r, struct resp *w)
{
	struct issue is;
	int limit, rc;
	struct cursor cur;
	if ((rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), false)) ||
	    (rc = collab_page(r, "timeline", 250, &limit, &cur)))
		return rc;
	/* comments and events in time order; within one instant, by
	 * 2 * id + kind (a stable total order the cursor can resume from) */
	PGresult *res = db_qv(
		r->db, r->arena, &r->err,
		"SELECT t.kind, t.id, t.actor, t.type, t.body, t.data::text, " SQL_TS("t.created_at")
		", " SQL_TS("t.updated_at") ", " SQL_TS("t.edited_at") ", " SQL_US("t.created_at")
		", t.id * 2 + t.kind FROM ("
		"  SELECT 0 AS kind, c.id, u.username AS actor, 'commented' AS type, c.body, "
		"    NULL::jsonb AS data, c.created_at, c.updated_at, c.edited_at "
		"  FROM comments c LEFT JOIN users u ON u.id = c.author_id WHERE c.issue_id = $1 "
		"  UNION ALL "
		"  SELECT 1, e.id, u.username, e.type, NULL, e.data, e.created_at, NULL, NULL "
		"  FROM issue_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.issue_id = $1"
		") t WHERE ($2::bigint IS NULL OR (t.created_at, t.id * 2 + t.kind) > "
		"(" SQL_FROM_US("$2") ", $3::bigint)) "
		"ORDER BY t.created_at, t.id * 2 + t.kind LIMIT $4",
		num(r->arena, (long long)is.id), cur.set ? num(r->arena, cur.key) : NULL,
		cur.set ? num(r->arena, cur.id) : NULL, num(r->arena, limit + 1));
	if (!res)
		return r->err.code;
	int n = PQntuples(res);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		const char *actor = db_val(res, i, 2);
		json_t *item = json_pack("{s:s,s:I,s:s,s:s}", "event", db_val(res, i, 3), "id",
					 (json_int_t)db_int(res, i, 1), "actor",
					 actor ? actor : "ghost", "created_at", db_val(res, i, 6));
		if (db_int(res, i, 0) == 0) {
			const char *body = db_val(res, i, 4), *edited = db_val(res, i, 8);
			json_object_set_new(item, "body", json_string(body));
			json_object_set_new(item, "body_html", forge_html(FORGE(r), r->repo, body));
			json_object_set_new(item, "updated_at", json_string(db_val(res, i, 7)));
			json_object_set_new(item, "edited", json_boolean(edited != NULL));
			json_object_set_new(item, "edited_at", edited ? json_string(edited) : json_null());
		} else {
			json_t *data = json_loads(db_val(res, i, 5), 0, NULL);
			if (json_is_object(data))
				json_object_update_missing(item, data);
			json_decref(data);
		}
		json_array_append_new(arr, item);
	}
	if (n > limit)
		collab_next_page(r, w, "timeline", db_int(res, limit - 1, 9),
				 db_int(res, limit - 1, 10));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

/* ---- the caller's mentions ---- */

int h_user_mentions(struct req *r, struct resp *w)
{
	int limit, rc;
	struct cursor cur;
	if ((rc = collab_page(r, "mentions", COLLAB_PAGE_MAX, &limit, &cur)))
		return rc;
	/* a token without repo:read sees public repositories only */
	bool see_private = r->auth.via != AUTH_TOKEN || (r->auth.scopes & SCOPE_REPO_READ);
	PGresult *res = db_qv(
		r->db, r->arena, &r->err,
		"SELECT m.id, o.username, p.name, i.number, i.title, i.is_pull, m.comment_id, "
		"  b.username, " SQL_TS("m.created_at") " "
		"FROM mentions m JOIN repositories p ON p.id = m.repo_id "
		"JOIN users o ON o.id = p.owner_id JOIN issues i ON i.id = m.issue_id "
		"LEFT JOIN users b ON b.id = m.by_id "
		"LEFT JOIN collaborators c ON c.repo_id = p.id AND c.user_id = $1 "
		"WHERE m.user_id = $1 AND (NOT p.is_private OR ($2 AND (p.owner_id = $1 "
		"  OR c.role IS NOT NULL OR (SELECT is_admin FROM users WHERE id = $1)))) "
		"AND ($3::bigint IS NULL OR m.id < $3) ORDER BY m.id DESC LIMIT $4",
		num(r->arena, (long long)r->auth.user_id), see_private ? "true" : "false",
		cur.set ? num(r->arena, cur.id) : NULL, num(r->arena, limit + 1));
	if (!res)
		return r->err.code;
	int n = PQntuples(res);
	json_t *arr = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		const char *owner = db_val(res, i, 1), *name = db_val(res, i, 2);
		long long number = db_int(res, i, 3);
		const char *by = db_val(res, i, 7), *cid = db_val(res, i, 6);
		const char *path =
			cid ? arena_printf(r->arena, "/%s/%s/issues/%lld#comment-%s", owner, name,
					   number, cid)
			    : arena_printf(r->arena, "/%s/%s/issues/%lld", owner, name, number);
		json_t *item = json_pack(
			"{s:I,s:s++,s:{s:I,s:s,s:b},s:s,s:s,s:s}", "id",
			(json_int_t)db_int(res, i, 0), "repository", owner, "/", name, "issue",
			"number", (json_int_t)number, "title", db_val(res, i, 4), "pull_request",
			db_bool(res, i, 5), "by", by ? by : "ghost", "created_at", db_val(res, i, 8),
			"html_url", forge_url(r->arena, path));
		json_object_set_new(item, "comment_id",
				    cid ? json_integer(strtoll(cid, NULL, 10)) : json_null());
		json_array_append_new(arr, item);
	}
	if (n > limit)
		collab_next_page(r, w, "mentions", 0, db_int(res, limit - 1, 0));
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-cache");
	return 0;
}
