/* maintenance.c — who may see a repository's housekeeping, and what (see
 * maintenance.h). */
#include "forge/maintenance.h"
#include "auth/auth.h"
#include "git/maintain.h"

int repo_maintenance_get(json_t **out, struct forge *f, const struct repo *repo)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	if (!f->who->is_admin)
		return err_set(f->err, ERR_PERM, "admin_required",
			       "the maintenance of '%s/%s' is shown to site administrators only",
			       repo->owner, repo->name);
	json_t *o = maintain_status_json(f->db, f->arena, f->err, repo->id, repo->disk_path);
	if (!o)
		return f->err->code;
	json_object_set_new(o, "repository",
			    json_string(arena_printf(f->arena, "%s/%s", repo->owner, repo->name)));
	*out = o;
	return 0;
}
