/* user.c — the signed-in user's own account: profile (choosing a username),
 * personal access tokens and SSH public keys. */
#include "api/api.h"
#include "auth/auth.h"
#include "auth/sshkey.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>


static const char *uid_s(struct req *r)
{
	return i64s(r->arena, (long long)r->auth.user_id);
}

int user_json_load(struct req *r, int64_t user_id, json_t **out)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT id, username, email, eth_address, is_admin, "
			      "  " SQL_TS("created_at") ", password_hash IS NOT NULL "
			      "FROM users WHERE id = $1",
			      i64s(r->arena, (long long)user_id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "user %lld not found", (long long)user_id);
	*out = json_pack("{s:I,s:s,s:s?,s:s?,s:b,s:s,s:b}", "id", (json_int_t)db_int(res, 0, 0),
			 "username", db_val(res, 0, 1), "email", db_val(res, 0, 2), "eth_address",
			 db_val(res, 0, 3), "is_admin", db_bool(res, 0, 4), "created_at",
			 db_val(res, 0, 5), "has_password", db_bool(res, 0, 6));
	return 0;
}

/* "0x" followed by 40 hex digits, in any case. */
static bool looks_like_address(const char *s)
{
	if (strncasecmp(s, "0x", 2) || strlen(s) != 42)
		return false;
	for (const char *p = s + 2; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

int validate_account_name(struct err *e, const char *name, const char *own_address)
{
	int rc = validate_username(e, name);
	if (rc)
		return rc;
	/* such names belong to the wallet with that address: its first
	 * sign-in creates the account under it */
	if (looks_like_address(name) && !(own_address && !strcasecmp(name, own_address)))
		return err_set(e, ERR_INVALID, "invalid_name",
			       "username '%s' is reserved for the Ethereum account of that address",
			       name);
	return 0;
}

int validate_email(struct err *e, const char *email)
{
	const char *at = strchr(email, '@');
	size_t n = strlen(email);
	bool ok = n <= 254 && at && at != email && at[1] && !strchr(at + 1, '@') &&
		  strchr(at + 1, '.') && at[strlen(at) - 1] != '.';
	for (const char *p = email; ok && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ',')
			ok = false;
	if (!ok)
		return err_set(e, ERR_INVALID, "invalid_email", "email '%.100s' is not a valid address",
			       email);
	return 0;
}

int h_user_update(struct req *r, struct resp *w)
{
	const char *username = NULL, *email = NULL;
	int rc;
	if ((rc = json_str_field(r, "username", false, 100, &username)) ||
	    (rc = json_str_field(r, "email", false, 254, &email)))
		return rc;
	PGresult *cur = db_qv(r->db, r->arena, &r->err,
			      "SELECT username, email, eth_address FROM users WHERE id = $1", uid_s(r));
	if (!cur)
		return r->err.code;
	if (PQntuples(cur) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "user '%s' not found", r->auth.username);
	if (username && (rc = validate_account_name(&r->err, username, db_val(cur, 0, 2))))
		return rc;
	if (email && *email && (rc = validate_email(&r->err, email)))
		return rc;
	if (!username)
		username = db_val(cur, 0, 0);
	if (!email)
		email = db_val(cur, 0, 1);
	if (!db_qv(r->db, r->arena, &r->err, "UPDATE users SET username = $2, email = $3 WHERE id = $1",
		   uid_s(r), username, email && *email ? email : NULL)) {
		if (r->err.code == ERR_EXISTS) {
			err_clear(&r->err);
			return err_set(&r->err, ERR_EXISTS, "username_taken", "username '%s' is taken",
				       username);
		}
		return r->err.code;
	}
	if (strcmp(username, db_val(cur, 0, 0)))
		log_info("user '%s' is now '%s'", db_val(cur, 0, 0), username);
	json_t *user;
	if ((rc = user_json_load(r, r->auth.user_id, &user)))
		return rc;
	resp_json(w, 200, user);
	return 0;
}

/* ---- personal access tokens ---- */

int h_token_list(struct req *r, struct resp *w)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT id, name, scopes, " SQL_TS("created_at") ", "
			      "  " SQL_TS("last_used_at") ", " SQL_TS("expires_at") ", "
			      "  expires_at IS NOT NULL AND expires_at <= now() "
			      "FROM access_tokens WHERE user_id = $1 ORDER BY id",
			      uid_s(r));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(
			arr, json_pack("{s:I,s:s,s:o,s:s,s:s?,s:s?,s:b}", "id",
				       (json_int_t)db_int(res, i, 0), "name", db_val(res, i, 1), "scopes",
				       scopes_json(scopes_from_pg(db_val(res, i, 2))), "created_at",
				       db_val(res, i, 3), "last_used_at", db_val(res, i, 4),
				       "expires_at", db_val(res, i, 5), "expired", db_bool(res, i, 6)));
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_token_create(struct req *r, struct resp *w)
{
	const char *name = NULL, *expires = NULL;
	unsigned scopes = 0;
	int rc;
	if ((rc = json_str_field(r, "name", true, 100, &name)) ||
	    (rc = json_str_field(r, "expires_at", false, 64, &expires)))
		return rc;
	if (!*name)
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field 'name' may not be empty");
	json_t *sj = json_object_get(r->json, "scopes");
	if (!sj || json_is_null(sj))
		return err_set(&r->err, ERR_INVALID, "missing_field", "field 'scopes' is required");
	if ((rc = scopes_parse_json(sj, &scopes, &r->err)))
		return rc;
	/* a token cannot mint a token stronger than itself */
	if (r->auth.via == AUTH_TOKEN && (scopes & ~r->auth.scopes)) {
		json_t *extra = scopes_json(scopes & ~r->auth.scopes);
		const char *first = json_string_value(json_array_get(extra, 0));
		rc = err_set(&r->err, ERR_PERM, "insufficient_scope",
			     "this token lacks the %s scope it would grant", first);
		json_decref(extra);
		return rc;
	}
	const char *exp_sql = NULL;
	int64_t t = 0;
	if (expires) {
		if (time_parse(&t, expires))
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "expires_at '%.64s' is not an RFC 3339 time or a date", expires);
		if (t <= now_unix())
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "expires_at '%.64s' is in the past", expires);
		time_t tt = (time_t)t;
		struct tm tm;
		char buf[40];
		gmtime_r(&tt, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S+00", &tm);
		exp_sql = arena_strdup(r->arena, buf);
	}
	if (r->auth.via == AUTH_TOKEN) {
		/* nor one that outlives it: no expiry means the parent's */
		PGresult *pr = db_qv(r->db, r->arena, &r->err,
				     "SELECT floor(extract(epoch FROM expires_at))::bigint, "
				     "  expires_at::text, " SQL_TS("expires_at") " "
				     "FROM access_tokens WHERE id = $1 AND expires_at IS NOT NULL",
				     i64s(r->arena, (long long)r->auth.token_id));
		if (!pr)
			return r->err.code;
		if (PQntuples(pr) == 1) {
			if (!expires)
				exp_sql = arena_strdup(r->arena, db_val(pr, 0, 1));
			else if (t > db_int(pr, 0, 0))
				return err_set(&r->err, ERR_INVALID, "invalid_field",
					       "expires_at '%.64s' is later than this token's own "
					       "expiry '%s'",
					       expires, db_val(pr, 0, 2));
		}
	}
	const char *secret;
	int64_t id;
	if ((rc = token_create(r->db, r->arena, &r->err, r->auth.user_id, name, scopes, exp_sql,
			       &secret, &id)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " SQL_TS("created_at") ", " SQL_TS("expires_at") " "
			      "FROM access_tokens WHERE id = $1",
			      i64s(r->arena, (long long)id));
	if (!res)
		return r->err.code;
	log_info("user '%s' created token %lld", r->auth.username, (long long)id);
	resp_header(w, "Location", arena_printf(r->arena, "/api/user/tokens/%lld", (long long)id));
	resp_json(w, 201,
		  json_pack("{s:I,s:s,s:o,s:s,s:s?,s:n,s:s}", "id", (json_int_t)id, "name", name,
			    "scopes", scopes_json(scopes), "created_at", db_val(res, 0, 0),
			    "expires_at", db_val(res, 0, 1), "last_used_at", "token", secret));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

/* The :id of a /api/user/... route, or ERR_NOTFOUND naming what. */
static int id_param(struct req *r, const char *what, const char **out)
{
	const char *s = req_param(r, "id");
	int64_t v;
	if (!s || parse_i64(s, 1, INT64_MAX, &v))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "%s '%.40s' not found", what, s ? s : "");
	*out = s;
	return 0;
}

int h_token_delete(struct req *r, struct resp *w)
{
	const char *id;
	int rc;
	if ((rc = id_param(r, "token", &id)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM access_tokens WHERE id = $1 AND user_id = $2 RETURNING id", id,
			      uid_s(r));
	if (!res)
		return r->err.code;
	if (PQntuples(res) == 0)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "token '%s' not found", id);
	log_info("user '%s' deleted token %s", r->auth.username, id);
	w->status = 204;
	return 0;
}

/* ---- SSH keys ---- */

static json_t *key_json(const PGresult *res, int i)
{
	return json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:s?}", "id", (json_int_t)db_int(res, i, 0),
			 "name", db_val(res, i, 1), "type", db_val(res, i, 2), "bits",
			 (int)db_int(res, i, 3), "fingerprint", db_val(res, i, 4), "key",
			 db_val(res, i, 5), "created_at", db_val(res, i, 6), "last_used_at",
			 db_val(res, i, 7));
}

#define KEY_COLUMNS                                                                         \
	"id, name, type, bits, fingerprint, public_key, " SQL_TS("created_at") ", " \
	SQL_TS("last_used_at")

int h_key_list(struct req *r, struct resp *w)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " KEY_COLUMNS " FROM ssh_keys WHERE user_id = $1 ORDER BY id",
			      uid_s(r));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, key_json(res, i));
	resp_json(w, 200, arr);
	return 0;
}

int h_key_create(struct req *r, struct resp *w)
{
	const char *text = NULL, *name = NULL;
	int rc;
	if ((rc = json_str_field(r, "key", true, SSHKEY_MAX_LEN, &text)) ||
	    (rc = json_str_field(r, "name", false, 100, &name)))
		return rc;
	struct sshkey k;
	if ((rc = sshkey_parse(&k, r->arena, text, &r->err)))
		return rc;
	if (!name || !*name) {
		/* the comment, cut to 100 bytes on a UTF-8 character boundary */
		size_t n = strlen(k.comment);
		if (n > 100)
			for (n = 100; n && ((unsigned char)k.comment[n] & 0xc0) == 0x80; n--)
				;
		name = n ? arena_strndup(r->arena, k.comment, n) : k.type;
	}
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO ssh_keys (user_id, name, type, bits, fingerprint, public_key) "
			      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " KEY_COLUMNS,
			      uid_s(r), name, k.type, i64s(r->arena, k.bits), k.fingerprint,
			      k.public_key);
	if (!res) {
		if (r->err.code == ERR_EXISTS) {
			err_clear(&r->err);
			return err_set(&r->err, ERR_EXISTS, "key_exists", "key '%s' is already in use",
				       k.fingerprint);
		}
		return r->err.code;
	}
	log_info("user '%s' added %s key %s", r->auth.username, k.type, k.fingerprint);
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/user/keys/%s", db_val(res, 0, 0)));
	resp_json(w, 201, key_json(res, 0));
	return 0;
}

int h_key_delete(struct req *r, struct resp *w)
{
	const char *id;
	int rc;
	if ((rc = id_param(r, "key", &id)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2 RETURNING fingerprint",
			      id, uid_s(r));
	if (!res)
		return r->err.code;
	if (PQntuples(res) == 0)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "key '%s' not found", id);
	log_info("user '%s' deleted key %s", r->auth.username, db_val(res, 0, 0));
	w->status = 204;
	return 0;
}
