/* protection.c — protected branches: per-pattern rules a repository's
 * admins set (no force push, no deletion, required approving reviews,
 * required passing statuses), the rules that apply to one branch (for the
 * pre-receive hook and API merges), and the merge check. Patterns are
 * globs on the branch name: `*` stays within a path segment, `**` crosses
 * them (workflow/glob.h). */
#include "api/api.h"
#include "api/pulls.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/util.h"
#include "db/db.h"
#include "workflow/glob.h"

#include <stdlib.h>
#include <string.h>

#define PATTERN_MAX 255
#define CONTEXTS_MAX 50
#define CONTEXT_MAX 255
#define APPROVALS_MAX 20


/* Columns a rule query selects, in rule_json's order. */
#define RULE_COLS                                                                      \
	"pattern, no_force_push, no_deletion, required_approvals, "                    \
	"require_passing_statuses, array_to_json(required_status_contexts)::text, " SQL_TS( \
		"created_at") ", " SQL_TS("updated_at")

bool protection_needs_pull(const struct protection *p)
{
	return p->required_approvals > 0 || p->require_passing_statuses || p->ncontexts > 0;
}

int protection_get(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		   const char *branch, struct protection *out)
{
	memset(out, 0, sizeof(*out));
	PGresult *res = db_qv(db, a, e,
			      "SELECT " RULE_COLS " FROM protected_branches WHERE repo_id = $1 "
			      "ORDER BY pattern",
			      arena_printf(a, "%lld", (long long)repo_id));
	if (!res)
		return e->code;
	struct buf pats = BUF_INIT;
	size_t cap = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *pat = db_val(res, i, 0);
		if (!glob_match(pat, branch))
			continue;
		out->any = true;
		buf_addf(&pats, "%s%s", pats.len ? ", " : "", pat);
		out->no_force_push |= db_bool(res, i, 1);
		out->no_deletion |= db_bool(res, i, 2);
		int n = (int)db_int(res, i, 3);
		if (n > out->required_approvals)
			out->required_approvals = n;
		out->require_passing_statuses |= db_bool(res, i, 4);
		json_t *ctx = json_loads(db_val(res, i, 5), 0, NULL);
		size_t k;
		json_t *v;
		json_array_foreach(ctx, k, v)
		{
			const char *c = json_string_value(v);
			bool seen = false;
			for (size_t j = 0; c && j < out->ncontexts; j++)
				seen |= !strcmp(out->contexts[j], c);
			if (!c || seen)
				continue;
			if (out->ncontexts == cap) {
				cap = cap ? 2 * cap : 8;
				const char **nv = arena_alloc(a, cap * sizeof(*nv));
				if (out->ncontexts)
					memcpy(nv, out->contexts, out->ncontexts * sizeof(*nv));
				out->contexts = nv;
			}
			out->contexts[out->ncontexts++] = arena_strdup(a, c);
		}
		json_decref(ctx);
	}
	out->patterns = arena_strndup(a, pats.ptr, pats.len);
	buf_release(&pats);
	return 0;
}

/* Does user (admin flag, collaborator role text) still write to the
 * repository (owner_id)? The one authorization function decides. */
static bool still_writes(int64_t repo_id, int64_t owner_id, int64_t user_id, bool is_admin,
			 const char *role)
{
	struct repo rp = { .id = repo_id, .owner_id = owner_id, .owner = "", .name = "" };
	return authz_user_may(&rp, user_id, is_admin, role, ACT_WRITE);
}

/* Counts the approvals that count (see pulls.h); 0 or the refusal. */
static int check_approvals(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			   const struct protection *p, int64_t pull_id, const char *head_sha,
			   const char *commits)
{
	/* each reviewer's latest verdict; comments are not verdicts */
	PGresult *res = db_qv(db, a, e,
			      "SELECT DISTINCT ON (r.author_id) r.state, r.commit_sha, u.username, "
			      "  u.id, u.is_admin, coalesce(c.role, ''), rp.owner_id, "
			      "  EXISTS (SELECT 1 FROM push_commits pc WHERE pc.repo_id = r.repo_id "
			      "    AND pc.pusher_id = r.author_id AND pc.sha = ANY($2::text[])) "
			      "FROM reviews r JOIN users u ON u.id = r.author_id "
			      "JOIN repositories rp ON rp.id = r.repo_id "
			      "LEFT JOIN collaborators c "
			      "  ON c.repo_id = r.repo_id AND c.user_id = r.author_id "
			      "WHERE r.pull_id = $1 AND r.state IN ('approved', 'changes_requested') "
			      "ORDER BY r.author_id, r.id DESC",
			      arena_printf(a, "%lld", (long long)pull_id), commits ? commits : "{}");
	if (!res)
		return e->code;
	int approvals = 0;
	struct buf why = BUF_INIT;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *who = db_val(res, i, 2);
		bool writer = still_writes(repo_id, db_int(res, i, 6), db_int(res, i, 3),
					   db_bool(res, i, 4), db_val(res, i, 5));
		bool approved = !strcmp(db_val(res, i, 0), "approved");
		if (!writer) {
			/* a verdict is a writer's: a demoted reviewer's no longer counts */
			if (approved && !strcmp(db_val(res, i, 1), head_sha))
				buf_addf(&why, "%s'%s' no longer has write access", why.len ? "; " : "",
					 who);
			continue;
		}
		if (!approved) {
			buf_release(&why);
			return err_set(e, ERR_CONFLICT, "protected_branch",
				       "branch protection '%s': '%s' requested changes", p->patterns,
				       who);
		}
		if (strcmp(db_val(res, i, 1), head_sha))
			continue;
		if (db_bool(res, i, 7)) {
			buf_addf(&why, "%s'%s' pushed commits of this pull request",
				 why.len ? "; " : "", who);
			continue;
		}
		approvals++;
	}
	int rc = 0;
	if (approvals < p->required_approvals)
		rc = err_set(e, ERR_CONFLICT, "protected_branch",
			     "branch protection '%s' requires %d approving review%s of the latest "
			     "commit, it has %d%s%s%s",
			     p->patterns, p->required_approvals, p->required_approvals == 1 ? "" : "s",
			     approvals, why.len ? " (not counted: " : "", why.len ? why.ptr : "",
			     why.len ? ")" : "");
	buf_release(&why);
	return rc;
}

int protection_check_merge(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			   const struct protection *p, int64_t pull_id, const char *head_sha,
			   const char *commits)
{
	if (!p->any)
		return 0;
	int rc;
	if (p->required_approvals > 0 &&
	    (rc = check_approvals(db, a, e, repo_id, p, pull_id, head_sha, commits)))
		return rc;
	if (!p->require_passing_statuses && !p->ncontexts)
		return 0;
	json_t *combined = NULL;
	rc = commit_status_combined(db, a, e, repo_id, head_sha, &combined);
	if (rc)
		return rc;
	json_t *list = json_object_get(combined, "statuses");
	for (size_t i = 0; i < p->ncontexts && !rc; i++) {
		const char *state = "missing";
		size_t k;
		json_t *s;
		json_array_foreach(list, k, s)
		{
			if (!strcmp(json_string_value(json_object_get(s, "context")), p->contexts[i]))
				state = json_string_value(json_object_get(s, "state"));
		}
		if (strcmp(state, "success"))
			rc = err_set(e, ERR_CONFLICT, "protected_branch",
				     "branch protection '%s' requires status '%.100s' to succeed, it is %s",
				     p->patterns, p->contexts[i], state);
	}
	if (!rc && p->require_passing_statuses) {
		const char *state = json_string_value(json_object_get(combined, "state"));
		if (json_array_size(list) == 0)
			rc = err_set(e, ERR_CONFLICT, "protected_branch",
				     "branch protection '%s' requires passing statuses, the head has none",
				     p->patterns);
		else if (strcmp(state, "success"))
			rc = err_set(e, ERR_CONFLICT, "protected_branch",
				     "branch protection '%s' requires passing statuses, the head's are %s",
				     p->patterns, state);
	}
	json_decref(combined);
	return rc;
}

/* ---- the API ---- */

static json_t *rule_json(const PGresult *res, int i)
{
	json_t *ctx = json_loads(db_val(res, i, 5), 0, NULL);
	return json_pack("{s:s,s:b,s:b,s:i,s:b,s:o,s:s,s:s}", "pattern", db_val(res, i, 0),
			 "no_force_push", db_bool(res, i, 1), "no_deletion", db_bool(res, i, 2),
			 "required_approvals", (int)db_int(res, i, 3), "require_passing_statuses",
			 db_bool(res, i, 4), "required_status_contexts", ctx ? ctx : json_array(),
			 "created_at", db_val(res, i, 6), "updated_at", db_val(res, i, 7));
}

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
	size_t n = strlen(p);
	bool bad = n > PATTERN_MAX || p[0] == '/' || p[n - 1] == '/' || strstr(p, "//") ||
		   strstr(p, "..") || !strncmp(p, "refs/", 5);
	for (const unsigned char *c = (const unsigned char *)p; *c && !bad; c++)
		bad = *c < 0x20 || *c == 0x7f || *c == ' ' || *c == '~' || *c == '^' || *c == ':';
	if (bad)
		return err_set(&r->err, ERR_INVALID, "invalid_pattern",
			       "'%.100s' is not a branch pattern (a branch name with * ** ? [] globs, "
			       "without refs/heads/)",
			       p);
	*out = p;
	return 0;
}

static int rule_load(struct req *r, const char *pattern, PGresult **out)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " RULE_COLS " FROM protected_branches WHERE repo_id = $1 AND "
			      "pattern = $2",
			      i64s(r->arena, (long long)r->repo->id), pattern);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "protection rule '%.100s' not found",
			       pattern);
	*out = res;
	return 0;
}

int h_protection_get(struct req *r, struct resp *w)
{
	const char *pattern;
	PGresult *res;
	int rc;
	if ((rc = pattern_param(r, false, &pattern)))
		return rc;
	if (pattern) {
		if ((rc = rule_load(r, pattern, &res)))
			return rc;
		resp_json(w, 200, rule_json(res, 0));
		return 0;
	}
	res = db_qv(r->db, r->arena, &r->err,
		    "SELECT " RULE_COLS " FROM protected_branches WHERE repo_id = $1 ORDER BY pattern",
		    i64s(r->arena, (long long)r->repo->id));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, rule_json(res, i));
	resp_json(w, 200, arr);
	return 0;
}

/* The contexts array of the body as a PostgreSQL text[] literal. */
static int contexts_param(struct req *r, const char **out)
{
	json_t *v = json_object_get(r->json, "required_status_contexts");
	if (!v || json_is_null(v)) {
		*out = "{}";
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > CONTEXTS_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'required_status_contexts' must be an array of at most %d "
			       "strings",
			       CONTEXTS_MAX);
	struct buf b = BUF_INIT;
	buf_addch(&b, '{');
	size_t i;
	json_t *c;
	int rc = 0;
	json_array_foreach(v, i, c)
	{
		const char *s = json_string_value(c);
		if (!s || !*s || json_string_length(c) > CONTEXT_MAX || strlen(s) != json_string_length(c)) {
			rc = err_set(&r->err, ERR_INVALID, "invalid_field",
				     "required_status_contexts[%zu] must be a string of 1 to %d "
				     "characters",
				     i, CONTEXT_MAX);
			break;
		}
		buf_addf(&b, "%s\"", i ? "," : "");
		for (const char *p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(&b, '\\');
			buf_addch(&b, *p);
		}
		buf_addch(&b, '"');
	}
	buf_addch(&b, '}');
	if (!rc)
		*out = arena_strndup(r->arena, b.ptr, b.len);
	buf_release(&b);
	return rc;
}

int h_protection_put(struct req *r, struct resp *w)
{
	const char *pattern = NULL, *contexts = "{}";
	bool no_force = true, no_delete = true, passing = false;
	int64_t approvals = 0;
	int rc;
	if ((rc = pattern_param(r, true, &pattern)) ||
	    (rc = json_bool_field(r, "no_force_push", &no_force)) ||
	    (rc = json_bool_field(r, "no_deletion", &no_delete)) ||
	    (rc = json_bool_field(r, "require_passing_statuses", &passing)) ||
	    (rc = contexts_param(r, &contexts)))
		return rc;
	json_t *ap = json_object_get(r->json, "required_approvals");
	if (ap && !json_is_null(ap)) {
		if (!json_is_integer(ap) || json_integer_value(ap) < 0 ||
		    json_integer_value(ap) > APPROVALS_MAX)
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field 'required_approvals' must be a number from 0 to %d",
				       APPROVALS_MAX);
		approvals = json_integer_value(ap);
	}
	PGresult *res = db_qv(
		r->db, r->arena, &r->err,
		"INSERT INTO protected_branches AS p (repo_id, pattern, no_force_push, no_deletion, "
		"required_approvals, require_passing_statuses, required_status_contexts) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repo_id, pattern) DO UPDATE SET "
		"no_force_push = EXCLUDED.no_force_push, no_deletion = EXCLUDED.no_deletion, "
		"required_approvals = EXCLUDED.required_approvals, "
		"require_passing_statuses = EXCLUDED.require_passing_statuses, "
		"required_status_contexts = EXCLUDED.required_status_contexts, updated_at = now() "
		"RETURNING (xmax = 0)",
		i64s(r->arena, (long long)r->repo->id), pattern, no_force ? "true" : "false",
		no_delete ? "true" : "false", i64s(r->arena, (long long)approvals),
		passing ? "true" : "false", contexts);
	if (!res)
		return r->err.code;
	bool created = db_bool(res, 0, 0);
	if ((rc = rule_load(r, pattern, &res)))
		return rc;
	resp_json(w, created ? 201 : 200, rule_json(res, 0));
	return 0;
}

int h_protection_delete(struct req *r, struct resp *w)
{
	const char *pattern;
	int rc;
	if ((rc = pattern_param(r, true, &pattern)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "DELETE FROM protected_branches WHERE repo_id = $1 AND pattern = $2",
			      i64s(r->arena, (long long)r->repo->id), pattern);
	if (!res)
		return r->err.code;
	if (atoi(PQcmdTuples(res)) == 0)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "protection rule '%.100s' not found",
			       pattern);
	w->status = 204;
	return 0;
}
