/* agent.h — the server's side of an agent turn: the model call a runner
 * asks for, made by the server with its own key (a runner and its sandbox
 * never hold a provider key), with the tokens published to the session's
 * watchers as they pass, and the assistant message stored from the same
 * reply.
 *
 * The runner's loop (runner/agent.c) calls POST /internal/tasks/:id/model
 * with {"turn": N, "tool_results": [{id, output, is_error, duration_ms}]}
 * — the results of turn N-1's tool calls — and gets, when the model is
 * done, {message_id, status, stop_reason, tool_uses: [{id, name, input}],
 * usage, limit, error}. The server:
 *   1. stores the tool results as parts of turn N-1's message;
 *   2. ends the turn with an error answer when a limit is reached
 *      (max_turns: N is past the session's; timeout: the workload has run
 *      longer than the session's timeout) — error.code names the limit;
 *   3. opens turn N's assistant message (status streaming) and writes
 *      message_start; a turn asked again (the runner retried after losing
 *      the answer, or after this server restarted) is answered from the
 *      stored message when it ended, or started over — message_start with
 *      "restart": true, the client drops what it showed of that message —
 *      when the call it had was lost;
 *   4. builds the conversation from the stored history, offers the
 *      session's tools (llm/tools.h), and streams the provider's reply:
 *      each text delta becomes a `token` event {message_id, index, text}
 *      (deltas that arrive while the previous write is in flight go out
 *      together: a busy database coalesces, an idle one adds about one
 *      commit of latency);
 *   5. stores the message (parts, usage, cost, stop_reason, status
 *      complete | aborted | error) and writes message_end, then answers.
 * The model call runs on a thread of its own (the request's worker is
 * free at once); its events are written by a small pool of writer threads
 * with connections of their own. A workload cancelled (abort, run cancel)
 * stops its call within ANTHROPIC_POLL_MS of the notifier's look (it is
 * woken by the NOTIFY): the partial message is kept, status aborted.
 *
 * Provider, base URL, key and default model are the server's settings
 * (PLUE_LLM_*); a repository may override the first three with secrets
 * named LLM_PROVIDER, LLM_BASE_URL and LLM_API_KEY (names under PLUE_ are
 * the server's own). The key
 * appears in no event, log line, reply or workload. */
#ifndef PLUE_QUEUE_AGENT_H
#define PLUE_QUEUE_AGENT_H

#include <jansson.h>
#include <libpq-fe.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/http.h"
#include "queue/queue.h"
#include "queue/stream.h"

/* Answers a runner's model request for task t (an agent workload) with
 * body; *out is the response stream (its body the answer above). ERR_*
 * for a request that is not one (not an agent task, a bad body). */
int agent_model(struct http_stream **out, PGconn *db, struct arena *a, struct err *e,
		const struct task *t, json_t *body);

/* The end of an agent workload's turn, inside workload_finish's
 * transaction (which holds st): marks messages still streaming as
 * aborted or failed, and writes the session's `done` {session, result,
 * reason}. */
int agent_turn_end(struct stream_tx *st, PGconn *db, struct arena *a, struct err *e,
		   int64_t workload_id, const char *result, const char *reason);

/* The session of an agent-mode workflow's job (inside the caller's
 * transaction): a session of run run_id on its stream, acting as actor_id
 * (0: none — its forge tools then refuse), with the job spec's agent
 * settings and its prompt as the first user message. Adds to spec what
 * the runner needs ("session", "author"). *out: the session's id. */
int agent_session_start(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, int64_t run_id,
			int64_t stream_id, int64_t actor_id, const char *title, json_t *spec,
			int64_t *out);

/* Appends to ids, comma-separated ("3,7"), the workloads of the model
 * calls not stopped yet. The notifier asks the database which of them
 * were cancelled, finished or deleted (with its own watches) and calls
 * agent_stop_workload for each. */
void agent_workload_ids(struct buf *ids);

/* Stops the model calls of workload id (its partial message is kept,
 * status aborted). */
void agent_stop_workload(int64_t id);

/* Stops every model call for the server's shutdown and waits (about 3 s at
 * most) until each has answered its runner {"retry": true} — not an abort:
 * its message stays streaming, and the runner asks the next server for the
 * same turn, which starts it over. New calls are refused (503). Call it
 * before the HTTP server stops, which must find no response still parked. */
void agent_abort_all(void);

/* Stops the writers (server shutdown, after the HTTP server). */
void agent_stop(void);

/* The cost of usage for model in millionths of a US dollar, from the
 * published prices of the models Plue knows; -1 when it does not know the
 * model. */
struct llm_usage;
int64_t agent_cost_micro_usd(const char *model, const struct llm_usage *u);

#endif
