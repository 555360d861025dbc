/* runs.c — workflow runs on the workload queue (see runs.h). Every change
 * to a run happens with the run row locked (SELECT ... FOR UPDATE), so
 * the job hooks, cancel and the reaper never race on a run's state.
 *
 * A job's spec (stored in workflow_jobs.spec by the dispatcher) holds what
 * its runner needs apart from where and what for: steps with their env,
 * working directory, timeout, if and continue-on-error, the workflow and
 * job env (as [key, value] pairs: order matters and jsonb sorts keys), the
 * secret names its steps refer to, limits and permissions. When the job
 * can start, its workload's spec adds the repository, ref, commit and the
 * expression contexts (event, repo, inputs, matrix, needs). */
#include "queue/runs.h"
#include "queue/agent.h"
#include "forge/statuses.h"
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "queue/queue.h"
#include "queue/secrets.h"
#include "queue/webhooks.h"
#include "workflow/expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_json(struct arena *a, const char *text)
{
	json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (j)
		arena_defer(a, (void (*)(void *))json_decref, j);
	return j;
}

static const char *dumps(struct arena *a, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *r = arena_strdup(a, s ? s : "null");
	free(s);
	return r;
}

static bool final_status(const char *s)
{
	return !strcmp(s, "success") || !strcmp(s, "failure") || !strcmp(s, "cancelled") ||
	       !strcmp(s, "skipped");
}

struct run_row {
	int64_t id, repo_id, stream_id, number;
	const char *status, *name, *path, *sha, *ref, *group;
	bool cancel_requested;
	json_t *context;
	const char *owner, *repo_name;
	int64_t actor_id;
};

static int run_lock(PGconn *db, struct arena *a, struct err *e, int64_t run_id, struct run_row *r)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT w.id, w.repo_id, w.stream_id, w.run_number, w.status, w.name, "
			      "  w.workflow_path, coalesce(w.commit_sha, ''), coalesce(w.ref, ''), "
			      "  w.concurrency_group, w.cancel_requested, w.context::text, u.username, "
			      "  p.name, coalesce(w.actor_id, 0) "
			      "FROM workflow_runs w JOIN repositories p ON p.id = w.repo_id "
			      "JOIN users u ON u.id = p.owner_id WHERE w.id = $1 FOR UPDATE OF w",
			      arena_int(a, run_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	r->id = db_int(res, 0, 0);
	r->repo_id = db_int(res, 0, 1);
	r->stream_id = db_int(res, 0, 2);
	r->number = db_int(res, 0, 3);
	r->status = arena_strdup(a, db_val(res, 0, 4));
	r->name = arena_strdup(a, db_val(res, 0, 5));
	r->path = arena_strdup(a, db_val(res, 0, 6));
	r->sha = arena_strdup(a, db_val(res, 0, 7));
	r->ref = arena_strdup(a, db_val(res, 0, 8));
	r->group = db_val(res, 0, 9) ? arena_strdup(a, db_val(res, 0, 9)) : NULL;
	r->cancel_requested = db_bool(res, 0, 10);
	r->context = parse_json(a, db_val(res, 0, 11));
	if (!r->context) {
		r->context = json_object();
		arena_defer(a, (void (*)(void *))json_decref, r->context);
	}
	r->owner = arena_strdup(a, db_val(res, 0, 12));
	r->repo_name = arena_strdup(a, db_val(res, 0, 13));
	r->actor_id = db_int(res, 0, 14);
	return 0;
}

/* ---- commit statuses ---- */

static int commit_status(PGconn *db, struct arena *a, struct err *e, const struct run_row *r,
			 const char *job_name, const char *state, const char *description)
{
	if (!*r->sha)
		return 0;
	const char *base = cfg.public_url && *cfg.public_url ? cfg.public_url : "";
	const char *url = !strncmp(base, "http://", 7) || !strncmp(base, "https://", 8)
				  ? arena_printf(a, "%s/api/runs/%lld", base, (long long)r->id)
				  : NULL;
	const char *context = arena_printf(a, "plue/%s/%s", r->name, job_name);
	if (strlen(context) > 255)
		context = arena_strndup(a, context, 255);
	/* a CI task reports: no user */
	struct forge f = { .db = db, .arena = a, .err = e, .who = &(struct auth){ 0 } };
	struct status_input in = {
		.state = state, .context = context, .description = description, .target_url = url
	};
	return commit_status_set(NULL, &f, r->repo_id, r->sha, &in);
}

/* ---- creating ---- */

static json_t *steps_initial(json_t *spec)
{
	/* step 0 is the checkout the runner does before the workflow's steps */
	json_t *steps = json_array();
	json_array_append_new(steps, json_pack("{s:s,s:s}", "name", "Checkout", "status", "pending"));
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(spec, "steps"), i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		json_array_append_new(steps, json_pack("{s:s,s:s}", "name", name ? name : "step",
						       "status", "pending"));
	}
	return steps;
}

static int runs_advance(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
			int64_t run_id);

int runs_create(PGconn *db, struct arena *a, struct err *e, const struct run_new *rn, int64_t *run_id)
{
	int rc;
	int64_t stream_id;
	const char *rid = arena_int(a, rn->repo_id);
	/* run numbers are per repository: serialise their allocation */
	if (!db_qv(db, a, e, "SELECT pg_advisory_xact_lock(727004, $1::int)", rid))
		return e->code;
	if ((rc = stream_create(&stream_id, db, a, e, rn->repo_id)))
		return rc;
	PGresult *res = db_qv(
		db, a, e,
		"INSERT INTO workflow_runs (repo_id, run_number, definition_id, workflow_path, name, "
		"  event_id, event_type, ref, commit_sha, actor_id, status, conclusion, context, "
		"  concurrency_group, cancel_in_progress, stream_id, finished_at, trusted) "
		"SELECT $1::bigint, coalesce(max(run_number), 0) + 1, $2::bigint, $3::text, $4::text, "
		"  $5::bigint, $6::text, $7::text, $8::text, $9::bigint, "
		"  CASE WHEN $10::text IS NOT NULL THEN 'failure' WHEN $16::boolean THEN 'waiting' "
		"  ELSE 'queued' END, $10::text, "
		"  $11::jsonb, $12::text, $13::boolean, $14::bigint, "
		"  CASE WHEN $10::text IS NULL THEN NULL ELSE now() END, $15::boolean "
		"FROM workflow_runs WHERE repo_id = $1::bigint RETURNING id, run_number",
		rid, arena_id(a, rn->definition_id), rn->path, rn->name, arena_id(a, rn->event_id),
		rn->event_type, rn->ref, rn->sha, arena_id(a, rn->actor_id), rn->failure,
		dumps(a, rn->context ? rn->context : json_object()), rn->concurrency_group,
		rn->cancel_in_progress ? "true" : "false", arena_int(a, stream_id),
		rn->untrusted ? "false" : "true", rn->needs_approval ? "true" : "false");
	if (!res)
		return e->code;
	int64_t id = db_int(res, 0, 0);
	const char *ids = arena_int(a, id);
	for (size_t i = 0; i < rn->njobs; i++) {
		const struct run_job_new *j = &rn->jobs[i];
		struct buf needs = BUF_INIT;
		buf_addch(&needs, '{');
		size_t k;
		json_t *v;
		json_array_foreach(j->needs, k, v)
			buf_addf(&needs, "%s\"%s\"", k ? "," : "", json_string_value(v));
		buf_addch(&needs, '}');
		json_t *steps = steps_initial(j->spec);
		res = db_qv(db, a, e,
			    "INSERT INTO workflow_jobs (run_id, job_key, name, needs, matrix, if_expr, "
			    "continue_on_error, spec, steps) VALUES ($1, $2, $3, $4::text[], $5::jsonb, "
			    "$6, $7, $8::jsonb, $9::jsonb)",
			    ids, j->key, j->name, arena_strdup(a, needs.ptr),
			    dumps(a, j->matrix ? j->matrix : json_object()), j->if_expr,
			    j->continue_on_error ? "true" : "false", dumps(a, j->spec),
			    dumps(a, steps));
		buf_release(&needs);
		json_decref(steps);
		if (!res)
			return e->code;
	}
	*run_id = id;
	if (rn->failure) {
		struct stream_tx t;
		stream_tx_begin(&t, stream_id);
		rc = stream_append1(&t, db, a, e, 0, "error",
				    json_pack("{s:s,s:I}", "message", rn->failure, "run_id",
					      (json_int_t)id));
		if (!rc)
			rc = stream_append1(&t, db, a, e, 0, "done",
					    json_pack("{s:s,s:I}", "status", "failure", "run_id",
						      (json_int_t)id));
		stream_tx_end(&t, false); /* nobody can subscribe before COMMIT */
		return rc;
	}
	if (rn->needs_approval)
		return 0; /* nothing starts before a writer approves (runs_approve) */
	if (rn->concurrency_group && !rn->cancel_in_progress) {
		/* a run of the same group is active: this one waits (runs_start_held) */
		res = db_qv(db, a, e,
			    "SELECT 1 FROM workflow_runs WHERE repo_id = $1 AND concurrency_group = $2 "
			    "AND status IN ('queued', 'running') AND id < $3 LIMIT 1",
			    rid, rn->concurrency_group, ids);
		if (!res)
			return e->code;
		if (PQntuples(res))
			return 0;
	}
	struct stream_tx t;
	stream_tx_begin(&t, stream_id);
	rc = runs_advance(&t, db, a, e, id);
	stream_tx_end(&t, false);
	return rc;
}

/* ---- advancing ---- */

struct job_row {
	int64_t id;
	const char *key, *name, *status, *if_expr;
	json_t *needs, *matrix, *spec;
	bool continue_on_error;
};

static int jobs_load(PGconn *db, struct arena *a, struct err *e, int64_t run_id,
		     struct job_row **out, int *n)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT id, job_key, name, status, if_expr, to_jsonb(needs)::text, "
			      "matrix::text, spec::text, continue_on_error FROM workflow_jobs "
			      "WHERE run_id = $1 ORDER BY id",
			      arena_int(a, run_id));
	if (!res)
		return e->code;
	*n = PQntuples(res);
	struct job_row *j = arena_alloc(a, sizeof(*j) * (size_t)(*n ? *n : 1));
	for (int i = 0; i < *n; i++) {
		j[i].id = db_int(res, i, 0);
		j[i].key = arena_strdup(a, db_val(res, i, 1));
		j[i].name = arena_strdup(a, db_val(res, i, 2));
		j[i].status = arena_strdup(a, db_val(res, i, 3));
		j[i].if_expr = db_val(res, i, 4) ? arena_strdup(a, db_val(res, i, 4)) : NULL;
		j[i].needs = parse_json(a, db_val(res, i, 5));
		j[i].matrix = parse_json(a, db_val(res, i, 6));
		j[i].spec = parse_json(a, db_val(res, i, 7));
		j[i].continue_on_error = db_bool(res, i, 8);
	}
	*out = j;
	return 0;
}

/* The combined result of every instance of job key: NULL while one is
 * not finished. */
static const char *key_result(const struct job_row *jobs, int n, const char *key)
{
	bool any = false, failure = false, cancelled = false, all_skipped = true;
	for (int i = 0; i < n; i++) {
		if (strcmp(jobs[i].key, key))
			continue;
		any = true;
		if (!final_status(jobs[i].status))
			return NULL;
		if (!strcmp(jobs[i].status, "failure"))
			failure = true;
		else if (!strcmp(jobs[i].status, "cancelled"))
			cancelled = true;
		if (strcmp(jobs[i].status, "skipped"))
			all_skipped = false;
	}
	if (!any)
		return "skipped";
	return failure ? "failure" : cancelled ? "cancelled" : all_skipped ? "skipped" : "success";
}

static int job_end_event(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
			 const struct job_row *j, const char *status, const char *reason)
{
	json_t *p = json_pack("{s:I,s:s,s:s}", "job_id", (json_int_t)j->id, "name", j->name,
			      "status", status);
	if (reason)
		json_object_set_new(p, "reason", json_string(reason));
	return stream_append1(t, db, a, e, 0, "job_end", p);
}

static int job_set_final(PGconn *db, struct arena *a, struct err *e, int64_t job_id,
			 const char *status, const char *reason)
{
	/* steps that never ran are skipped (or cancelled) with their job */
	if (!db_qv(db, a, e,
		   "UPDATE workflow_jobs SET status = $2, conclusion = coalesce($3, conclusion), "
		   "finished_at = now(), steps = coalesce((SELECT jsonb_agg(CASE WHEN s->>'status' IN "
		   "('pending', 'running') THEN s || jsonb_build_object('status', CASE WHEN $2 = "
		   "'cancelled' THEN 'cancelled' WHEN s->>'status' = 'running' THEN 'failure' ELSE "
		   "'skipped' END) ELSE s END ORDER BY o) FROM jsonb_array_elements(steps) WITH "
		   "ORDINALITY AS x(s, o)), '[]') WHERE id = $1",
		   arena_int(a, job_id), status, reason))
		return e->code;
	return 0;
}

static int start_job(PGconn *db, struct arena *a, struct err *e, const struct run_row *r,
		     const struct job_row *j, json_t *needs_ctx)
{
	int rc;
	json_t *spec = json_deep_copy(j->spec);
	/* a missing context is null, which expressions read as empty */
	json_t *ctx = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O}", "event",
				json_object_get(r->context, "event"), "repo",
				json_object_get(r->context, "repo"), "inputs",
				json_object_get(r->context, "inputs"), "matrix", j->matrix, "needs",
				needs_ctx);
	json_object_set_new(spec, "context", ctx);
	json_object_set_new(spec, "repo",
			    json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->repo_id,
				      "owner", r->owner, "name", r->repo_name, "full_name",
				      arena_printf(a, "%s/%s", r->owner, r->repo_name), "clone_path",
				      arena_printf(a, "/%s/%s.git", r->owner, r->repo_name)));
	json_object_set_new(spec, "ref", json_string(r->ref));
	json_object_set_new(spec, "commit", json_string(r->sha));
	json_object_set_new(spec, "run",
			    json_pack("{s:I,s:I,s:s,s:s}", "id", (json_int_t)r->id, "number",
				      (json_int_t)r->number, "workflow", r->name, "path", r->path));
	json_t *job = json_object_get(spec, "job");
	if (json_is_object(job)) {
		json_object_set_new(job, "id", json_integer((json_int_t)j->id));
		json_object_set_new(job, "name", json_string(j->name));
	}
	const char *contents = json_string_value(
		json_object_get(json_object_get(spec, "permissions"), "contents"));
	/* an agent-mode job is a session of the run, its prompt the first
	 * message (queue/agent.h) */
	int64_t session_id = 0;
	bool agent = json_object_get(spec, "agent") != NULL;
	if (agent && (rc = agent_session_start(db, a, e, r->repo_id, r->id, r->stream_id,
					       r->actor_id, j->name, spec, &session_id))) {
		json_decref(spec);
		return rc;
	}
	struct workload_new w = {
		.type = agent ? "agent" : "workflow",
		.job_id = j->id,
		.repo_id = r->repo_id,
		.stream_id = r->stream_id,
		.session_id = session_id,
		.actor_id = agent ? r->actor_id : 0,
		.may_write = contents && !strcmp(contents, "write"),
		.spec = spec,
	};
	rc = workload_create(db, a, e, &w, NULL);
	json_decref(spec);
	if (rc)
		return rc;
	if (!db_qv(db, a, e, "UPDATE workflow_jobs SET status = 'queued' WHERE id = $1",
		   arena_int(a, j->id)))
		return e->code;
	if ((rc = commit_status(db, a, e, r, j->name, "pending", "queued")))
		return rc;
	return queue_notify(db, a, e);
}

static int run_finish(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		      const struct run_row *r, const struct job_row *jobs, int n)
{
	const char *status = "success";
	bool any_ran = false;
	for (int i = 0; i < n; i++) {
		if (strcmp(jobs[i].status, "skipped"))
			any_ran = true;
		if (!strcmp(jobs[i].status, "failure") && !jobs[i].continue_on_error)
			status = "failure";
	}
	if (r->cancel_requested)
		status = "cancelled";
	else if (!any_ran && n)
		status = "skipped";
	if (!db_qv(db, a, e,
		   "UPDATE workflow_runs SET status = $2, finished_at = now(), "
		   "started_at = coalesce(started_at, now()) WHERE id = $1",
		   arena_int(a, r->id), status) ||
	    webhooks_run_event(db, a, e, r->id, status)) /* the workflow_run webhook event */
		return e->code;
	log_info("run %lld (%s/%s #%lld) finished: %s", (long long)r->id, r->owner, r->repo_name,
		 (long long)r->number, status);
	return stream_append1(t, db, a, e, 0, "done",
			      json_pack("{s:s,s:I}", "status", status, "run_id", (json_int_t)r->id));
}

/* Text masked with the secrets job j names, as everything a runner sends
 * is: a message the server writes for a run never shows a secret. When
 * they cannot be opened the message is replaced, not shown. */
static const char *job_mask(PGconn *db, struct arena *a, const struct run_row *r,
			    const struct job_row *j, const char *text)
{
	struct err me = { 0 };
	struct secret_mask *m;
	if (secret_mask_load(db, a, &me, r->repo_id, j->spec, &m)) {
		log_warn("run %lld: cannot mask a message of job '%s': %s", (long long)r->id,
			 j->name, me.msg);
		return arena_printf(a,
				    "job '%s': the message is withheld (the secrets to mask it "
				    "with did not open)",
				    j->name);
	}
	char *s = secret_mask_apply(m, text);
	if (!s)
		return text;
	const char *out = arena_strdup(a, s);
	free(s);
	return out;
}

static int runs_advance(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
			int64_t run_id)
{
	int rc;
	struct run_row r;
	if ((rc = run_lock(db, a, e, run_id, &r)))
		return rc;
	if (final_status(r.status))
		return 0;
	for (;;) {
		struct job_row *jobs = NULL;
		int n = 0;
		if ((rc = jobs_load(db, a, e, run_id, &jobs, &n)))
			return rc;
		bool changed = false, all_final = true;
		for (int i = 0; i < n; i++) {
			struct job_row *j = &jobs[i];
			if (!final_status(j->status))
				all_final = false;
			if (strcmp(j->status, "pending"))
				continue;
			json_t *needs_ctx = json_object();
			arena_defer(a, (void (*)(void *))json_decref, needs_ctx);
			enum expr_status st = EXPR_STATUS_SUCCESS;
			bool ready = true;
			size_t k;
			json_t *v;
			json_array_foreach(j->needs, k, v)
			{
				const char *res = key_result(jobs, n, json_string_value(v));
				if (!res) {
					ready = false;
					break;
				}
				json_object_set_new(needs_ctx, json_string_value(v),
						    json_pack("{s:s}", "result", res));
				if (strcmp(res, "success"))
					st = EXPR_STATUS_FAILURE;
			}
			if (!ready)
				continue;
			changed = true;
			if (r.cancel_requested) {
				if ((rc = job_set_final(db, a, e, j->id, "cancelled",
							"the run was cancelled")) ||
				    (rc = job_end_event(t, db, a, e, j, "cancelled", NULL)))
					return rc;
				continue;
			}
			struct expr_ctx ec = {
				.event = json_object_get(r.context, "event"),
				.repo = json_object_get(r.context, "repo"),
				.inputs = json_object_get(r.context, "inputs"),
				.env = json_object_get(r.context, "env"),
				.matrix = j->matrix,
				.needs = needs_ctx,
				.status = st,
			};
			bool go = false;
			struct err ie = { 0 };
			if (expr_condition(&go, j->if_expr, &ec, &ie)) {
				const char *why = job_mask(db, a, &r, j,
							   arena_printf(a, "job '%s': if: %s",
									j->name, ie.msg));
				if ((rc = job_set_final(db, a, e, j->id, "failure", why)) ||
				    (rc = job_end_event(t, db, a, e, j, "failure", why)) ||
				    (rc = commit_status(db, a, e, &r, j->name, "error", "invalid if")))
					return rc;
				continue;
			}
			if (!go) {
				if ((rc = job_set_final(db, a, e, j->id, "skipped", NULL)) ||
				    (rc = job_end_event(t, db, a, e, j, "skipped", NULL)))
					return rc;
				continue;
			}
			if ((rc = start_job(db, a, e, &r, j, needs_ctx)))
				return rc;
		}
		if (changed)
			continue;
		if (all_final)
			return run_finish(t, db, a, e, &r, jobs, n);
		return 0;
	}
}

/* ---- hooks ---- */

int runs_job_claimed(PGconn *db, struct arena *a, struct err *e, int64_t job_id,
		     const char *sandbox, bool first_event)
{
	(void)first_event;
	PGresult *res = db_qv(db, a, e,
			      "UPDATE workflow_jobs SET status = 'running', started_at = coalesce("
			      "started_at, now()) WHERE id = $1 AND status IN ('queued', 'running') "
			      "RETURNING run_id",
			      arena_int(a, job_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return 0;
	if (!db_qv(db, a, e,
		   "UPDATE workflow_runs SET status = 'running', started_at = coalesce(started_at, "
		   "now()), sandbox = coalesce(nullif($2, ''), sandbox) WHERE id = $1 AND status IN "
		   "('queued', 'running')",
		   db_val(res, 0, 0), sandbox ? sandbox : ""))
		return e->code;
	return 0;
}

int runs_job_step(PGconn *db, struct arena *a, struct err *e, int64_t job_id, const char *type,
		  json_t *payload)
{
	json_t *step = json_object_get(payload, "step");
	if (!json_is_integer(step) || json_integer_value(step) < 0 ||
	    json_integer_value(step) > 10000)
		return 0;
	const char *idx = arena_int(a, json_integer_value(step));
	json_t *patch;
	if (!strcmp(type, "step_start")) {
		patch = json_pack("{s:s}", "status", "running");
	} else {
		const char *status = json_string_value(json_object_get(payload, "status"));
		patch = json_pack("{s:s}", "status", status ? status : "failure");
		json_t *v;
		if ((v = json_object_get(payload, "exit_code")) && json_is_integer(v))
			json_object_set(patch, "exit_code", v);
		if ((v = json_object_get(payload, "duration_ms")) && json_is_integer(v))
			json_object_set(patch, "duration_ms", v);
		if ((v = json_object_get(payload, "reason")) && json_is_string(v))
			json_object_set(patch, "reason", v);
	}
	const char *ps = dumps(a, patch);
	json_decref(patch);
	if (!db_qv(db, a, e,
		   "UPDATE workflow_jobs SET steps = jsonb_set(steps, ARRAY[$2::text], (steps -> "
		   "$5::int) || $3::jsonb || CASE WHEN $4::boolean THEN jsonb_build_object("
		   "'started_at', now()) ELSE jsonb_build_object('finished_at', now()) END) WHERE id = "
		   "$1 AND jsonb_array_length(steps) > $5::int",
		   arena_int(a, job_id), idx, ps, !strcmp(type, "step_start") ? "true" : "false",
		   idx))
		return e->code;
	return 0;
}

int runs_job_requeued(PGconn *db, struct arena *a, struct err *e, int64_t job_id)
{
	if (!db_qv(db, a, e,
		   "UPDATE workflow_jobs SET status = 'queued', steps = coalesce((SELECT "
		   "jsonb_agg(jsonb_build_object('name', s->'name', 'status', 'pending') ORDER BY o) "
		   "FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(s, o)), '[]') "
		   "WHERE id = $1 AND status IN ('queued', 'running')",
		   arena_int(a, job_id)))
		return e->code;
	return 0;
}

int runs_job_done(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e, int64_t job_id,
		  const char *result, int exit_code, const char *reason)
{
	int rc;
	PGresult *res = db_qv(db, a, e,
			      "SELECT run_id, name, status FROM workflow_jobs WHERE id = $1",
			      arena_int(a, job_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return 0;
	int64_t run_id = db_int(res, 0, 0);
	struct run_row r;
	if ((rc = run_lock(db, a, e, run_id, &r)))
		return rc;
	struct job_row j = { .id = job_id, .name = arena_strdup(a, db_val(res, 0, 1)) };
	if (final_status(db_val(res, 0, 2)))
		return 0;
	const char *status = !strcmp(result, "success")     ? "success"
			     : !strcmp(result, "cancelled") ? "cancelled"
							    : "failure";
	if ((rc = job_set_final(db, a, e, job_id, status, reason)))
		return rc;
	if (exit_code >= 0 &&
	    !db_qv(db, a, e, "UPDATE workflow_jobs SET exit_code = $2 WHERE id = $1",
		   arena_int(a, job_id), arena_int(a, exit_code)))
		return e->code;
	/* the runner reports job_end itself; say it for it when it could not */
	PGresult *je = db_qv(db, a, e,
			     "SELECT 1 FROM workload_events ev JOIN workloads w ON w.id = "
			     "ev.workload_id WHERE w.job_id = $1 AND ev.type = 'job_end' LIMIT 1",
			     arena_int(a, job_id));
	if (!je)
		return e->code;
	if (PQntuples(je) == 0 && (rc = job_end_event(t, db, a, e, &j, status, reason)))
		return rc;
	const char *state = !strcmp(status, "success")   ? "success"
			    : !strcmp(status, "failure") ? "failure"
							 : "error";
	const char *desc = !strcmp(status, "success")   ? "succeeded"
			   : !strcmp(status, "failure") ? "failed"
							: "cancelled";
	if (!strcmp(result, "error"))
		desc = reason ? reason : "error";
	if ((rc = commit_status(db, a, e, &r, j.name, state,
				arena_strndup(a, desc, strnlen(desc, 140)))))
		return rc;
	return runs_advance(t, db, a, e, run_id);
}

/* ---- cancelling ---- */

int runs_cancel(PGconn *db, struct arena *a, struct err *e, int64_t run_id, const char *why)
{
	int rc;
	PGresult *res = db_qv(db, a, e, "SELECT stream_id FROM workflow_runs WHERE id = $1",
			      arena_int(a, run_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	struct stream_tx t;
	stream_tx_begin(&t, db_int(res, 0, 0));
	bool committed = false;
	if ((rc = db_begin(db, e)))
		goto done;
	struct run_row r;
	if ((rc = run_lock(db, a, e, run_id, &r)))
		goto rollback;
	if (final_status(r.status)) {
		rc = err_set(e, ERR_CONFLICT, "run_finished", "run %lld has already finished (%s)",
			     (long long)run_id, r.status);
		goto rollback;
	}
	if (r.cancel_requested) {
		db_rollback(db);
		rc = 0;
		goto done;
	}
	if (!db_qv(db, a, e,
		   "UPDATE workflow_runs SET cancel_requested = true, conclusion = $2 WHERE id = $1",
		   arena_int(a, run_id), why)) {
		rc = e->code;
		goto rollback;
	}
	r.cancel_requested = true;
	/* workloads nobody runs yet end here; running ones are told */
	PGresult *w = db_qv(db, a, e,
			    "SELECT w.id, w.status, w.job_id FROM workloads w JOIN workflow_jobs j ON "
			    "j.id = w.job_id WHERE j.run_id = $1 AND w.status <> 'done' ORDER BY w.id",
			    arena_int(a, run_id));
	if (!w) {
		rc = e->code;
		goto rollback;
	}
	for (int i = 0; i < PQntuples(w); i++) {
		int64_t wid = db_int(w, i, 0);
		if (!strcmp(db_val(w, i, 1), "waiting")) {
			if ((rc = workload_finish(&t, db, a, e, wid, "cancelled", -1,
						  "the run was cancelled")))
				goto rollback;
		} else if ((rc = workload_cancel_notify(db, a, e, wid))) {
			goto rollback;
		}
	}
	/* pending jobs are cancelled, and the run ends when nothing runs */
	if ((rc = runs_advance(&t, db, a, e, run_id)))
		goto rollback;
	if ((rc = db_commit(db, e)))
		goto done;
	committed = true;
	log_info("run %lld cancelled: %s", (long long)run_id, why);
	goto done;
rollback:
	db_rollback(db);
done:
	stream_tx_end(&t, committed);
	return rc;
}

/* ---- approving ---- */

int runs_approve(PGconn *db, struct arena *a, struct err *e, int64_t run_id, int64_t user_id)
{
	int rc;
	const char *ids = arena_int(a, run_id);
	PGresult *res = db_qv(db, a, e, "SELECT stream_id FROM workflow_runs WHERE id = $1", ids);
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	struct stream_tx t;
	stream_tx_begin(&t, db_int(res, 0, 0));
	bool committed = false, cancel_others = false;
	struct run_row r = { 0 };
	if ((rc = db_begin(db, e)))
		goto done;
	if ((rc = run_lock(db, a, e, run_id, &r)))
		goto rollback;
	PGresult *st = db_qv(db, a, e,
			     "SELECT w.trusted, coalesce(u.username, ''), w.approved_at IS NOT NULL, "
			     "w.cancel_in_progress FROM workflow_runs w LEFT JOIN users u ON u.id = "
			     "w.approved_by WHERE w.id = $1",
			     ids);
	if (!st) {
		rc = e->code;
		goto rollback;
	}
	if (db_bool(st, 0, 0)) {
		rc = err_set(e, ERR_CONFLICT, "run_trusted",
			     "run %lld was started by someone with write access and needs no approval",
			     (long long)run_id);
		goto rollback;
	}
	if (db_bool(st, 0, 2)) {
		rc = err_set(e, ERR_CONFLICT, "already_approved",
			     "run %lld was already approved%s%s", (long long)run_id,
			     *db_val(st, 0, 1) ? " by " : "", db_val(st, 0, 1));
		goto rollback;
	}
	if (final_status(r.status)) {
		rc = err_set(e, ERR_CONFLICT, "run_finished", "run %lld has already finished (%s)",
			     (long long)run_id, r.status);
		goto rollback;
	}
	if (strcmp(r.status, "waiting")) {
		rc = err_set(e, ERR_CONFLICT, "approval_not_needed",
			     "run %lld refers to no secrets and runs without approval",
			     (long long)run_id);
		goto rollback;
	}
	if (!db_qv(db, a, e,
		   "UPDATE workflow_runs SET status = 'queued', approved_by = $2, approved_at = now() "
		   "WHERE id = $1",
		   ids, arena_int(a, user_id))) {
		rc = e->code;
		goto rollback;
	}
	r.status = "queued";
	cancel_others = r.group && db_bool(st, 0, 3);
	/* as at creation: an older active run of the group goes first */
	PGresult *held = r.group && !cancel_others
				 ? db_qv(db, a, e,
					 "SELECT 1 FROM workflow_runs WHERE repo_id = $1 AND "
					 "concurrency_group = $2 AND status IN ('queued', 'running') AND "
					 "id < $3 LIMIT 1",
					 arena_int(a, r.repo_id), r.group, ids)
				 : NULL;
	if (r.group && !cancel_others && !held) {
		rc = e->code;
		goto rollback;
	}
	if ((!held || PQntuples(held) == 0) && (rc = runs_advance(&t, db, a, e, run_id)))
		goto rollback;
	if ((rc = db_commit(db, e)))
		goto done;
	committed = true;
	log_info("run %lld approved by user %lld", (long long)run_id, (long long)user_id);
	goto done;
rollback:
	db_rollback(db);
done:
	stream_tx_end(&t, committed);
	if (committed && cancel_others)
		runs_cancel_group(db, a, e, r.repo_id, r.group, run_id);
	return rc;
}

int runs_cancel_group(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		      const char *group, int64_t keep_run_id)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT o.id, n.run_number FROM workflow_runs o, workflow_runs n "
			      "WHERE n.id = $3 AND o.repo_id = $1 AND o.concurrency_group = $2 AND "
			      "o.status IN ('queued', 'running') AND o.id <> $3 AND NOT "
			      "o.cancel_requested ORDER BY o.id",
			      arena_int(a, repo_id), group, arena_int(a, keep_run_id));
	if (!res)
		return e->code;
	for (int i = 0; i < PQntuples(res); i++) {
		struct err ce = { 0 };
		const char *why = arena_printf(a, "cancelled by run #%s in concurrency group '%s'",
					       db_val(res, i, 1), group);
		if (runs_cancel(db, a, &ce, db_int(res, i, 0), why) && ce.code != ERR_CONFLICT)
			log_warn("cannot cancel run %s: %s", db_val(res, i, 0), ce.msg);
	}
	return 0;
}

int runs_start_held(PGconn *db, struct arena *a, struct err *e)
{
	/* runs of a concurrency group wait while an older run of the group is
	 * active; start those whose turn it is */
	PGresult *res = db_query(
		db, a, e,
		"SELECT r.id, r.stream_id FROM workflow_runs r WHERE r.status = 'queued' AND "
		"r.concurrency_group IS NOT NULL AND NOT EXISTS (SELECT 1 FROM workflow_jobs j WHERE "
		"j.run_id = r.id AND j.status <> 'pending') AND NOT EXISTS (SELECT 1 FROM "
		"workflow_runs o WHERE o.repo_id = r.repo_id AND o.concurrency_group = "
		"r.concurrency_group AND o.id < r.id AND o.status IN ('queued', 'running')) "
		"ORDER BY r.id LIMIT 100",
		0, NULL);
	if (!res)
		return e->code;
	for (int i = 0; i < PQntuples(res); i++) {
		struct stream_tx t;
		struct err le = { 0 };
		stream_tx_begin(&t, db_int(res, i, 1));
		bool ok = !db_begin(db, &le) && !runs_advance(&t, db, a, &le, db_int(res, i, 0)) &&
			  !db_commit(db, &le);
		if (!ok) {
			db_rollback(db);
			log_warn("cannot start held run %s: %s", db_val(res, i, 0), le.msg);
		}
		stream_tx_end(&t, ok);
	}
	return 0;
}
