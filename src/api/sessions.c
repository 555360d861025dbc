/* sessions.c — agent sessions (forge/sessions.h): create, list, read,
 * rename/archive, delete; send a message, read the history, abort, and
 * the live stream (SSE, resumable with Last-Event-ID). */
#include "api/api.h"
#include "base/util.h"
#include "forge/sessions.h"
#include "http/sse.h"

#include <stdint.h>
#include <string.h>

/* :id as a session this caller can see (write: act on). */
static int session_param(struct req *r, bool write, struct session_ref *out)
{
	int64_t id;
	if (req_param_int(&id, r, "id"))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "session '%.40s' not found",
			       req_param(r, "id"));
	return session_find(out, FORGE(r), id, write);
}

/* An optional integer member of the body in [lo, hi] into *out. */
static int int_field(struct req *r, const char *field, int lo, int hi, int *out)
{
	json_t *v = json_object_get(r->json, field);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return err_set(&r->err, ERR_INVALID, "invalid_limit",
			       "field '%s' must be an integer between %d and %d", field, lo, hi);
	*out = (int)json_integer_value(v);
	return 0;
}

int h_session_create(struct req *r, struct resp *w)
{
	struct session_new in = { 0 };
	json_t *j;
	int rc;
	in.tools = json_object_get(r->json, "tools");
	if ((rc = json_str_field(r, "title", false, 4 * SESSION_TITLE_MAX, &in.title)) ||
	    (rc = json_str_field(r, "model", false, 4 * SESSION_MODEL_MAX, &in.model)) ||
	    (rc = json_str_field(r, "system", false, SESSION_SYSTEM_MAX, &in.system)) ||
	    (rc = int_field(r, "max_turns", 1, 200, &in.max_turns)) ||
	    (rc = int_field(r, "timeout", 10, 7200, &in.timeout_s)) ||
	    (rc = int_field(r, "max_output_tokens", 1, 128000, &in.max_output_tokens)) ||
	    (rc = session_create(&j, FORGE(r), r->repo, &in)))
		return rc;
	resp_header(w, "Location",
		    arena_printf(r->arena, "/api/sessions/%lld",
				 (long long)json_integer_value(json_object_get(j, "id"))));
	resp_json(w, 201, j);
	return 0;
}

int h_sessions_list(struct req *r, struct resp *w)
{
	int64_t before = INT64_MAX, limit = 30, next;
	bool archived = false;
	const char *a = req_query(r, "archived");
	if (req_query_int(&before, r, "before", 1, INT64_MAX) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_cursor", "before must be a session id");
	if (req_query_int(&limit, r, "limit", 1, 100) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_limit", "limit must be 1 to 100");
	if (a && strcmp(a, "true") && strcmp(a, "false"))
		return err_set(&r->err, ERR_INVALID, "invalid_query", "archived is true or false");
	archived = a && !strcmp(a, "true");
	json_t *arr;
	int rc = session_list(&arr, &next, FORGE(r), r->repo, before, (int)limit, archived);
	if (rc)
		return rc;
	json_t *o = json_pack("{s:o}", "sessions", arr);
	json_object_set_new(o, "next_cursor", next ? json_integer(next) : json_null());
	resp_json(w, 200, o);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_session_get(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *j;
	int rc;
	if ((rc = session_param(r, false, &s)) || (rc = session_get(&j, FORGE(r), &s)))
		return rc;
	resp_json(w, 200, j);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_session_update(struct req *r, struct resp *w)
{
	struct session_ref s;
	const char *title = NULL;
	bool archived, has_arch = json_object_get(r->json, "archived") != NULL;
	json_t *j;
	int rc;
	if ((rc = session_param(r, true, &s)) ||
	    (rc = json_str_field(r, "title", false, 4 * SESSION_TITLE_MAX, &title)) ||
	    (has_arch && (rc = json_bool_field(r, "archived", &archived))) ||
	    (rc = session_update(&j, FORGE(r), &s, title, has_arch ? &archived : NULL)))
		return rc;
	resp_json(w, 200, j);
	return 0;
}

int h_session_delete(struct req *r, struct resp *w)
{
	struct session_ref s;
	int rc;
	if ((rc = session_param(r, true, &s)) || (rc = session_delete(FORGE(r), &s)))
		return rc;
	w->status = 204;
	return 0;
}

int h_session_send(struct req *r, struct resp *w)
{
	struct session_ref s;
	const char *content = NULL;
	json_t *j;
	int rc;
	if ((rc = session_param(r, true, &s)) ||
	    (rc = json_str_field(r, "content", true, SESSION_MESSAGE_MAX, &content)) ||
	    (rc = session_send(&j, FORGE(r), &s, content)))
		return rc;
	resp_json(w, 202, j);
	return 0;
}

int h_session_messages(struct req *r, struct resp *w)
{
	struct session_ref s;
	int64_t after = 0, limit = 100, next;
	json_t *arr;
	int rc;
	if ((rc = session_param(r, false, &s)))
		return rc;
	if (req_query_int(&after, r, "after", 0, INT64_MAX) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_cursor", "after must be a message id");
	if (req_query_int(&limit, r, "limit", 1, 200) < 0)
		return err_set(&r->err, ERR_INVALID, "invalid_limit", "limit must be 1 to 200");
	if ((rc = session_messages(&arr, &next, FORGE(r), &s, after, (int)limit)))
		return rc;
	json_t *o = json_pack("{s:o}", "messages", arr);
	json_object_set_new(o, "next_cursor", next ? json_integer(next) : json_null());
	resp_json(w, 200, o);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

int h_session_abort(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *j;
	int rc;
	if ((rc = session_param(r, true, &s)) || (rc = session_abort(&j, FORGE(r), &s)))
		return rc;
	resp_json(w, json_is_true(json_object_get(j, "aborting")) ? 202 : 200, j);
	return 0;
}

int h_session_stream(struct req *r, struct resp *w)
{
	struct session_ref s;
	int rc = session_param(r, false, &s);
	return rc ? rc : api_stream_sse(r, w, s.stream_id);
}
