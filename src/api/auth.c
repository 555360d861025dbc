/* auth.c — signing in and out: Sign-In with Ethereum (nonce, verify),
 * password registration and login, sign-out of one session or of all, and
 * "who am I". The rules, limits and rows are the domain's
 * (forge/users.h); this file reads the request, sets the session cookie
 * and Retry-After, and writes the JSON. */
#include "api/api.h"
#include "auth/auth.h"
#include "auth/password.h"
#include "auth/session.h"
#include "auth/siwe.h"
#include "forge/users.h"

#include <string.h>
#include <strings.h>

/* Sign-in bodies must be sent as application/json: a cross-site HTML form
 * cannot send that type without a CORS preflight this server never
 * answers, which stops an attacker from signing a victim into the
 * attacker's account (login CSRF). */
static int require_json_type(struct req *r)
{
	const char *ct = req_header(r, "Content-Type");
	size_t n = strlen("application/json");
	if (!ct || strncasecmp(ct, "application/json", n) || (ct[n] && ct[n] != ';' && ct[n] != ' '))
		return err_set(&r->err, ERR_INVALID, "invalid_content_type",
			       "sign-in requests must have Content-Type application/json");
	return 0;
}

/* A refused attempt: a rate limit's Retry-After. */
static int refused(struct resp *w, struct req *r, int rc, int retry_after)
{
	if (rc == ERR_RATELIMIT)
		resp_header(w, "Retry-After", arena_printf(r->arena, "%d", retry_after));
	return rc;
}

/* The sign-in answer: the session cookie, the user, the session's CSRF
 * token, no caching. */
static int signed_in(struct req *r, struct resp *w, int status, const struct user_signin *s)
{
	json_t *user;
	session_cookie_set(w, s->session.jwt);
	int rc = user_json_load(&user, FORGE(r), s->user_id);
	if (rc)
		return rc;
	resp_json(w, status, json_pack("{s:o,s:s}", "user", user, "csrf_token", s->session.csrf));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

/* ---- Sign-In with Ethereum ---- */

int h_siwe_nonce(struct req *r, struct resp *w)
{
	struct user_client c = api_client(r);
	json_t *nonce;
	int retry = 0;
	int rc = user_siwe_nonce(&nonce, &retry, FORGE(r), &c);
	if (rc)
		return refused(w, r, rc, retry);
	/* ?address=0x..&chain_id=N: the message too, prepared for a wallet */
	const char *address = req_query(r, "address");
	if (address && (rc = user_siwe_message(nonce, FORGE(r), address, req_query(r, "chain_id")))) {
		json_decref(nonce);
		return rc;
	}
	resp_json(w, 200, nonce);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_siwe_verify(struct req *r, struct resp *w)
{
	const char *text = NULL, *sig = NULL;
	struct user_client c = api_client(r);
	struct user_signin s;
	int rc;
	if ((rc = require_json_type(r)) ||
	    (rc = json_str_field(r, "message", true, 2 * SIWE_MAX_LEN, &text)) ||
	    (rc = json_str_field(r, "signature", true, 200, &sig)) ||
	    (rc = user_siwe_signin(&s, FORGE(r), text, sig, &c)))
		return rc;
	return signed_in(r, w, s.created ? 201 : 200, &s);
}

/* ---- passwords ---- */

int h_register(struct req *r, struct resp *w)
{
	const char *username = NULL, *password = NULL, *email = NULL;
	struct user_client c = api_client(r);
	struct user_signin s;
	int retry = 0;
	int rc;
	/* every attempt counts, refused ones too: the limit is counted before
	 * the body is looked at */
	if ((rc = require_json_type(r)))
		return rc;
	if ((rc = user_register_throttle(&retry, FORGE(r), &c)))
		return refused(w, r, rc, retry);
	if ((rc = json_str_field(r, "username", true, 100, &username)) ||
	    (rc = json_str_field(r, "password", true, PASSWORD_MAX_LEN, &password)) ||
	    (rc = json_str_field(r, "email", false, 254, &email)) ||
	    (rc = user_register(&s, FORGE(r), username, password, email, &c)))
		return rc;
	return signed_in(r, w, 201, &s);
}

int h_login(struct req *r, struct resp *w)
{
	const char *username = NULL, *password = NULL;
	struct user_client c = api_client(r);
	struct user_signin s;
	int rc;
	if ((rc = require_json_type(r)) ||
	    (rc = json_str_field(r, "username", true, 100, &username)) ||
	    (rc = json_str_field(r, "password", true, PASSWORD_MAX_LEN, &password)))
		return rc;
	if ((rc = user_login(&s, FORGE(r), username, password, &c)))
		return refused(w, r, rc, s.retry_after);
	return signed_in(r, w, 200, &s);
}

/* ---- sessions ---- */

int h_logout(struct req *r, struct resp *w)
{
	int rc = user_signout(FORGE(r));
	if (rc)
		return rc;
	session_cookie_clear(w);
	w->status = 204;
	return 0;
}

int h_logout_all(struct req *r, struct resp *w)
{
	int n = 0;
	int rc = user_signout_all(&n, FORGE(r));
	if (rc)
		return rc;
	if (r->auth.via == AUTH_SESSION)
		session_cookie_clear(w);
	resp_json(w, 200, json_pack("{s:i}", "revoked_sessions", n));
	return 0;
}

int h_auth_me(struct req *r, struct resp *w)
{
	json_t *user;
	int rc = user_json_load(&user, FORGE(r), r->auth.user_id);
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
