/* protection.c — the branch protection routes (admins of the repository):
 * read the pattern and the body, call the domain (forge/protection.h),
 * write JSON. */
#include "api/api.h"
#include "forge/protection.h"

#include <string.h>

/* *pattern: a branch glob (the part after refs/heads/). */
static int pattern_param(struct req *r, bool required, const char **out)
{
	const char *p = req_param(r, "pattern");
	if (!p || !*p) {
		if (required)
			return err_set(&r->err, ERR_INVALID, "invalid_pattern",
				       "a branch pattern is required: /protections/PATTERN");
		*out = NULL;
		return 0;
	}
	int rc = protection_pattern_check(FORGE(r), p);
	if (!rc)
		*out = p;
	return rc;
}

int h_protection_get(struct req *r, struct resp *w)
{
	const char *pattern = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = pattern_param(r, false, &pattern)) ||
	    (rc = pattern ? protection_rule_get(&o, FORGE(r), r->repo, pattern)
			  : protection_rules_list(&o, FORGE(r), r->repo)))
		return rc;
	resp_json(w, 200, o);
	return 0;
}

/* The contexts array of the body (strings borrowed from the body). */
static int contexts_param(struct req *r, const char *const **out, size_t *n)
{
	json_t *v = json_object_get(r->json, "required_status_contexts");
	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > PROTECTION_CONTEXTS_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'required_status_contexts' must be an array of at most %d "
			       "strings",
			       PROTECTION_CONTEXTS_MAX);
	const char **list = arena_alloc(r->arena, (json_array_size(v) + 1) * sizeof(*list));
	size_t i;
	json_t *c;
	json_array_foreach(v, i, c)
	{
		const char *s = json_string_value(c);
		if (!s || !*s || json_string_length(c) > PROTECTION_CONTEXT_MAX ||
		    strlen(s) != json_string_length(c))
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "required_status_contexts[%zu] must be a string of 1 to %d "
				       "characters",
				       i, PROTECTION_CONTEXT_MAX);
		list[i] = s;
	}
	*out = list;
	*n = json_array_size(v);
	return 0;
}

int h_protection_put(struct req *r, struct resp *w)
{
	struct protection_rule rule = { .no_force_push = true, .no_deletion = true };
	json_t *o = NULL;
	bool created = false;
	int rc;
	if ((rc = pattern_param(r, true, &rule.pattern)) ||
	    (rc = json_bool_field(r, "no_force_push", &rule.no_force_push)) ||
	    (rc = json_bool_field(r, "no_deletion", &rule.no_deletion)) ||
	    (rc = json_bool_field(r, "require_passing_statuses", &rule.require_passing_statuses)) ||
	    (rc = contexts_param(r, &rule.contexts, &rule.ncontexts)))
		return rc;
	json_t *ap = json_object_get(r->json, "required_approvals");
	if (ap && !json_is_null(ap)) {
		if (!json_is_integer(ap) || json_integer_value(ap) < 0 ||
		    json_integer_value(ap) > PROTECTION_APPROVALS_MAX)
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field 'required_approvals' must be a number from 0 to %d",
				       PROTECTION_APPROVALS_MAX);
		rule.required_approvals = (int)json_integer_value(ap);
	}
	if ((rc = protection_rule_put(&o, &created, FORGE(r), r->repo, &rule)))
		return rc;
	resp_json(w, created ? 201 : 200, o);
	return 0;
}

int h_protection_delete(struct req *r, struct resp *w)
{
	const char *pattern = NULL;
	int rc;
	if ((rc = pattern_param(r, true, &pattern)) ||
	    (rc = protection_rule_delete(FORGE(r), r->repo, pattern)))
		return rc;
	w->status = 204;
	return 0;
}
