/* hooks.c — repository webhooks in the API (administrators of the
 * repository only): create, list, show, change and delete hooks, ping
 * them, read their delivery log and redeliver. The body is read here; the
 * rules and the rows are the domain's (forge/hooks.h), sending is
 * queue/webhooks.c's. */
#include "api/api.h"
#include "forge/hooks.h"
#include "queue/webhooks.h"

#include <string.h>

/* :name as a hook or delivery id. */
static int id_param(struct req *r, const char *name, int64_t *out)
{
	if (req_param_int(out, r, name))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "%s '%.40s' not found in '%s/%s'",
			       !strcmp(name, "id") ? "hook" : "delivery", req_param(r, name),
			       r->repo->owner, r->repo->name);
	return 0;
}

/* rc, the error of reading what follows :id in the request — unless hook
 * id does not exist, which is reported first (the hook was always loaded
 * before the rest was read). */
static int hook_first(struct req *r, int64_t id, int rc)
{
	struct err saved = r->err;
	err_clear(&r->err);
	int hrc = hook_find(FORGE(r), r->repo, id);
	if (hrc)
		return hrc;
	r->err = saved;
	return rc;
}

/* :id, and :delivery of that hook. */
static int delivery_params(struct req *r, int64_t *hook_id, int64_t *delivery_id)
{
	int rc;
	if ((rc = id_param(r, "id", hook_id)))
		return rc;
	if ((rc = id_param(r, "delivery", delivery_id)))
		return hook_first(r, *hook_id, rc);
	return 0;
}

/* A string field of the body, at the top level or in GitHub's "config"
 * object (url, content_type, secret). Absent or null leaves *out. */
static int str_in(struct req *r, json_t *cfg_obj, const char *field, size_t max, const char **out)
{
	json_t *v = json_object_get(r->json, field);
	bool top = (v && !json_is_null(v)) || !cfg_obj;
	return json_str_member(r, top ? r->json : cfg_obj, field, false, max, out);
}

/* The hook's settings from the body (forge/hooks.h says what absent
 * means); their rules are checked by the domain. */
static int hook_input_read(struct req *r, struct hook_input *in)
{
	int rc;
	memset(in, 0, sizeof(*in));
	in->active = -1;
	json_t *c = json_object_get(r->json, "config");
	if (c && !json_is_object(c))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'config' must be an object");
	if ((rc = str_in(r, c, "url", WEBHOOK_URL_MAX + 1, &in->url)) ||
	    (rc = str_in(r, c, "content_type", 40, &in->content_type)) ||
	    (rc = str_in(r, c, "secret", HOOK_SECRET_MAX, &in->secret)))
		return rc;
	json_t *ev = json_object_get(r->json, "events");
	if (ev && !json_is_null(ev)) {
		if (!json_is_array(ev) || !json_array_size(ev))
			return err_set(&r->err, ERR_INVALID, "invalid_events",
				       "field 'events' must be a non-empty array of event names");
		const char **names = arena_alloc(r->arena, json_array_size(ev) * sizeof(*names));
		size_t i;
		json_t *v;
		json_array_foreach(ev, i, v)
		{
			if (!json_is_string(v))
				return err_set(&r->err, ERR_INVALID, "invalid_events",
					       "unknown event '(not a string)': one of push, "
					       "pull_request, pull_request_review, issues, "
					       "issue_comment, workflow_run or '*'");
			names[i] = json_string_value(v);
		}
		in->events = names;
		in->nevents = json_array_size(ev);
	}
	json_t *a = json_object_get(r->json, "active");
	if (a && !json_is_null(a)) {
		bool active;
		if ((rc = json_bool_field(r, "active", &active)))
			return rc;
		in->active = active;
	}
	return 0;
}

int h_hooks_list(struct req *r, struct resp *w)
{
	json_t *arr = NULL;
	int rc;
	if ((rc = hook_list(&arr, FORGE(r), r->repo)))
		return rc;
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_create(struct req *r, struct resp *w)
{
	struct hook_input in;
	json_t *hook = NULL;
	int rc;
	if ((rc = hook_input_read(r, &in)) || (rc = hook_create(&hook, FORGE(r), r->repo, &in)))
		return rc;
	resp_json(w, 201, hook);
	return 0;
}

int h_hook_get(struct req *r, struct resp *w)
{
	int64_t id;
	json_t *hook = NULL;
	int rc;
	if ((rc = id_param(r, "id", &id)) || (rc = hook_get(&hook, FORGE(r), r->repo, id)))
		return rc;
	resp_json(w, 200, hook);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_update(struct req *r, struct resp *w)
{
	int64_t id;
	struct hook_input in;
	json_t *hook = NULL;
	int rc;
	if ((rc = id_param(r, "id", &id)))
		return rc;
	if ((rc = hook_input_read(r, &in)))
		return hook_first(r, id, rc);
	if ((rc = hook_update(&hook, FORGE(r), r->repo, id, &in)))
		return rc;
	resp_json(w, 200, hook);
	return 0;
}

int h_hook_delete(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = id_param(r, "id", &id)) || (rc = hook_delete(FORGE(r), r->repo, id)))
		return rc;
	w->status = 204;
	return 0;
}

int h_hook_ping(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = id_param(r, "id", &id)) || (rc = hook_ping(FORGE(r), r->repo, id)))
		return rc;
	w->status = 204;
	return 0;
}

int h_hook_deliveries(struct req *r, struct resp *w)
{
	int64_t id, before = INT64_MAX;
	json_t *arr = NULL;
	int rc;
	if ((rc = id_param(r, "id", &id)))
		return rc;
	/* newest first; ?before=ID pages back */
	if (req_query_int(&before, r, "before", 1, INT64_MAX) < 0)
		return hook_first(r, id,
				  err_set(&r->err, ERR_INVALID, "invalid_query",
					  "'before' must be a delivery id, not '%.40s'",
					  req_query(r, "before")));
	if ((rc = hook_deliveries(&arr, FORGE(r), r->repo, id, before)))
		return rc;
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_delivery_get(struct req *r, struct resp *w)
{
	int64_t id, did;
	json_t *o = NULL;
	int rc;
	if ((rc = delivery_params(r, &id, &did)) ||
	    (rc = hook_delivery_get(&o, FORGE(r), r->repo, id, did)))
		return rc;
	resp_json(w, 200, o);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_redeliver(struct req *r, struct resp *w)
{
	int64_t id, did, nid;
	int rc;
	if ((rc = delivery_params(r, &id, &did)) ||
	    (rc = hook_redeliver(&nid, FORGE(r), r->repo, id, did)))
		return rc;
	resp_json(w, 202,
		  json_pack("{s:I,s:I}", "id", (json_int_t)nid, "redelivery_of", (json_int_t)did));
	return 0;
}
