/* auth.h — who is calling (credentials → struct auth) and what they may do
 * (the one authorization function, used by every route, page and git
 * endpoint). */
#ifndef PLUE_AUTH_H
#define PLUE_AUTH_H

#include "auth/identity.h"
#include "base/arena.h"
#include "base/err.h"
#include "forge/repo.h"

#include <jansson.h>
#include <libpq-fe.h>

struct req;

enum repo_action { ACT_READ, ACT_WRITE, ACT_ADMIN };

/* Reads the Authorization header (Bearer TOKEN, token TOKEN, or Basic with
 * the token as password) into r->auth; without one, the plue_session
 * cookie (auth/session.h: a dead cookie counts as none). No credentials:
 * anonymous, 0. A task token (plue_task_...) of a claimed or running
 * workload gets its repository and, in task_areas, what it may write:
 * contents when the workload may push (workloads.may_write), issues, pull
 * requests and statuses when the job's permissions (workloads.spec's
 * "permissions") say write. An agent workload's token also carries its
 * actor (workloads.actor_id): authz_repo grants it in its repository only
 * what that person may do too.
 * Credentials that do not check out: ERR_AUTH (never silently anonymous). */
int auth_resolve(struct req *r);

/* May a act on repo? 0, or: ERR_NOTFOUND when a cannot read it (private
 * repositories are invisible), ERR_AUTH when anonymous and more is needed,
 * ERR_PERM when a can read but not do act (including a token whose scopes
 * fall short). Sets e with a message naming the repository.
 * areas (AREA_* of http.h) says what a write changes. It matters only for
 * a workflow's task token, which reads its own repository and writes only
 * the areas its job's permissions grant: every area named must be granted
 * (ERR_PERM "insufficient_scope" naming the missing permission), and a
 * write that names none (0: settings, collaborators, secrets, dispatch) or
 * needs ACT_ADMIN is refused (ERR_PERM). */
int authz_repo_area(const struct auth *a, const struct repo *repo, enum repo_action act,
		    unsigned areas, struct err *e);
/* authz_repo_area with no area: the repository as a whole. */
int authz_repo(const struct auth *a, const struct repo *repo, enum repo_action act, struct err *e);

/* A collaborator role as stored ("read", "write", "admin"; anything else,
 * "" for none included, is ROLE_NONE). */
enum repo_role repo_role_parse(const char *text);

/* May the person user_id (site admin or not, with collaborator role text
 * on repo, as a query returned them) do act on repo, whatever credential
 * they would use? authz_repo for someone who is not the caller: an
 * assignee, an approver, an event's actor. repo->role is ignored. */
bool authz_user_may(const struct repo *repo, int64_t user_id, bool is_admin, const char *role,
		    enum repo_action act);

/* Scopes: "repo:read,repo:write" ↔ SCOPE_* bits with implications applied
 * (write ⇒ read; admin ⇒ all). Returns 0 or ERR_INVALID naming the bad one. */
int scopes_parse(const char *csv, unsigned *out, struct err *e);
/* A JSON array of scope names into a mask. */
int scopes_parse_json(json_t *arr, unsigned *out, struct err *e);
/* A PostgreSQL text[] literal of the granted names ("{repo:read,...}"). */
const char *scopes_pg_array(struct arena *a, unsigned mask);
/* Parses a PostgreSQL text[] literal back into a mask. */
unsigned scopes_from_pg(const char *arr);
/* A new JSON array of scope names. */
json_t *scopes_json(unsigned mask);
/* The name of the strongest scope in mask (admin, user, repo:write,
 * repo:read, in that order): what "this token lacks the S scope" names. */
const char *scope_name(unsigned mask);

/* Creates an access token for user_id; *secret receives the plaintext
 * (arena-owned, shown once). expires_at may be NULL. Returns 0 or ERR_*. */
int token_create(PGconn *db, struct arena *a, struct err *e, int64_t user_id, const char *name,
		 unsigned scopes, const char *expires_at, const char **secret, int64_t *id);

#endif
