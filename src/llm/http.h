/* http.h — the transfer the model clients share (llm/anthropic.h,
 * llm/openai.h): one POST of a JSON body whose 2xx answer, an event
 * stream, is fed to the client's incremental decoder as it arrives, over
 * libcurl's multi interface so an abort flag is seen within
 * LLM_HTTP_POLL_MS; retried as the official SDKs of both providers do.
 *
 * Retries: at most max_retries more attempts after a connection error or
 * an HTTP 408, 409, 429 or 5xx, unless the response says x-should-retry:
 * false (x-should-retry: true makes any status retryable). The wait before
 * retry n is the response's retry-after-ms, else retry-after (seconds or
 * an HTTP date) when positive and at most retry_after_max_ms; otherwise
 * min(backoff_initial_ms * 2^(n-1), backoff_max_ms) less up to 25% jitter.
 *
 * The half-way policy: a stream that fails after the decoder delivered
 * content (ops->delivered) is never retried — the caller may have shown
 * those tokens — and the reply keeps the partial message; before any
 * content a stream error is retried when ops->retryable says so, a dropped
 * connection or a stream that ends early always.
 *
 * Threads: a call blocks its thread and runs every callback on it. */
#ifndef PLUE_LLM_HTTP_H
#define PLUE_LLM_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "llm/llm.h"

/* Returned (positive: not a failure) when the abort flag stopped a call. */
#define LLM_ABORTED 1
/* How often an abort flag is looked at while a call waits. */
#define LLM_HTTP_POLL_MS 50

/* Timeouts and the retry policy. A field of 0 takes the default given. */
struct llm_http_config {
	int max_retries;        /* 2; LLM_HTTP_NO_RETRIES for none */
	int backoff_initial_ms; /* 500 */
	int backoff_max_ms;     /* 8000 */
	int retry_after_max_ms; /* 60000 */
	int connect_timeout_ms; /* 10000 */
	int idle_timeout_ms;    /* 300000: no byte for that long is a
	                            connection error */
	long timeout_ms;        /* 1800000: one attempt */
};
#define LLM_HTTP_NO_RETRIES (-1)

/* What a client plugs in. One decoder is made per attempt. */
struct llm_http_ops {
	const char *provider;          /* "anthropic": the prefix of messages */
	const char *request_id_header; /* "request-id", "x-request-id" */
	const char *path;              /* "/v1/messages": after the base URL */
	const char *key_header;        /* "x-api-key: ": the key's header, up
	                                  to the key */
	const char *extra_header;      /* one more header line; may be NULL */
	/* a decoder assembling into reply (released before each attempt) */
	void *(*stream_new)(void *cls, struct llm_reply *reply);
	int (*stream_feed)(void *s, const char *bytes, size_t n, struct err *e);
	int (*stream_finish)(void *s, struct err *e);
	bool (*stream_delivered)(const void *s);
	void (*stream_free)(void *s);
	/* sets e from a non-2xx answer: its status and body (n bytes, at most
	 * 64 KiB kept, maybe empty) */
	void (*http_error)(long status, const char *body, size_t n, struct err *e);
	/* whether a stream's own error (not ERR_INTERNAL), before content,
	 * may be cured by a new attempt */
	bool (*retryable)(const struct err *e);
	/* hears each retry; may be NULL */
	void (*on_retry)(void *cls, int retry, int delay_ms, const struct err *why);
	void *cls;
};

/* POSTs body (JSON) to base_url (trailing slashes dropped) + ops->path
 * with ops->key_header + key (none when key is NULL or empty; wiped after),
 * ops->extra_header, content-type and accept, and streams the answer into
 * *reply, released first. Returns 0 when the decoder finished cleanly,
 * LLM_ABORTED when *abort (may be NULL) stopped it (reply->aborted set),
 * or an ERR_* code with e set. reply->attempts and reply->request_id are
 * filled in every case. */
int llm_http_stream(const struct llm_http_ops *ops, const struct llm_http_config *cfg,
		    const char *base_url, const char *key, const json_t *body,
		    const atomic_bool *abort, struct llm_reply *reply, struct err *e);

/* The project's code for an HTTP status of a provider's answer: 400
 * ERR_INVALID, 401 ERR_AUTH, 403 ERR_PERM, 404 ERR_NOTFOUND, 408 and 5xx
 * ERR_UNAVAILABLE, 409 ERR_CONFLICT, 413 ERR_TOOLARGE, 429 ERR_RATELIMIT;
 * anything else ERR_INVALID. */
int llm_http_code(long status);

#endif
