/* reactions.c — emoji reactions (+1 -1 laugh hooray confused heart rocket
 * eyes) on issues and comments: list, add (once per user and content),
 * remove one's own. The rules are forge/reactions.h's. */
#include "api/api.h"
#include "api/collab.h"
#include "forge/reactions.h"

/* The target named by the path: /issues/:number/... or
 * /issues/comments/:id/... */
#define TARGET(r) req_param(r, "number"), req_param(r, "id")

int h_reactions_list(struct req *r, struct resp *w)
{
	json_t *arr;
	int rc = reactions_list(&arr, FORGE(r), r->repo, TARGET(r), req_query(r, "content"));
	if (rc)
		return rc;
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_reaction_create(struct req *r, struct resp *w)
{
	const char *content = NULL;
	json_t *j;
	bool created;
	int rc;
	if ((rc = forge_can_participate(FORGE(r), r->repo)) ||
	    (rc = json_str_field(r, "content", true, 20, &content)) ||
	    (rc = reaction_add(&j, &created, FORGE(r), r->repo, TARGET(r), content)))
		return rc;
	resp_json(w, created ? 201 : 200, j);
	return 0;
}

int h_reaction_delete(struct req *r, struct resp *w)
{
	int rc = reaction_remove(FORGE(r), r->repo, TARGET(r), req_param(r, "content"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}
