/* common.c — helpers shared by the API handlers: JSON field access and
 * the headers of raw content. (The rules for names, refs and paths are the
 * domain's: forge/names.h.) */
#include "api/api.h"
#include "base/util.h"
#include "http/sse.h"
#include "queue/stream.h"
#include "forge/users.h"

#include <string.h>

void api_content_headers(struct resp *w)
{
	resp_header(w, "X-Content-Type-Options", "nosniff");
	resp_header(w, "Content-Security-Policy", "default-src 'none'; sandbox");
}

int json_str_field(struct req *r, const char *field, bool required, size_t maxlen, const char **out)
{
	return json_str_member(r, r->json, field, required, maxlen, out);
}

int json_str_member(struct req *r, json_t *obj, const char *field, bool required, size_t maxlen,
		    const char **out)
{
	json_t *v = json_object_get(obj, field);
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(&r->err, ERR_INVALID, "missing_field",
				       "field '%s' is required", field);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' must be a string",
			       field);
	if (json_string_length(v) > maxlen)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' is longer than %zu characters", field, maxlen);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' contains NUL",
			       field);
	*out = json_string_value(v);
	return 0;
}

int json_bool_field(struct req *r, const char *field, bool *out)
{
	json_t *v = json_object_get(r->json, field);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' must be true or false", field);
	*out = json_is_true(v);
	return 0;
}

struct user_client api_client(const struct req *r)
{
	return (struct user_client){ .ip = r->remote_ip, .user_agent = req_header(r, "User-Agent") };
}

int api_stream_sse(struct req *r, struct resp *w, int64_t stream_id)
{
	int64_t last = 0;
	const char *le = req_header(r, "Last-Event-ID");
	if (!le)
		le = req_query(r, "last_event_id");
	if (le && *le && parse_i64(le, 0, INT64_MAX, &last))
		return err_set(&r->err, ERR_INVALID, "invalid_last_event_id",
			       "Last-Event-ID '%.40s' is not an event id", le);
	/* subscribe first, then replay: nothing falls between the two */
	struct sse_sub *sub = sse_subscribe(stream_id, last);
	int rc = stream_replay(r->db, r->arena, &r->err, stream_id, last, sub);
	if (rc) {
		sse_sub_abandon(sub);
		return rc;
	}
	w->status = 200;
	w->content_type = "text/event-stream; charset=utf-8";
	resp_header(w, "Cache-Control", "no-cache, no-store");
	resp_header(w, "X-Accel-Buffering", "no");
	w->stream = sse_sub_start(sub);
	return 0;
}
