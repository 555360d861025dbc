/* test_anthropic.c — the Anthropic Messages client (src/llm/anthropic.c)
 * against the model double (tests/llm/anthropic-double.mjs, started here on
 * a free loopback port with node): text streamed as deltas, tool calls with
 * their input, usage and stop reason, the request as sent, retries after
 * 429 and 529, the half-way policy (an error event or a dropped connection
 * after content: the partial message and no retry), abort from another
 * thread, a refused connection; and the stream decoder fed byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/util.h"
#include "llm/anthropic.h"
#include "llmtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY "sk-ant-test-0123456789"

/* ---- the double ------------------------------------------------------ */

static int start_double(void **state)
{
	(void)state;
	if (llmtest_start("anthropic-double.mjs", "test_anthropic"))
		return -1;
	return 0;
}

/* ---- what the callbacks saw ------------------------------------------ */

struct seen {
	struct buf text;
	int deltas;
	atomic_int atomic_deltas;
	int tools;
	char tool_id[64], tool_name[64];
	json_t *tool_input;
	int retries;
	int retry_delay[4];
	char events[1024]; /* event types, space-separated */
};

static void on_text(void *cls, size_t index, const char *delta, size_t len)
{
	struct seen *s = cls;
	buf_add(&s->text, delta, len);
	s->deltas++;
	atomic_fetch_add(&s->atomic_deltas, 1);
}

static void on_tool_use(void *cls, size_t index, const char *id, const char *name, json_t *input)
{
	struct seen *s = cls;
	s->tools++;
	snprintf(s->tool_id, sizeof(s->tool_id), "%s", id);
	snprintf(s->tool_name, sizeof(s->tool_name), "%s", name);
	json_decref(s->tool_input);
	s->tool_input = json_incref(input);
}

static void on_event(void *cls, const char *type, json_t *data)
{
	struct seen *s = cls;
	size_t n = strlen(s->events);
	snprintf(s->events + n, sizeof(s->events) - n, "%s%s", n ? " " : "", type);
}

static void on_retry(void *cls, int retry, int delay_ms, const struct err *why)
{
	struct seen *s = cls;
	if (s->retries < 4)
		s->retry_delay[s->retries] = delay_ms;
	s->retries++;
}

static void seen_release(struct seen *s)
{
	buf_release(&s->text);
	json_decref(s->tool_input);
}

#define CALLBACKS(s)                                                                               \
	{ .cls = &(s),                                                                             \
	  .on_text = on_text,                                                                      \
	  .on_tool_use = on_tool_use,                                                              \
	  .on_event = on_event,                                                                    \
	  .on_retry = on_retry }

static struct anthropic_config config(void)
{
	return (struct anthropic_config){ .base_url = base_url,
					  .api_key = KEY,
					  .http = { .backoff_initial_ms = 20,
						    .backoff_max_ms = 100 } };
}

/* one user message asking q */
static struct anthropic_request ask(struct llm_message *m, const char *q)
{
	llm_message_init(m, LLM_USER);
	llm_message_add_text(m, q);
	return (struct anthropic_request){
		.model = "claude-double", .max_tokens = 256, .messages = m, .nmessages = 1
	};
}

/* ---- the tests ------------------------------------------------------- */

static void test_text_streams_in_deltas(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"one two three four\"}],"
		"\"usage\":{\"input_tokens\":12,\"output_tokens\":7,"
		"\"cache_creation_input_tokens\":3,\"cache_read_input_tokens\":4}}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "count to four");
	json_t *schema = json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "path",
				   "type", "string");
	struct llm_tool tool = { "read_file", "read a file of the workspace", schema };
	req.system = "you are terse";
	req.tools = &tool;
	req.ntools = 1;
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);

	assert_int_equal(s.deltas, 4);
	assert_string_equal(s.text.ptr, "one two three four");
	assert_true(r.complete);
	assert_false(r.aborted);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.id, "msg_double_1");
	assert_string_equal(r.model, "claude-double");
	assert_string_equal(r.stop_reason, "end_turn");
	assert_string_equal(r.request_id, "req_double_1");
	assert_int_equal(r.message.nblocks, 1);
	assert_int_equal(r.message.blocks[0].type, LLM_BLOCK_TEXT);
	assert_string_equal(r.message.blocks[0].text, "one two three four");
	assert_int_equal(r.usage.input_tokens, 12);
	assert_int_equal(r.usage.output_tokens, 7);
	assert_int_equal(r.usage.cache_creation_input_tokens, 3);
	assert_int_equal(r.usage.cache_read_input_tokens, 4);
	assert_string_equal(s.events, "message_start ping content_block_start content_block_delta "
				      "content_block_delta content_block_delta content_block_delta "
				      "content_block_stop message_delta message_stop");

	/* what the double received */
	json_t *log = requests();
	assert_int_equal(json_array_size(log), 1);
	json_t *rq = json_array_get(log, 0);
	json_t *h = json_object_get(rq, "headers");
	assert_string_equal(json_string_value(json_object_get(rq, "path")), "/v1/messages");
	assert_string_equal(json_string_value(json_object_get(h, "x-api-key")), KEY);
	assert_string_equal(json_string_value(json_object_get(h, "anthropic-version")), "2023-06-01");
	assert_string_equal(json_string_value(json_object_get(h, "content-type")),
			    "application/json");
	json_t *body = json_object_get(rq, "body");
	json_t *want = json_pack("{s:s, s:i, s:b, s:s, s:[{s:s, s:[{s:s, s:s}]}], s:[{s:s, s:s, s:O}]}",
				 "model", "claude-double", "max_tokens", 256, "stream", 1, "system",
				 "you are terse", "messages", "role", "user", "content", "type",
				 "text", "text", "count to four", "tools", "name", "read_file",
				 "description", "read a file of the workspace", "input_schema",
				 schema);
	assert_true(json_equal(body, want));
	json_decref(want);
	json_decref(log);
	json_decref(schema);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_tool_use_and_result(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"Reading.\"},"
		"{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"read_file\","
		"\"input\":{\"path\":\"src/main.c\",\"lines\":[1,20],\"deep\":{\"ok\":true}}}]},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"It is empty.\"}]}]");
	struct llm_message conv[3];
	struct anthropic_request req = ask(&conv[0], "what is in src/main.c?");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_string_equal(r.stop_reason, "tool_use");
	assert_int_equal(s.tools, 1);
	assert_string_equal(s.tool_id, "toolu_01");
	assert_string_equal(s.tool_name, "read_file");
	json_t *want = json_pack("{s:s, s:[i,i], s:{s:b}}", "path", "src/main.c", "lines", 1, 20,
				 "deep", "ok", 1);
	assert_true(json_equal(s.tool_input, want));
	assert_int_equal(r.message.nblocks, 2);
	assert_int_equal(r.message.blocks[1].type, LLM_BLOCK_TOOL_USE);
	assert_true(json_equal(r.message.blocks[1].input, want));

	/* the tool's answer goes back in the next user message */
	llm_reply_take_message(&conv[1], &r);
	llm_message_init(&conv[2], LLM_USER);
	llm_message_add_tool_result(&conv[2], "toolu_01", "no such file", true);
	req.messages = conv;
	req.nmessages = 3;
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	char *text = llm_message_text(&r.message);
	assert_string_equal(text, "It is empty.");
	free(text);

	json_t *log = requests();
	json_t *msgs = json_object_get(json_object_get(json_array_get(log, 1), "body"), "messages");
	json_t *sent = json_pack("[{s:s, s:[{s:s, s:s}]},"
				 " {s:s, s:[{s:s, s:s}, {s:s, s:s, s:s, s:O}]},"
				 " {s:s, s:[{s:s, s:s, s:s, s:b}]}]",
				 "role", "user", "content", "type", "text", "text",
				 "what is in src/main.c?", "role", "assistant", "content", "type",
				 "text", "text", "Reading.", "type", "tool_use", "id", "toolu_01",
				 "name", "read_file", "input", want, "role", "user", "content",
				 "type", "tool_result", "tool_use_id", "toolu_01", "content",
				 "no such file", "is_error", 1);
	assert_true(json_equal(msgs, sent));
	json_decref(sent);
	json_decref(want);
	json_decref(log);
	llm_reply_release(&r);
	for (int i = 0; i < 3; i++)
		llm_message_release(&conv[i]);
	seen_release(&s);
}

static void test_retry_after_429(void **state)
{
	(void)state;
	replies("[{\"status\":429,\"headers\":{\"retry-after\":\"1\"},"
		"\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}},"
		"{\"status\":429,\"headers\":{\"retry-after-ms\":\"30\",\"retry-after\":\"5\"},"
		"\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"after the wait\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(s.retries, 2);
	assert_int_equal(s.retry_delay[0], 1000); /* retry-after, in seconds */
	assert_int_equal(s.retry_delay[1], 30);   /* retry-after-ms first */
	assert_string_equal(s.text.ptr, "after the wait");
	json_t *log = requests();
	assert_int_equal(json_array_size(log), 3);
	json_decref(log);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_retry_after_beyond_bound_backs_off(void **state)
{
	(void)state;
	replies("[{\"status\":429,\"headers\":{\"retry-after\":\"120\"},"
		"\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Slow down\"}},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_int_equal(s.retries, 1);
	/* the backoff of the first retry: 20 ms less up to 25% */
	assert_in_range(s.retry_delay[0], 15, 20);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_overloaded_529_retried(void **state)
{
	(void)state;
	replies("[{\"status\":529,\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}},"
		"{\"status\":529,\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"made it\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 3);
	assert_in_range(s.retry_delay[0], 15, 20); /* 20 ms, then doubled */
	assert_in_range(s.retry_delay[1], 30, 40);
	assert_string_equal(s.text.ptr, "made it");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_retries_run_out(void **state)
{
	(void)state;
	replies("[{\"status\":529,\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}},"
		"{\"status\":529,\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}},"
		"{\"status\":529,\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"too late\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "overloaded_error");
	assert_string_equal(e.msg, "anthropic: overloaded_error: Overloaded");
	assert_int_equal(r.attempts, 3);
	assert_null(strstr(e.msg, KEY));
	llm_reply_release(&r);
	llm_message_release(&m);
}

static void test_not_retried(void **state)
{
	(void)state;
	/* the server says no, and a client error is final */
	replies("[{\"status\":500,\"headers\":{\"x-should-retry\":\"false\"},"
		"\"error\":{\"type\":\"api_error\",\"message\":\"Internal\"}},"
		"{\"status\":400,\"error\":{\"type\":\"invalid_request_error\","
		"\"message\":\"max_tokens: too large\"}},"
		"{\"status\":400,\"headers\":{\"x-should-retry\":\"true\"},"
		"\"error\":{\"type\":\"invalid_request_error\",\"message\":\"try again\"}},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.msg, "anthropic: api_error: Internal");
	assert_int_equal(r.attempts, 1);
	err_clear(&e);
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_request_error");
	assert_string_equal(e.msg, "anthropic: invalid_request_error: max_tokens: too large");
	assert_int_equal(r.attempts, 1);
	/* x-should-retry: true makes even a 400 retryable */
	err_clear(&e);
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 2);
	llm_reply_release(&r);
	llm_message_release(&m);
}

/* a base URL's trailing slashes are dropped before the path */
static void test_base_url_trailing_slashes(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}]");
	char slashed[80];
	snprintf(slashed, sizeof(slashed), "%s//", base_url);
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	cfg.base_url = slashed;
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	assert_string_equal(r.message.blocks[0].text, "ok");
	json_t *log = requests();
	assert_int_equal(json_array_size(log), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(log, 0), "path")),
			    "/v1/messages");
	json_decref(log);
	llm_reply_release(&r);
	llm_message_release(&m);
}

static void test_error_mid_stream_keeps_partial(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"one two three four\"}],"
		"\"error_after\":2},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"a retry would get this\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "overloaded_error");
	assert_string_equal(e.msg, "anthropic: overloaded_error: Overloaded");
	assert_int_equal(s.retries, 0);
	assert_int_equal(r.attempts, 1);
	assert_false(r.complete);
	assert_string_equal(s.text.ptr, "one two ");
	assert_int_equal(r.message.nblocks, 1);
	assert_string_equal(r.message.blocks[0].text, "one two ");
	json_t *log = requests();
	assert_int_equal(json_array_size(log), 1);
	json_decref(log);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_error_before_content_retried(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"never\"}],\"error_after\":0},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"second try\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_int_equal(s.retries, 1);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(s.text.ptr, "second try");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_connection_dropped(void **state)
{
	(void)state;
	/* before the headers: retried; mid-stream: the partial message */
	replies("[{\"drop\":\"before_headers\"},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"a b c d\"}],\"drop_after\":1},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"not asked for\"}]}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "connection_lost");
	assert_non_null(strstr(e.msg, "anthropic: connection lost mid-stream: "));
	assert_int_equal(s.retries, 1);
	assert_int_equal(r.attempts, 2);
	assert_false(r.complete);
	assert_string_equal(r.message.blocks[0].text, "a ");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_malformed_event(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"a b c\"}],\"malformed_after\":1}]");
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INTERNAL);
	assert_string_equal(e.slug, "provider_protocol");
	assert_string_equal(e.msg,
			    "anthropic: data is not a JSON object in 'content_block_delta' event");
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.message.blocks[0].text, "a ");
	llm_reply_release(&r);
	llm_message_release(&m);
}

struct aborter {
	struct seen *seen;
	atomic_bool flag;
};

static void *abort_after_two_deltas(void *cls)
{
	struct aborter *a = cls;
	while (atomic_load(&a->seen->atomic_deltas) < 2)
		usleep(1000);
	atomic_store(&a->flag, true);
	return NULL;
}

static void test_abort_from_another_thread(void **state)
{
	(void)state;
	/* 40 deltas 200 ms apart: eight seconds unless aborted */
	struct buf words = BUF_INIT;
	for (int i = 0; i < 40; i++)
		buf_addf(&words, "w%d ", i);
	struct buf sc = BUF_INIT;
	buf_addf(&sc, "[{\"content\":[{\"type\":\"text\",\"text\":\"%s\"}],\"delay_ms\":200}]",
		 words.ptr);
	replies(sc.ptr);
	struct llm_message m;
	struct anthropic_request req = ask(&m, "talk slowly");
	struct anthropic_config cfg = config();
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	struct aborter a = { .seen = &s };
	pthread_t t;
	pthread_create(&t, NULL, abort_after_two_deltas, &a);
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, &a.flag, &r, &e),
			 ANTHROPIC_ABORTED);
	pthread_join(t, NULL);
	assert_int_equal(e.code, 0);
	assert_true(r.aborted);
	assert_false(r.complete);
	assert_in_range(s.deltas, 2, 39);
	assert_int_equal(r.message.nblocks, 1);
	assert_string_equal(r.message.blocks[0].text, s.text.ptr);
	assert_memory_equal(s.text.ptr, "w0 w1 ", 6);
	/* the double saw the connection close before the message ended */
	bool closed = false;
	for (int i = 0; i < 100 && !closed; i++) {
		json_t *log = requests();
		closed = json_is_true(json_object_get(json_array_get(log, 0), "closed_early"));
		json_decref(log);
		if (!closed)
			usleep(20000);
	}
	assert_true(closed);
	buf_release(&words);
	buf_release(&sc);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_connection_refused(void **state)
{
	(void)state;
	/* a port that was just free: nothing listens there */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	cfg.base_url = url;
	struct seen s = { 0 };
	struct anthropic_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(anthropic_messages_stream(&cfg, &req, &cb, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "connection_failed");
	char want[160];
	snprintf(want, sizeof(want), "anthropic: cannot connect to %s/v1/messages: ", url);
	assert_memory_equal(e.msg, want, strlen(want));
	assert_int_equal(r.attempts, 3); /* connection errors are retried */
	assert_int_equal(s.retries, 2);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_bad_requests(void **state)
{
	(void)state;
	struct llm_message m;
	struct anthropic_request req = ask(&m, "hi");
	struct anthropic_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	cfg.api_key = NULL;
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INVALID);
	assert_string_equal(e.msg, "anthropic: no api key");
	cfg = config();
	req.max_tokens = 0;
	err_clear(&e);
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INVALID);
	assert_string_equal(e.msg, "anthropic: max_tokens must be positive");
	req.max_tokens = 10;
	llm_message_add_text(&m, "\xff\xfe not UTF-8");
	err_clear(&e);
	assert_int_equal(anthropic_messages_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INVALID);
	assert_string_equal(e.msg, "anthropic: the request holds text that is not UTF-8");
	json_t *log = requests();
	assert_int_equal(json_array_size(log), 0); /* none was sent */
	json_decref(log);
	llm_reply_release(&r);
	llm_message_release(&m);
}

/* The decoder alone: a stream with CRLF line ends, a comment, an unknown
 * event and a data field split over two lines, fed in every chunk size. */
static void test_decoder_any_split(void **state)
{
	(void)state;
	const char *in =
		": a comment\r\n"
		"event: message_start\r\n"
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\","
		"\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\r\n\r\n"
		"event: future_event\r\ndata: {\"type\":\"future_event\"}\r\n\r\n"
		"event: content_block_start\r\n"
		"data: {\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"ls\",\"input\":{}}}\r\n\r\n"
		"event: content_block_delta\r\n"
		"data: {\"type\":\"content_block_delta\",\"index\":0,\r\n"
		"data: \"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"dir\\\":\"}}\r\n\r\n"
		"event: content_block_delta\r\n"
		"data: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"src\\\"}\"}}\r\n\r\n"
		"event: content_block_stop\r\ndata: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
		"event: message_delta\r\n"
		"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
		"\"stop_sequence\":null},\"usage\":{\"output_tokens\":9,\"input_tokens\":6}}\r\n\r\n"
		"event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
	size_t n = strlen(in);
	for (size_t step = 1; step <= n; step += step < 8 ? 1 : 13) {
		struct seen s = { 0 };
		struct anthropic_callbacks cb = CALLBACKS(s);
		struct llm_reply r = { 0 };
		struct err e = { 0 };
		struct anthropic_stream *st = anthropic_stream_new(&r, &cb);
		for (size_t off = 0; off < n; off += step)
			assert_int_equal(anthropic_stream_feed(st, in + off,
							       off + step > n ? n - off : step, &e),
					 0);
		assert_int_equal(anthropic_stream_finish(st, &e), 0);
		anthropic_stream_free(st);
		assert_int_equal(s.tools, 1);
		assert_string_equal(s.tool_name, "ls");
		assert_string_equal(json_string_value(json_object_get(s.tool_input, "dir")), "src");
		assert_string_equal(r.stop_reason, "tool_use");
		assert_int_equal(r.usage.input_tokens, 6);
		assert_int_equal(r.usage.output_tokens, 9);
		assert_string_equal(s.events,
				    "message_start future_event content_block_start "
				    "content_block_delta content_block_delta content_block_stop "
				    "message_delta message_stop");
		llm_reply_release(&r);
		seen_release(&s);
	}
}

/* A stream that ends early is incomplete; a tool call cut off is dropped
 * from the partial message, the text before it kept. */
static void test_decoder_incomplete(void **state)
{
	(void)state;
	const char *in =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\"}}\n\n"
		"event: content_block_start\n"
		"data: {\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
		"event: content_block_delta\n"
		"data: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\n"
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
		"event: content_block_start\n"
		"data: {\"type\":\"content_block_start\",\"index\":1,"
		"\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"ls\",\"input\":{}}}\n\n"
		"event: content_block_delta\n"
		"data: {\"type\":\"content_block_delta\",\"index\":1,"
		"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"di\"}}\n\n";
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	struct anthropic_stream *st = anthropic_stream_new(&r, NULL);
	assert_int_equal(anthropic_stream_feed(st, in, strlen(in), &e), 0);
	assert_true(anthropic_stream_delivered(st));
	assert_int_equal(anthropic_stream_finish(st, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "stream_incomplete");
	assert_string_equal(e.msg, "anthropic: the stream ended before message_stop");
	anthropic_stream_free(st);
	assert_int_equal(r.message.nblocks, 1);
	assert_string_equal(r.message.blocks[0].text, "hello");
	llm_reply_release(&r);

	/* a tool_use whose input is not an object is not kept either */
	const char *notobj =
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
		"event: content_block_start\n"
		"data: {\"type\":\"content_block_start\",\"index\":0,"
		"\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"ls\",\"input\":{}}}\n\n"
		"event: content_block_delta\n"
		"data: {\"type\":\"content_block_delta\",\"index\":0,"
		"\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1]\"}}\n\n"
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
	err_clear(&e);
	st = anthropic_stream_new(&r, NULL);
	assert_int_equal(anthropic_stream_feed(st, notobj, strlen(notobj), &e), ERR_INTERNAL);
	assert_string_equal(e.msg, "anthropic: tool_use 'ls' input is not a JSON object");
	anthropic_stream_free(st);
	assert_int_equal(r.message.nblocks, 0);
	llm_reply_release(&r);

	/* a delta for a block that never started breaks the protocol */
	const char *bad = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
			  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
			  "\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n";
	err_clear(&e);
	st = anthropic_stream_new(&r, NULL);
	assert_int_equal(anthropic_stream_feed(st, bad, strlen(bad), &e), ERR_INTERNAL);
	assert_string_equal(e.msg, "anthropic: no such content block in 'content_block_delta' event");
	anthropic_stream_free(st);
	llm_reply_release(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, reset_double)
	const struct CMUnitTest double_tests[] = {
		T(test_text_streams_in_deltas),
		T(test_base_url_trailing_slashes),
		T(test_tool_use_and_result),
		T(test_retry_after_429),
		T(test_retry_after_beyond_bound_backs_off),
		T(test_overloaded_529_retried),
		T(test_retries_run_out),
		T(test_not_retried),
		T(test_error_mid_stream_keeps_partial),
		T(test_error_before_content_retried),
		T(test_connection_dropped),
		T(test_malformed_event),
		T(test_abort_from_another_thread),
		T(test_connection_refused),
		T(test_bad_requests),
	};
	const struct CMUnitTest decoder_tests[] = {
		cmocka_unit_test(test_decoder_any_split),
		cmocka_unit_test(test_decoder_incomplete),
	};
	int failed = cmocka_run_group_tests_name("decoder", decoder_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("client against the double", double_tests,
					      start_double, stop_double);
	return failed ? 1 : 0;
}
