/* labels.c — a repository's labels (see labels.h). */
#include "forge/labels.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "db/db.h"

#include <ctype.h>
#include <string.h>

#define LABEL_COLUMNS                                                                              \
	"l.id, l.name, l.color, l.description, "                                                   \
	"(SELECT count(*) FROM issue_labels il JOIN issues i ON i.id = il.issue_id "               \
	"  WHERE il.label_id = l.id AND i.state = 'open'), "                                       \
	"(SELECT count(*) FROM issue_labels il JOIN issues i ON i.id = il.issue_id "               \
	"  WHERE il.label_id = l.id AND i.state = 'closed')"
/* Column indexes of LABEL_COLUMNS, in their one declared order. */
enum label_col {
	LABEL_COL_ID,
	LABEL_COL_NAME,
	LABEL_COL_COLOR,
	LABEL_COL_DESCRIPTION,
	LABEL_COL_OPEN,
	LABEL_COL_CLOSED,
};

static json_t *label_json(struct forge *f, const struct repo *repo, PGresult *res, int row)
{
	const char *name = db_val(res, row, LABEL_COL_NAME);
	/* the name is a path segment of the URL */
	struct buf b = BUF_INIT;
	buf_addf(&b, "/api/%s/%s/labels/", repo->owner, repo->name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		buf_addf(&b, isalnum(*p) || strchr("-_.~", *p) ? "%c" : "%%%02X", *p);
	json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:s}", "id",
			      (json_int_t)db_int(res, row, LABEL_COL_ID), "name", name, "color",
			      db_val(res, row, LABEL_COL_COLOR), "description",
			      db_val(res, row, LABEL_COL_DESCRIPTION), "open_issues",
			      (json_int_t)db_int(res, row, LABEL_COL_OPEN), "closed_issues",
			      (json_int_t)db_int(res, row, LABEL_COL_CLOSED), "url",
			      forge_url(f->arena, b.ptr));
	buf_release(&b);
	return j;
}

static int label_load(PGresult **out, struct forge *f, const struct repo *repo, const char *name,
		      bool lock)
{
	const char *rid = arena_int(f->arena, (long long)repo->id);
#define LABEL_LOAD_SQL                                                                             \
	"SELECT " LABEL_COLUMNS " FROM labels l WHERE l.repo_id = $1 AND lower(l.name) = lower($2)"
	PGresult *res = lock ? db_qv(f->db, f->arena, f->err, LABEL_LOAD_SQL " FOR UPDATE OF l",
				     rid, name)
			     : db_qv(f->db, f->arena, f->err, LABEL_LOAD_SQL, rid, name);
#undef LABEL_LOAD_SQL
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "label '%.100s' not found in '%s/%s'",
			       name, repo->owner, repo->name);
	*out = res;
	return 0;
}

int label_name_check(const char **out, struct forge *f, const char *v)
{
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	char *name = arena_strndup(f->arena, v, n);
	size_t chars = 0;
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ',')
			return err_set(f->err, ERR_INVALID, "invalid_label",
				       "label name '%.60s' may not contain commas or control characters",
				       name);
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	}
	if (chars == 0 || chars > LABEL_NAME_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_label",
			       "label name must be 1 to %d characters", LABEL_NAME_MAX);
	*out = name;
	return 0;
}

int label_color_check(const char **out, struct forge *f, const char *v)
{
	const char *hex = *v == '#' ? v + 1 : v;
	bool ok = strlen(hex) == 6;
	for (size_t i = 0; ok && i < 6; i++)
		ok = isxdigit((unsigned char)hex[i]);
	if (!ok)
		return err_set(f->err, ERR_INVALID, "invalid_color",
			       "color '%.20s' is not six hexadecimal digits", v);
	char *c = arena_strdup(f->arena, hex);
	for (char *p = c; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*out = c;
	return 0;
}

/* The fields of in that are given, checked (name, color, description). */
static int fields_check(struct label_fields *out, struct forge *f, const struct label_fields *in)
{
	int rc;
	*out = *in;
	if ((in->name && (rc = label_name_check(&out->name, f, in->name))) ||
	    (in->color && (rc = label_color_check(&out->color, f, in->color))))
		return rc;
	if (in->description && strlen(in->description) > LABEL_DESC_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'description' is longer than %d characters", LABEL_DESC_MAX);
	return 0;
}

static int label_outbox(struct forge *f, const struct repo *repo, const char *action, json_t *label,
			json_t *extra)
{
	json_t *p = json_pack("{s:o}", "label", label);
	if (extra) {
		json_object_update(p, extra);
		json_decref(extra);
	}
	return repo_event(f, repo, arena_printf(f->arena, "label.%s", action), action, p);
}

/* ERR_EXISTS from a unique violation becomes a message naming the label. */
static int exists_error(struct forge *f, const struct repo *repo, const char *name)
{
	if (f->err->code != ERR_EXISTS)
		return f->err->code;
	err_clear(f->err);
	return err_set(f->err, ERR_EXISTS, NULL, "label '%s' already exists in '%s/%s'", name,
		       repo->owner, repo->name);
}

int labels_list(json_t **out, struct forge *f, const struct repo *repo)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " LABEL_COLUMNS " FROM labels l WHERE l.repo_id = $1 "
			      "ORDER BY lower(l.name) LIMIT 1000",
			      arena_int(f->arena, (long long)repo->id));
	if (!res)
		return f->err->code;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(*out, label_json(f, repo, res, i));
	return 0;
}

int label_read(json_t **out, struct forge *f, const struct repo *repo, const char *name)
{
	PGresult *res;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = label_load(&res, f, repo, name, false)))
		return rc;
	*out = label_json(f, repo, res, 0);
	return 0;
}

int label_create(json_t **out, struct forge *f, const struct repo *repo,
		 const struct label_fields *in)
{
	struct label_fields l;
	PGresult *res;
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_ISSUES, f->err)))
		return rc;
	if (!in->name)
		return err_set(f->err, ERR_INVALID, "missing_field", "field 'name' is required");
	if ((rc = fields_check(&l, f, in)))
		return rc;
	if (!l.color)
		l.color = "ededed";
	if (!l.description)
		l.description = "";
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if (!db_qv(f->db, f->arena, f->err,
		   "INSERT INTO labels (repo_id, name, color, description) "
		   "VALUES ($1, $2, $3, $4) RETURNING id",
		   arena_int(f->arena, (long long)repo->id), l.name, l.color, l.description)) {
		rc = exists_error(f, repo, l.name);
		goto done;
	}
	if ((rc = label_outbox(f, repo, "created",
			       json_pack("{s:s,s:s,s:s}", "name", l.name, "color", l.color,
					 "description", l.description),
			       NULL)))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	if ((rc = label_load(&res, f, repo, l.name, false)))
		return rc;
	*out = label_json(f, repo, res, 0);
	return 0;
}

int label_update(json_t **out, struct forge *f, const struct repo *repo, const char *name,
		 const struct label_fields *in)
{
	struct label_fields l;
	PGresult *old, *res;
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_ISSUES, f->err)) ||
	    (rc = fields_check(&l, f, in)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = label_load(&old, f, repo, name, true)))
		goto done;
	const char *was_name = db_val(old, 0, LABEL_COL_NAME);
	const char *was_color = db_val(old, 0, LABEL_COL_COLOR);
	const char *was_desc = db_val(old, 0, LABEL_COL_DESCRIPTION);
	if (!l.name)
		l.name = was_name;
	if (!l.color)
		l.color = was_color;
	if (!l.description)
		l.description = was_desc;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE labels SET name = $2, color = $3, description = $4 WHERE id = $1",
		   db_val(old, 0, LABEL_COL_ID), l.name, l.color, l.description)) {
		rc = exists_error(f, repo, l.name);
		goto done;
	}
	json_t *changes = json_object();
	if (strcmp(l.name, was_name))
		json_object_set_new(changes, "name", json_pack("{s:s}", "from", was_name));
	if (strcmp(l.color, was_color))
		json_object_set_new(changes, "color", json_pack("{s:s}", "from", was_color));
	if (strcmp(l.description, was_desc))
		json_object_set_new(changes, "description", json_pack("{s:s}", "from", was_desc));
	if (json_object_size(changes) == 0) {
		json_decref(changes);
	} else if ((rc = label_outbox(f, repo, "edited",
				      json_pack("{s:s,s:s,s:s}", "name", l.name, "color", l.color,
						"description", l.description),
				      json_pack("{s:o}", "changes", changes)))) {
		goto done;
	}
	rc = db_commit(f->db, f->err);
done:
	if (rc) {
		db_rollback(f->db);
		return rc;
	}
	if ((rc = label_load(&res, f, repo, l.name, false)))
		return rc;
	*out = label_json(f, repo, res, 0);
	return 0;
}

int label_delete(struct forge *f, const struct repo *repo, const char *name)
{
	PGresult *old;
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_ISSUES, f->err)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = label_load(&old, f, repo, name, true)))
		goto done;
	/* the issues it is removed from, for the event */
	PGresult *iss = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM issue_labels il USING issues i WHERE il.label_id = $1 "
			      "AND i.id = il.issue_id RETURNING i.number",
			      db_val(old, 0, LABEL_COL_ID));
	if (!iss || !db_qv(f->db, f->arena, f->err, "DELETE FROM labels WHERE id = $1",
			   db_val(old, 0, LABEL_COL_ID))) {
		rc = f->err->code;
		goto done;
	}
	json_t *numbers = json_array();
	for (int i = 0; i < PQntuples(iss); i++)
		json_array_append_new(numbers, json_integer(db_int(iss, i, 0)));
	if ((rc = label_outbox(f, repo, "deleted",
			       json_pack("{s:s,s:s,s:s}", "name", db_val(old, 0, LABEL_COL_NAME),
					 "color", db_val(old, 0, LABEL_COL_COLOR), "description",
					 db_val(old, 0, LABEL_COL_DESCRIPTION)),
			       json_pack("{s:o}", "issues", numbers))))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc)
		db_rollback(f->db);
	return rc;
}
