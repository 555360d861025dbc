/* session.c — cookie sessions: JWT encoding and checks with libjwt, the
 * auth_sessions rows behind them, CSRF tokens (session_store.h), and the
 * cookie and CSRF header on HTTP (session.h). */
#include "auth/session.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cookies larger than this are not ours. */
#define TOKEN_MAX 2048

static void hmac_sha256(unsigned char out[32], const unsigned char *key, size_t keylen,
			const char *msg)
{
	crypto_auth_hmacsha256_state st;
	if (sodium_init() < 0)
		die("cannot initialise libsodium");
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void session_jwt_key(unsigned char out[32])
{
	hmac_sha256(out, cfg.server_key, sizeof(cfg.server_key), "plue-jwt");
}

char *session_jwt_encode(const unsigned char key[32], const struct session_claims *c, int64_t iat)
{
	jwt_t *jwt = NULL;
	char *out = NULL;
	char sub[24];
	snprintf(sub, sizeof(sub), "%lld", (long long)c->uid);
	if (jwt_new(&jwt) || jwt_add_grant(jwt, "sub", sub) ||
	    jwt_add_grant_int(jwt, "sid", (long)c->sid) || jwt_add_grant_int(jwt, "iat", (long)iat) ||
	    jwt_add_grant_int(jwt, "exp", (long)c->exp) || jwt_set_alg(jwt, JWT_ALG_HS256, key, 32))
		goto done;
	out = jwt_encode_str(jwt);
done:
	jwt_free(jwt);
	return out;
}

/* The "alg" of the token's header, read before libjwt sees the token so
 * that anything but HS256 is refused by name whatever libjwt would do with
 * it. Returns a malloc'd string or NULL when the header is unreadable. */
static char *header_alg(const char *token)
{
	const char *dot = strchr(token, '.');
	if (!dot || dot == token)
		return NULL;
	size_t n = (size_t)(dot - token);
	if (sodium_init() < 0)
		die("cannot initialise libsodium");
	unsigned char *raw = xmalloc(n);
	size_t len = 0;
	char *alg = NULL;
	json_t *h = NULL;
	if (sodium_base642bin(raw, n, token, n, NULL, &len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		goto done;
	h = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	const char *a = json_string_value(json_object_get(h, "alg"));
	if (a)
		alg = xstrdup(a);
done:
	json_decref(h);
	free(raw);
	return alg;
}

int session_jwt_decode(struct session_claims *out, const unsigned char key[32], const char *token,
		       int64_t now, struct err *e)
{
	jwt_t *jwt = NULL;
	char *alg = NULL;
	int rc = 0;
	size_t n = strlen(token);
	if (n == 0 || n > TOKEN_MAX ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789-_.") != n) {
		rc = err_set(e, ERR_AUTH, "invalid_session", "session token is malformed");
		goto done;
	}
	alg = header_alg(token);
	if (!alg) {
		rc = err_set(e, ERR_AUTH, "invalid_session", "session token header is malformed");
		goto done;
	}
	if (strcmp(alg, "HS256")) {
		rc = err_set(e, ERR_AUTH, "invalid_session",
			     "session token algorithm '%.20s' is not HS256", alg);
		goto done;
	}
	if (jwt_decode(&jwt, token, key, 32) || !jwt) {
		rc = err_set(e, ERR_AUTH, "invalid_session", "session token signature is invalid");
		goto done;
	}
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		rc = err_set(e, ERR_AUTH, "invalid_session", "session token algorithm is not HS256");
		goto done;
	}
	errno = 0;
	long sid = jwt_get_grant_int(jwt, "sid");
	int sid_err = errno;
	errno = 0;
	long exp = jwt_get_grant_int(jwt, "exp");
	int exp_err = errno;
	const char *sub = jwt_get_grant(jwt, "sub");
	int64_t uid = 0;
	if (sid_err || exp_err || sid <= 0 || !sub || parse_i64(sub, 1, INT64_MAX, &uid)) {
		rc = err_set(e, ERR_AUTH, "invalid_session", "session token lacks sid, sub or exp");
		goto done;
	}
	if ((int64_t)exp <= now) {
		rc = err_set(e, ERR_AUTH, "invalid_session", "session token has expired");
		goto done;
	}
	out->sid = sid;
	out->uid = uid;
	out->exp = exp;
done:
	free(alg);
	jwt_free(jwt);
	return rc;
}

const char *session_csrf_token(struct arena *a, int64_t sid)
{
	unsigned char mac[32];
	char msg[48];
	snprintf(msg, sizeof(msg), "plue-csrf:%lld", (long long)sid);
	hmac_sha256(mac, cfg.server_key, sizeof(cfg.server_key), msg);
	size_t n = sodium_base64_ENCODED_LEN(sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = arena_alloc(a, n);
	sodium_bin2base64(s, n, mac, sizeof(mac), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

void session_cookie_clear(struct resp *w)
{
	resp_cookie(w, SESSION_COOKIE, "", 0, "Lax");
}

void session_cookie_set(struct resp *w, const char *jwt)
{
	resp_cookie(w, SESSION_COOKIE, jwt, SESSION_TTL_S, "Lax");
}

int session_open(struct session_new *out, PGconn *db, struct arena *a, struct err *e,
		 int64_t user_id, const char *method, const char *user_agent, const char *ip)
{
	/* the user's sessions that ended a month ago are of no more use */
	db_qv(db, a, NULL,
	      "DELETE FROM auth_sessions WHERE user_id = $1 AND "
	      "(expires_at < now() - interval '30 days' OR revoked_at < now() - interval '30 days')",
	      arena_int(a, (long long)user_id));
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO auth_sessions (user_id, method, expires_at, user_agent, ip) "
			      "VALUES ($1, $2, now() + make_interval(secs => $3::int), left($4, 300), $5) "
			      "RETURNING id, extract(epoch FROM expires_at)::bigint",
			      arena_int(a, (long long)user_id), method, arena_int(a, SESSION_TTL_S),
			      user_agent ? user_agent : "", ip ? ip : "");
	if (!res)
		return e->code;
	struct session_claims c = { .sid = db_int(res, 0, 0),
				    .uid = user_id,
				    .exp = db_int(res, 0, 1) };
	unsigned char key[32];
	session_jwt_key(key);
	char *jwt = session_jwt_encode(key, &c, now_unix());
	sodium_memzero(key, sizeof(key));
	if (!jwt)
		return err_set(e, ERR_INTERNAL, NULL, "cannot sign the session token");
	out->id = c.sid;
	out->jwt = arena_strdup(a, jwt);
	out->csrf = session_csrf_token(a, c.sid);
	free(jwt);
	return 0;
}

int session_resolve(struct req *r, const char *cookie)
{
	struct session_claims c;
	struct err e = { 0 };
	unsigned char key[32];
	session_jwt_key(key);
	int rc = session_jwt_decode(&c, key, cookie, now_unix(), &e);
	sodium_memzero(key, sizeof(key));
	if (rc) {
		log_debug("ignoring session cookie: %s", e.msg);
		return 0;
	}
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT u.username, u.is_admin, "
			      "  s.last_seen_at < now() - interval '1 minute' "
			      "FROM auth_sessions s JOIN users u ON u.id = s.user_id "
			      "WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL "
			      "  AND s.expires_at > now()",
			      arena_printf(r->arena, "%lld", (long long)c.sid),
			      arena_printf(r->arena, "%lld", (long long)c.uid));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1) {
		log_debug("ignoring session cookie: session %lld is not live", (long long)c.sid);
		return 0;
	}
	r->auth.via = AUTH_SESSION;
	r->auth.user_id = c.uid;
	r->auth.username = arena_strdup(r->arena, db_val(res, 0, 0));
	r->auth.is_admin = db_bool(res, 0, 1);
	r->auth.scopes = SCOPE_ALL;
	r->auth.token_id = c.sid;
	if (db_bool(res, 0, 2)) /* last activity is kept to the minute */
		db_qv(r->db, r->arena, NULL,
		      "UPDATE auth_sessions SET last_seen_at = now() WHERE id = $1",
		      arena_printf(r->arena, "%lld", (long long)c.sid));
	return 0;
}

int session_csrf_check(struct req *r)
{
	const char *got = req_header(r, SESSION_CSRF_HEADER);
	const char *want = session_csrf_token(r->arena, r->auth.token_id);
	if (!ct_str_equal(got, want))
		return err_set(&r->err, ERR_PERM, "csrf_failed",
			       "missing or invalid %s header for a cookie-authenticated request",
			       SESSION_CSRF_HEADER);
	return 0;
}

int session_revoke(PGconn *db, struct arena *a, struct err *e, int64_t sid)
{
	if (!db_qv(db, a, e,
		   "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
		   arena_printf(a, "%lld", (long long)sid)))
		return e->code;
	return 0;
}

int session_revoke_all(PGconn *db, struct arena *a, struct err *e, int64_t user_id, int *count)
{
	PGresult *res = db_qv(db, a, e,
			      "UPDATE auth_sessions SET revoked_at = now() "
			      "WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()",
			      arena_printf(a, "%lld", (long long)user_id));
	if (!res)
		return e->code;
	if (count)
		*count = atoi(PQcmdTuples(res));
	return 0;
}
