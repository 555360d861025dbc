/* labels.c — a repository's labels: list, create, read, edit, delete.
 * Names are unique ignoring case; deleting a label removes it from every
 * issue (the foreign key cascades) in the same transaction as its event. */
#include "api/api.h"
#include "api/collab.h"
#include "base/util.h"
#include "db/db.h"

#include <ctype.h>
#include <string.h>

#define LABEL_NAME_MAX 50
#define LABEL_DESC_MAX 200

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

static json_t *label_json(struct req *r, PGresult *res, int row)
{
	const char *name = db_val(res, row, 1);
	/* the name is a path segment of the URL */
	struct buf b = BUF_INIT;
	buf_addf(&b, "/api/%s/%s/labels/", r->repo->owner, r->repo->name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		buf_addf(&b, isalnum(*p) || strchr("-_.~", *p) ? "%c" : "%%%02X", *p);
	json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:s}", "id", (json_int_t)db_int(res, row, 0),
			      "name", name, "color", db_val(res, row, 2), "description",
			      db_val(res, row, 3), "open_issues", (json_int_t)db_int(res, row, 4),
			      "closed_issues", (json_int_t)db_int(res, row, 5), "url",
			      forge_url(r->arena, b.ptr));
	buf_release(&b);
	return j;
}

#define LABEL_COLUMNS                                                                        \
	"l.id, l.name, l.color, l.description, "                                               \
	"(SELECT count(*) FROM issue_labels il JOIN issues i ON i.id = il.issue_id "           \
	"  WHERE il.label_id = l.id AND i.state = 'open'), "                                   \
	"(SELECT count(*) FROM issue_labels il JOIN issues i ON i.id = il.issue_id "           \
	"  WHERE il.label_id = l.id AND i.state = 'closed')"

static int label_load(struct req *r, const char *name, bool lock, PGresult **out)
{
	const char *rid = num(r->arena, (long long)r->repo->id);
#define LABEL_LOAD_SQL \
	"SELECT " LABEL_COLUMNS " FROM labels l WHERE l.repo_id = $1 AND lower(l.name) = lower($2)"
	PGresult *res = lock ? db_qv(r->db, r->arena, &r->err, LABEL_LOAD_SQL " FOR UPDATE OF l",
				     rid, name)
			     : db_qv(r->db, r->arena, &r->err, LABEL_LOAD_SQL, rid, name);
#undef LABEL_LOAD_SQL
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "label '%.100s' not found in '%s/%s'", name,
			       r->repo->owner, r->repo->name);
	*out = res;
	return 0;
}

/* name: trimmed, 1..50 characters, no commas (lists use them) or control
 * characters. */
static int name_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *v = NULL;
	int rc = json_str_field(r, field, required, 1000, &v);
	if (rc || !v)
		return rc;
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	char *name = arena_strndup(r->arena, v, n);
	size_t chars = 0;
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ',')
			return err_set(&r->err, ERR_INVALID, "invalid_label",
				       "label name '%.60s' may not contain commas or control characters",
				       name);
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	}
	if (chars == 0 || chars > LABEL_NAME_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_label",
			       "label name must be 1 to %d characters", LABEL_NAME_MAX);
	*out = name;
	return 0;
}

/* color: six hex digits, with or without '#'; stored lowercase. */
static int color_field(struct req *r, const char **out)
{
	const char *v = NULL;
	int rc = json_str_field(r, "color", false, 100, &v);
	if (rc || !v)
		return rc;
	const char *hex = *v == '#' ? v + 1 : v;
	bool ok = strlen(hex) == 6;
	for (size_t i = 0; ok && i < 6; i++)
		ok = isxdigit((unsigned char)hex[i]);
	if (!ok)
		return err_set(&r->err, ERR_INVALID, "invalid_color",
			       "color '%.20s' is not six hexadecimal digits", v);
	char *c = arena_strdup(r->arena, hex);
	for (char *p = c; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*out = c;
	return 0;
}

static int label_outbox(struct req *r, const char *action, json_t *label, json_t *extra)
{
	json_t *p = json_pack("{s:s,s:o,s:o,s:s?}", "action", action, "label", label, "repository",
			      repo_payload(r->repo), "sender", r->auth.username);
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	return forge_event(NULL, FORGE(r), r->repo->id, arena_printf(r->arena, "label.%s", action), p);
}

/* ERR_EXISTS from a unique violation becomes a message naming the label. */
static int exists_error(struct req *r, const char *name)
{
	if (r->err.code != ERR_EXISTS)
		return r->err.code;
	err_clear(&r->err);
	return err_set(&r->err, ERR_EXISTS, NULL, "label '%s' already exists in '%s/%s'", name,
		       r->repo->owner, r->repo->name);
}

int h_labels_list(struct req *r, struct resp *w)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " LABEL_COLUMNS " FROM labels l WHERE l.repo_id = $1 "
			      "ORDER BY lower(l.name) LIMIT 1000",
			      num(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, label_json(r, res, i));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_label_get(struct req *r, struct resp *w)
{
	PGresult *res;
	int rc = label_load(r, req_param(r, "name"), false, &res);
	if (rc)
		return rc;
	resp_json(w, 200, label_json(r, res, 0));
	resp_no_cache(r, w);
	return 0;
}

int h_label_create(struct req *r, struct resp *w)
{
	const char *name = NULL, *color = "ededed", *desc = "";
	int rc;
	if ((rc = name_field(r, "name", true, &name)) || (rc = color_field(r, &color)) ||
	    (rc = json_str_field(r, "description", false, LABEL_DESC_MAX, &desc)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO labels (repo_id, name, color, description) "
			      "VALUES ($1, $2, $3, $4) RETURNING id",
			      num(r->arena, (long long)r->repo->id), name, color, desc);
	if (!res) {
		rc = exists_error(r, name);
		goto done;
	}
	if ((rc = label_outbox(r, "created",
			       json_pack("{s:s,s:s,s:s}", "name", name, "color", color,
					 "description", desc),
			       NULL)))
		goto done;
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	if ((rc = label_load(r, name, false, &res)))
		return rc;
	json_t *j = label_json(r, res, 0);
	resp_header(w, "Location", json_string_value(json_object_get(j, "url")));
	resp_json(w, 201, j);
	return 0;
}

int h_label_update(struct req *r, struct resp *w)
{
	const char *name = NULL, *color = NULL, *desc = NULL;
	PGresult *old;
	int rc;
	if ((rc = name_field(r, "new_name", false, &name)) ||
	    (!name && (rc = name_field(r, "name", false, &name))) || (rc = color_field(r, &color)) ||
	    (rc = json_str_field(r, "description", false, LABEL_DESC_MAX, &desc)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = label_load(r, req_param(r, "name"), true, &old)))
		goto done;
	if (!name)
		name = db_val(old, 0, 1);
	if (!color)
		color = db_val(old, 0, 2);
	if (!desc)
		desc = db_val(old, 0, 3);
	if (!db_qv(r->db, r->arena, &r->err,
		   "UPDATE labels SET name = $2, color = $3, description = $4 WHERE id = $1",
		   db_val(old, 0, 0), name, color, desc)) {
		rc = exists_error(r, name);
		goto done;
	}
	json_t *changes = json_object();
	if (strcmp(name, db_val(old, 0, 1)))
		json_object_set_new(changes, "name", json_pack("{s:s}", "from", db_val(old, 0, 1)));
	if (strcmp(color, db_val(old, 0, 2)))
		json_object_set_new(changes, "color", json_pack("{s:s}", "from", db_val(old, 0, 2)));
	if (strcmp(desc, db_val(old, 0, 3)))
		json_object_set_new(changes, "description",
				    json_pack("{s:s}", "from", db_val(old, 0, 3)));
	if (json_object_size(changes) == 0) {
		json_decref(changes);
	} else if ((rc = label_outbox(r, "edited",
				      json_pack("{s:s,s:s,s:s}", "name", name, "color", color,
						"description", desc),
				      json_pack("{s:o}", "changes", changes)))) {
		goto done;
	}
	rc = db_commit(r->db, &r->err);
done:
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	PGresult *res;
	if ((rc = label_load(r, name, false, &res)))
		return rc;
	resp_json(w, 200, label_json(r, res, 0));
	return 0;
}

int h_label_delete(struct req *r, struct resp *w)
{
	PGresult *old;
	int rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = label_load(r, req_param(r, "name"), true, &old)))
		goto done;
	/* the issues it is removed from, for the event */
	PGresult *iss = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM issue_labels il USING issues i WHERE il.label_id = $1 "
			      "AND i.id = il.issue_id RETURNING i.number",
			      db_val(old, 0, 0));
	if (!iss || !db_qv(r->db, r->arena, &r->err, "DELETE FROM labels WHERE id = $1",
			   db_val(old, 0, 0))) {
		rc = r->err.code;
		goto done;
	}
	json_t *numbers = json_array();
	for (int i = 0; i < PQntuples(iss); i++)
		json_array_append_new(numbers, json_integer(db_int(iss, i, 0)));
	if ((rc = label_outbox(r, "deleted",
			       json_pack("{s:s,s:s,s:s}", "name", db_val(old, 0, 1), "color",
					 db_val(old, 0, 2), "description", db_val(old, 0, 3)),
			       json_pack("{s:o}", "issues", numbers))))
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
