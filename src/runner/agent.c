/* agent.c — runs an agent workload (one turn of a session): checks the
 * repository out into the sandbox's workspace as a job does, then asks the
 * server for the model's reply (the server holds the key and streams the
 * tokens to the session's watchers), runs the tool calls the reply makes
 * (runner/tools.h), and asks again with their results, until the model
 * answers without calling a tool, a limit is reached, or the turn is
 * aborted. Posts tool_start and tool_end (and error, aborted) through the
 * reporter; message_start, token and message_end are the server's. */
#include "base/log.h"
#include "base/util.h"
#include "runner/client.h"
#include "runner/runner.h"
#include "runner/tools.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long the runner keeps asking a server that does not answer (it
 * restarts) before it gives the turn up. */
#define MODEL_RETRY_MS (90 * 1000)

static int tool_cancelled(void *cls)
{
	return reporter_cancelled(cls);
}

/* Whether the session offers tool name (spec.agent.tools): a reply may
 * ask for any tool, and the tool layer, not the model, keeps to the list. */
static bool offered(json_t *agent, const char *name)
{
	json_t *v;
	size_t i;
	json_array_foreach(json_object_get(agent, "tools"), i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	}
	return false;
}

/* Ends the turn as error with why (also an `error` event). */
static void fail(struct job_env *env, struct job_result *out, const char *code, const char *why)
{
	reporter_add(env->rep, "error", json_pack("{s:s,s:s}", "code", code, "message", why));
	out->result = "error";
	snprintf(out->reason, sizeof(out->reason), "%s", why);
}

/* Asks for turn's reply, sending results; retries while the server is
 * away, up to MODEL_RETRY_MS or the deadline. The reply, or NULL with why
 * set. */
static json_t *ask_model(struct client *cl, struct job_env *env, const char *path, const char *token,
			 int turn, json_t *results, int64_t deadline, char *why, size_t whylen)
{
	json_t *body = json_pack("{s:i,s:O}", "turn", turn, "tool_results", results);
	int64_t give_up = now_ms() + MODEL_RETRY_MS;
	json_t *reply = NULL;
	for (int backoff = 250;; backoff = backoff < 4000 ? backoff * 2 : 4000) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			snprintf(why, whylen, "the turn ran out of time");
			break;
		}
		int st = client_post(cl, path, token, body, (long)left + 5000, &reply);
		/* "retry": the server stopped the call to shut down */
		if (st == 200 && json_is_object(reply) &&
		    !json_is_true(json_object_get(reply, "retry")))
			break;
		if (st == 200)
			st = 503;
		const char *msg = json_string_value(
			json_object_get(json_object_get(reply, "error"), "message"));
		json_decref(reply);
		reply = NULL;
		if (st > 0 && st != 502 && st != 503) {
			snprintf(why, whylen, "the server refused the model call (%d): %s", st,
				 msg ? msg : "no reason given");
			break;
		}
		if (*env->stop || now_ms() + backoff > give_up || reporter_cancelled(env->rep)) {
			snprintf(why, whylen, "the server could not be reached for the model call");
			break;
		}
		usleep((useconds_t)backoff * 1000);
	}
	json_decref(body);
	return reply;
}

/* Runs the tool calls of one reply (uses), reporting tool_start and
 * tool_end, appending each result to results. Returns true when the turn
 * was cancelled (before a call or after the last). */
static bool run_tool_uses(struct job_env *env, struct tool_ctx *tc, json_t *agent, json_t *uses,
			  json_t *results)
{
	json_t *u;
	size_t i;
	json_array_foreach(uses, i, u)
	{
		if (reporter_cancelled(env->rep))
			return true;
		const char *id = json_string_value(json_object_get(u, "id")) ?: "";
		const char *name = json_string_value(json_object_get(u, "name")) ?: "";
		json_t *input = json_object_get(u, "input");
		reporter_add(env->rep, "tool_start",
			     json_pack("{s:s,s:s,s:O}", "id", id, "name", name, "input",
				       input ? input : json_null()));
		int64_t t0 = now_ms();
		char *output = NULL;
		bool is_error = false;
		if (offered(agent, name)) {
			tool_run(tc, name, input, &output, &is_error);
		} else {
			output = xasprintf("tool '%s' is not offered to this agent", name);
			is_error = true;
		}
		int64_t dur = now_ms() - t0;
		reporter_add(env->rep, "tool_end",
			     json_pack("{s:s,s:s,s:s,s:b,s:I}", "id", id, "name", name, "output",
				       output, "is_error", is_error, "duration_ms", (json_int_t)dur));
		json_array_append_new(results, json_pack("{s:s,s:s,s:b,s:I}", "id", id, "output",
							 output, "is_error", is_error,
							 "duration_ms", (json_int_t)dur));
		free(output);
	}
	return reporter_cancelled(env->rep);
}

void agent_run(struct job_env *env, struct job_result *out)
{
	json_t *spec = json_object_get(env->claim, "spec");
	json_t *agent = json_object_get(spec, "agent");
	int64_t wid = (int64_t)json_integer_value(json_object_get(env->claim, "workload"));
	const char *token = json_string_value(json_object_get(env->claim, "task_token"));
	json_int_t timeout = json_integer_value(json_object_get(agent, "timeout"));
	int64_t deadline = now_ms() + (timeout > 0 ? timeout : 600) * 1000;
	*out = (struct job_result){ .result = "success", .exit_code = 0 };

	char why[400] = "";
	if (job_checkout_workspace(env, why, sizeof(why))) {
		if (reporter_cancelled(env->rep)) {
			reporter_add(env->rep, "aborted", json_pack("{s:s}", "reason", "aborted"));
			out->result = "cancelled";
			return;
		}
		fail(env, out, "checkout_failed", why);
		return;
	}
	struct client *cl = client_new(env->server_url, env->stop);
	json_t *author = json_object_get(spec, "author");
	struct tool_ctx tc = {
		.sb = env->sb,
		.client = cl,
		.server_url = env->server_url,
		.workload_id = wid,
		.task_token = token,
		.clone_path = json_string_value(
			json_object_get(json_object_get(spec, "repo"), "clone_path")),
		.author_name = json_string_value(json_object_get(author, "name")),
		.author_email = json_string_value(json_object_get(author, "email")),
		.cancelled = tool_cancelled,
		.cls = env->rep,
	};
	char path[80];
	snprintf(path, sizeof(path), "/internal/tasks/%lld/model", (long long)wid);
	json_t *results = json_array();
	bool cancelled = false, done = false;
	int turn;
	for (turn = 1; !cancelled && !done; turn++) {
		/* what the tools did is stored before the model hears of it */
		reporter_flush(env->rep, 10000);
		json_t *reply = ask_model(cl, env, path, token, turn, results, deadline, why,
					  sizeof(why));
		json_decref(results);
		results = json_array();
		const char *status = json_string_value(json_object_get(reply, "status")) ?: "";
		json_t *err = json_object_get(reply, "error"),
		       *lim = json_object_get(reply, "limit");
		json_t *uses = json_object_get(reply, "tool_uses");
		if (!strcmp(status, "aborted") || reporter_cancelled(env->rep)) {
			cancelled = true;
		} else if (!reply) {
			fail(env, out, "model_unreachable", why);
			done = true;
		} else if (err || lim) {
			json_t *o = err ? err : lim;
			fail(env, out,
			     json_string_value(json_object_get(o, "code")) ?: "model_error",
			     json_string_value(json_object_get(o, "message")) ?: "the model failed");
			done = true;
		} else {
			cancelled = run_tool_uses(env, &tc, agent, uses, results);
			done = !json_array_size(uses); /* the model answered without a tool */
		}
		json_decref(reply);
	}
	if (cancelled && json_array_size(results)) {
		/* what the tools did is kept in the history: the results go
		 * with a request that asks for no reply (the loop moved turn
		 * on: it is the number of the reply that will not be asked) */
		json_t *body = json_pack("{s:i,s:O,s:b}", "turn", turn, "tool_results", results,
					 "stop", 1);
		json_t *reply = NULL;
		client_post(cl, path, token, body, 10000, &reply);
		json_decref(body);
		json_decref(reply);
	}
	json_decref(results);
	if (cancelled) {
		reporter_add(env->rep, "aborted", json_pack("{s:s}", "reason", "aborted"));
		out->result = "cancelled";
		snprintf(out->reason, sizeof(out->reason), "aborted");
	}
	tools_ctx_release(&tc);
	client_free(cl);
}
