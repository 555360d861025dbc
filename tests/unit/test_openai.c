/* test_openai.c — the OpenAI-compatible chat-completions client
 * (src/llm/openai.c) against its double (tests/llm/openai-double.mjs,
 * started here on a free loopback port with node): the fixtures of
 * tests/llm/openai-fixtures.json, which openai-double.test.mjs holds the
 * official SDK to, held to the same expectations here (text deltas, tool
 * calls with parsed arguments, parallel and interleaved, finish reason,
 * usage); the request as sent, with and without a key; a tool round trip;
 * what local servers leave out; retries after 429 and 500; the half-way
 * policy; abort from another thread; a refused connection; and the
 * decoder fed in every chunk size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/util.h"
#include "llm/openai.h"
#include "llmtest.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY "sk-test-0123456789"

static char v1_url[80];

/* ---- the double ------------------------------------------------------ */

static int start_double(void **state)
{
	(void)state;
	if (llmtest_start("openai-double.mjs", "test_openai"))
		return -1;
	snprintf(v1_url, sizeof(v1_url), "%s/v1", base_url);
	return 0;
}

/* ---- what the callbacks saw ------------------------------------------ */

struct seen {
	struct buf text;
	int deltas;
	atomic_int atomic_deltas;
	int tools;
	json_t *calls; /* [{id, name, arguments}] in the order heard */
	int chunks;
	int retries;
	int retry_delay[4];
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
	if (!s->calls)
		s->calls = json_array();
	json_array_append_new(s->calls, json_pack("{s:s, s:s, s:O}", "id", id, "name", name,
						  "arguments", input));
}

static void on_chunk(void *cls, json_t *chunk)
{
	struct seen *s = cls;
	s->chunks++;
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
	json_decref(s->calls);
}

#define CALLBACKS(s)                                                                               \
	{ .cls = &(s),                                                                             \
	  .on_text = on_text,                                                                      \
	  .on_tool_use = on_tool_use,                                                              \
	  .on_chunk = on_chunk,                                                                    \
	  .on_retry = on_retry }

static struct openai_config config(void)
{
	return (struct openai_config){ .base_url = v1_url,
				       .api_key = KEY,
				       .http = { .backoff_initial_ms = 20, .backoff_max_ms = 100 } };
}

/* one user message asking q */
static struct openai_request ask(struct llm_message *m, const char *q)
{
	llm_message_init(m, LLM_USER);
	llm_message_add_text(m, q);
	return (struct openai_request){ .model = "gpt-double", .messages = m, .nmessages = 1 };
}

static json_t *load_fixtures(void)
{
	char src[] = __FILE__;
	char *path = xasprintf("%s/../llm/openai-fixtures.json", dirname(src));
	json_error_t je;
	json_t *f = json_load_file(path, 0, &je);
	if (!f)
		fail_msg("cannot read %s: %s", path, je.text);
	free(path);
	return f;
}

/* the stop reason the client reports for a finish_reason */
static const char *stop_of(const char *finish)
{
	return !strcmp(finish, "stop")         ? "end_turn"
	       : !strcmp(finish, "length")     ? "max_tokens"
	       : !strcmp(finish, "tool_calls") ? "tool_use"
					       : finish;
}

/* ---- the tests ------------------------------------------------------- */

/* Each fixture the SDK was held to: the C client hears and assembles the
 * same content. */
static void test_fixtures_as_the_sdk(void **state)
{
	(void)state;
	json_t *fixtures = load_fixtures();
	size_t i;
	json_t *f;
	json_array_foreach(fixtures, i, f)
	{
		json_t *x = json_object_get(f, "expect");
		json_t *script = json_pack("[O]", json_object_get(f, "reply"));
		char *text = json_dumps(script, JSON_COMPACT);
		replies(text);
		free(text);
		json_decref(script);
		struct llm_message m;
		struct openai_request req = ask(&m, "go");
		struct llm_tool tool = { "read_file", "read a file", NULL };
		req.tools = &tool;
		req.ntools = 1;
		struct openai_config cfg = config();
		struct seen s = { 0 };
		struct openai_callbacks cb = CALLBACKS(s);
		struct llm_reply r = { 0 };
		struct err e = { 0 };
		print_message("fixture: %s\n", json_string_value(json_object_get(f, "name")));
		assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
		assert_true(r.complete);
		assert_int_equal(r.attempts, 1);

		json_t *deltas = json_object_get(x, "deltas");
		assert_int_equal(s.deltas, json_array_size(deltas));
		const char *want_text = json_string_value(json_object_get(x, "text"));
		assert_string_equal(s.text.len ? s.text.ptr : "", want_text);
		char *got_text = llm_message_text(&r.message);
		assert_string_equal(got_text, want_text);
		free(got_text);

		json_t *calls = json_object_get(x, "tool_calls");
		json_t *heard = s.calls ? json_incref(s.calls) : json_array();
		assert_true(json_equal(heard, calls));
		json_decref(heard);
		/* and the reply's blocks: the text (when any), then the calls */
		size_t first = *want_text ? 1 : 0;
		assert_int_equal(r.message.nblocks, first + json_array_size(calls));
		size_t k;
		json_t *c;
		json_array_foreach(calls, k, c)
		{
			const struct llm_block *b = &r.message.blocks[first + k];
			assert_int_equal(b->type, LLM_BLOCK_TOOL_USE);
			assert_string_equal(b->id, json_string_value(json_object_get(c, "id")));
			assert_string_equal(b->name, json_string_value(json_object_get(c, "name")));
			assert_true(json_equal(b->input, json_object_get(c, "arguments")));
		}

		assert_string_equal(r.stop_reason,
				    stop_of(json_string_value(json_object_get(x, "finish_reason"))));
		json_t *u = json_object_get(x, "usage");
		json_int_t prompt = json_integer_value(json_object_get(u, "prompt_tokens"));
		json_int_t cached = json_integer_value(json_object_get(u, "cached_tokens"));
		assert_int_equal(r.usage.input_tokens, prompt - cached);
		assert_int_equal(r.usage.cache_read_input_tokens, cached);
		assert_int_equal(r.usage.output_tokens,
				 json_integer_value(json_object_get(u, "completion_tokens")));
		assert_string_equal(r.model, "gpt-double");
		assert_non_null(r.id);
		llm_reply_release(&r);
		llm_message_release(&m);
		seen_release(&s);
		reset_double(NULL);
	}
	json_decref(fixtures);
}

/* The body and headers sent: system message, tools as functions, usage
 * asked for; Authorization only with a key. */
static void test_request_sent(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"a\"}]},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"b\"}]}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "count to four");
	json_t *schema = json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "path",
				   "type", "string");
	struct llm_tool tool = { "read_file", "read a file of the workspace", schema };
	req.system = "you are terse";
	req.tools = &tool;
	req.ntools = 1;
	req.max_tokens = 256;
	json_t *extra = json_pack("{s:f, s:n}", "temperature", 0.5, "stream_options");
	struct openai_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	assert_memory_equal(r.request_id, "req_double_", 11);
	cfg.api_key = NULL; /* a local server */
	req.extra = extra;
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	assert_string_equal(r.message.blocks[0].text, "b");

	json_t *log = requests();
	assert_int_equal(json_array_size(log), 2);
	json_t *rq = json_array_get(log, 0);
	json_t *h = json_object_get(rq, "headers");
	assert_string_equal(json_string_value(json_object_get(rq, "path")), "/v1/chat/completions");
	assert_string_equal(json_string_value(json_object_get(h, "authorization")), "Bearer " KEY);
	assert_string_equal(json_string_value(json_object_get(h, "content-type")),
			    "application/json");
	json_t *want = json_pack("{s:s, s:i, s:b, s:{s:b}, s:[{s:s, s:s}, {s:s, s:s}],"
				 " s:[{s:s, s:{s:s, s:s, s:O}}]}",
				 "model", "gpt-double", "max_tokens", 256, "stream", 1,
				 "stream_options", "include_usage", 1, "messages", "role", "system",
				 "content", "you are terse", "role", "user", "content",
				 "count to four", "tools", "type", "function", "function", "name",
				 "read_file", "description", "read a file of the workspace",
				 "parameters", schema);
	assert_true(json_equal(json_object_get(rq, "body"), want));
	/* the second: no key, no header; extra merged, a null removing */
	rq = json_array_get(log, 1);
	assert_null(json_object_get(json_object_get(rq, "headers"), "authorization"));
	json_object_del(want, "stream_options");
	json_object_set_new(want, "temperature", json_real(0.5));
	assert_true(json_equal(json_object_get(rq, "body"), want));
	json_decref(want);
	json_decref(log);
	json_decref(extra);
	json_decref(schema);
	llm_reply_release(&r);
	llm_message_release(&m);
}

/* A tool call answered: the assistant's tool_calls and a role "tool"
 * message go back. */
static void test_tool_round_trip(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"Reading.\"},"
		"{\"type\":\"tool_use\",\"id\":\"call_01\",\"name\":\"read_file\","
		"\"input\":{\"path\":\"src/main.c\"}}]},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"It is empty.\"}]}]");
	struct llm_message conv[3];
	struct openai_request req = ask(&conv[0], "what is in src/main.c?");
	struct openai_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	assert_string_equal(r.stop_reason, "tool_use");
	llm_reply_take_message(&conv[1], &r);
	llm_message_init(&conv[2], LLM_USER);
	llm_message_add_tool_result(&conv[2], "call_01", "no such file", true);
	req.messages = conv;
	req.nmessages = 3;
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	char *text = llm_message_text(&r.message);
	assert_string_equal(text, "It is empty.");
	free(text);

	json_t *log = requests();
	json_t *msgs = json_object_get(json_object_get(json_array_get(log, 1), "body"), "messages");
	json_t *sent = json_pack("[{s:s, s:s},"
				 " {s:s, s:s, s:[{s:s, s:s, s:{s:s, s:s}}]},"
				 " {s:s, s:s, s:s}]",
				 "role", "user", "content", "what is in src/main.c?", "role",
				 "assistant", "content", "Reading.", "tool_calls", "id", "call_01",
				 "type", "function", "function", "name", "read_file", "arguments",
				 "{\"path\":\"src/main.c\"}", "role", "tool", "tool_call_id",
				 "call_01", "content", "error: no such file");
	assert_true(json_equal(msgs, sent));
	json_decref(sent);
	json_decref(log);
	llm_reply_release(&r);
	for (int i = 0; i < 3; i++)
		llm_message_release(&conv[i]);
}

/* What llama.cpp, vLLM and Ollama leave out: chunk ids and model, tool
 * call indexes, the [DONE]; usage on the finishing chunk. */
static void test_lenient_server(void **state)
{
	(void)state;
	replies("[{\"lenient\":true,\"no_done\":true,\"usage\":{\"prompt_tokens\":8,"
		"\"completion_tokens\":3},\"content\":[{\"type\":\"text\",\"text\":\"Two calls.\"},"
		"{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"ls\",\"input\":{\"dir\":\"a\"}},"
		"{\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"ls\",\"input\":{\"dir\":\"b\"}}]}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "list a and b");
	struct openai_config cfg = config();
	cfg.api_key = "";
	struct seen s = { 0 };
	struct openai_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_true(r.complete);
	assert_null(r.id);
	assert_null(r.model);
	assert_string_equal(r.stop_reason, "tool_use");
	assert_int_equal(r.usage.input_tokens, 8);
	assert_int_equal(r.usage.output_tokens, 3);
	json_t *want = json_pack("[{s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}]", "id", "c1", "name",
				 "ls", "arguments", "dir", "a", "id", "c2", "name", "ls",
				 "arguments", "dir", "b");
	assert_true(json_equal(s.calls, want));
	assert_int_equal(r.message.nblocks, 3);
	json_decref(want);
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_retry_after_429(void **state)
{
	(void)state;
	replies("[{\"status\":429,\"headers\":{\"retry-after\":\"0.05\"},"
		"\"error\":{\"type\":\"requests\",\"code\":\"rate_limit_exceeded\","
		"\"message\":\"Rate limit reached\"}},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"After the wait.\"}]}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct seen s = { 0 };
	struct openai_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(s.retries, 1);
	assert_int_equal(s.retry_delay[0], 50);
	assert_string_equal(s.text.ptr, "After the wait.");
	llm_reply_release(&r);

	/* and when it does not pass */
	replies("[{\"status\":429,\"error\":{\"type\":\"requests\",\"code\":\"rate_limit_exceeded\","
		"\"message\":\"Rate limit reached\"}}]");
	cfg.http.max_retries = LLM_HTTP_NO_RETRIES;
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), ERR_RATELIMIT);
	assert_string_equal(e.slug, "rate_limit_exceeded");
	assert_string_equal(e.msg, "openai: rate_limit_exceeded: Rate limit reached");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_500_retried_until_out(void **state)
{
	(void)state;
	replies("[{\"status\":500},{\"status\":500},{\"status\":500}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct seen s = { 0 };
	struct openai_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(s.retries, 2);
	assert_string_equal(e.slug, "server_error");
	assert_string_equal(e.msg, "openai: server_error: The server had an error while "
				   "processing your request.");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_auth_error_not_retried(void **state)
{
	(void)state;
	replies("[{\"status\":401,\"error\":{\"type\":\"invalid_request_error\","
		"\"code\":\"invalid_api_key\",\"message\":\"Incorrect API key provided\"}}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_AUTH);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(e.msg, "openai: invalid_api_key: Incorrect API key provided");
	assert_null(strstr(e.msg, KEY));
	llm_reply_release(&r);
	llm_message_release(&m);
}

static void test_error_mid_stream_keeps_partial(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"one two three four\"}],"
		"\"error_after\":2}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct seen s = { 0 };
	struct openai_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "server_error");
	assert_int_equal(r.attempts, 1); /* content was delivered: no retry */
	assert_false(r.complete);
	assert_string_equal(r.message.blocks[0].text, "one two ");
	assert_string_equal(s.text.ptr, "one two ");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_error_before_content_retried(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"error_after\":0},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"fine\"}]}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct seen s = { 0 };
	struct openai_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(s.retries, 1);
	assert_string_equal(r.message.blocks[0].text, "fine");
	llm_reply_release(&r);
	llm_message_release(&m);
	seen_release(&s);
}

static void test_connection_dropped(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"a b c d\"},"
		"{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"ls\",\"input\":{}}],\"drop_after\":5},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"a b\"}],\"drop_after\":0},"
		"{\"content\":[{\"type\":\"text\",\"text\":\"whole\"}]}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	/* after content: the text kept, the unfinished tool call dropped */
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "connection_lost");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.message.nblocks, 1);
	assert_string_equal(r.message.blocks[0].text, "a b c d");
	/* before content: retried */
	err_clear(&e);
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(r.message.blocks[0].text, "whole");
	llm_reply_release(&r);
	llm_message_release(&m);
}

static void test_malformed_chunk(void **state)
{
	(void)state;
	replies("[{\"content\":[{\"type\":\"text\",\"text\":\"a b c\"}],\"malformed_after\":1}]");
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INTERNAL);
	assert_string_equal(e.slug, "provider_protocol");
	assert_string_equal(e.msg, "openai: data that is not a JSON object in the stream");
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
	struct openai_request req = ask(&m, "talk slowly");
	struct openai_config cfg = config();
	struct seen s = { 0 };
	struct openai_callbacks cb = CALLBACKS(s);
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	struct aborter a = { .seen = &s };
	pthread_t t;
	pthread_create(&t, NULL, abort_after_two_deltas, &a);
	int64_t t0 = now_ms();
	assert_int_equal(openai_chat_stream(&cfg, &req, &cb, &a.flag, &r, &e), OPENAI_ABORTED);
	pthread_join(t, NULL);
	assert_in_range(now_ms() - t0, 0, 3000);
	assert_int_equal(e.code, 0);
	assert_true(r.aborted);
	assert_false(r.complete);
	assert_in_range(s.deltas, 2, 39);
	assert_int_equal(r.message.nblocks, 1);
	assert_string_equal(r.message.blocks[0].text, s.text.ptr);
	assert_memory_equal(s.text.ptr, "w0 w1 ", 6);
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
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", ntohs(sa.sin_port));
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	cfg.base_url = url;
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "connection_failed");
	char want[160];
	snprintf(want, sizeof(want),
		 "openai: cannot connect to http://127.0.0.1:%d/v1/chat/completions: ",
		 ntohs(sa.sin_port));
	assert_memory_equal(e.msg, want, strlen(want));
	assert_int_equal(r.attempts, 3);
	llm_reply_release(&r);
	llm_message_release(&m);
}

static void test_bad_requests(void **state)
{
	(void)state;
	struct llm_message m;
	struct openai_request req = ask(&m, "hi");
	struct openai_config cfg = config();
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	req.model = NULL;
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INVALID);
	assert_string_equal(e.msg, "openai: no model");
	req.model = "m";
	llm_message_add_text(&m, "\xff\xfe not UTF-8");
	err_clear(&e);
	assert_int_equal(openai_chat_stream(&cfg, &req, NULL, NULL, &r, &e), ERR_INVALID);
	assert_string_equal(e.msg, "openai: the request holds text that is not UTF-8");
	json_t *log = requests();
	assert_int_equal(json_array_size(log), 0);
	json_decref(log);
	llm_reply_release(&r);
	llm_message_release(&m);
}

/* The decoder alone: CRLF line ends, a keep-alive comment, an event field,
 * two interleaved tool calls, usage after the finish, fed in every chunk
 * size. */
static void test_decoder_any_split(void **state)
{
	(void)state;
	const char *in =
		": keep-alive\r\n\r\n"
		"data: {\"id\":\"chatcmpl-1\",\"model\":\"m\",\"choices\":[{\"index\":0,"
		"\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\r\n\r\n"
		"event: message\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Lo\"}}]}\r\n\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"oking.\"}}]}\r\n\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\","
		"\"type\":\"function\",\"function\":{\"name\":\"ls\",\"arguments\":\"\"}}]}}]}\r\n\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"t2\","
		"\"function\":{\"name\":\"cat\",\"arguments\":\"{\\\"f\\\":\"}}]}}]}\r\n\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
		"\"function\":{\"arguments\":\"{\\\"dir\\\":\\\"src\\\"}\"}}]}}]}\r\n\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
		"\"function\":{\"arguments\":\"\\\"x\\\"}\"}}]}}]}\r\n\r\n"
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\r\n\r\n"
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":6,\"completion_tokens\":9,"
		"\"prompt_tokens_details\":{\"cached_tokens\":2}}}\r\n\r\n"
		"data: [DONE]\r\n\r\n";
	size_t n = strlen(in);
	for (size_t step = 1; step <= n; step += step < 8 ? 1 : 13) {
		struct seen s = { 0 };
		struct openai_callbacks cb = CALLBACKS(s);
		struct llm_reply r = { 0 };
		struct err e = { 0 };
		struct openai_stream *st = openai_stream_new(&r, &cb);
		for (size_t off = 0; off < n; off += step)
			assert_int_equal(openai_stream_feed(st, in + off,
							    off + step > n ? n - off : step, &e),
					 0);
		assert_int_equal(openai_stream_finish(st, &e), 0);
		openai_stream_free(st);
		assert_int_equal(s.deltas, 2);
		assert_string_equal(s.text.ptr, "Looking.");
		assert_int_equal(s.tools, 2);
		assert_int_equal(s.chunks, 9);
		json_t *want = json_pack("[{s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}]", "id", "t1",
					 "name", "ls", "arguments", "dir", "src", "id", "t2",
					 "name", "cat", "arguments", "f", "x");
		assert_true(json_equal(s.calls, want));
		json_decref(want);
		assert_int_equal(r.message.nblocks, 3);
		assert_string_equal(r.id, "chatcmpl-1");
		assert_string_equal(r.stop_reason, "tool_use");
		assert_int_equal(r.usage.input_tokens, 4);
		assert_int_equal(r.usage.cache_read_input_tokens, 2);
		assert_int_equal(r.usage.output_tokens, 9);
		llm_reply_release(&r);
		seen_release(&s);
	}
}

/* A stream that ends early is incomplete, its unfinished tool call dropped;
 * error chunks in OpenAI's and vLLM's forms; arguments that are not an
 * object break the protocol. */
static void test_decoder_incomplete(void **state)
{
	(void)state;
	const char *in = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\","
			 "\"function\":{\"name\":\"ls\",\"arguments\":\"{\\\"di\"}}]}}]}\n\n";
	struct llm_reply r = { 0 };
	struct err e = { 0 };
	struct openai_stream *st = openai_stream_new(&r, NULL);
	assert_int_equal(openai_stream_feed(st, in, strlen(in), &e), 0);
	assert_true(openai_stream_delivered(st));
	assert_int_equal(openai_stream_finish(st, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "stream_incomplete");
	assert_string_equal(e.msg, "openai: the stream ended before a finish_reason");
	openai_stream_free(st);
	assert_int_equal(r.message.nblocks, 1);
	assert_string_equal(r.message.blocks[0].text, "hello");
	llm_reply_release(&r);

	static const struct {
		const char *in;
		int code;
		const char *msg;
	} bad[] = {
		{ "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
		  "\"code\":\"rate_limit_exceeded\"}}\n\n",
		  ERR_RATELIMIT, "openai: rate_limit_exceeded: Rate limit reached" },
		{ "data: {\"object\":\"error\",\"message\":\"bad prompt\",\"type\":\"BadRequestError\","
		  "\"code\":400}\n\n",
		  ERR_INVALID, "openai: BadRequestError: bad prompt" },
		{ "data: {\"error\":{\"code\":500,\"message\":\"slot unavailable\","
		  "\"type\":\"server_error\"}}\n\n",
		  ERR_UNAVAILABLE, "openai: server_error: slot unavailable" },
		{ "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
		  "\"id\":\"t\",\"function\":{\"name\":\"ls\",\"arguments\":\"[1]\"}}]},"
		  "\"finish_reason\":\"tool_calls\"}]}\n\n",
		  ERR_INTERNAL, "openai: tool call 'ls' arguments are not a JSON object" },
		{ "data: [1, 2]\n\n", ERR_INTERNAL,
		  "openai: data that is not a JSON object in the stream" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		st = openai_stream_new(&r, NULL);
		assert_int_equal(openai_stream_feed(st, bad[i].in, strlen(bad[i].in), &e),
				 bad[i].code);
		assert_string_equal(e.msg, bad[i].msg);
		assert_int_equal(openai_stream_finish(st, &e), bad[i].code);
		openai_stream_free(st);
		assert_int_equal(r.message.nblocks, 0);
		llm_reply_release(&r);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, reset_double)
	const struct CMUnitTest double_tests[] = {
		T(test_fixtures_as_the_sdk),
		T(test_request_sent),
		T(test_tool_round_trip),
		T(test_lenient_server),
		T(test_retry_after_429),
		T(test_500_retried_until_out),
		T(test_auth_error_not_retried),
		T(test_error_mid_stream_keeps_partial),
		T(test_error_before_content_retried),
		T(test_connection_dropped),
		T(test_malformed_chunk),
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
