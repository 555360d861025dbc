/* expr.h — the `${{ … }}` expression language of workflows: contexts,
 * operators, literals and functions, evaluated over jansson values. */
#ifndef PLUE_WORKFLOW_EXPR_H
#define PLUE_WORKFLOW_EXPR_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"

/* What the status functions see: the state of the job (for a step's `if`)
 * or of the run's dependencies (for a job's `if`). */
enum expr_status {
	EXPR_STATUS_SUCCESS = 0, /* nothing failed so far */
	EXPR_STATUS_FAILURE,     /* an earlier step / a needed job failed */
	EXPR_STATUS_CANCELLED,   /* the run was cancelled */
};

/* The evaluation context. Every json_t is borrowed (never stolen or
 * modified) and may be NULL, which reads as an empty object. The names
 * an expression can use are exactly these seven contexts:
 *   event    the triggering event's payload (event.ref, event.pull_request.number, ...)
 *   repo     the repository (repo.owner, repo.name, repo.default_branch, ...)
 *   inputs   workflow_dispatch inputs, typed (see workflow_inputs_resolve)
 *   env      the environment in effect (workflow, then job, then step env)
 *   matrix   this job instance's matrix values
 *   needs    {"<job id>": {"result": "success"|"failure"|"cancelled"|"skipped"}}
 *   secrets  repository secrets by name */
struct expr_ctx {
	json_t *event;
	json_t *repo;
	json_t *inputs;
	json_t *env;
	json_t *matrix;
	json_t *needs;
	json_t *secrets;
	enum expr_status status;
};

/* Evaluates one expression. expr is either a bare expression
 * ("matrix.cc == 'gcc'") or exactly one "${{ … }}" around it (how `if:`
 * may be written). Grammar: literals null, true, false, numbers (decimal,
 * 0x hex, exponent), 'strings' ('' is a quote); property access a.b,
 * a['b'], a[0], and the object filter a.* (an array of the values);
 * operators ! < <= > >= == != && || and parentheses; functions (names
 * case-insensitive) contains, startsWith, endsWith, format, join, toJSON,
 * fromJSON, success, failure, always, cancelled. Comparison is GitHub's
 * loose one: strings compare case-insensitively, mixed types are coerced
 * to numbers. `&&` and `||` yield an operand, not a boolean. A missing
 * property is null, never an error. On success *out is a new reference
 * the caller decrefs. Returns 0, or ERR_INVALID ("invalid" slug) with a
 * message such as "expression 'a ==': unexpected end of expression".
 * Messages quote the expression's source, never a value it evaluated (a
 * value may be a secret). */
int expr_eval(json_t **out, const char *expr, const struct expr_ctx *ctx, struct err *e);

/* Evaluates an `if:` condition (with or without ${{ }}) to a boolean.
 * NULL or blank means success(). As in GitHub Actions, a condition that
 * calls none of success(), failure(), always(), cancelled() is read as
 * "success() && (condition)", so a failed dependency skips the job unless
 * its `if` says otherwise. Returns 0 or ERR_INVALID. */
int expr_condition(bool *out, const char *cond, const struct expr_ctx *ctx, struct err *e);

/* Replaces every "${{ expr }}" in text with the string form of its value
 * (expr_string). Text outside ${{ }} is copied unchanged. *out is malloc'd
 * and owned by the caller. Returns 0 or ERR_INVALID (e.g. an unclosed
 * "${{"). */
int expr_interpolate(char **out, const char *text, const struct expr_ctx *ctx, struct err *e);

/* The form of interpolation for shell scripts (a step's `run`): every
 * "${{ expr }}" in text becomes a parameter expansion "${NAME}" where NAME
 * is prefix followed by 1, 2, … in order of appearance (one per
 * occurrence, prefix at most 40 bytes), and vars (a JSON object,
 * borrowed; start it empty) receives NAME → the value's string form
 * (expr_string). The caller passes vars to the script as environment
 * variables: no value ever becomes part of the script's text, so a value
 * cannot be code whatever it holds; bash expands the reference where it
 * expands parameters (verbatim inside double quotes, split and globbed
 * unquoted, not at all inside single quotes or a quoted heredoc). *out is
 * malloc'd and owned by the caller. Returns 0 or ERR_INVALID. */
int expr_interpolate_vars(char **out, json_t *vars, const char *prefix, const char *text,
			  const struct expr_ctx *ctx, struct err *e);

/* Checks the syntax of every ${{ }} in text (or of the bare expression
 * when bare is true) without evaluating, and that each name is one of the
 * seven contexts. Returns 0 or ERR_INVALID; *offset (when not NULL) gets
 * the byte offset in text of the expression at fault. */
int expr_check(const char *text, bool bare, size_t *offset, struct err *e);

/* Truthiness: false, null, 0, NaN and "" are false; everything else
 * (including every array and object) is true. */
bool expr_truthy(const json_t *v);

/* The string form used by interpolation: null is "", booleans "true" /
 * "false", integral numbers without a fraction ("3", not "3.0"), strings
 * as they are, arrays and objects as compact JSON. Caller frees. */
char *expr_string(const json_t *v);

/* Collects the names of the secrets the ${{ }} expressions in text refer
 * to (secrets.NAME or secrets['NAME']), appending each name not already
 * present to names (a JSON array of strings, borrowed). When bare is true
 * text is one bare expression (an `if:`). Returns true when text also uses
 * secrets in a way that cannot be resolved statically (secrets[expr],
 * secrets.*, or the whole secrets object, e.g. toJSON(secrets)); the
 * caller decides what that means (the runner should then receive no more
 * than the listed names). Text that does not parse contributes nothing. */
bool expr_secret_refs(json_t *names, const char *text, bool bare);

#endif
