/* repos.c — repositories and their collaborators: create, read, update,
 * delete, list by owner. Creation writes the row and the bare repository
 * together: a failure leaves neither. */
#include "api/api.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "git/store.h"

#include <string.h>

int h_repo_create(struct req *r, struct resp *w)
{
	const char *name = NULL, *desc = "", *branch = "main";
	bool priv = false;
	int rc;
	if ((rc = json_str_field(r, "name", true, 100, &name)) ||
	    (rc = json_str_field(r, "description", false, 1000, &desc)) ||
	    (rc = json_str_field(r, "default_branch", false, 200, &branch)) ||
	    (rc = json_bool_field(r, "private", &priv)))
		return rc;
	if ((rc = validate_repo_name(&r->err, name)))
		return rc;
	if (!refname_valid(arena_printf(r->arena, "refs/heads/%s", branch)))
		return err_set(&r->err, ERR_INVALID, "invalid_branch",
			       "default_branch '%.100s' is not a valid branch name", branch);
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "INSERT INTO repositories (owner_id, name, description, is_private, "
			      "default_branch) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			      i64s(r->arena, (long long)r->auth.user_id), name, desc,
			      priv ? "true" : "false", branch);
	if (!res) {
		db_rollback(r->db);
		if (r->err.code == ERR_EXISTS) {
			err_clear(&r->err);
			return err_set(&r->err, ERR_EXISTS, NULL, "repository '%s/%s' already exists",
				       r->auth.username, name);
		}
		return r->err.code;
	}
	int64_t id = db_int(res, 0, 0);
	if ((rc = repo_store_create(id, branch, &r->err))) {
		db_rollback(r->db);
		return rc;
	}
	if ((rc = db_commit(r->db, &r->err))) {
		repo_store_delete(id, NULL);
		return rc;
	}
	struct repo *p;
	if ((rc = repo_load(&p, FORGE(r), r->auth.username, name)))
		return rc;
	log_info("repository %s/%s created (id %lld)", p->owner, p->name, (long long)id);
	resp_header(w, "Location", arena_printf(r->arena, "/api/repos/%s/%s", p->owner, p->name));
	resp_json(w, 201, repo_json(r, p));
	return 0;
}

int h_repo_get(struct req *r, struct resp *w)
{
	resp_json(w, 200, repo_json(r, r->repo));
	resp_no_cache(r, w);
	return 0;
}

int h_repo_update(struct req *r, struct resp *w)
{
	const char *desc = r->repo->description, *branch = r->repo->default_branch;
	bool priv = r->repo->is_private, issues_open = r->repo->issues_open;
	int rc;
	if ((rc = json_str_field(r, "description", false, 1000, &desc)) ||
	    (rc = json_str_field(r, "default_branch", false, 200, &branch)) ||
	    (rc = json_bool_field(r, "private", &priv)) ||
	    (rc = json_bool_field(r, "issues_open_to_readers", &issues_open)))
		return rc;
	if (!refname_valid(arena_printf(r->arena, "refs/heads/%s", branch)))
		return err_set(&r->err, ERR_INVALID, "invalid_branch",
			       "default_branch '%.100s' is not a valid branch name", branch);
	if (!db_qv(r->db, r->arena, &r->err,
		   "UPDATE repositories SET description = $2, default_branch = $3, is_private = $4, "
		   "issues_open_to_readers = $5, updated_at = now() WHERE id = $1",
		   i64s(r->arena, (long long)r->repo->id), desc, branch, priv ? "true" : "false",
		   issues_open ? "true" : "false"))
		return r->err.code;
	repo_hint_forget(r->repo->owner, r->repo->name);
	r->repo->description = desc;
	r->repo->default_branch = branch;
	r->repo->is_private = priv;
	r->repo->issues_open = issues_open;
	resp_json(w, 200, repo_json(r, r->repo));
	return 0;
}

int h_repo_delete(struct req *r, struct resp *w)
{
	int rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if (!db_qv(r->db, r->arena, &r->err, "DELETE FROM repositories WHERE id = $1",
		   i64s(r->arena, (long long)r->repo->id))) {
		db_rollback(r->db);
		return r->err.code;
	}
	/* the directory goes first: if it cannot, the row stays */
	if ((rc = repo_store_delete(r->repo->id, &r->err))) {
		db_rollback(r->db);
		return rc;
	}
	if ((rc = db_commit(r->db, &r->err)))
		return rc;
	repo_hint_forget(r->repo->owner, r->repo->name);
	log_info("repository %s/%s deleted", r->repo->owner, r->repo->name);
	w->status = 204;
	return 0;
}

int h_user_repos(struct req *r, struct resp *w)
{
	const char *owner = req_param(r, "owner");
	PGresult *u = db_qv(r->db, r->arena, &r->err,
			    "SELECT id FROM users WHERE lower(username) = lower($1)", owner);
	if (!u)
		return r->err.code;
	if (PQntuples(u) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "user '%.100s' not found", owner);
	/* private repositories are listed only to those who can read them */
	PGresult *res = db_qv(
		r->db, r->arena, &r->err,
		"SELECT r.name FROM repositories r "
		"LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $2 "
		"WHERE r.owner_id = $1 AND (NOT r.is_private OR r.owner_id = $2 OR c.role IS NOT NULL "
		"  OR $3) ORDER BY lower(r.name)",
		db_val(u, 0, 0), i64s(r->arena, (long long)r->auth.user_id),
		r->auth.is_admin ? "true" : "false");
	if (!res)
		return r->err.code;
	bool token_no_read = r->auth.via == AUTH_TOKEN && !(r->auth.scopes & SCOPE_REPO_READ);
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		struct repo *p;
		int rc = repo_load(&p, FORGE(r), owner, db_val(res, i, 0));
		if (rc) {
			json_decref(arr);
			return rc;
		}
		if (p->is_private && token_no_read)
			continue;
		json_array_append_new(arr, repo_json(r, p));
	}
	resp_json(w, 200, arr);
	return 0;
}

int h_collab_list(struct req *r, struct resp *w)
{
	/* who may do what is for those who can push, as on GitHub: readers
	 * of a public repository do not learn its writers and admins. Listing
	 * is a read: a writer's repo:read token may list. */
	struct auth au = r->auth;
	if (au.via == AUTH_TOKEN)
		au.scopes |= SCOPE_REPO_WRITE;
	struct err scratch = { 0 };
	int rc = authz_repo(&au, r->repo, ACT_WRITE, &scratch);
	if (rc == ERR_AUTH)
		return err_set(&r->err, ERR_AUTH, NULL,
			       "sign in to list the collaborators of repository '%s/%s'",
			       r->repo->owner, r->repo->name);
	if (rc == ERR_PERM && r->auth.via != AUTH_TASK && !strcmp(scratch.slug, "forbidden"))
		return err_set(&r->err, ERR_PERM, NULL,
			       "push access to repository '%s/%s' is required to list its "
			       "collaborators",
			       r->repo->owner, r->repo->name);
	if (rc) {
		r->err = scratch;
		return rc;
	}
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT u.username, c.role FROM collaborators c JOIN users u ON u.id = "
			      "c.user_id WHERE c.repo_id = $1 ORDER BY lower(u.username)",
			      i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "username", db_val(res, i, 0),
						     "role", db_val(res, i, 1)));
	resp_json(w, 200, arr);
	return 0;
}

int h_collab_put(struct req *r, struct resp *w)
{
	const char *user = req_param(r, "user"), *role = NULL;
	int rc;
	if ((rc = json_str_field(r, "role", true, 10, &role)))
		return rc;
	if (strcmp(role, "read") && strcmp(role, "write") && strcmp(role, "admin"))
		return err_set(&r->err, ERR_INVALID, "invalid_role",
			       "role '%s' is not one of read, write, admin", role);
	PGresult *u = db_qv(r->db, r->arena, &r->err,
			    "SELECT id, username FROM users WHERE lower(username) = lower($1)", user);
	if (!u)
		return r->err.code;
	if (PQntuples(u) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "user '%.100s' not found", user);
	if (db_int(u, 0, 0) == r->repo->owner_id)
		return err_set(&r->err, ERR_INVALID, "invalid_collaborator",
			       "'%s' owns the repository", db_val(u, 0, 1));
	if (!db_qv(r->db, r->arena, &r->err,
		   "INSERT INTO collaborators (repo_id, user_id, role) VALUES ($1, $2, $3) "
		   "ON CONFLICT (repo_id, user_id) DO UPDATE SET role = EXCLUDED.role",
		   i64s(r->arena, (long long)r->repo->id), db_val(u, 0, 0), role))
		return r->err.code;
	resp_json(w, 200, json_pack("{s:s,s:s}", "username", db_val(u, 0, 1), "role", role));
	return 0;
}

int h_collab_delete(struct req *r, struct resp *w)
{
	const char *user = req_param(r, "user");
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM collaborators c USING users u WHERE c.user_id = u.id AND "
			      "c.repo_id = $1 AND lower(u.username) = lower($2) RETURNING c.user_id",
			      i64s(r->arena, (long long)r->repo->id), user);
	if (!res)
		return r->err.code;
	if (PQntuples(res) == 0)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "'%.100s' is not a collaborator on '%s/%s'",
			       user, r->repo->owner, r->repo->name);
	w->status = 204;
	return 0;
}

int h_health(struct req *r, struct resp *w)
{
	PGresult *res = r->db ? db_query(r->db, r->arena, &r->err, "SELECT 1", 0, NULL) : NULL;
	bool ok = res != NULL;
	err_clear(&r->err);
	resp_json(w, ok ? 200 : 503,
		  json_pack("{s:s,s:{s:s}}", "status", ok ? "ok" : "degraded", "database", "status",
			    ok ? "ok" : "unavailable"));
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}
