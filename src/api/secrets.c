/* secrets.c — repository secrets in the API: list names, set, delete
 * (administrators of the repository only). Values go in and are never
 * shown again: they are sealed at rest (queue/secrets.c) and reach only
 * the workflow steps that refer to them, masked in their logs. */
#include "api/api.h"
#include "base/util.h"
#include "db/db.h"
#include "queue/secrets.h"

#include <string.h>
#include <strings.h>


static int name_check(struct req *r, const char *name)
{
	if (!secret_name_valid(name))
		return err_set(&r->err, ERR_INVALID, "invalid_name",
			       "secret name '%.100s' must be 1 to 100 of letters, digits and '_', "
			       "not starting with a digit",
			       name);
	if (!strncasecmp(name, "PLUE_", 5))
		return err_set(&r->err, ERR_INVALID, "invalid_name",
			       "secret name '%.100s' must not start with PLUE_", name);
	return 0;
}

int h_secrets_list(struct req *r, struct resp *w)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT name, " SQL_TS("created_at") ", " SQL_TS("updated_at")
			      " FROM secrets WHERE repo_id = $1 ORDER BY name",
			      i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "name", db_val(res, i, 0),
						     "created_at", db_val(res, i, 1), "updated_at",
						     db_val(res, i, 2)));
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_secret_put(struct req *r, struct resp *w)
{
	const char *name = req_param(r, "name"), *value = NULL;
	int rc;
	if ((rc = name_check(r, name)) ||
	    (rc = json_str_field(r, "value", true, SECRET_MAX_VALUE, &value)))
		return rc;
	if (!*value)
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field 'value' must not be empty");
	const char *nonce, *cipher;
	secret_seal(r->arena, r->repo->id, name, value, strlen(value), &nonce, &cipher);
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO secrets (repo_id, name, nonce, ciphertext) VALUES ($1, $2, "
			      "$3, $4) ON CONFLICT (repo_id, name) DO UPDATE SET nonce = "
			      "EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now() "
			      "RETURNING (xmax = 0)",
			      i64s(r->arena, (long long)r->repo->id), name, nonce, cipher);
	if (!res)
		return r->err.code;
	bool created = db_bool(res, 0, 0);
	resp_json(w, created ? 201 : 200, json_pack("{s:s,s:b}", "name", name, "created", created));
	return 0;
}

int h_secret_delete(struct req *r, struct resp *w)
{
	const char *name = req_param(r, "name");
	int rc;
	if ((rc = name_check(r, name)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM secrets WHERE repo_id = $1 AND name = $2 RETURNING 1",
			      i64s(r->arena, (long long)r->repo->id), name);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "secret '%s' not found", name);
	w->status = 204;
	return 0;
}
