/* test_stream.c — the pure parts of the execution system: SSE fan-out
 * (replay, held live messages, order, exactly-once, the final message,
 * gaps filled from another replica's stored events),
 * sealing and masking secrets, and the runner's UTF-8 cleaning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/config.h"
#include "base/util.h"
#include "http/sse.h"
#include "queue/secrets.h"
#include "runner/runner.h"

#include <stdlib.h>
#include <string.h>

/* reads everything the subscriber has queued; *ended when it said -1 */
static char *drain(struct http_stream *s, bool *ended)
{
	struct buf b = BUF_INIT;
	char chunk[7]; /* small: messages cross read boundaries */
	*ended = false;
	for (;;) {
		long n = s->ops->read(s, chunk, sizeof(chunk));
		if (n > 0) {
			buf_add(&b, chunk, (size_t)n);
			continue;
		}
		*ended = n < 0;
		break;
	}
	return buf_detach(&b, NULL);
}

static int wakes;
static void count_wake(struct http_stream *s)
{
	(void)s;
	wakes++;
}

static void test_replay_then_live(void **state)
{
	(void)state;
	struct sse_sub *sub = sse_subscribe(42, 2);
	/* live while replaying: held */
	struct sse_msg *m3 = sse_msg_new(3, "log", "{\"line\":\"three\"}", false);
	sse_publish(42, m3);
	/* another channel is not ours */
	struct sse_msg *other = sse_msg_new(9, "log", "{}", false);
	sse_publish(43, other);
	for (int i = 1; i <= 4; i++) {
		char data[32];
		snprintf(data, sizeof(data), "{\"n\":%d}", i);
		struct sse_msg *m = sse_msg_new(i, "log", data, false);
		sse_sub_replay(sub, m);
		sse_msg_unref(m);
	}
	struct http_stream *s = sse_sub_start(sub);
	s->wake = count_wake;
	bool ended;
	char *out = drain(s, &ended);
	assert_false(ended);
	assert_string_equal(out, "id: 3\nevent: log\ndata: {\"n\":3}\n\n"
				 "id: 4\nevent: log\ndata: {\"n\":4}\n\n");
	free(out);
	/* live after the start: queued and woken; an old id is dropped */
	wakes = 0;
	sse_publish(42, m3);
	struct sse_msg *m5 = sse_msg_new(5, "log", "{\"n\":5}", false);
	sse_publish(42, m5);
	assert_int_equal(wakes, 1);
	struct sse_msg *done = sse_msg_new(6, "done", "{\"status\":\"success\"}", true);
	sse_publish(42, done);
	struct sse_msg *late = sse_msg_new(7, "log", "{}", false);
	sse_publish(42, late); /* after the final message: ignored */
	sse_msg_unref(late);
	out = drain(s, &ended);
	assert_string_equal(out, "id: 5\nevent: log\ndata: {\"n\":5}\n\n"
				 "id: 6\nevent: done\ndata: {\"status\":\"success\"}\n\n");
	free(out);
	out = drain(s, &ended);
	assert_true(ended);
	free(out);
	assert_int_equal(sse_subscribers(), 1);
	s->ops->free(s);
	assert_int_equal(sse_subscribers(), 0);
	sse_msg_unref(m3);
	sse_msg_unref(m5);
	sse_msg_unref(done);
	sse_msg_unref(other);
}

static void test_many_subscribers_share(void **state)
{
	(void)state;
	struct http_stream *subs[50];
	for (int i = 0; i < 50; i++)
		subs[i] = sse_sub_start(sse_subscribe(7, 0));
	struct sse_msg *m = sse_msg_new(1, "log", "{}", false);
	sse_publish(7, m);
	sse_msg_unref(m); /* the subscribers hold the only references now */
	for (int i = 0; i < 50; i++) {
		bool ended;
		char *out = drain(subs[i], &ended);
		assert_string_equal(out, "id: 1\nevent: log\ndata: {}\n\n");
		free(out);
		subs[i]->ops->free(subs[i]);
	}
}

static int fill_calls;
static void count_fill(void)
{
	fill_calls++;
}

static void publish(int64_t key, int64_t id)
{
	struct sse_msg *m = sse_msg_new(id, "log", "{}", false);
	sse_publish(key, m);
	sse_msg_unref(m);
}

static void fill_push(struct sse_sub *sub, int64_t id)
{
	struct sse_msg *m = sse_msg_new(id, "log", "{}", false);
	sse_fill_push(sub, m);
	sse_msg_unref(m);
}

/* the ids of what the subscriber has queued, "1 2 3" */
static char *ids(struct http_stream *s)
{
	bool ended;
	char *out = drain(s, &ended);
	struct buf b = BUF_INIT;
	for (char *p = out; (p = strstr(p, "id: ")); p += 4)
		buf_addf(&b, "%s%ld", b.len ? " " : "", strtol(p + 4, NULL, 10));
	free(out);
	return buf_detach(&b, NULL);
}

static void test_gap_filled_in_order(void **state)
{
	(void)state;
	sse_set_fill_hook(count_fill);
	fill_calls = 0;
	struct sse_sub *sub = sse_subscribe(70, 0);
	struct http_stream *s = sse_sub_start(sub);
	publish(70, 1);
	/* 2 was stored by another replica and has not come yet */
	publish(70, 3);
	assert_int_equal(fill_calls, 1);
	char *got = ids(s);
	assert_string_equal(got, "1");
	free(got);
	struct sse_fill f[4];
	assert_int_equal(sse_fills_take(f, 4), 1);
	assert_ptr_equal(f[0].sub, sub);
	assert_int_equal(f[0].key, 70);
	assert_int_equal(f[0].after, 1);
	/* published while the fill reads: held after its mark */
	publish(70, 4);
	fill_push(sub, 2);
	fill_push(sub, 3);
	sse_fill_done(sub, true);
	publish(70, 5);
	got = ids(s);
	assert_string_equal(got, "2 3 4 5");
	free(got);
	assert_int_equal(sse_fills_take(f, 4), 0);
	s->ops->free(s);
	sse_set_fill_hook(NULL);
}

static void test_fill_releases_what_it_held(void **state)
{
	(void)state;
	/* the table has nothing below 5 (pruned): 5, held before the read,
	 * still goes out; 8, held after it with 6 and 7 unread, waits for
	 * the next fill */
	struct http_stream *s = sse_sub_start(sse_subscribe(71, 0));
	publish(71, 5);
	struct sse_fill f[2];
	assert_int_equal(sse_fills_take(f, 2), 1);
	publish(71, 8);
	sse_fill_done(f[0].sub, true);
	char *got = ids(s);
	assert_string_equal(got, "5");
	free(got);
	assert_int_equal(sse_fills_take(f, 2), 1);
	assert_int_equal(f[0].after, 5);
	fill_push(f[0].sub, 6);
	fill_push(f[0].sub, 7);
	fill_push(f[0].sub, 8);
	sse_fill_done(f[0].sub, true);
	got = ids(s);
	assert_string_equal(got, "6 7 8");
	free(got);
	s->ops->free(s);
}

static void test_poke(void **state)
{
	(void)state;
	/* a started subscriber behind a peer's last id asks for a fill; one
	 * already there does not */
	struct http_stream *s = sse_sub_start(sse_subscribe(72, 3));
	struct http_stream *ahead = sse_sub_start(sse_subscribe(72, 9));
	assert_true(sse_poke(72, 5));
	assert_false(sse_poke(73, 5));
	struct sse_fill f[4];
	assert_int_equal(sse_fills_take(f, 4), 1);
	assert_int_equal(f[0].after, 3);
	/* poked again during the read: another fill follows */
	assert_true(sse_poke(72, 6));
	fill_push(f[0].sub, 4);
	fill_push(f[0].sub, 5);
	sse_fill_done(f[0].sub, true);
	assert_int_equal(sse_fills_take(f, 4), 1);
	fill_push(f[0].sub, 6);
	sse_fill_done(f[0].sub, true);
	char *got = ids(s);
	assert_string_equal(got, "4 5 6");
	free(got);
	/* a subscriber still replaying is filled once it starts */
	struct sse_sub *late = sse_subscribe(72, 0);
	sse_poke(72, 6); /* s has 6 already */
	assert_int_equal(sse_fills_take(f, 4), 0);
	struct http_stream *ls = sse_sub_start(late);
	assert_int_equal(sse_fills_take(f, 4), 1);
	assert_ptr_equal(f[0].sub, late);
	sse_fill_done(f[0].sub, true);
	/* a failed read asks again */
	sse_poke(72, 8);
	assert_int_equal(sse_fills_take(f, 4), 2);
	sse_fill_done(f[0].sub, false);
	sse_fill_done(f[1].sub, true);
	assert_int_equal(sse_fills_take(f, 4), 1);
	/* a subscriber that hangs up during its fill is freed by the fill */
	ls->ops->free(ls);
	fill_push(f[0].sub, 1);
	sse_fill_done(f[0].sub, true);
	s->ops->free(s);
	ahead->ops->free(ahead);
	assert_int_equal(sse_subscribers(), 0);
}

static void test_secret_seal_open(void **state)
{
	(void)state;
	memset(cfg.server_key, 7, sizeof(cfg.server_key));
	struct arena *a = arena_new();
	struct err e = { 0 };
	const char *nonce, *cipher, *plain = NULL;
	secret_seal(a, 5, "TOKEN", "hunter22", 8, &nonce, &cipher);
	assert_null(strstr(cipher, "hunter22"));
	assert_int_equal(secret_open(a, &e, 5, "TOKEN", nonce, cipher, &plain), 0);
	assert_string_equal(plain, "hunter22");
	/* bound to its repository and name */
	assert_int_equal(secret_open(a, &e, 6, "TOKEN", nonce, cipher, &plain), ERR_INTERNAL);
	err_clear(&e);
	assert_int_equal(secret_open(a, &e, 5, "OTHER", nonce, cipher, &plain), ERR_INTERNAL);
	err_clear(&e);
	assert_int_equal(secret_open(a, &e, 5, "TOKEN", "zz", cipher, &plain), ERR_INTERNAL);
	arena_free(a);
	assert_true(secret_name_valid("API_TOKEN_2"));
	assert_false(secret_name_valid("2X"));
	assert_false(secret_name_valid("a-b"));
	assert_false(secret_name_valid(""));
}

static void test_secret_mask(void **state)
{
	(void)state;
	json_t *s = json_pack("{s:s,s:s,s:s}", "A", "hunter22", "B", "xy", "C", "abc");
	char *m = secrets_mask(s, "pw hunter22 and hunter22, abcabc xy");
	assert_string_equal(m, "pw *** and ***, ****** xy");
	free(m);
	assert_null(secrets_mask(s, "nothing here"));
	json_decref(s);
}

static void test_utf8_clean(void **state)
{
	(void)state;
	char *c = utf8_clean("ok \xc3\xa9 \xff \xe2\x82 end", 14);
	assert_string_equal(c, "ok \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end");
	free(c);
	c = utf8_clean("a\0b", 3);
	assert_string_equal(c, "a\xef\xbf\xbd"
			       "b");
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_then_live),
		cmocka_unit_test(test_many_subscribers_share),
		cmocka_unit_test(test_gap_filled_in_order),
		cmocka_unit_test(test_fill_releases_what_it_held),
		cmocka_unit_test(test_poke),
		cmocka_unit_test(test_secret_seal_open),
		cmocka_unit_test(test_secret_mask),
		cmocka_unit_test(test_utf8_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
