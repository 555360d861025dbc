/* queue.c — workloads, runners, claims and task tokens (see queue.h). The
 * workload's type decides what a claim, an event and the end mean beyond
 * the workload row itself: "workflow" workloads report to their job
 * (queue/runs.c). */
#include "queue/queue.h"
#include "queue/agent.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "db/db.h"
#include "queue/runs.h"
#include "queue/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_json(struct arena *a, const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	if (j)
		arena_defer(a, (void (*)(void *))json_decref, j);
	return j;
}

/* ---- runners ---- */

int runner_register(PGconn *db, struct arena *a, struct err *e, const char *host, int pid,
		    const char *sandbox, int64_t *id, const char **token)
{
	char *tok = random_token(RUNNER_TOKEN_PREFIX, 24);
	char hash[65];
	sha256_hex(hash, tok, strlen(tok));
	*token = arena_strdup(a, tok);
	free(tok);
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO runners (token_hash, host, pid, sandbox) VALUES ($1, $2, "
			      "$3, $4) RETURNING id",
			      hash, host ? host : "", pid > 0 ? arena_int(a, pid) : NULL, sandbox);
	if (!res)
		return e->code;
	*id = db_int(res, 0, 0);
	return 0;
}

int runner_check(PGconn *db, struct arena *a, struct err *e, int64_t id, const char *token)
{
	if (!token || strncmp(token, RUNNER_TOKEN_PREFIX, strlen(RUNNER_TOKEN_PREFIX)))
		return err_set(e, ERR_AUTH, "invalid_token", "invalid runner token");
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	PGresult *res = db_qv(db, a, e,
			      "SELECT status FROM runners WHERE id = $1 AND token_hash = $2",
			      arena_int(a, id), hash);
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_AUTH, "invalid_token", "invalid runner token");
	if (!strcmp(db_val(res, 0, 0), "dead"))
		return err_set(e, ERR_CONFLICT, "runner_dead",
			       "runner %lld was declared dead; register again", (long long)id);
	return 0;
}

int runner_heartbeat(PGconn *db, struct arena *a, struct err *e, int64_t id)
{
	const char *rid = arena_int(a, id);
	if (!db_qv(db, a, e, "UPDATE runners SET last_heartbeat = now() WHERE id = $1", rid))
		return e->code;
	if (!db_qv(db, a, e,
		   "UPDATE workloads SET heartbeat_at = now() WHERE runner_id = $1 AND status IN "
		   "('claimed', 'running')",
		   rid))
		return e->code;
	return 0;
}

/* ---- claims ---- */

int queue_notify(PGconn *db, struct arena *a, struct err *e)
{
	return db_query(db, a, e, "SELECT pg_notify('plue_queue', '')", 0, NULL) ? 0 : e->code;
}

int queue_claim(PGconn *db, struct arena *a, struct err *e, int64_t runner_id, json_t **out)
{
	int rc;
	*out = NULL;
	const char *rid = arena_int(a, runner_id);
	if ((rc = db_begin(db, e)))
		return rc;
	PGresult *rr = db_qv(
		db, a, e,
		"SELECT status, coalesce(sandbox, '') FROM runners WHERE id = $1 FOR UPDATE", rid);
	if (!rr) {
		rc = e->code;
		goto fail;
	}
	if (PQntuples(rr) != 1 || !strcmp(db_val(rr, 0, 0), "dead")) {
		rc = err_set(e, ERR_CONFLICT, "runner_dead",
			     "runner %lld was declared dead; register again", (long long)runner_id);
		goto fail;
	}
	const char *sandbox = db_val(rr, 0, 1);
	/* a workload this runner holds but never started: its reply was lost */
	PGresult *res = db_qv(db, a, e,
			      "SELECT id, type, coalesce(job_id, 0), coalesce(repo_id, 0), stream_id, "
			      "attempt, spec::text FROM workloads WHERE runner_id = $1 AND status = "
			      "'claimed' AND NOT cancel ORDER BY id LIMIT 1 FOR UPDATE",
			      rid);
	if (res && PQntuples(res) == 0)
		res = db_query(db, a, e,
			       "SELECT id, type, coalesce(job_id, 0), coalesce(repo_id, 0), stream_id, "
			       "attempt, spec::text FROM workloads WHERE status = 'waiting' AND NOT "
			       "cancel ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
			       0, NULL);
	if (!res) {
		rc = e->code;
		goto fail;
	}
	if (PQntuples(res) == 0) {
		db_rollback(db);
		return 0;
	}
	int64_t wid = db_int(res, 0, 0);
	const char *type = db_val(res, 0, 1);
	int64_t job_id = db_int(res, 0, 2);
	int64_t repo_id = db_int(res, 0, 3);
	int attempt = (int)db_int(res, 0, 5);
	json_t *spec = parse_json(a, db_val(res, 0, 6));
	if (!spec) {
		rc = err_set(e, ERR_INTERNAL, NULL, "workload %lld has a damaged spec",
			     (long long)wid);
		goto fail;
	}
	char *tok = random_token(TASK_TOKEN_PREFIX, 24);
	char hash[65];
	sha256_hex(hash, tok, strlen(tok));
	const char *token = arena_strdup(a, tok);
	free(tok);
	const char *wids = arena_int(a, wid);
	if (!db_qv(db, a, e,
		   "UPDATE workloads SET status = 'claimed', runner_id = $2, task_token_hash = $3, "
		   "claimed_at = now(), heartbeat_at = now(), sandbox = nullif($4, '') WHERE id = $1",
		   wids, rid, hash, sandbox) ||
	    !db_qv(db, a, e, "UPDATE runners SET status = 'busy', workload_id = $2 WHERE id = $1",
		   rid, wids)) {
		rc = e->code;
		goto fail;
	}
	PGresult *sq = db_qv(db, a, e,
			     "SELECT coalesce(max(seq), 0) + 1, (SELECT extract(epoch FROM claimed_at - "
			     "created_at) FROM workloads WHERE id = $1) FROM workload_events WHERE "
			     "workload_id = $1",
			     wids);
	if (!sq) {
		rc = e->code;
		goto fail;
	}
	if (!strcmp(type, "workflow") && job_id &&
	    (rc = runs_job_claimed(db, a, e, job_id, sandbox, false)))
		goto fail;
	/* the token and the secrets are issued here: a job of an untrusted
	 * run that no writer approved gets neither secrets nor any write,
	 * whatever its spec says (the dispatcher holds or limits such runs
	 * already; this is the last gate) */
	bool untrusted = false;
	if (!strcmp(type, "workflow") && job_id) {
		PGresult *tr = db_qv(
			db, a, e,
			"SELECT NOT (r.trusted OR r.approved_at IS NOT NULL) FROM "
			"workflow_jobs j JOIN workflow_runs r ON r.id = j.run_id WHERE j.id = $1",
			arena_int(a, job_id));
		if (!tr) {
			rc = e->code;
			goto fail;
		}
		untrusted = PQntuples(tr) == 1 && db_bool(tr, 0, 0);
	}
	if (untrusted &&
	    !db_qv(db, a, e,
		   "UPDATE workloads SET may_write = false, spec = jsonb_set(spec, '{permissions}', "
		   "coalesce((SELECT jsonb_object_agg(k, CASE WHEN v = '\"write\"' THEN '\"read\"' "
		   "ELSE v END) FROM jsonb_each(spec->'permissions') AS p(k, v)), '{}')) WHERE id = $1",
		   wids)) {
		rc = e->code;
		goto fail;
	}
	json_t *secrets = NULL;
	if (untrusted)
		secrets = json_object();
	else if ((rc = secrets_load(db, a, e, repo_id, json_object_get(spec, "secret_names"),
				    &secrets)))
		goto fail;
	if ((rc = db_commit(db, e))) {
		json_decref(secrets);
		return rc;
	}
	*out = json_pack("{s:I,s:s,s:i,s:s,s:I,s:O,s:o}", "workload", (json_int_t)wid, "type", type,
			 "attempt", attempt, "task_token", token, "seq_start",
			 (json_int_t)db_int(sq, 0, 0), "spec", spec, "secrets", secrets);
	log_info("workload %lld (%s, attempt %d) claimed by runner %lld", (long long)wid, type,
		 attempt, (long long)runner_id);
	const char *waited = db_val(sq, 0, 1); /* creation → claim, for plue_workload_claim_seconds */
	metrics_observe(&metric_claim_seconds, NULL, waited ? strtod(waited, NULL) : 0);
	return 0;
fail:
	db_rollback(db);
	return rc;
}

int queue_unclaim(PGconn *db, struct arena *a, struct err *e, int64_t workload_id, int64_t runner_id)
{
	const char *w = arena_int(a, workload_id), *r = arena_int(a, runner_id);
	if (!db_qv(db, a, e,
		   "UPDATE workloads SET status = 'waiting', runner_id = NULL, task_token_hash = NULL, "
		   "claimed_at = NULL WHERE id = $1 AND runner_id = $2 AND status = 'claimed'",
		   w, r) ||
	    !db_qv(db, a, e,
		   "UPDATE runners SET status = 'idle', workload_id = NULL WHERE id = $1 AND "
		   "workload_id = $2 AND status <> 'dead'",
		   r, w) ||
	    queue_notify(db, a, e))
		return e->code;
	return 0;
}

/* ---- tasks ---- */

int task_auth(PGconn *db, struct arena *a, struct err *e, int64_t workload_id, const char *token,
	      struct task *out)
{
	if (!token || strncmp(token, TASK_TOKEN_PREFIX, strlen(TASK_TOKEN_PREFIX)))
		return err_set(e, ERR_AUTH, "invalid_token", "invalid or expired task token");
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	PGresult *res = db_qv(db, a, e,
			      "SELECT id, coalesce(repo_id, 0), stream_id, coalesce(job_id, 0), "
			      "coalesce(runner_id, 0), type, status, attempt, cancel, spec::text, "
			      "coalesce(session_id, 0), coalesce(actor_id, 0) "
			      "FROM workloads WHERE id = $1 AND task_token_hash = $2 AND status IN "
			      "('claimed', 'running')",
			      arena_int(a, workload_id), hash);
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_AUTH, "invalid_token", "invalid or expired task token");
	memset(out, 0, sizeof(*out));
	out->workload_id = db_int(res, 0, 0);
	out->repo_id = db_int(res, 0, 1);
	out->stream_id = db_int(res, 0, 2);
	out->job_id = db_int(res, 0, 3);
	out->runner_id = db_int(res, 0, 4);
	out->type = arena_strdup(a, db_val(res, 0, 5));
	out->status = arena_strdup(a, db_val(res, 0, 6));
	out->attempt = (int)db_int(res, 0, 7);
	out->cancel = db_bool(res, 0, 8);
	out->spec = parse_json(a, db_val(res, 0, 9));
	out->session_id = db_int(res, 0, 10);
	out->actor_id = db_int(res, 0, 11);
	return 0;
}

/* Event types a runner may post; `done` is the server's. */
static bool runner_event_type(const char *t)
{
	static const char *ok[] = { "step_start", "log",           "step_end",    "job_end",
				    "aborted",    "error",         "token",       "tool_start",
				    "tool_end",   "message_start", "message_end", NULL };
	for (int i = 0; ok[i]; i++)
		if (!strcmp(t, ok[i]))
			return true;
	return false;
}

#define MAX_BATCH 2000

int task_events(PGconn *db, struct arena *a, struct err *e, const struct task *t, json_t *body,
		bool *cancel)
{
	int rc = 0;
	json_t *events = json_object_get(body, "events");
	*cancel = t->cancel;
	if (!json_is_array(events))
		return err_set(e, ERR_INVALID, "invalid_events", "field 'events' must be an array");
	if (json_array_size(events) > MAX_BATCH)
		return err_set(e, ERR_TOOLARGE, "batch_too_large",
			       "a batch holds at most %d events", MAX_BATCH);
	struct secret_mask *mask;
	if ((rc = secret_mask_load(db, a, e, t->repo_id, t->spec, &mask)))
		return rc;

	/* validate, mask and label each event; the stored payload is what
	 * every subscriber and every replay sees. The runner masked it
	 * already; every string of it is masked again here */
	json_t *clean = json_array();
	arena_defer(a, (void (*)(void *))json_decref, clean);
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev)
	{
		json_t *seq = json_object_get(ev, "seq");
		const char *type = json_string_value(json_object_get(ev, "type"));
		json_t *payload = json_object_get(ev, "payload");
		if (!json_is_integer(seq) || json_integer_value(seq) < 1)
			return err_set(e, ERR_INVALID, "invalid_events",
				       "event %zu: 'seq' must be a positive integer", i);
		if (!type || !runner_event_type(type))
			return err_set(e, ERR_INVALID, "invalid_events",
				       "event %zu: unknown type '%.40s'", i, type ? type : "");
		if (payload && !json_is_object(payload))
			return err_set(e, ERR_INVALID, "invalid_events",
				       "event %zu: 'payload' must be an object", i);
		json_t *p = payload ? json_deep_copy(payload) : json_object();
		secret_mask_json(mask, p);
		json_object_set_new(p, "workload_id", json_integer((json_int_t)t->workload_id));
		if (t->job_id)
			json_object_set_new(p, "job_id", json_integer((json_int_t)t->job_id));
		json_array_append_new(clean, json_pack("{s:O,s:s,s:o}", "seq", seq, "type", type,
						       "payload", p));
	}

	struct stream_tx st;
	stream_tx_begin(&st, t->stream_id);
	bool committed = false;
	if ((rc = db_begin(db, e)))
		goto done;
	if ((rc = stream_append(&st, db, a, e, t->workload_id, clean, NULL)))
		goto rollback;
	if (!strcmp(t->status, "claimed")) {
		if (!db_qv(db, a, e,
			   "UPDATE workloads SET status = 'running' WHERE id = $1 AND status = 'claimed'",
			   arena_int(a, t->workload_id))) {
			rc = e->code;
			goto rollback;
		}
	}
	if (!strcmp(t->type, "workflow") && t->job_id) {
		json_array_foreach(clean, i, ev)
		{
			const char *type = json_string_value(json_object_get(ev, "type"));
			if ((!strcmp(type, "step_start") || !strcmp(type, "step_end")) &&
			    (rc = runs_job_step(db, a, e, t->job_id, type,
						json_object_get(ev, "payload"))))
				goto rollback;
		}
	}
	if ((rc = db_commit(db, e)))
		goto done;
	committed = true;
	goto done;
rollback:
	db_rollback(db);
done:
	stream_tx_end(&st, committed);
	return rc;
}

int task_complete(PGconn *db, struct arena *a, struct err *e, const struct task *t, json_t *body)
{
	int rc;
	const char *result = json_string_value(json_object_get(body, "result"));
	json_t *code = json_object_get(body, "exit_code");
	const char *reason = json_string_value(json_object_get(body, "reason"));
	if (!result || (strcmp(result, "success") && strcmp(result, "failure") &&
			strcmp(result, "cancelled") && strcmp(result, "error")))
		return err_set(e, ERR_INVALID, "invalid_result",
			       "result must be one of success, failure, cancelled, error");
	if (code && !json_is_null(code) && !json_is_integer(code))
		return err_set(e, ERR_INVALID, "invalid_field",
			       "field 'exit_code' must be an integer");
	if (reason && strlen(reason) > 1000)
		return err_set(e, ERR_INVALID, "invalid_field",
			       "field 'reason' is longer than 1000 characters");
	int exit_code = json_is_integer(code) ? (int)json_integer_value(code) : -1;
	if (reason) {
		/* the reason becomes the job's conclusion, its job_end event and
		 * its commit status: masked like every event */
		struct secret_mask *mask;
		if ((rc = secret_mask_load(db, a, e, t->repo_id, t->spec, &mask)))
			return rc;
		char *m = secret_mask_apply(mask, reason);
		if (m) {
			reason = arena_strdup(a, m);
			free(m);
		}
	}
	struct stream_tx st;
	stream_tx_begin(&st, t->stream_id);
	bool committed = false;
	if ((rc = db_begin(db, e)))
		goto done;
	if ((rc = workload_finish(&st, db, a, e, t->workload_id, result, exit_code, reason))) {
		db_rollback(db);
		goto done;
	}
	if ((rc = db_commit(db, e)))
		goto done;
	committed = true;
	log_info("workload %lld finished: %s (exit %d)", (long long)t->workload_id, result,
		 exit_code);
done:
	stream_tx_end(&st, committed);
	return rc;
}

/* ---- workloads ---- */

int workload_create(PGconn *db, struct arena *a, struct err *e, const struct workload_new *w,
		    int64_t *id)
{
	char *spec = json_dumps(w->spec, JSON_COMPACT);
	const char *specs = arena_strdup(a, spec);
	free(spec);
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO workloads (type, job_id, repo_id, stream_id, may_write, spec, "
			      "session_id, actor_id) "
			      "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING id",
			      w->type, arena_id(a, w->job_id), arena_id(a, w->repo_id),
			      arena_int(a, w->stream_id), w->may_write ? "true" : "false", specs,
			      arena_id(a, w->session_id), arena_id(a, w->actor_id));
	if (!res)
		return e->code;
	if (id)
		*id = db_int(res, 0, 0);
	return 0;
}

int workload_finish(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		    int64_t workload_id, const char *result, int exit_code, const char *reason)
{
	PGresult *res = db_qv(db, a, e,
			      "UPDATE workloads SET status = 'done', result = $2, exit_code = $3, "
			      "reason = $4, finished_at = now(), task_token_hash = NULL "
			      "WHERE id = $1 AND status <> 'done' "
			      "RETURNING type, coalesce(job_id, 0), coalesce(runner_id, 0)",
			      arena_int(a, workload_id), result,
			      exit_code >= 0 ? arena_int(a, exit_code) : NULL, reason);
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return 0; /* already done */
	const char *type = db_val(res, 0, 0);
	int64_t job_id = db_int(res, 0, 1), runner_id = db_int(res, 0, 2);
	if (runner_id &&
	    !db_qv(db, a, e,
		   "UPDATE runners SET status = 'idle', workload_id = NULL WHERE id = $1 AND "
		   "workload_id = $2 AND status <> 'dead'",
		   arena_int(a, runner_id), arena_int(a, workload_id)))
		return e->code;
	/* the runner's cancel watch ends with its workload */
	if (!db_qv(db, a, e, "SELECT pg_notify('plue_cancel', $1)", arena_int(a, workload_id)))
		return e->code;
	int rc;
	if (!strcmp(type, "agent") && (rc = agent_turn_end(t, db, a, e, workload_id, result, reason)))
		return rc;
	if (job_id)
		return runs_job_done(t, db, a, e, job_id, result, exit_code, reason);
	return 0;
}

int workload_cancel_notify(PGconn *db, struct arena *a, struct err *e, int64_t workload_id)
{
	const char *w = arena_int(a, workload_id);
	if (!db_qv(db, a, e, "UPDATE workloads SET cancel = true WHERE id = $1", w) ||
	    !db_qv(db, a, e, "SELECT pg_notify('plue_cancel', $1)", w))
		return e->code;
	return 0;
}
