/* pulls.c — the pull request routes: read the request, call the domain
 * (forge/pulls.h: opening, listing, editing, diffs, merging), write JSON
 * with its Location and Link headers. */
#include "api/api.h"
#include "api/collab.h"
#include "forge/pulls.h"
#include "git/objects.h"

#include <string.h>

/* A branch name from the body: "refs/heads/" is optional; git's ref rules. */
static int branch_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *b = NULL;
	int rc = json_str_field(r, field, required, PULL_BRANCH_MAX + 11, &b);
	if (rc || !b)
		return rc;
	if (!strncmp(b, "refs/heads/", 11))
		b += 11;
	if (!*b || strlen(b) > PULL_BRANCH_MAX ||
	    !refname_valid(arena_printf(r->arena, "refs/heads/%s", b)))
		return err_set(&r->err, ERR_INVALID, "invalid_branch",
			       "%s '%.100s' is not a valid branch name", field, b);
	*out = b;
	return 0;
}

int h_pull_create(struct req *r, struct resp *w)
{
	struct pull_new in = { .body = "" };
	json_t *o = NULL;
	int rc;
	/* who may take part is answered before the body is read */
	if ((rc = forge_can_participate(FORGE(r), r->repo)) ||
	    (rc = collab_title_field(r, "title", true, &in.title)) ||
	    (rc = collab_body_field(r, "body", false, &in.body)) ||
	    (rc = branch_field(r, "head", true, &in.head)) ||
	    (rc = branch_field(r, "base", false, &in.base)) ||
	    (rc = pull_create(&o, FORGE(r), r->repo, &in)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/%s/%s/pulls/%lld", r->repo->owner, r->repo->name,
				 (long long)json_integer_value(json_object_get(o, "number"))));
	resp_json(w, 201, o);
	return 0;
}

int h_pull_list(struct req *r, struct resp *w)
{
	struct pull_query q = { .state = req_query(r, "state"),
				.head = req_query(r, "head"),
				.base = req_query(r, "base") };
	struct pull_page page;
	struct cursor cur;
	int rc;
	if ((rc = collab_page(r, "pulls:created:desc", PULL_PAGE_MAX, &q.limit, &cur)))
		return rc;
	q.after_set = cur.set;
	q.after_key = cur.key;
	q.after_id = cur.id;
	if ((rc = pull_list(&page, FORGE(r), r->repo, &q)))
		return rc;
	if (page.more)
		collab_next_page(r, w, "pulls:created:desc", page.next_key, page.next_id);
	resp_json(w, 200, page.items);
	return 0;
}

int h_pull_get(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	int rc;
	if ((rc = pull_json_get(&o, FORGE(r), r->repo, req_param(r, "number"))))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}

int h_pull_files(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	int rc;
	if ((rc = pull_files(&o, FORGE(r), r->repo, req_param(r, "number"))))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}

int h_pull_commits(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	size_t total = 0;
	int rc;
	if ((rc = pull_commits(&o, &total, FORGE(r), r->repo, req_param(r, "number"))))
		return rc;
	resp_header(w, "X-Total-Count", arena_int(r->arena, (long long)total));
	resp_no_cache(r, w);
	resp_json(w, 200, o);
	return 0;
}

int h_pull_update(struct req *r, struct resp *w)
{
	struct pull_update in = { 0 };
	json_t *o = NULL;
	int rc;
	if ((rc = collab_title_field(r, "title", false, &in.title)) ||
	    (rc = collab_body_field(r, "body", false, &in.body)) ||
	    (rc = json_str_field(r, "state", false, 10, &in.state)) ||
	    (rc = pull_update(&o, FORGE(r), r->repo, req_param(r, "number"), &in)))
		return rc;
	resp_json(w, 200, o);
	return 0;
}

/* A merge refused for conflicts: 409 with the paths beside the message. */
static void conflict_response(struct req *r, struct resp *w, const char **paths, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, objects_json_str(paths[i], strlen(paths[i])));
	resp_json(w, 409,
		  json_pack("{s:{s:s,s:s,s:o}}", "error", "code", r->err.slug, "message",
			    r->err.msg, "conflicts", arr));
}

int h_pull_merge(struct req *r, struct resp *w)
{
	struct pull_merge_opts opts = { .method = "merge" };
	struct pull_merge_result res;
	int rc;
	if ((rc = json_str_field(r, "method", false, 20, &opts.method)) ||
	    (rc = json_str_field(r, "commit_title", false, COLLAB_TITLE_MAX, &opts.title)) ||
	    (rc = json_str_field(r, "commit_message", false, COLLAB_BODY_MAX, &opts.message)) ||
	    (rc = json_str_field(r, "sha", false, 40, &opts.sha)))
		return rc;
	rc = pull_merge(&res, FORGE(r), r->repo, req_param(r, "number"), &opts);
	if (rc == ERR_CONFLICT && !strcmp(r->err.slug, "merge_conflict")) {
		conflict_response(r, w, res.conflicts, res.nconflicts);
		return 0;
	}
	if (rc)
		return rc;
	resp_json(w, 200,
		  json_pack("{s:b,s:s,s:s,s:s}", "merged", 1, "sha", res.sha, "method", res.method,
			    "message",
			    arena_printf(r->arena, "pull request #%lld merged",
					 (long long)res.number)));
	return 0;
}
