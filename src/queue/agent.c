/* agent.c — the model call of an agent turn, made by the server for a
 * runner (see agent.h).
 *
 * A call (struct call) lives from the runner's request to the end of the
 * provider's reply. Three parties hold it: the request's response stream
 * (until the connection goes), the call's own thread (until the reply is
 * stored), and — while it has events to write — a writer. The writers
 * take calls from a FIFO of calls with pending events; a call is in the
 * FIFO at most once and written by one writer at a time, so its events
 * keep their order.
 *
 * Replicas: a call lives in the replica its runner asked; its tokens are
 * stored with stream_append_many, whose NOTIFY brings them to watchers on
 * other replicas (queue/relay.h). An abort through another replica sets
 * the workload's cancel flag and NOTIFYs plue_cancel: this replica's
 * notifier then calls agent_stop_workload, which closes the provider's
 * stream here (queue/notifier.c). */
#include "queue/agent.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "llm/anthropic.h"
#include "llm/openai.h"
#include "llm/tools.h"
#include "queue/secrets.h"

#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WRITERS 2

/* ---- prices ---- */

/* Published prices, in US dollars per million tokens times 100 ($3/MTok
 * is 300): a token costs price/100 millionths of a dollar. Matched by
 * prefix, so dated model names find their family. */
static const struct {
	const char *prefix;
	int in, out, cache_write, cache_read;
} prices[] = {
	{ "claude-opus-4", 1500, 7500, 1875, 150 },
	{ "claude-sonnet-4", 300, 1500, 375, 30 },
	{ "claude-3-7-sonnet", 300, 1500, 375, 30 },
	{ "claude-3-5-sonnet", 300, 1500, 375, 30 },
	{ "claude-3-5-haiku", 80, 400, 100, 8 },
	{ "claude-haiku-4", 100, 500, 125, 10 },
	{ "gpt-4o-mini", 15, 60, 0, 7 },
	{ "gpt-4o", 250, 1000, 0, 125 },
};

int64_t agent_cost_micro_usd(const char *model, const struct llm_usage *u)
{
	for (size_t i = 0; model && i < sizeof(prices) / sizeof(prices[0]); i++)
		if (!strncmp(model, prices[i].prefix, strlen(prices[i].prefix)))
			return (u->input_tokens * prices[i].in + u->output_tokens * prices[i].out +
				u->cache_creation_input_tokens * prices[i].cache_write +
				u->cache_read_input_tokens * prices[i].cache_read) /
			       100;
	return -1;
}

/* ---- a call ---- */

struct provider {
	bool openai;
	char *base_url, *key, *model, *system;
	int max_tokens;
};

struct call {
	struct http_stream base; /* first: the server holds &base */
	int64_t workload_id, session_id, stream_id, message_id;
	int turn;
	struct provider p;
	struct llm_message *conv; /* the history, nconv messages */
	size_t nconv;
	json_t *tools;            /* the session's tool names */
	atomic_bool abort;

	pthread_mutex_t mu; /* the members below */
	int refs;
	json_t *pending;    /* events to write: [{type, payload}] */
	bool queued, busy;  /* in the writers' FIFO; being written */
	bool finishing;     /* the reply is in `reply`, to be stored (then done) */
	bool done;          /* stored; `answer` is the response body */
	bool gone;          /* the runner's connection went */
	bool shutdown;      /* stopped by the server's shutdown, not an abort: the
	                      message stays streaming and the runner asks again */
	struct llm_reply reply;
	int rc;             /* of the provider call */
	struct err err;
	char *answer;       /* the response body once done */
	size_t off;
	struct call *next_dirty, *next_active;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cv = PTHREAD_COND_INITIALIZER;
static struct call *active; /* every call alive */
static struct call *dirty, **dirty_tail = &dirty;
static pthread_t writers[WRITERS];
static bool writers_up, stopping;
static atomic_bool closing; /* agent_abort_all ran: no new call */

static void provider_release(struct provider *p)
{
	free(p->base_url);
	if (p->key)
		explicit_bzero(p->key, strlen(p->key));
	free(p->key);
	free(p->model);
	free(p->system);
}

static void call_unref(struct call *c)
{
	pthread_mutex_lock(&c->mu);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (!last)
		return;
	pthread_mutex_lock(&reg_mu);
	for (struct call **pp = &active; *pp; pp = &(*pp)->next_active)
		if (*pp == c) {
			*pp = c->next_active;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	provider_release(&c->p);
	for (size_t i = 0; i < c->nconv; i++)
		llm_message_release(&c->conv[i]);
	free(c->conv);
	json_decref(c->tools);
	json_decref(c->pending);
	llm_reply_release(&c->reply);
	free(c->answer);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Queues c for a writer (c->mu held). */
static void dirty_push(struct call *c)
{
	if (c->queued || c->busy)
		return;
	c->queued = true;
	c->refs++;
	pthread_mutex_lock(&reg_mu);
	c->next_dirty = NULL;
	*dirty_tail = c;
	dirty_tail = &c->next_dirty;
	pthread_cond_signal(&reg_cv);
	pthread_mutex_unlock(&reg_mu);
}

/* Adds an event for the writers; steals payload. A token for the same
 * block as the last pending one is appended to it. */
static void call_event(struct call *c, const char *type, json_t *payload)
{
	pthread_mutex_lock(&c->mu);
	json_t *last = json_array_get(c->pending, json_array_size(c->pending) - 1);
	json_t *lp = json_object_get(last, "payload");
	if (!strcmp(type, "token") && last &&
	    !strcmp(json_string_value(json_object_get(last, "type")), "token") &&
	    json_equal(json_object_get(lp, "index"), json_object_get(payload, "index"))) {
		char *t = xasprintf("%s%s", json_string_value(json_object_get(lp, "text")),
				    json_string_value(json_object_get(payload, "text")));
		json_object_set_new(lp, "text", json_string(t));
		free(t);
		json_decref(payload);
	} else {
		json_array_append_new(c->pending,
				      json_pack("{s:s,s:o}", "type", type, "payload", payload));
	}
	dirty_push(c);
	pthread_mutex_unlock(&c->mu);
}

/* ---- storing the reply ---- */

static json_t *usage_json(const struct llm_usage *u)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "input_tokens", (json_int_t)u->input_tokens,
			 "output_tokens", (json_int_t)u->output_tokens, "cache_read_tokens",
			 (json_int_t)u->cache_read_input_tokens, "cache_write_tokens",
			 (json_int_t)u->cache_creation_input_tokens);
}

/* The message's status from the call's outcome. */
static const char *reply_status(const struct call *c)
{
	return c->rc == LLM_ABORTED ? "aborted" : c->rc ? "error" : "complete";
}

/* Stores c's reply as its message's parts and totals, inside st's
 * transaction, and appends message_end. */
static int store_reply(struct stream_tx *st, PGconn *db, struct arena *a, struct err *e,
		       struct call *c)
{
	const struct llm_reply *r = &c->reply;
	json_t *parts = json_array();
	for (size_t i = 0; i < r->message.nblocks; i++) {
		const struct llm_block *b = &r->message.blocks[i];
		if (b->type == LLM_BLOCK_TEXT && b->text[0])
			json_array_append_new(parts, json_pack("{s:s,s:s}", "type", "text", "text",
							       b->text));
		else if (b->type == LLM_BLOCK_TOOL_USE)
			json_array_append_new(parts, json_pack("{s:s,s:s,s:s,s:O}", "type",
							       "tool_use", "tool_use_id", b->id,
							       "name", b->name, "input", b->input));
	}
	char *pj = json_dumps(parts, JSON_COMPACT);
	json_decref(parts);
	int64_t cost = agent_cost_micro_usd(r->model ? r->model : c->p.model, &r->usage);
	const char *status = reply_status(c);
	const char *why = c->rc == LLM_ABORTED ? "aborted" : c->rc ? c->err.msg : NULL;
	const char *mid = arena_int(a, c->message_id);
	PGresult *res = db_qv(db, a, e,
			      "DELETE FROM parts WHERE message_id = $1 AND type <> 'tool_result'",
			      mid);
	if (res)
		res = db_qv(db, a, e,
			    "INSERT INTO parts (message_id, idx, type, text, tool_use_id, name, input) "
			    "SELECT $1, x.ord - 1, x.v->>'type', x.v->>'text', x.v->>'tool_use_id', "
			    "  x.v->>'name', x.v->'input' "
			    "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(v, ord)",
			    mid, arena_strdup(a, pj));
	free(pj);
	if (!res || !db_qv(db, a, e,
			   "UPDATE messages SET status = $2, stop_reason = $3, error = $4, model = "
			   "coalesce($5, model), input_tokens = $6, output_tokens = $7, "
			   "cache_read_tokens = $8, cache_write_tokens = $9, cost_micro_usd = $10, "
			   "finished_at = now() WHERE id = $1",
			   mid, status, r->stop_reason, why, r->model,
			   arena_int(a, r->usage.input_tokens), arena_int(a, r->usage.output_tokens),
			   arena_int(a, r->usage.cache_read_input_tokens),
			   arena_int(a, r->usage.cache_creation_input_tokens),
			   cost >= 0 ? arena_int(a, cost) : NULL))
		return e->code;
	json_t *end = json_pack("{s:I,s:s,s:s,s:o}", "message_id", (json_int_t)c->message_id, "role",
				"assistant", "status", status, "usage", usage_json(&r->usage));
	json_object_set_new(end, "stop_reason",
			    r->stop_reason ? json_string(r->stop_reason) : json_null());
	json_object_set_new(end, "cost_usd", cost >= 0 ? json_real((double)cost / 1e6) : json_null());
	if (why)
		json_object_set_new(end, "error", json_string(why));
	return stream_append1(st, db, a, e, 0, "message_end", end);
}

/* The runner's answer. */
static char *answer_json(struct call *c)
{
	if (c->shutdown)
		return xstrdup("{\"retry\":true,\"message\":\"the server is shutting down: ask "
			       "again\"}");
	const struct llm_reply *r = &c->reply;
	json_t *uses = json_array();
	for (size_t i = 0; i < r->message.nblocks; i++) {
		const struct llm_block *b = &r->message.blocks[i];
		if (b->type == LLM_BLOCK_TOOL_USE)
			json_array_append_new(uses, json_pack("{s:s,s:s,s:O}", "id", b->id, "name",
							      b->name, "input", b->input));
	}
	json_t *o = json_pack("{s:I,s:s,s:o,s:o}", "message_id", (json_int_t)c->message_id, "status",
			      reply_status(c), "tool_uses", uses, "usage", usage_json(&r->usage));
	json_object_set_new(o, "stop_reason",
			    r->stop_reason ? json_string(r->stop_reason) : json_null());
	if (c->rc && c->rc != LLM_ABORTED)
		json_object_set_new(o, "error",
				    json_pack("{s:s,s:s}", "code",
					      c->err.slug[0] ? c->err.slug : "model_error",
					      "message", c->err.msg));
	if (!c->rc && r->stop_reason && !strcmp(r->stop_reason, "max_tokens"))
		json_object_set_new(o, "limit",
				    json_pack("{s:s,s:s}", "code", "max_output_tokens", "message",
					      "the reply reached the session's output-token cap "
					      "(max_output_tokens)"));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* ---- the writers ---- */

/* Runs write(db, a, e, cls) with a connection of the writer's, reconnecting
 * and trying again (three times) when it fails; false when it never
 * succeeded (logged). */
static bool with_db(PGconn **db, int (*write)(PGconn *, struct arena *, struct err *, void *),
		    void *cls)
{
	struct err e = { 0 };
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!(*db = db_reconnect(*db, "SET synchronous_commit = off", "agent writer"))) {
			usleep(200 * 1000);
			continue;
		}
		struct arena *a = arena_new();
		memset(&e, 0, sizeof(e));
		int rc = write(*db, a, &e, cls);
		arena_free(a);
		if (!rc)
			return true;
	}
	log_warn("agent: events not stored: %s", e.msg);
	return false;
}

static int write_tokens(PGconn *db, struct arena *a, struct err *e, void *batch)
{
	return stream_append_many(db, a, e, batch);
}

/* The last events of a call and its reply, in one transaction. */
struct finish {
	struct call *c;
	json_t *events;
};

static int write_finish(PGconn *db, struct arena *a, struct err *e, void *cls)
{
	struct finish *fin = cls;
	struct stream_tx st;
	stream_tx_begin(&st, fin->c->stream_id);
	int rc = db_begin(db, e);
	/* a call the shutdown stopped leaves its message streaming: the next
	 * server starts it over when the runner asks again */
	if (!rc && !(rc = stream_append(&st, db, a, e, 0, fin->events, NULL)) &&
	    (fin->c->shutdown || !(rc = store_reply(&st, db, a, e, fin->c))))
		rc = db_commit(db, e);
	else if (rc)
		db_rollback(db);
	stream_tx_end(&st, !rc);
	return rc;
}

#define WRITE_BATCH 256

/* A writer: takes up to WRITE_BATCH calls with pending events at once and
 * stores all their tokens in one statement (a busy server coalesces more
 * per round trip), each finished call's reply in a transaction of its own. */
static void *writer_main(void *unused)
{
	(void)unused;
	PGconn *db = NULL;
	struct call *took[WRITE_BATCH];
	json_t *evs[WRITE_BATCH];
	bool fin[WRITE_BATCH];
	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&reg_mu);
		while (!dirty && !stopping)
			pthread_cond_wait(&reg_cv, &reg_mu);
		while (dirty && n < WRITE_BATCH) {
			took[n++] = dirty;
			dirty = dirty->next_dirty;
		}
		if (!dirty)
			dirty_tail = &dirty;
		pthread_mutex_unlock(&reg_mu);
		if (!n)
			break;

		json_t *batch = json_array(), *later = json_array();
		for (size_t k = 0; k < n; k++) {
			struct call *c = took[k];
			pthread_mutex_lock(&c->mu);
			c->queued = false;
			c->busy = true;
			evs[k] = c->pending;
			c->pending = json_array();
			fin[k] = c->finishing && !c->done;
			pthread_mutex_unlock(&c->mu);
			/* a stream twice in one statement would be numbered twice
			 * from the same last_seq: the second goes in the next one */
			bool twice = false;
			for (size_t m = 0; m < k; m++)
				twice |= !fin[m] && took[m]->stream_id == c->stream_id;
			if (!fin[k] && !twice && json_array_size(evs[k])) {
				json_array_append_new(batch, json_pack("{s:I,s:o}", "stream",
								       (json_int_t)c->stream_id,
								       "events", evs[k]));
				evs[k] = json_array(); /* the batch took them */
			} else if (!fin[k] && twice && json_array_size(evs[k])) {
				json_array_append_new(later, json_pack("{s:I,s:o}", "stream",
								       (json_int_t)c->stream_id,
								       "events", evs[k]));
				evs[k] = json_array(); /* the batch took them */
			}
		}
		with_db(&db, write_tokens, batch);
		with_db(&db, write_tokens, later);
		json_decref(batch);
		json_decref(later);
		for (size_t k = 0; k < n; k++) {
			struct call *c = took[k];
			if (fin[k]) {
				struct finish f = { c, evs[k] };
				with_db(&db, write_finish, &f);
			}
			json_decref(evs[k]);
			pthread_mutex_lock(&c->mu);
			c->busy = false;
			if (fin[k]) {
				c->answer = answer_json(c);
				c->done = true;
				/* under mu: the connection cannot go (cs_free) meanwhile */
				if (!c->gone && c->base.wake)
					c->base.wake(&c->base);
			}
			if (json_array_size(c->pending) || (c->finishing && !c->done))
				dirty_push(c);
			pthread_mutex_unlock(&c->mu);
			call_unref(c); /* the FIFO's reference */
		}
	}
	if (db)
		PQfinish(db);
	return NULL;
}

static void writers_ensure(void)
{
	pthread_mutex_lock(&reg_mu);
	if (!writers_up && !stopping) {
		writers_up = true;
		for (int i = 0; i < WRITERS; i++)
			pthread_create(&writers[i], NULL, writer_main, NULL);
	}
	pthread_mutex_unlock(&reg_mu);
}

void agent_abort_all(void)
{
	atomic_store(&closing, true);
	for (int i = 0; i < 300; i++) {
		bool waiting = false;
		pthread_mutex_lock(&reg_mu);
		for (struct call *c = active; c; c = c->next_active) {
			pthread_mutex_lock(&c->mu);
			if (!c->finishing)
				c->shutdown = true;
			atomic_store(&c->abort, true);
			waiting |= !c->done;
			pthread_mutex_unlock(&c->mu);
		}
		pthread_mutex_unlock(&reg_mu);
		if (!waiting)
			return;
		usleep(10 * 1000);
	}
	log_warn("agent: model calls still running at shutdown");
}

void agent_stop(void)
{
	agent_abort_all();
	pthread_mutex_lock(&reg_mu);
	stopping = true;
	bool up = writers_up;
	pthread_cond_broadcast(&reg_cv);
	pthread_mutex_unlock(&reg_mu);
	if (!up)
		return;
	for (int i = 0; i < WRITERS; i++)
		pthread_join(writers[i], NULL);
	writers_up = false;
}

void agent_workload_ids(struct buf *ids)
{
	pthread_mutex_lock(&reg_mu);
	for (struct call *c = active; c; c = c->next_active)
		if (!atomic_load(&c->abort))
			buf_addf(ids, "%s%lld", ids->len ? "," : "", (long long)c->workload_id);
	pthread_mutex_unlock(&reg_mu);
}

void agent_stop_workload(int64_t id)
{
	pthread_mutex_lock(&reg_mu);
	for (struct call *c = active; c; c = c->next_active)
		if (c->workload_id == id)
			atomic_store(&c->abort, true);
	pthread_mutex_unlock(&reg_mu);
}

/* ---- the call's thread ---- */

static void on_text(void *cls, size_t index, const char *delta, size_t len)
{
	struct call *c = cls;
	(void)len;
	call_event(c, "token",
		   json_pack("{s:I,s:I,s:s}", "message_id", (json_int_t)c->message_id, "index",
			     (json_int_t)index, "text", delta));
}

static void *call_main(void *arg)
{
	struct call *c = arg;
	struct llm_tool *tools = NULL;
	size_t ntools = 0;
	json_t *schemas = NULL;
	tool_offer(c->tools, &tools, &ntools, &schemas);
	if (c->p.openai) {
		struct openai_config cfgo = { .base_url = c->p.base_url, .api_key = c->p.key };
		struct openai_request req = { .model = c->p.model,
					      .max_tokens = c->p.max_tokens,
					      .system = c->p.system,
					      .messages = c->conv,
					      .nmessages = c->nconv,
					      .tools = tools,
					      .ntools = ntools };
		struct openai_callbacks cb = { .cls = c, .on_text = on_text };
		c->rc = openai_chat_stream(&cfgo, &req, &cb, &c->abort, &c->reply, &c->err);
	} else if (!c->p.key) {
		c->rc = err_set(&c->err, ERR_UNAVAILABLE, "no_model_key",
				"no model API key is configured: set PLUE_LLM_API_KEY on the server "
				"or the repository secret LLM_API_KEY");
	} else {
		struct anthropic_config cfga = { .base_url = c->p.base_url, .api_key = c->p.key };
		struct anthropic_request req = { .model = c->p.model,
						 .max_tokens = c->p.max_tokens,
						 .system = c->p.system,
						 .messages = c->conv,
						 .nmessages = c->nconv,
						 .tools = tools,
						 .ntools = ntools };
		struct anthropic_callbacks cb = { .cls = c, .on_text = on_text };
		c->rc = anthropic_messages_stream(&cfga, &req, &cb, &c->abort, &c->reply, &c->err);
	}
	free(tools);
	json_decref(schemas);
	if (c->rc && c->rc != LLM_ABORTED)
		log_warn("agent: workload %lld turn %d: %s", (long long)c->workload_id, c->turn,
			 c->err.msg);
	pthread_mutex_lock(&c->mu);
	c->finishing = true;
	dirty_push(c);
	pthread_mutex_unlock(&c->mu);
	call_unref(c); /* the thread's reference */
	return NULL;
}

/* ---- the response stream ---- */

static size_t cs_write(struct http_stream *s, const char *data, size_t len)
{
	(void)s;
	(void)data;
	return len;
}

static void cs_write_end(struct http_stream *s)
{
	(void)s;
}

static long cs_read(struct http_stream *s, char *out, size_t max)
{
	struct call *c = (struct call *)s;
	long n = 0;
	pthread_mutex_lock(&c->mu);
	if (c->done) {
		size_t left = strlen(c->answer) - c->off;
		size_t k = left < max ? left : max;
		memcpy(out, c->answer + c->off, k);
		c->off += k;
		n = k ? (long)k : -1;
	}
	pthread_mutex_unlock(&c->mu);
	return n;
}

static void cs_free(struct http_stream *s)
{
	struct call *c = (struct call *)s;
	pthread_mutex_lock(&c->mu);
	c->gone = true;
	c->base.wake = NULL;
	pthread_mutex_unlock(&c->mu);
	/* a runner that went away does not wait for the rest */
	atomic_store(&c->abort, true);
	call_unref(c);
}

static const struct http_stream_ops call_ops = {
	.write = cs_write,
	.write_end = cs_write_end,
	.read = cs_read,
	.free = cs_free,
};

/* ---- preparing a call (the request's worker) ---- */

/* The tool_result part of parts answering call id, or NULL. */
static json_t *part_result(json_t *parts, const char *id)
{
	json_t *p, *found = NULL;
	size_t i;
	json_array_foreach(parts, i, p)
	{
		const char *pid = json_string_value(json_object_get(p, "id"));
		if (!strcmp(json_string_value(json_object_get(p, "type")), "tool_result") && pid &&
		    !strcmp(pid, id))
			found = p;
	}
	return found;
}

/* A stored message's parts as m (its text and, when it completed, its tool
 * calls) and results (a user message answering each call, in order). */
static void message_from_parts(struct llm_message *m, struct llm_message *results, json_t *parts,
			       bool complete)
{
	json_t *p;
	size_t i;
	json_array_foreach(parts, i, p)
	{
		const char *type = json_string_value(json_object_get(p, "type"));
		const char *text = json_string_value(json_object_get(p, "text"));
		const char *id = json_string_value(json_object_get(p, "id"));
		if (!strcmp(type, "text") && text && *text)
			llm_message_add_text(m, text);
		else if (!strcmp(type, "tool_use") && complete && id)
			llm_message_add_tool_use(m, id,
						 json_string_value(json_object_get(p, "name")),
						 json_object_get(p, "input"));
	}
	for (size_t k = 0; k < m->nblocks; k++) {
		if (m->blocks[k].type != LLM_BLOCK_TOOL_USE)
			continue;
		json_t *r = part_result(parts, m->blocks[k].id);
		const char *out = r ? json_string_value(json_object_get(r, "text")) : NULL;
		llm_message_add_tool_result(results, m->blocks[k].id,
					    out ? out : "the tool did not run: the turn ended",
					    out ? json_is_true(json_object_get(r, "is_error"))
						: true);
	}
}

/* The stored history of the session before message `upto`, as a
 * conversation: a user message per user turn; an assistant message's text
 * and tool calls, then a user message with its tool results. A call
 * without a result (the turn ended before it ran) is answered "not run";
 * what an aborted or failed message said is kept, its calls are not. */
static int history(struct call *c, PGconn *db, struct arena *a, struct err *e)
{
	PGresult *res = db_qv(
		db, a, e,
		"SELECT m.role, m.status, (SELECT coalesce(json_agg(json_build_object('type', "
		"p.type, 'text', p.text, 'id', p.tool_use_id, 'name', p.name, 'input', p.input, "
		"'is_error', p.is_error) ORDER BY p.idx), '[]')::text FROM parts p "
		"WHERE p.message_id = m.id) FROM messages m WHERE m.session_id = $1 AND m.id < $2 "
		"ORDER BY m.id",
		arena_int(a, c->session_id), arena_int(a, c->message_id));
	if (!res)
		return e->code;
	int n = PQntuples(res);
	c->conv = xcalloc((size_t)n * 2 + 1, sizeof(*c->conv));
	for (int r = 0; r < n; r++) {
		bool user = !strcmp(db_val(res, r, 0), "user");
		json_t *parts = json_loads(db_val(res, r, 2), 0, NULL);
		struct llm_message *m = &c->conv[c->nconv], results;
		llm_message_init(m, user ? LLM_USER : LLM_ASSISTANT);
		llm_message_init(&results, LLM_USER);
		message_from_parts(m, &results, parts, !strcmp(db_val(res, r, 1), "complete"));
		json_decref(parts);
		if (!m->nblocks) {
			llm_message_release(m);
			continue;
		}
		c->nconv++;
		if (results.nblocks)
			c->conv[c->nconv++] = results;
	}
	if (!c->nconv || c->conv[0].role != LLM_USER)
		return err_set(e, ERR_CONFLICT, "no_prompt",
			       "session %lld has no message to answer", (long long)c->session_id);
	return 0;
}

/* Stores the results of turn-1's tool calls as parts of its message. */
static int results_store(PGconn *db, struct arena *a, struct err *e, const struct task *t, int turn,
			 json_t *results)
{
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *out = json_string_value(json_object_get(r, "output"));
		json_t *dur = json_object_get(r, "duration_ms");
		if (!id || !out || strlen(id) > 200)
			return err_set(e, ERR_INVALID, "invalid_tool_results",
				       "each tool result needs a string id and output");
		if (!db_qv(db, a, e,
			   "INSERT INTO parts (message_id, idx, type, text, tool_use_id, is_error, "
			   "duration_ms) SELECT m.id, (SELECT coalesce(max(idx), -1) + 1 FROM parts "
			   "WHERE message_id = m.id), 'tool_result', $3, $4, $5, $6 FROM messages m "
			   "WHERE m.workload_id = $1 AND m.turn = $2 AND EXISTS (SELECT 1 FROM parts "
			   "u WHERE u.message_id = m.id AND u.type = 'tool_use' AND u.tool_use_id = "
			   "$4) ON CONFLICT (message_id, tool_use_id) WHERE type = 'tool_result' DO "
			   "NOTHING",
			   arena_int(a, t->workload_id), arena_int(a, turn - 1), out, id,
			   json_is_true(json_object_get(r, "is_error")) ? "true" : "false",
			   json_is_integer(dur) ? arena_int(a, json_integer_value(dur)) : NULL))
			return e->code;
	}
	return 0;
}

/* The provider to call: the server's settings, each replaced by the
 * repository's secret of the same name when it has one. */
static int provider_load(struct provider *p, PGconn *db, struct arena *a, struct err *e,
			 int64_t repo_id)
{
	json_t *names = json_pack("[s,s,s]", "LLM_PROVIDER", "LLM_BASE_URL", "LLM_API_KEY"),
	       *sec = NULL;
	int rc = secrets_load(db, a, e, repo_id, names, &sec);
	json_decref(names);
	if (rc)
		return rc;
	const char *prov = json_string_value(json_object_get(sec, "LLM_PROVIDER"));
	const char *url = json_string_value(json_object_get(sec, "LLM_BASE_URL"));
	const char *key = json_string_value(json_object_get(sec, "LLM_API_KEY"));
	if (!prov)
		prov = cfg.llm_provider && *cfg.llm_provider ? cfg.llm_provider : "anthropic";
	if (!url && cfg.llm_base_url && *cfg.llm_base_url)
		url = cfg.llm_base_url;
	if (!key && cfg.llm_api_key && *cfg.llm_api_key)
		key = cfg.llm_api_key;
	if (strcmp(prov, "anthropic") && strcmp(prov, "openai"))
		rc = err_set(e, ERR_INVALID, "invalid_provider",
			     "model provider '%.40s' is not one Plue knows (anthropic, openai)",
			     prov);
	else {
		p->openai = !strcmp(prov, "openai");
		p->base_url = url ? xstrdup(url) : NULL;
		p->key = key ? xstrdup(key) : NULL;
	}
	json_decref(sec);
	return rc;
}

/* An answer the runner gets at once (no model call): a limit, or a turn
 * already stored. */
static struct call *call_answered(json_t *answer)
{
	struct call *c = xcalloc(1, sizeof(*c));
	c->base.ops = &call_ops;
	c->refs = 1;
	pthread_mutex_init(&c->mu, NULL);
	c->done = true;
	c->answer = json_dumps(answer, JSON_COMPACT);
	json_decref(answer);
	return c;
}

static json_t *limit_answer(const char *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static json_t *limit_answer(const char *code, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s,s:[],s:{s:s,s:s}}", "status", "error", "tool_uses", "error", "code",
			 code, "message", msg);
}

/* A turn already stored, answered again. */
static json_t *stored_answer(PGconn *db, struct arena *a, struct err *e, int64_t mid)
{
	PGresult *res = db_qv(
		db, a, e,
		"SELECT m.status, m.stop_reason, m.error, (SELECT coalesce(json_agg("
		"json_build_object('id', p.tool_use_id, 'name', p.name, 'input', p.input) "
		"ORDER BY p.idx), '[]')::text FROM parts p WHERE p.message_id = m.id AND p.type = "
		"'tool_use') FROM messages m WHERE m.id = $1",
		arena_int(a, mid));
	if (!res || PQntuples(res) != 1)
		return NULL;
	json_t *o = json_pack("{s:I,s:s,s:o}", "message_id", (json_int_t)mid, "status",
			      db_val(res, 0, 0), "tool_uses",
			      json_loads(db_val(res, 0, 3), 0, NULL));
	json_object_set_new(o, "stop_reason",
			    db_val(res, 0, 1) ? json_string(db_val(res, 0, 1)) : json_null());
	if (!strcmp(db_val(res, 0, 0), "error"))
		json_object_set_new(o, "error",
				    json_pack("{s:s,s:s}", "code", "model_error", "message",
					      db_val(res, 0, 2) ?: ""));
	return o;
}

int agent_model(struct http_stream **out, PGconn *db, struct arena *a, struct err *e,
		const struct task *t, json_t *body)
{
	if (strcmp(t->type, "agent") || !t->session_id)
		return err_set(e, ERR_PERM, "not_an_agent",
			       "workload %lld is not an agent turn: it has no model to ask",
			       (long long)t->workload_id);
	if (atomic_load(&closing))
		return err_set(e, ERR_UNAVAILABLE, "shutting_down",
			       "the server is shutting down: ask again");
	json_t *jt = json_object_get(body, "turn"), *results = json_object_get(body, "tool_results");
	if (!json_is_integer(jt) || json_integer_value(jt) < 1 || json_integer_value(jt) > 100000)
		return err_set(e, ERR_INVALID, "invalid_turn",
			       "field 'turn' must be a number from 1");
	if (results && !json_is_array(results))
		return err_set(e, ERR_INVALID, "invalid_tool_results",
			       "field 'tool_results' must be an array");
	int turn = (int)json_integer_value(jt);
	PGresult *res = db_qv(
		db, a, e,
		"SELECT s.model, s.system_prompt, array_to_json(s.tools)::text, s.max_turns, "
		"s.max_output_tokens, extract(epoch FROM now() - w.created_at)::bigint > s.timeout_s, "
		"s.timeout_s, (SELECT id FROM messages WHERE workload_id = w.id AND turn = $2), "
		"(SELECT status FROM messages WHERE workload_id = w.id AND turn = $2) "
		"FROM workloads w JOIN agent_sessions s ON s.id = w.session_id WHERE w.id = $1",
		arena_int(a, t->workload_id), arena_int(a, turn));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, "session_gone",
			       "the session of workload %lld is gone", (long long)t->workload_id);
	int max_turns = (int)db_int(res, 0, 3);
	int64_t mid = db_val(res, 0, 7) ? db_int(res, 0, 7) : 0;
	const char *mstatus = db_val(res, 0, 8);
	int rc;
	if (results && (rc = results_store(db, a, e, t, turn, results)))
		return rc;
	if (json_is_true(json_object_get(body, "stop"))) {
		/* the turn is over (aborted): only its last results to keep */
		*out = &call_answered(json_pack("{s:s,s:[]}", "status", "aborted", "tool_uses"))->base;
		return 0;
	}
	if (mid && strcmp(mstatus, "streaming")) {
		json_t *o = stored_answer(db, a, e, mid);
		if (!o)
			return e->code ? e->code : err_set(e, ERR_INTERNAL, NULL, "message lost");
		*out = &call_answered(o)->base;
		return 0;
	}
	if (turn > max_turns) {
		*out = &call_answered(limit_answer("max_turns",
						   "the turn reached the session's limit of %d model "
						   "calls (max_turns)",
						   max_turns))
				->base;
		return 0;
	}
	if (db_bool(res, 0, 5)) {
		*out = &call_answered(limit_answer("timeout",
						   "the turn ran longer than the session's timeout "
						   "of %lld s",
						   (long long)db_int(res, 0, 6)))
				->base;
		return 0;
	}
	struct call *c = xcalloc(1, sizeof(*c));
	c->base.ops = &call_ops;
	c->refs = 1; /* the response stream's */
	pthread_mutex_init(&c->mu, NULL);
	c->pending = json_array();
	c->workload_id = t->workload_id;
	c->session_id = t->session_id;
	c->stream_id = t->stream_id;
	c->turn = turn;
	c->p.model = xstrdup(db_val(res, 0, 0));
	c->p.system = db_val(res, 0, 1) ? xstrdup(db_val(res, 0, 1)) : NULL;
	c->p.max_tokens = (int)db_int(res, 0, 4);
	c->tools = json_loads(db_val(res, 0, 2), 0, NULL);
	if ((rc = provider_load(&c->p, db, a, e, t->repo_id)))
		goto fail;

	/* the message, and its message_start, in one transaction */
	struct stream_tx st;
	stream_tx_begin(&st, t->stream_id);
	bool ok = !db_begin(db, e);
	if (ok && mid) {
		/* its call was lost (this server restarted): start it over */
		ok = db_qv(db, a, e,
			   "DELETE FROM parts WHERE message_id = $1 AND type <> 'tool_result'",
			   arena_int(a, mid)) != NULL;
	} else if (ok) {
		PGresult *m = db_qv(db, a, e,
				    "INSERT INTO messages (session_id, workload_id, turn, role, "
				    "status, model) VALUES ($1, $2, $3, 'assistant', 'streaming', $4) "
				    "RETURNING id",
				    arena_int(a, t->session_id), arena_int(a, t->workload_id),
				    arena_int(a, turn), c->p.model);
		ok = m != NULL;
		if (ok)
			mid = db_int(m, 0, 0);
	}
	c->message_id = mid;
	json_t *start = json_pack("{s:I,s:s,s:i,s:s}", "message_id", (json_int_t)mid, "role",
				  "assistant", "turn", turn, "model", c->p.model);
	if (mstatus)
		json_object_set_new(start, "restart", json_true());
	ok = ok && !stream_append1(&st, db, a, e, 0, "message_start", start);
	if (ok)
		ok = !db_commit(db, e);
	else
		db_rollback(db);
	stream_tx_end(&st, ok);
	if (!ok) {
		rc = e->code;
		goto fail;
	}
	if ((rc = history(c, db, a, e)))
		goto fail;
	if (t->cancel)
		atomic_store(&c->abort, true);

	writers_ensure();
	pthread_mutex_lock(&reg_mu);
	c->next_active = active;
	active = c;
	pthread_mutex_unlock(&reg_mu);
	c->refs++; /* the thread's */
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	if (pthread_create(&th, &at, call_main, c)) {
		pthread_attr_destroy(&at);
		c->refs--;
		rc = err_set(e, ERR_UNAVAILABLE, NULL, "cannot start the model call");
		goto fail;
	}
	pthread_attr_destroy(&at);
	*out = &c->base;
	return 0;
fail:
	call_unref(c);
	return rc;
}

int agent_turn_end(struct stream_tx *st, PGconn *db, struct arena *a, struct err *e,
		   int64_t workload_id, const char *result, const char *reason)
{
	PGresult *res = db_qv(db, a, e,
			      "UPDATE messages SET status = CASE WHEN $2 = 'cancelled' THEN "
			      "'aborted' ELSE 'error' END, error = coalesce($3, 'the turn ended'), "
			      "finished_at = now() WHERE workload_id = $1 AND status = 'streaming' "
			      "RETURNING id",
			      arena_int(a, workload_id), result, reason);
	if (!res)
		return e->code;
	for (int i = 0; i < PQntuples(res); i++) {
		int rc = stream_append1(st, db, a, e, 0, "message_end",
					json_pack("{s:I,s:s,s:s}", "message_id",
						  (json_int_t)db_int(res, i, 0), "role",
						  "assistant", "status",
						  strcmp(result, "cancelled") ? "error" : "aborted"));
		if (rc)
			return rc;
	}
	res = db_qv(db, a, e, "SELECT session_id FROM workloads WHERE id = $1",
		    arena_int(a, workload_id));
	if (!res)
		return e->code;
	json_t *done = json_pack("{s:I,s:I,s:s}", "session", (json_int_t)db_int(res, 0, 0),
				 "workload_id", (json_int_t)workload_id, "result", result);
	json_object_set_new(done, "reason", reason ? json_string(reason) : json_null());
	return stream_append1(st, db, a, e, 0, "done", done);
}

int agent_session_start(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, int64_t run_id,
			int64_t stream_id, int64_t actor_id, const char *title, json_t *spec,
			int64_t *out)
{
	json_t *ag = json_object_get(spec, "agent");
	char *tools = json_dumps(json_object_get(ag, "tools"), JSON_COMPACT);
	PGresult *res = db_qv(
		db, a, e,
		"WITH s AS (INSERT INTO agent_sessions (repo_id, creator_id, run_id, title, model, "
		"  system_prompt, tools, max_turns, timeout_s, stream_id) "
		"  SELECT $1, $2, $3, $4, $5, $6, array(SELECT jsonb_array_elements_text($7::jsonb)), "
		"  $8, $9, $10 RETURNING id), "
		"m AS (INSERT INTO messages (session_id, role, author_id, finished_at) "
		"  SELECT id, 'user', $2, now() FROM s RETURNING id), "
		"p AS (INSERT INTO parts (message_id, idx, type, text) SELECT id, 0, 'text', $11 "
		"  FROM m) "
		"SELECT s.id, (SELECT username FROM users WHERE id = $2) FROM s",
		arena_int(a, repo_id), arena_id(a, actor_id), arena_int(a, run_id), title,
		json_string_value(json_object_get(ag, "model")),
		json_string_value(json_object_get(ag, "system")),
		arena_strdup(a, tools ? tools : "[]"),
		arena_int(a, json_integer_value(json_object_get(ag, "max_turns"))),
		arena_int(a, json_integer_value(json_object_get(ag, "timeout"))),
		arena_int(a, stream_id), json_string_value(json_object_get(ag, "prompt")));
	free(tools);
	if (!res)
		return e->code;
	*out = db_int(res, 0, 0);
	const char *user = db_val(res, 0, 1) ? db_val(res, 0, 1) : "plue";
	json_object_set_new(spec, "session", json_integer(*out));
	json_object_set_new(spec, "author",
			    json_pack("{s:s,s:s}", "name", user, "email",
				      arena_printf(a, "%s@users.noreply.plue", user)));
	return 0;
}
