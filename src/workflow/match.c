/* match.c — deciding whether a workflow runs for an event (trigger
 * filters), validating workflow_dispatch inputs, and finding the secrets a
 * step refers to. */
#include "workflow/workflow.h"

#include "base/buf.h"
#include "base/util.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* s without prefix when it starts with it. */
static const char *strip(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s && !strncmp(s, prefix, n) ? s + n : s ? s : "";
}

static bool list_has(const struct wf_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

static bool filter(const struct wf_strlist *l, const char *s)
{
	return glob_filter((const char *const *)l->v, l->n, s);
}

/* include / ignore pair: true when s passes. */
static bool pair_passes(const struct wf_strlist *inc, const struct wf_strlist *ign, const char *s)
{
	if (inc->set && !filter(inc, s))
		return false;
	if (ign->set && filter(ign, s))
		return false;
	return true;
}

static bool push_matches(const struct wf_trigger *t, const struct wf_event *ev)
{
	const char *ref = ev->ref ? ev->ref : "";
	bool tag = ev->tag || !strncmp(ref, "refs/tags/", 10);
	bool branch_filters = t->branches.set || t->branches_ignore.set;
	bool tag_filters = t->tags.set || t->tags_ignore.set;
	if (tag) {
		if (branch_filters && !tag_filters)
			return false;
		/* path filters are not evaluated for tags */
		return pair_passes(&t->tags, &t->tags_ignore, strip(ref, "refs/tags/"));
	}
	if (tag_filters && !branch_filters)
		return false;
	if (!pair_passes(&t->branches, &t->branches_ignore, strip(ref, "refs/heads/")))
		return false;
	if (!ev->paths)
		return true;
	if (t->paths.set) {
		size_t i;
		for (i = 0; i < ev->npaths; i++)
			if (filter(&t->paths, ev->paths[i]))
				break;
		if (i == ev->npaths)
			return false;
	}
	if (t->paths_ignore.set) {
		size_t i;
		for (i = 0; i < ev->npaths; i++)
			if (!filter(&t->paths_ignore, ev->paths[i]))
				break;
		if (i == ev->npaths)
			return false;
	}
	return true;
}

/* s with runs of whitespace made one space and the ends trimmed. */
static char *words_normalize(const char *s)
{
	struct buf b = BUF_INIT;
	for (; *s; s++) {
		if (isspace((unsigned char)*s)) {
			if (b.len && b.ptr[b.len - 1] != ' ')
				buf_addch(&b, ' ');
		} else {
			buf_addch(&b, *s);
		}
	}
	if (b.len && b.ptr[b.len - 1] == ' ')
		buf_setlen(&b, b.len - 1);
	return buf_detach(&b, NULL);
}

static bool cron_text_eq(const char *a, const char *b)
{
	char *x = words_normalize(a), *y = words_normalize(b);
	bool eq = !strcmp(x, y);
	free(x);
	free(y);
	return eq;
}

bool workflow_matches(const struct workflow *w, const struct wf_event *ev)
{
	if (!w || !ev || !ev->type)
		return false;
	int type = wf_event_type_parse(ev->type);
	if (type < 0)
		return false;
	if (!strcmp(ev->type, "issues") && ev->action && strcmp(ev->action, "opened"))
		return false;
	const struct wf_trigger *t = workflow_trigger(w, (enum wf_event_type)type);
	if (!t)
		return false;
	switch (t->type) {
	case WF_EV_PUSH: return push_matches(t, ev);
	case WF_EV_PULL_REQUEST: {
		const char *action = ev->action ? ev->action : "opened";
		if (!list_has(&t->types, action) &&
		    !(!strcmp(action, "merged") && list_has(&t->types, "closed")))
			return false;
		return pair_passes(&t->branches, &t->branches_ignore, strip(ev->base, "refs/heads/"));
	}
	case WF_EV_PULL_REQUEST_REVIEW:
		return list_has(&t->types, ev->action ? ev->action : "submitted");
	case WF_EV_ISSUE_COMMENT:
		return !t->contains || (ev->body && strcasestr(ev->body, t->contains));
	case WF_EV_MENTION:
		if (ev->user)
			return !strcasecmp(strip(ev->user, "@"), t->user);
		if (ev->body) {
			/* "@user" not followed by a name character */
			size_t n = strlen(t->user);
			for (const char *s = ev->body; (s = strchr(s, '@')) != NULL; s++) {
				if (!strncasecmp(s + 1, t->user, n) &&
				    !(isalnum((unsigned char)s[1 + n]) || s[1 + n] == '-' ||
				      s[1 + n] == '_'))
					return true;
			}
		}
		return false;
	case WF_EV_SCHEDULE:
		if (!ev->cron)
			return false;
		for (size_t i = 0; i < t->ncrons; i++)
			if (cron_text_eq(t->crons[i].text, ev->cron))
				return true;
		return false;
	case WF_EV_ISSUE_OPENED:
	case WF_EV_CHAT:
	case WF_EV_WORKFLOW_DISPATCH:
	case WF_EV_COUNT: break;
	}
	return true;
}

/* ---- inputs ------------------------------------------------------------ */

static json_t *input_convert(const struct wf_input *in, json_t *v, struct err *e)
{
	char *s = NULL;
	json_t *r = NULL;
	switch (in->type) {
	case WF_INPUT_BOOLEAN:
		if (json_is_boolean(v))
			return json_incref(v);
		if (json_is_string(v) && !strcmp(json_string_value(v), "true"))
			return json_true();
		if (json_is_string(v) && !strcmp(json_string_value(v), "false"))
			return json_false();
		err_set(e, ERR_INVALID, "invalid_input", "input '%s' must be true or false",
			in->name);
		return NULL;
	case WF_INPUT_NUMBER:
		if (json_is_number(v))
			return json_incref(v);
		if (json_is_string(v)) {
			const char *t = json_string_value(v);
			char *end;
			double d = strtod(t, &end);
			if (*t && !*end && isfinite(d) && !isspace((unsigned char)*t)) {
				if (d == floor(d) && fabs(d) < 9007199254740992.0)
					return json_integer((json_int_t)d);
				return json_real(d);
			}
		}
		err_set(e, ERR_INVALID, "invalid_input", "input '%s' must be a number", in->name);
		return NULL;
	default:
		if (json_is_object(v) || json_is_array(v)) {
			err_set(e, ERR_INVALID, "invalid_input", "input '%s' must be a string",
				in->name);
			return NULL;
		}
		s = expr_string(v);
		if (in->type == WF_INPUT_CHOICE) {
			size_t i;
			for (i = 0; i < in->options.n; i++)
				if (!strcmp(in->options.v[i], s))
					break;
			if (i == in->options.n) {
				struct buf b = BUF_INIT;
				for (i = 0; i < in->options.n; i++)
					buf_addf(&b, "%s%s", i ? ", " : "", in->options.v[i]);
				err_set(e, ERR_INVALID, "invalid_input",
					"input '%s' must be one of: %s", in->name, b.ptr);
				buf_release(&b);
				free(s);
				return NULL;
			}
		}
		r = json_string(s);
		free(s);
		return r;
	}
}

int workflow_inputs_resolve(json_t **out, const struct workflow *w, json_t *given, struct err *e)
{
	const struct wf_trigger *t = workflow_trigger(w, WF_EV_WORKFLOW_DISPATCH);
	size_t n = t ? t->ninputs : 0;
	json_t *res = NULL;
	*out = NULL;
	if (given && !json_is_object(given) && !json_is_null(given))
		return err_set(e, ERR_INVALID, "invalid_input", "inputs must be a JSON object");
	if (json_is_object(given)) {
		const char *k;
		json_t *v;
		json_object_foreach(given, k, v)
		{
			size_t i;
			for (i = 0; i < n; i++)
				if (!strcmp(t->inputs[i].name, k))
					break;
			if (i == n)
				return err_set(e, ERR_INVALID, "invalid_input",
					       "unknown input '%.64s'", k);
		}
	}
	res = json_object();
	for (size_t i = 0; i < n; i++) {
		const struct wf_input *in = &t->inputs[i];
		json_t *v = json_is_object(given) ? json_object_get(given, in->name) : NULL;
		json_t *r;
		if (v && !json_is_null(v)) {
			r = input_convert(in, v, e);
			if (!r) {
				json_decref(res);
				return ERR_INVALID;
			}
		} else if (in->def) {
			r = json_incref(in->def);
		} else if (in->required) {
			json_decref(res);
			return err_set(e, ERR_INVALID, "invalid_input", "input '%s' is required",
				       in->name);
		} else {
			r = in->type == WF_INPUT_BOOLEAN  ? json_false()
			    : in->type == WF_INPUT_NUMBER ? json_integer(0)
							  : json_string("");
		}
		json_object_set_new(res, in->name, r);
	}
	*out = res;
	return 0;
}

/* ---- secrets ----------------------------------------------------------- */

static bool env_refs(json_t *names, const struct wf_env *env)
{
	bool dyn = false;
	for (size_t i = 0; i < env->n; i++)
		dyn |= expr_secret_refs(names, env->v[i].value, false);
	return dyn;
}

bool workflow_step_secret_refs(json_t *names, const struct workflow *w, const struct wf_job *job,
			       const struct wf_step *step)
{
	bool dyn = false;
	dyn |= env_refs(names, &w->env);
	dyn |= env_refs(names, &job->env);
	dyn |= expr_secret_refs(names, job->if_expr, true);
	dyn |= env_refs(names, &step->env);
	dyn |= expr_secret_refs(names, step->run, false);
	dyn |= expr_secret_refs(names, step->name, false);
	dyn |= expr_secret_refs(names, step->working_directory, false);
	dyn |= expr_secret_refs(names, step->if_expr, true);
	return dyn;
}
