/* http.c — the streamed POST with retries and abort that the model clients
 * share (see http.h). */
#include "llm/http.h"
#include "base/buf.h"
#include "base/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ERROR_BODY_MAX (64u << 10) /* what is kept of an error response */

int llm_http_code(long status)
{
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct attempt {
	CURL *k;
	const struct llm_http_ops *ops;
	void *stream;
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
	header_take(a->request_id, sizeof(a->request_id), p, len, a->ops->request_id_header);
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
		if (a->ops->stream_feed(a->stream, p, len, &ignored)) {
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

static long backoff(const struct llm_http_config *cfg, int retry)
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
		if (left > LLM_HTTP_POLL_MS)
			left = LLM_HTTP_POLL_MS;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Classifies a non-2xx response: sets e, says whether to retry. */
static bool http_error(const struct attempt *a, struct err *e)
{
	a->ops->http_error(a->status, a->body.ptr, a->body.len, e);
	if (!strcmp(a->should_retry, "true"))
		return true;
	if (!strcmp(a->should_retry, "false"))
		return false;
	return a->status == 408 || a->status == 409 || a->status == 429 || a->status >= 500;
}

/* One HTTP request: its outcome, with e set when it failed. */
static enum outcome attempt_run(CURL *k, struct attempt *a, const struct llm_http_config *cfg,
				const atomic_bool *abort, const char *url, struct err *e)
{
	const struct llm_http_ops *ops = a->ops;
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
		curl_multi_poll(multi, NULL, 0, LLM_HTTP_POLL_MS, NULL);
	}
	curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &a->status);
	curl_multi_remove_handle(multi, k);
	curl_multi_cleanup(multi);

	if (stopped)
		return ABORTED;
	bool delivered = ops->stream_delivered(a->stream);
	if (a->stream_stop) {
		/* the decoder failed: an error event or a broken protocol */
		ops->stream_finish(a->stream, e);
		return !delivered && e->code != ERR_INTERNAL && ops->retryable(e) ? RETRY : FAILED;
	}
	if (idled || cc != CURLE_OK) {
		const char *why = idled ? "no data for too long" : curl_easy_strerror(cc);
		if (a->status >= 200 && a->status < 300)
			err_set(e, ERR_UNAVAILABLE, "connection_lost",
				"%s: connection lost mid-stream: %s", ops->provider, why);
		else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
			 cc == CURLE_COULDNT_RESOLVE_PROXY)
			err_set(e, ERR_UNAVAILABLE, "connection_failed",
				"%s: cannot connect to %.120s: %s", ops->provider, url, why);
		else
			err_set(e, ERR_UNAVAILABLE, "connection_failed", "%s: request failed: %s",
				ops->provider, why);
		return delivered ? FAILED : RETRY;
	}
	if (a->status < 200 || a->status >= 300)
		return http_error(a, e) ? RETRY : FAILED;
	if (!a->sse) {
		err_set(e, ERR_INTERNAL, "provider_protocol",
			"%s: expected an event stream, got '%.40s'", ops->provider,
			a->content_type[0] ? a->content_type : "no content type");
		return FAILED;
	}
	if (ops->stream_finish(a->stream, e))
		return delivered ? FAILED : RETRY;
	return DONE;
}

static int stream_post(const struct llm_http_ops *ops, const struct llm_http_config *cfg,
		       const char *url, const struct curl_slist *headers, const char *body,
		       const atomic_bool *abort, struct llm_reply *reply, struct err *e)
{
	int rc = 0;
	pthread_once(&curl_once, curl_init_once);
	CURL *k = curl_easy_init();
	if (!k)
		die("cannot start libcurl");
	int max_retries = cfg->max_retries < 0 ? 0 : cfg->max_retries ? cfg->max_retries : 2;
	for (int retry = 0;; retry++) {
		struct attempt a = { 0 };
		struct err ae = { 0 };
		llm_reply_release(reply);
		reply->attempts = retry + 1;
		a.k = k;
		a.ops = ops;
		a.stream = ops->stream_new(ops->cls, reply);
		buf_init(&a.body, 0);
		curl_easy_reset(k);
		curl_easy_setopt(k, CURLOPT_URL, url);
		curl_easy_setopt(k, CURLOPT_POST, 1L);
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
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
		ops->stream_free(a.stream);
		buf_release(&a.body);
		snprintf(reply->request_id, sizeof(reply->request_id), "%s", a.request_id);
		if (o == DONE)
			break;
		if (o == ABORTED) {
			reply->aborted = true;
			rc = LLM_ABORTED;
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
		if (ops->on_retry)
			ops->on_retry(ops->cls, retry + 1, (int)delay, &ae);
		if (wait_ms(delay, abort)) {
			reply->aborted = true;
			rc = LLM_ABORTED;
			break;
		}
	}
	curl_easy_cleanup(k);
	return rc;
}

int llm_http_stream(const struct llm_http_ops *ops, const struct llm_http_config *cfg,
		    const char *base_url, const char *key, const json_t *body,
		    const atomic_bool *abort, struct llm_reply *reply, struct err *e)
{
	char *key_line = NULL;
	struct curl_slist *headers = NULL;
	size_t blen = strlen(base_url);
	while (blen && base_url[blen - 1] == '/')
		blen--;
	char *url = xasprintf("%.*s%s", (int)blen, base_url, ops->path);
	char *text = json_dumps(body, JSON_COMPACT);
	if (key && *key) {
		key_line = xasprintf("%s%s", ops->key_header, key);
		headers = curl_slist_append(headers, key_line);
	}
	if (ops->extra_header)
		headers = curl_slist_append(headers, ops->extra_header);
	headers = curl_slist_append(headers, "content-type: application/json");
	headers = curl_slist_append(headers, "accept: text/event-stream");
	headers = curl_slist_append(headers, "Expect:");
	int rc = stream_post(ops, cfg, url, headers, text, abort, reply, e);
	for (struct curl_slist *h = headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data)); /* the key's copy */
	curl_slist_free_all(headers);
	if (key_line) {
		explicit_bzero(key_line, strlen(key_line));
		free(key_line);
	}
	free(text);
	free(url);
	return rc;
}
