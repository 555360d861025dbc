/* test_router.c — route matching, URL decoding, request helpers, and the
 * validators for names, refs and paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/api.h"
#include "base/config.h"

static int h_a(struct req *r, struct resp *w)
{
	(void)r;
	(void)w;
	return 0;
}
static int h_b(struct req *r, struct resp *w)
{
	(void)r;
	(void)w;
	return 0;
}
static int h_c(struct req *r, struct resp *w)
{
	(void)r;
	(void)w;
	return 0;
}
static int h_d(struct req *r, struct resp *w)
{
	(void)r;
	(void)w;
	return 0;
}

static const struct route table[] = {
	{ HTTP_GET, "/api/health", h_a, 0 },
	{ HTTP_POST, "/api/repos", h_b, 0 },
	{ HTTP_GET | HTTP_DELETE, "/api/repos/:owner/:repo", h_b, 0 },
	{ HTTP_GET, "/api/:owner/:repo/tree/:sha/*path", h_c, 0 },
	{ HTTP_GET, "/:owner/:repo.git/info/refs", h_d, 0 },
	{ 0 },
};

static struct req *mkreq(struct arena *a, enum http_method m, const char *path)
{
	struct req *r = arena_alloc(a, sizeof(*r));
	r->arena = a;
	r->method = m;
	r->path = path;
	return r;
}

static void test_match(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	const struct route *rt;
	unsigned allowed;
	struct req *r = mkreq(a, HTTP_GET, "/api/health");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);
	assert_ptr_equal(rt->handler, h_a);
	r = mkreq(a, HTTP_HEAD, "/api/health");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);

	r = mkreq(a, HTTP_DELETE, "/api/repos/alice/my%20repo");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);
	assert_string_equal(req_param(r, "owner"), "alice");
	assert_string_equal(req_param(r, "repo"), "my repo");

	r = mkreq(a, HTTP_PUT, "/api/repos/alice/x");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_METHOD);
	assert_int_equal(allowed, HTTP_GET | HTTP_DELETE);

	r = mkreq(a, HTTP_GET, "/api/alice/x/tree/abc/dir/sub%2Ffile");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);
	assert_string_equal(req_param(r, "sha"), "abc");
	assert_string_equal(req_param(r, "path"), "dir/sub/file");
	r = mkreq(a, HTTP_GET, "/api/alice/x/tree/abc");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);
	assert_string_equal(req_param(r, "path"), "");
	r = mkreq(a, HTTP_GET, "/api/alice/x/tree/abc/");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);
	assert_string_equal(req_param(r, "path"), "");

	r = mkreq(a, HTTP_GET, "/alice/project.git/info/refs");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_OK);
	assert_string_equal(req_param(r, "repo"), "project");
	r = mkreq(a, HTTP_GET, "/alice/.git/info/refs"); /* empty name before the suffix */
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_NONE);
	r = mkreq(a, HTTP_GET, "/alice/project/info/refs");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_NONE);

	r = mkreq(a, HTTP_GET, "/api/repos/alice/x%00y"); /* NUL never decodes */
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_NONE);
	r = mkreq(a, HTTP_GET, "/api/repos/alice//");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_NONE);
	r = mkreq(a, HTTP_GET, "/api/healthz");
	assert_int_equal(route_find(table, r, &rt, &allowed), MATCH_NONE);
	arena_free(a);
}

/* Catch-alls are tried only for a path no other route takes: a known
 * path with another method stays a 405, and a method no catch-all takes
 * is no route at all. */
static void test_fallback(void **state)
{
	(void)state;
	static const struct route t[] = {
		{ HTTP_GET, "/*path", h_d, ROUTE_FALLBACK }, /* first, and still last */
		{ HTTP_POST, "/login", h_a, 0 },
		{ HTTP_GET, "/:owner", h_b, 0 },
		{ 0 },
	};
	struct arena *a = arena_new();
	const struct route *rt;
	unsigned allowed;
	struct req *r = mkreq(a, HTTP_GET, "/alice");
	assert_int_equal(route_find(t, r, &rt, &allowed), MATCH_OK);
	assert_ptr_equal(rt->handler, h_b);
	r = mkreq(a, HTTP_GET, "/alice/x/y");
	assert_int_equal(route_find(t, r, &rt, &allowed), MATCH_OK);
	assert_ptr_equal(rt->handler, h_d);
	assert_string_equal(req_param(r, "path"), "alice/x/y");
	r = mkreq(a, HTTP_PUT, "/login");
	assert_int_equal(route_find(t, r, &rt, &allowed), MATCH_METHOD);
	assert_int_equal(allowed, HTTP_POST | HTTP_GET); /* /:owner takes it too */
	r = mkreq(a, HTTP_PUT, "/alice/x/y");
	assert_int_equal(route_find(t, r, &rt, &allowed), MATCH_NONE);
	arena_free(a);
}

/* One cookie writer: the session's and the pages' pre-session cookie. */
static void test_cookie(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct resp w = { .arena = a };
	resp_cookie(&w, "plue_session", "v", 60, "Lax");
	assert_string_equal(w.headers[0].value,
			    "plue_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
	const char *saved = cfg.public_url;
	cfg.public_url = "https://forge.example";
	resp_cookie(&w, "plue_csrf", "t", -1, "Strict");
	assert_string_equal(w.headers[1].value,
			    "plue_csrf=t; Path=/; HttpOnly; SameSite=Strict; Secure");
	cfg.public_url = saved;
	resp_cookie(&w, "plue_session", "", 0, "Lax"); /* replaces its own line only */
	assert_int_equal(w.nheaders, 2);
	assert_string_equal(w.headers[0].value,
			    "plue_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
	assert_string_equal(w.headers[1].value,
			    "plue_csrf=t; Path=/; HttpOnly; SameSite=Strict; Secure");
	arena_free(a);
}

static void test_decode(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	assert_string_equal(url_decode(a, "a%20b+c", 7, false), "a b+c");
	assert_string_equal(url_decode(a, "a%20b+c", 7, true), "a b c");
	assert_string_equal(url_decode(a, "%C3%BC", 6, false), "\xc3\xbc");
	assert_null(url_decode(a, "%00", 3, false));
	assert_null(url_decode(a, "%4", 2, false));
	assert_null(url_decode(a, "%zz", 3, false));
	assert_null(url_decode(a, "abc%", 4, false));
	arena_free(a);
}

static void test_req_helpers(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct req *r = mkreq(a, HTTP_GET, "/");
	struct kv headers[] = { { "Content-Type", "text/plain" },
				{ "Cookie", "a=1; plue_session=tok.en; b=2" } };
	struct kv query[] = { { "limit", "5" } };
	r->headers = headers;
	r->nheaders = 2;
	r->query = query;
	r->nquery = 1;
	assert_string_equal(req_header(r, "content-type"), "text/plain");
	assert_null(req_header(r, "X-Missing"));
	assert_string_equal(req_query(r, "limit"), "5");
	assert_null(req_query(r, "LIMIT"));
	assert_string_equal(req_cookie(r, "plue_session"), "tok.en");
	assert_string_equal(req_cookie(r, "b"), "2");
	assert_null(req_cookie(r, "plue"));

	struct resp w = { .arena = a };
	buf_init(&w.body, 0);
	resp_header(&w, "X-A", "1");
	resp_header(&w, "x-a", "2");
	assert_int_equal(w.nheaders, 1);
	assert_string_equal(w.headers[0].value, "2");
	err_set(&r->err, ERR_NOTFOUND, NULL, "repository 'a/b' not found");
	resp_error(&w, r);
	assert_int_equal(w.status, 404);
	assert_string_equal(
		w.body.ptr,
		"{\"error\":{\"code\":\"not_found\",\"message\":\"repository 'a/b' not found\"}}\n");
	buf_release(&w.body);
	arena_free(a);
}

static void test_validators(void **state)
{
	(void)state;
	struct err e = { 0 };
	assert_int_equal(validate_repo_name(&e, "plue"), 0);
	assert_int_equal(validate_repo_name(&e, "a.b-c_d"), 0);
	const char *bad[] = { "", ".x", "-x", "a..b", "x.git", "X.GIT", "x.lock", "a/b", "a b", "ü" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_equal(validate_repo_name(&e, bad[i]), ERR_INVALID);
		assert_string_equal(e.slug, "invalid_name");
	}
	err_clear(&e);
	assert_int_equal(validate_username(&e, "api"), ERR_INVALID);
	assert_non_null(strstr(e.msg, "reserved"));
	err_clear(&e);
	assert_int_equal(validate_username(&e, "alice"), 0);

	assert_true(refname_valid("refs/heads/main"));
	assert_true(refname_valid("refs/heads/feature/x-1"));
	assert_true(refname_valid("refs/tags/v1.0"));
	const char *badrefs[] = { "main",
				  "refs/heads/",
				  "refs/heads/a..b",
				  "refs/heads/a b",
				  "refs/heads/a~1",
				  "refs/heads/a^",
				  "refs/heads/a:b",
				  "refs/heads/a?",
				  "refs/heads/a*",
				  "refs/heads/a[",
				  "refs/heads/a\\b",
				  "refs/heads/.x",
				  "refs/heads/x.lock",
				  "refs/heads/a@{1}",
				  "refs/heads//a",
				  "refs/heads/a.",
				  "refs/heads/a\x01" };
	for (size_t i = 0; i < sizeof(badrefs) / sizeof(badrefs[0]); i++)
		assert_false(refname_valid(badrefs[i]));

	struct arena *a = arena_new();
	assert_string_equal(path_normalise(a, ""), "");
	assert_string_equal(path_normalise(a, "/"), "");
	assert_string_equal(path_normalise(a, "a/b/"), "a/b");
	assert_string_equal(path_normalise(a, "name with space ü.txt"), "name with space ü.txt");
	assert_null(path_normalise(a, "/etc/passwd"));
	assert_null(path_normalise(a, "a/../b"));
	assert_null(path_normalise(a, ".."));
	assert_null(path_normalise(a, "a/./b"));
	assert_null(path_normalise(a, "a//b"));
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),      cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_decode),     cmocka_unit_test(test_req_helpers),
		cmocka_unit_test(test_validators), cmocka_unit_test(test_cookie),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
