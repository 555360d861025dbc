/* anthropic.c — the Anthropic Messages API client: the request body, the
 * event-stream decoder, and the transfer with its retries (see
 * anthropic.h for the policies). */
#include "llm/anthropic.h"
#include "base/buf.h"
#include "base/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EVENT_MAX (8u << 20)       /* one event's line or data */
#define ERROR_BODY_MAX (64u << 10) /* what is kept of an error response */

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
	switch (status) {
	case 400: return ERR_INVALID;
	case 401: return ERR_AUTH;
	case 403: return ERR_PERM;
	case 404: return ERR_NOTFOUND;
	case 408: return ERR_UNAVAILABLE;
	case 409: return ERR_CONFLICT;
	case 413: return ERR_TOOLARGE;
	case 429: return ERR_RATELIMIT;
	default: return status >= 500 || status == 0 ? ERR_UNAVAILABLE : ERR_INVALID;
	}
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
	s->stopped[i] = true;
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

/* ---- the transfer ---------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct attempt {
	CURL *k;
	struct anthropic_stream *stream;
	long status;
	bool sse;          /* the response is an event stream */
	struct buf body;   /* any other response body, capped */
	bool stream_stop;  /* the decoder failed: the write callback ended it */
	int64_t last_byte; /* now_ms() of the last byte received */
	char retry_after[64], retry_after_ms[64], should_retry[8], request_id[80];
	char content_type[64];
};

/* copies a header's value (trimmed) into dst when name matches */
static void header_take(char *dst, size_t cap, const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name);
	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl))
		return;
	const char *v = line + nl + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	snprintf(dst, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
	struct attempt *a = cls;
	size_t len = size * n;
	a->last_byte = now_ms();
	if (len > 5 && !memcmp(p, "HTTP/", 5)) {
		/* a new response (after a 100 Continue, say): forget the last */
		a->retry_after[0] = a->retry_after_ms[0] = a->should_retry[0] = '\0';
		a->content_type[0] = '\0';
		return len;
	}
	header_take(a->retry_after, sizeof(a->retry_after), p, len, "retry-after");
	header_take(a->retry_after_ms, sizeof(a->retry_after_ms), p, len, "retry-after-ms");
	header_take(a->should_retry, sizeof(a->should_retry), p, len, "x-should-retry");
	header_take(a->request_id, sizeof(a->request_id), p, len, "request-id");
	header_take(a->content_type, sizeof(a->content_type), p, len, "content-type");
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	struct attempt *a = cls;
	size_t len = size * n;
	a->last_byte = now_ms();
	if (!a->status) {
		curl_easy_getinfo(a->k, CURLINFO_RESPONSE_CODE, &a->status);
		a->sse = !strncasecmp(a->content_type, "text/event-stream", 17);
	}
	if (a->status >= 200 && a->status < 300 && a->sse) {
		struct err ignored = { 0 };
		if (anthropic_stream_feed(a->stream, p, len, &ignored)) {
			a->stream_stop = true;
			return 0;
		}
		return len;
	}
	if (a->body.len < ERROR_BODY_MAX)
		buf_add(&a->body, p,
			len < ERROR_BODY_MAX - a->body.len ? len : ERROR_BODY_MAX - a->body.len);
	return len;
}

enum outcome { DONE, ABORTED, FAILED, RETRY };

/* The delay the response asks for, in ms, or -1 when it asks for none
 * usable (absent, unparsable, not positive, above the bound). */
static long asked_delay(const struct attempt *a, long bound)
{
	double ms = -1;
	char *end;
	if (a->retry_after_ms[0]) {
		double v = strtod(a->retry_after_ms, &end);
		if (end != a->retry_after_ms && !*end)
			ms = v;
	}
	if (ms < 0 && a->retry_after[0]) {
		double v = strtod(a->retry_after, &end);
		if (end != a->retry_after && !*end) {
			ms = v * 1000;
		} else {
			time_t t = curl_getdate(a->retry_after, NULL);
			if (t != -1)
				ms = ((double)t - (double)time(NULL)) * 1000;
		}
	}
	return ms > 0 && ms <= bound ? (long)ms : -1;
}

static long backoff(const struct anthropic_config *cfg, int retry)
{
	long initial = cfg->backoff_initial_ms > 0 ? cfg->backoff_initial_ms : 500;
	long max = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : 8000;
	double d = (double)initial;
	for (int i = 1; i < retry && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	uint32_t r;
	random_bytes((unsigned char *)&r, sizeof(r));
	return (long)(d * (1.0 - 0.25 * ((double)r / 4294967296.0)));
}

static bool aborted(const atomic_bool *abort)
{
	return abort && atomic_load(abort);
}

/* Sleeps ms, waking early for an abort; returns true if aborted. */
static bool wait_ms(long ms, const atomic_bool *abort)
{
	int64_t end = now_ms() + ms;
	for (;;) {
		if (aborted(abort))
			return true;
		int64_t left = end - now_ms();
		if (left <= 0)
			return false;
		if (left > ANTHROPIC_POLL_MS)
			left = ANTHROPIC_POLL_MS;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Classifies a non-2xx response: sets e, says whether to retry. */
static bool http_error(const struct attempt *a, struct err *e)
{
	json_t *j = json_loadb(a->body.ptr, a->body.len, 0, NULL);
	json_t *er = json_object_get(j, "error");
	const char *type = json_string_value(json_object_get(er, "type"));
	const char *msg = json_string_value(json_object_get(er, "message"));
	if (type)
		err_set(e, code_of(type, a->status), type, "anthropic: %.40s: %.160s", type,
			msg ? msg : "(no message)");
	else
		err_set(e, code_of(NULL, a->status), NULL, "anthropic: HTTP status %ld", a->status);
	json_decref(j);
	if (!strcmp(a->should_retry, "true"))
		return true;
	if (!strcmp(a->should_retry, "false"))
		return false;
	return a->status == 408 || a->status == 409 || a->status == 429 || a->status >= 500;
}

/* One HTTP request: its outcome, with e set when it failed. */
static enum outcome attempt_run(CURL *k, struct attempt *a, const struct anthropic_config *cfg,
				const atomic_bool *abort, const char *url, struct err *e)
{
	CURLM *multi = curl_multi_init();
	if (!multi)
		die("cannot start libcurl");
	curl_multi_add_handle(multi, k);
	long idle = cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : 300000;
	a->last_byte = now_ms();
	CURLcode cc = CURLE_OK;
	bool stopped = false, idled = false;
	for (;;) {
		int running = 0;
		if (curl_multi_perform(multi, &running) != CURLM_OK) {
			cc = CURLE_FAILED_INIT;
			break;
		}
		if (!running) {
			int left;
			CURLMsg *msg;
			while ((msg = curl_multi_info_read(multi, &left)))
				if (msg->msg == CURLMSG_DONE)
					cc = msg->data.result;
			break;
		}
		if (aborted(abort)) {
			stopped = true;
			break;
		}
		if (now_ms() - a->last_byte > idle) {
			idled = true;
			break;
		}
		curl_multi_poll(multi, NULL, 0, ANTHROPIC_POLL_MS, NULL);
	}
	curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &a->status);
	curl_multi_remove_handle(multi, k);
	curl_multi_cleanup(multi);

	if (stopped)
		return ABORTED;
	bool delivered = anthropic_stream_delivered(a->stream);
	if (a->stream_stop) {
		/* the decoder failed: an error event or a broken protocol */
		anthropic_stream_finish(a->stream, e);
		return !delivered && e->code != ERR_INTERNAL && type_retryable(e->slug) ? RETRY
											: FAILED;
	}
	if (idled || cc != CURLE_OK) {
		const char *why = idled ? "no data for too long" : curl_easy_strerror(cc);
		if (a->status >= 200 && a->status < 300)
			err_set(e, ERR_UNAVAILABLE, "connection_lost",
				"anthropic: connection lost mid-stream: %s", why);
		else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
			 cc == CURLE_COULDNT_RESOLVE_PROXY)
			err_set(e, ERR_UNAVAILABLE, "connection_failed",
				"anthropic: cannot connect to %.120s: %s", url, why);
		else
			err_set(e, ERR_UNAVAILABLE, "connection_failed",
				"anthropic: request failed: %s", why);
		return delivered ? FAILED : RETRY;
	}
	if (a->status < 200 || a->status >= 300)
		return http_error(a, e) ? RETRY : FAILED;
	if (!a->sse) {
		err_set(e, ERR_INTERNAL, "provider_protocol",
			"anthropic: expected an event stream, got '%.40s'",
			a->content_type[0] ? a->content_type : "no content type");
		return FAILED;
	}
	if (anthropic_stream_finish(a->stream, e))
		return delivered ? FAILED : RETRY;
	return DONE;
}

int anthropic_messages_stream(const struct anthropic_config *cfg,
			      const struct anthropic_request *req,
			      const struct anthropic_callbacks *cb, const atomic_bool *abort,
			      struct llm_reply *reply, struct err *e)
{
	int rc = 0;
	char *url = NULL, *key_header = NULL, *text = NULL;
	struct curl_slist *headers = NULL;
	CURL *k = NULL;
	llm_reply_release(reply);
	if (!cfg->api_key || !*cfg->api_key) {
		rc = err_set(e, ERR_INVALID, NULL, "anthropic: no api key");
		goto done;
	}
	json_t *body = anthropic_request_json(req, e);
	if (!body) {
		rc = e->code;
		goto done;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);

	const char *base = cfg->base_url && *cfg->base_url ? cfg->base_url
							   : ANTHROPIC_DEFAULT_BASE_URL;
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	url = xasprintf("%.*s/v1/messages", (int)blen, base);
	key_header = xasprintf("x-api-key: %s", cfg->api_key);
	headers = curl_slist_append(headers, key_header);
	headers = curl_slist_append(headers, "anthropic-version: " ANTHROPIC_VERSION);
	headers = curl_slist_append(headers, "content-type: application/json");
	headers = curl_slist_append(headers, "accept: text/event-stream");
	headers = curl_slist_append(headers, "Expect:");

	pthread_once(&curl_once, curl_init_once);
	k = curl_easy_init();
	if (!k)
		die("cannot start libcurl");
	int max_retries = cfg->max_retries < 0 ? 0 : cfg->max_retries ? cfg->max_retries : 2;
	for (int retry = 0;; retry++) {
		struct attempt a = { 0 };
		struct err ae = { 0 };
		llm_reply_release(reply);
		reply->attempts = retry + 1;
		a.k = k;
		a.stream = anthropic_stream_new(reply, cb);
		buf_init(&a.body, 0);
		curl_easy_reset(k);
		curl_easy_setopt(k, CURLOPT_URL, url);
		curl_easy_setopt(k, CURLOPT_POST, 1L);
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
		curl_easy_setopt(k, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(k, CURLOPT_USERAGENT, "plue");
		curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(k, CURLOPT_HEADERDATA, &a);
		curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(k, CURLOPT_WRITEDATA, &a);
		curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS,
				 cfg->connect_timeout_ms > 0 ? (long)cfg->connect_timeout_ms
							     : 10000L);
		curl_easy_setopt(k, CURLOPT_TIMEOUT_MS,
				 cfg->timeout_ms > 0 ? cfg->timeout_ms : 1800000L);
		curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(k, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(k, CURLOPT_ACCEPT_ENCODING, "");
		enum outcome o = attempt_run(k, &a, cfg, abort, url, &ae);
		anthropic_stream_free(a.stream);
		buf_release(&a.body);
		snprintf(reply->request_id, sizeof(reply->request_id), "%s", a.request_id);
		if (o == DONE)
			break;
		if (o == ABORTED) {
			reply->aborted = true;
			rc = ANTHROPIC_ABORTED;
			break;
		}
		if (o == FAILED || retry >= max_retries) {
			rc = err_set(e, ae.code, ae.slug, "%s", ae.msg);
			break;
		}
		long bound = cfg->retry_after_max_ms > 0 ? cfg->retry_after_max_ms : 60000;
		long delay = asked_delay(&a, bound);
		if (delay < 0)
			delay = backoff(cfg, retry + 1);
		if (cb && cb->on_retry)
			cb->on_retry(cb->cls, retry + 1, (int)delay, &ae);
		if (wait_ms(delay, abort)) {
			reply->aborted = true;
			rc = ANTHROPIC_ABORTED;
			break;
		}
	}
done:
	if (k)
		curl_easy_cleanup(k);
	for (struct curl_slist *h = headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data)); /* the key's copy */
	curl_slist_free_all(headers);
	if (key_header) {
		explicit_bzero(key_header, strlen(key_header));
		free(key_header);
	}
	free(text);
	free(url);
	return rc;
}
