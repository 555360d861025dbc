/* llm.h — the conversation a model provider is asked about and the reply it
 * gives, independent of any provider's wire format: messages made of
 * content blocks (text, tool_use, tool_result), the tools offered, token
 * usage. The provider clients (llm/anthropic.h, llm/openai.h) turn these into requests
 * and assemble replies into them.
 *
 * A conversation is built block by block:
 *
 *   struct llm_message m[2];
 *   llm_message_init(&m[0], LLM_USER);
 *   llm_message_add_text(&m[0], "what is in README?");
 *   ... the model answers with a tool_use block: keep the reply's message
 *   as m[1] (llm_reply_take_message), run the tool, then
 *   llm_message_add_tool_result(&next, id, output, is_error);
 *   ...
 *   llm_message_release(&m[i]) for each.
 *
 * Ownership: a message owns copies of every string passed to it and a
 * reference to every JSON value (the caller keeps its own). Nothing here
 * is shared between threads; a message is used by one thread at a time. */
#ifndef PLUE_LLM_LLM_H
#define PLUE_LLM_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum llm_role { LLM_USER, LLM_ASSISTANT };

enum llm_block_type {
	LLM_BLOCK_TEXT,        /* text */
	LLM_BLOCK_TOOL_USE,    /* the model calls a tool: id, name, input */
	LLM_BLOCK_TOOL_RESULT, /* the answer to a tool_use: id, text, is_error */
	LLM_BLOCK_OTHER,       /* a block type this model does not know
	                          (thinking, server tools): kept as the
	                          provider gave it in raw and sent back as is */
};

struct llm_block {
	enum llm_block_type type;
	char *text;    /* TEXT: the text; TOOL_RESULT: the tool's output;
	                  never NULL for those, NULL otherwise */
	char *id;      /* TOOL_USE: the call's id; TOOL_RESULT: the id of the
	                  tool_use it answers */
	char *name;    /* TOOL_USE: the tool's name */
	json_t *input; /* TOOL_USE: the arguments, a JSON object */
	bool is_error; /* TOOL_RESULT: the tool failed */
	json_t *raw;   /* OTHER: the block's JSON */
};

struct llm_message {
	enum llm_role role;
	struct llm_block *blocks;
	size_t nblocks, cap;
};

/* Prepares an empty message of role. */
void llm_message_init(struct llm_message *m, enum llm_role role);
/* Frees the blocks and leaves m empty (role kept). Accepts an m that was
 * zeroed or already released. */
void llm_message_release(struct llm_message *m);
/* Appends a block; each returns the new block, owned by m and valid until
 * the next append or the release. input (an object) and raw are not
 * consumed: m takes a reference of its own. */
struct llm_block *llm_message_add_text(struct llm_message *m, const char *text);
struct llm_block *llm_message_add_tool_use(struct llm_message *m, const char *id, const char *name,
					   json_t *input);
struct llm_block *llm_message_add_tool_result(struct llm_message *m, const char *tool_use_id,
					      const char *content, bool is_error);
struct llm_block *llm_message_add_raw(struct llm_message *m, json_t *raw);
/* All the text blocks of m joined, in order; the caller frees it. */
char *llm_message_text(const struct llm_message *m);

/* A tool offered to the model. All borrowed: they must outlive the call. */
struct llm_tool {
	const char *name;
	const char *description;
	json_t *input_schema; /* a JSON Schema object */
};

/* Tokens one reply cost, as the provider counted them. */
struct llm_usage {
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t cache_creation_input_tokens;
	int64_t cache_read_input_tokens;
};

/* What the model answered, as far as it got. A reply is complete when the
 * provider said so (complete); otherwise it holds what arrived before the
 * stream stopped — an error, an abort — and the caller decides what to keep. */
struct llm_reply {
	char *id;                   /* the provider's message id, or NULL */
	char *model;                /* the model that answered, or NULL */
	struct llm_message message; /* role assistant; its blocks in order */
	char *stop_reason;          /* "end_turn", "tool_use", "max_tokens",
	                               "stop_sequence", "pause_turn", "refusal",
	                               or NULL when the stream did not say */
	char *stop_sequence;        /* the stop sequence met, or NULL */
	struct llm_usage usage;
	bool complete;              /* the provider ended the message (message_stop) */
	bool aborted;               /* the caller stopped it (see anthropic_messages_stream) */
	int attempts;               /* HTTP requests made, retries included */
	char request_id[80];        /* the provider's request-id header of the last
	                        attempt, for support requests; "" if none */
};

/* Frees what r holds and zeroes it. Accepts a zeroed r. */
void llm_reply_release(struct llm_reply *r);
/* Moves r's message into *out (which must not hold blocks) and leaves r's
 * empty, so the message can join the conversation. */
void llm_reply_take_message(struct llm_message *out, struct llm_reply *r);

#endif
