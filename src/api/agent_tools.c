/* agent_tools.c — the forge tools of an agent (llm/tools.h, TOOL_FORGE):
 * POST /internal/tasks/:id/tools/:name {"input": {...}} with the task
 * token of a running agent workload. A tool runs as the workload's actor
 * (the person the agent acts for) through the domain's own functions and
 * authorization (the forge/ headers), in the workload's repository only: an agent
 * never does what its person could not, nor anywhere else.
 *
 * The answer is {"output": TEXT, "is_error": BOOL} for the model to read:
 * what the domain refused (no such pull request, not allowed, a bad line)
 * is a 200 with is_error true and the domain's message, so that the model
 * may correct itself. Only who is calling, and a body that is not a tool
 * call, are HTTP errors. */
#include "api/api.h"
#include "base/util.h"
#include "forge/comments.h"
#include "forge/issues.h"
#include "forge/pulls.h"
#include "forge/reviews.h"
#include "forge/users.h"
#include "git/objects.h"
#include "llm/tools.h"
#include "queue/queue.h"

#include <string.h>

#define DIFF_TEXT_MAX (48 * 1024) /* bytes of patch text a pr_diff answer holds */

/* One tool call: who acts, where, with what; the text for the model
 * accumulates in out (a domain error is written by the dispatcher below). */
struct tool_call {
	struct forge *f;
	const struct repo *repo;
	json_t *input;
	struct buf *out;
};

/* ---- the input's fields (a wrong type is the model's to correct) ---- */

static int in_str(struct tool_call *c, const char *field, bool required, const char **out)
{
	json_t *v = json_object_get(c->input, field);
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(c->f->err, ERR_INVALID, "invalid_input",
				       "input field '%s' is required", field);
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return err_set(c->f->err, ERR_INVALID, "invalid_input",
			       "input field '%s' must be a string", field);
	*out = json_string_value(v);
	return 0;
}

/* "number": a positive integer (or its digits as a string), as the text
 * the domain's loaders take. */
static int in_number(struct tool_call *c, const char **out)
{
	json_t *v = json_object_get(c->input, "number");
	int64_t n = 0;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v) && parse_i64(json_string_value(v), 1, INT64_MAX, &n))
		n = 0;
	if (n < 1)
		return err_set(c->f->err, ERR_INVALID, "invalid_input",
			       "input field 'number' must be a positive integer");
	*out = arena_int(c->f->arena, (long long)n);
	return 0;
}

/* A branch name: "refs/heads/" optional, git's ref rules. */
static int in_branch(struct tool_call *c, const char *field, bool required, const char **out)
{
	const char *b = NULL;
	int rc = in_str(c, field, required, &b);
	if (rc || !b)
		return rc;
	if (!strncmp(b, "refs/heads/", 11))
		b += 11;
	if (!*b || strlen(b) > PULL_BRANCH_MAX ||
	    !refname_valid(arena_printf(c->f->arena, "refs/heads/%s", b)))
		return err_set(c->f->err, ERR_INVALID, "invalid_branch",
			       "%s '%.100s' is not a valid branch name", field, b);
	*out = b;
	return 0;
}

static long long number_of(json_t *o)
{
	return (long long)json_integer_value(json_object_get(o, "number"));
}

/* ---- the tools ---- */

static int tool_pr_diff(struct tool_call *c)
{
	struct pull p;
	git_diff *diff = NULL;
	git_buf patch = { 0 };
	const char *number, *head;
	int rc;
	if ((rc = in_number(c, &number)) || (rc = pull_get(&p, c->f, c->repo, number, false)) ||
	    (rc = pull_diff(&diff, &head, c->f, c->repo, &p)))
		goto done;
	size_t n = git_diff_num_deltas(diff);
	buf_addf(c->out, "pull request #%lld: %s\n%s into %s, head commit %s\n",
		 (long long)p.is.number, p.is.title, p.head, p.base, head);
	buf_addf(c->out, "\nchanged files (%zu):\n", n);
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED)
			buf_addf(c->out, "  %s (%s from %s)\n", d->new_file.path,
				 objects_delta_status(d->status), d->old_file.path);
		else
			buf_addf(c->out, "  %s (%s)\n",
				 d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path,
				 objects_delta_status(d->status));
	}
	int grc = git_diff_to_buf(&patch, diff, GIT_DIFF_FORMAT_PATCH);
	if (grc < 0) {
		rc = objects_error(c->f->err, grc, "cannot make the diff of pull request #%lld",
				   (long long)p.is.number);
		goto done;
	}
	buf_adds(c->out, "\n");
	if (patch.size > DIFF_TEXT_MAX) {
		/* cut at a line's end so the model never reads half a line */
		size_t cut = DIFF_TEXT_MAX;
		while (cut > 0 && patch.ptr[cut - 1] != '\n')
			cut--;
		buf_add(c->out, patch.ptr, cut);
		buf_addf(c->out,
			 "\n[diff truncated: %zu of %zu bytes shown; read the files in the "
			 "workspace for the rest]\n",
			 cut, patch.size);
	} else {
		buf_add(c->out, patch.ptr, patch.size);
	}
done:
	git_buf_dispose(&patch);
	git_diff_free(diff);
	return rc;
}

static int tool_pr_comment(struct tool_call *c)
{
	struct pull p;
	const char *number, *body = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = in_number(c, &number)) || (rc = in_str(c, "body", true, &body)) ||
	    (rc = pull_get(&p, c->f, c->repo, number, false)) ||
	    (rc = comment_create(&o, c->f, c->repo, number, body)))
		return rc;
	buf_addf(c->out, "commented on pull request #%lld (comment %lld): /%s/%s/pull/%lld",
		 (long long)p.is.number, (long long)json_integer_value(json_object_get(o, "id")),
		 c->repo->owner, c->repo->name, (long long)p.is.number);
	json_decref(o);
	return 0;
}

/* The review's inline comments from input.comments (arena). */
static int review_comments(struct tool_call *c, struct review_comment_input **out, size_t *n)
{
	json_t *arr = json_object_get(c->input, "comments");
	*out = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(c->f->err, ERR_INVALID, "invalid_input",
			       "input field 'comments' must be an array");
	if (json_array_size(arr) > REVIEW_COMMENTS_MAX)
		return err_set(c->f->err, ERR_INVALID, "invalid_input",
			       "a review has at most %d inline comments", REVIEW_COMMENTS_MAX);
	struct review_comment_input *v = arena_alloc(c->f->arena,
						     (json_array_size(arr) + 1) * sizeof(*v));
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e))
			return err_set(c->f->err, ERR_INVALID, "invalid_input",
				       "comments[%zu] must be an object", i);
		json_t *jp = json_object_get(e, "path"), *jl = json_object_get(e, "line"),
		       *jb = json_object_get(e, "body");
		const char *path = json_string_value(jp), *body = json_string_value(jb);
		if (path && strlen(path) == json_string_length(jp))
			v[i].path = path_normalise(c->f->arena, path);
		v[i].line = json_is_integer(jl) ? json_integer_value(jl) : 0;
		v[i].side = "RIGHT"; /* lines of the head commit's files */
		if (body && strlen(body) == json_string_length(jb)) {
			v[i].body = body;
			v[i].body_len = json_string_length(jb);
		}
	}
	*out = v;
	*n = json_array_size(arr);
	return 0;
}

static int tool_pr_review(struct tool_call *c)
{
	static const struct {
		const char *name, *event, *done;
	} events[] = {
		{ "comment", "COMMENT", "commented on" },
		{ "approve", "APPROVE", "approved" },
		{ "request_changes", "REQUEST_CHANGES", "requested changes on" },
	};
	struct review_input in = { .event = NULL, .body = "" };
	struct review_comment_input *cs = NULL;
	const char *number, *event = "comment", *done = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = in_number(c, &number)) || (rc = in_str(c, "event", false, &event)) ||
	    (rc = in_str(c, "body", false, &in.body)) ||
	    (rc = review_comments(c, &cs, &in.ncomments)))
		return rc;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(event, events[i].name)) {
			in.event = events[i].event;
			done = events[i].done;
		}
	if (!in.event)
		return err_set(c->f->err, ERR_INVALID, "invalid_input",
			       "event '%.40s' is not one of comment, approve, request_changes",
			       event);
	in.comments = cs;
	if ((rc = review_create(&o, c->f, c->repo, number, &in)))
		return rc;
	buf_addf(c->out, "%s pull request #%s (review %lld, %zu inline comment%s): /%s/%s/pull/%s",
		 done, number, (long long)json_integer_value(json_object_get(o, "id")),
		 in.ncomments, in.ncomments == 1 ? "" : "s", c->repo->owner, c->repo->name, number);
	json_decref(o);
	return 0;
}

static int tool_create_pr(struct tool_call *c)
{
	struct pull_new in = { .body = "" };
	const char *title = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = in_str(c, "title", true, &title)) ||
	    (rc = forge_title_check(&in.title, c->f, "title", title)) ||
	    (rc = in_str(c, "body", false, &in.body)) ||
	    (rc = forge_body_check(c->f, "body", in.body, false)) ||
	    (rc = in_branch(c, "head", true, &in.head)) ||
	    (rc = in_branch(c, "base", false, &in.base)) ||
	    (rc = pull_create(&o, c->f, c->repo, &in)))
		return rc;
	buf_addf(c->out, "opened pull request #%lld: /%s/%s/pull/%lld", number_of(o),
		 c->repo->owner, c->repo->name, number_of(o));
	json_decref(o);
	return 0;
}

static int tool_create_issue(struct tool_call *c)
{
	struct issue is;
	const char *title = NULL, *body = "";
	int rc;
	if ((rc = in_str(c, "title", true, &title)) || (rc = in_str(c, "body", false, &body)) ||
	    (rc = issue_create(&is, c->f, c->repo, title, body, NULL)))
		return rc;
	buf_addf(c->out, "opened issue #%lld: /%s/%s/issues/%lld", (long long)is.number,
		 c->repo->owner, c->repo->name, (long long)is.number);
	return 0;
}

static int tool_comment_on_issue(struct tool_call *c)
{
	const char *number, *body = NULL;
	json_t *o = NULL;
	int rc;
	if ((rc = in_number(c, &number)) || (rc = in_str(c, "body", true, &body)) ||
	    (rc = comment_create(&o, c->f, c->repo, number, body)))
		return rc;
	buf_addf(c->out, "commented on #%s (comment %lld): /%s/%s/issues/%s", number,
		 (long long)json_integer_value(json_object_get(o, "id")), c->repo->owner,
		 c->repo->name, number);
	json_decref(o);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct tool_call *c);
} tools[] = {
	{ "pr_diff", tool_pr_diff },           { "pr_comment", tool_pr_comment },
	{ "pr_review", tool_pr_review },       { "create_pr", tool_create_pr },
	{ "create_issue", tool_create_issue }, { "comment_on_issue", tool_comment_on_issue },
};

/* ---- the route ---- */

/* The workload's repository, loaded as the actor sees it (its role on it
 * included). */
static int task_repo(struct repo **out, struct forge *f, int64_t repo_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT u.username, r.name FROM repositories r "
			      "JOIN users u ON u.id = r.owner_id WHERE r.id = $1",
			      arena_int(f->arena, (long long)repo_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "the task's repository is gone");
	return repo_load(out, f, db_val(res, 0, 0), db_val(res, 0, 1));
}

int h_task_tool(struct req *r, struct resp *w)
{
	struct task t;
	struct auth actor;
	struct repo *repo = NULL;
	struct buf out = BUF_INIT;
	const char *name = req_param(r, "name");
	const struct tool_spec *spec = tool_spec(name);
	int (*run)(struct tool_call *) = NULL;
	int rc;
	if ((rc = task_load(r, &t)))
		return rc;
	if (strcmp(t.type, "agent"))
		return err_set(&r->err, ERR_PERM, "not_an_agent",
			       "workload %lld is not an agent: it has no tools",
			       (long long)t.workload_id);
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(tools[i].name, name))
			run = tools[i].run;
	if (!spec || spec->where != TOOL_FORGE || !run ||
	    !tool_listed(json_object_get(json_object_get(t.spec, "agent"), "tools"), name))
		return err_set(&r->err, ERR_PERM, "tool_not_offered",
			       "tool '%.60s' is not a forge tool offered to this agent", name);
	json_t *input = json_object_get(r->json, "input");
	if (!json_is_object(input))
		return err_set(&r->err, ERR_INVALID, "invalid_input",
			       "the body must hold the tool's input as an object in 'input'");
	struct forge as_actor = { .db = r->db, .arena = r->arena, .err = &r->err, .who = &actor };
	if (!t.actor_id || user_auth_load(&actor, &as_actor, t.actor_id)) {
		if (r->err.code == ERR_INTERNAL)
			return r->err.code;
		err_clear(&r->err);
		return err_set(&r->err, ERR_PERM, "no_actor",
			       "the person this agent acts for no longer has an account");
	}
	actor.via_agent = true;
	struct tool_call c = { .f = &as_actor, .input = input, .out = &out };
	if ((rc = task_repo(&repo, &as_actor, t.repo_id)) == 0) {
		c.repo = repo;
		rc = run(&c);
	}
	if (rc == ERR_INTERNAL)
		goto done; /* the server's trouble, not the model's to fix */
	/* a refusal: the model reads why, and may try otherwise */
	resp_json(w, 200,
		  json_pack("{s:s%,s:b}", "output", rc ? r->err.msg : out.ptr,
			    rc ? strlen(r->err.msg) : out.len, "is_error", rc != 0));
	err_clear(&r->err);
	rc = 0;
done:
	buf_release(&out);
	return rc;
}
