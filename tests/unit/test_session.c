/* test_session.c — the session JWT checks against the usual attacks:
 * alg "none", another algorithm (HS512 signed with the right key, an RS256
 * header), a tampered payload, an expired token, a token signed with
 * another secret, missing claims; the CSRF token's binding to its session;
 * and, against a real PostgreSQL (a private embedded cluster, or
 * PLUE_DATABASE_URL), that a revoked, expired or misattributed session row
 * turns a well-signed cookie into no session at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jwt.h>
#include <sodium.h>

#include "auth/session.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/util.h"
#include "db/db.h"

#define NOW 1700000000

static const unsigned char key[32] = "0123456789abcdef0123456789abcde";
static const unsigned char other_key[32] = "another secret, 32 bytes long!!";

static struct arena *A;

static int setup(void **state)
{
	A = arena_new();
	return sodium_init() < 0;
}

static int teardown(void **state)
{
	arena_free(A);
	return 0;
}

static const char *b64url(const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = arena_alloc(A, n);
	sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* A token built by hand: header and payload JSON, signed with HMAC-SHA256
 * under k (or with sig appended verbatim when k is NULL). */
static const char *forge(const char *header, const char *payload, const unsigned char *k,
			 const char *sig)
{
	const char *input = arena_printf(A, "%s.%s", b64url(header, strlen(header)),
					 b64url(payload, strlen(payload)));
	if (!k)
		return arena_printf(A, "%s.%s", input, sig);
	unsigned char mac[32];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, k, 32);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)input, strlen(input));
	crypto_auth_hmacsha256_final(&st, mac);
	return arena_printf(A, "%s.%s", input, b64url(mac, sizeof(mac)));
}

static const char *good_token(void)
{
	struct session_claims c = { .sid = 42, .uid = 7, .exp = NOW + 3600 };
	char *t = session_jwt_encode(key, &c, NOW);
	assert_non_null(t);
	const char *s = arena_strdup(A, t);
	free(t);
	return s;
}

static void refused(const char *token, const char *msg_part)
{
	struct session_claims c = { 0 };
	struct err e = { 0 };
	assert_int_equal(session_jwt_decode(&c, key, token, NOW, &e), ERR_AUTH);
	assert_string_equal(e.slug, "invalid_session");
	if (!strstr(e.msg, msg_part))
		fail_msg("message '%s' lacks '%s'", e.msg, msg_part);
	assert_int_equal(c.sid, 0);
}

static void test_round_trip(void **state)
{
	struct session_claims c = { 0 };
	struct err e = { 0 };
	assert_int_equal(session_jwt_decode(&c, key, good_token(), NOW, &e), 0);
	assert_int_equal(c.sid, 42);
	assert_int_equal(c.uid, 7);
	assert_int_equal(c.exp, NOW + 3600);
	/* a hand-made HS256 token with the right key is accepted too */
	const char *t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
			      "{\"sub\":\"9\",\"sid\":5,\"exp\":1700000100}", key, NULL);
	assert_int_equal(session_jwt_decode(&c, key, t, NOW, &e), 0);
	assert_int_equal(c.sid, 5);
	assert_int_equal(c.uid, 9);
}

static void test_alg_none(void **state)
{
	const char *payload = "{\"sub\":\"7\",\"sid\":42,\"exp\":1700003600}";
	refused(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, ""),
		"algorithm 'none' is not HS256");
	refused(forge("{\"alg\":\"None\"}", payload, NULL, ""), "algorithm 'None'");
	/* alg none carrying a valid-looking HS256 signature changes nothing */
	const char *t = forge("{\"alg\":\"none\"}", payload, key, NULL);
	refused(t, "algorithm 'none'");
	refused(forge("{\"typ\":\"JWT\"}", payload, key, NULL), "header is malformed");
}

static void test_other_algorithms(void **state)
{
	/* HS512 signed with the very same key: a valid signature, wrong algorithm */
	jwt_t *j = NULL;
	assert_int_equal(jwt_new(&j), 0);
	jwt_add_grant(j, "sub", "7");
	jwt_add_grant_int(j, "sid", 42);
	jwt_add_grant_int(j, "exp", NOW + 3600);
	jwt_set_alg(j, JWT_ALG_HS512, key, 32);
	char *t = jwt_encode_str(j);
	jwt_free(j);
	refused(t, "algorithm 'HS512' is not HS256");
	free(t);
	const char *payload = "{\"sub\":\"7\",\"sid\":42,\"exp\":1700003600}";
	refused(forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, key, NULL),
		"algorithm 'RS256' is not HS256");
	refused(forge("{\"alg\":\"HS384\"}", payload, key, NULL), "algorithm 'HS384'");
	refused(forge("{\"alg\":\"hs256\"}", payload, key, NULL), "algorithm 'hs256'");
}

static void test_tampered_payload(void **state)
{
	const char *t = good_token();
	const char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
	const char *evil = "{\"sub\":\"1\",\"sid\":42,\"exp\":1700003600}";
	const char *forged = arena_printf(A, "%.*s.%s%s", (int)(dot1 - t), t,
					  b64url(evil, strlen(evil)), dot2);
	refused(forged, "signature is invalid");
	/* one flipped character in the signature */
	char *flip = arena_strdup(A, t);
	size_t n = strlen(flip);
	flip[n - 2] = flip[n - 2] == 'A' ? 'B' : 'A';
	refused(flip, "signature is invalid");
	/* the signature dropped */
	refused(arena_strndup(A, t, (size_t)(dot2 - t) + 1), "signature is invalid");
}

static void test_other_secret(void **state)
{
	struct session_claims c = { .sid = 42, .uid = 7, .exp = NOW + 3600 };
	char *t = session_jwt_encode(other_key, &c, NOW);
	refused(t, "signature is invalid");
	free(t);
}

static void test_expired(void **state)
{
	struct session_claims c = { .sid = 42, .uid = 7, .exp = NOW - 1 };
	char *t = session_jwt_encode(key, &c, NOW - 100);
	refused(t, "has expired");
	free(t);
	c.exp = NOW;
	t = session_jwt_encode(key, &c, NOW - 100);
	refused(t, "has expired");
	free(t);
}

static void test_missing_claims(void **state)
{
	const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	refused(forge(h, "{\"sub\":\"7\",\"exp\":1700003600}", key, NULL), "lacks sid, sub or exp");
	refused(forge(h, "{\"sid\":42,\"exp\":1700003600}", key, NULL), "lacks sid, sub or exp");
	refused(forge(h, "{\"sub\":\"7\",\"sid\":42}", key, NULL), "lacks sid, sub or exp");
	refused(forge(h, "{\"sub\":\"x\",\"sid\":42,\"exp\":1700003600}", key, NULL), "lacks");
	refused(forge(h, "{\"sub\":\"7\",\"sid\":-1,\"exp\":1700003600}", key, NULL), "lacks");
}

static void test_garbage(void **state)
{
	refused("", "malformed");
	refused("not a jwt", "malformed");
	refused("a.b.c", "header is malformed");
	refused("....", "header is malformed");
	char big[4000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "malformed");
}

static void test_csrf_token_bound_to_session(void **state)
{
	memcpy(cfg.server_key, key, 32);
	const char *a1 = session_csrf_token(A, 1), *a2 = session_csrf_token(A, 1);
	const char *b = session_csrf_token(A, 2);
	assert_string_equal(a1, a2);
	assert_string_not_equal(a1, b);
	assert_int_equal(strlen(a1), 43);
	memcpy(cfg.server_key, other_key, 32);
	assert_string_not_equal(session_csrf_token(A, 1), a1);
}

/* ---- session rows in PostgreSQL ---- */

static PGconn *db;
static char dbdir[] = "/tmp/plue-test-session.XXXXXX";
static bool embedded;

static int db_setup(void **state)
{
	struct err e = { 0 };
	const char *url = getenv("PLUE_DATABASE_URL");
	if (url && *url) {
		db_set_conninfo(url);
	} else {
		char *ci = NULL;
		if (!mkdtemp(dbdir) || chmod(dbdir, 0755) ||
		    pg_embedded_start(dbdir, "plue", &ci, &e)) {
			fprintf(stderr, "cannot start PostgreSQL: %s\n", e.msg);
			return -1;
		}
		embedded = true;
		db_set_conninfo(ci);
		free(ci);
	}
	db = db_connect(&e);
	if (!db || db_migrate(db, &e)) {
		fprintf(stderr, "database: %s\n", e.msg);
		return -1;
	}
	memcpy(cfg.server_key, key, 32);
	return 0;
}

static int db_teardown(void **state)
{
	if (db)
		PQfinish(db);
	if (embedded) {
		pg_embedded_stop();
		char *argv[] = { "rm", "-rf", dbdir, NULL };
		pid_t p = fork();
		if (p == 0) {
			execvp("rm", argv);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	}
	return 0;
}

/* A request as the dispatcher hands it to a handler. */
static struct req *new_req(void)
{
	struct req *r = arena_alloc(A, sizeof(*r));
	r->arena = A;
	r->db = db;
	r->remote_ip = "127.0.0.1";
	return r;
}

static int64_t new_user(const char *name)
{
	struct err e = { 0 };
	PGresult *res = db_qv(db, A, &e, "INSERT INTO users (username) VALUES ($1) RETURNING id",
			      name);
	assert_non_null(res);
	return db_int(res, 0, 0);
}

/* Signs user_id in; returns the cookie's JWT, *sid the session row. */
static const char *sign_in(int64_t user_id, int64_t *sid)
{
	struct session_new s;
	struct resp w = { .arena = A };
	struct err oe = { 0 };
	assert_int_equal(session_open(&s, db, A, &oe, user_id, "password", "test", "127.0.0.1"), 0);
	session_cookie_set(&w, s.jwt);
	const char *cookie = NULL;
	for (size_t i = 0; i < w.nheaders; i++)
		if (!strcmp(w.headers[i].name, "Set-Cookie"))
			cookie = w.headers[i].value;
	assert_non_null(cookie);
	assert_true(!strncmp(cookie, "plue_session=", 13));
	assert_non_null(strstr(cookie, "; HttpOnly; SameSite=Lax"));
	const char *jwt = arena_strndup(A, cookie + 13, strcspn(cookie + 13, ";"));
	struct session_claims c;
	struct err e = { 0 };
	unsigned char jk[32];
	session_jwt_key(jk);
	assert_int_equal(session_jwt_decode(&c, jk, jwt, now_unix(), &e), 0);
	assert_int_equal(c.uid, user_id);
	assert_string_equal(jwt, s.jwt);
	assert_int_equal(c.sid, s.id);
	assert_string_equal(s.csrf, session_csrf_token(A, c.sid));
	*sid = c.sid;
	return jwt;
}

/* Resolves jwt as the cookie of a new request; the session id or 0. */
static int64_t resolve(const char *jwt)
{
	struct req *r = new_req();
	assert_int_equal(session_resolve(r, jwt), 0);
	if (r->auth.via != AUTH_SESSION) {
		assert_int_equal(r->auth.user_id, 0);
		return 0;
	}
	assert_int_equal(r->auth.scopes, SCOPE_ALL);
	return r->auth.token_id;
}

static void test_live_session(void **state)
{
	int64_t uid = new_user("live"), sid;
	const char *jwt = sign_in(uid, &sid);
	struct req *r = new_req();
	assert_int_equal(session_resolve(r, jwt), 0);
	assert_int_equal(r->auth.via, AUTH_SESSION);
	assert_int_equal(r->auth.user_id, uid);
	assert_string_equal(r->auth.username, "live");
	assert_int_equal(r->auth.token_id, sid);
	/* the CSRF check wants this session's token in the header */
	assert_int_equal(session_csrf_check(r), ERR_PERM);
	assert_string_equal(r->err.slug, "csrf_failed");
	struct kv h = { "X-CSRF-Token", session_csrf_token(A, sid + 1) };
	r->headers = &h;
	r->nheaders = 1;
	err_clear(&r->err);
	assert_int_equal(session_csrf_check(r), ERR_PERM);
	h.value = session_csrf_token(A, sid);
	assert_int_equal(session_csrf_check(r), 0);
}

static void test_revoked_session(void **state)
{
	int64_t uid = new_user("revoked"), sid;
	const char *jwt = sign_in(uid, &sid);
	assert_int_equal(resolve(jwt), sid);
	struct err e = { 0 };
	assert_int_equal(session_revoke(db, A, &e, sid), 0);
	assert_int_equal(resolve(jwt), 0); /* the JWT is still well signed and unexpired */
}

static void test_sign_out_everywhere(void **state)
{
	int64_t uid = new_user("everywhere"), other = new_user("bystander"), s1, s2, s3;
	const char *j1 = sign_in(uid, &s1), *j2 = sign_in(uid, &s2), *j3 = sign_in(other, &s3);
	struct err e = { 0 };
	int n = 0;
	assert_int_equal(session_revoke_all(db, A, &e, uid, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(resolve(j1), 0);
	assert_int_equal(resolve(j2), 0);
	assert_int_equal(resolve(j3), s3);
}

static void test_expired_row(void **state)
{
	int64_t uid = new_user("expiring"), sid;
	const char *jwt = sign_in(uid, &sid);
	struct err e = { 0 };
	assert_non_null(db_qv(db, A, &e,
			      "UPDATE auth_sessions SET expires_at = now() - interval '1 second' "
			      "WHERE id = $1",
			      arena_printf(A, "%lld", (long long)sid)));
	assert_int_equal(resolve(jwt), 0);
}

static void test_session_of_another_user(void **state)
{
	int64_t victim = new_user("victim"), mallory = new_user("mallory"), sid;
	sign_in(victim, &sid);
	/* well signed, but the row belongs to another user */
	unsigned char jk[32];
	session_jwt_key(jk);
	struct session_claims c = { .sid = sid, .uid = mallory, .exp = now_unix() + 3600 };
	char *t = session_jwt_encode(jk, &c, now_unix());
	assert_int_equal(resolve(arena_strdup(A, t)), 0);
	free(t);
	/* and an unknown row */
	c.sid = sid + 1000;
	c.uid = victim;
	t = session_jwt_encode(jk, &c, now_unix());
	assert_int_equal(resolve(arena_strdup(A, t)), 0);
	free(t);
	/* and the right row signed with the server key itself, not the
	 * derived JWT key */
	c.sid = sid;
	t = session_jwt_encode(cfg.server_key, &c, now_unix());
	assert_int_equal(resolve(arena_strdup(A, t)), 0);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_other_algorithms),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_other_secret),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_missing_claims),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_csrf_token_bound_to_session),
	};
	const struct CMUnitTest db_tests[] = {
		cmocka_unit_test(test_live_session),
		cmocka_unit_test(test_revoked_session),
		cmocka_unit_test(test_sign_out_everywhere),
		cmocka_unit_test(test_expired_row),
		cmocka_unit_test(test_session_of_another_user),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	setup(NULL);
	failed += cmocka_run_group_tests_name("session rows", db_tests, db_setup, db_teardown);
	teardown(NULL);
	return failed;
}
