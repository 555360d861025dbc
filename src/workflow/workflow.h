/* workflow.h — the workflow model: a workflow file (.plue/workflows/NAME.yaml) parsed
 * into C data, trigger matching against events, workflow_dispatch inputs,
 * and matrix expansion. The format is described in docs/workflows.md.
 *
 * Everything here is pure (no database, no git, no I/O): the dispatcher
 * reads the file, calls workflow_parse, workflow_matches and
 * workflow_job_expand, and evaluates expressions with expr.h. */
#ifndef PLUE_WORKFLOW_H
#define PLUE_WORKFLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "workflow/cron.h"
#include "workflow/expr.h"
#include "workflow/glob.h"

/* ---- model ---------------------------------------------------------- */

/* The canonical events. Aliases (issue_comment, pull_request_review,
 * issues with types [opened], user_prompt, manual) parse to these. */
enum wf_event_type {
	WF_EV_PUSH,
	WF_EV_PULL_REQUEST,
	WF_EV_PULL_REQUEST_REVIEW,
	WF_EV_ISSUE_OPENED,
	WF_EV_ISSUE_COMMENT,
	WF_EV_MENTION,
	WF_EV_CHAT,
	WF_EV_WORKFLOW_DISPATCH,
	WF_EV_SCHEDULE,
	WF_EV_COUNT
};

enum wf_mode { WF_MODE_SCRIPTED, WF_MODE_AGENT };

/* An ordered list of strings; set is true when the key was present in the
 * file (so "branches: []" differs from no branches key). */
struct wf_strlist {
	char **v;
	size_t n;
	bool set;
};

/* One entry of an env map; values are kept as written (numbers and
 * booleans as their YAML text) and may contain ${{ }}. */
struct wf_kv {
	char *key;
	char *value;
};

struct wf_env {
	struct wf_kv *v; /* in file order, keys unique */
	size_t n;
};

enum wf_input_type { WF_INPUT_STRING, WF_INPUT_CHOICE, WF_INPUT_BOOLEAN, WF_INPUT_NUMBER };

/* A workflow_dispatch input. */
struct wf_input {
	char *name;
	char *description;         /* NULL when absent */
	enum wf_input_type type;   /* default string */
	bool required;
	json_t *def;               /* typed default (owned), NULL when absent */
	struct wf_strlist options; /* choice only: the allowed values */
};

/* A cron entry of `on: schedule`. */
struct wf_cron {
	char *text; /* as written, e.g. "17 3 * * *" */
	struct cron cron;
};

/* One event the workflow listens to, with its filters. Only the filters
 * the table in docs/workflows.md allows for the event can be set. */
struct wf_trigger {
	enum wf_event_type type;
	struct wf_strlist branches;        /* push: branch; pull_request: base branch */
	struct wf_strlist branches_ignore; /* push, pull_request */
	struct wf_strlist tags;            /* push */
	struct wf_strlist tags_ignore;     /* push */
	struct wf_strlist paths;           /* push */
	struct wf_strlist paths_ignore;    /* push */
	struct wf_strlist types;           /* pull_request (default opened,
					    * synchronize, reopened),
					    * pull_request.review (default submitted) */
	char *contains;                    /* issue.comment: substring of the body, NULL = any */
	char *user;                        /* mention: the user mentioned (default "plue") */
	struct wf_input *inputs;           /* workflow_dispatch */
	size_t ninputs;
	struct wf_cron *crons;             /* schedule */
	size_t ncrons;
	int line, col;                     /* of the event's key, 1-based */
};

enum wf_perm { WF_PERM_NONE, WF_PERM_READ, WF_PERM_WRITE };

/* What the job's task token and sandbox may do. Defaults: contents read,
 * everything else none, no network. `permissions: read-all|write-all`
 * sets every scope. A job's permissions replace the workflow's. */
struct wf_permissions {
	enum wf_perm contents;      /* the repository's git data */
	enum wf_perm issues;        /* issues and their comments */
	enum wf_perm pull_requests; /* pull requests and reviews */
	enum wf_perm statuses;      /* commit statuses */
	bool network;               /* the sandbox may reach the network */
};

/* One step of a job. Strings may contain ${{ }} (checked at parse). */
struct wf_step {
	char *name;              /* as written; NULL when absent (see wf_step_name) */
	char *run;               /* the script, run with bash -e -o pipefail */
	struct wf_env env;
	char *working_directory; /* relative to the workspace; NULL = its root */
	int timeout_sec;         /* timeout-minutes * 60 (fractions allowed); 0 = the job's */
	bool continue_on_error;
	char *if_expr;           /* NULL = success(); with or without ${{ }} */
	int line, col;           /* of the step's first key */
};

/* One job (before matrix expansion). */
struct wf_job {
	char *id;                /* its key under `jobs:` */
	char *name;              /* display name; NULL = id (may contain ${{ matrix.x }}) */
	char *runs_on;           /* "sandbox" (the only runner kind today) */
	struct wf_strlist needs; /* job ids, each known, no cycles */
	char *if_expr;           /* NULL = success() */
	int timeout_sec;         /* timeout-minutes * 60; default 360 minutes */
	bool continue_on_error;  /* a failure of this job does not fail the run */
	struct wf_env env;
	json_t *matrix;          /* strategy.matrix as an object (owned): key → array
				  * of values, plus optional "include"/"exclude"
				  * arrays of objects; NULL without a matrix */
	bool fail_fast;          /* strategy.fail-fast, default true */
	int max_parallel;        /* strategy.max-parallel, 0 = unlimited */
	bool has_permissions;    /* permissions: given on the job */
	struct wf_permissions permissions; /* effective: the job's or the workflow's */
	struct wf_step *steps;
	size_t nsteps;
	int line, col; /* of the job's key */
};

/* Agent mode (mode: agent): one workload driven by a model. */
struct wf_agent {
	char *model;             /* required */
	char *system;            /* system prompt, NULL when absent */
	char *prompt;            /* first user message, may contain ${{ }}; NULL =
				  * the event's own text (comment, chat message) */
	struct wf_strlist tools; /* tool names, as written */
	int max_turns;           /* default 20 */
	int timeout_sec;         /* `timeout` in seconds, default 600 */
};

struct wf_concurrency {
	char *group; /* may contain ${{ }}; NULL = no concurrency group */
	bool cancel_in_progress;
};

struct workflow {
	char *file;                  /* as given to workflow_parse */
	char *name;                  /* `name:`, or the file's base name without extension */
	enum wf_mode mode;
	struct wf_trigger *triggers; /* one per event, in file order */
	size_t ntriggers;
	struct wf_env env;
	struct wf_concurrency concurrency;
	struct wf_permissions permissions;
	struct wf_job *jobs;   /* in file order; scripted mode: at least one */
	size_t njobs;
	struct wf_agent agent; /* agent mode only (model == NULL otherwise) */
};

/* ---- parsing -------------------------------------------------------- */

/* Parses a workflow file. file names it in messages (e.g.
 * ".plue/workflows/ci.yaml"). On success *out is a new workflow (free it
 * with workflow_free). On failure *out is NULL and the return value is
 * ERR_INVALID with slug "workflow_invalid" and the message
 * "FILE:LINE:COL: what is wrong" (1-based), for: YAML syntax errors,
 * anchors and aliases (not supported), duplicate keys, unknown keys,
 * unknown events or event types, filters an event does not take, wrong
 * value types, unknown `needs`, dependency cycles, bad cron expressions,
 * bad `mode`, bad matrices, bad inputs and ${{ }} expressions that do not
 * parse. */
int workflow_parse(struct workflow **out, const char *file, const char *yaml, size_t len,
		   struct err *e);

/* Frees w and everything it owns. Accepts NULL. */
void workflow_free(struct workflow *w);

/* The canonical name of an event type ("push", "issue.comment", ...). */
const char *wf_event_name(enum wf_event_type t);

/* Maps an event name, canonical or alias, to its type: "issue_comment" →
 * WF_EV_ISSUE_COMMENT, "issues" → WF_EV_ISSUE_OPENED, "user_prompt" →
 * WF_EV_CHAT, "manual" → WF_EV_WORKFLOW_DISPATCH, ... Returns -1 for an
 * unknown name. */
int wf_event_type_parse(const char *name);

/* The trigger of w for an event type, or NULL when w does not listen to it. */
const struct wf_trigger *workflow_trigger(const struct workflow *w, enum wf_event_type t);

/* A step's display name: its name, else the first non-blank line of its
 * run (trimmed, at most 60 bytes). Returns s->name when set, otherwise
 * buf (of size n), into which the name is written. */
const char *wf_step_name(const struct wf_step *s, char *buf, size_t n);

/* The whole model as JSON (for storage and the API): the same keys as the
 * file, normalised (canonical event names, every list a list, defaults
 * filled in). New reference. */
json_t *workflow_to_json(const struct workflow *w);

/* ---- matching ------------------------------------------------------- */

/* An event as the dispatcher sees it. Unset fields are NULL / 0. */
struct wf_event {
	const char *type;         /* "push", "pull_request", "pull_request.review",
				    * "issue.opened", "issue.comment", "mention",
				    * "chat", "workflow_dispatch", "schedule" (aliases
				    * accepted) */
	const char *ref;          /* full ref name, "refs/heads/main" or "refs/tags/v1" */
	bool tag;                 /* push: the ref is a tag (also true for refs/tags/...) */
	const char *const *paths; /* push: the changed paths; NULL = unknown, in which
				    * case path filters do not restrict */
	size_t npaths;
	const char *action;       /* pull_request: opened, synchronize, reopened,
				    * closed, merged, edited (NULL = opened); review:
				    * submitted, edited, dismissed (NULL = submitted);
				    * "issues": opened */
	const char *base;         /* pull_request: base branch (short or full ref) */
	const char *body;         /* issue.comment, mention, chat: the text */
	const char *user;         /* mention: who is mentioned (without '@') */
	const char *cron;         /* schedule: the cron text that fired */
};

/* True when w should run for ev. Push: branches / branches-ignore apply to
 * branch pushes (short name, "refs/heads/" stripped), tags / tags-ignore to
 * tag pushes; a push trigger with only tag filters ignores branch pushes
 * and vice versa; paths / paths-ignore (on branch pushes only) need at
 * least one changed path included / not ignored. Pull request: types
 * (a "merged" action also matches "closed"), branches on the base.
 * issue.comment: contains (case-insensitive substring). mention: user
 * (case-insensitive). schedule: ev->cron equals one of the trigger's crons
 * (whitespace-insensitive). workflow_dispatch, chat, issue.opened: always. */
bool workflow_matches(const struct workflow *w, const struct wf_event *ev);

/* ---- workflow_dispatch inputs --------------------------------------- */

/* Validates given (a JSON object of input name → value, may be NULL)
 * against w's workflow_dispatch inputs and returns in *out a new object
 * with every declared input: the given value converted to its type
 * (boolean from true/false or "true"/"false", number from a number or a
 * numeric string, choice checked against its options, string from any
 * scalar), else its default, else "" / false / 0 for an optional input.
 * Returns 0, or ERR_INVALID (slug "invalid_input") for an unknown input,
 * a missing required one or a value of the wrong type, with messages
 * like "input 'target' must be one of: staging, prod". */
int workflow_inputs_resolve(json_t **out, const struct workflow *w, json_t *given, struct err *e);

/* ---- matrix --------------------------------------------------------- */

/* One concrete job to run: a job, or one combination of its matrix. */
struct wf_instance {
	char *name;     /* "build", "test (gcc)", "test (gcc, x86)"; when the
			 * job's name has ${{ }}, that name interpolated */
	json_t *matrix; /* the combination (owned), an empty object without a matrix */
};

/* Expands job's strategy.matrix: the cartesian product of its keys in file
 * order, minus `exclude` entries (an entry excludes every combination it
 * is a subset of), plus `include` entries (an entry that only adds keys
 * not in the product extends every matching combination; otherwise it is
 * a new combination). A job without a matrix yields one instance. ctx
 * (may be NULL) is used to interpolate a name with ${{ }}; its matrix is
 * replaced by each combination. *out is a new array of *n instances; free
 * with wf_instances_free. Returns 0 or ERR_INVALID when the expansion
 * exceeds 256 instances. */
int workflow_job_expand(struct wf_instance **out, size_t *n, const struct wf_job *job,
			const struct expr_ctx *ctx, struct err *e);

/* Frees an array from workflow_job_expand. Accepts NULL. */
void wf_instances_free(struct wf_instance *v, size_t n);

/* ---- secrets -------------------------------------------------------- */

/* Appends to names (a JSON array of strings, borrowed) the secrets a step
 * refers to in its run, name, working-directory, if and env, in the env of
 * its job and its workflow, and in the job's if. Returns true when some
 * reference cannot be resolved statically (see expr_secret_refs). */
bool workflow_step_secret_refs(json_t *names, const struct workflow *w, const struct wf_job *job,
			       const struct wf_step *step);

#endif
