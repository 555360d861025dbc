/* openai.h — OpenAI-compatible chat completions, streamed: one call sends a
 * conversation (llm/llm.h) to POST {base_url}/chat/completions with
 * "stream": true and hands the reply to the caller as it arrives — text
 * deltas, tool calls with their parsed arguments, every raw chunk — while
 * it assembles the same llm_reply the Anthropic client does (llm/anthropic.h),
 * so an agent loop does not care which provider answered.
 *
 *   struct openai_config cfg = { .base_url = "http://127.0.0.1:8080/v1" };
 *   struct openai_request req = { .model = "qwen2.5-coder", .max_tokens = 4096,
 *           .system = prompt, .messages = msgs, .nmessages = n,
 *           .tools = tools, .ntools = nt };
 *   struct openai_callbacks cb = { .on_text = show, .cls = me };
 *   struct llm_reply reply = {0};
 *   int rc = openai_chat_stream(&cfg, &req, &cb, &abort_flag, &reply, &e);
 *   ... rc is 0, OPENAI_ABORTED, or an ERR_* code with e set; in every case
 *   reply holds what arrived ...
 *   llm_reply_release(&reply);
 *
 * Written for api.openai.com, llama.cpp's server, vLLM and Ollama's /v1,
 * which speak the same format with fields left out here and there: the
 * decoder needs only choices[0].delta and takes the rest when present.
 *
 * The stream: `data: {chunk}` lines ended by `data: [DONE]`. From a chunk
 * the client takes id and model (first seen), choices[0].delta.content
 * (text: on_text, appended to the reply's current text block),
 * choices[0].delta.tool_calls[] (by index — a missing index means the call
 * the fragment's id names, or the last one; id and function.name from the
 * fragment that has them, function.arguments concatenated),
 * choices[0].finish_reason, and usage (sent with include_usage in a last
 * chunk whose choices are empty, or in the finishing chunk). A chunk of
 * the form {"error": {...}} (or vLLM's {"object": "error", ...}) fails the
 * call. Other choices than index 0 are ignored (n is never asked for).
 *
 * The tool calls are complete when the finish reason arrives (or [DONE],
 * or the body ends after it): then each one's arguments are parsed (an
 * empty string is {}) and on_tool_use is called in index order. The reply
 * is complete once a finish_reason or [DONE] was seen. finish_reason maps
 * to the Anthropic client's stop reasons: stop → "end_turn", length →
 * "max_tokens", tool_calls and function_call → "tool_use", content_filter
 * → "refusal"; others are kept as sent. Usage: input_tokens is
 * prompt_tokens less prompt_tokens_details.cached_tokens, which go to
 * cache_read_input_tokens; output_tokens is completion_tokens.
 *
 * The request: the system prompt as the first message (role system); a
 * user message's tool_result blocks become role "tool" messages (content
 * prefixed "error: " when is_error) before its text; an assistant
 * message's text is its content and its tool_use blocks its tool_calls
 * (arguments as a JSON string); LLM_BLOCK_OTHER blocks are another
 * provider's and left out. Tools are {"type": "function", "function":
 * {name, description, parameters}}. stream_options.include_usage is asked
 * for; max_tokens when positive.
 *
 * Retries, the half-way policy, abort: as the Anthropic client, by the same
 * code (llm/http.h). A mid-stream error chunk before any content is retried
 * when its code is ERR_UNAVAILABLE or ERR_RATELIMIT.
 *
 * Errors are the project's codes with a one-line message starting with
 * "openai: ": the HTTP status decides the code (llm_http_code: 400
 * ERR_INVALID, 401 ERR_AUTH, 403 ERR_PERM, 404 ERR_NOTFOUND, 429
 * ERR_RATELIMIT, 5xx ERR_UNAVAILABLE), the error body's code when a
 * string (else its type) is the slug and in the message with the body's
 * message: "openai: rate_limit_exceeded: Rate limit reached". Mid-stream,
 * where no status tells, an error chunk's numeric code (llama.cpp) or its
 * type decides, else ERR_UNAVAILABLE. A stream that breaks
 * the protocol is ERR_INTERNAL (slug provider_protocol). The key is sent
 * only as "Authorization: Bearer KEY", and only when set (local servers
 * need none); it appears in no message or log.
 *
 * Threads: a call blocks its thread and runs every callback on it. */
#ifndef PLUE_LLM_OPENAI_H
#define PLUE_LLM_OPENAI_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "llm/http.h"
#include "llm/llm.h"

#define OPENAI_DEFAULT_BASE_URL "https://api.openai.com/v1"

/* Returned (positive: not a failure) when the abort flag stopped the call. */
#define OPENAI_ABORTED LLM_ABORTED

/* Where and how to call. A field of 0 (or NULL) takes the default given. */
struct openai_config {
	const char *base_url;        /* OPENAI_DEFAULT_BASE_URL; with the /v1 (as
	                         the SDKs take it): .../chat/completions is
	                         appended */
	const char *api_key;         /* NULL or "": no Authorization header */
	struct llm_http_config http; /* timeouts and retries (llm/http.h) */
};

/* One call's content. All borrowed for the call's duration. */
struct openai_request {
	const char *model;                  /* required */
	int max_tokens;                     /* 0: not sent, the server decides */
	const char *system;                 /* the system prompt, or NULL */
	const struct llm_message *messages; /* at least one */
	size_t nmessages;
	const struct llm_tool *tools;       /* may be NULL when ntools is 0 */
	size_t ntools;
	/* Members merged into the body last (temperature, tool_choice,
	 * max_completion_tokens, ...), or NULL. A member named like one set
	 * above replaces it, a null one removes it (stream_options, for a
	 * server that refuses it); "stream" cannot be changed. */
	json_t *extra;
};

/* What the caller hears while the reply streams; as anthropic_callbacks.
 * Every member may be NULL; pointers are valid during the callback only. */
struct openai_callbacks {
	void *cls;
	/* Every chunk's JSON, in order ([DONE] is not one). */
	void (*on_chunk)(void *cls, json_t *chunk);
	/* A text delta; index is the reply's block it goes to. */
	void (*on_text)(void *cls, size_t index, const char *delta, size_t len);
	/* A tool call once complete: id, name, the parsed arguments (an
	 * object); index is the reply's block. */
	void (*on_tool_use)(void *cls, size_t index, const char *id, const char *name, json_t *input);
	/* A new attempt starts after delay_ms because of why. */
	void (*on_retry)(void *cls, int retry, int delay_ms, const struct err *why);
};

/* The request body for req (the caller decrefs), or NULL with e set
 * (ERR_INVALID) when req misses a required member or holds text that is
 * not UTF-8. */
json_t *openai_request_json(const struct openai_request *req, struct err *e);

/* Sends req and streams the reply into *reply (zeroed or released first;
 * released by the caller after, whatever the result). Returns 0 when the
 * reply completed, OPENAI_ABORTED, or an ERR_* code with e set. */
int openai_chat_stream(const struct openai_config *cfg, const struct openai_request *req,
		       const struct openai_callbacks *cb, const atomic_bool *abort,
		       struct llm_reply *reply, struct err *e);

/* The stream decoder on its own, as anthropic_stream: bytes in, any split;
 * callbacks and the reply out. reply and cb are borrowed. Lines are at
 * most 8 MiB, a tool call's arguments too. */
struct openai_stream;

struct openai_stream *openai_stream_new(struct llm_reply *reply, const struct openai_callbacks *cb);
/* Parses n more bytes. Returns 0, or the error of an error chunk, or
 * ERR_INTERNAL when the stream broke the protocol (a chunk that is not a
 * JSON object, arguments that are not an object, an oversized line);
 * after an error further bytes are ignored and the same code returned. */
int openai_stream_feed(struct openai_stream *s, const char *bytes, size_t n, struct err *e);
/* The body ended: 0 when the reply completed (a finish_reason or [DONE]
 * came), else ERR_UNAVAILABLE (slug "stream_incomplete") or the earlier
 * error. */
int openai_stream_finish(struct openai_stream *s, struct err *e);
/* True once a text delta or a tool call went to the callbacks. */
bool openai_stream_delivered(const struct openai_stream *s);
/* Frees s (accepts NULL); the reply keeps the text so far and the tool
 * calls that completed. */
void openai_stream_free(struct openai_stream *s);

#endif
