/* json.c — the workflow model as JSON, normalised (canonical event names,
 * lists as lists, defaults filled in), for storage and the API. */
#include "workflow/workflow.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *list_json(const struct wf_strlist *l)
{
	json_t *a = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static json_t *env_json(const struct wf_env *env)
{
	json_t *o = json_object();
	for (size_t i = 0; i < env->n; i++)
		json_object_set_new(o, env->v[i].key, json_string(env->v[i].value));
	return o;
}

static json_t *minutes(int sec)
{
	if (sec % 60 == 0)
		return json_integer(sec / 60);
	return json_real(sec / 60.0);
}

static json_t *perms_json(const struct wf_permissions *p)
{
	static const char *const lv[] = { "none", "read", "write" };
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "contents", lv[p->contents], "issues",
			 lv[p->issues], "pull-requests", lv[p->pull_requests], "statuses",
			 lv[p->statuses], "network", p->network);
}

static json_t *trigger_json(const struct wf_trigger *t)
{
	json_t *o = json_object();
	struct {
		const char *name;
		const struct wf_strlist *l;
	} lists[] = {
		{ "branches", &t->branches }, { "branches-ignore", &t->branches_ignore },
		{ "tags", &t->tags },         { "tags-ignore", &t->tags_ignore },
		{ "paths", &t->paths },       { "paths-ignore", &t->paths_ignore },
		{ "types", &t->types },
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (lists[i].l->set || (lists[i].l->n && i == 6))
			json_object_set_new(o, lists[i].name, list_json(lists[i].l));
	if (t->contains)
		json_object_set_new(o, "contains", json_string(t->contains));
	if (t->type == WF_EV_MENTION)
		json_object_set_new(o, "user", json_string(t->user));
	if (t->type == WF_EV_WORKFLOW_DISPATCH) {
		static const char *const tn[] = { "string", "choice", "boolean", "number" };
		json_t *inputs = json_object();
		for (size_t i = 0; i < t->ninputs; i++) {
			const struct wf_input *in = &t->inputs[i];
			json_t *x = json_pack("{s:s, s:b}", "type", tn[in->type], "required",
					      in->required);
			if (in->description)
				json_object_set_new(x, "description", json_string(in->description));
			if (in->def)
				json_object_set(x, "default", in->def);
			if (in->type == WF_INPUT_CHOICE)
				json_object_set_new(x, "options", list_json(&in->options));
			json_object_set_new(inputs, in->name, x);
		}
		json_object_set_new(o, "inputs", inputs);
	}
	if (t->type == WF_EV_SCHEDULE) {
		json_t *a = json_array();
		for (size_t i = 0; i < t->ncrons; i++)
			json_array_append_new(a, json_pack("{s:s}", "cron", t->crons[i].text));
		json_decref(o);
		return a;
	}
	return o;
}

static json_t *step_json(const struct wf_step *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", str_or_null(s->name));
	json_object_set_new(o, "run", json_string(s->run));
	json_object_set_new(o, "env", env_json(&s->env));
	json_object_set_new(o, "working-directory", str_or_null(s->working_directory));
	json_object_set_new(o, "timeout-minutes",
			    s->timeout_sec ? minutes(s->timeout_sec) : json_null());
	json_object_set_new(o, "continue-on-error", json_boolean(s->continue_on_error));
	json_object_set_new(o, "if", str_or_null(s->if_expr));
	return o;
}

static json_t *job_json(const struct wf_job *j)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", str_or_null(j->name));
	json_object_set_new(o, "runs-on", json_string(j->runs_on));
	json_object_set_new(o, "needs", list_json(&j->needs));
	json_object_set_new(o, "if", str_or_null(j->if_expr));
	json_object_set_new(o, "timeout-minutes", minutes(j->timeout_sec));
	json_object_set_new(o, "continue-on-error", json_boolean(j->continue_on_error));
	json_object_set_new(o, "env", env_json(&j->env));
	if (j->matrix)
		json_object_set_new(o, "strategy",
				    json_pack("{s:O, s:b, s:i}", "matrix", j->matrix, "fail-fast",
					      j->fail_fast, "max-parallel", j->max_parallel));
	json_object_set_new(o, "permissions", perms_json(&j->permissions));
	json_t *steps = json_array();
	for (size_t i = 0; i < j->nsteps; i++)
		json_array_append_new(steps, step_json(&j->steps[i]));
	json_object_set_new(o, "steps", steps);
	return o;
}

json_t *workflow_to_json(const struct workflow *w)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(w->name));
	json_object_set_new(o, "file", json_string(w->file));
	json_object_set_new(o, "mode", json_string(w->mode == WF_MODE_AGENT ? "agent" : "scripted"));
	json_t *on = json_object();
	for (size_t i = 0; i < w->ntriggers; i++)
		json_object_set_new(on, wf_event_name(w->triggers[i].type),
				    trigger_json(&w->triggers[i]));
	json_object_set_new(o, "on", on);
	json_object_set_new(o, "env", env_json(&w->env));
	if (w->concurrency.group)
		json_object_set_new(o, "concurrency",
				    json_pack("{s:s, s:b}", "group", w->concurrency.group,
					      "cancel-in-progress",
					      w->concurrency.cancel_in_progress));
	json_object_set_new(o, "permissions", perms_json(&w->permissions));
	if (w->mode == WF_MODE_AGENT) {
		const struct wf_agent *a = &w->agent;
		json_t *ag = json_object();
		json_object_set_new(ag, "model", json_string(a->model));
		json_object_set_new(ag, "system", str_or_null(a->system));
		json_object_set_new(ag, "prompt", str_or_null(a->prompt));
		json_object_set_new(ag, "tools", list_json(&a->tools));
		json_object_set_new(ag, "max_turns", json_integer(a->max_turns));
		json_object_set_new(ag, "timeout", json_integer(a->timeout_sec));
		json_object_set_new(o, "agent", ag);
	} else {
		json_t *jobs = json_object();
		for (size_t i = 0; i < w->njobs; i++)
			json_object_set_new(jobs, w->jobs[i].id, job_json(&w->jobs[i]));
		json_object_set_new(o, "jobs", jobs);
	}
	return o;
}
