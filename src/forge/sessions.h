/* sessions.h — agent sessions as people use them: a conversation with a
 * model about one repository, whose turns run as sandboxed `agent`
 * workloads (queue/agent.h executes them). Create, read, list, rename or
 * archive, delete; send a message (which starts a turn); read the history
 * (messages and their parts); abort the running turn.
 *
 * Who sees a session: the person who created it — a conversation is its
 * author's, as on other forges — and, for a session an agent-mode workflow
 * started (it belongs to a run), everyone who can read the repository, as
 * the run. Anyone else is told "session N not found". Who acts on it
 * (send, abort, rename, archive, delete): its creator; a workflow's session
 * is acted on through its run (cancel) by those who can write.
 *
 * A session's tools act with its creator's authority and nothing more
 * (their workloads' task tokens carry the creator as actor): an agent
 * never does what its person could not.
 *
 * JSON returned is a new reference the caller owns; timestamps SQL_TS. */
#ifndef PLUE_FORGE_SESSIONS_H
#define PLUE_FORGE_SESSIONS_H

#include "forge/forge.h"

#define SESSION_TITLE_MAX 200
#define SESSION_SYSTEM_MAX (32 * 1024)
#define SESSION_MESSAGE_MAX (64 * 1024)
#define SESSION_MODEL_MAX 100

/* Tools a session gets when it names none: those that read and run,
 * nothing that writes to the forge. */
#define SESSION_DEFAULT_TOOLS                                                                      \
	"[\"read_file\",\"list_files\",\"search_code\",\"run_command\",\"git_status\","            \
	"\"git_diff\"]"

/* A session found by id, with its repository (and f->who's role there). */
struct session_ref {
	int64_t id;
	int64_t stream_id;
	int64_t creator_id;
	int64_t run_id; /* 0 for a chat */
	bool archived;
	struct repo *repo;
};

/* What a new session is; NULL / 0 members take the defaults: title "New
 * session", the server's model (PLUE_LLM_MODEL), no system prompt,
 * SESSION_DEFAULT_TOOLS, max_turns 20 (1..200), timeout 600 s (10..7200),
 * max_output_tokens 4096 (1..128000). */
struct session_new {
	const char *title;
	const char *model;
	const char *system;
	json_t *tools; /* a JSON array of tool names (llm/tools.h), borrowed */
	int max_turns, timeout_s, max_output_tokens;
};

/* Creates a session on repo for f->who, who must be a signed-in person
 * (not a task) able to read repo. ERR_INVALID (invalid_title,
 * invalid_model, unknown_tool, invalid_tools, invalid_limit), ERR_AUTH,
 * or authz_repo's answer. *out: the session as session_get gives it. */
int session_create(json_t **out, struct forge *f, const struct repo *repo,
		   const struct session_new *in);

/* Finds session id for f->who (see the top). write: f->who must be able
 * to act on it (the creator; ERR_PERM for others who see it).
 * ERR_NOTFOUND "session N not found". */
int session_find(struct session_ref *out, struct forge *f, int64_t id, bool write);

/* The session as JSON: {id, repository, title, model, system, tools,
 * max_turns, timeout, max_output_tokens, archived, status (idle|running),
 * creator, run_id, created_at, updated_at, url}. */
int session_get(json_t **out, struct forge *f, const struct session_ref *s);

/* f->who's sessions on repo (and the workflow sessions of the repo when
 * runs is true), newest first, ids below before (INT64_MAX: from the
 * newest), at most limit (1..100), archived ones only when archived is
 * true. *out: an array of session_get objects; *next: the cursor of the
 * next page, 0 at the end. */
int session_list(json_t **out, int64_t *next, struct forge *f, const struct repo *repo,
		 int64_t before, int limit, bool archived);

/* Renames (title NULL: kept) and archives or restores (archived NULL:
 * kept) the session. *out: session_get. */
int session_update(json_t **out, struct forge *f, const struct session_ref *s, const char *title,
		   const bool *archived);

/* Deletes the session, its messages and its events; a running turn is
 * cancelled first. */
int session_delete(struct forge *f, const struct session_ref *s);

/* Sends f->who's message content (1..SESSION_MESSAGE_MAX bytes of UTF-8)
 * and starts a turn: stores the user message, writes its events and a
 * `chat` event to the outbox, and queues an `agent` workload at the head
 * of the repository's default branch — all in one transaction.
 * ERR_INVALID invalid_message; ERR_CONFLICT session_archived,
 * session_busy (a turn is running), empty_repository; ERR_RATELIMIT
 * agent_limit (PLUE_AGENT_CONCURRENCY turns already run in this
 * repository). *out: {message (as in session_messages), workload_id}. */
int session_send(json_t **out, struct forge *f, const struct session_ref *s, const char *content);

/* The session's messages with id above after, oldest first, at most limit
 * (1..200): [{id, role, status, author, model, stop_reason, error, usage:
 * {input_tokens, output_tokens, cache_read_tokens, cache_write_tokens},
 * cost_usd, created_at, finished_at, parts: [{type, text | id, name,
 * input | tool_use_id, output, is_error, duration_ms}]}]. *next: the id
 * to pass as after for the next page, 0 at the end. */
int session_messages(json_t **out, int64_t *next, struct forge *f, const struct session_ref *s,
		     int64_t after, int limit);

/* Aborts the running turn: sets its workload's cancel flag (the runner and
 * the model call stop within a second; an `aborted` event follows). *out:
 * {aborting: true, workload_id} — or {aborting: false, message} when
 * nothing runs, which is not an error. */
int session_abort(json_t **out, struct forge *f, const struct session_ref *s);

/* The model of a session that names none: PLUE_LLM_MODEL, or the
 * built-in default. A static string. */
const char *session_model_default(void);

/* Where a page that renders the session after reading it follows its
 * stream from: the last event's sequence number (0 when none) — or, while
 * a reply is streaming (its text is stored only when it ends), the number
 * just before that reply's message_start, so that its tokens so far are
 * replayed into the reply the page shows empty. */
int session_stream_last(int64_t *out, struct forge *f, const struct session_ref *s);

#endif
