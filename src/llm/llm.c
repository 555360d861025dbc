/* llm.c — the provider-independent conversation model (see llm.h). */
#include "llm/llm.h"
#include "base/buf.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

void llm_message_init(struct llm_message *m, enum llm_role role)
{
	memset(m, 0, sizeof(*m));
	m->role = role;
}

static void block_release(struct llm_block *b)
{
	free(b->text);
	free(b->id);
	free(b->name);
	json_decref(b->input);
	json_decref(b->raw);
}

void llm_message_release(struct llm_message *m)
{
	for (size_t i = 0; i < m->nblocks; i++)
		block_release(&m->blocks[i]);
	free(m->blocks);
	m->blocks = NULL;
	m->nblocks = m->cap = 0;
}

static struct llm_block *block_new(struct llm_message *m, enum llm_block_type type)
{
	if (m->nblocks == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 4;
		m->blocks = xrealloc(m->blocks, m->cap * sizeof(*m->blocks));
	}
	struct llm_block *b = &m->blocks[m->nblocks++];
	memset(b, 0, sizeof(*b));
	b->type = type;
	return b;
}

struct llm_block *llm_message_add_text(struct llm_message *m, const char *text)
{
	struct llm_block *b = block_new(m, LLM_BLOCK_TEXT);
	b->text = xstrdup(text ? text : "");
	return b;
}

struct llm_block *llm_message_add_tool_use(struct llm_message *m, const char *id, const char *name,
					   json_t *input)
{
	struct llm_block *b = block_new(m, LLM_BLOCK_TOOL_USE);
	b->id = xstrdup(id ? id : "");
	b->name = xstrdup(name ? name : "");
	b->input = input ? json_incref(input) : json_object();
	return b;
}

struct llm_block *llm_message_add_tool_result(struct llm_message *m, const char *tool_use_id,
					      const char *content, bool is_error)
{
	struct llm_block *b = block_new(m, LLM_BLOCK_TOOL_RESULT);
	b->id = xstrdup(tool_use_id ? tool_use_id : "");
	b->text = xstrdup(content ? content : "");
	b->is_error = is_error;
	return b;
}

struct llm_block *llm_message_add_raw(struct llm_message *m, json_t *raw)
{
	struct llm_block *b = block_new(m, LLM_BLOCK_OTHER);
	b->raw = json_incref(raw);
	return b;
}

char *llm_message_text(const struct llm_message *m)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < m->nblocks; i++)
		if (m->blocks[i].type == LLM_BLOCK_TEXT)
			buf_adds(&b, m->blocks[i].text);
	return buf_detach(&b, NULL);
}

void llm_reply_release(struct llm_reply *r)
{
	free(r->id);
	free(r->model);
	free(r->stop_reason);
	free(r->stop_sequence);
	llm_message_release(&r->message);
	memset(r, 0, sizeof(*r));
	r->message.role = LLM_ASSISTANT;
}

void llm_reply_take_message(struct llm_message *out, struct llm_reply *r)
{
	*out = r->message;
	llm_message_init(&r->message, LLM_ASSISTANT);
}
