/* milestones.c — a repository's milestones: list (with open and closed
 * issue counts), create, read, edit (title, description, due date,
 * state), delete. The rules and events are forge/milestones.h's. */
#include "api/api.h"
#include "api/collab.h"
#include "forge/milestones.h"

/* The JSON fields of a milestone; due_on: a date string or null. */
static int fields(struct req *r, bool title_required, struct milestone_fields *out)
{
	json_t *due = json_object_get(r->json, "due_on");
	int rc;
	*out = (struct milestone_fields){ 0 };
	if ((rc = collab_title_field(r, "title", title_required, &out->title)) ||
	    (rc = json_str_field(r, "description", false, MILESTONE_DESC_MAX, &out->description)))
		return rc;
	out->due_set = due != NULL;
	if (due && !json_is_null(due)) {
		const char *s = json_string_value(due);
		if ((rc = milestone_due_check(&out->due, FORGE(r), s ? s : "")))
			return rc;
	}
	if ((rc = json_str_field(r, "state", false, 20, &out->state)) ||
	    (out->state && (rc = forge_state_check(FORGE(r), out->state))))
		return rc;
	return 0;
}

int h_milestones_list(struct req *r, struct resp *w)
{
	json_t *arr;
	int rc = milestones_list(&arr, FORGE(r), r->repo, req_query(r, "state"));
	if (rc)
		return rc;
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_milestone_get(struct req *r, struct resp *w)
{
	json_t *j;
	int rc = milestone_read(&j, FORGE(r), r->repo, req_param(r, "number"));
	if (rc)
		return rc;
	resp_json(w, 200, j);
	resp_no_cache(r, w);
	return 0;
}

int h_milestone_create(struct req *r, struct resp *w)
{
	struct milestone_fields in;
	json_t *j;
	int rc;
	if ((rc = fields(r, true, &in)) || (rc = milestone_create(&j, FORGE(r), r->repo, &in)))
		return rc;
	resp_header(w, "Location", json_string_value(json_object_get(j, "url")));
	resp_json(w, 201, j);
	return 0;
}

int h_milestone_update(struct req *r, struct resp *w)
{
	struct milestone_fields in;
	json_t *j;
	int rc;
	if ((rc = fields(r, false, &in)) ||
	    (rc = milestone_update(&j, FORGE(r), r->repo, req_param(r, "number"), &in)))
		return rc;
	resp_json(w, 200, j);
	return 0;
}

int h_milestone_delete(struct req *r, struct resp *w)
{
	int rc = milestone_delete(FORGE(r), r->repo, req_param(r, "number"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}
