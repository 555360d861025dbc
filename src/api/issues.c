/* issues.c — the issue routes: list with filters and cursor pagination,
 * open, read, edit (title, body, state, labels, assignees, milestone), the
 * timeline, and the caller's mentions. The rules, and the transaction each
 * change runs in, are forge/issues.h's. */
#include "api/api.h"
#include "api/collab.h"

#include <string.h>

/* A JSON array of strings from field, as a C array (arena); ERR_INVALID
 * otherwise. */
static int string_array(struct req *r, json_t *v, const char *field, const char *const **out,
			size_t *n)
{
	if (!json_is_array(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' must be an array of strings", field);
	const char **a = arena_alloc(r->arena, (json_array_size(v) + 1) * sizeof(*a));
	size_t i;
	json_t *s;
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field '%s' must be an array of strings", field);
		a[i] = json_string_value(s);
	}
	*out = a;
	*n = json_array_size(v);
	return 0;
}

/* The request's labels / assignees / milestone, when given. */
static int sets_field(struct req *r, struct issue_sets *out)
{
	json_t *l = json_object_get(r->json, "labels"), *a = json_object_get(r->json, "assignees");
	json_t *m = json_object_get(r->json, "milestone");
	int rc;
	memset(out, 0, sizeof(*out));
	if (l && !json_is_null(l)) {
		if ((rc = string_array(r, l, "labels", &out->labels, &out->nlabels)))
			return rc;
		out->has_labels = true;
	}
	if (a && !json_is_null(a)) {
		if ((rc = string_array(r, a, "assignees", &out->assignees, &out->nassignees)))
			return rc;
		out->has_assignees = true;
	}
	if (m) {
		if (!json_is_null(m) && !json_is_integer(m))
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field 'milestone' must be a milestone number or null");
		out->has_milestone = true;
		out->milestone_none = json_is_null(m);
		out->milestone = (int64_t)json_integer_value(m);
	}
	return 0;
}

static int respond_issue(struct req *r, struct resp *w, int status, int64_t id)
{
	json_t *j;
	int rc = issue_json_get(&j, FORGE(r), r->repo, id);
	if (rc)
		return rc;
	resp_json(w, status, j);
	resp_no_cache(r, w);
	return 0;
}

int h_issue_create(struct req *r, struct resp *w)
{
	const char *title = NULL, *body = "";
	struct issue_sets sets;
	struct issue is;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) ||
	    (rc = collab_title_field(r, "title", true, &title)) ||
	    (rc = collab_body_field(r, "body", false, &body)) || (rc = sets_field(r, &sets)) ||
	    (rc = issue_create(&is, FORGE(r), r->repo, title, body, &sets)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/%s/%s/issues/%lld", r->repo->owner, r->repo->name,
				 (long long)is.number));
	return respond_issue(r, w, 201, is.id);
}

int h_issue_get(struct req *r, struct resp *w)
{
	json_t *j;
	int rc = issue_read(&j, FORGE(r), r->repo, req_param(r, "number"));
	if (rc)
		return rc;
	resp_json(w, 200, j);
	resp_no_cache(r, w);
	return 0;
}

int h_issue_update(struct req *r, struct resp *w)
{
	struct issue_update in = { 0 };
	struct issue is;
	int rc;
	if ((rc = collab_title_field(r, "title", false, &in.title)) ||
	    (rc = collab_body_field(r, "body", false, &in.body)) ||
	    (rc = json_str_field(r, "state", false, 20, &in.state)) ||
	    (in.state && (rc = forge_state_check(FORGE(r), in.state))) ||
	    (rc = sets_field(r, &in.sets)) ||
	    (rc = issue_update(&is, FORGE(r), r->repo, req_param(r, "number"), &in)))
		return rc;
	return respond_issue(r, w, 200, is.id);
}

int h_issues_list(struct req *r, struct resp *w)
{
	struct issue_query q = {
		.state = req_query(r, "state"),
		.labels = req_query(r, "labels"),
		.assignee = req_query(r, "assignee"),
		.author = req_query(r, "creator") ? req_query(r, "creator") : req_query(r, "author"),
		.milestone = req_query(r, "milestone"),
		.q = req_query(r, "q"),
		.type = req_query(r, "type"),
		.sort = req_query(r, "sort"),
		.direction = req_query(r, "direction"),
	};
	struct issue_filter filter;
	struct cursor cur;
	struct page pg;
	int limit, rc;
	if ((rc = issue_filter_parse(&filter, FORGE(r), &q)))
		return rc;
	const char *tag = arena_printf(r->arena, "issues:%s:%s",
				       filter.sort == ISSUE_SORT_UPDATED ? "updated" : "created",
				       filter.asc ? "asc" : "desc");
	if ((rc = collab_page(r, tag, COLLAB_PAGE_MAX, &limit, &cur)) ||
	    (rc = issue_list(&pg, FORGE(r), r->repo, &filter, limit, &cur)))
		return rc;
	collab_page_respond(r, w, tag, &pg);
	return 0;
}

int h_issue_timeline(struct req *r, struct resp *w)
{
	struct issue is;
	struct cursor cur;
	struct page pg;
	int limit, rc;
	if ((rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), false)) ||
	    (rc = collab_page(r, "timeline", 250, &limit, &cur)) ||
	    (rc = issue_timeline(&pg, FORGE(r), r->repo, &is, limit, &cur)))
		return rc;
	collab_page_respond(r, w, "timeline", &pg);
	return 0;
}

int h_user_mentions(struct req *r, struct resp *w)
{
	struct cursor cur;
	struct page pg;
	int limit, rc;
	if ((rc = collab_page(r, "mentions", COLLAB_PAGE_MAX, &limit, &cur)) ||
	    (rc = mentions_list(&pg, FORGE(r), limit, &cur)))
		return rc;
	if (pg.next.set)
		collab_next_page(r, w, "mentions", pg.next.key, pg.next.id);
	resp_json(w, 200, pg.items);
	resp_header(w, "Cache-Control", "private, no-cache");
	return 0;
}
