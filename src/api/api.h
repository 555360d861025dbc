/* api.h — the JSON API's handlers (one file per resource) and the helpers
 * they share. Handlers return 0 with w filled, or an ERR_* with r->err set;
 * the dispatcher renders errors. */
#ifndef PLUE_API_H
#define PLUE_API_H

#include "forge/forge.h"
#include "git/smart_http.h"
#include "forge/names.h"
#include "http/http.h"

/* The application the HTTP server runs: the route table (api/routes.c)
 * and the dispatcher that enforces its flags (api/dispatch.c). */
extern const struct route app_routes[];
extern const struct http_app api_app;

/* ---- shared helpers (api/common.c) ---- */
/* The domain context of a request (forge/forge.h): its caller,
 * connection, arena and error slot. A pointer to a compound literal that
 * lives until the end of the enclosing block. */
#define FORGE(r)                                                                                   \
	(&(struct forge){ .db = (r)->db, .arena = (r)->arena, .err = &(r)->err, .who = &(r)->auth })
/* Where a sign-in comes from (its address and User-Agent), for the
 * session and the limits (forge/users.h). */
struct user_client;
struct user_client api_client(const struct req *r);
/* Safe-content headers for raw bytes: nosniff and a CSP that runs nothing. */
void api_content_headers(struct resp *w);
/* Answers with event stream stream_id as SSE (the caller has checked who
 * may read it): the stored events after the request's Last-Event-ID (or
 * ?last_event_id=), then the live ones. ERR_INVALID invalid_last_event_id. */
int api_stream_sse(struct req *r, struct resp *w, int64_t stream_id);
/* JSON body field helpers: 0, or ERR_INVALID naming the field. A missing
 * optional field leaves *out untouched. */
int json_str_field(struct req *r, const char *field, bool required, size_t maxlen, const char **out);
/* json_str_field on a member of object obj (NULL: absent) instead of the
 * body's. */
int json_str_member(struct req *r, json_t *obj, const char *field, bool required, size_t maxlen,
		    const char **out);
int json_bool_field(struct req *r, const char *field, bool *out);
/* The validators of names, refs and paths are the domain's
 * (forge/names.h, included above). */

/* ---- handlers ---- */
/* agent sessions (api/sessions.c) */
int h_session_create(struct req *r, struct resp *w);
int h_sessions_list(struct req *r, struct resp *w);
int h_session_get(struct req *r, struct resp *w);
int h_session_update(struct req *r, struct resp *w);
int h_session_delete(struct req *r, struct resp *w);
int h_session_send(struct req *r, struct resp *w);
int h_session_messages(struct req *r, struct resp *w);
int h_session_abort(struct req *r, struct resp *w);
int h_session_stream(struct req *r, struct resp *w);
/* the model call a runner asks for (api/internal.c, queue/agent.h) */
int h_task_model(struct req *r, struct resp *w);
int h_health(struct req *r, struct resp *w);
/* GET /metrics (api/metrics.c): 404 when metrics are off, 401 without the token */
int h_metrics(struct req *r, struct resp *w);
int h_repo_create(struct req *r, struct resp *w);
int h_repo_get(struct req *r, struct resp *w);
int h_repo_update(struct req *r, struct resp *w);
int h_repo_delete(struct req *r, struct resp *w);
/* housekeeping state, site administrators only (api/maintenance.c) */
int h_repo_maintenance(struct req *r, struct resp *w);
int h_user_repos(struct req *r, struct resp *w);
int h_collab_list(struct req *r, struct resp *w);
int h_collab_put(struct req *r, struct resp *w);
int h_collab_delete(struct req *r, struct resp *w);
/* browsing (api/browse.c) */
int h_ref_get(struct req *r, struct resp *w);
int h_tree_get(struct req *r, struct resp *w);
int h_blob_get(struct req *r, struct resp *w);
int h_commits_list(struct req *r, struct resp *w);
int h_commit_get(struct req *r, struct resp *w);
int h_branches_list(struct req *r, struct resp *w);
/* accounts (api/auth.c: signing in and out; api/user.c: the caller's own
 * account, tokens and SSH keys) */
int h_siwe_nonce(struct req *r, struct resp *w);
int h_siwe_verify(struct req *r, struct resp *w);
int h_register(struct req *r, struct resp *w);
int h_login(struct req *r, struct resp *w);
int h_logout(struct req *r, struct resp *w);
int h_logout_all(struct req *r, struct resp *w);
int h_auth_me(struct req *r, struct resp *w);
int h_user_update(struct req *r, struct resp *w);
int h_token_list(struct req *r, struct resp *w);
int h_token_create(struct req *r, struct resp *w);
int h_token_delete(struct req *r, struct resp *w);
int h_key_list(struct req *r, struct resp *w);
int h_key_create(struct req *r, struct resp *w);
int h_key_delete(struct req *r, struct resp *w);
/* workflow runs (api/runs.c) and repository secrets (api/secrets.c) */
int h_runs_list(struct req *r, struct resp *w);
int h_run_get(struct req *r, struct resp *w);
int h_run_logs(struct req *r, struct resp *w);
int h_run_stream(struct req *r, struct resp *w);
int h_run_cancel(struct req *r, struct resp *w);
int h_run_approve(struct req *r, struct resp *w);
int h_workflow_dispatch(struct req *r, struct resp *w);
int h_secrets_list(struct req *r, struct resp *w);
int h_secret_put(struct req *r, struct resp *w);
int h_secret_delete(struct req *r, struct resp *w);
/* outgoing webhooks (api/hooks.c): hooks, pings, the delivery log and
 * redelivery; every route needs the repository's admin role */
int h_hooks_list(struct req *r, struct resp *w);
int h_hook_create(struct req *r, struct resp *w);
int h_hook_get(struct req *r, struct resp *w);
int h_hook_update(struct req *r, struct resp *w);
int h_hook_delete(struct req *r, struct resp *w);
int h_hook_ping(struct req *r, struct resp *w);
int h_hook_deliveries(struct req *r, struct resp *w);
int h_hook_delivery_get(struct req *r, struct resp *w);
int h_hook_redeliver(struct req *r, struct resp *w);
/* the runner protocol (api/internal.c) */
int h_runner_register(struct req *r, struct resp *w);
int h_runner_claim(struct req *r, struct resp *w);
int h_runner_heartbeat(struct req *r, struct resp *w);
int h_task_events(struct req *r, struct resp *w);
int h_task_complete(struct req *r, struct resp *w);
int h_task_watch(struct req *r, struct resp *w);
/* The task whose id is :id, authenticated by the request's task token
 * (Authorization: Bearer plue_task_...), into *t (queue/queue.h). ERR_AUTH
 * "invalid_token" when it does not match or the workload is done. */
struct task;
int task_load(struct req *r, struct task *t);
/* an agent's forge tools, run as its actor (api/agent_tools.c) */
int h_task_tool(struct req *r, struct resp *w);
/* issues, comments, reactions, labels, milestones, mentions
 * (api/issues.c, comments.c, reactions.c, labels.c, milestones.c; the
 * shared rules are in api/collab.h) */
int h_issues_list(struct req *r, struct resp *w);
int h_issue_create(struct req *r, struct resp *w);
int h_issue_get(struct req *r, struct resp *w);
int h_issue_update(struct req *r, struct resp *w);
int h_issue_timeline(struct req *r, struct resp *w);
int h_user_mentions(struct req *r, struct resp *w);
int h_comments_list(struct req *r, struct resp *w);
int h_comment_create(struct req *r, struct resp *w);
int h_comment_get(struct req *r, struct resp *w);
int h_comment_update(struct req *r, struct resp *w);
int h_comment_delete(struct req *r, struct resp *w);
int h_reactions_list(struct req *r, struct resp *w);
int h_reaction_create(struct req *r, struct resp *w);
int h_reaction_delete(struct req *r, struct resp *w);
int h_labels_list(struct req *r, struct resp *w);
int h_label_create(struct req *r, struct resp *w);
int h_label_get(struct req *r, struct resp *w);
int h_label_update(struct req *r, struct resp *w);
int h_label_delete(struct req *r, struct resp *w);
int h_milestones_list(struct req *r, struct resp *w);
int h_milestone_create(struct req *r, struct resp *w);
int h_milestone_get(struct req *r, struct resp *w);
int h_milestone_update(struct req *r, struct resp *w);
int h_milestone_delete(struct req *r, struct resp *w);
/* pull requests, reviews, commit statuses, branch protection (api/pulls.c,
 * reviews.c, statuses.c, protection.c; the rules are in forge/pulls.h,
 * reviews.h, statuses.h, protection.h) */
int h_pull_list(struct req *r, struct resp *w);
int h_pull_create(struct req *r, struct resp *w);
int h_pull_get(struct req *r, struct resp *w);
int h_pull_update(struct req *r, struct resp *w);
int h_pull_files(struct req *r, struct resp *w);
int h_pull_commits(struct req *r, struct resp *w);
int h_pull_merge(struct req *r, struct resp *w);
int h_review_list(struct req *r, struct resp *w);
int h_review_create(struct req *r, struct resp *w);
int h_review_comments(struct req *r, struct resp *w);
int h_status_create(struct req *r, struct resp *w);
int h_status_list(struct req *r, struct resp *w);
int h_status_combined(struct req *r, struct resp *w);
int h_protection_get(struct req *r, struct resp *w);
int h_protection_put(struct req *r, struct resp *w);
int h_protection_delete(struct req *r, struct resp *w);
/* git smart HTTP: h_git_info_refs, h_git_upload_pack, h_git_receive_pack
 * (git/smart_http.h) */
#endif
