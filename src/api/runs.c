/* runs.c — workflow runs in the API: the list of a repository's runs, one
 * run with its jobs and steps, its stored log as text, its live event
 * stream (SSE, lossless across reconnects via Last-Event-ID), cancelling,
 * approving an untrusted run, and starting a workflow by hand
 * (workflow_dispatch). The rules and queries are the domain's
 * (forge/runs.h): a run of a private repository the caller cannot read
 * does not exist for them. */
#include "api/api.h"
#include "base/util.h"
#include "forge/runs.h"
#include "http/sse.h"

#include <stdint.h>
#include <string.h>

static int run_id_param(struct req *r, int64_t *out)
{
	if (req_param_int(out, r, "id"))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "run '%.40s' not found",
			       req_param(r, "id"));
	return 0;
}

/* The run named by :id, which the caller may act on (act); its repository
 * becomes r->repo. */
static int run_param(struct req *r, enum repo_action act, struct run_ref *out)
{
	int64_t id;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_find(out, FORGE(r), id, act)))
		return rc;
	r->repo = out->repo;
	return 0;
}

int h_runs_list(struct req *r, struct resp *w)
{
	struct run_filter q = { .before = INT64_MAX, .limit = 30, .event = req_query(r, "event") };
	json_t *arr = NULL;
	int rc;
	if (req_query_int(&q.limit, r, "limit", 1, 100) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_limit", "limit must be 1 to 100");
	if (req_query_int(&q.before, r, "before", 1, INT64_MAX) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_cursor", "before must be a run id");
	if ((rc = run_list(&arr, FORGE(r), r->repo, &q)))
		return rc;
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_run_get(struct req *r, struct resp *w)
{
	struct run_ref run;
	json_t *j = NULL;
	int rc;
	if ((rc = run_param(r, ACT_READ, &run)) || (rc = run_get(&j, FORGE(r), &run)))
		return rc;
	resp_json(w, 200, j);
	resp_header(w, "Cache-Control", run.repo->is_private ? "private, no-store" : "no-store");
	return 0;
}

int h_run_logs(struct req *r, struct resp *w)
{
	struct run_ref run;
	int64_t job = 0;
	int rc;
	if ((rc = run_param(r, ACT_READ, &run)))
		return rc;
	if (req_query_int(&job, r, "job", 1, INT64_MAX) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_job", "job must be a job id");
	struct buf text = BUF_INIT;
	if ((rc = run_log_text(&text, FORGE(r), &run, job))) {
		buf_release(&text);
		return rc;
	}
	resp_text(w, 200, "text/plain; charset=utf-8", text.ptr, text.len);
	buf_release(&text);
	api_content_headers(w);
	resp_header(w, "Cache-Control", run.repo->is_private ? "private, no-store" : "no-store");
	return 0;
}

int h_run_stream(struct req *r, struct resp *w)
{
	struct run_ref run;
	int rc = run_param(r, ACT_READ, &run);
	return rc ? rc : api_stream_sse(r, w, run.stream_id);
}

int h_run_cancel(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_cancel(FORGE(r), id)))
		return rc;
	resp_json(w, 202, json_pack("{s:I,s:s}", "id", (json_int_t)id, "status", "cancelling"));
	return 0;
}

int h_run_approve(struct req *r, struct resp *w)
{
	int64_t id;
	json_t *j = NULL;
	int rc;
	if ((rc = run_id_param(r, &id)) || (rc = run_approve(&j, FORGE(r), r->repo, id)))
		return rc;
	resp_json(w, 200, j);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_workflow_dispatch(struct req *r, struct resp *w)
{
	const char *ref = NULL;
	json_t *out = NULL;
	int rc;
	if ((rc = json_str_field(r, "ref", false, 250, &ref)))
		return rc;
	json_t *inputs = json_object_get(r->json, "inputs");
	if (inputs && !json_is_null(inputs) && !json_is_object(inputs))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'inputs' must be an object");
	if ((rc = run_dispatch(&out, FORGE(r), r->repo, req_param(r, "file"), ref,
			       json_is_object(inputs) ? inputs : NULL)))
		return rc;
	resp_json(w, 202, out);
	return 0;
}
