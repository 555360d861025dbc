/* openai.c — the OpenAI-compatible chat-completions client: the request
 * body, the chunk-stream decoder, and the call, made by the shared transfer
 * of llm/http.c (see openai.h for what is read and how leniently). */
#include "llm/openai.h"
#include "base/buf.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (8u << 20) /* one line, one tool call's arguments */

/* ---- errors ---------------------------------------------------------- */

/* The code of an error chunk met mid-stream, where no HTTP status tells:
 * by the status the body may carry (llama.cpp's "code": 500), else by its
 * code or type; a server's trouble otherwise. */
static int chunk_code(json_t *er)
{
	json_t *code = json_object_get(er, "code");
	if (json_is_integer(code) && json_integer_value(code) >= 400 &&
	    json_integer_value(code) < 600)
		return llm_http_code((long)json_integer_value(code));
	static const struct {
		const char *name;
		int code;
	} names[] = {
		{ "invalid_request_error", ERR_INVALID }, { "authentication_error", ERR_AUTH },
		{ "invalid_api_key", ERR_AUTH },          { "permission_error", ERR_PERM },
		{ "not_found_error", ERR_NOTFOUND },      { "model_not_found", ERR_NOTFOUND },
		{ "rate_limit_exceeded", ERR_RATELIMIT }, { "rate_limit_error", ERR_RATELIMIT },
		{ "insufficient_quota", ERR_RATELIMIT },
	};
	const char *keys[] = { json_string_value(code),
			       json_string_value(json_object_get(er, "type")) };
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; keys[k] && i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(keys[k], names[i].name))
				return names[i].code;
	return ERR_UNAVAILABLE;
}

/* The error object of a body: {"error": {...}}, or vLLM's bare
 * {"object": "error", ...}; NULL when the body is not an error. */
static json_t *error_object(json_t *body)
{
	json_t *er = json_object_get(body, "error");
	if (json_is_object(er))
		return er;
	const char *obj = json_string_value(json_object_get(body, "object"));
	return obj && !strcmp(obj, "error") ? body : NULL;
}

/* The slug of an error object: its code when a string (OpenAI's are the
 * precise ones: invalid_api_key, rate_limit_exceeded, model_not_found),
 * else its type. */
static const char *error_slug(json_t *er)
{
	const char *code = json_string_value(json_object_get(er, "code"));
	return code && *code ? code : json_string_value(json_object_get(er, "type"));
}

/* ---- the request ----------------------------------------------------- */

/* the text blocks of m joined, or NULL when m has none */
static char *text_of(const struct llm_message *m)
{
	for (size_t i = 0; i < m->nblocks; i++)
		if (m->blocks[i].type == LLM_BLOCK_TEXT)
			return llm_message_text(m);
	return NULL;
}

/* Appends a user message: one role "tool" message per tool_result (they
 * must follow the assistant's calls), then the text, if any; false when a
 * string is not UTF-8. */
static bool user_json(json_t *messages, const struct llm_message *m, const char *text)
{
	bool results = false;
	for (size_t i = 0; i < m->nblocks; i++) {
		const struct llm_block *b = &m->blocks[i];
		if (b->type != LLM_BLOCK_TOOL_RESULT)
			continue;
		results = true;
		char *c = b->is_error ? xasprintf("error: %s", b->text) : NULL;
		json_t *o = json_pack("{s:s, s:s, s:s}", "role", "tool", "tool_call_id", b->id,
				      "content", c ? c : b->text);
		free(c);
		if (!o)
			return false;
		json_array_append_new(messages, o);
	}
	if (text || !results) {
		json_t *o = json_pack("{s:s, s:s}", "role", "user", "content", text ? text : "");
		if (!o)
			return false;
		json_array_append_new(messages, o);
	}
	return true;
}

/* Appends an assistant message: its text as content (null when none), its
 * tool_use blocks as tool_calls; false when a string is not UTF-8. */
static bool assistant_json(json_t *messages, const struct llm_message *m, const char *text)
{
	bool ok = false;
	json_t *calls = json_array();
	json_t *o = json_pack("{s:s, s:o}", "role", "assistant", "content",
			      text ? json_string(text) : json_null());
	if (!o)
		goto done;
	for (size_t i = 0; i < m->nblocks; i++) {
		const struct llm_block *b = &m->blocks[i];
		if (b->type != LLM_BLOCK_TOOL_USE)
			continue;
		char *args = json_dumps(b->input, JSON_COMPACT);
		json_t *c = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", b->id, "type", "function",
				      "function", "name", b->name, "arguments", args ? args : "{}");
		free(args);
		if (!c)
			goto done;
		json_array_append_new(calls, c);
	}
	if (json_array_size(calls))
		json_object_set(o, "tool_calls", calls);
	json_array_append(messages, o);
	ok = true;
done:
	json_decref(calls);
	json_decref(o);
	return ok;
}

/* Appends m as chat messages; false when a string is not UTF-8. */
static bool message_json(json_t *messages, const struct llm_message *m)
{
	char *text = text_of(m);
	bool ok = m->role == LLM_USER ? user_json(messages, m, text)
				      : assistant_json(messages, m, text);
	free(text);
	return ok;
}

json_t *openai_request_json(const struct openai_request *req, struct err *e)
{
	if (!req->model || !*req->model) {
		err_set(e, ERR_INVALID, NULL, "openai: no model");
		return NULL;
	}
	if (!req->nmessages) {
		err_set(e, ERR_INVALID, NULL, "openai: no messages");
		return NULL;
	}
	json_t *body = json_pack("{s:s, s:b, s:{s:b}}", "model", req->model, "stream", 1,
				 "stream_options", "include_usage", 1);
	if (!body)
		goto bad;
	json_t *messages = json_array();
	json_object_set_new(body, "messages", messages);
	if (req->max_tokens > 0)
		json_object_set_new(body, "max_tokens", json_integer(req->max_tokens));
	if (req->system) {
		json_t *o = json_pack("{s:s, s:s}", "role", "system", "content", req->system);
		if (!o)
			goto bad;
		json_array_append_new(messages, o);
	}
	for (size_t i = 0; i < req->nmessages; i++)
		if (!message_json(messages, &req->messages[i]))
			goto bad;
	if (req->ntools) {
		json_t *tools = json_array();
		json_object_set_new(body, "tools", tools);
		for (size_t i = 0; i < req->ntools; i++) {
			const struct llm_tool *t = &req->tools[i];
			json_t *f = json_pack("{s:s}", "name", t->name ? t->name : "");
			if (!f)
				goto bad;
			json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function",
							       "function", f));
			if (t->description) {
				json_t *d = json_string(t->description);
				if (!d)
					goto bad;
				json_object_set_new(f, "description", d);
			}
			json_object_set_new(f, "parameters",
					    t->input_schema ? json_incref(t->input_schema)
							    : json_pack("{s:s}", "type", "object"));
		}
	}
	if (req->extra) {
		const char *k;
		json_t *v;
		json_object_foreach(req->extra, k, v)
		{
			if (!strcmp(k, "stream"))
				continue;
			if (json_is_null(v))
				json_object_del(body, k);
			else
				json_object_set(body, k, v);
		}
	}
	return body;
bad:
	json_decref(body);
	err_set(e, ERR_INVALID, NULL, "openai: the request holds text that is not UTF-8");
	return NULL;
}

/* ---- the chunk-stream decoder ---------------------------------------- */

/* a tool call being assembled from its fragments */
struct call {
	json_int_t index; /* the stream's index, or -1 when it gave none */
	size_t block;     /* its tool_use block in the reply */
	struct buf args;
};

struct openai_stream {
	struct llm_reply *reply;
	const struct openai_callbacks *cb;
	struct buf line; /* the line being read */
	bool after_cr;   /* the last byte ended a line with \r */
	struct buf data; /* the event's data lines joined with \n */
	bool has_data;
	struct buf text; /* the current text block's text */
	size_t text_block;
	bool in_text;    /* text_block is the reply's last block */
	struct call *calls;
	size_t ncalls;
	bool finished;   /* a finish_reason or [DONE]: the content is whole */
	bool tools_done; /* the calls were parsed and delivered */
	bool delivered;
	int rc;
	struct err err;
};

struct openai_stream *openai_stream_new(struct llm_reply *reply, const struct openai_callbacks *cb)
{
	static const struct openai_callbacks none;
	struct openai_stream *s = xcalloc(1, sizeof(*s));
	s->reply = reply;
	s->cb = cb ? cb : &none;
	reply->message.role = LLM_ASSISTANT;
	return s;
}

bool openai_stream_delivered(const struct openai_stream *s)
{
	return s->delivered;
}

static int fail(struct openai_stream *s, int code, const char *slug, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct openai_stream *s, int code, const char *slug, const char *fmt, ...)
{
	if (s->rc)
		return s->rc;
	char msg[sizeof(s->err.msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->rc = err_set(&s->err, code, slug, "%s", msg);
	return s->rc;
}

static int protocol(struct openai_stream *s, const char *what)
{
	return fail(s, ERR_INTERNAL, "provider_protocol", "openai: %s in the stream", what);
}

static void set_str(char **dst, json_t *v)
{
	if (!json_is_string(v) || *dst)
		return;
	*dst = xstrdup(json_string_value(v));
}

/* the current text block as the reply shows it */
static void sync_text(struct openai_stream *s)
{
	if (!s->in_text)
		return;
	struct llm_block *b = &s->reply->message.blocks[s->text_block];
	free(b->text);
	b->text = xstrndup(s->text.ptr, s->text.len);
}

static int64_t int_member(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void take_usage(struct llm_usage *u, json_t *o)
{
	if (!json_is_object(o))
		return;
	int64_t cached = int_member(json_object_get(o, "prompt_tokens_details"), "cached_tokens", 0);
	int64_t prompt = int_member(o, "prompt_tokens", -1);
	if (prompt >= 0) {
		u->input_tokens = prompt - (cached <= prompt ? cached : 0);
		u->cache_read_input_tokens = cached <= prompt ? cached : 0;
	}
	u->output_tokens = int_member(o, "completion_tokens", u->output_tokens);
}

static void on_text(struct openai_stream *s, json_t *tv)
{
	struct llm_message *m = &s->reply->message;
	size_t n = json_string_length(tv);
	if (!n)
		return;
	if (!s->in_text) {
		buf_reset(&s->text);
		llm_message_add_text(m, "");
		s->text_block = m->nblocks - 1;
		s->in_text = true;
	}
	buf_add(&s->text, json_string_value(tv), n);
	s->delivered = true;
	if (s->cb->on_text)
		s->cb->on_text(s->cb->cls, s->text_block, json_string_value(tv), n);
}

/* the call a fragment continues, or a new one */
static struct call *call_for(struct openai_stream *s, json_t *tc)
{
	json_t *iv = json_object_get(tc, "index");
	json_int_t index = json_is_integer(iv) ? json_integer_value(iv) : -1;
	const char *id = json_string_value(json_object_get(tc, "id"));
	struct llm_message *m = &s->reply->message;
	for (size_t i = 0; i < s->ncalls; i++) {
		struct call *c = &s->calls[i];
		if (index >= 0 ? c->index == index
		    : id       ? !strcmp(m->blocks[c->block].id, id)
			       : i == s->ncalls - 1)
			return c;
	}
	sync_text(s);
	s->in_text = false;
	s->calls = xrealloc(s->calls, (s->ncalls + 1) * sizeof(*s->calls));
	struct call *c = &s->calls[s->ncalls++];
	c->index = index;
	buf_init(&c->args, 0);
	llm_message_add_tool_use(m, "", "", NULL);
	c->block = m->nblocks - 1;
	return c;
}

static int on_tool_fragment(struct openai_stream *s, json_t *tc)
{
	if (!json_is_object(tc))
		return protocol(s, "a tool call that is not an object");
	struct call *c = call_for(s, tc);
	struct llm_block *b = &s->reply->message.blocks[c->block];
	const char *id = json_string_value(json_object_get(tc, "id"));
	json_t *fn = json_object_get(tc, "function");
	const char *name = json_string_value(json_object_get(fn, "name"));
	json_t *args = json_object_get(fn, "arguments");
	if (id && *id && !*b->id) {
		free(b->id);
		b->id = xstrdup(id);
	}
	if (name && *name && !*b->name) {
		free(b->name);
		b->name = xstrdup(name);
	}
	if (json_is_string(args)) {
		if (c->args.len + json_string_length(args) > LINE_MAX_BYTES)
			return protocol(s, "tool arguments too large");
		buf_add(&c->args, json_string_value(args), json_string_length(args));
	} else if (json_is_object(args)) {
		/* some servers send the arguments parsed, in one piece */
		char *t = json_dumps(args, JSON_COMPACT);
		if (t)
			buf_adds(&c->args, t);
		free(t);
	}
	return 0;
}

/* the content is whole: parse the calls' arguments, hand them over */
static int finish_content(struct openai_stream *s)
{
	struct llm_reply *r = s->reply;
	if (s->finished)
		return 0;
	s->finished = true;
	sync_text(s);
	for (size_t i = 0; i < s->ncalls; i++) {
		struct call *c = &s->calls[i];
		struct llm_block *b = &r->message.blocks[c->block];
		size_t k = 0;
		while (k < c->args.len && strchr(" \t\r\n", c->args.ptr[k]))
			k++;
		json_t *input = k == c->args.len ? json_object()
						 : json_loadb(c->args.ptr, c->args.len, 0, NULL);
		if (!json_is_object(input)) {
			json_decref(input);
			return fail(s, ERR_INTERNAL, "provider_protocol",
				    "openai: tool call '%.60s' arguments are not a JSON object",
				    b->name);
		}
		json_decref(b->input);
		b->input = input;
	}
	s->tools_done = true;
	for (size_t i = 0; i < s->ncalls; i++) {
		struct llm_block *b = &r->message.blocks[s->calls[i].block];
		s->delivered = true;
		if (s->cb->on_tool_use)
			s->cb->on_tool_use(s->cb->cls, s->calls[i].block, b->id, b->name, b->input);
	}
	if (!r->stop_reason)
		r->stop_reason = xstrdup(s->ncalls ? "tool_use" : "end_turn");
	r->complete = true;
	return 0;
}

static const char *stop_reason_of(const char *finish)
{
	static const char *const map[][2] = {
		{ "stop", "end_turn" },          { "length", "max_tokens" },
		{ "tool_calls", "tool_use" },    { "function_call", "tool_use" },
		{ "content_filter", "refusal" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(finish, map[i][0]))
			return map[i][1];
	return finish;
}

static int on_choice(struct openai_stream *s, json_t *choice)
{
	json_t *delta = json_object_get(choice, "delta");
	if (!s->finished && json_is_object(delta)) {
		json_t *tv = json_object_get(delta, "content");
		if (json_is_string(tv))
			on_text(s, tv);
		json_t *calls = json_object_get(delta, "tool_calls");
		size_t i;
		json_t *tc;
		json_array_foreach(calls, i, tc)
		{
			if (on_tool_fragment(s, tc))
				return s->rc;
		}
	}
	const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
	if (finish && *finish && !s->finished) {
		free(s->reply->stop_reason);
		s->reply->stop_reason = xstrdup(stop_reason_of(finish));
		return finish_content(s);
	}
	return 0;
}

/* one event's data: a chunk, [DONE], or an error */
static int dispatch(struct openai_stream *s)
{
	if (!s->has_data)
		return 0;
	if (s->data.len == 6 && !memcmp(s->data.ptr, "[DONE]", 6))
		return finish_content(s);
	json_t *d = json_loadb(s->data.ptr, s->data.len, 0, NULL);
	if (!json_is_object(d)) {
		json_decref(d);
		return protocol(s, "data that is not a JSON object");
	}
	if (s->cb->on_chunk)
		s->cb->on_chunk(s->cb->cls, d);
	int rc = 0;
	json_t *er = error_object(d);
	if (er) {
		const char *slug = error_slug(er);
		const char *msg = json_string_value(json_object_get(er, "message"));
		rc = fail(s, chunk_code(er), slug, "openai: %.40s: %.160s", slug ? slug : "error",
			  msg ? msg : "(no message)");
		goto done;
	}
	struct llm_reply *r = s->reply;
	set_str(&r->id, json_object_get(d, "id"));
	set_str(&r->model, json_object_get(d, "model"));
	take_usage(&r->usage, json_object_get(d, "usage"));
	json_t *choices = json_object_get(d, "choices");
	size_t i;
	json_t *c;
	json_array_foreach(choices, i, c)
	{
		json_t *iv = json_object_get(c, "index");
		if (json_is_object(c) && (!iv || json_integer_value(iv) == 0)) {
			rc = on_choice(s, c);
			break;
		}
	}
done:
	json_decref(d);
	return rc;
}

static int on_line(struct openai_stream *s, const char *p, size_t n)
{
	if (n == 0) {
		int rc = dispatch(s);
		buf_reset(&s->data);
		s->has_data = false;
		return rc;
	}
	if (p[0] == ':')
		return 0; /* a comment, such as a keep-alive */
	const char *colon = memchr(p, ':', n);
	size_t flen = colon ? (size_t)(colon - p) : n;
	const char *v = colon ? colon + 1 : p + n;
	size_t vlen = (size_t)(p + n - v);
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && !memcmp(p, "data", 4)) {
		if (s->has_data)
			buf_addch(&s->data, '\n');
		if (s->data.len + vlen > LINE_MAX_BYTES)
			return protocol(s, "an event too large");
		buf_add(&s->data, v, vlen);
		s->has_data = true;
	}
	return 0; /* event, id, retry and unknown fields mean nothing here */
}

int openai_stream_feed(struct openai_stream *s, const char *bytes, size_t n, struct err *e)
{
	size_t i = 0;
	while (!s->rc && i < n) {
		if (s->after_cr && bytes[i] == '\n') {
			s->after_cr = false;
			i++;
			continue;
		}
		s->after_cr = false;
		size_t j = i;
		while (j < n && bytes[j] != '\n' && bytes[j] != '\r')
			j++;
		if (s->line.len + (j - i) > LINE_MAX_BYTES) {
			protocol(s, "a line too long");
			break;
		}
		buf_add(&s->line, bytes + i, j - i);
		if (j == n)
			break;
		s->after_cr = bytes[j] == '\r';
		on_line(s, s->line.ptr, s->line.len);
		buf_reset(&s->line);
		i = j + 1;
	}
	if (s->rc)
		err_set(e, s->err.code, s->err.slug, "%s", s->err.msg);
	return s->rc;
}

int openai_stream_finish(struct openai_stream *s, struct err *e)
{
	/* a last event without its blank line still counts */
	if (!s->rc && s->line.len) {
		on_line(s, s->line.ptr, s->line.len);
		buf_reset(&s->line);
	}
	if (!s->rc)
		on_line(s, "", 0);
	if (!s->rc && !s->finished)
		fail(s, ERR_UNAVAILABLE, "stream_incomplete",
		     "openai: the stream ended before a finish_reason");
	if (s->rc)
		err_set(e, s->err.code, s->err.slug, "%s", s->err.msg);
	return s->rc;
}

void openai_stream_free(struct openai_stream *s)
{
	if (!s)
		return;
	/* the partial message: the text so far; tool calls whose arguments
	 * never finished are dropped */
	sync_text(s);
	struct llm_message *m = &s->reply->message;
	if (!s->tools_done) {
		size_t kept = 0;
		for (size_t i = 0; i < m->nblocks; i++) {
			struct llm_block *b = &m->blocks[i];
			if (b->type == LLM_BLOCK_TOOL_USE) {
				free(b->id);
				free(b->name);
				json_decref(b->input);
				continue;
			}
			m->blocks[kept++] = *b;
		}
		m->nblocks = kept;
	}
	for (size_t i = 0; i < s->ncalls; i++)
		buf_release(&s->calls[i].args);
	free(s->calls);
	buf_release(&s->line);
	buf_release(&s->data);
	buf_release(&s->text);
	free(s);
}

/* ---- the transfer (llm/http.c) ---------------------------------------- */

static void *stream_new(void *cls, struct llm_reply *reply)
{
	return openai_stream_new(reply, cls);
}

static int stream_feed(void *s, const char *bytes, size_t n, struct err *e)
{
	return openai_stream_feed(s, bytes, n, e);
}

static int stream_finish(void *s, struct err *e)
{
	return openai_stream_finish(s, e);
}

static bool stream_delivered(const void *s)
{
	return openai_stream_delivered(s);
}

static void stream_free(void *s)
{
	openai_stream_free(s);
}

static void http_error(long status, const char *body, size_t n, struct err *e)
{
	json_t *j = json_loadb(body, n, 0, NULL);
	json_t *er = error_object(j);
	const char *slug = error_slug(er);
	const char *msg = json_string_value(json_object_get(er, "message"));
	if (!er) /* {"error": "text"}, as some servers answer */
		msg = json_string_value(json_object_get(j, "error"));
	int code = llm_http_code(status);
	if (slug)
		err_set(e, code, slug, "openai: %.40s: %.160s", slug, msg ? msg : "(no message)");
	else if (msg)
		err_set(e, code, NULL, "openai: HTTP status %ld: %.160s", status, msg);
	else
		err_set(e, code, NULL, "openai: HTTP status %ld", status);
	json_decref(j);
}

static bool retryable(const struct err *e)
{
	return e->code == ERR_UNAVAILABLE || e->code == ERR_RATELIMIT;
}

static void on_retry(void *cls, int retry, int delay_ms, const struct err *why)
{
	const struct openai_callbacks *cb = cls;
	if (cb->on_retry)
		cb->on_retry(cb->cls, retry, delay_ms, why);
}

int openai_chat_stream(const struct openai_config *cfg, const struct openai_request *req,
		       const struct openai_callbacks *cb, const atomic_bool *abort,
		       struct llm_reply *reply, struct err *e)
{
	static const struct openai_callbacks none;
	llm_reply_release(reply);
	json_t *body = openai_request_json(req, e);
	if (!body)
		return e->code;
	const struct llm_http_ops ops = {
		.provider = "openai",
		.request_id_header = "x-request-id",
		.path = "/chat/completions",
		.key_header = "Authorization: Bearer ",
		.stream_new = stream_new,
		.stream_feed = stream_feed,
		.stream_finish = stream_finish,
		.stream_delivered = stream_delivered,
		.stream_free = stream_free,
		.http_error = http_error,
		.retryable = retryable,
		.on_retry = on_retry,
		.cls = (void *)(cb ? cb : &none),
	};
	const char *base = cfg->base_url && *cfg->base_url ? cfg->base_url : OPENAI_DEFAULT_BASE_URL;
	int rc = llm_http_stream(&ops, &cfg->http, base, cfg->api_key, body, abort, reply, e);
	json_decref(body);
	return rc;
}
