/* statuses.c — the commit status routes: read the request, call the
 * domain (forge/statuses.h), write JSON. */
#include "api/api.h"
#include "base/util.h"
#include "forge/statuses.h"

int h_status_create(struct req *r, struct resp *w)
{
	struct status_input in = { 0 };
	json_t *o = NULL;
	int rc;
	if ((rc = json_str_field(r, "state", true, 20, &in.state)) ||
	    (rc = json_str_field(r, "context", false, STATUS_CONTEXT_MAX, &in.context)) ||
	    (rc = json_str_field(r, "description", false, STATUS_DESCRIPTION_MAX, &in.description)) ||
	    (rc = json_str_field(r, "target_url", false, STATUS_URL_MAX, &in.target_url)) ||
	    (rc = commit_status_create(&o, FORGE(r), r->repo, req_param(r, "sha"), &in)))
		return rc;
	resp_json(w, 201, o);
	return 0;
}

int h_status_list(struct req *r, struct resp *w)
{
	const char *q = req_query(r, "limit");
	int64_t limit = STATUS_LIST_DEFAULT;
	json_t *o = NULL;
	int rc;
	if (q && parse_i64(q, 1, STATUS_LIST_MAX, &limit))
		return err_set(&r->err, ERR_INVALID, "invalid_limit",
			       "limit '%.20s' must be a number from 1 to %d", q, STATUS_LIST_MAX);
	if ((rc = commit_status_list(&o, FORGE(r), r->repo, req_param(r, "sha"), (int)limit)))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}

int h_status_combined(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	int rc;
	if ((rc = commit_status_combined_get(&o, FORGE(r), r->repo, req_param(r, "sha"))))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}
