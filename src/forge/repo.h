/* repo.h — the repository as the forge knows it: its row and the caller's
 * role on it. A type only, so that the authorization function (auth/) and
 * every layer above it share it; the functions that load and change
 * repositories are in forge/forge.h. */
#ifndef PLUE_FORGE_REPO_H
#define PLUE_FORGE_REPO_H

#include <stdbool.h>
#include <stdint.h>

/* A collaborator role (the owner has none: authz_repo treats the owner as
 * an administrator). */
enum repo_role { ROLE_NONE = 0, ROLE_READ = 1, ROLE_WRITE = 2, ROLE_ADMIN = 3 };

/* A repository row plus the caller's role on it (strings arena-owned). */
struct repo {
	int64_t id;
	int64_t owner_id;
	const char *owner;
	const char *name;
	const char *description;
	const char *default_branch;
	bool is_private;
	bool issues_open;      /* readers may open issues and comment */
	const char *created_at;
	const char *disk_path; /* absolute path of the bare repository */
	enum repo_role role;   /* the caller's collaborator role (ROLE_NONE for the
	                             owner, whom authz_repo treats as admin) */
};

#endif
