/* repos.c — repositories and their collaborators: create, read, update,
 * delete, list by owner. The rules and the rows are the domain's
 * (forge/forge.h); this file reads the request and writes the JSON. */
#include "api/api.h"
#include "db/db.h"

int h_repo_create(struct req *r, struct resp *w)
{
	const char *name = NULL, *desc = NULL, *branch = NULL;
	bool priv = false;
	struct repo *p;
	int rc;
	if ((rc = json_str_field(r, "name", true, 100, &name)) ||
	    (rc = json_str_field(r, "description", false, 1000, &desc)) ||
	    (rc = json_str_field(r, "default_branch", false, 200, &branch)) ||
	    (rc = json_bool_field(r, "private", &priv)))
		return rc;
	struct forge *f = FORGE(r);
	if ((rc = repo_create(&p, f, name, desc, branch, priv)))
		return rc;
	resp_header(w, "Location", arena_printf(r->arena, "/api/repos/%s/%s", p->owner, p->name));
	resp_json(w, 201, repo_json(f, p));
	return 0;
}

int h_repo_get(struct req *r, struct resp *w)
{
	resp_json(w, 200, repo_json(FORGE(r), r->repo));
	resp_no_cache(r, w);
	return 0;
}

int h_repo_update(struct req *r, struct resp *w)
{
	struct repo_update in = { 0 };
	bool priv = r->repo->is_private, issues_open = r->repo->issues_open;
	int rc;
	if ((rc = json_str_field(r, "description", false, 1000, &in.description)) ||
	    (rc = json_str_field(r, "default_branch", false, 200, &in.default_branch)) ||
	    (rc = json_bool_field(r, "private", &priv)) ||
	    (rc = json_bool_field(r, "issues_open_to_readers", &issues_open)))
		return rc;
	in.is_private = &priv;
	in.issues_open = &issues_open;
	struct forge *f = FORGE(r);
	if ((rc = repo_update(f, r->repo, &in)))
		return rc;
	resp_json(w, 200, repo_json(f, r->repo));
	return 0;
}

int h_repo_delete(struct req *r, struct resp *w)
{
	int rc = repo_delete(FORGE(r), r->repo);
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}

int h_user_repos(struct req *r, struct resp *w)
{
	struct forge *f = FORGE(r);
	struct repo_list list;
	int rc = repo_list(&list, f, req_param(r, "owner"));
	if (rc)
		return rc;
	json_t *arr = json_array();
	for (size_t i = 0; i < list.n; i++)
		json_array_append_new(arr, repo_json(f, list.items[i]));
	resp_json(w, 200, arr);
	return 0;
}

int h_collab_list(struct req *r, struct resp *w)
{
	json_t *arr;
	int rc = repo_collab_list(&arr, FORGE(r), r->repo);
	if (rc)
		return rc;
	resp_json(w, 200, arr);
	return 0;
}

int h_collab_put(struct req *r, struct resp *w)
{
	const char *role = NULL, *username;
	int rc;
	if ((rc = json_str_field(r, "role", true, 10, &role)) ||
	    (rc = repo_collab_put(&username, FORGE(r), r->repo, req_param(r, "user"), role)))
		return rc;
	resp_json(w, 200, json_pack("{s:s,s:s}", "username", username, "role", role));
	return 0;
}

int h_collab_delete(struct req *r, struct resp *w)
{
	int rc = repo_collab_delete(FORGE(r), r->repo, req_param(r, "user"));
	if (rc)
		return rc;
	w->status = 204;
	return 0;
}

int h_health(struct req *r, struct resp *w)
{
	bool ok = r->db && db_ping(r->db);
	resp_json(w, ok ? 200 : 503,
		  json_pack("{s:s,s:{s:s}}", "status", ok ? "ok" : "degraded", "database", "status",
			    ok ? "ok" : "unavailable"));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}
