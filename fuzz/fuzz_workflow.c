/* fuzz_workflow.c — libFuzzer target for the workflow parser: any bytes in,
 * either a clean ERR_INVALID with a one-line FILE:LINE:COL message, or a
 * model that survives everything the dispatcher does with one (JSON form,
 * matrix expansion, step names, secret references, trigger matching,
 * dispatch inputs, condition and interpolation checks). */
// fuzz-sources: src/workflow/workflow.c src/workflow/match.c src/workflow/matrix.c src/workflow/json.c src/workflow/expr.c src/workflow/glob.c src/workflow/cron.c src/base/arena.c src/base/buf.c src/base/err.c src/base/util.c
// fuzz-options: -max_len=16384
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workflow/workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct workflow *w)
{
	json_t *j = workflow_to_json(w);
	if (!j)
		abort();
	json_decref(j);

	struct expr_ctx ctx = { 0 };
	for (size_t i = 0; i < w->njobs; i++) {
		const struct wf_job *job = &w->jobs[i];
		struct wf_instance *v;
		size_t n;
		struct err e = { 0 };
		/* the parser already expanded the matrix once: it must work again */
		if (workflow_job_expand(&v, &n, job, &ctx, &e) || n == 0 || n > 256)
			abort();
		for (size_t k = 0; k < n; k++)
			if (!v[k].name || !json_is_object(v[k].matrix))
				abort();
		wf_instances_free(v, n);
		for (size_t s = 0; s < job->nsteps; s++) {
			char name[64];
			json_t *names = json_array();
			if (!wf_step_name(&job->steps[s], name, sizeof(name)) || !job->steps[s].run)
				abort();
			workflow_step_secret_refs(names, w, job, &job->steps[s]);
			json_decref(names);
			bool ok;
			struct err ce = { 0 };
			if (expr_condition(&ok, job->steps[s].if_expr, &ctx, &ce) && !ce.msg[0])
				abort();
			char *out = NULL;
			struct err ie = { 0 };
			if (expr_interpolate(&out, job->steps[s].run, &ctx, &ie) && !ie.msg[0])
				abort();
			free(out);
		}
		for (size_t k = 0; k < job->needs.n; k++) {
			size_t t;
			for (t = 0; t < w->njobs; t++)
				if (!strcmp(w->jobs[t].id, job->needs.v[k]))
					break;
			if (t == w->njobs)
				abort(); /* needs must have been checked */
		}
	}

	static const char *const paths[] = { "src/a.c", "docs/x.md", "Makefile" };
	static const struct wf_event events[] = {
		{ .type = "push", .ref = "refs/heads/main", .paths = paths, .npaths = 3 },
		{ .type = "push", .ref = "refs/tags/v1" },
		{ .type = "pull_request", .action = "merged", .base = "main" },
		{ .type = "issue_comment", .body = "hello @plue" },
		{ .type = "mention", .body = "@plue help" },
		{ .type = "schedule", .cron = "17 3 * * *" },
		{ .type = "workflow_dispatch" },
		{ .type = "chat" },
	};
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		(void)workflow_matches(w, &events[i]);

	json_t *inputs = NULL;
	struct err e = { 0 };
	if (workflow_inputs_resolve(&inputs, w, NULL, &e) && (inputs || !e.msg[0]))
		abort();
	json_decref(inputs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct workflow *w = NULL;
	struct err e = { 0 };
	/* An exact-size copy, so reading one byte past len is caught. */
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	int rc = workflow_parse(&w, ".plue/workflows/fuzz.yaml", text, size, &e);
	if (rc) {
		if (rc != ERR_INVALID || w || strcmp(e.slug, "workflow_invalid") ||
		    strncmp(e.msg, ".plue/workflows/fuzz.yaml:", 26) || strchr(e.msg, '\n'))
			abort();
	} else {
		if (!w || !w->name || w->ntriggers == 0 ||
		    (w->mode == WF_MODE_SCRIPTED && w->njobs == 0) ||
		    (w->mode == WF_MODE_AGENT && !w->agent.model))
			abort();
		exercise(w);
	}
	workflow_free(w);
	free(text);
	return 0;
}
