/* protection.c — protected branches: the rules of a branch, the merge
 * check (approvals that count, passing statuses) and the rules' upkeep by
 * the repository's admins. */
#include "forge/protection.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/statuses.h"
#include "workflow/glob.h"

#include <stdlib.h>
#include <string.h>

/* Columns a rule query selects, in their one declared order. */
#define RULE_COLS                                                                                  \
	"pattern, no_force_push, no_deletion, required_approvals, "                                \
	"require_passing_statuses, array_to_json(required_status_contexts)::text, " SQL_TS(        \
		"created_at") ", " SQL_TS("updated_at")
enum rule_col {
	RULE_COL_PATTERN,
	RULE_COL_NO_FORCE_PUSH,
	RULE_COL_NO_DELETION,
	RULE_COL_APPROVALS,
	RULE_COL_PASSING,
	RULE_COL_CONTEXTS,
	RULE_COL_CREATED_AT,
	RULE_COL_UPDATED_AT,
};

bool protection_needs_pull(const struct protection *p)
{
	return p->required_approvals > 0 || p->require_passing_statuses || p->ncontexts > 0;
}

/* The rules of res (RULE_COLS rows) that match branch, combined into *out. */
static void rules_combine(struct protection *out, struct arena *a, const PGresult *res,
			  const char *branch)
{
	memset(out, 0, sizeof(*out));
	struct buf pats = BUF_INIT;
	size_t cap = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *pat = db_val(res, i, RULE_COL_PATTERN);
		if (!glob_match(pat, branch))
			continue;
		out->any = true;
		buf_addf(&pats, "%s%s", pats.len ? ", " : "", pat);
		out->no_force_push |= db_bool(res, i, RULE_COL_NO_FORCE_PUSH);
		out->no_deletion |= db_bool(res, i, RULE_COL_NO_DELETION);
		int n = (int)db_int(res, i, RULE_COL_APPROVALS);
		if (n > out->required_approvals)
			out->required_approvals = n;
		out->require_passing_statuses |= db_bool(res, i, RULE_COL_PASSING);
		json_t *ctx = json_loads(db_val(res, i, RULE_COL_CONTEXTS), 0, NULL);
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
}

int protection_get_many(struct protection *out, struct forge *f, int64_t repo_id, size_t n,
			const char *const *branches)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " RULE_COLS " FROM protected_branches WHERE repo_id = $1 "
			      "ORDER BY pattern",
			      arena_int(f->arena, (long long)repo_id));
	if (!res)
		return f->err->code;
	for (size_t i = 0; i < n; i++)
		rules_combine(&out[i], f->arena, res, branches[i]);
	return 0;
}

int protection_get(struct protection *out, struct forge *f, int64_t repo_id, const char *branch)
{
	return protection_get_many(out, f, repo_id, 1, &branch);
}

/* The columns of the verdict query below, in their order. */
enum verdict_col {
	VERDICT_COL_STATE,
	VERDICT_COL_COMMIT,
	VERDICT_COL_USERNAME,
	VERDICT_COL_USER_ID,
	VERDICT_COL_IS_ADMIN,
	VERDICT_COL_ROLE,
	VERDICT_COL_PUSHED,
};

/* Counts the approvals that count (see protection.h); 0 or the refusal. */
static int check_approvals(struct forge *f, const struct repo *repo, const struct protection *p,
			   int64_t pull_id, const char *head_sha, const char *commits)
{
	struct err *e = f->err;
	/* each reviewer's latest verdict; comments are not verdicts */
	PGresult *res = db_qv(f->db, f->arena, e,
			      "SELECT DISTINCT ON (r.author_id) r.state, r.commit_sha, u.username, "
			      "  u.id, u.is_admin, coalesce(c.role, ''), "
			      "  EXISTS (SELECT 1 FROM push_commits pc WHERE pc.repo_id = r.repo_id "
			      "    AND pc.pusher_id = r.author_id AND pc.sha = ANY($2::text[])) "
			      "FROM reviews r JOIN users u ON u.id = r.author_id "
			      "LEFT JOIN collaborators c "
			      "  ON c.repo_id = r.repo_id AND c.user_id = r.author_id "
			      "WHERE r.pull_id = $1 AND r.state IN ('approved', 'changes_requested') "
			      "ORDER BY r.author_id, r.id DESC",
			      arena_int(f->arena, (long long)pull_id), commits ? commits : "{}");
	if (!res)
		return e->code;
	int approvals = 0;
	struct buf why = BUF_INIT;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *who = db_val(res, i, VERDICT_COL_USERNAME);
		bool writer = authz_user_may(repo, db_int(res, i, VERDICT_COL_USER_ID),
					     db_bool(res, i, VERDICT_COL_IS_ADMIN),
					     db_val(res, i, VERDICT_COL_ROLE), ACT_WRITE);
		bool approved = !strcmp(db_val(res, i, VERDICT_COL_STATE), "approved");
		if (!writer) {
			/* a verdict is a writer's: a demoted reviewer's no longer counts */
			if (approved && !strcmp(db_val(res, i, VERDICT_COL_COMMIT), head_sha))
				buf_addf(&why, "%s'%s' no longer has write access",
					 why.len ? "; " : "", who);
			continue;
		}
		if (!approved) {
			buf_release(&why);
			return err_set(e, ERR_CONFLICT, "protected_branch",
				       "branch protection '%s': '%s' requested changes",
				       p->patterns, who);
		}
		if (strcmp(db_val(res, i, VERDICT_COL_COMMIT), head_sha))
			continue;
		if (db_bool(res, i, VERDICT_COL_PUSHED)) {
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
			     p->patterns, p->required_approvals,
			     p->required_approvals == 1 ? "" : "s", approvals,
			     why.len ? " (not counted: " : "", why.len ? why.ptr : "",
			     why.len ? ")" : "");
	buf_release(&why);
	return rc;
}

int protection_check_merge(struct forge *f, const struct repo *repo, const struct protection *p,
			   int64_t pull_id, const char *head_sha, const char *commits)
{
	struct err *e = f->err;
	if (!p->any)
		return 0;
	int rc;
	if (p->required_approvals > 0 &&
	    (rc = check_approvals(f, repo, p, pull_id, head_sha, commits)))
		return rc;
	if (!p->require_passing_statuses && !p->ncontexts)
		return 0;
	json_t *combined = NULL;
	rc = commit_status_combined(&combined, f, repo->id, head_sha);
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

/* ---- the rules ---- */

static json_t *rule_json(const PGresult *res, int i)
{
	json_t *ctx = json_loads(db_val(res, i, RULE_COL_CONTEXTS), 0, NULL);
	return json_pack("{s:s,s:b,s:b,s:i,s:b,s:o,s:s,s:s}", "pattern",
			 db_val(res, i, RULE_COL_PATTERN), "no_force_push",
			 db_bool(res, i, RULE_COL_NO_FORCE_PUSH), "no_deletion",
			 db_bool(res, i, RULE_COL_NO_DELETION), "required_approvals",
			 (int)db_int(res, i, RULE_COL_APPROVALS), "require_passing_statuses",
			 db_bool(res, i, RULE_COL_PASSING), "required_status_contexts",
			 ctx ? ctx : json_array(), "created_at", db_val(res, i, RULE_COL_CREATED_AT),
			 "updated_at", db_val(res, i, RULE_COL_UPDATED_AT));
}

int protection_pattern_check(struct forge *f, const char *p)
{
	size_t n = strlen(p);
	bool bad = !n || n > PROTECTION_PATTERN_MAX || p[0] == '/' || p[n - 1] == '/' ||
		   strstr(p, "//") || strstr(p, "..") || !strncmp(p, "refs/", 5);
	for (const unsigned char *c = (const unsigned char *)p; *c && !bad; c++)
		bad = *c < 0x20 || *c == 0x7f || *c == ' ' || *c == '~' || *c == '^' || *c == ':';
	if (bad)
		return err_set(f->err, ERR_INVALID, "invalid_pattern",
			       "'%.100s' is not a branch pattern (a branch name with * ** ? [] globs, "
			       "without refs/heads/)",
			       p);
	return 0;
}

int protection_rules_list(json_t **out, struct forge *f, const struct repo *repo)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " RULE_COLS " FROM protected_branches WHERE repo_id = $1 "
			      "ORDER BY pattern",
			      arena_int(f->arena, (long long)repo->id));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, rule_json(res, i));
	*out = arr;
	return 0;
}

int protection_rule_get(json_t **out, struct forge *f, const struct repo *repo, const char *pattern)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) ||
	    (rc = protection_pattern_check(f, pattern)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " RULE_COLS " FROM protected_branches WHERE repo_id = $1 AND "
			      "pattern = $2",
			      arena_int(f->arena, (long long)repo->id), pattern);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "protection rule '%.100s' not found",
			       pattern);
	*out = rule_json(res, 0);
	return 0;
}

/* The contexts as a PostgreSQL text[] literal (arena), checked. */
static int contexts_literal(const char **out, struct forge *f, const char *const *v, size_t n)
{
	if (n > PROTECTION_CONTEXTS_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'required_status_contexts' must be an array of at most %d "
			       "strings",
			       PROTECTION_CONTEXTS_MAX);
	struct buf b = BUF_INIT;
	int rc = 0;
	buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++) {
		const char *s = v[i];
		if (!s || !*s || strlen(s) > PROTECTION_CONTEXT_MAX) {
			rc = err_set(f->err, ERR_INVALID, "invalid_field",
				     "required_status_contexts[%zu] must be a string of 1 to %d "
				     "characters",
				     i, PROTECTION_CONTEXT_MAX);
			goto done;
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
	*out = arena_strndup(f->arena, b.ptr, b.len);
done:
	buf_release(&b);
	return rc;
}

int protection_rule_put(json_t **out, bool *out_created, struct forge *f, const struct repo *repo,
			const struct protection_rule *rule)
{
	const char *contexts = "{}";
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) ||
	    (rc = protection_pattern_check(f, rule->pattern)) ||
	    (rc = contexts_literal(&contexts, f, rule->contexts, rule->ncontexts)))
		return rc;
	if (rule->required_approvals < 0 || rule->required_approvals > PROTECTION_APPROVALS_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'required_approvals' must be a number from 0 to %d",
			       PROTECTION_APPROVALS_MAX);
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"INSERT INTO protected_branches AS p (repo_id, pattern, no_force_push, no_deletion, "
		"required_approvals, require_passing_statuses, required_status_contexts) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repo_id, pattern) DO UPDATE SET "
		"no_force_push = EXCLUDED.no_force_push, no_deletion = EXCLUDED.no_deletion, "
		"required_approvals = EXCLUDED.required_approvals, "
		"require_passing_statuses = EXCLUDED.require_passing_statuses, "
		"required_status_contexts = EXCLUDED.required_status_contexts, updated_at = now() "
		"RETURNING (xmax = 0)",
		arena_int(f->arena, (long long)repo->id), rule->pattern,
		rule->no_force_push ? "true" : "false", rule->no_deletion ? "true" : "false",
		arena_int(f->arena, rule->required_approvals),
		rule->require_passing_statuses ? "true" : "false", contexts);
	if (!res)
		return f->err->code;
	bool created = db_bool(res, 0, 0);
	if ((rc = protection_rule_get(out, f, repo, rule->pattern)))
		return rc;
	*out_created = created;
	return 0;
}

int protection_rule_delete(struct forge *f, const struct repo *repo, const char *pattern)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) ||
	    (rc = protection_pattern_check(f, pattern)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM protected_branches WHERE repo_id = $1 AND pattern = $2",
			      arena_int(f->arena, (long long)repo->id), pattern);
	if (!res)
		return f->err->code;
	if (atoi(PQcmdTuples(res)) == 0)
		return err_set(f->err, ERR_NOTFOUND, NULL, "protection rule '%.100s' not found",
			       pattern);
	return 0;
}
