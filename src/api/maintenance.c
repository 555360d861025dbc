/* maintenance.c — GET /api/repos/:owner/:repo/maintenance: a repository's
 * housekeeping state for site administrators (git/maintain.h): pushes not
 * yet served, the last run (trigger, steps, result, counters before and
 * after) and the counters now. Others who can read the repository get
 * 403; those who cannot, 404 (the dispatcher's rule). */
#include "api/api.h"
#include "git/maintain.h"

int h_repo_maintenance(struct req *r, struct resp *w)
{
	if (!r->auth.is_admin)
		return err_set(&r->err, ERR_PERM, "admin_required",
			       "the maintenance of '%s/%s' is shown to site administrators only",
			       r->repo->owner, r->repo->name);
	json_t *o = maintain_status_json(r->db, r->arena, &r->err, r->repo->id,
					 r->repo->disk_path);
	if (!o)
		return r->err.code;
	json_object_set_new(o, "repository",
			    json_string(arena_printf(r->arena, "%s/%s", r->repo->owner,
						     r->repo->name)));
	resp_json(w, 200, o);
	return 0;
}
