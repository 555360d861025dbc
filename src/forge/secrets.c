/* secrets.c — repository secrets: the names, setting and deleting (see
 * secrets.h); sealing is queue/secrets.c's. */
#include "forge/secrets.h"
#include "auth/auth.h"
#include "db/db.h"
#include "queue/secrets.h"

#include <string.h>
#include <strings.h>

int secret_name_check(struct forge *f, const char *name)
{
	if (!secret_name_valid(name))
		return err_set(f->err, ERR_INVALID, "invalid_name",
			       "secret name '%.100s' must be 1 to 100 of letters, digits and '_', "
			       "not starting with a digit",
			       name);
	if (!strncasecmp(name, "PLUE_", 5))
		return err_set(f->err, ERR_INVALID, "invalid_name",
			       "secret name '%.100s' must not start with PLUE_", name);
	return 0;
}

int secret_list(json_t **out, struct forge *f, const struct repo *repo)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT name, " SQL_TS("created_at")
			      " AS created_at, " SQL_TS("updated_at")
			      " AS updated_at FROM secrets WHERE repo_id = $1 "
			      "ORDER BY name",
			      arena_int(f->arena, repo->id));
	if (!res)
		return f->err->code;
	int c_name = PQfnumber(res, "name"), c_created = PQfnumber(res, "created_at"),
	    c_updated = PQfnumber(res, "updated_at");
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "name", db_val(res, i, c_name),
						     "created_at", db_val(res, i, c_created),
						     "updated_at", db_val(res, i, c_updated)));
	*out = arr;
	return 0;
}

int secret_put(bool *out, struct forge *f, const struct repo *repo, const char *name,
	       const char *value)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) || (rc = secret_name_check(f, name)))
		return rc;
	if (!*value)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'value' must not be empty");
	const char *nonce, *cipher;
	secret_seal(f->arena, repo->id, name, value, strlen(value), &nonce, &cipher);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO secrets (repo_id, name, nonce, ciphertext) VALUES ($1, $2, "
			      "$3, $4) ON CONFLICT (repo_id, name) DO UPDATE SET nonce = "
			      "EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now() "
			      "RETURNING (xmax = 0)",
			      arena_int(f->arena, repo->id), name, nonce, cipher);
	if (!res)
		return f->err->code;
	*out = db_bool(res, 0, 0);
	return 0;
}

int secret_delete(struct forge *f, const struct repo *repo, const char *name)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) || (rc = secret_name_check(f, name)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM secrets WHERE repo_id = $1 AND name = $2 RETURNING 1",
			      arena_int(f->arena, repo->id), name);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "secret '%s' not found", name);
	return 0;
}
