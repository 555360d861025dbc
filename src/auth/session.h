/* session.h — browser sessions over HTTP: the plue_session cookie that
 * carries a session's JWT, resolving it into a request's caller, and the
 * X-CSRF-Token check. The sessions themselves (rows, JWTs, CSRF tokens,
 * revocation), which need no HTTP, are in auth/session_store.h. */
#ifndef PLUE_SESSION_H
#define PLUE_SESSION_H

#include <stdint.h>

#include "auth/session_store.h"
#include "http/http.h"

#define SESSION_COOKIE "plue_session"
#define SESSION_CSRF_HEADER "X-CSRF-Token"

/* Sets the plue_session cookie carrying jwt (session_open's) on w:
 * HttpOnly, SameSite=Lax, Path=/, Max-Age SESSION_TTL_S, Secure when
 * cfg.public_url is https. */
void session_cookie_set(struct resp *w, const char *jwt);

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

/* Sets a cookie on w that makes the browser forget its session. */
void session_cookie_clear(struct resp *w);

#endif
