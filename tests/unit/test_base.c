/* test_base.c — buffers, arena, errors, hex, the LRU cache, networks,
 * background threads, dates and times, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/cache.h"
#include "base/err.h"
#include "base/net.h"
#include "base/thread.h"
#include "base/util.h"

static void test_buf(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_string_equal(b.ptr, "");
	buf_addf(&b, "%d-%s", 42, "x");
	buf_addch(&b, '!');
	buf_add(&b, "abc", 2);
	assert_string_equal(b.ptr, "42-x!ab");
	assert_int_equal(b.len, 7);
	for (int i = 0; i < 10000; i++)
		buf_adds(&b, "0123456789");
	assert_int_equal(b.len, 100007);
	assert_int_equal(b.ptr[b.len], '\0');
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	size_t len;
	buf_adds(&b, "owned");
	char *p = buf_detach(&b, &len);
	assert_string_equal(p, "owned");
	assert_int_equal(len, 5);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.ptr, buf_empty);
	free(p);
	p = buf_detach(&b, &len); /* an empty buffer still hands out storage */
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
	buf_release(&b);
}

static int cleaned;
static void cleanup(void *p)
{
	cleaned += *(int *)p;
}

static void test_arena(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	char *s = arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	assert_string_equal(arena_printf(a, "%s/%d", s, 7), "hello/7");
	unsigned char *big = arena_alloc(a, 100000); /* larger than a chunk */
	for (int i = 0; i < 100000; i++)
		assert_int_equal(big[i], 0);
	char *after = arena_strdup(a, "still fine");
	assert_string_equal(after, "still fine");
	assert_true(((uintptr_t)arena_alloc(a, 3) & 15) == 0);
	static int one = 1, two = 2;
	arena_defer(a, cleanup, &one);
	arena_defer(a, cleanup, &two);
	cleaned = 0;
	arena_free(a);
	assert_int_equal(cleaned, 3);
	arena_free(NULL);
}

static void test_err(void **state)
{
	(void)state;
	struct err e = { 0 };
	assert_int_equal(err_set(&e, ERR_NOTFOUND, NULL, "repository '%s' not found", "a/b"),
			 ERR_NOTFOUND);
	assert_string_equal(e.slug, "not_found");
	assert_string_equal(e.msg, "repository 'a/b' not found");
	/* the first error wins */
	err_set(&e, ERR_INTERNAL, "x", "later");
	assert_int_equal(e.code, ERR_NOTFOUND);
	err_clear(&e);
	err_set(&e, ERR_INVALID, "invalid_name", "two\nlines");
	assert_string_equal(e.msg, "two lines");
	assert_int_equal(err_http_status(ERR_NOTFOUND), 404);
	assert_int_equal(err_http_status(ERR_EXISTS), 409);
	assert_int_equal(err_http_status(ERR_AUTH), 401);
	assert_int_equal(err_http_status(ERR_PERM), 403);
	assert_int_equal(err_http_status(ERR_TOOLARGE), 413);
	assert_int_equal(err_http_status(ERR_RATELIMIT), 429);
	assert_int_equal(err_http_status(ERR_UNAVAILABLE), 503);
	assert_int_equal(err_http_status(12345), 500);
	assert_int_equal(err_set(NULL, ERR_AUTH, NULL, "ignored"), ERR_AUTH);
}

static void test_hex(void **state)
{
	(void)state;
	unsigned char raw[3] = { 0x00, 0xab, 0xff };
	char hex[7];
	hex_encode(hex, raw, 3);
	assert_string_equal(hex, "00abff");
	unsigned char back[3];
	assert_int_equal(hex_decode(back, "00ABff", 3), 0);
	assert_memory_equal(back, raw, 3);
	assert_int_equal(hex_decode(back, "0g0000", 3), -1);
	assert_true(is_sha1_hex("0123456789abcdef0123456789abcdef01234567"));
	assert_false(is_sha1_hex("0123456789abcdef0123456789abcdef0123456"));
	assert_false(is_sha1_hex("0123456789abcdef0123456789abcdef012345678"));
	assert_false(is_sha1_hex("main"));
	char h[65];
	sha256_hex(h, "abc", 3);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	int64_t v;
	assert_int_equal(parse_i64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_i64("101", 0, 100, &v), -1);
	assert_int_equal(parse_i64("4x", 0, 100, &v), -1);
	assert_int_equal(parse_i64("", 0, 100, &v), -1);
	assert_true(ct_equal("abc", "abc", 3));
	assert_false(ct_equal("abc", "abd", 3));
	char *t = random_token("p_", 4);
	assert_int_equal(strlen(t), 10);
	assert_memory_equal(t, "p_", 2);
	free(t);
}

static void test_cache(void **state)
{
	(void)state;
	cache_init(64 * 1024);
	cache_put("a", "alpha", 5, "text/plain", "\"e1\"", "public", 0);
	const struct cache_entry *e = cache_get("a");
	assert_non_null(e);
	assert_string_equal(e->data, "alpha");
	assert_int_equal(e->len, 5);
	assert_string_equal(e->content_type, "text/plain");
	assert_string_equal(e->etag, "\"e1\"");
	/* replacing while a reference is held keeps the old bytes valid */
	cache_put("a", "beta", 4, NULL, NULL, NULL, 0);
	assert_string_equal(e->data, "alpha");
	cache_unref(e);
	e = cache_get("a");
	assert_string_equal(e->data, "beta");
	cache_unref(e);
	assert_null(cache_get("missing"));
	/* an object over an eighth of the budget is not kept */
	char big[9000];
	memset(big, 'x', sizeof(big));
	cache_put("big", big, sizeof(big), NULL, NULL, NULL, 0);
	assert_null(cache_get("big"));
	/* the budget holds: old entries are evicted, least recent first */
	char key[32], val[1024];
	memset(val, 'v', sizeof(val));
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		cache_put(key, val, sizeof(val), NULL, NULL, NULL, 0);
		if (i % 10 == 0) {
			const struct cache_entry *keep = cache_get("k0"); /* keep k0 recent */
			cache_unref(keep);
		}
	}
	assert_true(cache_bytes() <= 64 * 1024);
	assert_null(cache_get("k1"));
	e = cache_get("k199");
	assert_non_null(e);
	cache_unref(e);
	e = cache_get("k0");
	assert_non_null(e);
	cache_unref(e);
	/* expiry */
	cache_put("ttl", "x", 1, NULL, NULL, NULL, 1);
	int64_t until = now_ms() + 20;
	while (now_ms() < until)
		;
	assert_null(cache_get("ttl"));
	cache_drop("k0");
	assert_null(cache_get("k0"));
}

static bool in(const char *addr, const char *net)
{
	struct net a, n;
	assert_int_equal(net_parse(addr, &a), 0);
	assert_int_equal(net_parse(net, &n), 0);
	return net_in(&a, &n);
}

static void test_net(void **state)
{
	(void)state;
	struct net n;
	assert_true(in("10.1.2.3", "10.0.0.0/8"));
	assert_false(in("11.1.2.3", "10.0.0.0/8"));
	assert_true(in("172.31.255.255", "172.16.0.0/12"));
	assert_false(in("172.32.0.0", "172.16.0.0/12"));
	assert_true(in("169.254.169.254", "169.254.169.254/32"));
	assert_true(in("1.2.3.4", "0.0.0.0/0"));
	assert_true(in("fd00:ec2::254", "fc00::/7"));
	assert_false(in("2001:db9::1", "2001:db8::/32"));
	assert_false(in("10.0.0.1", "::/0")); /* families differ */
	/* IPv4-mapped IPv6 is IPv4, addresses and networks alike */
	assert_true(in("::ffff:127.0.0.1", "127.0.0.0/8"));
	assert_true(in("127.0.0.1", "::ffff:127.0.0.0/104"));
	const char *bad[] = { "",          "example.com", "10.0.0.0/33", "::/129", "10.0.0.0/-1",
			      "10.0.0.0/", "10.0.0.0/8x", "1.2.3",       NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(net_parse(bad[i], &n), -1);
}

static void test_files(void **state)
{
	(void)state;
	assert_true(str_has_suffix("pack-1.pack", ".pack"));
	assert_true(str_has_suffix("a.pack", ".pack"));
	assert_false(str_has_suffix(".pack", ".pack")); /* nothing before it */
	assert_false(str_has_suffix("pack", ".pack"));
	assert_false(str_has_suffix("a.pack.tmp", ".pack"));
	assert_false(str_has_suffix("", ".pack"));

	/* every byte written, read back as it was; an existing path refused */
	char dir[] = "/tmp/test_base.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/f", dir);
	size_t len = 3 << 20;
	char *data = malloc(len), *back = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 7 + i / 251);
	assert_int_equal(file_create(path, data, len, 0600), 0);
	assert_int_equal(file_create(path, "x", 1, 0600), -1);
	assert_int_equal(errno, EEXIST);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(back, 1, len + 1, f), len);
	fclose(f);
	assert_memory_equal(back, data, len);
	/* fd_write_all to a closed pipe: -1 (EPIPE), not a loop */
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(fd_write_all(p[1], data, len), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
	free(data);
	free(back);

	/* a tree goes whole; a symbolic link goes, not what it points to */
	char sub[96], q[128];
	snprintf(sub, sizeof(sub), "%s/t", dir);
	static const char *const dirs[] = { "", "/a", "/a/b" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(q, sizeof(q), "%s%s", sub, dirs[i]);
		assert_int_equal(mkdir(q, 0700), 0);
	}
	snprintf(q, sizeof(q), "%s/a/b/g", sub);
	assert_int_equal(file_create(q, "g", 1, 0600), 0);
	snprintf(q, sizeof(q), "%s/a/to-f", sub);
	assert_int_equal(symlink(path, q), 0);
	path_remove_tree(sub);
	assert_int_equal(access(sub, F_OK), -1);
	assert_int_equal(access(path, F_OK), 0);
	path_remove_tree(path);
	assert_int_equal(access(path, F_OK), -1);
	path_remove_tree(dir);
	assert_int_equal(access(dir, F_OK), -1);
}

static void test_time(void **state)
{
	(void)state;
	int64_t t = -1;
	/* real days of 1970-9999; what follows the tenth byte is not read */
	const char *days[] = { "1970-01-01",           "2024-02-29",     "2000-02-29", "9999-12-31",
			       "2026-01-02T03:04:05Z", "2026-01-02junk", NULL };
	for (int i = 0; days[i]; i++)
		assert_true(date_valid(days[i]));
	const char *not_days[] = { "1969-12-31", "2023-02-29", "1900-02-29", "2026-04-31",
				   "2026-13-01", "2026-00-10", "2026-01-00", "2026-1-02",
				   "2026/01/02", "2026-01-0",  "",           NULL };
	for (int i = 0; not_days[i]; i++)
		assert_false(date_valid(not_days[i]));
	assert_false(date_valid(NULL));

	assert_int_equal(time_parse(&t, "1970-01-01"), 0);
	assert_int_equal(t, 0);
	assert_int_equal(time_parse(&t, "2026-01-02"), 0);
	assert_int_equal(t, 1767312000);
	assert_int_equal(time_parse(&t, "2026-01-02T03:04:05Z"), 0);
	assert_int_equal(t, 1767312000 + 3 * 3600 + 4 * 60 + 5);
	assert_int_equal(time_parse(&t, "2026-01-02t03:04:05.123z"), 0);
	assert_int_equal(t, 1767312000 + 3 * 3600 + 4 * 60 + 5);
	assert_int_equal(time_parse(&t, "2026-01-02T03:04:05+02:30"), 0);
	assert_int_equal(t, 1767312000 + 3 * 3600 + 4 * 60 + 5 - 9000);
	assert_int_equal(time_parse(&t, "2026-01-02T03:04:05-01:00"), 0);
	assert_int_equal(t, 1767312000 + 4 * 3600 + 4 * 60 + 5);
	assert_int_equal(time_parse(&t, "2024-02-29"), 0);
	t = 7;
	const char *bad[] = { "2023-02-29",
			      "2026-02-30",
			      "2026-13-01",
			      "2026-01-02T24:00:00Z",
			      "2026-01-02T03:60:00Z",
			      "2026-01-02T03:04:05",
			      "2026-01-02T03:04:05.Z",
			      "2026-01-02T03:04:05+2:00",
			      "2026-01-02T03:04:05Zx",
			      "2026-01-02 03:04:05Z",
			      "2026-01",
			      "",
			      NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(time_parse(&t, bad[i]), -1);
	assert_int_equal(t, 7); /* untouched on failure */
}

/* A loop like the services': counts rounds, waits a long period. */
struct bg_count {
	atomic_int rounds;
	atomic_bool done;
};

static void bg_count_main(struct bg_thread *t, void *arg)
{
	struct bg_count *n = arg;
	while (!bg_stopping(t)) {
		atomic_fetch_add(&n->rounds, 1);
		bg_wait(t, 60 * 1000);
	}
	atomic_store(&n->done, true);
}

struct bg_timed {
	int64_t waited_ms;
	bool first, after_stop;
	atomic_bool measured;
};

static void bg_timed_main(struct bg_thread *t, void *arg)
{
	struct bg_timed *w = arg;
	int64_t t0 = now_ms();
	w->first = bg_wait(t, 50);
	w->waited_ms = now_ms() - t0;
	atomic_store(&w->measured, true);
	while (!bg_stopping(t))
		usleep(1000);
	w->after_stop = bg_wait(t, 60 * 1000);
}

static void rounds_reach(struct bg_count *n, int want)
{
	for (int i = 0; i < 2000 && atomic_load(&n->rounds) < want; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&n->rounds), want);
}

static void test_thread(void **state)
{
	(void)state;
	/* never started: stop and wake do nothing */
	static struct bg_thread idle;
	assert_false(bg_running(&idle));
	bg_wake(&idle);
	bg_stop(&idle);
	bg_stop(&idle);

	static struct bg_thread t;
	struct bg_count n = { 0 };
	assert_int_equal(bg_start(&t, "a name longer than fifteen bytes", bg_count_main, &n), 0);
	assert_true(bg_running(&t));
	assert_false(bg_stopping(&t));
	rounds_reach(&n, 1);
	char shown[32];
	assert_int_equal(pthread_getname_np(t.tid, shown, sizeof(shown)), 0);
	assert_string_equal(shown, "a name longer t"); /* cut to 15 bytes */
	/* a wake-up cuts the period short, once */
	bg_wake(&t);
	rounds_reach(&n, 2);
	usleep(20 * 1000);
	assert_int_equal(atomic_load(&n.rounds), 2);
	/* the stop ends the wait at once and joins */
	int64_t t0 = now_ms();
	bg_stop(&t);
	assert_true(now_ms() - t0 < 5000);
	assert_true(atomic_load(&n.done));
	assert_false(bg_running(&t));
	assert_true(bg_stopping(&t));
	bg_stop(&t); /* idempotent */

	/* a restart, after a wake-up sent while stopped */
	bg_wake(&t);
	struct bg_count m = { 0 };
	assert_int_equal(bg_start(&t, "again", bg_count_main, &m), 0);
	assert_false(bg_stopping(&t));
	rounds_reach(&m, 1);
	usleep(20 * 1000);
	assert_int_equal(atomic_load(&m.rounds), 1); /* the old wake-up was dropped */
	bg_stop(&t);
	assert_true(atomic_load(&m.done));

	/* a period without wake-ups is waited out in full; once asked to
	 * stop, bg_wait answers false at once */
	static struct bg_thread timed;
	struct bg_timed w = { 0 };
	assert_int_equal(bg_start(&timed, "timed", bg_timed_main, &w), 0);
	for (int i = 0; i < 2000 && !atomic_load(&w.measured); i++)
		usleep(1000);
	bg_stop(&timed);
	assert_true(w.waited_ms >= 50);
	assert_true(w.first);
	assert_false(w.after_stop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf),    cmocka_unit_test(test_net),
		cmocka_unit_test(test_arena),  cmocka_unit_test(test_err),
		cmocka_unit_test(test_hex),    cmocka_unit_test(test_cache),
		cmocka_unit_test(test_thread), cmocka_unit_test(test_time),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
