/* hooks.c — repository webhooks' configuration and delivery log (see
 * hooks.h); sending is queue/webhooks.c's. */
#include "forge/hooks.h"
#include "auth/auth.h"
#include "db/db.h"
#include "queue/secrets.h"
#include "queue/webhooks.h"

#include <stdlib.h>
#include <string.h>

/* A hook as JSON: these columns of `webhooks h`, in the order of enum
 * hook_col. */
#define HOOK_COLUMNS                                                                                           \
	"h.id, h.url, h.content_type, array_to_json(h.events)::text, h.active, "                               \
	"h.secret_cipher IS NOT NULL, " SQL_TS("h.created_at") ", " SQL_TS(                                    \
		"h.updated_at") ", "                                                                           \
				"(SELECT json_build_object('id', d.id, 'status', d.status, 'event', d.event, " \
				"'response_status', d.response_status, 'error', d.error)::text FROM "          \
				"webhook_deliveries d WHERE d.hook_id = h.id ORDER BY d.id DESC LIMIT 1)"

enum hook_col {
	HOOK_COL_ID,
	HOOK_COL_URL,
	HOOK_COL_CONTENT_TYPE,
	HOOK_COL_EVENTS,
	HOOK_COL_ACTIVE,
	HOOK_COL_HAS_SECRET,
	HOOK_COL_CREATED_AT,
	HOOK_COL_UPDATED_AT,
	HOOK_COL_LAST_DELIVERY,
};

/* A delivery as JSON: these columns of webhook_deliveries, in the order of
 * enum delivery_col (DELIVERY_COL_PAYLOAD and after: one delivery only). */
#define DELIVERY_COLUMNS                                                                                 \
	"id, guid, event, action, status, attempts, redelivery_of IS NOT NULL, "                         \
	"response_status, duration_ms, error, " SQL_TS("created_at") ", " SQL_TS(                        \
		"finished_at") ", CASE WHEN status = 'pending' THEN " SQL_TS("next_attempt_at") " END, " \
												"coalesce(event_id, 0)"

enum delivery_col {
	DELIVERY_COL_ID,
	DELIVERY_COL_GUID,
	DELIVERY_COL_EVENT,
	DELIVERY_COL_ACTION,
	DELIVERY_COL_STATUS,
	DELIVERY_COL_ATTEMPTS,
	DELIVERY_COL_REDELIVERY,
	DELIVERY_COL_RESPONSE_STATUS,
	DELIVERY_COL_DURATION_MS,
	DELIVERY_COL_ERROR,
	DELIVERY_COL_CREATED_AT,
	DELIVERY_COL_FINISHED_AT,
	DELIVERY_COL_NEXT_ATTEMPT_AT,
	DELIVERY_COL_EVENT_ID,
	DELIVERY_COL_PAYLOAD,
	DELIVERY_COL_REQUEST_HEADERS,
	DELIVERY_COL_REQUEST_BODY,
	DELIVERY_COL_RESPONSE_HEADERS,
	DELIVERY_COL_RESPONSE_BODY,
};

static json_t *hook_row_json(struct forge *f, const struct repo *repo, PGresult *res, int i)
{
	int64_t id = db_int(res, i, HOOK_COL_ID);
	json_t *events = json_loads(db_val(res, i, HOOK_COL_EVENTS), 0, NULL);
	const char *last_text = db_val(res, i, HOOK_COL_LAST_DELIVERY);
	json_t *last = last_text ? json_loads(last_text, 0, NULL) : NULL;
	const char *base = arena_printf(f->arena, "/api/%s/%s/hooks/%lld", repo->owner, repo->name,
					(long long)id);
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:b,s:b,s:s,s:s,s:o,s:s,s:s}", "id", (json_int_t)id,
			 "type", "Repository", "url", db_val(res, i, HOOK_COL_URL), "content_type",
			 db_val(res, i, HOOK_COL_CONTENT_TYPE), "events",
			 events ? events : json_array(), "active", db_bool(res, i, HOOK_COL_ACTIVE),
			 "has_secret", db_bool(res, i, HOOK_COL_HAS_SECRET), "created_at",
			 db_val(res, i, HOOK_COL_CREATED_AT), "updated_at",
			 db_val(res, i, HOOK_COL_UPDATED_AT), "last_delivery",
			 last ? last : json_null(), "deliveries_url",
			 arena_printf(f->arena, "%s/deliveries", base), "ping_url",
			 arena_printf(f->arena, "%s/pings", base));
}

/* Hook hook_id's row (HOOK_COLUMNS) into *out. */
static int hook_row(PGresult **out, struct forge *f, const struct repo *repo, int64_t hook_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " HOOK_COLUMNS " FROM webhooks h WHERE h.id = $1 AND "
			      "h.repo_id = $2",
			      arena_int(f->arena, hook_id), arena_int(f->arena, repo->id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "hook %lld not found in '%s/%s'",
			       (long long)hook_id, repo->owner, repo->name);
	*out = res;
	return 0;
}

/* Checks what in says; *content_type: its short name (NULL: absent),
 * *events: a JSON array text of the distinct names (NULL: absent). */
static int input_check(const char **content_type, const char **events, struct forge *f,
		       const struct hook_input *in)
{
	int rc;
	*content_type = in->content_type;
	*events = NULL;
	if (in->url && (rc = webhook_url_check(in->url, f->err)))
		return rc;
	if (*content_type) {
		/* GitHub's names too */
		if (!strcmp(*content_type, "application/json"))
			*content_type = "json";
		else if (!strcmp(*content_type, "application/x-www-form-urlencoded"))
			*content_type = "form";
		if (strcmp(*content_type, "json") && strcmp(*content_type, "form"))
			return err_set(f->err, ERR_INVALID, "invalid_field",
				       "field 'content_type' must be 'json' or 'form', not '%.40s'",
				       *content_type);
	}
	if (!in->events)
		return 0;
	if (!in->nevents)
		return err_set(f->err, ERR_INVALID, "invalid_events",
			       "field 'events' must be a non-empty array of event names");
	json_t *lit = json_array();
	for (size_t i = 0; i < in->nevents; i++) {
		const char *name = in->events[i];
		if (!webhook_event_valid(name)) {
			json_decref(lit);
			return err_set(f->err, ERR_INVALID, "invalid_events",
				       "unknown event '%.40s': one of push, pull_request, "
				       "pull_request_review, issues, issue_comment, workflow_run "
				       "or '*'",
				       name);
		}
		bool dup = false;
		size_t k;
		json_t *x;
		json_array_foreach(lit, k, x) dup |= !strcmp(json_string_value(x), name);
		if (!dup)
			json_array_append_new(lit, json_string(name));
	}
	/* text[] from a JSON array: jsonb_array_elements_text in SQL */
	char *s = json_dumps(lit, JSON_COMPACT);
	*events = arena_strdup(f->arena, s);
	free(s);
	json_decref(lit);
	return 0;
}

/* The sealed secret (both NULL: none). */
static void seal(const char **nonce, const char **cipher, struct forge *f, const struct repo *repo,
		 const char *secret)
{
	*nonce = *cipher = NULL;
	if (secret && *secret)
		secret_seal(f->arena, repo->id, "webhook", secret, strlen(secret), nonce, cipher);
}

int hook_find(struct forge *f, const struct repo *repo, int64_t hook_id)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT 1 FROM webhooks WHERE id = $1 AND repo_id = $2",
			      arena_int(f->arena, hook_id), arena_int(f->arena, repo->id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "hook %lld not found in '%s/%s'",
			       (long long)hook_id, repo->owner, repo->name);
	return 0;
}

int hook_list(json_t **out, struct forge *f, const struct repo *repo)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " HOOK_COLUMNS " FROM webhooks h WHERE h.repo_id = $1 "
			      "ORDER BY h.id",
			      arena_int(f->arena, repo->id));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, hook_row_json(f, repo, res, i));
	*out = arr;
	return 0;
}

int hook_get(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id)
{
	PGresult *res;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) ||
	    (rc = hook_row(&res, f, repo, hook_id)))
		return rc;
	*out = hook_row_json(f, repo, res, 0);
	return 0;
}

int hook_create(json_t **out, struct forge *f, const struct repo *repo, const struct hook_input *in)
{
	const char *content_type, *events;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) ||
	    (rc = input_check(&content_type, &events, f, in)))
		return rc;
	if (!in->url)
		return err_set(f->err, ERR_INVALID, "missing_field", "field 'url' is required");
	const char *nonce, *cipher;
	seal(&nonce, &cipher, f, repo, in->secret);
	const char *rid = arena_int(f->arena, repo->id);
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	/* the repository row serialises creators, so the cap is exact */
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT (SELECT count(*) FROM webhooks WHERE repo_id = $1) FROM "
			      "repositories WHERE id = $1 FOR UPDATE",
			      rid);
	if (!res)
		goto fail;
	if (PQntuples(res) == 1 && db_int(res, 0, 0) >= HOOK_MAX) {
		err_set(f->err, ERR_CONFLICT, "too_many_hooks",
			"repository '%s/%s' already has %d hooks", repo->owner, repo->name,
			HOOK_MAX);
		goto fail;
	}
	res = db_qv(f->db, f->arena, f->err,
		    "INSERT INTO webhooks (repo_id, url, content_type, events, active, secret_nonce, "
		    "secret_cipher, created_by) VALUES ($1, $2, $3, ARRAY(SELECT "
		    "jsonb_array_elements_text($4::jsonb)), $5, $6, $7, $8) RETURNING id",
		    rid, in->url, content_type ? content_type : "json",
		    events ? events : "[\"push\"]", in->active == 0 ? "false" : "true", nonce,
		    cipher, arena_id(f->arena, f->who->user_id));
	if (!res)
		goto fail;
	int64_t id = db_int(res, 0, 0);
	if ((in->active != 0 && webhooks_ping(f->db, f->arena, f->err, id)) ||
	    db_commit(f->db, f->err))
		goto fail;
	webhooks_wake();
	if ((rc = hook_row(&res, f, repo, id)))
		return rc;
	*out = hook_row_json(f, repo, res, 0);
	return 0;
fail:
	db_rollback(f->db);
	return f->err->code;
}

int hook_update(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id,
		const struct hook_input *in)
{
	const char *content_type, *events;
	PGresult *res;
	int rc;
	if ((rc = hook_find(f, repo, hook_id)) || (rc = input_check(&content_type, &events, f, in)))
		return rc;
	const char *nonce = NULL, *cipher = NULL;
	seal(&nonce, &cipher, f, repo, in->secret);
	/* "secret": "" removes it; absent keeps it */
	res = db_qv(f->db, f->arena, f->err,
		    "UPDATE webhooks SET url = coalesce($3, url), content_type = coalesce($4, "
		    "content_type), events = CASE WHEN $5::jsonb IS NULL THEN events ELSE "
		    "ARRAY(SELECT jsonb_array_elements_text($5::jsonb)) END, active = coalesce($6, "
		    "active), secret_nonce = CASE WHEN $7 THEN $8 ELSE secret_nonce END, "
		    "secret_cipher = CASE WHEN $7 THEN $9 ELSE secret_cipher END, updated_at = now() "
		    "WHERE id = $1 AND repo_id = $2",
		    arena_int(f->arena, hook_id), arena_int(f->arena, repo->id), in->url,
		    content_type, events,
		    in->active < 0 ? NULL
		    : in->active   ? "true"
				   : "false",
		    in->secret ? "true" : "false", nonce, cipher);
	if (!res)
		return f->err->code;
	if (in->active == 1)
		webhooks_wake(); /* deliveries held while inactive */
	if ((rc = hook_row(&res, f, repo, hook_id)))
		return rc;
	*out = hook_row_json(f, repo, res, 0);
	return 0;
}

int hook_delete(struct forge *f, const struct repo *repo, int64_t hook_id)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM webhooks WHERE id = $1 AND repo_id = $2 RETURNING 1",
			      arena_int(f->arena, hook_id), arena_int(f->arena, repo->id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "hook %lld not found in '%s/%s'",
			       (long long)hook_id, repo->owner, repo->name);
	return 0;
}

int hook_ping(struct forge *f, const struct repo *repo, int64_t hook_id)
{
	int rc;
	if ((rc = hook_find(f, repo, hook_id)) ||
	    (rc = webhooks_ping(f->db, f->arena, f->err, hook_id)))
		return rc;
	webhooks_wake();
	return 0;
}

static json_t *delivery_row_json(PGresult *res, int i)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s?,s:s,s:I,s:b,s:s?,s:s?,s:s?}", "id",
			      (json_int_t)db_int(res, i, DELIVERY_COL_ID), "guid",
			      db_val(res, i, DELIVERY_COL_GUID), "event",
			      db_val(res, i, DELIVERY_COL_EVENT), "action",
			      db_val(res, i, DELIVERY_COL_ACTION), "status",
			      db_val(res, i, DELIVERY_COL_STATUS), "attempts",
			      (json_int_t)db_int(res, i, DELIVERY_COL_ATTEMPTS), "redelivery",
			      db_bool(res, i, DELIVERY_COL_REDELIVERY), "error",
			      db_val(res, i, DELIVERY_COL_ERROR), "delivered_at",
			      db_val(res, i, DELIVERY_COL_FINISHED_AT), "next_attempt_at",
			      db_val(res, i, DELIVERY_COL_NEXT_ATTEMPT_AT));
	json_object_set_new(o, "status_code",
			    db_val(res, i, DELIVERY_COL_RESPONSE_STATUS)
				    ? json_integer(db_int(res, i, DELIVERY_COL_RESPONSE_STATUS))
				    : json_null());
	json_object_set_new(o, "duration_ms",
			    db_val(res, i, DELIVERY_COL_DURATION_MS)
				    ? json_integer(db_int(res, i, DELIVERY_COL_DURATION_MS))
				    : json_null());
	json_object_set_new(o, "created_at", json_string(db_val(res, i, DELIVERY_COL_CREATED_AT)));
	if (db_int(res, i, DELIVERY_COL_EVENT_ID))
		json_object_set_new(o, "event_id",
				    json_integer(db_int(res, i, DELIVERY_COL_EVENT_ID)));
	return o;
}

int hook_deliveries(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id,
		    int64_t before)
{
	PGresult *res;
	int rc;
	if ((rc = hook_find(f, repo, hook_id)))
		return rc;
	res = db_qv(f->db, f->arena, f->err,
		    "SELECT " DELIVERY_COLUMNS " FROM webhook_deliveries WHERE hook_id = $1 AND "
		    "id < $2 ORDER BY id DESC LIMIT 100",
		    arena_int(f->arena, hook_id), arena_int(f->arena, before));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, delivery_row_json(res, i));
	*out = arr;
	return 0;
}

int hook_delivery_get(json_t **out, struct forge *f, const struct repo *repo, int64_t hook_id,
		      int64_t delivery_id)
{
	PGresult *res;
	int rc;
	if ((rc = hook_find(f, repo, hook_id)))
		return rc;
	res = db_qv(f->db, f->arena, f->err,
		    "SELECT " DELIVERY_COLUMNS ", payload, coalesce(request_headers::text, '{}'), "
		    "request_body, coalesce(response_headers::text, '{}'), response_body "
		    "FROM webhook_deliveries WHERE hook_id = $1 AND id = $2",
		    arena_int(f->arena, hook_id), arena_int(f->arena, delivery_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "delivery %lld of hook %lld not found",
			       (long long)delivery_id, (long long)hook_id);
	json_t *o = delivery_row_json(res, 0);
	json_t *payload = json_loads(db_val(res, 0, DELIVERY_COL_PAYLOAD), 0, NULL);
	json_t *rqh = json_loads(db_val(res, 0, DELIVERY_COL_REQUEST_HEADERS), 0, NULL);
	json_t *rsh = json_loads(db_val(res, 0, DELIVERY_COL_RESPONSE_HEADERS), 0, NULL);
	json_object_set_new(o, "request",
			    json_pack("{s:o,s:o,s:s?}", "headers", rqh ? rqh : json_object(),
				      "payload", payload ? payload : json_null(), "body",
				      db_val(res, 0, DELIVERY_COL_REQUEST_BODY)));
	json_object_set_new(o, "response",
			    json_pack("{s:o,s:s?}", "headers", rsh ? rsh : json_object(), "body",
				      db_val(res, 0, DELIVERY_COL_RESPONSE_BODY)));
	*out = o;
	return 0;
}

int hook_redeliver(int64_t *out, struct forge *f, const struct repo *repo, int64_t hook_id,
		   int64_t delivery_id)
{
	int rc;
	if ((rc = hook_find(f, repo, hook_id)) ||
	    (rc = webhooks_redeliver(f->db, f->arena, f->err, hook_id, delivery_id, out)))
		return rc;
	webhooks_wake();
	return 0;
}
