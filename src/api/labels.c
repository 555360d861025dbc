/* labels.c — a repository's labels: list, create, read, edit, delete.
 * The rules (names unique ignoring case, colours, who may) and the
 * events are forge/labels.h's. */
#include "api/api.h"
#include "api/collab.h"
#include "forge/labels.h"

/* name: a string field checked by label_name_check. */
static int name_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *v = NULL;
	int rc = json_str_field(r, field, required, 1000, &v);
	if (rc || !v)
		return rc;
	return label_name_check(out, FORGE(r), v);
}

/* color: a string field checked by label_color_check. */
static int color_field(struct req *r, const char **out)
{
	const char *v = NULL;
	int rc = json_str_field(r, "color", false, 100, &v);
	if (rc || !v)
		return rc;
	return label_color_check(out, FORGE(r), v);
}

int h_labels_list(struct req *r, struct resp *w)
{
	json_t *arr;
	int rc = labels_list(&arr, FORGE(r), r->repo);
	if (rc)
		return rc;
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_label_get(struct req *r, struct resp *w)
{
	json_t *j;
	int rc = label_read(&j, FORGE(r), r->repo, req_param(r, "name"));
	if (rc)
		return rc;
	resp_json(w, 200, j);
	resp_no_cache(r, w);
	return 0;
}

int h_label_create(struct req *r, struct resp *w)
{
	struct label_fields in = { 0 };
	json_t *j;
	int rc;
	if ((rc = name_field(r, "name", true, &in.name)) || (rc = color_field(r, &in.color)) ||
	    (rc = json_str_field(r, "description", false, LABEL_DESC_MAX, &in.description)) ||
	    (rc = label_create(&j, FORGE(r), r->repo, &in)))
		return rc;
	resp_header(w, "Location", json_string_value(json_object_get(j, "url")));
	resp_json(w, 201, j);
	return 0;
}

int h_label_update(struct req *r, struct resp *w)
{
	struct label_fields in = { 0 };
	json_t *j;
	int rc;
	if ((rc = name_field(r, "new_name", false, &in.name)) ||
	    (!in.name && (rc = name_field(r, "name", false, &in.name))) ||
	    (rc = color_field(r, &in.color)) ||
	    (rc = json_str_field(r, "description", false, LABEL_DESC_MAX, &in.description)) ||
	    (rc = label_update(&j, FORGE(r), r->repo, req_param(r, "name"), &in)))
		return rc;
	resp_json(w, 200, j);
	return 0;
}

int h_label_delete(struct req *r, struct resp *w)
{
	int rc = label_delete(FORGE(r), r->repo, req_param(r, "name"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}
