/* protection.h — protected branches: per-pattern rules a repository's
 * admins set (no force push, no deletion, required approving reviews,
 * required passing statuses), the rules that apply to one branch (for the
 * pre-receive hook, cmd/hook.c, and merges), and the merge check.
 * Patterns are globs on the branch name: `*` stays within a path segment,
 * `**` crosses them (workflow/glob.h). */
#ifndef PLUE_FORGE_PROTECTION_H
#define PLUE_FORGE_PROTECTION_H

#include "forge/forge.h"

#define PROTECTION_PATTERN_MAX 255
#define PROTECTION_CONTEXTS_MAX 50
#define PROTECTION_CONTEXT_MAX 255
#define PROTECTION_APPROVALS_MAX 20

/* The rules of every pattern that matches a branch, combined: flags are
 * or-ed, the largest approval count wins, contexts are the union. */
struct protection {
	bool any;             /* some pattern matched */
	const char *patterns; /* the matching patterns, comma separated (arena) */
	bool no_force_push;
	bool no_deletion;
	int required_approvals;
	bool require_passing_statuses; /* every status of the head must be success */
	const char **contexts;         /* contexts that must be success on the head (arena) */
	size_t ncontexts;
};

/* True when direct pushes to the branch are refused: merges must go
 * through a pull request (approvals or statuses are required). */
bool protection_needs_pull(const struct protection *p);

/* Loads the rules for branch (without refs/heads/) of repository repo_id
 * into *out. No authorization: the rules bind whoever pushes or merges.
 * 0 or ERR_*. */
int protection_get(struct protection *out, struct forge *f, int64_t repo_id, const char *branch);
/* protection_get for each of the n branches, into out[0..n-1], with one
 * query (the pre-receive hook's: every branch a push updates). */
int protection_get_many(struct protection *out, struct forge *f, int64_t repo_id, size_t n,
			const char *const *branches);

/* Checks a merge into a protected base of repo against its rules: enough
 * approving reviews on head_sha and passing statuses on head_sha. Each
 * reviewer's latest verdict counts, and only while the reviewer still has
 * write access to the repository (authz_user_may, now). An approval
 * counts when it was given on head_sha (not an earlier head) by someone
 * who pushed none of the pull request's commits (commits: pushers_range's
 * literal, forge/pushers.h); a request for changes blocks. 0, or
 * ERR_CONFLICT slug "protected_branch" with a message saying what is
 * missing and, for approvals, whose did not count and why. */
int protection_check_merge(struct forge *f, const struct repo *repo, const struct protection *p,
			   int64_t pull_id, const char *head_sha, const char *commits);

/* ---- the rules (admins of the repository) ---- */

/* A rule as the API sets it. */
struct protection_rule {
	const char *pattern;
	bool no_force_push;
	bool no_deletion;
	int required_approvals;      /* 0..PROTECTION_APPROVALS_MAX */
	bool require_passing_statuses;
	const char *const *contexts; /* required status contexts */
	size_t ncontexts;            /* at most PROTECTION_CONTEXTS_MAX */
};

/* 0 when pattern is a branch pattern (a branch name with * ** ? [] globs,
 * without refs/heads/, at most PROTECTION_PATTERN_MAX bytes), else
 * ERR_INVALID "invalid_pattern". */
int protection_pattern_check(struct forge *f, const char *pattern);

/* Rules as API JSON {pattern, no_force_push, no_deletion,
 * required_approvals, require_passing_statuses, required_status_contexts,
 * created_at, updated_at}: every rule of repo by pattern (an array), or
 * the one for pattern (ERR_NOTFOUND "protection rule 'P' not found").
 * f->who must administer repo. *out is a new reference. 0 or ERR_*. */
int protection_rules_list(json_t **out, struct forge *f, const struct repo *repo);
int protection_rule_get(json_t **out, struct forge *f, const struct repo *repo, const char *pattern);

/* Creates or replaces the rule for rule->pattern (f->who administers
 * repo); *out is its JSON, *out_created whether it is new. 0 or
 * ERR_INVALID naming the bad field, or ERR_*. */
int protection_rule_put(json_t **out, bool *out_created, struct forge *f, const struct repo *repo,
			const struct protection_rule *rule);

/* Deletes the rule for pattern (f->who administers repo). 0 or
 * ERR_NOTFOUND "protection rule 'P' not found". */
int protection_rule_delete(struct forge *f, const struct repo *repo, const char *pattern);

#endif
