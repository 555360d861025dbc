/* session_store.h — browser sessions without HTTP: an auth_sessions row
 * per signed-in browser, named by an HS256 JWT, and the CSRF token bound to
 * it. The JWT says which row; the row says whether the session is live, so
 * sign-out takes effect at once. The domain opens and revokes sessions
 * here; the cookie that carries the JWT is auth/session.h's. */
#ifndef PLUE_SESSION_STORE_H
#define PLUE_SESSION_STORE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

#define SESSION_TTL_S (30 * 24 * 3600)

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
char *session_jwt_encode(const unsigned char key[32], const struct session_claims *c, int64_t iat);

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

/* A session just opened: its auth_sessions row, the JWT naming it (for
 * the cookie) and its CSRF token; strings arena-owned. */
struct session_new {
	int64_t id;
	const char *jwt;
	const char *csrf;
};

/* Opens a session for user_id signed in by method ("password" or "siwe"):
 * inserts the auth_sessions row (user_agent and ip recorded, either may be
 * NULL; expiring after SESSION_TTL_S), forgets the user's sessions that
 * ended a month ago, and signs the JWT. Returns 0 or ERR_*. Runs inside
 * the caller's transaction if there is one. */
int session_open(struct session_new *out, PGconn *db, struct arena *a, struct err *e,
		 int64_t user_id, const char *method, const char *user_agent, const char *ip);

/* Revokes session sid (sign out). Returns 0 or ERR_*. */
int session_revoke(PGconn *db, struct arena *a, struct err *e, int64_t sid);
/* Revokes every live session of user_id (sign out everywhere); *count
 * (may be NULL) receives how many. Returns 0 or ERR_*. */
int session_revoke_all(PGconn *db, struct arena *a, struct err *e, int64_t user_id, int *count);

#endif
