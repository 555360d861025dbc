/* fuzz_openai_stream.c — libFuzzer target for the OpenAI-compatible
 * chat-completions stream decoder (src/llm/openai.c): the first two bytes
 * seed the chunking, the rest is the body, fed once whole and once in the
 * seeded chunks. Whatever the bytes: no crash or leak, the same result in
 * both feedings (code, message, blocks, stop reason, usage), the text
 * deltas heard add up to the reply's text, and every tool call delivered
 * has an object input. */
// fuzz-sources: src/llm/openai.c src/llm/http.c src/llm/llm.c src/base/buf.c src/base/err.c src/base/util.c
// fuzz-options: -max_len=16384
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "llm/openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct heard {
	struct buf text;
	size_t tools;
};

static void on_text(void *cls, size_t index, const char *delta, size_t len)
{
	struct heard *h = cls;
	if (delta[len] != '\0')
		abort();
	buf_add(&h->text, delta, len);
}

static void on_tool_use(void *cls, size_t index, const char *id, const char *name, json_t *input)
{
	struct heard *h = cls;
	if (!id || !name || !json_is_object(input))
		abort();
	h->tools++;
}

static void on_chunk(void *cls, json_t *chunk)
{
	if (!json_is_object(chunk))
		abort();
}

/* feeds body in pieces whose sizes come from seed (0: whole) */
static int run(struct llm_reply *r, struct heard *h, const char *body, size_t n, unsigned seed,
	       struct err *e)
{
	struct openai_callbacks cb = {
		.cls = h, .on_text = on_text, .on_tool_use = on_tool_use, .on_chunk = on_chunk
	};
	struct openai_stream *s = openai_stream_new(r, &cb);
	int rc = 0;
	for (size_t off = 0; off < n && !rc;) {
		size_t step = n - off;
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			size_t k = 1 + (seed >> 16) % 97;
			step = k < step ? k : step;
		}
		rc = openai_stream_feed(s, body + off, step, e);
		off += step;
	}
	int frc = openai_stream_finish(s, e);
	if (rc && frc != rc)
		abort(); /* an error sticks */
	bool delivered = openai_stream_delivered(s);
	openai_stream_free(s);
	if (delivered != (h->text.len > 0 || h->tools > 0))
		abort();
	return frc;
}

static void check_reply(const struct llm_reply *r, const struct heard *h)
{
	size_t tools = 0;
	for (size_t i = 0; i < r->message.nblocks; i++) {
		const struct llm_block *b = &r->message.blocks[i];
		if (b->type == LLM_BLOCK_TOOL_USE) {
			tools++;
			if (!json_is_object(b->input) || !b->id || !b->name)
				abort();
		} else if (b->type != LLM_BLOCK_TEXT || !b->text) {
			abort();
		}
	}
	if (tools != h->tools)
		abort();
	/* the reply's text is what the deltas said (a \u0000 cuts a block
	 * short: text blocks are C strings) */
	char *text = llm_message_text(&r->message);
	if (!memchr(h->text.ptr, '\0', h->text.len) &&
	    (strlen(text) != h->text.len || memcmp(text, h->text.ptr, h->text.len)))
		abort();
	free(text);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned seed = (unsigned)data[0] << 8 | data[1] | 1u;
	/* an exact-size copy, so reading one byte past the end is caught */
	size_t n = size - 2;
	char *body = malloc(n ? n : 1);
	memcpy(body, data + 2, n);

	struct llm_reply r1 = { 0 }, r2 = { 0 };
	struct heard h1 = { BUF_INIT, 0 }, h2 = { BUF_INIT, 0 };
	struct err e1 = { 0 }, e2 = { 0 };
	int rc1 = run(&r1, &h1, body, n, 0, &e1);
	int rc2 = run(&r2, &h2, body, n, seed, &e2);
	if (rc1 > 0 || rc1 != rc2 || strcmp(e1.msg, e2.msg))
		abort();
	if (rc1 && (!e1.msg[0] || strchr(e1.msg, '\n') || strncmp(e1.msg, "openai: ", 8)))
		abort(); /* one line, prefixed */
	check_reply(&r1, &h1);
	check_reply(&r2, &h2);
	if (r1.message.nblocks != r2.message.nblocks || r1.complete != r2.complete ||
	    !same_str(r1.stop_reason, r2.stop_reason) || !same_str(r1.id, r2.id) ||
	    !same_str(r1.model, r2.model) || r1.usage.input_tokens != r2.usage.input_tokens ||
	    r1.usage.output_tokens != r2.usage.output_tokens ||
	    r1.usage.cache_read_input_tokens != r2.usage.cache_read_input_tokens ||
	    h1.text.len != h2.text.len || memcmp(h1.text.ptr, h2.text.ptr, h1.text.len))
		abort(); /* the chunking changes nothing */
	if (rc1 == 0 && !r1.complete)
		abort();

	llm_reply_release(&r1);
	llm_reply_release(&r2);
	buf_release(&h1.text);
	buf_release(&h2.text);
	free(body);
	return 0;
}
