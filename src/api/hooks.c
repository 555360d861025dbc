/* hooks.c — repository webhooks in the API (administrators of the
 * repository only): create, list, show, change and delete hooks, ping
 * them, read their delivery log and redeliver. The secret goes in and is
 * never shown again (sealed like repository secrets; `has_secret`
 * instead). Sending is queue/webhooks.c's. */
#include "api/api.h"
#include "base/util.h"
#include "db/db.h"
#include "queue/secrets.h"
#include "queue/webhooks.h"

#include <string.h>

#define MAX_HOOKS 20
#define MAX_SECRET 256

#define HOOK_COLS                                                                              \
	"h.id, h.url, h.content_type, array_to_json(h.events)::text, h.active, "                \
	"h.secret_cipher IS NOT NULL, " SQL_TS("h.created_at") ", " SQL_TS("h.updated_at") ", "           \
	"(SELECT json_build_object('id', d.id, 'status', d.status, 'event', d.event, "          \
	"'response_status', d.response_status, 'error', d.error)::text FROM "                    \
	"webhook_deliveries d WHERE d.hook_id = h.id ORDER BY d.id DESC LIMIT 1)"

static int hook_id(struct req *r, const char *name, int64_t *out)
{
	const char *s = req_param(r, name);
	if (parse_i64(s, 1, INT64_MAX, out))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "%s '%.40s' not found in '%s/%s'",
			       !strcmp(name, "id") ? "hook" : "delivery", s, r->repo->owner,
			       r->repo->name);
	return 0;
}

static json_t *hook_json(struct req *r, PGresult *res, int i)
{
	int64_t id = db_int(res, i, 0);
	json_t *events = json_loads(db_val(res, i, 3), 0, NULL);
	json_t *last = db_val(res, i, 8) ? json_loads(db_val(res, i, 8), 0, NULL) : NULL;
	const char *base = arena_printf(r->arena, "/api/%s/%s/hooks/%lld", r->repo->owner,
					r->repo->name, (long long)id);
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:b,s:b,s:s,s:s,s:o,s:s,s:s}", "id",
			 (json_int_t)id, "type", "Repository", "url", db_val(res, i, 1),
			 "content_type", db_val(res, i, 2), "events", events ? events : json_array(),
			 "active", db_bool(res, i, 4), "has_secret", db_bool(res, i, 5),
			 "created_at", db_val(res, i, 6), "updated_at", db_val(res, i, 7),
			 "last_delivery", last ? last : json_null(), "deliveries_url",
			 arena_printf(r->arena, "%s/deliveries", base), "ping_url",
			 arena_printf(r->arena, "%s/pings", base));
}

static int hook_load(struct req *r, int64_t id, PGresult **out)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " HOOK_COLS " FROM webhooks h WHERE h.id = $1 AND h.repo_id = $2",
			      i64s(r->arena, (long long)id), i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "hook %lld not found in '%s/%s'",
			       (long long)id, r->repo->owner, r->repo->name);
	*out = res;
	return 0;
}

/* The hook's fields from the body: top level, or GitHub's "config"
 * object for url, content_type and secret. Absent fields stay NULL. */
struct hook_in {
	const char *url, *content_type, *secret;
	const char *events; /* a Postgres array literal */
	int active;         /* -1: absent */
};

static int str_in(struct req *r, json_t *cfg_obj, const char *field, size_t max, const char **out)
{
	json_t *v = json_object_get(r->json, field);
	if ((!v || json_is_null(v)) && cfg_obj)
		v = json_object_get(cfg_obj, field);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' must be a string",
			       field);
	if (json_string_length(v) > max)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' is longer than %zu characters", field, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' contains NUL",
			       field);
	*out = json_string_value(v);
	return 0;
}

static int hook_parse(struct req *r, struct hook_in *in)
{
	int rc;
	memset(in, 0, sizeof(*in));
	in->active = -1;
	json_t *c = json_object_get(r->json, "config");
	if (c && !json_is_object(c))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field 'config' must be an object");
	if ((rc = str_in(r, c, "url", WEBHOOK_URL_MAX + 1, &in->url)) ||
	    (rc = str_in(r, c, "content_type", 40, &in->content_type)) ||
	    (rc = str_in(r, c, "secret", MAX_SECRET, &in->secret)))
		return rc;
	if (in->url && (rc = webhook_url_check(in->url, &r->err)))
		return rc;
	if (in->content_type) {
		/* GitHub's names too */
		if (!strcmp(in->content_type, "application/json"))
			in->content_type = "json";
		else if (!strcmp(in->content_type, "application/x-www-form-urlencoded"))
			in->content_type = "form";
		if (strcmp(in->content_type, "json") && strcmp(in->content_type, "form"))
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field 'content_type' must be 'json' or 'form', not '%.40s'",
				       in->content_type);
	}
	json_t *ev = json_object_get(r->json, "events");
	if (ev && !json_is_null(ev)) {
		if (!json_is_array(ev) || !json_array_size(ev))
			return err_set(&r->err, ERR_INVALID, "invalid_events",
				       "field 'events' must be a non-empty array of event names");
		json_t *lit = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(ev, i, v)
		{
			const char *name = json_string_value(v);
			if (!name || !webhook_event_valid(name)) {
				json_decref(lit);
				return err_set(&r->err, ERR_INVALID, "invalid_events",
					       "unknown event '%.40s': one of push, pull_request, "
					       "pull_request_review, issues, issue_comment, workflow_run "
					       "or '*'",
					       name ? name : "(not a string)");
			}
			bool dup = false;
			size_t k;
			json_t *x;
			json_array_foreach(lit, k, x)
				dup |= !strcmp(json_string_value(x), name);
			if (!dup)
				json_array_append(lit, v);
		}
		/* text[] from a JSON array: jsonb_array_elements_text in SQL */
		char *s = json_dumps(lit, JSON_COMPACT);
		in->events = arena_strdup(r->arena, s);
		free(s);
		json_decref(lit);
	}
	bool active;
	json_t *a = json_object_get(r->json, "active");
	if (a && !json_is_null(a)) {
		if ((rc = json_bool_field(r, "active", &active)))
			return rc;
		in->active = active;
	}
	return 0;
}

static void seal(struct req *r, const char *secret, const char **nonce, const char **cipher)
{
	*nonce = *cipher = NULL;
	if (secret && *secret)
		secret_seal(r->arena, r->repo->id, "webhook", secret, strlen(secret), nonce, cipher);
}

int h_hooks_list(struct req *r, struct resp *w)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " HOOK_COLS " FROM webhooks h WHERE h.repo_id = $1 ORDER BY h.id",
			      i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, hook_json(r, res, i));
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_create(struct req *r, struct resp *w)
{
	struct hook_in in;
	int rc;
	if ((rc = hook_parse(r, &in)))
		return rc;
	if (!in.url)
		return err_set(&r->err, ERR_INVALID, "missing_field", "field 'url' is required");
	const char *nonce, *cipher;
	seal(r, in.secret, &nonce, &cipher);
	const char *rid = i64s(r->arena, (long long)r->repo->id);
	if (db_begin(r->db, &r->err))
		return r->err.code;
	/* the repository row serialises creators, so the cap is exact */
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT (SELECT count(*) FROM webhooks WHERE repo_id = $1) FROM "
			      "repositories WHERE id = $1 FOR UPDATE",
			      rid);
	if (!res)
		goto fail;
	if (PQntuples(res) == 1 && db_int(res, 0, 0) >= MAX_HOOKS) {
		err_set(&r->err, ERR_CONFLICT, "too_many_hooks",
			"repository '%s/%s' already has %d hooks", r->repo->owner, r->repo->name,
			MAX_HOOKS);
		goto fail;
	}
	res = db_qv(r->db, r->arena, &r->err,
		    "INSERT INTO webhooks (repo_id, url, content_type, events, active, secret_nonce, "
		    "secret_cipher, created_by) VALUES ($1, $2, $3, ARRAY(SELECT "
		    "jsonb_array_elements_text($4::jsonb)), $5, $6, $7, $8) RETURNING id",
		    rid, in.url, in.content_type ? in.content_type : "json",
		    in.events ? in.events : "[\"push\"]", in.active == 0 ? "false" : "true", nonce,
		    cipher, r->auth.user_id ? i64s(r->arena, (long long)r->auth.user_id) : NULL);
	if (!res)
		goto fail;
	int64_t id = db_int(res, 0, 0);
	if ((in.active != 0 && webhooks_ping(r->db, r->arena, &r->err, id)) ||
	    db_commit(r->db, &r->err))
		goto fail;
	webhooks_wake();
	if ((rc = hook_load(r, id, &res)))
		return rc;
	resp_json(w, 201, hook_json(r, res, 0));
	return 0;
fail:
	db_rollback(r->db);
	return r->err.code;
}

int h_hook_get(struct req *r, struct resp *w)
{
	int64_t id;
	PGresult *res;
	int rc;
	if ((rc = hook_id(r, "id", &id)) || (rc = hook_load(r, id, &res)))
		return rc;
	resp_json(w, 200, hook_json(r, res, 0));
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_update(struct req *r, struct resp *w)
{
	int64_t id;
	PGresult *res;
	struct hook_in in;
	int rc;
	if ((rc = hook_id(r, "id", &id)) || (rc = hook_load(r, id, &res)) ||
	    (rc = hook_parse(r, &in)))
		return rc;
	const char *nonce = NULL, *cipher = NULL;
	seal(r, in.secret, &nonce, &cipher);
	/* "secret": "" removes it; absent keeps it */
	res = db_qv(r->db, r->arena, &r->err,
		    "UPDATE webhooks SET url = coalesce($3, url), content_type = coalesce($4, "
		    "content_type), events = CASE WHEN $5::jsonb IS NULL THEN events ELSE "
		    "ARRAY(SELECT jsonb_array_elements_text($5::jsonb)) END, active = coalesce($6, "
		    "active), secret_nonce = CASE WHEN $7 THEN $8 ELSE secret_nonce END, "
		    "secret_cipher = CASE WHEN $7 THEN $9 ELSE secret_cipher END, updated_at = now() "
		    "WHERE id = $1 AND repo_id = $2",
		    i64s(r->arena, (long long)id), i64s(r->arena, (long long)r->repo->id), in.url,
		    in.content_type, in.events,
		    in.active < 0 ? NULL : in.active ? "true" : "false",
		    in.secret ? "true" : "false", nonce, cipher);
	if (!res)
		return r->err.code;
	if (in.active == 1)
		webhooks_wake(); /* deliveries held while inactive */
	if ((rc = hook_load(r, id, &res)))
		return rc;
	resp_json(w, 200, hook_json(r, res, 0));
	return 0;
}

int h_hook_delete(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = hook_id(r, "id", &id)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM webhooks WHERE id = $1 AND repo_id = $2 RETURNING 1",
			      i64s(r->arena, (long long)id), i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "hook %lld not found in '%s/%s'",
			       (long long)id, r->repo->owner, r->repo->name);
	w->status = 204;
	return 0;
}

int h_hook_ping(struct req *r, struct resp *w)
{
	int64_t id;
	PGresult *res;
	int rc;
	if ((rc = hook_id(r, "id", &id)) || (rc = hook_load(r, id, &res)) ||
	    (rc = webhooks_ping(r->db, r->arena, &r->err, id)))
		return rc;
	webhooks_wake();
	w->status = 204;
	return 0;
}

#define DELIVERY_COLS                                                                          \
	"id, guid, event, action, status, attempts, redelivery_of IS NOT NULL, "                  \
	"response_status, duration_ms, error, " SQL_TS("created_at") ", " SQL_TS("finished_at") ", "      \
	"CASE WHEN status = 'pending' THEN " SQL_TS("next_attempt_at") " END, coalesce(event_id, 0)"

static json_t *delivery_json(PGresult *res, int i)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s?,s:s,s:I,s:b,s:s?,s:s?,s:s?}", "id",
			      (json_int_t)db_int(res, i, 0), "guid", db_val(res, i, 1), "event",
			      db_val(res, i, 2), "action", db_val(res, i, 3), "status",
			      db_val(res, i, 4), "attempts", (json_int_t)db_int(res, i, 5),
			      "redelivery", db_bool(res, i, 6), "error", db_val(res, i, 9),
			      "delivered_at", db_val(res, i, 11), "next_attempt_at",
			      db_val(res, i, 12));
	json_object_set_new(o, "status_code",
			    db_val(res, i, 7) ? json_integer(db_int(res, i, 7)) : json_null());
	json_object_set_new(o, "duration_ms",
			    db_val(res, i, 8) ? json_integer(db_int(res, i, 8)) : json_null());
	json_object_set_new(o, "created_at", json_string(db_val(res, i, 10)));
	if (db_int(res, i, 13))
		json_object_set_new(o, "event_id", json_integer(db_int(res, i, 13)));
	return o;
}

int h_hook_deliveries(struct req *r, struct resp *w)
{
	int64_t id;
	PGresult *res;
	int rc;
	if ((rc = hook_id(r, "id", &id)) || (rc = hook_load(r, id, &res)))
		return rc;
	/* newest first; ?before=ID pages back */
	int64_t before = INT64_MAX;
	const char *b = req_query(r, "before");
	if (b && parse_i64(b, 1, INT64_MAX, &before))
		return err_set(&r->err, ERR_INVALID, "invalid_query",
			       "'before' must be a delivery id, not '%.40s'", b);
	res = db_qv(r->db, r->arena, &r->err,
		    "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE hook_id = $1 AND id < $2 "
		    "ORDER BY id DESC LIMIT 100",
		    i64s(r->arena, (long long)id), i64s(r->arena, (long long)before));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, delivery_json(res, i));
	resp_json(w, 200, arr);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_delivery_get(struct req *r, struct resp *w)
{
	int64_t id, did;
	PGresult *res;
	int rc;
	if ((rc = hook_id(r, "id", &id)) || (rc = hook_load(r, id, &res)) ||
	    (rc = hook_id(r, "delivery", &did)))
		return rc;
	res = db_qv(r->db, r->arena, &r->err,
		    "SELECT " DELIVERY_COLS ", payload, coalesce(request_headers::text, '{}'), "
		    "request_body, coalesce(response_headers::text, '{}'), response_body "
		    "FROM webhook_deliveries WHERE hook_id = $1 AND id = $2",
		    i64s(r->arena, (long long)id), i64s(r->arena, (long long)did));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "delivery %lld of hook %lld not found",
			       (long long)did, (long long)id);
	json_t *o = delivery_json(res, 0);
	json_t *payload = json_loads(db_val(res, 0, 14), 0, NULL);
	json_t *rqh = json_loads(db_val(res, 0, 15), 0, NULL);
	json_t *rsh = json_loads(db_val(res, 0, 17), 0, NULL);
	json_object_set_new(o, "request",
			    json_pack("{s:o,s:o,s:s?}", "headers", rqh ? rqh : json_object(),
				      "payload", payload ? payload : json_null(), "body",
				      db_val(res, 0, 16)));
	json_object_set_new(o, "response",
			    json_pack("{s:o,s:s?}", "headers", rsh ? rsh : json_object(), "body",
				      db_val(res, 0, 18)));
	resp_json(w, 200, o);
	resp_header(w, "Cache-Control", "private, no-store");
	return 0;
}

int h_hook_redeliver(struct req *r, struct resp *w)
{
	int64_t id, did, nid;
	PGresult *res;
	int rc;
	if ((rc = hook_id(r, "id", &id)) || (rc = hook_load(r, id, &res)) ||
	    (rc = hook_id(r, "delivery", &did)) ||
	    (rc = webhooks_redeliver(r->db, r->arena, &r->err, id, did, &nid)))
		return rc;
	webhooks_wake();
	resp_json(w, 202, json_pack("{s:I,s:I}", "id", (json_int_t)nid, "redelivery_of",
				    (json_int_t)did));
	return 0;
}
