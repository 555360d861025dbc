/* comments.c — comments on issues (and pull requests): list, post, read,
 * edit (marked edited) and delete. The rules, mentions, references and
 * outbox events are forge/comments.h's. */
#include "api/api.h"
#include "api/collab.h"
#include "forge/comments.h"

/* The comment's id in its API JSON, for the Location header. */
static long long comment_id(json_t *j)
{
	return (long long)json_integer_value(json_object_get(j, "id"));
}

int h_comments_list(struct req *r, struct resp *w)
{
	struct issue is;
	struct cursor cur;
	struct page pg;
	int limit, rc;
	if ((rc = issue_get(&is, FORGE(r), r->repo, req_param(r, "number"), false)) ||
	    (rc = collab_page(r, "comments", COLLAB_PAGE_MAX, &limit, &cur)) ||
	    (rc = comments_list(&pg, FORGE(r), r->repo, &is, limit, &cur)))
		return rc;
	collab_page_respond(r, w, "comments", &pg);
	return 0;
}

int h_comment_create(struct req *r, struct resp *w)
{
	const char *body = NULL;
	json_t *j;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) ||
	    (rc = collab_body_field(r, "body", true, &body)) ||
	    (rc = comment_create(&j, FORGE(r), r->repo, req_param(r, "number"), body)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/%s/%s/issues/comments/%lld", r->repo->owner,
				 r->repo->name, comment_id(j)));
	resp_json(w, 201, j);
	resp_no_cache(r, w);
	return 0;
}

int h_comment_get(struct req *r, struct resp *w)
{
	json_t *j;
	int rc = comment_read(&j, FORGE(r), r->repo, req_param(r, "id"));
	if (rc)
		return rc;
	resp_json(w, 200, j);
	resp_no_cache(r, w);
	return 0;
}

int h_comment_update(struct req *r, struct resp *w)
{
	const char *body = NULL;
	json_t *j;
	int rc;
	if ((rc = collab_body_field(r, "body", true, &body)) ||
	    (rc = comment_update(&j, FORGE(r), r->repo, req_param(r, "id"), body)))
		return rc;
	resp_json(w, 200, j);
	resp_no_cache(r, w);
	return 0;
}

int h_comment_delete(struct req *r, struct resp *w)
{
	int rc = comment_delete(FORGE(r), r->repo, req_param(r, "id"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}
