/* maintenance.h — a repository's housekeeping as the forge shows it: who
 * may see it and what it says. The housekeeping itself (repacks, the
 * commit-graph, pruning, when they run) is git/maintain.h's. */
#ifndef PLUE_FORGE_MAINTENANCE_H
#define PLUE_FORGE_MAINTENANCE_H

#include "forge/forge.h"

/* repo's housekeeping state as JSON (maintain_status_json: pushes not yet
 * served, the last run — trigger, steps, result, counters before and
 * after — and the counters now) plus "repository": "owner/name". Site
 * administrators only: others who can read repo get ERR_PERM
 * "admin_required", those who cannot, authz_repo's ERR_NOTFOUND. */
int repo_maintenance_get(json_t **out, struct forge *f, const struct repo *repo);

#endif
