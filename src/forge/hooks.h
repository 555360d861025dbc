/* hooks.h — repository webhooks as the forge configures them: creating,
 * listing, showing, changing and deleting hooks, pinging them, reading
 * their delivery log and redelivering. Sending is the execution system's
 * (queue/webhooks.h: the fan-out from the outbox and the delivery
 * workers); here are the rules a repository administrator meets. Every
 * function needs f->who to administer the repository (authz_repo
 * ACT_ADMIN). A hook's secret goes in and is never shown again (sealed
 * like repository secrets; `has_secret` instead).
 *
 * JSON returned is a new reference the caller owns; hooks are shaped like
 * GitHub's (docs/webhooks.md), timestamps RFC 3339 UTC to the second. */
#ifndef PLUE_FORGE_HOOKS_H
#define PLUE_FORGE_HOOKS_H

#include "forge/forge.h"

#define HOOK_MAX 20         /* hooks per repository */
#define HOOK_SECRET_MAX 256 /* bytes of a hook's secret */

/* A hook's settings as given: NULL (or active -1, events NULL) means
 * absent — the default at creation (content_type "json", events push,
 * active), unchanged at an update. content_type may be GitHub's MIME name.
 * secret "" removes the secret at an update. */
struct hook_input {
	const char *url;
	const char *content_type;  /* "json" or "form" */
	const char *secret;
	const char *const *events; /* nevents names (push, pull_request, ..., "*") */
	size_t nevents;
	int active;                /* 0, 1, or -1 */
};

/* 0 when repo has hook hook_id, else ERR_NOTFOUND "hook N not found in
 * 'o/r'" (what every function below answers for a hook that is not
 * there). Reads no more than that. */
int hook_find(struct forge *f, const struct repo *repo, int64_t hook_id);

/* The hooks of repo as a JSON array, by id. 0 or ERR_*. */
int hook_list(json_t **out, struct forge *f, const struct repo *repo);

/* Hook hook_id of repo as JSON. ERR_NOTFOUND "hook N not found in 'o/r'". */
int hook_get(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id);

/* Creates a hook of repo from in (url required) and, when it is active,
 * queues its `ping` delivery; *out: the new hook as JSON. ERR_INVALID:
 * invalid_url (webhook_url_check), invalid_field (content_type),
 * invalid_events, missing_field (no url); ERR_CONFLICT too_many_hooks at
 * HOOK_MAX. Own transaction. */
int hook_create(json_t **out, struct forge *f, const struct repo *repo, const struct hook_input *in);

/* Changes the settings in of hook hook_id (the same checks as
 * hook_create); reactivating it releases the deliveries held while it was
 * inactive. *out: the hook as JSON. ERR_NOTFOUND as hook_get. */
int hook_update(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id,
		const struct hook_input *in);

/* Deletes hook hook_id and its delivery log. ERR_NOTFOUND as hook_get. */
int hook_delete(struct forge *f, const struct repo *repo, int64_t hook_id);

/* Queues a `ping` delivery of hook hook_id. ERR_NOTFOUND as hook_get. */
int hook_ping(struct forge *f, const struct repo *repo, int64_t hook_id);

/* The deliveries of hook hook_id as a JSON array, newest first, at most
 * 100 with ids below before (INT64_MAX: from the newest). ERR_NOTFOUND as
 * hook_get. */
int hook_deliveries(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id,
		    int64_t before);

/* Delivery delivery_id of hook hook_id as JSON with its request (headers,
 * payload, body) and response (headers, body). ERR_NOTFOUND as hook_get,
 * or "delivery D of hook N not found". */
int hook_delivery_get(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id,
		      int64_t delivery_id);

/* Queues a new delivery of delivery_id's payload at the end of its hook's
 * order; *out: the new delivery's id. ERR_NOTFOUND as hook_delivery_get. */
int hook_redeliver(int64_t *out, struct forge *f, const struct repo *repo, int64_t hook_id,
		   int64_t delivery_id);

#endif
