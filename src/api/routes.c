/* routes.c — every route Plue serves, as data. The dispatcher enforces the
 * flags before a handler runs (see http/http.h). Order matters: the first
 * pattern that matches wins, so fixed prefixes come before ":owner". */
#include "api/api.h"

#define GET HTTP_GET
#define POST HTTP_POST
#define PUT HTTP_PUT
#define PATCH HTTP_PATCH
#define DELETE HTTP_DELETE

#define REPO ROUTE_REPO
#define GITR (ROUTE_REPO | ROUTE_GIT)

const struct route app_routes[] = {
	{ GET, "/api/health", h_health, ROUTE_NOAUTH },

	/* repositories */
	{ POST, "/api/repos", h_repo_create, ROUTE_AUTH | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ GET, "/api/repos/:owner/:repo", h_repo_get, REPO },
	{ PATCH, "/api/repos/:owner/:repo", h_repo_update, REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/repos/:owner/:repo", h_repo_delete, REPO | ROUTE_ADMIN },
	{ GET, "/api/repos/:owner/:repo/collaborators", h_collab_list, REPO },
	{ PUT, "/api/repos/:owner/:repo/collaborators/:user", h_collab_put,
	  REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/repos/:owner/:repo/collaborators/:user", h_collab_delete,
	  REPO | ROUTE_ADMIN },
	{ GET, "/api/users/:owner/repos", h_user_repos, 0 },

	/* browsing: SHA-addressed URLs are immutable and cached */
	{ GET, "/api/:owner/:repo/branches", h_branches_list, REPO },
	{ GET, "/api/:owner/:repo/refs/*ref", h_ref_get, REPO },
	{ GET, "/api/:owner/:repo/tree/:sha/*path", h_tree_get, REPO | ROUTE_CACHE },
	{ GET, "/api/:owner/:repo/blob/:sha/*path", h_blob_get, REPO | ROUTE_CACHE },
	{ GET, "/api/:owner/:repo/commits/:sha", h_commits_list, REPO | ROUTE_CACHE },
	{ GET, "/api/:owner/:repo/commit/:sha", h_commit_get, REPO | ROUTE_CACHE },

	/* git smart HTTP */
	{ GET, "/:owner/:repo.git/info/refs", h_git_info_refs, GITR },
	{ POST, "/:owner/:repo.git/git-upload-pack", h_git_upload_pack, GITR | ROUTE_STREAM },
	{ POST, "/:owner/:repo.git/git-receive-pack", h_git_receive_pack,
	  GITR | ROUTE_WRITE | ROUTE_STREAM },
	{ 0 },
};
