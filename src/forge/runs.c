/* runs.c — workflow runs as the forge shows and steers them (see runs.h):
 * the queries behind the run API and the rules of cancel, approve and
 * workflow_dispatch. */
#include "forge/runs.h"
#include "db/db.h"
#include "queue/dispatcher.h"
#include "queue/runs.h"
#include "queue/stream.h"
#include "workflow/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A run as JSON: these columns, in the order of enum run_col. */
#define RUN_COLUMNS                                                                                                                        \
	"w.id, w.run_number, w.workflow_path, w.name, w.event_id, w.event_type, w.ref, "                                                   \
	"  w.commit_sha, w.status, w.conclusion, w.sandbox, w.concurrency_group, "                                                         \
	"  w.cancel_requested, " SQL_TS("w.created_at") ", " SQL_TS("w.started_at") ", " SQL_TS(                                           \
		"w.finished_at") ", "                                                                                                      \
				 "  (extract(epoch from (coalesce(w.finished_at, now()) - w.started_at)) * 1000)::bigint, "                \
				 "  u.username || '/' || p.name, w.trusted, ap.username, " SQL_TS(                                         \
					 "w.approved_at") ", "                                                                             \
							  "  ac.username "                                                                 \
							  "FROM workflow_runs w JOIN repositories p ON p.id = w.repo_id "                  \
							  "JOIN users u ON u.id = p.owner_id LEFT JOIN users ap ON ap.id = w.approved_by " \
							  "LEFT JOIN users ac ON ac.id = w.actor_id "

enum run_col {
	RUN_COL_ID,
	RUN_COL_NUMBER,
	RUN_COL_PATH,
	RUN_COL_NAME,
	RUN_COL_EVENT_ID,
	RUN_COL_EVENT_TYPE,
	RUN_COL_REF,
	RUN_COL_SHA,
	RUN_COL_STATUS,
	RUN_COL_CONCLUSION,
	RUN_COL_SANDBOX,
	RUN_COL_GROUP,
	RUN_COL_CANCEL_REQUESTED,
	RUN_COL_CREATED_AT,
	RUN_COL_STARTED_AT,
	RUN_COL_FINISHED_AT,
	RUN_COL_DURATION_MS,
	RUN_COL_REPOSITORY,
	RUN_COL_TRUSTED,
	RUN_COL_APPROVED_BY,
	RUN_COL_APPROVED_AT,
	RUN_COL_ACTOR,
};

/* A step's started_at / finished_at (stored as jsonb timestamps) in the
 * one timestamp format. */
#define STEP_TS(field) SQL_TS("(s->>'" field "')::timestamptz")

/* A job as JSON: these columns, in the order of enum job_col. */
#define JOB_COLUMNS                                                                                                                                \
	"j.id, j.job_key, j.name, j.status, j.exit_code, j.conclusion, "                                                                           \
	"  to_jsonb(j.needs)::text, j.matrix::text, " SQL_TS("j.started_at") ", " SQL_TS(                                                          \
		"j.finished_at") ", "                                                                                                              \
				 "  (extract(epoch from (coalesce(j.finished_at, now()) - j.started_at)) * 1000)::bigint, "                        \
				 "  (SELECT coalesce(jsonb_agg(s || jsonb_strip_nulls(jsonb_build_object("                                         \
				 "     'started_at', " STEP_TS("started_at") ", 'finished_at', " STEP_TS(                                          \
					 "finished_at") "   )) ORDER BY o), '[]'::jsonb) "                                                         \
							"   FROM jsonb_array_elements(j.steps) WITH ORDINALITY AS x(s, o))::text, "                \
							"  (SELECT max(attempt) FROM workloads x WHERE x.job_id = j.id), "                         \
							"  (SELECT x.sandbox FROM workloads x WHERE x.job_id = j.id ORDER BY x.id DESC LIMIT 1), " \
							"  j.continue_on_error "

enum job_col {
	JOB_COL_ID,
	JOB_COL_KEY,
	JOB_COL_NAME,
	JOB_COL_STATUS,
	JOB_COL_EXIT_CODE,
	JOB_COL_CONCLUSION,
	JOB_COL_NEEDS,
	JOB_COL_MATRIX,
	JOB_COL_STARTED_AT,
	JOB_COL_FINISHED_AT,
	JOB_COL_DURATION_MS,
	JOB_COL_STEPS,
	JOB_COL_ATTEMPT,
	JOB_COL_SANDBOX,
	JOB_COL_CONTINUE_ON_ERROR,
};

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *int_or_null(const PGresult *res, int row, int col)
{
	return db_val(res, row, col) ? json_integer(db_int(res, row, col)) : json_null();
}

static json_t *run_row_json(const PGresult *res, int i)
{
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o}",
			      "id", (json_int_t)db_int(res, i, RUN_COL_ID), "number",
			      (json_int_t)db_int(res, i, RUN_COL_NUMBER), "repository",
			      db_val(res, i, RUN_COL_REPOSITORY), "workflow",
			      db_val(res, i, RUN_COL_NAME), "path", db_val(res, i, RUN_COL_PATH),
			      "ref", str_or_null(db_val(res, i, RUN_COL_REF)), "sha",
			      str_or_null(db_val(res, i, RUN_COL_SHA)), "status",
			      db_val(res, i, RUN_COL_STATUS), "conclusion",
			      str_or_null(db_val(res, i, RUN_COL_CONCLUSION)), "sandbox",
			      str_or_null(db_val(res, i, RUN_COL_SANDBOX)), "concurrency_group",
			      str_or_null(db_val(res, i, RUN_COL_GROUP)), "cancel_requested",
			      db_bool(res, i, RUN_COL_CANCEL_REQUESTED), "created_at",
			      str_or_null(db_val(res, i, RUN_COL_CREATED_AT)), "started_at",
			      str_or_null(db_val(res, i, RUN_COL_STARTED_AT)), "finished_at",
			      str_or_null(db_val(res, i, RUN_COL_FINISHED_AT)), "duration_ms",
			      db_val(res, i, RUN_COL_STARTED_AT)
				      ? json_integer(db_int(res, i, RUN_COL_DURATION_MS))
				      : json_null());
	json_object_set_new(j, "event",
			    json_pack("{s:o,s:s}", "id", int_or_null(res, i, RUN_COL_EVENT_ID),
				      "type", db_val(res, i, RUN_COL_EVENT_TYPE)));
	/* who started it, and whether that is someone who may write (else
	 * the run is untrusted: see docs/runs.md) */
	json_object_set_new(j, "actor", str_or_null(db_val(res, i, RUN_COL_ACTOR)));
	json_object_set_new(j, "trusted", json_boolean(db_bool(res, i, RUN_COL_TRUSTED)));
	json_object_set_new(j, "approved_by", str_or_null(db_val(res, i, RUN_COL_APPROVED_BY)));
	json_object_set_new(j, "approved_at", str_or_null(db_val(res, i, RUN_COL_APPROVED_AT)));
	return j;
}

static json_t *job_row_json(const PGresult *res, int i)
{
	json_t *steps = json_loads(db_val(res, i, JOB_COL_STEPS), 0, NULL);
	size_t k;
	json_t *s;
	json_array_foreach(steps, k, s)
	{
		if (!json_object_get(s, "exit_code"))
			json_object_set_new(s, "exit_code", json_null());
	}
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "id",
			 (json_int_t)db_int(res, i, JOB_COL_ID), "key", db_val(res, i, JOB_COL_KEY),
			 "name", db_val(res, i, JOB_COL_NAME), "status",
			 db_val(res, i, JOB_COL_STATUS), "exit_code",
			 int_or_null(res, i, JOB_COL_EXIT_CODE), "conclusion",
			 str_or_null(db_val(res, i, JOB_COL_CONCLUSION)), "needs",
			 json_loads(db_val(res, i, JOB_COL_NEEDS), 0, NULL) ?: json_array(),
			 "matrix",
			 json_loads(db_val(res, i, JOB_COL_MATRIX), 0, NULL) ?: json_object(),
			 "started_at", str_or_null(db_val(res, i, JOB_COL_STARTED_AT)),
			 "finished_at", str_or_null(db_val(res, i, JOB_COL_FINISHED_AT)),
			 "duration_ms",
			 db_val(res, i, JOB_COL_STARTED_AT)
				 ? json_integer(db_int(res, i, JOB_COL_DURATION_MS))
				 : json_null(),
			 "steps", steps ? steps : json_array(), "attempt",
			 int_or_null(res, i, JOB_COL_ATTEMPT), "sandbox",
			 str_or_null(db_val(res, i, JOB_COL_SANDBOX)), "continue_on_error",
			 db_bool(res, i, JOB_COL_CONTINUE_ON_ERROR));
}

/* Run run_id as JSON without its jobs. */
static int run_row_get(json_t **out, struct forge *f, int64_t run_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err, "SELECT " RUN_COLUMNS "WHERE w.id = $1",
			      arena_int(f->arena, run_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	*out = run_row_json(res, 0);
	return 0;
}

int run_find(struct run_ref *out, struct forge *f, int64_t run_id, enum repo_action act)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT u.username, p.name, w.stream_id FROM workflow_runs w JOIN "
			      "repositories p ON p.id = w.repo_id JOIN users u ON u.id = p.owner_id "
			      "WHERE w.id = $1",
			      arena_int(f->arena, run_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	struct repo *repo = NULL;
	int rc = repo_load(&repo, f, db_val(res, 0, 0), db_val(res, 0, 1));
	if (!rc)
		rc = authz_repo(f->who, repo, act, f->err);
	if (rc == ERR_NOTFOUND) {
		err_clear(f->err);
		return err_set(f->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	}
	out->id = run_id;
	out->stream_id = db_int(res, 0, 2);
	out->repo = repo;
	return rc;
}

int run_find_in(struct run_ref *out, struct forge *f, const struct repo *repo, int64_t run_id,
		enum repo_action act)
{
	int rc = run_find(out, f, run_id, act);
	if ((!rc || rc == ERR_PERM) && out->repo->id != repo->id) {
		err_clear(f->err);
		rc = ERR_NOTFOUND;
	}
	if (rc == ERR_NOTFOUND) {
		err_clear(f->err);
		return err_set(f->err, ERR_NOTFOUND, NULL, "run %lld not found in '%s/%s'",
			       (long long)run_id, repo->owner, repo->name);
	}
	return rc;
}

int run_list(json_t **out, struct forge *f, const struct repo *repo, const struct run_filter *q)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " RUN_COLUMNS
			      "WHERE w.repo_id = $1 AND w.id < $2 AND ($4::text IS NULL OR "
			      "w.event_type = $4) ORDER BY w.id DESC LIMIT $3",
			      arena_int(f->arena, repo->id), arena_int(f->arena, q->before),
			      arena_int(f->arena, q->limit), q->event);
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, run_row_json(res, i));
	*out = arr;
	return 0;
}

int run_get(json_t **out, struct forge *f, const struct run_ref *run)
{
	json_t *j = NULL;
	int rc;
	if ((rc = run_row_get(&j, f, run->id)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " JOB_COLUMNS "FROM workflow_jobs j WHERE j.run_id = $1 "
			      "ORDER BY j.id",
			      arena_int(f->arena, run->id));
	if (!res) {
		json_decref(j);
		return f->err->code;
	}
	json_t *jobs = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(jobs, job_row_json(res, i));
	json_object_set_new(j, "jobs", jobs);
	*out = j;
	return 0;
}

int run_get_with_events(json_t **run_out, json_t **events_out, bool *more, struct forge *f,
			const struct run_ref *run, int64_t limit)
{
	json_t *j = NULL, *evs = NULL;
	int rc;
	/* one snapshot: events and statuses are written in one transaction */
	if (!db_qv(f->db, f->arena, f->err, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
		return f->err->code;
	if ((rc = run_get(&j, f, run)))
		goto fail;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT stream_seq, type, payload::text FROM workload_events WHERE "
			      "stream_id = $1 ORDER BY stream_seq LIMIT $2",
			      arena_int(f->arena, run->stream_id), arena_int(f->arena, limit + 1));
	if (!res) {
		rc = f->err->code;
		goto fail;
	}
	if ((rc = db_commit(f->db, f->err)))
		goto fail;
	int n = PQntuples(res);
	*more = n > limit;
	evs = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(evs, json_pack("{s:I,s:s,s:o}", "seq",
						     (json_int_t)db_int(res, i, 0), "type",
						     db_val(res, i, 1), "payload",
						     json_loads(db_val(res, i, 2), 0, NULL)
							     ?: json_object()));
	*run_out = j;
	*events_out = evs;
	return 0;
fail:
	db_rollback(f->db);
	json_decref(j);
	return rc;
}

int run_log_text(struct buf *out, struct forge *f, const struct run_ref *run, int64_t job_id)
{
	const char *job = arena_id(f->arena, job_id);
	PGresult *jr = db_qv(f->db, f->arena, f->err,
			     "SELECT id, name FROM workflow_jobs WHERE run_id = $1 AND ($2::bigint IS "
			     "NULL OR id = $2) ORDER BY id",
			     arena_int(f->arena, run->id), job);
	if (!jr)
		return f->err->code;
	if (job && PQntuples(jr) == 0)
		return err_set(f->err, ERR_NOTFOUND, NULL, "job %lld not found in run %lld",
			       (long long)job_id, (long long)run->id);
	PGresult *ev = db_qv(f->db, f->arena, f->err,
			     "SELECT (payload->>'job_id')::bigint, type, payload->>'line', "
			     "payload->>'name' FROM workload_events WHERE stream_id = $1 AND type IN "
			     "('step_start', 'log') AND ($2::bigint IS NULL OR (payload->>'job_id')::"
			     "bigint = $2) ORDER BY stream_seq",
			     arena_int(f->arena, run->stream_id), job);
	if (!ev)
		return f->err->code;
	/* one section per job, in job order; lines in stream order */
	int nj = PQntuples(jr);
	struct buf *parts = arena_alloc(f->arena, sizeof(struct buf) * (size_t)(nj ? nj : 1));
	for (int i = 0; i < nj; i++) {
		buf_init(&parts[i], 0);
		buf_addf(&parts[i], "== %s ==\n", db_val(jr, i, 1));
	}
	for (int e = 0; e < PQntuples(ev); e++) {
		int64_t jid = db_int(ev, e, 0);
		for (int i = 0; i < nj; i++) {
			if (db_int(jr, i, 0) != jid)
				continue;
			if (!strcmp(db_val(ev, e, 1), "step_start"))
				buf_addf(&parts[i], "-- %s\n", db_val(ev, e, 3) ?: "step");
			else
				buf_addf(&parts[i], "%s\n", db_val(ev, e, 2) ?: "");
			break;
		}
	}
	/* an agent job's log is its conversation */
	PGresult *am = db_qv(
		f->db, f->arena, f->err,
		"SELECT w.job_id, m.role, p.type, coalesce(p.text, ''), coalesce(p.name, ''), "
		"coalesce(p.input::text, ''), p.is_error FROM agent_sessions s "
		"JOIN workloads w ON w.session_id = s.id JOIN messages m ON m.session_id = s.id "
		"JOIN parts p ON p.message_id = m.id WHERE s.run_id = $1 AND w.job_id IS NOT NULL "
		"ORDER BY m.id, p.idx",
		arena_int(f->arena, run->id));
	if (!am)
		return f->err->code;
	for (int e = 0; e < PQntuples(am); e++) {
		for (int i = 0; i < nj; i++) {
			if (db_int(jr, i, 0) != db_int(am, e, 0))
				continue;
			const char *type = db_val(am, e, 2);
			if (!strcmp(type, "text"))
				buf_addf(&parts[i], "[%s] %s\n", db_val(am, e, 1), db_val(am, e, 3));
			else if (!strcmp(type, "tool_use"))
				buf_addf(&parts[i], "[tool] %s %s\n", db_val(am, e, 4),
					 db_val(am, e, 5));
			else
				buf_addf(&parts[i], "[%s] %.2000s\n",
					 db_bool(am, e, 6) ? "tool error" : "tool result",
					 db_val(am, e, 3));
			break;
		}
	}
	for (int i = 0; i < nj; i++) {
		buf_add(out, parts[i].ptr, parts[i].len);
		buf_release(&parts[i]);
	}
	return 0;
}

int run_cancel(struct forge *f, int64_t run_id)
{
	struct run_ref run;
	int rc;
	if ((rc = run_find(&run, f, run_id, ACT_WRITE)))
		return rc;
	const char *who = f->who->username ? f->who->username : "a task";
	return runs_cancel(f->db, f->arena, f->err, run_id,
			   arena_printf(f->arena, "cancelled by %s", who));
}

int run_approve(json_t **out, struct forge *f, const struct repo *repo, int64_t run_id)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_WRITE, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT 1 FROM workflow_runs WHERE id = $1 AND repo_id = $2",
			      arena_int(f->arena, run_id), arena_int(f->arena, repo->id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "run %lld not found in '%s/%s'",
			       (long long)run_id, repo->owner, repo->name);
	/* an approval is a person's decision, recorded with their name: a
	 * workflow's task token, even one that may push, cannot make it */
	if (!f->who->user_id)
		return err_set(f->err, ERR_PERM, NULL, "a task token cannot approve run %lld",
			       (long long)run_id);
	if ((rc = runs_approve(f->db, f->arena, f->err, run_id, f->who->user_id)))
		return rc;
	return run_row_get(out, f, run_id);
}

/* ---- workflow_dispatch ---- */

static bool file_name_ok(const char *f)
{
	size_t n = strlen(f);
	if (!n || n > 200 || f[0] == '.' || strchr(f, '/'))
		return false;
	return (n > 5 && !strcmp(f + n - 5, ".yaml")) || (n > 4 && !strcmp(f + n - 4, ".yml"));
}

int run_dispatch(json_t **out, struct forge *f, const struct repo *repo, const char *file,
		 const char *ref, json_t *inputs)
{
	struct wf_file *files = NULL;
	size_t n = 0;
	struct workflow *wf = NULL;
	json_t *resolved = NULL;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_WRITE, f->err)))
		return rc;
	if (!file_name_ok(file))
		return err_set(f->err, ERR_INVALID, "invalid_workflow",
			       "'%.100s' is not a workflow file name (NAME.yaml or NAME.yml)", file);
	if (!ref || !*ref)
		ref = repo->default_branch;
	const char *branch = !strncmp(ref, "refs/heads/", 11) ? ref + 11 : ref;
	if (!strncmp(ref, "refs/", 5) && strncmp(ref, "refs/heads/", 11))
		return err_set(f->err, ERR_INVALID, "invalid_ref", "ref '%.100s' is not a branch",
			       ref);
	PGresult *b = db_qv(f->db, f->arena, f->err,
			    "SELECT commit_sha FROM branches WHERE repo_id = $1 AND name = $2",
			    arena_int(f->arena, repo->id), branch);
	if (!b)
		return f->err->code;
	if (PQntuples(b) != 1)
		return err_set(f->err, ERR_NOTFOUND, "ref_not_found", "branch '%.100s' not found",
			       branch);
	const char *sha = arena_strdup(f->arena, db_val(b, 0, 0));
	const char *path = arena_printf(f->arena, ".plue/workflows/%s", file);
	if ((rc = dispatcher_read_workflows(f->arena, repo->id, sha, &files, &n, f->err)))
		return rc;
	const struct wf_file *wff = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i].path, path))
			wff = &files[i];
	if (!wff || !wff->text) {
		rc = err_set(f->err, ERR_NOTFOUND, "workflow_not_found",
			     "workflow '%s' not found on branch '%.100s'", file, branch);
		goto done;
	}
	if ((rc = workflow_parse(&wf, wff->path, wff->text, wff->len, f->err)))
		goto done;
	if (!workflow_trigger(wf, WF_EV_WORKFLOW_DISPATCH)) {
		rc = err_set(f->err, ERR_INVALID, "not_dispatchable",
			     "workflow '%s' has no workflow_dispatch trigger", file);
		goto done;
	}
	if ((rc = workflow_inputs_resolve(&resolved, wf, inputs, f->err)))
		goto done;
	const char *full = arena_printf(f->arena, "refs/heads/%s", branch);
	json_t *payload = json_pack("{s:s,s:s,s:s,s:O,s:s}", "workflow", path, "ref", full, "sha",
				    sha, "inputs", resolved, "actor", f->who->username ?: "");
	int64_t event_id = 0;
	if ((rc = db_begin(f->db, f->err)))
		goto done;
	if ((rc = forge_event(&event_id, f, repo->id, "workflow_dispatch", payload))) {
		db_rollback(f->db);
		goto done;
	}
	if ((rc = db_commit(f->db, f->err)))
		goto done;
	*out = json_pack("{s:I,s:s,s:s,s:O}", "event_id", (json_int_t)event_id, "ref", full, "sha",
			 sha, "inputs", resolved);
done:
	json_decref(resolved);
	workflow_free(wf);
	dispatcher_files_free(files, n);
	return rc;
}
