/* internal.c — the runner protocol (/internal/...): registration with the
 * pool secret, long-poll claims, heartbeats, and the task endpoints a
 * runner uses with the task token of the workload it holds: event batches,
 * completion, and a cancel watch. Routes are ROUTE_INTERNAL: credentials
 * are checked here, not by the dispatcher. Long-polls park the connection
 * (queue/notifier.c) and hold no worker or database connection. */
#include "api/api.h"
#include "base/util.h"
#include "queue/agent.h"
#include "queue/queue.h"

#include <string.h>
#include <strings.h>

static const char *bearer(const struct req *r)
{
	const char *h = req_header(r, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h && strlen(h) <= 200 ? h : NULL;
}

/* :id as a runner or task id. */
static int id_param(struct req *r, int64_t *out)
{
	if (req_param_int(out, r, "id"))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "'%.40s' is not a valid id",
			       req_param(r, "id"));
	return 0;
}

static void json_stream_response(struct resp *w, struct http_stream *s)
{
	w->status = 200;
	w->content_type = "application/json";
	resp_header(w, "Cache-Control", "no-store");
	w->stream = s;
}

int h_runner_register(struct req *r, struct resp *w)
{
	const char *sec = bearer(r), *want = queue_runner_secret();
	if (!ct_str_equal(sec, want))
		return err_set(&r->err, ERR_AUTH, "invalid_secret",
			       "invalid runner registration secret");
	const char *host = "", *sandbox = NULL;
	int rc;
	if ((rc = json_str_field(r, "host", false, 200, &host)) ||
	    (rc = json_str_field(r, "sandbox", false, 20, &sandbox)))
		return rc;
	json_t *pid = json_object_get(r->json, "pid");
	if (pid && !json_is_integer(pid))
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'pid' must be an integer");
	int64_t id;
	const char *token;
	if ((rc = runner_register(r->db, r->arena, &r->err, host,
				  pid ? (int)json_integer_value(pid) : 0, sandbox, &id, &token)))
		return rc;
	resp_json(w, 201, json_pack("{s:I,s:s}", "id", (json_int_t)id, "token", token));
	return 0;
}

int h_runner_claim(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = id_param(r, &id)) || (rc = runner_check(r->db, r->arena, &r->err, id, bearer(r))))
		return rc;
	/* a claim is also a sign of life */
	if ((rc = runner_heartbeat(r->db, r->arena, &r->err, id)))
		return rc;
	json_t *out = NULL;
	if ((rc = queue_claim(r->db, r->arena, &r->err, id, &out)))
		return rc;
	if (out) {
		resp_json(w, 200, out);
		resp_header(w, "Cache-Control", "no-store");
		return 0;
	}
	json_stream_response(w, queue_claim_park(id));
	return 0;
}

int h_runner_heartbeat(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if ((rc = id_param(r, &id)) || (rc = runner_check(r->db, r->arena, &r->err, id, bearer(r))) ||
	    (rc = runner_heartbeat(r->db, r->arena, &r->err, id)))
		return rc;
	resp_json(w, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

int task_load(struct req *r, struct task *t)
{
	int64_t id;
	int rc;
	if ((rc = id_param(r, &id)))
		return rc;
	return task_auth(r->db, r->arena, &r->err, id, bearer(r), t);
}

int h_task_events(struct req *r, struct resp *w)
{
	struct task t;
	bool cancel = false;
	int rc;
	if ((rc = task_load(r, &t)) ||
	    (rc = task_events(r->db, r->arena, &r->err, &t, r->json, &cancel)))
		return rc;
	resp_json(w, 200, json_pack("{s:b}", "cancel", cancel));
	return 0;
}

int h_task_complete(struct req *r, struct resp *w)
{
	struct task t;
	int rc;
	if ((rc = task_load(r, &t)) || (rc = task_complete(r->db, r->arena, &r->err, &t, r->json)))
		return rc;
	resp_json(w, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

int h_task_watch(struct req *r, struct resp *w)
{
	struct task t;
	int rc;
	if ((rc = task_load(r, &t)))
		return rc;
	if (t.cancel) {
		resp_json(w, 200, json_pack("{s:b}", "cancel", 1));
		return 0;
	}
	json_stream_response(w, queue_watch_park(t.workload_id));
	return 0;
}

int h_task_model(struct req *r, struct resp *w)
{
	struct task t;
	struct http_stream *s = NULL;
	int rc;
	if ((rc = task_load(r, &t)) || (rc = agent_model(&s, r->db, r->arena, &r->err, &t, r->json)))
		return rc;
	json_stream_response(w, s);
	return 0;
}
