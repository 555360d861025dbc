/* secrets.c — repository secrets in the API: list names, set, delete
 * (administrators of the repository only). Values go in and are never
 * shown again: they are sealed at rest (queue/secrets.c) and reach only
 * the workflow steps that refer to them, masked in their logs. The rules
 * are the domain's (forge/secrets.h). */
#include "api/api.h"
#include "forge/secrets.h"
#include "queue/secrets.h"

int h_secrets_list(struct req *r, struct resp *w)
{
	json_t *arr = NULL;
	int rc;
	if ((rc = secret_list(&arr, FORGE(r), r->repo)))
		return rc;
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_secret_put(struct req *r, struct resp *w)
{
	const char *name = req_param(r, "name"), *value = NULL;
	bool created = false;
	int rc;
	/* the name is judged before the body, as it always was */
	if ((rc = secret_name_check(FORGE(r), name)) ||
	    (rc = json_str_field(r, "value", true, SECRET_MAX_VALUE, &value)) ||
	    (rc = secret_put(&created, FORGE(r), r->repo, name, value)))
		return rc;
	resp_json(w, created ? 201 : 200, json_pack("{s:s,s:b}", "name", name, "created", created));
	return 0;
}

int h_secret_delete(struct req *r, struct resp *w)
{
	int rc;
	if ((rc = secret_delete(FORGE(r), r->repo, req_param(r, "name"))))
		return rc;
	w->status = 204;
	return 0;
}
