/* forge.h — the domain: every rule of the forge and its SQL, called alike
 * by the JSON API, the pages, the git hooks and transports, and agent
 * tools. A domain function takes a struct forge (the caller's identity,
 * connection, arena and error slot) and plain C arguments, checks what the
 * caller may do through the one authorization function (auth/auth.h), and
 * returns structs or JSON; it never sees a request or a response.
 *
 * Errors: 0, or an ERR_* with the message in *f->err (status mapping is
 * the edge's). Strings and results live in f->arena. Functions that change
 * several rows open and commit their own transaction unless they say they
 * run inside the caller's. This header holds the context, repositories and
 * the outbox; each area has its own header beside it. */
#ifndef PLUE_FORGE_H
#define PLUE_FORGE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/identity.h"
#include "base/arena.h"
#include "base/err.h"
#include "forge/repo.h"

/* Who acts, through which connection; the arena owns results. All four
 * are borrowed and must outlive the call. */
struct forge {
	PGconn *db;
	struct arena *arena;
	struct err *err;
	const struct auth *who;
};

/* ---- repositories (forge/repos.c) ---- */

/* Loads owner/name (case-insensitive) with f->who's collaborator role into
 * *out (arena-owned). No authorization: the caller decides what it needs
 * (authz_repo). ERR_NOTFOUND "repository 'o/n' not found" when absent. */
int repo_load(struct repo **out, struct forge *f, const char *owner, const char *name);

/* Creates repository name owned by f->who, who must be signed in (a token
 * needs repo:write): the name follows validate_repo_name (forge/names.h),
 * default_branch (NULL: "main") must make a valid ref, description NULL
 * is "". The row and the bare repository on disk are made in one
 * transaction of its own: a failure leaves neither. *out is the new
 * repository as repo_load gives it. ERR_INVALID "invalid_name" /
 * "invalid_branch", ERR_EXISTS "repository 'o/n' already exists", or
 * ERR_*. */
int repo_create(struct repo **out, struct forge *f, const char *name, const char *description,
		const char *default_branch, bool is_private);

/* What repo_update changes: NULL leaves a field as it is. */
struct repo_update {
	const char *description;
	const char *default_branch; /* must make a valid ref (ERR_INVALID "invalid_branch") */
	const bool *is_private;
	const bool *issues_open;    /* readers may open issues and comment */
};

/* Changes repo's settings; f->who needs the admin role (authz_repo
 * ACT_ADMIN). *repo is updated in place, and the visibility hint
 * forgotten. 0 or ERR_*. */
int repo_update(struct forge *f, struct repo *repo, const struct repo_update *in);

/* Deletes repo, its rows and its directory (the directory first: if it
 * cannot go, the row stays); f->who needs the admin role. Runs its own
 * transaction. 0 or ERR_*. */
int repo_delete(struct forge *f, const struct repo *repo);

/* Repositories owned by a user, by name (case-insensitive order). */
struct repo_list {
	struct repo **items; /* arena-owned, n of them */
	size_t n;
};

/* The repositories of user owner (case-insensitive) that f->who may see:
 * public ones, and private ones f->who owns, collaborates on or
 * administers the site — unless f->who is a token without repo:read.
 * ERR_NOTFOUND "user 'x' not found" when there is no such user. */
int repo_list(struct repo_list *out, struct forge *f, const char *owner);

/* The repositories f->who owns or collaborates on (any role), most
 * recently updated first, at most limit; private ones left out for a
 * token without repo:read. ERR_AUTH when anonymous. */
int repo_list_member(struct repo_list *out, struct forge *f, int limit);

struct cursor; /* forge/issues.h */
/* One page (at most limit, after *after; NULL or unset: the first) of
 * the public repositories, most recently updated first; *next is the
 * cursor of the following page (unset at the end; its key is the update
 * time in microseconds). What anyone may see, signed in or not. */
int repo_list_public(struct repo_list *out, struct cursor *next, struct forge *f, int limit,
		     const struct cursor *after);

/* The names of repo's branches (as the pushes recorded them), by name,
 * at most limit, into *out (arena-owned, NULL-terminated) and *n. Needs
 * read access (authz_repo). */
int repo_branch_names(const char ***out, size_t *n, struct forge *f, const struct repo *repo,
		      int limit);

/* The repository as API JSON {id, owner, name, full_name, description,
 * private, issues_open_to_readers, default_branch, clone_url,
 * created_at}; a new reference. */
json_t *repo_json(struct forge *f, const struct repo *repo);

/* ---- collaborators (forge/repos.c) ---- */

/* The collaborators of repo as [{username, role}] by name, into *out (a
 * new reference). Who may do what is for those who can push, as on GitHub:
 * readers of a public repository do not learn its writers and admins, but
 * a writer's repo:read token may list (listing is a read). ERR_AUTH "sign
 * in to list...", ERR_PERM "push access to repository 'o/r' is required
 * to list its collaborators", or authz_repo's answer. */
int repo_collab_list(json_t **out, struct forge *f, const struct repo *repo);

/* Gives user (case-insensitive) role ("read", "write" or "admin") on repo,
 * replacing the role they had; f->who needs the admin role. *out receives
 * the user's name as spelled in their account. ERR_INVALID "invalid_role",
 * ERR_NOTFOUND "user 'x' not found", ERR_INVALID "invalid_collaborator"
 * for the owner, or ERR_*. */
int repo_collab_put(const char **out, struct forge *f, const struct repo *repo, const char *user,
		    const char *role);

/* Takes user's role on repo away; f->who needs the admin role.
 * ERR_NOTFOUND "'x' is not a collaborator on 'o/r'" when they had none. */
int repo_collab_delete(struct forge *f, const struct repo *repo, const char *user);

/* The visibility hint: what the anonymous fast path (api/dispatch.c) may
 * know of owner/name without the database, for ttl_ms. repo_hint_get
 * returns false when nothing is known (or hints are not trusted, see
 * repo_hints_trust). Any change of a repository's visibility, name or
 * existence calls repo_hint_publish inside its transaction: every replica
 * forgets the hint when it commits (queue/relay.h).
 *
 * repo_hint_put keeps what was read only if no forget came since gen
 * (repo_hint_gen, taken before the read): a peer's change that commits
 * while this replica reads is not undone by the read's stale answer. */
unsigned repo_hint_gen(void);
void repo_hint_put(const char *owner, const char *name, int64_t id, bool is_private, int ttl_ms,
		   unsigned gen);
bool repo_hint_get(const char *owner, const char *name, int64_t *id, bool *is_private);
/* NOTIFY plue_repo "TOKEN owner/name" (owner NULL: "TOKEN *", every name,
 * e.g. a user's rename) in f's connection (delivered at COMMIT), and
 * forgets here at once; token receives a fresh id. 0 or ERR_*. After the
 * COMMIT, repo_hint_await(f, token) returns once every replica listening
 * has forgotten (or after a bound, logged): the change's answer then
 * implies that no replica serves the old visibility. */
int repo_hint_publish(struct forge *f, const char *owner, const char *name, char token[17]);
void repo_hint_await(struct forge *f, const char *token);
/* Who carries the acknowledgements (queue/relay.c): expect is called
 * before the NOTIFY, await after the COMMIT. Unset: no wait. */
struct repo_hint_sync {
	void (*expect)(const char *token);
	void (*await)(PGconn *db, const char *token);
};
void repo_hint_set_sync(const struct repo_hint_sync *sync);
/* This process only: forget one name, or all of them. */
void repo_hint_forget(const char *owner, const char *name);
void repo_hints_forget_all(void);
/* Whether hints may be believed: false while changes made through other
 * replicas cannot be heard; true again forgets every hint kept before. */
void repo_hints_trust(bool trusted);

/* ---- the outbox (forge/outbox.c) ---- */

/* Records an event of repository repo_id: one `events` row (type, the
 * actor f->who->user_id or none, payload) and NOTIFY plue_events with the
 * new row's id as payload, which PostgreSQL delivers at commit (so run it
 * inside the transaction that made the change). Every event of the forge
 * goes through here: the workflow dispatcher and the webhook fan-out read
 * the outbox. Steals payload. *out (may be NULL) receives the event's id.
 * 0 or ERR_*. */
int forge_event(int64_t *out, struct forge *f, int64_t repo_id, const char *type, json_t *payload);

#endif
