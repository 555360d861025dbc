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
#define SIGNIN (ROUTE_JSON | ROUTE_CSRF_EXEMPT)

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

	/* accounts: the sign-in routes have no session yet, so no CSRF token */
	{ POST, "/api/auth/siwe/nonce", h_siwe_nonce, ROUTE_CSRF_EXEMPT },
	{ POST, "/api/auth/siwe/verify", h_siwe_verify, SIGNIN },
	{ POST, "/api/auth/register", h_register, SIGNIN },
	{ POST, "/api/auth/login", h_login, SIGNIN },
	{ POST, "/api/auth/logout", h_logout, ROUTE_AUTH },
	{ POST, "/api/auth/logout-all", h_logout_all, ROUTE_AUTH, SCOPE_USER },
	{ GET, "/api/auth/me", h_auth_me, ROUTE_AUTH },
	{ PATCH, "/api/user", h_user_update, ROUTE_AUTH | ROUTE_JSON, SCOPE_USER },
	{ GET, "/api/user/tokens", h_token_list, ROUTE_AUTH, SCOPE_USER },
	{ POST, "/api/user/tokens", h_token_create, ROUTE_AUTH | ROUTE_JSON, SCOPE_USER },
	{ DELETE, "/api/user/tokens/:id", h_token_delete, ROUTE_AUTH, SCOPE_USER },
	{ GET, "/api/user/keys", h_key_list, ROUTE_AUTH, SCOPE_USER },
	{ POST, "/api/user/keys", h_key_create, ROUTE_AUTH | ROUTE_JSON, SCOPE_USER },
	{ DELETE, "/api/user/keys/:id", h_key_delete, ROUTE_AUTH, SCOPE_USER },

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
