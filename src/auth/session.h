/* session.h — browser sessions: an auth_sessions row per signed-in browser,
 * named by an HS256 JWT in the plue_session cookie, and the CSRF token bound
 * to it. The JWT says which row; the row says whether the session is live,
 * so sign-out takes effect at once. */
#ifndef PLUE_SESSION_H
#define PLUE_SESSION_H

#include <stdint.h>

#include "http/http.h"

#define SESSION_COOKIE "plue_session"
#define SESSION_TTL_S (30 * 24 * 3600)
#define SESSION_CSRF_HEADER "X-CSRF-Token"

/* What a session JWT carries: the auth_sessions row ("sid"), its user
 * ("sub") and the expiry ("exp", unix seconds). */
struct session_claims {
	int64_t sid;
	int64_t uid;
	int64_t exp;
};

/* The key session JWTs are signed with: HMAC-SHA256(cfg.server_key,
 * "plue-jwt"), so the server key itself never signs anything directly. */
void session_jwt_key(unsigned char out[32]);

/* Encodes c as a JWT with header {"alg":"HS256","typ":"JWT"}, signed with
 * the 32-byte key, issued at iat. Returns a string the caller frees, or
 * NULL if libjwt fails. */
char *session_jwt_encode(const unsigned char key[32], const struct session_claims *c,
			 int64_t iat);

/* Checks token and fills *out: the signature under key, the algorithm
 * (exactly HS256: "none", HS384/512, RS*, ES* are refused whatever their
 * signature), exp later than now, and positive sid and sub. Returns 0, or
 * ERR_AUTH with slug "invalid_session" and a message saying which check
 * failed. Touches no database: whether the row is live is
 * session_resolve's question. */
int session_jwt_decode(struct session_claims *out, const unsigned char key[32], const char *token,
		       int64_t now, struct err *e);

/* The CSRF token of session sid: unpadded base64url of
 * HMAC-SHA256(cfg.server_key, "plue-csrf:" sid), arena-owned. */
const char *session_csrf_token(struct arena *a, int64_t sid);

/* A new session for user_id signed in by method ("password" or "siwe"):
 * inserts the auth_sessions row (user agent and IP from r), sets the cookie
 * on w (HttpOnly, SameSite=Lax, Path=/, Secure when cfg.public_url is
 * https). *csrf receives the session's CSRF token (arena-owned). Returns 0
 * or ERR_*. Runs inside the caller's transaction if there is one. */
int session_create(struct req *r, struct resp *w, int64_t user_id, const char *method,
		   const char **csrf);

/* Resolves the plue_session cookie value into r->auth (via AUTH_SESSION,
 * scopes SCOPE_ALL, token_id = the session id) when its JWT checks out and
 * its row is neither revoked nor expired. A cookie that does not check out
 * leaves r->auth anonymous and returns 0: browsers send cookies whether
 * or not they are still good, and a stale one must not lock its owner out
 * of public pages or of signing in again. Returns ERR_* only when the
 * database fails. */
int session_resolve(struct req *r, const char *cookie);

/* For a cookie-authenticated request: 0 when the X-CSRF-Token header
 * equals the session's token (constant-time), else ERR_PERM with slug
 * "csrf_failed". */
int session_csrf_check(struct req *r);

/* Revokes session sid (sign out). Returns 0 or ERR_*. */
int session_revoke(PGconn *db, struct arena *a, struct err *e, int64_t sid);
/* Revokes every live session of user_id (sign out everywhere); *count
 * (may be NULL) receives how many. Returns 0 or ERR_*. */
int session_revoke_all(PGconn *db, struct arena *a, struct err *e, int64_t user_id, int *count);

/* Sets a cookie on w that makes the browser forget its session. */
void session_cookie_clear(struct resp *w);

#endif
