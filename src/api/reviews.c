/* reviews.c — the review routes: read the review and its inline comments
 * from the body, call the domain (forge/reviews.h), write JSON. */
#include "api/api.h"
#include "api/collab.h"
#include "forge/reviews.h"

#include <string.h>

/* comments[] of the body into *out (arena): the JSON shapes are read
 * here, every rule is the domain's. */
static int comments_read(struct req *r, struct review_comment_input **out, size_t *n)
{
	json_t *arr = json_object_get(r->json, "comments");
	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'comments' must be an array");
	if (json_array_size(arr) > REVIEW_COMMENTS_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "a review has at most %d inline comments", REVIEW_COMMENTS_MAX);
	struct review_comment_input *v = arena_alloc(r->arena,
						     (json_array_size(arr) + 1) * sizeof(*v));
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		if (!json_is_object(c))
			return err_set(&r->err, ERR_INVALID, "invalid_comment",
				       "comments[%zu] must be an object", i);
		json_t *jp = json_object_get(c, "path"), *jl = json_object_get(c, "line"),
		       *js = json_object_get(c, "side"), *jb = json_object_get(c, "body");
		const char *path = json_string_value(jp);
		if (path && strlen(path) == json_string_length(jp))
			v[i].path = path_normalise(r->arena, path);
		v[i].line = json_is_integer(jl) ? json_integer_value(jl) : 0;
		v[i].side = js && !json_is_null(js) ? json_string_value(js) : "RIGHT";
		const char *body = json_string_value(jb);
		if (body && strlen(body) == json_string_length(jb)) {
			v[i].body = body;
			v[i].body_len = json_string_length(jb);
		}
	}
	*out = v;
	*n = json_array_size(arr);
	return 0;
}

int h_review_create(struct req *r, struct resp *w)
{
	struct review_input in = { .event = "COMMENT", .body = "" };
	struct review_comment_input *cs = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = json_str_field(r, "event", false, 20, &in.event)) ||
	    (rc = collab_body_field(r, "body", false, &in.body)) ||
	    (rc = json_str_field(r, "commit_id", false, 40, &in.commit)) ||
	    (rc = comments_read(r, &cs, &in.ncomments)))
		return rc;
	in.comments = cs;
	if ((rc = review_create(&o, FORGE(r), r->repo, req_param(r, "number"), &in)))
		return rc;
	resp_json(w, 201, o);
	return 0;
}

int h_review_list(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	int rc;
	if ((rc = review_list(&o, FORGE(r), r->repo, req_param(r, "number"))))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}

int h_review_comments(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	int rc;
	if ((rc = review_comments_list(&o, FORGE(r), r->repo, req_param(r, "number"))))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}
