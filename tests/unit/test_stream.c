/* test_stream.c — the pure parts of the execution system: SSE fan-out
 * (replay, held live messages, order, exactly-once, the final message),
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
		cmocka_unit_test(test_secret_seal_open),
		cmocka_unit_test(test_secret_mask),
		cmocka_unit_test(test_utf8_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
