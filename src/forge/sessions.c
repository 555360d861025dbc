/* sessions.c — agent sessions: the rules people meet (see sessions.h).
 * Executing a turn — the workload, the model call, the events — is the
 * execution system's (queue/agent.h); a turn is started here by queueing
 * its workload in the same transaction as the user's message. */
#include "forge/sessions.h"
#include "auth/auth.h"
#include "base/config.h"
#include "base/util.h"
#include "db/db.h"
#include "git/objects.h"
#include "llm/tools.h"
#include "queue/queue.h"
#include "queue/stream.h"

#include <string.h>

/* The columns session_json reads, after s. (alias of agent_sessions). */
#define SESSION_COLS                                                                               \
	"s.id, s.title, s.model, s.system_prompt, array_to_json(s.tools)::text, s.max_turns, "     \
	"s.timeout_s, s.max_output_tokens, s.archived, coalesce(s.run_id, 0), " SQL_TS(            \
		"s.created_at") ", " SQL_TS("s.updated_at") ", cu.username, "                      \
							    "EXISTS (SELECT 1 FROM workloads w WHERE w.session_id = s.id AND w.status <> 'done')"

static json_t *session_json(struct forge *f, const struct repo *repo, PGresult *res, int r)
{
	json_t *tools = json_loads(db_val(res, r, 4), 0, NULL);
	int64_t id = db_int(res, r, 0);
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:i,s:i,s:i,s:b,s:s,s:s,s:s,s:s}", "id",
			      (json_int_t)id, "repository",
			      arena_printf(f->arena, "%s/%s", repo->owner, repo->name), "title",
			      db_val(res, r, 1), "model", db_val(res, r, 2), "system",
			      db_val(res, r, 3) ? json_string(db_val(res, r, 3)) : json_null(),
			      "tools", tools ? tools : json_array(), "max_turns",
			      (int)db_int(res, r, 5), "timeout", (int)db_int(res, r, 6),
			      "max_output_tokens", (int)db_int(res, r, 7), "archived",
			      db_bool(res, r, 8), "status",
			      db_bool(res, r, 13) ? "running" : "idle", "created_at",
			      db_val(res, r, 10), "updated_at", db_val(res, r, 11), "url",
			      arena_printf(f->arena, "/%s/%s/sessions/%lld", repo->owner,
					   repo->name, (long long)id));
	json_object_set_new(o, "creator",
			    db_val(res, r, 12) ? json_string(db_val(res, r, 12)) : json_null());
	json_object_set_new(o, "run_id",
			    db_int(res, r, 9) ? json_integer(db_int(res, r, 9)) : json_null());
	return o;
}

static int limit_check(struct err *e, const char *what, int *v, int def, int lo, int hi)
{
	if (!*v)
		*v = def;
	else if (*v < lo || *v > hi)
		return err_set(e, ERR_INVALID, "invalid_limit", "%s must be between %d and %d",
			       what, lo, hi);
	return 0;
}

/* A title: 1..SESSION_TITLE_MAX bytes of UTF-8 without control characters. */
static int title_check(struct err *e, const char *t)
{
	size_t n = strlen(t);
	if (!n || n > SESSION_TITLE_MAX || !objects_utf8_valid(t, n))
		return err_set(e, ERR_INVALID, "invalid_title",
			       "a title is 1 to %d bytes of UTF-8 text", SESSION_TITLE_MAX);
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return err_set(e, ERR_INVALID, "invalid_title",
				       "a title has no control characters");
	return 0;
}

int session_create(json_t **out, struct forge *f, const struct repo *repo,
		   const struct session_new *in_)
{
	struct session_new in = *in_;
	int rc;
	if (!f->who->user_id)
		return err_set(f->err, ERR_AUTH, NULL, "sign in to start an agent session");
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (!in.title)
		in.title = "New session";
	if ((rc = title_check(f->err, in.title)))
		return rc;
	if (!in.model || !*in.model)
		in.model = session_model_default();
	size_t ml = strlen(in.model);
	if (ml > SESSION_MODEL_MAX || !objects_utf8_valid(in.model, ml) ||
	    strpbrk(in.model, " \t\r\n"))
		return err_set(f->err, ERR_INVALID, "invalid_model",
			       "a model is a name of at most %d characters without spaces",
			       SESSION_MODEL_MAX);
	if (in.system && (strlen(in.system) > SESSION_SYSTEM_MAX ||
			  !objects_utf8_valid(in.system, strlen(in.system))))
		return err_set(f->err, ERR_INVALID, "invalid_system",
			       "a system prompt is at most %d bytes of UTF-8", SESSION_SYSTEM_MAX);
	json_t *deftools = NULL;
	if (!in.tools)
		in.tools = deftools = json_loads(SESSION_DEFAULT_TOOLS, 0, NULL);
	rc = tool_names_check(in.tools, f->err);
	char *tools = rc ? NULL : json_dumps(in.tools, JSON_COMPACT);
	json_decref(deftools);
	if (rc)
		return rc;
	if ((rc = limit_check(f->err, "max_turns", &in.max_turns, 20, 1, 200)) ||
	    (rc = limit_check(f->err, "timeout", &in.timeout_s, 600, 10, 7200)) ||
	    (rc = limit_check(f->err, "max_output_tokens", &in.max_output_tokens, 4096, 1, 128000))) {
		free(tools);
		return rc;
	}
	int64_t stream;
	int64_t id = 0;
	if (!(rc = db_begin(f->db, f->err))) {
		PGresult *res = NULL;
		if (!(rc = stream_create(&stream, f->db, f->arena, f->err, repo->id)))
			res = db_qv(f->db, f->arena, f->err,
				    "INSERT INTO agent_sessions (repo_id, creator_id, title, model, "
				    "system_prompt, tools, max_turns, timeout_s, max_output_tokens, "
				    "stream_id) SELECT $1, $2, $3, $4, $5, "
				    "  array(SELECT jsonb_array_elements_text($6::jsonb)), $7, $8, $9, $10 "
				    "RETURNING id",
				    arena_int(f->arena, repo->id),
				    arena_int(f->arena, f->who->user_id), in.title, in.model,
				    in.system, arena_strdup(f->arena, tools),
				    arena_int(f->arena, in.max_turns),
				    arena_int(f->arena, in.timeout_s),
				    arena_int(f->arena, in.max_output_tokens),
				    arena_int(f->arena, stream));
		if (!rc && !res)
			rc = f->err->code;
		if (!rc) {
			id = db_int(res, 0, 0);
			rc = db_commit(f->db, f->err);
		} else {
			db_rollback(f->db);
		}
	}
	free(tools);
	if (rc)
		return rc;
	struct session_ref s;
	if ((rc = session_find(&s, f, id, false)))
		return rc;
	return session_get(out, f, &s);
}

int session_find(struct session_ref *out, struct forge *f, int64_t id, bool write)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT u.username, p.name, s.stream_id, coalesce(s.creator_id, 0), "
			      "coalesce(s.run_id, 0), s.archived FROM agent_sessions s "
			      "JOIN repositories p ON p.id = s.repo_id JOIN users u ON u.id = p.owner_id "
			      "WHERE s.id = $1",
			      arena_int(f->arena, id));
	if (!res)
		return f->err->code;
	int rc = 0;
	struct repo *repo = NULL;
	if (PQntuples(res) != 1)
		goto hidden;
	*out = (struct session_ref){ .id = id,
				     .stream_id = db_int(res, 0, 2),
				     .creator_id = db_int(res, 0, 3),
				     .run_id = db_int(res, 0, 4),
				     .archived = db_bool(res, 0, 5) };
	if ((rc = repo_load(&repo, f, db_val(res, 0, 0), db_val(res, 0, 1))) ||
	    (rc = authz_repo(f->who, repo, ACT_READ, f->err))) {
		if (rc != ERR_NOTFOUND)
			return rc;
		err_clear(f->err);
		goto hidden;
	}
	out->repo = repo;
	bool mine = f->who->user_id && f->who->user_id == out->creator_id &&
		    f->who->via != AUTH_TASK;
	if (!mine && !out->run_id)
		goto hidden; /* a chat is its author's */
	if (write && !mine)
		return err_set(f->err, ERR_PERM, NULL,
			       out->run_id
				       ? "session %lld belongs to run %lld: cancel the run instead"
				       : "only the creator of session %lld may do that",
			       (long long)id, (long long)out->run_id);
	return 0;
hidden:
	return err_set(f->err, ERR_NOTFOUND, NULL, "session %lld not found", (long long)id);
}

int session_get(json_t **out, struct forge *f, const struct session_ref *s)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " SESSION_COLS " FROM agent_sessions s "
			      "LEFT JOIN users cu ON cu.id = s.creator_id WHERE s.id = $1",
			      arena_int(f->arena, s->id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "session %lld not found",
			       (long long)s->id);
	*out = session_json(f, s->repo, res, 0);
	return 0;
}

int session_list(json_t **out, int64_t *next, struct forge *f, const struct repo *repo,
		 int64_t before, int limit, bool archived)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (limit < 1 || limit > 100)
		limit = 30;
	/* one more than asked: whether a next page exists */
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " SESSION_COLS " FROM agent_sessions s "
			      "LEFT JOIN users cu ON cu.id = s.creator_id "
			      "WHERE s.repo_id = $1 AND s.id < $2 AND s.archived = $4 AND "
			      "  ((s.creator_id = $3 AND s.run_id IS NULL) OR s.run_id IS NOT NULL) "
			      "ORDER BY s.id DESC LIMIT $5",
			      arena_int(f->arena, repo->id), arena_int(f->arena, before),
			      arena_int(f->arena, f->who->via == AUTH_TASK ? 0 : f->who->user_id),
			      archived ? "true" : "false", arena_int(f->arena, limit + 1));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	*out = json_array();
	*next = 0;
	for (int r = 0; r < n && r < limit; r++)
		json_array_append_new(*out, session_json(f, repo, res, r));
	if (n > limit)
		*next = db_int(res, limit - 1, 0);
	return 0;
}

int session_update(json_t **out, struct forge *f, const struct session_ref *s, const char *title,
		   const bool *archived)
{
	int rc;
	if (title && (rc = title_check(f->err, title)))
		return rc;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE agent_sessions SET title = coalesce($2, title), "
		   "archived = coalesce($3::boolean, archived), updated_at = now() WHERE id = $1",
		   arena_int(f->arena, s->id), title,
		   archived ? (*archived ? "true" : "false") : NULL))
		return f->err->code;
	return session_get(out, f, s);
}

/* The workload of s's running turn, or 0. */
static int running_workload(int64_t *out, struct forge *f, int64_t session_id, bool lock)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      lock ? "SELECT id FROM workloads WHERE session_id = $1 AND status <> "
				     "'done' FOR UPDATE"
				   : "SELECT id FROM workloads WHERE session_id = $1 AND status <> "
				     "'done'",
			      arena_int(f->arena, session_id));
	if (!res)
		return f->err->code;
	*out = PQntuples(res) ? db_int(res, 0, 0) : 0;
	return 0;
}

int session_delete(struct forge *f, const struct session_ref *s)
{
	int rc;
	int64_t w = 0;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = running_workload(&w, f, s->id, true)) ||
	    (w && (rc = workload_cancel_notify(f->db, f->arena, f->err, w))))
		goto fail;
	/* the stream goes with the session (its events with it); a workload
	 * that still runs loses its task token: its runner stops at its next
	 * post */
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE workloads SET status = 'done', result = 'cancelled', "
		   "reason = 'session deleted', task_token_hash = NULL, finished_at = now() "
		   "WHERE session_id = $1 AND status <> 'done'",
		   arena_int(f->arena, s->id)) ||
	    !db_qv(f->db, f->arena, f->err, "DELETE FROM agent_sessions WHERE id = $1",
		   arena_int(f->arena, s->id)) ||
	    (!s->run_id && !db_qv(f->db, f->arena, f->err, "DELETE FROM streams WHERE id = $1",
				  arena_int(f->arena, s->stream_id)))) {
		rc = f->err->code;
		goto fail;
	}
	return db_commit(f->db, f->err);
fail:
	db_rollback(f->db);
	return rc;
}

/* The message row id as session_messages shows it. */
static int message_one(json_t **out, struct forge *f, const struct session_ref *s, int64_t id)
{
	json_t *arr;
	int64_t next;
	int rc = session_messages(&arr, &next, f, s, id - 1, 1);
	if (rc)
		return rc;
	*out = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

/* Starts a turn inside the caller's transaction: checks the repository's
 * agent limit, queues the workload. */
static int turn_queue(struct forge *f, const struct session_ref *s, int64_t *workload)
{
	const char *rid = arena_int(f->arena, s->repo->id);
	/* one sender at a time per repository while the limit is counted */
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT pg_advisory_xact_lock(hashtext('plue_agents'), $1::int), "
		"  (SELECT count(*) FROM workloads WHERE repo_id = $1 AND type = 'agent' AND "
		"   status <> 'done'), "
		"  (SELECT commit_sha FROM branches WHERE repo_id = $1 AND name = $2), "
		"  (SELECT array_to_json(tools)::text FROM agent_sessions WHERE id = $3), "
		"  (SELECT json_build_array(max_turns, timeout_s)::text FROM agent_sessions "
		"   WHERE id = $3), "
		"  (SELECT username FROM users WHERE id = $4)",
		rid, s->repo->default_branch, arena_int(f->arena, s->id),
		arena_int(f->arena, s->creator_id));
	if (!res)
		return f->err->code;
	int limit = cfg.agent_concurrency > 0 ? cfg.agent_concurrency : 4;
	if (db_int(res, 0, 1) >= limit)
		return err_set(f->err, ERR_RATELIMIT, "agent_limit",
			       "%d agent turns are running in %s/%s, its limit "
			       "(PLUE_AGENT_CONCURRENCY): try again when one ends",
			       limit, s->repo->owner, s->repo->name);
	const char *sha = db_val(res, 0, 2);
	if (!sha)
		return err_set(f->err, ERR_CONFLICT, "empty_repository",
			       "%s/%s has no branch '%s' yet: push a commit first", s->repo->owner,
			       s->repo->name, s->repo->default_branch);
	json_t *tools = json_loads(db_val(res, 0, 3), 0, NULL);
	json_t *lim = json_loads(db_val(res, 0, 4), 0, NULL);
	const char *user = db_val(res, 0, 5) ? db_val(res, 0, 5) : "plue";
	bool pushes = tool_listed(tools, "push");
	json_t *spec = json_pack("{s:I,s:{s:I,s:s,s:s,s:s},s:s,s:s,s:{s:o,s:O,s:O},s:{s:s,s:s}}",
				 "session", (json_int_t)s->id, "repo", "id", (json_int_t)s->repo->id,
				 "owner", s->repo->owner, "name", s->repo->name, "clone_path",
				 arena_printf(f->arena, "/%s/%s.git", s->repo->owner, s->repo->name),
				 "commit", sha, "ref",
				 arena_printf(f->arena, "refs/heads/%s", s->repo->default_branch),
				 "agent", "tools", tools ? tools : json_array(), "max_turns",
				 json_array_get(lim, 0), "timeout", json_array_get(lim, 1),
				 "author", "name", user, "email",
				 arena_printf(f->arena, "%s@users.noreply.plue", user));
	json_decref(lim);
	struct workload_new wn = { .type = "agent",
				   .repo_id = s->repo->id,
				   .stream_id = s->stream_id,
				   .session_id = s->id,
				   .actor_id = s->creator_id,
				   .may_write = pushes,
				   .spec = spec };
	int rc = workload_create(f->db, f->arena, f->err, &wn, workload);
	json_decref(spec);
	if (!rc &&
	    !db_qv(f->db, f->arena, f->err,
		   "UPDATE agent_sessions SET workload_id = $2, updated_at = now() WHERE id = $1",
		   arena_int(f->arena, s->id), arena_int(f->arena, *workload)))
		rc = f->err->code;
	return rc ? rc : queue_notify(f->db, f->arena, f->err);
}

/* Ends the transaction session_send or session_abort began holding t:
 * commits it when its body returned rc 0, else rolls it back; then
 * publishes t's events, or drops them. Returns rc, or COMMIT's error. */
static int tx_end(struct stream_tx *t, struct forge *f, int rc)
{
	if (rc)
		db_rollback(f->db);
	else
		rc = db_commit(f->db, f->err);
	stream_tx_end(t, !rc);
	return rc;
}

int session_send(json_t **out, struct forge *f, const struct session_ref *s, const char *content)
{
	size_t n = content ? strlen(content) : 0;
	if (!n || n > SESSION_MESSAGE_MAX || !objects_utf8_valid(content, n))
		return err_set(f->err, ERR_INVALID, "invalid_message",
			       "a message is 1 to %d bytes of UTF-8 text", SESSION_MESSAGE_MAX);
	if (s->archived)
		return err_set(f->err, ERR_CONFLICT, "session_archived",
			       "session %lld is archived: restore it to go on", (long long)s->id);
	struct stream_tx t;
	stream_tx_begin(&t, s->stream_id);
	int64_t busy = 0, mid = 0, workload = 0;
	int rc;
	if ((rc = db_begin(f->db, f->err))) {
		stream_tx_end(&t, false);
		return rc;
	}
	/* the session row's lock: two messages sent at once start one turn */
	if (!db_qv(f->db, f->arena, f->err, "SELECT 1 FROM agent_sessions WHERE id = $1 FOR UPDATE",
		   arena_int(f->arena, s->id))) {
		rc = f->err->code;
		goto done;
	}
	if ((rc = running_workload(&busy, f, s->id, false)))
		goto done;
	if (busy) {
		rc = err_set(f->err, ERR_CONFLICT, "session_busy",
			     "a turn is running in session %lld: wait for it or abort it",
			     (long long)s->id);
		goto done;
	}
	if ((rc = turn_queue(f, s, &workload)))
		goto done;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "WITH m AS (INSERT INTO messages (session_id, workload_id, role, "
			      "author_id, finished_at) VALUES ($1, $2, 'user', $3, now()) RETURNING id) "
			      "INSERT INTO parts (message_id, idx, type, text) "
			      "SELECT id, 0, 'text', $4 FROM m RETURNING message_id",
			      arena_int(f->arena, s->id), arena_int(f->arena, workload),
			      arena_int(f->arena, f->who->user_id), content);
	if (!res) {
		rc = f->err->code;
		goto done;
	}
	mid = db_int(res, 0, 0);
	if ((rc = stream_append1(&t, f->db, f->arena, f->err, 0, "message_start",
				 json_pack("{s:I,s:s,s:s,s:s}", "message_id", (json_int_t)mid, "role",
					   "user", "author", f->who->username, "text", content))) ||
	    (rc = stream_append1(&t, f->db, f->arena, f->err, 0, "message_end",
				 json_pack("{s:I,s:s,s:s}", "message_id", (json_int_t)mid, "role",
					   "user", "status", "complete"))) ||
	    (rc = forge_event(NULL, f, s->repo->id, "chat",
			      json_pack("{s:I,s:I,s:s}", "session", (json_int_t)s->id, "message",
					(json_int_t)mid, "text", content))))
		goto done;
done:
	if ((rc = tx_end(&t, f, rc)))
		return rc;
	queue_wake();
	json_t *msg;
	if ((rc = message_one(&msg, f, s, mid)))
		return rc;
	*out = json_pack("{s:o,s:I}", "message", msg, "workload_id", (json_int_t)workload);
	return 0;
}

/* A message's parts, from the JSON array the query built. */
static json_t *parts_json(const char *text)
{
	json_t *in = json_loads(text ? text : "[]", 0, NULL), *out = json_array(), *p;
	size_t i;
	json_array_foreach(in, i, p)
	{
		const char *type = json_string_value(json_object_get(p, "type"));
		json_t *o = json_pack("{s:s}", "type", type);
		if (!strcmp(type, "text")) {
			json_object_set(o, "text", json_object_get(p, "text"));
		} else if (!strcmp(type, "tool_use")) {
			json_object_set(o, "id", json_object_get(p, "tool_use_id"));
			json_object_set(o, "name", json_object_get(p, "name"));
			json_object_set(o, "input", json_object_get(p, "input"));
		} else {
			json_object_set(o, "tool_use_id", json_object_get(p, "tool_use_id"));
			json_object_set(o, "output", json_object_get(p, "text"));
			json_object_set(o, "is_error", json_object_get(p, "is_error"));
			json_object_set(o, "duration_ms", json_object_get(p, "duration_ms"));
		}
		json_array_append_new(out, o);
	}
	json_decref(in);
	return out;
}

int session_messages(json_t **out, int64_t *next, struct forge *f, const struct session_ref *s,
		     int64_t after, int limit)
{
	if (limit < 1 || limit > 200)
		limit = 100;
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT m.id, m.role, m.status, u.username, m.model, m.stop_reason, m.error, "
		"m.input_tokens, m.output_tokens, m.cache_read_tokens, m.cache_write_tokens, "
		"m.cost_micro_usd, " SQL_TS("m.created_at")
		", " SQL_TS("m.finished_at")
		", "
		"(SELECT coalesce(json_agg(json_build_object('type', p.type, 'text', p.text, "
		"  'tool_use_id', p.tool_use_id, 'name', p.name, 'input', p.input, 'is_error', "
		"  p.is_error, 'duration_ms', p.duration_ms) ORDER BY p.idx), '[]')::text "
		" FROM parts p WHERE p.message_id = m.id) "
		"FROM messages m LEFT JOIN users u ON u.id = m.author_id "
		"WHERE m.session_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3",
		arena_int(f->arena, s->id), arena_int(f->arena, after),
		arena_int(f->arena, limit + 1));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	*out = json_array();
	*next = 0;
	for (int r = 0; r < n && r < limit; r++) {
		json_t *m = json_pack("{s:I,s:s,s:s,s:{s:I,s:I,s:I,s:I},s:s,s:o}", "id",
				      (json_int_t)db_int(res, r, 0), "role", db_val(res, r, 1),
				      "status", db_val(res, r, 2), "usage", "input_tokens",
				      (json_int_t)db_int(res, r, 7), "output_tokens",
				      (json_int_t)db_int(res, r, 8), "cache_read_tokens",
				      (json_int_t)db_int(res, r, 9), "cache_write_tokens",
				      (json_int_t)db_int(res, r, 10), "created_at",
				      db_val(res, r, 12), "parts", parts_json(db_val(res, r, 14)));
		static const struct {
			const char *key;
			int col;
		} opt[] = { { "author", 3 },
			    { "model", 4 },
			    { "stop_reason", 5 },
			    { "error", 6 },
			    { "finished_at", 13 } };
		for (size_t k = 0; k < sizeof(opt) / sizeof(opt[0]); k++) {
			const char *v = db_val(res, r, opt[k].col);
			json_object_set_new(m, opt[k].key, v ? json_string(v) : json_null());
		}
		json_object_set_new(m, "cost_usd",
				    db_val(res, r, 11) ? json_real((double)db_int(res, r, 11) / 1e6)
						       : json_null());
		json_array_append_new(*out, m);
	}
	if (n > limit)
		*next = db_int(res, limit - 1, 0);
	return 0;
}

int session_abort(json_t **out, struct forge *f, const struct session_ref *s)
{
	int64_t w = 0;
	bool waiting = false;
	int rc;
	struct stream_tx t;
	stream_tx_begin(&t, s->stream_id);
	if ((rc = db_begin(f->db, f->err))) {
		stream_tx_end(&t, false);
		return rc;
	}
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, status = 'waiting' FROM workloads WHERE session_id = $1 AND "
			      "status <> 'done' FOR UPDATE",
			      arena_int(f->arena, s->id));
	if (!res) {
		rc = f->err->code;
		goto done;
	}
	if (PQntuples(res)) {
		w = db_int(res, 0, 0);
		waiting = db_bool(res, 0, 1);
	}
	/* a turn no runner has taken ends here; a running one is told */
	if (waiting)
		rc = stream_append1(&t, f->db, f->arena, f->err, 0, "aborted",
				    json_pack("{s:s}", "reason", "aborted before it started")) ||
		     workload_finish(&t, f->db, f->arena, f->err, w, "cancelled", -1,
				     "aborted before it started");
	else if (w)
		rc = workload_cancel_notify(f->db, f->arena, f->err, w);
	if (rc)
		rc = f->err->code;
done:
	if ((rc = tx_end(&t, f, rc)))
		return rc;
	if (!w) {
		*out = json_pack("{s:b,s:s}", "aborting", 0, "message",
				 arena_printf(f->arena, "nothing is running in session %lld",
					      (long long)s->id));
		return 0;
	}
	queue_wake();
	*out = json_pack("{s:b,s:I}", "aborting", 1, "workload_id", (json_int_t)w);
	return 0;
}

const char *session_model_default(void)
{
	return cfg.llm_model && *cfg.llm_model ? cfg.llm_model : "claude-sonnet-4-20250514";
}

int session_stream_last(int64_t *out, struct forge *f, const struct session_ref *s)
{
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT coalesce((SELECT min(e.stream_seq) - 1 FROM messages m JOIN workload_events e "
		"  ON e.stream_id = $1 AND e.type = 'message_start' AND "
		"  e.payload->>'message_id' = m.id::text WHERE m.session_id = $2 AND m.status = "
		"  'streaming'), last_seq) FROM streams WHERE id = $1",
		arena_int(f->arena, s->stream_id), arena_int(f->arena, s->id));
	if (!res)
		return f->err->code;
	*out = PQntuples(res) ? db_int(res, 0, 0) : 0;
	return 0;
}
