/* secrets.h — repository secrets as the forge manages them: the names a
 * repository's administrators see, setting and deleting values. A value
 * goes in and is never shown again: it is sealed at rest and opened only
 * for the workflow steps that refer to it (queue/secrets.h, the execution
 * system's side: sealing, opening, masking). Every function needs f->who
 * to administer the repository (authz_repo ACT_ADMIN). */
#ifndef PLUE_FORGE_SECRETS_H
#define PLUE_FORGE_SECRETS_H

#include "forge/forge.h"

/* The secrets of repo as a JSON array of {name, created_at, updated_at},
 * by name. 0 or ERR_*. */
int secret_list(json_t **out, struct forge *f, const struct repo *repo);

/* Sets secret `name` of repo to value (created or replaced); *out: true
 * when it was created. ERR_INVALID "invalid_name" (1 to 100 of letters,
 * digits and '_', not starting with a digit or PLUE_), "invalid_field"
 * for an empty value (the caller caps its length: SECRET_MAX_VALUE). */
int secret_put(bool *out, struct forge *f, const struct repo *repo, const char *name,
	       const char *value);

/* Deletes secret `name` of repo. ERR_INVALID as secret_put for a bad
 * name; ERR_NOTFOUND "secret 'NAME' not found". */
int secret_delete(struct forge *f, const struct repo *repo, const char *name);

/* Checks a secret name by the rules of secret_put: 0 or ERR_INVALID
 * "invalid_name". */
int secret_name_check(struct forge *f, const char *name);

#endif
