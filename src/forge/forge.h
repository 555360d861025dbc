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

/* The visibility hint: what the anonymous fast path (api/dispatch.c) may
 * know of owner/name without the database, for ttl_ms. repo_hint_get
 * returns false when nothing is known. Any change of a repository's
 * visibility, name or existence calls repo_hint_forget. */
void repo_hint_put(const char *owner, const char *name, int64_t id, bool is_private, int ttl_ms);
bool repo_hint_get(const char *owner, const char *name, int64_t *id, bool *is_private);
void repo_hint_forget(const char *owner, const char *name);

/* ---- the outbox (forge/outbox.c) ---- */

/* Records an event of repository repo_id: one `events` row (type, the
 * actor f->who->user_id or none, payload) and NOTIFY plue_events with the
 * new row's id as payload, which PostgreSQL delivers at commit (so run it
 * inside the transaction that made the change). Every event of the forge
 * goes through here: the workflow dispatcher and the webhook fan-out read
 * the outbox. Steals payload. *out (may be NULL) receives the event's id.
 * 0 or ERR_*. */
int forge_event(int64_t *out, struct forge *f, int64_t repo_id, const char *type,
		json_t *payload);

#endif
