/* routes.c — every route Plue serves, as data. The dispatcher enforces the
 * flags before a handler runs (see http/http.h). Order matters: the first
 * pattern that matches wins, so fixed prefixes come before ":owner". */
#include "api/api.h"
#include "web/settings.h"
#include "web/browse.h"
#include "web/issues.h"
#include "web/runs.h"
#include "web/agents.h"
#include "web/web.h"
#include "web/pulls.h"

#define GET HTTP_GET
#define POST HTTP_POST
#define PUT HTTP_PUT
#define PATCH HTTP_PATCH
#define DELETE HTTP_DELETE

#define REPO ROUTE_REPO
#define GITR (ROUTE_REPO | ROUTE_GIT)
#define PAGE (ROUTE_HTML | ROUTE_FALLBACK)
#define SIGNIN (ROUTE_JSON | ROUTE_CSRF_EXEMPT)
#define REPO_ADMIN (ROUTE_REPO | ROUTE_ADMIN | ROUTE_AUTH)
#define COLLAB_W (ROUTE_REPO | ROUTE_AUTH) /* readers may take part: see api/collab.h */
/* writes of one area: what a workflow's task token may do when its job's
 * permissions grant it (http.h); other writes are never a task token's */
#define W_CONTENTS (ROUTE_WRITE | ROUTE_W_CONTENTS)
#define W_ISSUES (ROUTE_WRITE | ROUTE_W_ISSUES)
#define W_PULLS (ROUTE_WRITE | ROUTE_W_PULLS)
#define W_STATUSES (ROUTE_WRITE | ROUTE_W_STATUSES)

const struct route app_routes[] = {
	{ GET, "/api/health", h_health, ROUTE_NOAUTH },
	/* Prometheus scrapes: the handler checks PLUE_METRICS_TOKEN itself */
	{ GET, "/metrics", h_metrics, ROUTE_NOAUTH },

	/* repositories */
	{ POST, "/api/repos", h_repo_create, ROUTE_AUTH | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ GET, "/api/repos/:owner/:repo", h_repo_get, REPO },
	{ PATCH, "/api/repos/:owner/:repo", h_repo_update, REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/repos/:owner/:repo", h_repo_delete, REPO | ROUTE_ADMIN },
	{ GET, "/api/repos/:owner/:repo/maintenance", h_repo_maintenance, REPO }, /* site admins */
	{ GET, "/api/repos/:owner/:repo/collaborators", h_collab_list, REPO },
	{ PUT, "/api/repos/:owner/:repo/collaborators/:user", h_collab_put,
	  REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/repos/:owner/:repo/collaborators/:user", h_collab_delete, REPO | ROUTE_ADMIN },
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
	{ GET, "/api/user/mentions", h_user_mentions, ROUTE_AUTH },

	/* workflow runs, manual dispatch, repository secrets */
	{ GET, "/api/runs/:id", h_run_get, 0 },
	{ GET, "/api/runs/:id/logs", h_run_logs, 0 },
	{ GET, "/api/runs/:id/stream", h_run_stream, 0 },
	{ POST, "/api/runs/:id/cancel", h_run_cancel, ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/runs", h_runs_list, REPO },
	{ POST, "/api/:owner/:repo/runs/:id/approve", h_run_approve, REPO | ROUTE_WRITE },
	{ POST, "/api/:owner/:repo/workflows/:file/dispatch", h_workflow_dispatch,
	  REPO | ROUTE_WRITE | ROUTE_JSON },
	/* agent sessions (api/sessions.c): who sees and acts is forge/sessions.h's */
	{ POST, "/api/:owner/:repo/sessions", h_session_create, REPO | ROUTE_AUTH | ROUTE_JSON,
	  SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/sessions", h_sessions_list, REPO | ROUTE_AUTH },
	{ GET, "/api/sessions/:id", h_session_get, 0 },
	{ PATCH, "/api/sessions/:id", h_session_update, ROUTE_AUTH | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ DELETE, "/api/sessions/:id", h_session_delete, ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ GET, "/api/sessions/:id/messages", h_session_messages, 0 },
	{ POST, "/api/sessions/:id/messages", h_session_send, ROUTE_AUTH | ROUTE_JSON,
	  SCOPE_REPO_WRITE },
	{ POST, "/api/sessions/:id/abort", h_session_abort, ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ GET, "/api/sessions/:id/stream", h_session_stream, 0 },
	{ GET, "/api/:owner/:repo/secrets", h_secrets_list, REPO | ROUTE_ADMIN },
	{ PUT, "/api/:owner/:repo/secrets/:name", h_secret_put, REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/:owner/:repo/secrets/:name", h_secret_delete, REPO | ROUTE_ADMIN },

	/* outgoing webhooks (api/hooks.c): repository administrators only */
	{ GET, "/api/:owner/:repo/hooks", h_hooks_list, REPO | ROUTE_ADMIN },
	{ POST, "/api/:owner/:repo/hooks", h_hook_create, REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ GET, "/api/:owner/:repo/hooks/:id", h_hook_get, REPO | ROUTE_ADMIN },
	{ PATCH, "/api/:owner/:repo/hooks/:id", h_hook_update, REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/:owner/:repo/hooks/:id", h_hook_delete, REPO | ROUTE_ADMIN },
	{ POST, "/api/:owner/:repo/hooks/:id/pings", h_hook_ping, REPO | ROUTE_ADMIN },
	{ GET, "/api/:owner/:repo/hooks/:id/deliveries", h_hook_deliveries, REPO | ROUTE_ADMIN },
	{ GET, "/api/:owner/:repo/hooks/:id/deliveries/:delivery", h_hook_delivery_get,
	  REPO | ROUTE_ADMIN },
	{ POST, "/api/:owner/:repo/hooks/:id/deliveries/:delivery/attempts", h_hook_redeliver,
	  REPO | ROUTE_ADMIN },

	/* runner protocol: credentials are checked by the handlers */
	{ POST, "/internal/runners/register", h_runner_register, ROUTE_INTERNAL | ROUTE_JSON },
	{ POST, "/internal/runners/:id/claim", h_runner_claim, ROUTE_INTERNAL },
	{ POST, "/internal/runners/:id/heartbeat", h_runner_heartbeat, ROUTE_INTERNAL },
	{ POST, "/internal/tasks/:id/events", h_task_events, ROUTE_INTERNAL | ROUTE_JSON, 0, 8 << 20 },
	{ POST, "/internal/tasks/:id/complete", h_task_complete, ROUTE_INTERNAL | ROUTE_JSON },
	{ POST, "/internal/tasks/:id/watch", h_task_watch, ROUTE_INTERNAL },
	{ POST, "/internal/tasks/:id/model", h_task_model, ROUTE_INTERNAL | ROUTE_JSON, 0, 16 << 20 },
	{ POST, "/internal/tasks/:id/tools/:name", h_task_tool, ROUTE_INTERNAL | ROUTE_JSON },

	/* issues, comments, reactions, labels, milestones (api/issues.c and
	 * friends): reading follows the repository; writes need a user, and
	 * the handlers apply the author / writer rules */
	{ GET, "/api/:owner/:repo/issues", h_issues_list, REPO },
	{ POST, "/api/:owner/:repo/issues", h_issue_create, COLLAB_W | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/issues/comments/:id", h_comment_get, REPO },
	{ PATCH, "/api/:owner/:repo/issues/comments/:id", h_comment_update, COLLAB_W | ROUTE_JSON,
	  SCOPE_REPO_WRITE },
	{ DELETE, "/api/:owner/:repo/issues/comments/:id", h_comment_delete, COLLAB_W,
	  SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/issues/comments/:id/reactions", h_reactions_list, REPO },
	{ POST, "/api/:owner/:repo/issues/comments/:id/reactions", h_reaction_create,
	  COLLAB_W | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ DELETE, "/api/:owner/:repo/issues/comments/:id/reactions/:content", h_reaction_delete,
	  COLLAB_W, SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/issues/:number", h_issue_get, REPO },
	{ PATCH, "/api/:owner/:repo/issues/:number", h_issue_update, COLLAB_W | ROUTE_JSON,
	  SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/issues/:number/timeline", h_issue_timeline, REPO },
	{ GET, "/api/:owner/:repo/issues/:number/comments", h_comments_list, REPO },
	{ POST, "/api/:owner/:repo/issues/:number/comments", h_comment_create,
	  COLLAB_W | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/issues/:number/reactions", h_reactions_list, REPO },
	{ POST, "/api/:owner/:repo/issues/:number/reactions", h_reaction_create,
	  COLLAB_W | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ DELETE, "/api/:owner/:repo/issues/:number/reactions/:content", h_reaction_delete,
	  COLLAB_W, SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/labels", h_labels_list, REPO },
	{ POST, "/api/:owner/:repo/labels", h_label_create, REPO | W_ISSUES | ROUTE_JSON },
	{ GET, "/api/:owner/:repo/labels/:name", h_label_get, REPO },
	{ PATCH, "/api/:owner/:repo/labels/:name", h_label_update, REPO | W_ISSUES | ROUTE_JSON },
	{ DELETE, "/api/:owner/:repo/labels/:name", h_label_delete, REPO | W_ISSUES },
	{ GET, "/api/:owner/:repo/milestones", h_milestones_list, REPO },
	{ POST, "/api/:owner/:repo/milestones", h_milestone_create, REPO | W_ISSUES | ROUTE_JSON },
	{ GET, "/api/:owner/:repo/milestones/:number", h_milestone_get, REPO },
	{ PATCH, "/api/:owner/:repo/milestones/:number", h_milestone_update,
	  REPO | W_ISSUES | ROUTE_JSON },
	{ DELETE, "/api/:owner/:repo/milestones/:number", h_milestone_delete, REPO | W_ISSUES },

	/* pull requests and reviews (api/pulls.c, reviews.c): like issues,
	 * readers may take part; merging needs write access */
	{ GET, "/api/:owner/:repo/pulls", h_pull_list, REPO },
	{ POST, "/api/:owner/:repo/pulls", h_pull_create, COLLAB_W | ROUTE_JSON, SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/pulls/:number", h_pull_get, REPO },
	{ PATCH, "/api/:owner/:repo/pulls/:number", h_pull_update, COLLAB_W | ROUTE_JSON,
	  SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/pulls/:number/files", h_pull_files, REPO },
	{ GET, "/api/:owner/:repo/pulls/:number/commits", h_pull_commits, REPO },
	{ POST, "/api/:owner/:repo/pulls/:number/merge", h_pull_merge,
	  REPO | W_PULLS | ROUTE_W_CONTENTS | ROUTE_JSON },
	{ GET, "/api/:owner/:repo/pulls/:number/reviews", h_review_list, REPO },
	{ POST, "/api/:owner/:repo/pulls/:number/reviews", h_review_create, COLLAB_W | ROUTE_JSON,
	  SCOPE_REPO_WRITE },
	{ GET, "/api/:owner/:repo/pulls/:number/comments", h_review_comments, REPO },
	/* commit statuses (api/statuses.c), branch protection (api/protection.c) */
	{ GET, "/api/:owner/:repo/statuses/:sha", h_status_list, REPO },
	{ POST, "/api/:owner/:repo/statuses/:sha", h_status_create, REPO | W_STATUSES | ROUTE_JSON },
	{ GET, "/api/:owner/:repo/commits/:sha/status", h_status_combined, REPO },
	{ GET, "/api/:owner/:repo/protections/*pattern", h_protection_get, REPO | ROUTE_ADMIN },
	{ PUT, "/api/:owner/:repo/protections/*pattern", h_protection_put,
	  REPO | ROUTE_ADMIN | ROUTE_JSON },
	{ DELETE, "/api/:owner/:repo/protections/*pattern", h_protection_delete, REPO | ROUTE_ADMIN },

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
	  GITR | W_CONTENTS | ROUTE_STREAM },
	/* ---- pages (web/): HTML, forms with a CSRF field, errors as pages.
	 * PAGE routes are fallbacks: tried, in order, only for a path no
	 * route above takes (http.h), so a page pattern such as
	 * /:owner/:repo never turns an API path's 405 into a page. First,
	 * what no API route takes under /api and /internal is the API's 404
	 * ("api" and "internal" are reserved names: no owner lives there). */
	{ GET, "/api/*rest", web_not_found, ROUTE_NOAUTH | ROUTE_FALLBACK },
	{ GET, "/internal/*rest", web_not_found, ROUTE_NOAUTH | ROUTE_FALLBACK },
	{ GET, "/static/:name", web_static, ROUTE_NOAUTH },
	{ GET, "/", web_home, PAGE },
	{ GET, "/login", web_login_form, PAGE },
	{ POST, "/login", web_login, PAGE },
	{ GET, "/register", web_register_form, PAGE },
	{ POST, "/register", web_register, PAGE },
	{ POST, "/logout", web_logout, PAGE },
	{ POST, "/logout-all", web_logout_all, PAGE | ROUTE_AUTH },
	/* new repository, the caller's settings, a repository's settings
	 * (web/settings.h): anonymous readers of a settings page are sent
	 * to sign in; the rest is the admin role's (ROUTE_ADMIN) */
	{ GET, "/new", web_repo_new_form, PAGE | ROUTE_AUTH },
	{ POST, "/new", web_repo_new, PAGE | ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ GET, "/settings", web_account, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ POST, "/settings", web_account_save, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ GET, "/settings/tokens", web_tokens, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ POST, "/settings/tokens", web_token_create, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ POST, "/settings/tokens/:id/delete", web_token_delete, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ GET, "/settings/keys", web_keys, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ POST, "/settings/keys", web_key_add, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ POST, "/settings/keys/:id/delete", web_key_delete, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ GET, "/settings/sessions", web_sessions, PAGE | ROUTE_AUTH, SCOPE_USER },
	{ GET, "/:owner/:repo/settings", web_repo_settings, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings", web_repo_settings_save, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/delete", web_repo_delete, PAGE | REPO_ADMIN },
	{ GET, "/:owner/:repo/settings/collaborators", web_collaborators, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/collaborators", web_collaborator_add, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/collaborators/:user", web_collaborator_role,
	  PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/collaborators/:user/delete", web_collaborator_remove,
	  PAGE | REPO_ADMIN },
	{ GET, "/:owner/:repo/settings/branches", web_protections, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/branches", web_protection_save, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/branches/delete", web_protection_delete, PAGE | REPO_ADMIN },
	{ GET, "/:owner/:repo/settings/secrets", web_secrets, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/secrets", web_secret_set, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/secrets/:name/delete", web_secret_delete, PAGE | REPO_ADMIN },
	{ GET, "/:owner/:repo/settings/hooks", web_hooks, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/hooks", web_hook_create, PAGE | REPO_ADMIN },
	{ POST, "/:owner/:repo/settings/hooks/:id/delete", web_hook_delete, PAGE | REPO_ADMIN },
	/* browsing (web/browse.c): SHA URLs immutable, a ref answers a redirect
	 * to its SHA URL */
	{ GET, "/:owner/:repo/tree/:sha/*path", web_tree, PAGE | REPO | ROUTE_CACHE },
	{ GET, "/:owner/:repo/blob/:sha/*path", web_blob, PAGE | REPO | ROUTE_CACHE },
	{ GET, "/:owner/:repo/raw/:sha/*path", web_raw, PAGE | REPO | ROUTE_CACHE },
	{ GET, "/:owner/:repo/commits/:sha", web_commits, PAGE | REPO | ROUTE_CACHE },
	{ GET, "/:owner/:repo/commit/:sha", web_commit, PAGE | REPO | ROUTE_CACHE },
	{ GET, "/:owner/:repo/branches", web_branches, PAGE | REPO },
	{ GET, "/:owner/:repo/tags", web_tags, PAGE | REPO },
	/* pull requests (web/pulls.c, pulldiff.c) */
	{ GET, "/:owner/:repo/pulls", web_pulls, PAGE | REPO },
	{ GET, "/:owner/:repo/compare", web_compare, PAGE | REPO },
	{ POST, "/:owner/:repo/compare", web_compare_create, PAGE | COLLAB_W, SCOPE_REPO_WRITE },
	{ GET, "/:owner/:repo/pull/:number", web_pull, PAGE | REPO },
	{ GET, "/:owner/:repo/pull/:number/commits", web_pull_commits, PAGE | REPO },
	{ GET, "/:owner/:repo/pull/:number/files", web_pull_files, PAGE | REPO },
	{ POST, "/:owner/:repo/pull/:number/comments", web_pull_comment, PAGE | COLLAB_W,
	  SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/pull/:number/edit", web_pull_edit, PAGE | COLLAB_W, SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/pull/:number/state", web_pull_state, PAGE | COLLAB_W,
	  SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/pull/:number/reviews", web_pull_review, PAGE | COLLAB_W,
	  SCOPE_REPO_WRITE },
	/* who may merge is the merge engine's to say, with its message */
	{ POST, "/:owner/:repo/pull/:number/merge", web_pull_merge, PAGE | COLLAB_W,
	  SCOPE_REPO_WRITE },
	/* issues, labels, milestones (web/issues.c, labels.c): reading follows
	 * the repository; forms need a user and the domain's author / writer
	 * rules; labels and milestones change with write access to issues */
	{ GET, "/:owner/:repo/issues", web_issues_list, PAGE | REPO },
	{ POST, "/:owner/:repo/issues", web_issue_create, PAGE | COLLAB_W },
	{ GET, "/:owner/:repo/issues/new", web_issue_new, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/comments/:id", web_comment_edit, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/comments/:id/delete", web_comment_delete, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/comments/:id/reactions", web_comment_react, PAGE | COLLAB_W },
	{ GET, "/:owner/:repo/issues/:number", web_issue_show, PAGE | REPO },
	{ POST, "/:owner/:repo/issues/:number", web_issue_edit, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/:number/state", web_issue_state, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/:number/comments", web_issue_comment, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/:number/labels", web_issue_labels, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/:number/assignees", web_issue_assignees, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/:number/milestone", web_issue_milestone, PAGE | COLLAB_W },
	{ POST, "/:owner/:repo/issues/:number/reactions", web_issue_react, PAGE | COLLAB_W },
	{ GET, "/:owner/:repo/labels", web_labels, PAGE | REPO },
	{ POST, "/:owner/:repo/labels", web_label_create, PAGE | REPO | W_ISSUES | ROUTE_AUTH },
	{ POST, "/:owner/:repo/labels/edit", web_label_edit, PAGE | REPO | W_ISSUES | ROUTE_AUTH },
	{ POST, "/:owner/:repo/labels/delete", web_label_delete, PAGE | REPO | W_ISSUES | ROUTE_AUTH },
	{ GET, "/:owner/:repo/milestones", web_milestones, PAGE | REPO },
	{ POST, "/:owner/:repo/milestones", web_milestone_create,
	  PAGE | REPO | W_ISSUES | ROUTE_AUTH },
	{ POST, "/:owner/:repo/milestones/:number", web_milestone_edit,
	  PAGE | REPO | W_ISSUES | ROUTE_AUTH },
	{ POST, "/:owner/:repo/milestones/:number/delete", web_milestone_delete,
	  PAGE | REPO | W_ISSUES | ROUTE_AUTH },
	/* workflow runs (web/runs.h) */
	{ GET, "/:owner/:repo/runs", web_runs, PAGE | REPO },
	{ GET, "/:owner/:repo/runs/:id", web_run, PAGE | REPO },
	{ POST, "/:owner/:repo/runs/:id/cancel", web_run_cancel,
	  PAGE | REPO | ROUTE_AUTH | ROUTE_WRITE },
	{ POST, "/:owner/:repo/runs/:id/approve", web_run_approve,
	  PAGE | REPO | ROUTE_AUTH | ROUTE_WRITE },
	/* agent sessions (web/agents.h): who sees and acts is forge/sessions.h's */
	{ GET, "/:owner/:repo/sessions", web_agent_sessions, PAGE | REPO },
	{ POST, "/:owner/:repo/sessions", web_agent_session_create, PAGE | REPO | ROUTE_AUTH,
	  SCOPE_REPO_WRITE },
	{ GET, "/:owner/:repo/sessions/:id", web_agent_session, PAGE | REPO },
	{ POST, "/:owner/:repo/sessions/:id/messages", web_agent_session_send,
	  PAGE | REPO | ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/sessions/:id/abort", web_agent_session_abort,
	  PAGE | REPO | ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/sessions/:id/rename", web_agent_session_rename,
	  PAGE | REPO | ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/sessions/:id/archive", web_agent_session_archive,
	  PAGE | REPO | ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ POST, "/:owner/:repo/sessions/:id/delete", web_agent_session_delete,
	  PAGE | REPO | ROUTE_AUTH, SCOPE_REPO_WRITE },
	{ GET, "/:owner/:repo", web_repo_overview, PAGE | REPO },
	{ GET, "/:owner", web_profile, PAGE },
	/* a GET no route takes: the 404 page (other methods: the server's
	 * own 404) */
	{ GET, "/*path", web_not_found, PAGE },
	{ 0 },
};
