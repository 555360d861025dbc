/* maintenance.c — GET /api/repos/:owner/:repo/maintenance: a repository's
 * housekeeping state for site administrators (forge/maintenance.h,
 * git/maintain.h): pushes not yet served, the last run (trigger, steps,
 * result, counters before and after) and the counters now. Others who can
 * read the repository get 403; those who cannot, 404 (the dispatcher's
 * rule). */
#include "api/api.h"
#include "forge/maintenance.h"

int h_repo_maintenance(struct req *r, struct resp *w)
{
	json_t *o = NULL;
	int rc;
	if ((rc = repo_maintenance_get(&o, FORGE(r), r->repo)))
		return rc;
	resp_json(w, 200, o);
	return 0;
}
