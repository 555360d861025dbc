/* runs.c — workflow runs in the API: the list of a repository's runs, one
 * run with its jobs and steps, its stored log as text, its live event
 * stream (SSE, lossless across reconnects via Last-Event-ID), cancelling,
 * approving an untrusted run, and starting a workflow by hand
 * (workflow_dispatch). Every run read goes through authz_repo for the
 * run's repository: a run of a private repository the caller cannot read
 * does not exist for them. */
#include "api/api.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "http/sse.h"
#include "queue/dispatcher.h"
#include "queue/runs.h"
#include "queue/stream.h"
#include "workflow/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *int_or_null(const PGresult *res, int row, int col)
{
	return db_val(res, row, col) ? json_integer(db_int(res, row, col)) : json_null();
}

/* Loads the repository of a run by id with the caller's role, and checks
 * that the caller may act on it. */
static int run_repo(struct req *r, int64_t run_id, enum repo_action act, struct repo **out,
		    int64_t *stream_id)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT u.username, p.name, w.stream_id FROM workflow_runs w JOIN "
			      "repositories p ON p.id = w.repo_id JOIN users u ON u.id = p.owner_id "
			      "WHERE w.id = $1",
			      i64s(r->arena, (long long)run_id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	int rc = repo_load(out, FORGE(r), db_val(res, 0, 0), db_val(res, 0, 1));
	if (!rc)
		rc = authz_repo(&r->auth, *out, act, &r->err);
	if (rc == ERR_NOTFOUND) {
		err_clear(&r->err);
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)run_id);
	}
	if (stream_id)
		*stream_id = db_int(res, 0, 2);
	r->repo = *out;
	return rc;
}

static int run_id_param(struct req *r, int64_t *out)
{
	const char *s = req_param(r, "id");
	if (parse_i64(s, 1, INT64_MAX, out))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run '%.40s' not found", s);
	return 0;
}

static const char RUN_COLS[] =
	"SELECT w.id, w.run_number, w.workflow_path, w.name, w.event_id, w.event_type, w.ref, "
	"  w.commit_sha, w.status, w.conclusion, w.sandbox, w.concurrency_group, "
	"  w.cancel_requested, " SQL_TS("w.created_at") ", " SQL_TS("w.started_at") ", " SQL_TS("w.finished_at")
	", (extract(epoch from (coalesce(w.finished_at, now()) - w.started_at)) * 1000)::bigint, "
	"  u.username || '/' || p.name, w.trusted, ap.username, " SQL_TS("w.approved_at") ", "
	"  ac.username "
	"FROM workflow_runs w JOIN repositories p ON p.id = w.repo_id JOIN users u ON u.id = "
	"p.owner_id LEFT JOIN users ap ON ap.id = w.approved_by LEFT JOIN users ac ON ac.id = "
	"w.actor_id ";

static json_t *run_json(const PGresult *res, int i)
{
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o}",
			      "id", (json_int_t)db_int(res, i, 0), "number",
			      (json_int_t)db_int(res, i, 1), "repository", db_val(res, i, 17),
			      "workflow", db_val(res, i, 3), "path", db_val(res, i, 2), "ref",
			      str_or_null(db_val(res, i, 6)), "sha", str_or_null(db_val(res, i, 7)),
			      "status", db_val(res, i, 8), "conclusion", str_or_null(db_val(res, i, 9)),
			      "sandbox", str_or_null(db_val(res, i, 10)), "concurrency_group",
			      str_or_null(db_val(res, i, 11)), "cancel_requested",
			      db_bool(res, i, 12), "created_at", str_or_null(db_val(res, i, 13)),
			      "started_at", str_or_null(db_val(res, i, 14)), "finished_at",
			      str_or_null(db_val(res, i, 15)), "duration_ms",
			      db_val(res, i, 14) ? json_integer(db_int(res, i, 16)) : json_null());
	json_object_set_new(j, "event",
			    json_pack("{s:o,s:s}", "id", int_or_null(res, i, 4), "type",
				      db_val(res, i, 5)));
	/* who started it, and whether that is someone who may write (else
	 * the run is untrusted: see docs/runs.md) */
	json_object_set_new(j, "actor", str_or_null(db_val(res, i, 21)));
	json_object_set_new(j, "trusted", json_boolean(db_bool(res, i, 18)));
	json_object_set_new(j, "approved_by", str_or_null(db_val(res, i, 19)));
	json_object_set_new(j, "approved_at", str_or_null(db_val(res, i, 20)));
	return j;
}

int h_runs_list(struct req *r, struct resp *w)
{
	int64_t limit = 30, before = INT64_MAX;
	const char *ls = req_query(r, "limit"), *bs = req_query(r, "before");
	if (ls && parse_i64(ls, 1, 100, &limit))
		return err_set(&r->err, ERR_INVALID, "invalid_limit", "limit must be 1 to 100");
	if (bs && parse_i64(bs, 1, INT64_MAX, &before))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor", "before must be a run id");
	struct buf q = BUF_INIT;
	buf_adds(&q, RUN_COLS);
	buf_adds(&q, "WHERE w.repo_id = $1 AND w.id < $2 AND ($4::text IS NULL OR w.event_type = "
		     "$4) ORDER BY w.id DESC LIMIT $3");
	PGresult *res = db_qv(r->db, r->arena, &r->err, arena_strdup(r->arena, q.ptr),
			      i64s(r->arena, (long long)r->repo->id), i64s(r->arena, (long long)before),
			      i64s(r->arena, (long long)limit), req_query(r, "event"));
	buf_release(&q);
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, run_json(res, i));
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_run_get(struct req *r, struct resp *w)
{
	int64_t id;
	struct repo *repo;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_repo(r, id, ACT_READ, &repo, NULL)))
		return rc;
	struct buf q = BUF_INIT;
	buf_adds(&q, RUN_COLS);
	buf_adds(&q, "WHERE w.id = $1");
	PGresult *res = db_qv(r->db, r->arena, &r->err, arena_strdup(r->arena, q.ptr),
			      i64s(r->arena, (long long)id));
	buf_release(&q);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)id);
	json_t *run = run_json(res, 0);
	PGresult *jr = db_qv(
		r->db, r->arena, &r->err,
		"SELECT j.id, j.job_key, j.name, j.status, j.exit_code, j.conclusion, "
		"  to_jsonb(j.needs)::text, j.matrix::text, " SQL_TS("j.started_at") ", " SQL_TS("j.finished_at")
		", (extract(epoch from (coalesce(j.finished_at, now()) - j.started_at)) * 1000)::bigint, "
		"  j.steps::text, (SELECT max(attempt) FROM workloads x WHERE x.job_id = j.id), "
		"  (SELECT x.sandbox FROM workloads x WHERE x.job_id = j.id ORDER BY x.id DESC LIMIT 1), "
		"  j.continue_on_error "
		"FROM workflow_jobs j WHERE j.run_id = $1 ORDER BY j.id",
		i64s(r->arena, (long long)id));
	if (!jr) {
		json_decref(run);
		return r->err.code;
	}
	json_t *jobs = json_array();
	for (int i = 0; i < PQntuples(jr); i++) {
		json_t *steps = json_loads(db_val(jr, i, 11), 0, NULL);
		/* durations of steps from their timestamps */
		size_t k;
		json_t *s;
		json_array_foreach(steps, k, s)
		{
			if (!json_object_get(s, "exit_code"))
				json_object_set_new(s, "exit_code", json_null());
		}
		json_t *job = json_pack(
			"{s:I,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "id",
			(json_int_t)db_int(jr, i, 0), "key", db_val(jr, i, 1), "name", db_val(jr, i, 2),
			"status", db_val(jr, i, 3), "exit_code", int_or_null(jr, i, 4), "conclusion",
			str_or_null(db_val(jr, i, 5)), "needs",
			json_loads(db_val(jr, i, 6), 0, NULL) ?: json_array(), "matrix",
			json_loads(db_val(jr, i, 7), 0, NULL) ?: json_object(), "started_at",
			str_or_null(db_val(jr, i, 8)), "finished_at", str_or_null(db_val(jr, i, 9)),
			"duration_ms", db_val(jr, i, 8) ? json_integer(db_int(jr, i, 10)) : json_null(),
			"steps", steps ? steps : json_array(), "attempt", int_or_null(jr, i, 12),
			"sandbox", str_or_null(db_val(jr, i, 13)), "continue_on_error",
			db_bool(jr, i, 14));
		json_array_append_new(jobs, job);
	}
	json_object_set_new(run, "jobs", jobs);
	resp_json(w, 200, run);
	resp_header(w, "Cache-Control", repo->is_private ? "private, no-store" : "no-store");
	return 0;
}

int h_run_logs(struct req *r, struct resp *w)
{
	int64_t id, job = 0;
	struct repo *repo;
	int64_t stream_id;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_repo(r, id, ACT_READ, &repo, &stream_id)))
		return rc;
	const char *js = req_query(r, "job");
	if (js && parse_i64(js, 1, INT64_MAX, &job))
		return err_set(&r->err, ERR_INVALID, "invalid_job", "job must be a job id");
	PGresult *jr = db_qv(r->db, r->arena, &r->err,
			     "SELECT id, name FROM workflow_jobs WHERE run_id = $1 AND ($2::bigint IS "
			     "NULL OR id = $2) ORDER BY id",
			     i64s(r->arena, (long long)id), job ? i64s(r->arena, (long long)job) : NULL);
	if (!jr)
		return r->err.code;
	if (job && PQntuples(jr) == 0)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "job %lld not found in run %lld",
			       (long long)job, (long long)id);
	PGresult *ev = db_qv(r->db, r->arena, &r->err,
			     "SELECT (payload->>'job_id')::bigint, type, payload->>'line', "
			     "payload->>'name' FROM workload_events WHERE stream_id = $1 AND type IN "
			     "('step_start', 'log') AND ($2::bigint IS NULL OR (payload->>'job_id')::"
			     "bigint = $2) ORDER BY stream_seq",
			     i64s(r->arena, (long long)stream_id),
			     job ? i64s(r->arena, (long long)job) : NULL);
	if (!ev)
		return r->err.code;
	/* one section per job, in job order; lines in stream order */
	int nj = PQntuples(jr);
	struct buf *parts = arena_alloc(r->arena, sizeof(struct buf) * (size_t)(nj ? nj : 1));
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
	struct buf all = BUF_INIT;
	for (int i = 0; i < nj; i++) {
		buf_add(&all, parts[i].ptr, parts[i].len);
		buf_release(&parts[i]);
	}
	resp_text(w, 200, "text/plain; charset=utf-8", all.ptr, all.len);
	buf_release(&all);
	api_content_headers(w);
	resp_header(w, "Cache-Control", repo->is_private ? "private, no-store" : "no-store");
	return 0;
}

int h_run_stream(struct req *r, struct resp *w)
{
	int64_t id, stream_id, last = 0;
	struct repo *repo;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_repo(r, id, ACT_READ, &repo, &stream_id)))
		return rc;
	const char *le = req_header(r, "Last-Event-ID");
	if (!le)
		le = req_query(r, "last_event_id");
	if (le && *le && parse_i64(le, 0, INT64_MAX, &last))
		return err_set(&r->err, ERR_INVALID, "invalid_last_event_id",
			       "Last-Event-ID '%.40s' is not an event id", le);
	/* subscribe first, then replay: nothing falls between the two */
	struct sse_sub *sub = sse_subscribe(stream_id, last);
	if ((rc = stream_replay(r->db, r->arena, &r->err, stream_id, last, sub))) {
		sse_sub_abandon(sub);
		return rc;
	}
	w->status = 200;
	w->content_type = "text/event-stream; charset=utf-8";
	resp_header(w, "Cache-Control", "no-cache, no-store");
	resp_header(w, "X-Accel-Buffering", "no");
	w->stream = sse_sub_start(sub);
	return 0;
}

int h_run_cancel(struct req *r, struct resp *w)
{
	int64_t id;
	struct repo *repo;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_repo(r, id, ACT_WRITE, &repo, NULL)))
		return rc;
	const char *who = r->auth.username ? r->auth.username : "a task";
	if ((rc = runs_cancel(r->db, r->arena, &r->err, id,
			      arena_printf(r->arena, "cancelled by %s", who))))
		return rc;
	resp_json(w, 202, json_pack("{s:I,s:s}", "id", (json_int_t)id, "status", "cancelling"));
	return 0;
}

int h_run_approve(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = run_id_param(r, &id)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT 1 FROM workflow_runs WHERE id = $1 AND repo_id = $2",
			      i64s(r->arena, (long long)id), i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run %lld not found in '%s/%s'",
			       (long long)id, r->repo->owner, r->repo->name);
	/* an approval is a person's decision, recorded with their name: a
	 * workflow's task token, even one that may push, cannot make it */
	if (!r->auth.user_id)
		return err_set(&r->err, ERR_PERM, NULL, "a task token cannot approve run %lld",
			       (long long)id);
	if ((rc = runs_approve(r->db, r->arena, &r->err, id, r->auth.user_id)))
		return rc;
	struct buf q = BUF_INIT;
	buf_adds(&q, RUN_COLS);
	buf_adds(&q, "WHERE w.id = $1");
	res = db_qv(r->db, r->arena, &r->err, arena_strdup(r->arena, q.ptr),
		    i64s(r->arena, (long long)id));
	buf_release(&q);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run %lld not found", (long long)id);
	resp_json(w, 200, run_json(res, 0));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

/* ---- workflow_dispatch ---- */

static bool file_name_ok(const char *f)
{
	size_t n = strlen(f);
	if (!n || n > 200 || f[0] == '.' || strchr(f, '/'))
		return false;
	return (n > 5 && !strcmp(f + n - 5, ".yaml")) || (n > 4 && !strcmp(f + n - 4, ".yml"));
}

int h_workflow_dispatch(struct req *r, struct resp *w)
{
	const char *file = req_param(r, "file"), *ref = NULL;
	int rc;
	if (!file_name_ok(file))
		return err_set(&r->err, ERR_INVALID, "invalid_workflow",
			       "'%.100s' is not a workflow file name (NAME.yaml or NAME.yml)", file);
	if ((rc = json_str_field(r, "ref", false, 250, &ref)))
		return rc;
	json_t *inputs = json_object_get(r->json, "inputs");
	if (inputs && !json_is_null(inputs) && !json_is_object(inputs))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field 'inputs' must be an object");
	if (!ref || !*ref)
		ref = r->repo->default_branch;
	const char *branch = !strncmp(ref, "refs/heads/", 11) ? ref + 11 : ref;
	if (!strncmp(ref, "refs/", 5) && strncmp(ref, "refs/heads/", 11))
		return err_set(&r->err, ERR_INVALID, "invalid_ref",
			       "ref '%.100s' is not a branch", ref);
	PGresult *b = db_qv(r->db, r->arena, &r->err,
			    "SELECT commit_sha FROM branches WHERE repo_id = $1 AND name = $2",
			    i64s(r->arena, (long long)r->repo->id), branch);
	if (!b)
		return r->err.code;
	if (PQntuples(b) != 1)
		return err_set(&r->err, ERR_NOTFOUND, "ref_not_found", "branch '%.100s' not found",
			       branch);
	const char *sha = arena_strdup(r->arena, db_val(b, 0, 0));
	const char *path = arena_printf(r->arena, ".plue/workflows/%s", file);
	struct wf_file *files = NULL;
	size_t n = 0;
	struct workflow *wf = NULL;
	json_t *resolved = NULL;
	if ((rc = dispatcher_read_workflows(r->arena, r->repo->id, sha, &files, &n, &r->err)))
		return rc;
	const struct wf_file *f = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i].path, path))
			f = &files[i];
	if (!f || !f->text) {
		rc = err_set(&r->err, ERR_NOTFOUND, "workflow_not_found",
			     "workflow '%s' not found on branch '%.100s'", file, branch);
		goto done;
	}
	if ((rc = workflow_parse(&wf, f->path, f->text, f->len, &r->err)))
		goto done;
	if (!workflow_trigger(wf, WF_EV_WORKFLOW_DISPATCH)) {
		rc = err_set(&r->err, ERR_INVALID, "not_dispatchable",
			     "workflow '%s' has no workflow_dispatch trigger", file);
		goto done;
	}
	if ((rc = workflow_inputs_resolve(&resolved, wf, json_is_object(inputs) ? inputs : NULL,
					  &r->err)))
		goto done;
	json_t *payload = json_pack("{s:s,s:s,s:s,s:O,s:s}", "workflow", path, "ref",
				    arena_printf(r->arena, "refs/heads/%s", branch), "sha", sha,
				    "inputs", resolved, "actor", r->auth.username ?: "");
	int64_t event_id = 0;
	if ((rc = db_begin(r->db, &r->err)))
		goto done;
	if ((rc = forge_event(&event_id, FORGE(r), r->repo->id, "workflow_dispatch", payload))) {
		db_rollback(r->db);
		goto done;
	}
	if ((rc = db_commit(r->db, &r->err)))
		goto done;
	resp_json(w, 202, json_pack("{s:I,s:s,s:s,s:O}", "event_id", (json_int_t)event_id,
				     "ref", arena_printf(r->arena, "refs/heads/%s", branch), "sha",
				     sha, "inputs", resolved));
done:
	json_decref(resolved);
	workflow_free(wf);
	dispatcher_files_free(files, n);
	return rc;
}
