/* matrix.c — expanding a job's strategy.matrix into concrete job
 * instances (cartesian product, exclude, include), each with its display
 * name and matrix values. */
#include "workflow/workflow.h"

#include "base/buf.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_INSTANCES 256

static bool is_special(const char *key)
{
	return !strcmp(key, "include") || !strcmp(key, "exclude");
}

/* True when every key/value of entry is in combo with an equal value. */
static bool entry_covers(const json_t *entry, const json_t *combo)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)entry, k, v)
	{
		json_t *c = json_object_get(combo, k);
		if (!c || !json_equal(c, v))
			return false;
	}
	return true;
}

/* The combinations of m as a new array of objects. */
static int combos_build(json_t **out, const json_t *m, const char *job, struct err *e)
{
	json_t *combos = json_array();
	const char *k;
	json_t *vals;
	bool any_key = false;
	json_array_append_new(combos, json_object());
	json_object_foreach((json_t *)m, k, vals)
	{
		if (is_special(k))
			continue;
		any_key = true;
		json_t *next = json_array();
		size_t i, j;
		json_t *c, *v;
		json_array_foreach(combos, i, c)
		{
			json_array_foreach(vals, j, v)
			{
				json_t *nc = json_copy(c);
				json_object_set(nc, k, v);
				json_array_append_new(next, nc);
			}
		}
		json_decref(combos);
		combos = next;
		if (json_array_size(combos) > MAX_INSTANCES) {
			json_decref(combos);
			return err_set(e, ERR_INVALID, NULL,
				       "matrix of job '%s' has more than %d combinations", job,
				       MAX_INSTANCES);
		}
	}
	if (!any_key)
		json_array_clear(combos);

	json_t *exc = json_object_get(m, "exclude");
	size_t i;
	json_t *x;
	json_array_foreach(exc, i, x)
	{
		for (size_t c = 0; c < json_array_size(combos);) {
			if (entry_covers(x, json_array_get(combos, c)))
				json_array_remove(combos, c);
			else
				c++;
		}
	}

	size_t originals = json_array_size(combos);
	json_t *inc = json_object_get(m, "include");
	json_array_foreach(inc, i, x)
	{
		bool added = false;
		for (size_t c = 0; c < originals; c++) {
			json_t *combo = json_array_get(combos, c);
			const char *ik;
			json_t *iv;
			bool ok = true;
			/* values of the original matrix may not be overwritten */
			json_object_foreach(x, ik, iv)
			{
				json_t *have = json_object_get(combo, ik);
				if (have && json_object_get(m, ik) && !is_special(ik) &&
				    !json_equal(have, iv))
					ok = false;
			}
			if (!ok)
				continue;
			json_object_update(combo, x);
			added = true;
		}
		if (!added)
			json_array_append_new(combos, json_copy(x));
		if (json_array_size(combos) > MAX_INSTANCES) {
			json_decref(combos);
			return err_set(e, ERR_INVALID, NULL,
				       "matrix of job '%s' has more than %d combinations", job,
				       MAX_INSTANCES);
		}
	}
	if (!json_array_size(combos)) {
		json_decref(combos);
		return err_set(e, ERR_INVALID, NULL,
			       "matrix of job '%s' has no combinations left after exclude", job);
	}
	*out = combos;
	return 0;
}

/* "base (v1, v2)" from the combination's values in order. */
static char *name_build(const struct wf_job *job, const json_t *combo, const struct expr_ctx *ctx,
			bool with_matrix)
{
	const char *base = job->name ? job->name : job->id;
	if (job->name && strstr(job->name, "${{")) {
		struct expr_ctx c = ctx ? *ctx : (struct expr_ctx){ 0 };
		char *s;
		c.matrix = (json_t *)combo;
		if (!expr_interpolate(&s, job->name, &c, NULL))
			return s;
		return xstrdup(job->name);
	}
	if (!with_matrix || !json_object_size(combo))
		return xstrdup(base);
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s (", base);
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)combo, k, v)
	{
		char *s = expr_string(v);
		buf_addf(&b, "%s%s", first ? "" : ", ", s);
		free(s);
		first = false;
	}
	buf_addch(&b, ')');
	return buf_detach(&b, NULL);
}

int workflow_job_expand(struct wf_instance **out, size_t *n, const struct wf_job *job,
			const struct expr_ctx *ctx, struct err *e)
{
	*out = NULL;
	*n = 0;
	if (!job->matrix) {
		json_t *empty = json_object();
		*out = xcalloc(1, sizeof(**out));
		(*out)[0].name = name_build(job, empty, ctx, false);
		(*out)[0].matrix = empty;
		*n = 1;
		return 0;
	}
	json_t *combos = NULL;
	int rc = combos_build(&combos, job->matrix, job->id, e);
	if (rc)
		return rc;
	size_t count = json_array_size(combos);
	struct wf_instance *v = xcalloc(count, sizeof(*v));
	for (size_t i = 0; i < count; i++) {
		json_t *c = json_array_get(combos, i);
		v[i].matrix = json_incref(c);
		v[i].name = name_build(job, c, ctx, true);
	}
	json_decref(combos);
	*out = v;
	*n = count;
	return 0;
}

void wf_instances_free(struct wf_instance *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		json_decref(v[i].matrix);
	}
	free(v);
}
