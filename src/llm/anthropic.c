/* anthropic.c — the Anthropic Messages API client: the request body, the
 * event-stream decoder, and the call, made by the shared transfer of
 * llm/http.c (see anthropic.h for the policies). */
#include "llm/anthropic.h"
#include "llm/http.h"
#include "base/buf.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVENT_MAX (8u << 20) /* one event's line or data */

/* ---- errors ---------------------------------------------------------- */

/* The project's code for an API error type, or for an HTTP status when the
 * type is unknown. */
static int code_of(const char *type, long status)
{
	static const struct {
		const char *type;
		int code;
	} types[] = {
		{ "invalid_request_error", ERR_INVALID }, { "authentication_error", ERR_AUTH },
		{ "permission_error", ERR_PERM },         { "not_found_error", ERR_NOTFOUND },
		{ "request_too_large", ERR_TOOLARGE },    { "rate_limit_error", ERR_RATELIMIT },
		{ "api_error", ERR_UNAVAILABLE },         { "overloaded_error", ERR_UNAVAILABLE },
		{ "timeout_error", ERR_UNAVAILABLE },
	};
	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i].type))
			return types[i].code;
	return llm_http_code(status);
}

/* Error types an `error` event may carry that a new attempt can cure. */
static bool type_retryable(const char *type)
{
	return !strcmp(type, "overloaded_error") || !strcmp(type, "api_error") ||
	       !strcmp(type, "rate_limit_error") || !strcmp(type, "timeout_error");
}

/* ---- the request ----------------------------------------------------- */

/* json_string, failing (NULL) on invalid UTF-8 like jansson does; the
 * caller reports it */
static json_t *block_json(const struct llm_block *b)
{
	json_t *o = NULL;
	switch (b->type) {
	case LLM_BLOCK_TEXT: o = json_pack("{s:s, s:s}", "type", "text", "text", b->text); break;
	case LLM_BLOCK_TOOL_USE:
		o = json_pack("{s:s, s:s, s:s, s:O}", "type", "tool_use", "id", b->id, "name",
			      b->name, "input", b->input);
		break;
	case LLM_BLOCK_TOOL_RESULT:
		o = json_pack("{s:s, s:s, s:s}", "type", "tool_result", "tool_use_id", b->id,
			      "content", b->text);
		if (o && b->is_error)
			json_object_set_new(o, "is_error", json_true());
		break;
	case LLM_BLOCK_OTHER: o = json_incref(b->raw); break;
	}
	return o;
}

json_t *anthropic_request_json(const struct anthropic_request *req, struct err *e)
{
	if (!req->model || !*req->model) {
		err_set(e, ERR_INVALID, NULL, "anthropic: no model");
		return NULL;
	}
	if (req->max_tokens <= 0) {
		err_set(e, ERR_INVALID, NULL, "anthropic: max_tokens must be positive");
		return NULL;
	}
	if (!req->nmessages) {
		err_set(e, ERR_INVALID, NULL, "anthropic: no messages");
		return NULL;
	}
	json_t *body = json_pack("{s:s, s:i, s:b}", "model", req->model, "max_tokens",
				 req->max_tokens, "stream", 1);
	json_t *messages = json_array();
	json_object_set_new(body, "messages", messages);
	if (!json_is_object(body) || !json_object_get(body, "model"))
		goto bad;
	if (req->system) {
		json_t *s = json_string(req->system);
		if (!s)
			goto bad;
		json_object_set_new(body, "system", s);
	}
	for (size_t i = 0; i < req->nmessages; i++) {
		const struct llm_message *m = &req->messages[i];
		json_t *content = json_array();
		json_array_append_new(messages, json_pack("{s:s, s:o}", "role",
							  m->role == LLM_USER ? "user" : "assistant",
							  "content", content));
		for (size_t j = 0; j < m->nblocks; j++) {
			json_t *b = block_json(&m->blocks[j]);
			if (!b)
				goto bad;
			json_array_append_new(content, b);
		}
	}
	if (req->ntools) {
		json_t *tools = json_array();
		json_object_set_new(body, "tools", tools);
		for (size_t i = 0; i < req->ntools; i++) {
			const struct llm_tool *t = &req->tools[i];
			json_t *o = json_pack("{s:s}", "name", t->name ? t->name : "");
			if (!o)
				goto bad;
			if (t->description) {
				json_t *d = json_string(t->description);
				if (!d) {
					json_decref(o);
					goto bad;
				}
				json_object_set_new(o, "description", d);
			}
			json_object_set_new(o, "input_schema",
					    t->input_schema ? json_incref(t->input_schema)
							    : json_pack("{s:s}", "type", "object"));
			json_array_append_new(tools, o);
		}
	}
	if (req->extra) {
		const char *k;
		json_t *v;
		json_object_foreach(req->extra, k, v)
		{
			if (strcmp(k, "stream"))
				json_object_set(body, k, v);
		}
	}
	return body;
bad:
	json_decref(body);
	err_set(e, ERR_INVALID, NULL, "anthropic: the request holds text that is not UTF-8");
	return NULL;
}

/* ---- the event-stream decoder ---------------------------------------- */

struct anthropic_stream {
	struct llm_reply *reply;
	const struct anthropic_callbacks *cb;
	struct buf line;  /* the line being read */
	bool after_cr;    /* the last byte ended a line with \r */
	struct buf event; /* the event's "event:" field */
	struct buf data;  /* its "data:" lines joined with \n */
	bool has_data;
	/* per content block, by index: text or tool input so far, and whether
	 * the block stopped */
	struct buf *acc;
	bool *stopped;
	size_t nacc;
	bool started, delivered;
	int rc;
	struct err err;
};

struct anthropic_stream *anthropic_stream_new(struct llm_reply *reply,
					      const struct anthropic_callbacks *cb)
{
	static const struct anthropic_callbacks none;
	struct anthropic_stream *s = xcalloc(1, sizeof(*s));
	s->reply = reply;
	s->cb = cb ? cb : &none;
	reply->message.role = LLM_ASSISTANT;
	return s;
}

bool anthropic_stream_delivered(const struct anthropic_stream *s)
{
	return s->delivered;
}

static int fail(struct anthropic_stream *s, int code, const char *slug, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct anthropic_stream *s, int code, const char *slug, const char *fmt, ...)
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

static int protocol(struct anthropic_stream *s, const char *what, const char *event)
{
	return fail(s, ERR_INTERNAL, "provider_protocol", "anthropic: %s in '%.40s' event", what,
		    event);
}

/* the text block i as the reply shows it: its accumulated text */
static void sync_text(struct anthropic_stream *s, size_t i)
{
	struct llm_block *b = &s->reply->message.blocks[i];
	free(b->text);
	b->text = xstrndup(s->acc[i].ptr, s->acc[i].len);
}

static int64_t int_member(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void set_str(char **dst, json_t *v)
{
	if (!json_is_string(v))
		return;
	free(*dst);
	*dst = xstrdup(json_string_value(v));
}

/* usage counters present in u replace those of the reply: message_delta
 * carries cumulative totals, as the SDKs read them */
static void take_usage(struct llm_usage *u, json_t *o)
{
	if (!json_is_object(o))
		return;
	u->input_tokens = int_member(o, "input_tokens", u->input_tokens);
	u->output_tokens = int_member(o, "output_tokens", u->output_tokens);
	u->cache_creation_input_tokens = int_member(o, "cache_creation_input_tokens",
						    u->cache_creation_input_tokens);
	u->cache_read_input_tokens = int_member(o, "cache_read_input_tokens",
						u->cache_read_input_tokens);
}

/* the block an event names, or NULL after recording the protocol error */
static struct llm_block *block_at(struct anthropic_stream *s, json_t *d, const char *type,
				  size_t *index)
{
	json_t *iv = json_object_get(d, "index");
	if (!json_is_integer(iv) || json_integer_value(iv) < 0 ||
	    (size_t)json_integer_value(iv) >= s->reply->message.nblocks) {
		protocol(s, "no such content block", type);
		return NULL;
	}
	*index = (size_t)json_integer_value(iv);
	if (s->stopped[*index]) {
		protocol(s, "content block already stopped", type);
		return NULL;
	}
	return &s->reply->message.blocks[*index];
}

static int on_block_start(struct anthropic_stream *s, json_t *d, const char *type)
{
	struct llm_message *m = &s->reply->message;
	json_t *cb = json_object_get(d, "content_block");
	json_t *iv = json_object_get(d, "index");
	if (!json_is_object(cb) || !json_is_integer(iv) ||
	    json_integer_value(iv) != (json_int_t)m->nblocks)
		return protocol(s, "content block out of order", type);
	const char *kind = json_string_value(json_object_get(cb, "type"));
	s->acc = xrealloc(s->acc, (m->nblocks + 1) * sizeof(*s->acc));
	s->stopped = xrealloc(s->stopped, (m->nblocks + 1) * sizeof(*s->stopped));
	buf_init(&s->acc[m->nblocks], 0);
	s->stopped[m->nblocks] = false;
	s->nacc = m->nblocks + 1;
	if (kind && !strcmp(kind, "text")) {
		const char *t = json_string_value(json_object_get(cb, "text"));
		buf_adds(&s->acc[m->nblocks], t ? t : "");
		llm_message_add_text(m, t);
	} else if (kind && !strcmp(kind, "tool_use")) {
		const char *id = json_string_value(json_object_get(cb, "id"));
		const char *name = json_string_value(json_object_get(cb, "name"));
		if (!id || !name)
			return protocol(s, "tool_use without id or name", type);
		llm_message_add_tool_use(m, id, name, NULL);
	} else {
		llm_message_add_raw(m, cb);
	}
	return 0;
}

static int on_block_delta(struct anthropic_stream *s, json_t *d, const char *type)
{
	size_t i;
	struct llm_block *b = block_at(s, d, type, &i);
	if (!b)
		return s->rc;
	json_t *delta = json_object_get(d, "delta");
	const char *kind = json_string_value(json_object_get(delta, "type"));
	if (!kind)
		return protocol(s, "delta without type", type);
	if (!strcmp(kind, "text_delta")) {
		json_t *tv = json_object_get(delta, "text");
		if (b->type != LLM_BLOCK_TEXT || !json_is_string(tv))
			return protocol(s, "text_delta out of place", type);
		const char *t = json_string_value(tv);
		size_t n = json_string_length(tv);
		buf_add(&s->acc[i], t, n);
		s->delivered = true;
		if (s->cb->on_text)
			s->cb->on_text(s->cb->cls, i, t, n);
	} else if (!strcmp(kind, "input_json_delta")) {
		json_t *pv = json_object_get(delta, "partial_json");
		if (b->type != LLM_BLOCK_TOOL_USE || !json_is_string(pv))
			return protocol(s, "input_json_delta out of place", type);
		if (s->acc[i].len + json_string_length(pv) > EVENT_MAX)
			return protocol(s, "tool input too large", type);
		buf_add(&s->acc[i], json_string_value(pv), json_string_length(pv));
	}
	/* other deltas (thinking, signature, citations) belong to blocks kept
	 * raw; on_event has them */
	return 0;
}

static int on_block_stop(struct anthropic_stream *s, json_t *d, const char *type)
{
	size_t i;
	struct llm_block *b = block_at(s, d, type, &i);
	if (!b)
		return s->rc;
	/* a tool_use counts as stopped once its input parsed: one that fails
	 * is dropped from the partial message like an unfinished one */
	s->stopped[i] = b->type != LLM_BLOCK_TOOL_USE;
	if (b->type == LLM_BLOCK_TEXT) {
		sync_text(s, i);
	} else if (b->type == LLM_BLOCK_TOOL_USE) {
		json_t *input = json_object();
		if (s->acc[i].len) {
			json_error_t je;
			json_decref(input);
			input = json_loadb(s->acc[i].ptr, s->acc[i].len, 0, &je);
			if (!json_is_object(input)) {
				json_decref(input);
				return fail(s, ERR_INTERNAL, "provider_protocol",
					    "anthropic: tool_use '%.60s' input is not a JSON object",
					    b->name);
			}
		}
		json_decref(b->input);
		b->input = input;
		s->stopped[i] = true;
		s->delivered = true;
		if (s->cb->on_tool_use)
			s->cb->on_tool_use(s->cb->cls, i, b->id, b->name, b->input);
	}
	return 0;
}

static int on_error_event(struct anthropic_stream *s, json_t *d)
{
	json_t *er = json_object_get(d, "error");
	const char *type = json_string_value(json_object_get(er, "type"));
	const char *msg = json_string_value(json_object_get(er, "message"));
	if (!type)
		type = "api_error";
	return fail(s, code_of(type, 0), type, "anthropic: %.40s: %.160s", type,
		    msg ? msg : "(no message)");
}

/* one whole event: its name (or its data's "type") and its JSON data */
static int dispatch(struct anthropic_stream *s)
{
	if (!s->has_data)
		return 0;
	json_error_t je;
	json_t *d = json_loadb(s->data.ptr, s->data.len, 0, &je);
	char type[64];
	snprintf(type, sizeof(type), "%s", s->event.len ? s->event.ptr : "");
	if (!json_is_object(d)) {
		json_decref(d);
		return protocol(s, "data is not a JSON object", type);
	}
	if (!*type)
		snprintf(type, sizeof(type), "%s",
			 json_string_value(json_object_get(d, "type")) ?: "");
	if (s->cb->on_event)
		s->cb->on_event(s->cb->cls, type, d);
	struct llm_reply *r = s->reply;
	int rc = 0;
	if (!strcmp(type, "error")) {
		rc = on_error_event(s, d);
	} else if (!strcmp(type, "ping")) {
		;
	} else if (!strcmp(type, "message_start")) {
		json_t *msg = json_object_get(d, "message");
		if (s->started || !json_is_object(msg)) {
			rc = protocol(s, s->started ? "second message" : "no message", type);
		} else {
			s->started = true;
			set_str(&r->id, json_object_get(msg, "id"));
			set_str(&r->model, json_object_get(msg, "model"));
			take_usage(&r->usage, json_object_get(msg, "usage"));
		}
	} else if (!s->started) {
		/* everything else belongs to a message; unknown events are
		 * passed over wherever they come */
		if (!strncmp(type, "content_block_", 14) || !strncmp(type, "message_", 8))
			rc = protocol(s, "event before message_start", type);
	} else if (!strcmp(type, "content_block_start")) {
		rc = on_block_start(s, d, type);
	} else if (!strcmp(type, "content_block_delta")) {
		rc = on_block_delta(s, d, type);
	} else if (!strcmp(type, "content_block_stop")) {
		rc = on_block_stop(s, d, type);
	} else if (!strcmp(type, "message_delta")) {
		json_t *delta = json_object_get(d, "delta");
		set_str(&r->stop_reason, json_object_get(delta, "stop_reason"));
		set_str(&r->stop_sequence, json_object_get(delta, "stop_sequence"));
		take_usage(&r->usage, json_object_get(d, "usage"));
	} else if (!strcmp(type, "message_stop")) {
		r->complete = true;
	}
	json_decref(d);
	return rc;
}

static int on_line(struct anthropic_stream *s, const char *p, size_t n)
{
	if (n == 0) {
		int rc = dispatch(s);
		buf_reset(&s->event);
		buf_reset(&s->data);
		s->has_data = false;
		return rc;
	}
	if (p[0] == ':')
		return 0; /* a comment */
	const char *colon = memchr(p, ':', n);
	size_t flen = colon ? (size_t)(colon - p) : n;
	const char *v = colon ? colon + 1 : p + n;
	size_t vlen = (size_t)(p + n - v);
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 5 && !memcmp(p, "event", 5)) {
		buf_reset(&s->event);
		buf_add(&s->event, v, vlen);
	} else if (flen == 4 && !memcmp(p, "data", 4)) {
		if (s->has_data)
			buf_addch(&s->data, '\n');
		if (s->data.len + vlen > EVENT_MAX)
			return protocol(s, "event too large", s->event.ptr);
		buf_add(&s->data, v, vlen);
		s->has_data = true;
	}
	return 0; /* id, retry and unknown fields mean nothing here */
}

int anthropic_stream_feed(struct anthropic_stream *s, const char *bytes, size_t n, struct err *e)
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
		if (s->line.len + (j - i) > EVENT_MAX) {
			protocol(s, "line too long", s->event.ptr);
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

int anthropic_stream_finish(struct anthropic_stream *s, struct err *e)
{
	if (!s->rc && !s->reply->complete)
		fail(s, ERR_UNAVAILABLE, "stream_incomplete",
		     "anthropic: the stream ended before message_stop");
	if (s->rc)
		err_set(e, s->err.code, s->err.slug, "%s", s->err.msg);
	return s->rc;
}

void anthropic_stream_free(struct anthropic_stream *s)
{
	if (!s)
		return;
	/* the partial message: text blocks as far as they got, tool calls
	 * whose input never finished dropped */
	struct llm_message *m = &s->reply->message;
	size_t kept = 0;
	for (size_t i = 0; i < m->nblocks; i++) {
		struct llm_block *b = &m->blocks[i];
		if (i < s->nacc && !s->stopped[i] && b->type == LLM_BLOCK_TEXT)
			sync_text(s, i);
		if (i < s->nacc && !s->stopped[i] && b->type == LLM_BLOCK_TOOL_USE) {
			free(b->id);
			free(b->name);
			json_decref(b->input);
			continue;
		}
		m->blocks[kept++] = *b;
	}
	m->nblocks = kept;
	for (size_t i = 0; i < s->nacc; i++)
		buf_release(&s->acc[i]);
	free(s->acc);
	free(s->stopped);
	buf_release(&s->line);
	buf_release(&s->event);
	buf_release(&s->data);
	free(s);
}

/* ---- the transfer (llm/http.c) ---------------------------------------- */

static void *stream_new(void *cls, struct llm_reply *reply)
{
	return anthropic_stream_new(reply, cls);
}

static int stream_feed(void *s, const char *bytes, size_t n, struct err *e)
{
	return anthropic_stream_feed(s, bytes, n, e);
}

static int stream_finish(void *s, struct err *e)
{
	return anthropic_stream_finish(s, e);
}

static bool stream_delivered(const void *s)
{
	return anthropic_stream_delivered(s);
}

static void stream_free(void *s)
{
	anthropic_stream_free(s);
}

static void http_error(long status, const char *body, size_t n, struct err *e)
{
	json_t *j = json_loadb(body, n, 0, NULL);
	json_t *er = json_object_get(j, "error");
	const char *type = json_string_value(json_object_get(er, "type"));
	const char *msg = json_string_value(json_object_get(er, "message"));
	if (type)
		err_set(e, code_of(type, status), type, "anthropic: %.40s: %.160s", type,
			msg ? msg : "(no message)");
	else
		err_set(e, code_of(NULL, status), NULL, "anthropic: HTTP status %ld", status);
	json_decref(j);
}

static bool retryable(const struct err *e)
{
	return type_retryable(e->slug);
}

static void on_retry(void *cls, int retry, int delay_ms, const struct err *why)
{
	const struct anthropic_callbacks *cb = cls;
	if (cb->on_retry)
		cb->on_retry(cb->cls, retry, delay_ms, why);
}

int anthropic_messages_stream(const struct anthropic_config *cfg,
			      const struct anthropic_request *req,
			      const struct anthropic_callbacks *cb, const atomic_bool *abort,
			      struct llm_reply *reply, struct err *e)
{
	static const struct anthropic_callbacks none;
	llm_reply_release(reply);
	if (!cfg->api_key || !*cfg->api_key)
		return err_set(e, ERR_INVALID, NULL, "anthropic: no api key");
	json_t *body = anthropic_request_json(req, e);
	if (!body)
		return e->code;
	const struct llm_http_ops ops = {
		.provider = "anthropic",
		.request_id_header = "request-id",
		.path = "/v1/messages",
		.key_header = "x-api-key: ",
		.extra_header = "anthropic-version: " ANTHROPIC_VERSION,
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
	const char *base = cfg->base_url && *cfg->base_url ? cfg->base_url
							   : ANTHROPIC_DEFAULT_BASE_URL;
	int rc = llm_http_stream(&ops, &cfg->http, base, cfg->api_key, body, abort, reply, e);
	json_decref(body);
	return rc;
}
