/* anthropic.h — the Anthropic Messages API, streamed: one call sends a
 * conversation (llm/llm.h) to POST {base_url}/v1/messages with
 * "stream": true and hands the reply to the caller as it arrives — text
 * deltas, tool calls with their parsed input, every raw event — while it
 * assembles the whole message (blocks, stop_reason, usage).
 *
 *   struct anthropic_config cfg = { .base_url = url, .api_key = key };
 *   struct anthropic_request req = { .model = "claude-...", .max_tokens = 4096,
 *           .system = prompt, .messages = msgs, .nmessages = n,
 *           .tools = tools, .ntools = nt };
 *   struct anthropic_callbacks cb = { .on_text = show, .cls = me };
 *   struct llm_reply reply = {0};
 *   int rc = anthropic_messages_stream(&cfg, &req, &cb, &abort_flag, &reply, &e);
 *   ... rc is 0, ANTHROPIC_ABORTED, or an ERR_* code with e set; in every
 *   case reply holds what arrived ...
 *   llm_reply_release(&reply);
 *
 * The body is never held whole: libcurl's write callback feeds an
 * incremental server-sent-events parser (struct anthropic_stream, below,
 * also usable on its own), and each event is acted on when its blank line
 * arrives. Events handled: message_start (id, model, usage),
 * content_block_start (text, tool_use with id and name; other block types
 * are kept raw), content_block_delta (text_delta; input_json_delta,
 * accumulated and parsed when the block stops), content_block_stop,
 * message_delta (stop_reason, stop_sequence, usage), message_stop, ping,
 * error. Unknown event and delta types are passed to on_event and
 * otherwise ignored, as the API's versioning policy asks.
 *
 * Retries follow the official SDKs (the transfer is llm/http.c, shared
 * with the OpenAI-compatible client). A request is tried again, at most
 * max_retries times (2 by default), after a connection error (cannot
 * connect, reset, timeout, the server closed before answering) or an HTTP
 * 408, 409, 429 or 5xx (529 "overloaded" included) — unless the response
 * says x-should-retry: false; x-should-retry: true makes any status
 * retryable. The wait before try n (n = 1, 2, ...) is the response's
 * retry-after-ms, else its retry-after (seconds or an HTTP date), when that
 * is positive and at most retry_after_max_ms; otherwise
 * min(backoff_initial_ms * 2^(n-1), backoff_max_ms) less a random jitter of
 * up to 25%. The wait is cut short by an abort.
 *
 * A stream that fails half-way — a mid-stream `error` event (such as
 * overloaded_error), a dropped connection, a stream that ends without
 * message_stop, an idle timeout — is retried only when no content was
 * delivered yet: once on_text or on_tool_use has been called, the caller
 * may have shown those tokens (to a browser, into a session's history),
 * and a new attempt would produce a different answer under them. Then the
 * call returns the error with reply holding the partial message (the
 * blocks so far; complete is false) and the caller decides: persist it
 * marked as failed, or show the error and ask again. An error event before
 * any content (right after message_start) is retried like an HTTP error of
 * its type (overloaded_error, api_error, rate_limit_error, timeout_error
 * are retryable); callbacks see on_retry and then the events start over.
 *
 * Abort: *abort (may be NULL) is read every ANTHROPIC_POLL_MS while the
 * transfer runs or a retry waits; set it from any thread and the call
 * returns within about that long with ANTHROPIC_ABORTED, reply->aborted
 * set and the partial message kept. A tool_use whose input had not
 * finished arriving is dropped from the partial message; its text
 * neighbours stay.
 *
 * Errors are the project's codes with a one-line message that starts with
 * "anthropic: " and the slug the API's error type when it gave one:
 *   400 invalid_request_error → ERR_INVALID       401 → ERR_AUTH
 *   403 permission_error      → ERR_PERM          404 → ERR_NOTFOUND
 *   413 request_too_large     → ERR_TOOLARGE      429 → ERR_RATELIMIT
 *   5xx, 529 overloaded_error, connection errors  → ERR_UNAVAILABLE
 *   a stream that breaks the protocol             → ERR_INTERNAL
 * e.g. "anthropic: overloaded_error: Overloaded",
 * "anthropic: cannot connect to http://127.0.0.1:9/v1/messages: Couldn't
 * connect to server". The API key is sent only in the x-api-key header and appears
 * in no message or log.
 *
 * Threads: a call blocks its thread and runs every callback on it. Calls
 * share nothing, so any number may run at once on different threads. */
#ifndef PLUE_LLM_ANTHROPIC_H
#define PLUE_LLM_ANTHROPIC_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "llm/http.h"
#include "llm/llm.h"

#define ANTHROPIC_DEFAULT_BASE_URL "https://api.anthropic.com"
#define ANTHROPIC_VERSION "2023-06-01"

/* Returned (positive: not a failure) when the caller's abort flag stopped
 * the call. */
#define ANTHROPIC_ABORTED LLM_ABORTED

/* How often an abort flag is looked at while a call waits. */
#define ANTHROPIC_POLL_MS LLM_HTTP_POLL_MS

/* Where and how to call. A field of 0 (or NULL) takes the default given. */
struct anthropic_config {
	const char *base_url;        /* ANTHROPIC_DEFAULT_BASE_URL; without the
	                         trailing /v1 */
	const char *api_key;         /* required; sent as x-api-key */
	struct llm_http_config http; /* timeouts and retries (llm/http.h) */
};
#define ANTHROPIC_NO_RETRIES LLM_HTTP_NO_RETRIES

/* One call's content. All borrowed for the call's duration. */
struct anthropic_request {
	const char *model;                  /* required */
	int max_tokens;                     /* required, > 0 */
	const char *system;                 /* the system prompt, or NULL */
	const struct llm_message *messages; /* at least one; the first a user's */
	size_t nmessages;
	const struct llm_tool *tools;       /* may be NULL when ntools is 0 */
	size_t ntools;
	/* Members merged into the request body last (temperature,
	 * tool_choice, stop_sequences, metadata, ...), or NULL. A member named
	 * like one set above replaces it, except "stream". */
	json_t *extra;
};

/* What the caller hears while the reply streams. Every member may be NULL;
 * all are called on the calling thread, in stream order. Pointers passed
 * are valid only during the callback. */
struct anthropic_callbacks {
	void *cls;
	/* Every event of the stream as parsed, ping and unknown types
	 * included: its type ("message_start", ...) and its data. */
	void (*on_event)(void *cls, const char *type, json_t *data);
	/* A text delta of block index, in order (len bytes, NUL-terminated). */
	void (*on_text)(void *cls, size_t index, const char *delta, size_t len);
	/* A tool call, once its block stopped: id, name and the parsed input
	 * (an object). */
	void (*on_tool_use)(void *cls, size_t index, const char *id, const char *name, json_t *input);
	/* A new attempt starts after delay_ms because of why (retry is 1 for
	 * the first retry). The events of the failed attempt are void: the
	 * next ones start again from message_start. */
	void (*on_retry)(void *cls, int retry, int delay_ms, const struct err *why);
};

/* The request body this client sends for req, as JSON (for logs and
 * tests; the caller decrefs). Returns NULL with e set (ERR_INVALID) when
 * req misses a required member. */
json_t *anthropic_request_json(const struct anthropic_request *req, struct err *e);

/* Sends req and streams the reply into *reply (zeroed or released by the
 * caller first; released by the caller after, whatever the result).
 * Returns 0 when the message completed, ANTHROPIC_ABORTED when *abort
 * stopped it, or an ERR_* code with e set; see the top of this file for
 * retries, the half-way policy and the codes. */
int anthropic_messages_stream(const struct anthropic_config *cfg,
			      const struct anthropic_request *req,
			      const struct anthropic_callbacks *cb, const atomic_bool *abort,
			      struct llm_reply *reply, struct err *e);

/* The stream decoder on its own: bytes of a Messages event stream in, the
 * callbacks and an assembled reply out. anthropic_messages_stream uses one
 * per attempt; a test or a fuzzer can feed one directly.
 *
 *   struct anthropic_stream *s = anthropic_stream_new(&reply, &cb);
 *   anthropic_stream_feed(s, bytes, n, &e);   as bytes arrive, any split
 *   anthropic_stream_finish(s, &e);           at the end of the body
 *   anthropic_stream_free(s);
 *
 * reply and cb are borrowed and must outlive the decoder. Events are at
 * most 8 MiB each. */
struct anthropic_stream;

struct anthropic_stream *anthropic_stream_new(struct llm_reply *reply,
					      const struct anthropic_callbacks *cb);
/* Parses n more bytes. Returns 0, or an error once the stream carried an
 * `error` event (the API's code, see above) or broke the protocol
 * (ERR_INTERNAL: bad JSON, events out of order, an oversized event); after
 * an error further bytes are ignored and the same code is returned. */
int anthropic_stream_feed(struct anthropic_stream *s, const char *bytes, size_t n, struct err *e);
/* The body ended: returns 0 when message_stop was seen, else
 * ERR_UNAVAILABLE (slug "stream_incomplete") or the earlier error. */
int anthropic_stream_finish(struct anthropic_stream *s, struct err *e);
/* True once a text delta or a tool call went to the callbacks. */
bool anthropic_stream_delivered(const struct anthropic_stream *s);
/* Frees s (accepts NULL); the reply keeps what was assembled. */
void anthropic_stream_free(struct anthropic_stream *s);

#endif
