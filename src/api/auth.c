/* auth.c — signing in and out: Sign-In with Ethereum (nonce, verify),
 * password registration and login with throttling, sign-out of one session
 * or of all, and "who am I". Sessions themselves live in auth/session.c. */
#include "api/api.h"
#include "auth/auth.h"
#include "auth/eth.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/session.h"
#include "auth/siwe.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Sign-in attempts per window, per client address and account and per
 * client address; a successful one is given back. There is no limit per
 * account alone: anyone could use it to lock its owner out. */
#define LOGIN_WINDOW_S (15 * 60)
#define LOGIN_MAX_PER_ACCOUNT 10
#define LOGIN_MAX_PER_IP 50
/* Anonymous writes per client address. */
#define NONCE_WINDOW_S (10 * 60)
#define NONCE_MAX_PER_IP 200
#define REGISTER_WINDOW_S (60 * 60)
#define REGISTER_MAX_PER_IP 30

#define NONCE_TTL "10 minutes"
/* Clock difference tolerated between a wallet and this server. */
#define SIWE_SKEW_S 60

/* Sign-in bodies must be sent as application/json: a cross-site HTML form
 * cannot send that type without a CORS preflight this server never
 * answers, which stops an attacker from signing a victim into the
 * attacker's account (login CSRF). */
static int require_json_type(struct req *r)
{
	const char *ct = req_header(r, "Content-Type");
	size_t n = strlen("application/json");
	if (!ct || strncasecmp(ct, "application/json", n) ||
	    (ct[n] && ct[n] != ';' && ct[n] != ' '))
		return err_set(&r->err, ERR_INVALID, "invalid_content_type",
			       "sign-in requests must have Content-Type application/json");
	return 0;
}

static const char *client_ip(const struct req *r)
{
	return r->remote_ip ? r->remote_ip : "?";
}

/* Counts one attempt for key, or refuses with 429 and Retry-After when
 * key is at its limit (counting and checking are one step, so parallel
 * requests cannot all slip under the limit). */
static int throttle(struct req *r, struct resp *w, const char *key, int limit, int window_s,
		    const char *what)
{
	int retry = 0;
	int rc = ratelimit_take(r->db, r->arena, &r->err, key, limit, window_s, &retry);
	if (rc != ERR_RATELIMIT)
		return rc;
	resp_header(w, "Retry-After", arena_printf(r->arena, "%d", retry));
	return err_set(&r->err, ERR_RATELIMIT, NULL, "too many %s; try again in %d seconds", what,
		       retry);
}

/* The sign-in answer: the user, the session's CSRF token, no caching. */
static int signed_in(struct req *r, struct resp *w, int status, int64_t uid, const char *csrf)
{
	json_t *user;
	int rc = user_json_load(r, uid, &user);
	if (rc)
		return rc;
	resp_json(w, status, json_pack("{s:o,s:s}", "user", user, "csrf_token", csrf));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

/* ---- Sign-In with Ethereum ---- */

/* host[:port] of the public URL: what a SIWE message's domain must be. */
static const char *public_host(struct arena *a)
{
	const char *u = cfg.public_url ? cfg.public_url : "";
	const char *p = strstr(u, "://");
	p = p ? p + 3 : u;
	return arena_strndup(a, p, strcspn(p, "/?#"));
}

/* scheme://host[:port] of the public URL: what a SIWE message's URI must
 * start with. */
static const char *public_origin(struct arena *a)
{
	const char *u = cfg.public_url ? cfg.public_url : "";
	const char *p = strstr(u, "://");
	if (!p)
		return arena_strdup(a, u);
	return arena_strndup(a, u, (size_t)(p + 3 - u) + strcspn(p + 3, "/?#"));
}

int h_siwe_nonce(struct req *r, struct resp *w)
{
	const char *key = arena_printf(r->arena, "siwe-nonce:%s", client_ip(r));
	int rc;
	if ((rc = throttle(r, w, key, NONCE_MAX_PER_IP, NONCE_WINDOW_S,
			   "sign-in attempts from this address")))
		return rc;
	/* hex is alphanumeric, as EIP-4361 requires of a nonce */
	unsigned char raw[16];
	char nonce[33];
	random_bytes(raw, sizeof(raw));
	hex_encode(nonce, raw, sizeof(raw));
	/* used and expired nonces are kept a day so a late replay is told why */
	db_query(r->db, r->arena, NULL,
		 "DELETE FROM siwe_nonces WHERE expires_at < now() - interval '1 day'", 0, NULL);
	ratelimit_prune(r->db, r->arena);
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO siwe_nonces (nonce, expires_at, ip) "
			      "VALUES ($1, now() + interval '" NONCE_TTL "', $2) "
			      "RETURNING " SQL_TS("expires_at"),
			      nonce, client_ip(r));
	if (!res)
		return r->err.code;
	resp_json(w, 200,
		  json_pack("{s:s,s:s,s:s,s:s}", "nonce", nonce, "expires_at", db_val(res, 0, 0),
			    "domain", public_host(r->arena), "uri", public_origin(r->arena)));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

/* Consumes nonce (in the caller's transaction): exactly one request can
 * ever do so. When it cannot, says why. */
static int nonce_consume(struct req *r, const char *nonce)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "UPDATE siwe_nonces SET used_at = now() "
			      "WHERE nonce = $1 AND used_at IS NULL AND expires_at > now() "
			      "RETURNING nonce",
			      nonce);
	if (!res)
		return r->err.code;
	if (PQntuples(res) == 1)
		return 0;
	res = db_qv(r->db, r->arena, &r->err,
		    "SELECT used_at IS NOT NULL FROM siwe_nonces WHERE nonce = $1", nonce);
	if (!res)
		return r->err.code;
	if (PQntuples(res) == 0)
		return err_set(&r->err, ERR_AUTH, "siwe_unknown_nonce",
			       "nonce '%.64s' was not issued by this server", nonce);
	if (db_bool(res, 0, 0))
		return err_set(&r->err, ERR_AUTH, "siwe_nonce_used",
			       "nonce '%.64s' was already used", nonce);
	return err_set(&r->err, ERR_AUTH, "siwe_nonce_expired", "nonce '%.64s' has expired", nonce);
}

int h_siwe_verify(struct req *r, struct resp *w)
{
	const char *text = NULL, *sig = NULL;
	int rc;
	if ((rc = require_json_type(r)) ||
	    (rc = json_str_field(r, "message", true, 2 * SIWE_MAX_LEN, &text)) ||
	    (rc = json_str_field(r, "signature", true, 200, &sig)))
		return rc;
	size_t len = strlen(text);
	struct siwe_msg m;
	if ((rc = siwe_parse(&m, r->arena, text, len, &r->err)))
		return rc;
	const char *origin = public_origin(r->arena);
	if ((rc = siwe_check(&m, public_host(r->arena), origin, now_unix(), SIWE_SKEW_S, &r->err)))
		return rc;
	/* the URI must be this origin itself or a path under it, not
	 * "http://host:80" matching "http://host:8080" */
	char after = m.uri[strlen(origin)];
	if (after && after != '/' && after != '?' && after != '#')
		return err_set(&r->err, ERR_AUTH, "siwe_bad_uri",
			       "siwe message uri '%.64s' is not under '%s'", m.uri, origin);
	unsigned char claimed[20], signer[20];
	if ((rc = eth_address_parse(claimed, m.address, true, &r->err)) ||
	    (rc = eth_personal_recover(signer, text, len, sig, &r->err)))
		return rc;
	if (!ct_equal(claimed, signer, sizeof(signer))) {
		char who[43];
		eth_address_checksum(who, signer);
		return err_set(&r->err, ERR_AUTH, "siwe_bad_signature",
			       "signature was made by '%s', not by '%s'", who, m.address);
	}
	char address[43];
	eth_address_checksum(address, claimed);

	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = nonce_consume(r, m.nonce)))
		goto fail;
	/* first sign-in creates the account, named by its address until the
	 * user picks a name (PATCH /api/user) */
	char lower[43];
	for (size_t i = 0; i < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)address[i]);
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO users (username, eth_address) VALUES ($1, $2) "
			      "ON CONFLICT (eth_address) DO UPDATE SET eth_address = EXCLUDED.eth_address "
			      "RETURNING id, xmax = 0",
			      lower, address);
	if (!res) {
		if (r->err.code == ERR_EXISTS) {
			err_clear(&r->err);
			err_set(&r->err, ERR_EXISTS, "username_taken",
				"username '%s' is taken by another account", lower);
		}
		rc = r->err.code;
		goto fail;
	}
	int64_t uid = db_int(res, 0, 0);
	bool created = db_bool(res, 0, 1);
	const char *csrf;
	if ((rc = session_create(r, w, uid, "siwe", &csrf)) || (rc = db_commit(r->db, &r->err)))
		goto fail;
	if (created)
		log_info("account %s created by sign-in with ethereum", address);
	return signed_in(r, w, created ? 201 : 200, uid, csrf);
fail:
	db_rollback(r->db);
	return rc;
}

/* ---- passwords ---- */

int h_register(struct req *r, struct resp *w)
{
	const char *username = NULL, *password = NULL, *email = NULL;
	int rc;
	/* every attempt counts, refused ones too: creating accounts in bulk
	 * is what the limit is for */
	const char *key = arena_printf(r->arena, "register:%s", client_ip(r));
	if ((rc = require_json_type(r)) ||
	    (rc = throttle(r, w, key, REGISTER_MAX_PER_IP, REGISTER_WINDOW_S,
			   "registrations from this address")))
		return rc;
	if ((rc = json_str_field(r, "username", true, 100, &username)) ||
	    (rc = json_str_field(r, "password", true, PASSWORD_MAX_LEN, &password)) ||
	    (rc = json_str_field(r, "email", false, 254, &email)))
		return rc;
	if ((rc = validate_account_name(&r->err, username, NULL)) ||
	    (rc = password_validate(password, &r->err)) ||
	    (email && *email && (rc = validate_email(&r->err, email))))
		return rc;
	char hash[PASSWORD_HASH_MAX];
	if ((rc = password_hash(hash, password, &r->err)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO users (username, email, password_hash) VALUES ($1, $2, $3) "
			      "RETURNING id",
			      username, email && *email ? email : NULL, hash);
	if (!res) {
		if (r->err.code == ERR_EXISTS) {
			err_clear(&r->err);
			err_set(&r->err, ERR_EXISTS, "username_taken", "username '%s' is taken",
				username);
		}
		rc = r->err.code;
		goto fail;
	}
	int64_t uid = db_int(res, 0, 0);
	const char *csrf;
	if ((rc = session_create(r, w, uid, "password", &csrf)) || (rc = db_commit(r->db, &r->err)))
		goto fail;
	log_info("account '%s' registered", username);
	return signed_in(r, w, 201, uid, csrf);
fail:
	db_rollback(r->db);
	return rc;
}

int h_login(struct req *r, struct resp *w)
{
	const char *username = NULL, *password = NULL;
	int rc;
	if ((rc = require_json_type(r)) ||
	    (rc = json_str_field(r, "username", true, 100, &username)) ||
	    (rc = json_str_field(r, "password", true, PASSWORD_MAX_LEN, &password)))
		return rc;
	const char *ip_key = arena_printf(r->arena, "login-ip:%s", client_ip(r));
	const char *user_key = arena_printf(r->arena, "login-user:%s:%s", client_ip(r), username);
	for (char *p = (char *)user_key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* the attempt is counted before the password is checked: parallel
	 * guesses cannot outrun the count */
	if ((rc = throttle(r, w, user_key, LOGIN_MAX_PER_ACCOUNT, LOGIN_WINDOW_S,
			   "failed sign-ins for this account from this address")))
		return rc;
	if ((rc = throttle(r, w, ip_key, LOGIN_MAX_PER_IP, LOGIN_WINDOW_S,
			   "failed sign-ins from this address"))) {
		ratelimit_refund(r->db, r->arena, user_key, LOGIN_MAX_PER_ACCOUNT);
		return rc;
	}
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT id, password_hash FROM users WHERE lower(username) = lower($1)",
			      username);
	if (!res)
		return r->err.code;
	const char *hash = PQntuples(res) == 1 ? db_val(res, 0, 1) : NULL;
	/* unknown users and accounts without a password cost the same time
	 * and get the same answer as a wrong password */
	if (!password_verify(hash, password)) {
		ratelimit_prune(r->db, r->arena);
		/* the name is the client's text: logged only when it is a name */
		struct err ignored = { 0 };
		log_info("failed sign-in for '%s' from %s",
			 validate_username(&ignored, username) ? "(not a username)" : username,
			 client_ip(r));
		return err_set(&r->err, ERR_AUTH, "invalid_credentials",
			       "incorrect username or password");
	}
	/* only failures count */
	int64_t uid = db_int(res, 0, 0);
	ratelimit_reset(r->db, r->arena, user_key);
	ratelimit_refund(r->db, r->arena, ip_key, LOGIN_MAX_PER_IP);
	const char *csrf;
	if ((rc = session_create(r, w, uid, "password", &csrf)))
		return rc;
	return signed_in(r, w, 200, uid, csrf);
}

/* ---- sessions ---- */

int h_logout(struct req *r, struct resp *w)
{
	int rc;
	if (r->auth.via != AUTH_SESSION)
		return err_set(&r->err, ERR_INVALID, "not_a_session",
			       "sign-out ends browser sessions; revoke a token with "
			       "DELETE /api/user/tokens/ID");
	if ((rc = session_revoke(r->db, r->arena, &r->err, r->auth.token_id)))
		return rc;
	session_cookie_clear(w);
	w->status = 204;
	return 0;
}

int h_logout_all(struct req *r, struct resp *w)
{
	int n = 0, rc;
	if ((rc = session_revoke_all(r->db, r->arena, &r->err, r->auth.user_id, &n)))
		return rc;
	if (r->auth.via == AUTH_SESSION)
		session_cookie_clear(w);
	log_info("'%s' signed out of %d sessions", r->auth.username, n);
	resp_json(w, 200, json_pack("{s:i}", "revoked_sessions", n));
	return 0;
}

int h_auth_me(struct req *r, struct resp *w)
{
	json_t *user;
	int rc = user_json_load(r, r->auth.user_id, &user);
	if (rc)
		return rc;
	json_t *j = json_pack("{s:o,s:s}", "user", user, "via",
			      r->auth.via == AUTH_SESSION ? "session" : "token");
	/* a session can do all its user can; a token, what its scopes allow */
	if (r->auth.via == AUTH_SESSION)
		json_object_set_new(j, "csrf_token",
				    json_string(session_csrf_token(r->arena, r->auth.token_id)));
	else
		json_object_set_new(j, "scopes", scopes_json(r->auth.scopes));
	resp_json(w, 200, j);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}
