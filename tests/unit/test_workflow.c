/* test_workflow.c — the workflow model: the three examples of the format
 * document parsed field by field, aliases and the forms of `on`, every
 * class of error with its exact FILE:LINE:COL message, trigger matching,
 * workflow_dispatch inputs, matrix expansion and secret references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/util.h"
#include "workflow/workflow.h"

#define FILE_NAME ".plue/workflows/ci.yaml"

/* The examples of the workflow format document, verbatim. */
static const char ex1[] =
	"name: CI\n"
	"on:\n"
	"  push:\n"
	"    branches: [main, \"release/**\"]      # globs: * ** ? and !negation\n"
	"    paths: [\"src/**\", \"Makefile\"]       # run only if a changed file matches\n"
	"  pull_request:\n"
	"    types: [opened, synchronize, reopened]   # the default set\n"
	"  workflow_dispatch:\n"
	"    inputs:\n"
	"      target: {type: choice, options: [staging, prod], default: staging}\n"
	"  schedule:\n"
	"    - cron: \"17 3 * * *\"                # five fields, UTC, default branch\n"
	"mode: scripted                          # the default\n"
	"env:\n"
	"  CFLAGS: -O2\n"
	"concurrency:\n"
	"  group: ci-${{ event.ref }}\n"
	"  cancel-in-progress: true\n"
	"jobs:\n"
	"  build:\n"
	"    runs-on: sandbox\n"
	"    timeout-minutes: 20\n"
	"    steps:\n"
	"      - name: Build\n"
	"        run: make\n"
	"  test:\n"
	"    needs: [build]\n"
	"    strategy:\n"
	"      matrix:\n"
	"        cc: [gcc, clang]\n"
	"    env:\n"
	"      CC: ${{ matrix.cc }}\n"
	"    steps:\n"
	"      - run: make test\n"
	"        timeout-minutes: 10\n"
	"      - name: Report\n"
	"        if: ${{ failure() }}\n"
	"        run: cat test.log\n"
	"        continue-on-error: true\n";
static const char ex2[] = "name: Code review\n"
			  "on:\n"
			  "  pull_request:\n"
			  "    types: [opened, synchronize]\n"
			  "mode: agent\n"
			  "agent:\n"
			  "  model: claude-sonnet-4-20250514\n"
			  "  system: |\n"
			  "    You review pull requests in this repository. Read the diff, look for\n"
			  "    bugs and security problems, and leave inline comments.\n"
			  "  prompt: Review pull request #${{ event.pull_request.number }}.\n"
			  "  tools: [read_file, list_files, search_code, pr_diff, pr_comment, pr_review]\n"
			  "  max_turns: 20\n"
			  "  timeout: 600          # seconds\n";
static const char ex3[] = "name: Issue helper\n"
			  "on:\n"
			  "  issue.comment:        # also spelled issue_comment\n"
			  "    contains: \"@plue\"\n"
			  "mode: agent\n"
			  "agent:\n"
			  "  model: claude-sonnet-4-20250514\n"
			  "  system: You help with issues in this repository.\n"
			  "  tools: [read_file, list_files, search_code, write_file, run_command,\n"
			  "          create_branch, commit, create_pr, comment_on_issue]\n"
			  "  max_turns: 30\n";

static struct workflow *parse_ok(const char *yaml)
{
	struct workflow *w = NULL;
	struct err e = { 0 };
	if (workflow_parse(&w, FILE_NAME, yaml, strlen(yaml), &e))
		fail_msg("parse failed: %s", e.msg);
	return w;
}

static void test_example_ci(void **state)
{
	struct workflow *w = parse_ok(ex1);
	assert_string_equal(w->name, "CI");
	assert_string_equal(w->file, FILE_NAME);
	assert_int_equal(w->mode, WF_MODE_SCRIPTED);
	assert_int_equal(w->ntriggers, 4);

	const struct wf_trigger *t = &w->triggers[0];
	assert_int_equal(t->type, WF_EV_PUSH);
	assert_int_equal(t->line, 3);
	assert_int_equal(t->col, 3);
	assert_true(t->branches.set);
	assert_int_equal(t->branches.n, 2);
	assert_string_equal(t->branches.v[0], "main");
	assert_string_equal(t->branches.v[1], "release/**");
	assert_int_equal(t->paths.n, 2);
	assert_string_equal(t->paths.v[1], "Makefile");
	assert_false(t->tags.set);

	t = &w->triggers[1];
	assert_int_equal(t->type, WF_EV_PULL_REQUEST);
	assert_int_equal(t->types.n, 3);
	assert_string_equal(t->types.v[2], "reopened");

	t = &w->triggers[2];
	assert_int_equal(t->type, WF_EV_WORKFLOW_DISPATCH);
	assert_int_equal(t->ninputs, 1);
	assert_string_equal(t->inputs[0].name, "target");
	assert_int_equal(t->inputs[0].type, WF_INPUT_CHOICE);
	assert_int_equal(t->inputs[0].options.n, 2);
	assert_string_equal(t->inputs[0].options.v[1], "prod");
	assert_string_equal(json_string_value(t->inputs[0].def), "staging");
	assert_false(t->inputs[0].required);

	t = &w->triggers[3];
	assert_int_equal(t->type, WF_EV_SCHEDULE);
	assert_int_equal(t->ncrons, 1);
	assert_string_equal(t->crons[0].text, "17 3 * * *");
	assert_true(cron_matches(&t->crons[0].cron, 3 * 3600 + 17 * 60));

	assert_int_equal(w->env.n, 1);
	assert_string_equal(w->env.v[0].key, "CFLAGS");
	assert_string_equal(w->env.v[0].value, "-O2");
	assert_string_equal(w->concurrency.group, "ci-${{ event.ref }}");
	assert_true(w->concurrency.cancel_in_progress);
	assert_int_equal(w->permissions.contents, WF_PERM_READ);
	assert_false(w->permissions.network);

	assert_int_equal(w->njobs, 2);
	const struct wf_job *b = &w->jobs[0];
	assert_string_equal(b->id, "build");
	assert_null(b->name);
	assert_string_equal(b->runs_on, "sandbox");
	assert_int_equal(b->timeout_sec, 20 * 60);
	assert_int_equal(b->needs.n, 0);
	assert_null(b->matrix);
	assert_int_equal(b->nsteps, 1);
	assert_string_equal(b->steps[0].name, "Build");
	assert_string_equal(b->steps[0].run, "make");
	assert_int_equal(b->steps[0].timeout_sec, 0);

	const struct wf_job *j = &w->jobs[1];
	assert_string_equal(j->id, "test");
	assert_int_equal(j->timeout_sec, 360 * 60);
	assert_int_equal(j->needs.n, 1);
	assert_string_equal(j->needs.v[0], "build");
	assert_non_null(j->matrix);
	assert_true(j->fail_fast);
	assert_int_equal(j->env.n, 1);
	assert_string_equal(j->env.v[0].value, "${{ matrix.cc }}");
	assert_int_equal(j->nsteps, 2);
	assert_null(j->steps[0].name);
	assert_string_equal(j->steps[0].run, "make test");
	assert_int_equal(j->steps[0].timeout_sec, 600);
	assert_false(j->steps[0].continue_on_error);
	assert_string_equal(j->steps[1].name, "Report");
	assert_string_equal(j->steps[1].if_expr, "${{ failure() }}");
	assert_true(j->steps[1].continue_on_error);
	assert_int_equal(j->steps[1].line, 36);
	assert_int_equal(j->steps[1].col, 9);

	char nb[64];
	assert_string_equal(wf_step_name(&j->steps[0], nb, sizeof(nb)), "make test");
	assert_string_equal(wf_step_name(&j->steps[1], nb, sizeof(nb)), "Report");

	struct wf_instance *inst;
	size_t n;
	struct err e = { 0 };
	assert_int_equal(workflow_job_expand(&inst, &n, j, NULL, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(inst[0].name, "test (gcc)");
	assert_string_equal(inst[1].name, "test (clang)");
	assert_string_equal(json_string_value(json_object_get(inst[1].matrix, "cc")), "clang");
	wf_instances_free(inst, n);

	assert_int_equal(workflow_job_expand(&inst, &n, b, NULL, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(inst[0].name, "build");
	assert_int_equal(json_object_size(inst[0].matrix), 0);
	wf_instances_free(inst, n);

	json_t *js = workflow_to_json(w);
	assert_string_equal(json_string_value(json_object_get(js, "mode")), "scripted");
	json_t *on = json_object_get(js, "on");
	assert_non_null(json_object_get(on, "schedule"));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(on, "schedule"), 0), "cron")),
			    "17 3 * * *");
	json_t *jt = json_object_get(json_object_get(js, "jobs"), "test");
	assert_int_equal(json_array_size(json_object_get(jt, "steps")), 2);
	assert_int_equal(json_integer_value(json_object_get(jt, "timeout-minutes")), 360);
	json_decref(js);
	workflow_free(w);
}

static void test_example_review_agent(void **state)
{
	struct workflow *w = parse_ok(ex2);
	assert_string_equal(w->name, "Code review");
	assert_int_equal(w->mode, WF_MODE_AGENT);
	assert_int_equal(w->njobs, 0);
	assert_int_equal(w->ntriggers, 1);
	assert_int_equal(w->triggers[0].type, WF_EV_PULL_REQUEST);
	assert_int_equal(w->triggers[0].types.n, 2);
	assert_string_equal(w->triggers[0].types.v[1], "synchronize");
	assert_string_equal(w->agent.model, "claude-sonnet-4-20250514");
	assert_non_null(strstr(w->agent.system, "leave inline comments.\n"));
	/* YAML: " #" starts a comment, so this plain scalar ends before it;
	 * a prompt containing " #" has to be quoted */
	assert_string_equal(w->agent.prompt, "Review pull request");
	workflow_free(w);
	const char *quoted = "on: pull_request\nmode: agent\nagent:\n  model: m\n"
			     "  prompt: \"Review pull request #${{ event.pull_request.number }}.\"\n";
	w = parse_ok(quoted);
	assert_string_equal(w->agent.prompt,
			    "Review pull request #${{ event.pull_request.number }}.");
	workflow_free(w);
	w = parse_ok(ex2);
	assert_int_equal(w->agent.tools.n, 6);
	assert_string_equal(w->agent.tools.v[0], "read_file");
	assert_string_equal(w->agent.tools.v[5], "pr_review");
	assert_int_equal(w->agent.max_turns, 20);
	assert_int_equal(w->agent.timeout_sec, 600);
	workflow_free(w);
}

static void test_example_issue_agent(void **state)
{
	struct workflow *w = parse_ok(ex3);
	assert_string_equal(w->name, "Issue helper");
	assert_int_equal(w->mode, WF_MODE_AGENT);
	assert_int_equal(w->ntriggers, 1);
	assert_int_equal(w->triggers[0].type, WF_EV_ISSUE_COMMENT);
	assert_string_equal(w->triggers[0].contains, "@plue");
	assert_string_equal(w->agent.system, "You help with issues in this repository.");
	assert_null(w->agent.prompt);
	assert_int_equal(w->agent.tools.n, 9);
	assert_string_equal(w->agent.tools.v[8], "comment_on_issue");
	assert_int_equal(w->agent.max_turns, 30);
	assert_int_equal(w->agent.timeout_sec, 600);
	workflow_free(w);
}

static void test_on_forms_and_aliases(void **state)
{
	struct workflow *w = parse_ok("on: push\njobs:\n  a:\n    steps: [{run: x}]\n");
	assert_int_equal(w->ntriggers, 1);
	assert_int_equal(w->triggers[0].type, WF_EV_PUSH);
	assert_string_equal(w->name, "ci"); /* from the file name */
	workflow_free(w);

	w = parse_ok("on: [issue_comment, pull_request_review, user_prompt, manual, mention]\n"
		     "jobs:\n  a:\n    steps: [{run: x}]\n");
	assert_int_equal(w->ntriggers, 5);
	assert_int_equal(w->triggers[0].type, WF_EV_ISSUE_COMMENT);
	assert_int_equal(w->triggers[1].type, WF_EV_PULL_REQUEST_REVIEW);
	assert_string_equal(w->triggers[1].types.v[0], "submitted");
	assert_int_equal(w->triggers[2].type, WF_EV_CHAT);
	assert_int_equal(w->triggers[3].type, WF_EV_WORKFLOW_DISPATCH);
	assert_int_equal(w->triggers[4].type, WF_EV_MENTION);
	assert_string_equal(w->triggers[4].user, "plue");
	workflow_free(w);

	w = parse_ok("\"on\":\n  issues:\n    types: [opened]\n  mention:\n    user: \"@bot\"\n"
		     "jobs:\n  a:\n    steps: [{run: x}]\n");
	assert_int_equal(w->triggers[0].type, WF_EV_ISSUE_OPENED);
	assert_int_equal(w->triggers[1].type, WF_EV_MENTION);
	assert_string_equal(w->triggers[1].user, "bot");
	workflow_free(w);

	assert_int_equal(wf_event_type_parse("issue_comment"), WF_EV_ISSUE_COMMENT);
	assert_int_equal(wf_event_type_parse("issues"), WF_EV_ISSUE_OPENED);
	assert_int_equal(wf_event_type_parse("user_prompt"), WF_EV_CHAT);
	assert_int_equal(wf_event_type_parse("manual"), WF_EV_WORKFLOW_DISPATCH);
	assert_int_equal(wf_event_type_parse("pull_request_review"), WF_EV_PULL_REQUEST_REVIEW);
	assert_int_equal(wf_event_type_parse("release"), -1);
	assert_string_equal(wf_event_name(WF_EV_ISSUE_COMMENT), "issue.comment");
}

static void test_details(void **state)
{
	struct workflow *w = parse_ok("on: push\n"
				      "permissions: write-all\n"
				      "jobs:\n"
				      "  a:\n"
				      "    name: Build ${{ matrix.os }}\n"
				      "    if: event.ref == 'refs/heads/main'\n"
				      "    timeout-minutes: 0.5\n"
				      "    continue-on-error: true\n"
				      "    permissions: {contents: write, network: true}\n"
				      "    strategy:\n"
				      "      fail-fast: false\n"
				      "      max-parallel: 2\n"
				      "      matrix:\n"
				      "        os: [linux, bsd]\n"
				      "    steps:\n"
				      "      - run: |\n"
				      "          echo one\n"
				      "          echo two\n"
				      "        working-directory: sub/dir\n"
				      "        env: {N: 1, B: true, E: ''}\n"
				      "        if: false\n"
				      "  b:\n"
				      "    steps: [{run: x}]\n");
	assert_int_equal(w->permissions.contents, WF_PERM_WRITE);
	assert_int_equal(w->permissions.issues, WF_PERM_WRITE);
	const struct wf_job *a = &w->jobs[0], *b = &w->jobs[1];
	assert_string_equal(a->if_expr, "event.ref == 'refs/heads/main'");
	assert_int_equal(a->timeout_sec, 30);
	assert_true(a->continue_on_error);
	assert_true(a->has_permissions);
	assert_int_equal(a->permissions.contents, WF_PERM_WRITE);
	assert_int_equal(a->permissions.issues, WF_PERM_NONE);
	assert_true(a->permissions.network);
	assert_false(b->has_permissions);
	assert_int_equal(b->permissions.pull_requests, WF_PERM_WRITE); /* the workflow's */
	assert_false(a->fail_fast);
	assert_int_equal(a->max_parallel, 2);
	assert_string_equal(a->steps[0].run, "echo one\necho two\n");
	assert_string_equal(a->steps[0].working_directory, "sub/dir");
	assert_string_equal(a->steps[0].env.v[0].value, "1");
	assert_string_equal(a->steps[0].env.v[1].value, "true");
	assert_string_equal(a->steps[0].env.v[2].value, "");
	assert_string_equal(a->steps[0].if_expr, "false");
	char nb[64];
	assert_string_equal(wf_step_name(&a->steps[0], nb, sizeof(nb)), "echo one");

	struct wf_instance *inst;
	size_t n;
	struct err e = { 0 };
	assert_int_equal(workflow_job_expand(&inst, &n, a, NULL, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(inst[0].name, "Build linux"); /* a name with ${{ }} gets no suffix */
	assert_string_equal(inst[1].name, "Build bsd");
	wf_instances_free(inst, n);
	workflow_free(w);
}

static const struct {
	const char *name;
	const char *yaml;
	const char *msg;
} bad[] = {
	{ "agent_jobs",
	  "on: chat\n"
	  "mode: agent\n"
	  "agent: {model: m}\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:4:1: 'jobs' is not used in agent mode (see 'agent')" },
	{ "agent_nomodel",
	  "on: chat\n"
	  "mode: agent\n"
	  "agent:\n"
	  "  system: hi\n",
	  ".plue/workflows/ci.yaml:4:3: 'agent' needs 'model'" },
	{ "agent_scripted",
	  "on: chat\n"
	  "agent: {model: m}\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:2:1: 'agent' needs mode: agent" },
	{ "alias",
	  "on: push\n"
	  "env: &e {A: 1}\n"
	  "jobs:\n"
	  "  a:\n"
	  "    env: *e\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:5:10: yaml aliases (*name) are not supported" },
	{ "bad_jobid",
	  "on: push\n"
	  "jobs:\n"
	  "  1a:\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:3:3: job id '1a' is not valid (a letter or '_', then letters, digits, '-' or '_')" },
	{ "bad_utf8",
	  "on: push\n"
	  "name: \"\xff"
	  "\"\n",
	  ".plue/workflows/ci.yaml:2:8: yaml syntax error: invalid leading UTF-8 octet" },
	{ "badexpr",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: echo ${{ matrix.x == }}\n",
	  ".plue/workflows/ci.yaml:5:34: expression 'matrix.x ==': unexpected end of expression" },
	{ "bool_bad",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n"
	  "        continue-on-error: yes\n",
	  ".plue/workflows/ci.yaml:6:28: 'continue-on-error' must be true or false" },
	{ "branches_both",
	  "on:\n"
	  "  push:\n"
	  "    branches: [main]\n"
	  "    branches-ignore: [x]\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:4:5: 'branches' and 'branches-ignore' cannot be used together" },
	{ "choice",
	  "on:\n"
	  "  workflow_dispatch:\n"
	  "    inputs:\n"
	  "      t: {type: choice, options: [a, b], default: c}\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:4:51: default 'c' of input 't' is not one of its options" },
	{ "comment_only", "# nothing\n", ".plue/workflows/ci.yaml:1:1: workflow file is empty" },
	{ "cron",
	  "on:\n"
	  "  schedule:\n"
	  "    - cron: \"61 * * * *\"\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:13: cron field 'minute' value '61' is out of range 0-59" },
	{ "cycle",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    needs: c\n"
	  "    steps: [{run: x}]\n"
	  "  b:\n"
	  "    needs: a\n"
	  "    steps: [{run: x}]\n"
	  "  c:\n"
	  "    needs: [b]\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:7:12: needs form a cycle: a -> c -> b -> a" },
	{ "dup",
	  "on: push\n"
	  "name: a\n"
	  "name: b\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:1: duplicate key 'name' in the workflow" },
	{ "empty", "", ".plue/workflows/ci.yaml:1:1: workflow file is empty" },
	{ "env_bad",
	  "on: push\n"
	  "env:\n"
	  "  A B: 1\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:3: env name 'A B' is not valid (letters, digits and '_')" },
	{ "env_nested",
	  "on: push\n"
	  "env:\n"
	  "  A: [1]\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:6: env value of 'A' must be a string, not a list" },
	{ "exclude_unknown",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    strategy:\n"
	  "      matrix:\n"
	  "        x: [1,2]\n"
	  "        exclude:\n"
	  "          - y: 1\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:8:13: matrix exclude names unknown key 'y'" },
	{ "filter",
	  "on:\n"
	  "  push:\n"
	  "    contains: x\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:5: event 'push' does not take 'contains' (it takes branches, branches-ignore, tags, tags-ignore, paths, paths-ignore)" },
	{ "if_bad",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    if: matrix.x ==\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:4:20: expression 'matrix.x ==': unexpected end of expression" },
	{ "issues_closed",
	  "on:\n"
	  "  issues:\n"
	  "    types: [closed]\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:13: unknown issues type 'closed' (known: opened)" },
	{ "matrix_big",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    strategy:\n"
	  "      matrix:\n"
	  "        x: [1,2,3,4,5,6,7,8,9,10]\n"
	  "        y: [1,2,3,4,5,6,7,8,9,10]\n"
	  "        z: [1,2,3]\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:8:12: matrix has more than 256 combinations" },
	{ "mode",
	  "on: push\n"
	  "mode: turbo\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:2:7: unknown mode 'turbo' (use scripted or agent)" },
	{ "needs_unknown",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    needs: [b]\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:4:13: job 'a' needs unknown job 'b'" },
	{ "no_jobs", "on: push\n", ".plue/workflows/ci.yaml:1:1: the workflow needs 'jobs'" },
	{ "no_on",
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:1:1: the workflow needs 'on' (the events that start it)" },
	{ "norun",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - name: x\n",
	  ".plue/workflows/ci.yaml:5:9: step 1 of job 'a' needs 'run'" },
	{ "on_empty",
	  "on:\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:1:4: 'on' must name at least one event" },
	{ "perm",
	  "on: push\n"
	  "permissions:\n"
	  "  contents: admin\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:13: permission 'contents' must be read, write or none" },
	{ "prtype",
	  "on:\n"
	  "  pull_request:\n"
	  "    types: [opened, labeled]\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:21: unknown pull_request type 'labeled' (known: opened, synchronize, reopened, closed, merged, edited)" },
	{ "root_list",
	  "- a\n"
	  "- b\n",
	  ".plue/workflows/ci.yaml:1:1: a workflow must be a map (name, on, jobs, ...), not a list" },
	{ "runs_on",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    runs-on: ubuntu-latest\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:4:14: runs-on 'ubuntu-latest' is not available (use 'sandbox')" },
	{ "sched_str",
	  "on:\n"
	  "  schedule: \"* * * * *\"\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:2:13: 'schedule' must be a list of {cron: \"...\"} entries" },
	{ "self",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    needs: a\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:4:12: needs form a cycle: a -> a" },
	{ "steps_empty",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps: []\n",
	  ".plue/workflows/ci.yaml:4:12: 'steps' must be a non-empty list" },
	{ "syntax",
	  "on: push\n"
	  "jobs: [\n",
	  ".plue/workflows/ci.yaml:3:1: yaml syntax error: did not find expected node content while parsing a flow node" },
	{ "syntax2",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "    - run: x\n"
	  "   bad: 1\n",
	  ".plue/workflows/ci.yaml:6:4: yaml syntax error: did not find expected key while parsing a block mapping" },
	{ "tab",
	  "on: push\n"
	  "\tjobs: x\n",
	  ".plue/workflows/ci.yaml:2:1: yaml syntax error: found a tab character that violates indentation while scanning a plain scalar" },
	{ "timeout_type",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    timeout-minutes: abc\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:4:22: 'timeout-minutes' must be a number" },
	{ "twice",
	  "on:\n"
	  "  issue_comment:\n"
	  "  issue.comment:\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:3:3: event 'issue.comment' is listed twice" },
	{ "twodocs",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n"
	  "---\n"
	  "on: push\n",
	  ".plue/workflows/ci.yaml:6:1: a workflow file holds one yaml document, not several" },
	{ "unknown_event",
	  "on: [push, pushh]\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:1:12: unknown event 'pushh'" },
	{ "unknown_top",
	  "on: push\n"
	  "foo: 1\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n",
	  ".plue/workflows/ci.yaml:2:1: unknown key 'foo' in the workflow" },
	{ "uses",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - uses: actions/checkout@v4\n",
	  ".plue/workflows/ci.yaml:5:9: 'uses' is not supported in step 1 of job 'a'" },
	{ "wd_abs",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - run: x\n"
	  "        working-directory: /etc\n",
	  ".plue/workflows/ci.yaml:6:28: 'working-directory' must be relative to the workspace" },
	{ "step_id",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    steps:\n"
	  "      - id: x\n"
	  "        run: y\n",
	  ".plue/workflows/ci.yaml:5:9: 'id' is not supported in step 1 of job 'a'" },
	{ "tag_not_negation",
	  "on: push\n"
	  "jobs:\n"
	  "  a:\n"
	  "    if: !cancelled()\n"
	  "    steps: [{run: x}]\n",
	  ".plue/workflows/ci.yaml:4:9: '!cancelled()' is read as a yaml tag; quote a value that "
	  "starts with '!' (or write ${{ !... }})" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct workflow *w = (struct workflow *)1;
		struct err e = { 0 };
		int rc = workflow_parse(&w, FILE_NAME, bad[i].yaml, strlen(bad[i].yaml), &e);
		if (rc != ERR_INVALID)
			fail_msg("case %s: parsed (rc %d)", bad[i].name, rc);
		assert_null(w);
		assert_string_equal(e.slug, "workflow_invalid");
		if (strcmp(e.msg, bad[i].msg))
			fail_msg("case %s:\n  got  %s\n  want %s", bad[i].name, e.msg, bad[i].msg);
	}
}

static struct workflow *filters_wf(void)
{
	return parse_ok("on:\n"
			"  push:\n"
			"    branches: [main, 'release/**', '!release/old-*']\n"
			"    paths: ['src/**', '!src/docs/**']\n"
			"  pull_request:\n"
			"    types: [opened, closed]\n"
			"    branches: [main]\n"
			"  issue_comment:\n"
			"    contains: '/deploy'\n"
			"  mention:\n"
			"    user: helper\n"
			"  schedule:\n"
			"    - cron: '0 3 * * *'\n"
			"    - cron: '*/5 * * * 1'\n"
			"  pull_request.review:\n"
			"  chat:\n"
			"jobs:\n  a:\n    steps: [{run: x}]\n");
}

static void test_match_push(void **state)
{
	struct workflow *w = filters_wf();
	const char *src[] = { "src/a.c" }, *docs[] = { "src/docs/x.md" },
		   *both[] = { "README", "src/b.c" };
	struct wf_event ev = { .type = "push", .ref = "refs/heads/main" };
	assert_true(workflow_matches(w, &ev)); /* paths unknown: no restriction */
	ev.paths = src;
	ev.npaths = 1;
	assert_true(workflow_matches(w, &ev));
	ev.paths = docs;
	assert_false(workflow_matches(w, &ev));
	ev.paths = both;
	ev.npaths = 2;
	assert_true(workflow_matches(w, &ev));
	ev.npaths = 0; /* nothing changed */
	assert_false(workflow_matches(w, &ev));

	ev.paths = NULL;
	ev.ref = "refs/heads/release/1.x";
	assert_true(workflow_matches(w, &ev));
	ev.ref = "refs/heads/release/old-1";
	assert_false(workflow_matches(w, &ev));
	ev.ref = "refs/heads/feature";
	assert_false(workflow_matches(w, &ev));
	ev.ref = "refs/tags/v1"; /* branch filters only: tags do not run */
	assert_false(workflow_matches(w, &ev));
	workflow_free(w);

	w = parse_ok("on:\n  push:\n    tags: ['v*']\n    paths: [docs/**]\n"
		     "jobs:\n  a:\n    steps: [{run: x}]\n");
	struct wf_event tag = { .type = "push", .ref = "refs/tags/v1.2", .paths = src, .npaths = 1 };
	assert_true(workflow_matches(w, &tag)); /* path filters skip tags */
	tag.ref = "refs/tags/x1";
	assert_false(workflow_matches(w, &tag));
	tag.ref = "refs/heads/main"; /* tag filters only: branches do not run */
	assert_false(workflow_matches(w, &tag));
	workflow_free(w);

	w = parse_ok("on:\n  push:\n    branches-ignore: [wip/**]\n    paths-ignore: ['*.md']\n"
		     "jobs:\n  a:\n    steps: [{run: x}]\n");
	const char *md[] = { "README.md" }, *mixed[] = { "README.md", "a.c" };
	struct wf_event p = { .type = "push", .ref = "refs/heads/main", .paths = md, .npaths = 1 };
	assert_false(workflow_matches(w, &p));
	p.paths = mixed;
	p.npaths = 2;
	assert_true(workflow_matches(w, &p));
	p.ref = "refs/heads/wip/x";
	assert_false(workflow_matches(w, &p));
	p.ref = "refs/tags/v1"; /* branch filters only (even -ignore): no tags */
	assert_false(workflow_matches(w, &p));
	workflow_free(w);
}

static void test_match_other_events(void **state)
{
	struct workflow *w = filters_wf();
	struct wf_event pr = { .type = "pull_request", .action = "opened", .base = "main" };
	assert_true(workflow_matches(w, &pr));
	pr.base = "refs/heads/main";
	assert_true(workflow_matches(w, &pr));
	pr.base = "dev";
	assert_false(workflow_matches(w, &pr));
	pr.base = "main";
	pr.action = "synchronize";
	assert_false(workflow_matches(w, &pr));
	pr.action = "merged"; /* a merge closes the pull request */
	assert_true(workflow_matches(w, &pr));

	struct wf_event rv = { .type = "pull_request_review", .action = "submitted" };
	assert_true(workflow_matches(w, &rv));
	rv.action = "dismissed";
	assert_false(workflow_matches(w, &rv));

	struct wf_event c = { .type = "issue.comment", .body = "please /DEPLOY now" };
	assert_true(workflow_matches(w, &c));
	c.type = "issue_comment";
	c.body = "nothing";
	assert_false(workflow_matches(w, &c));

	struct wf_event m = { .type = "mention", .user = "Helper" };
	assert_true(workflow_matches(w, &m));
	m.user = "plue";
	assert_false(workflow_matches(w, &m));
	m.user = NULL;
	m.body = "hey @helper, look";
	assert_true(workflow_matches(w, &m));
	m.body = "hey @helpers";
	assert_false(workflow_matches(w, &m));

	struct wf_event s = { .type = "schedule", .cron = " 0  3 * * * " };
	assert_true(workflow_matches(w, &s));
	s.cron = "*/5 * * * 1";
	assert_true(workflow_matches(w, &s));
	s.cron = "0 4 * * *";
	assert_false(workflow_matches(w, &s));

	struct wf_event chat = { .type = "user_prompt" };
	assert_true(workflow_matches(w, &chat));
	struct wf_event none[] = { { .type = "issue.opened" },
				   { .type = "workflow_dispatch" },
				   { .type = "nonsense" },
				   { .type = NULL } };
	for (size_t i = 0; i < 4; i++)
		assert_false(workflow_matches(w, &none[i]));
	workflow_free(w);

	w = parse_ok("on:\n  issues:\n    types: [opened]\njobs:\n  a:\n    steps: [{run: x}]\n");
	struct wf_event io = { .type = "issue.opened" };
	assert_true(workflow_matches(w, &io));
	io.type = "issues";
	io.action = "closed";
	assert_false(workflow_matches(w, &io));
	workflow_free(w);
}

static void test_inputs(void **state)
{
	struct workflow *w = parse_ok(
		"on:\n"
		"  workflow_dispatch:\n"
		"    inputs:\n"
		"      target: {type: choice, options: [staging, prod], default: staging}\n"
		"      dry: {type: boolean, default: true}\n"
		"      count: {type: number}\n"
		"      note:\n"
		"      who: {description: name, required: true}\n"
		"jobs:\n  a:\n    steps: [{run: x}]\n");
	json_t *out;
	struct err e = { 0 };
	json_t *given = json_pack("{s:s, s:s, s:s}", "who", "me", "count", "3", "dry", "false");
	assert_int_equal(workflow_inputs_resolve(&out, w, given, &e), 0);
	char *s = json_dumps(out, JSON_COMPACT);
	assert_string_equal(s, "{\"target\":\"staging\",\"dry\":false,\"count\":3,\"note\":\"\","
			       "\"who\":\"me\"}");
	free(s);
	json_decref(out);
	json_decref(given);

	struct {
		const char *given, *msg;
	} cases[] = {
		{ "{}", "input 'who' is required" },
		{ "{\"who\":\"x\",\"target\":\"moon\"}",
		  "input 'target' must be one of: staging, prod" },
		{ "{\"who\":\"x\",\"dry\":\"maybe\"}", "input 'dry' must be true or false" },
		{ "{\"who\":\"x\",\"count\":\"3x\"}", "input 'count' must be a number" },
		{ "{\"who\":[1]}", "input 'who' must be a string" },
		{ "{\"who\":\"x\",\"extra\":1}", "unknown input 'extra'" },
		{ "[1]", "inputs must be a JSON object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear(&e);
		given = json_loads(cases[i].given, JSON_DECODE_ANY, NULL);
		out = (json_t *)1;
		assert_int_equal(workflow_inputs_resolve(&out, w, given, &e), ERR_INVALID);
		assert_null(out);
		assert_string_equal(e.slug, "invalid_input");
		assert_string_equal(e.msg, cases[i].msg);
		json_decref(given);
	}
	workflow_free(w);

	/* a workflow without inputs takes none */
	w = parse_ok("on: manual\njobs:\n  a:\n    steps: [{run: x}]\n");
	assert_int_equal(workflow_inputs_resolve(&out, w, NULL, &e), 0);
	assert_int_equal(json_object_size(out), 0);
	json_decref(out);
	workflow_free(w);
}

static void test_matrix_include_exclude(void **state)
{
	struct workflow *w = parse_ok("on: push\n"
				      "jobs:\n"
				      "  t:\n"
				      "    strategy:\n"
				      "      matrix:\n"
				      "        os: [linux, bsd]\n"
				      "        cc: [gcc, clang]\n"
				      "        exclude:\n"
				      "          - {os: bsd, cc: gcc}\n"
				      "        include:\n"
				      "          - {cc: clang, sanitize: true}\n"
				      "          - {os: mac, cc: clang}\n"
				      "    steps: [{run: x}]\n");
	struct wf_instance *v;
	size_t n;
	struct err e = { 0 };
	assert_int_equal(workflow_job_expand(&v, &n, &w->jobs[0], NULL, &e), 0);
	const char *want[] = { "t (linux, gcc)", "t (linux, clang, true)", "t (bsd, clang, true)",
			       "t (mac, clang)" };
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].name, want[i]);
	assert_true(json_is_true(json_object_get(v[1].matrix, "sanitize")));
	assert_null(json_object_get(v[0].matrix, "sanitize"));
	wf_instances_free(v, n);
	workflow_free(w);

	/* include only */
	w = parse_ok("on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        include:\n"
		     "          - {v: 1}\n          - {v: 2}\n    steps: [{run: x}]\n");
	assert_int_equal(workflow_job_expand(&v, &n, &w->jobs[0], NULL, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1].name, "t (2)");
	wf_instances_free(v, n);
	workflow_free(w);

	/* everything excluded */
	const char *all = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        v: [1]\n"
			  "        exclude: [{v: 1}]\n    steps: [{run: x}]\n";
	struct workflow *bad_w = (struct workflow *)1;
	assert_int_equal(workflow_parse(&bad_w, FILE_NAME, all, strlen(all), &e), ERR_INVALID);
	assert_string_equal(e.msg, FILE_NAME ":6:9: matrix of job 't' has no combinations left "
					     "after exclude");
}

static void test_secret_refs(void **state)
{
	struct workflow *w = parse_ok("on: push\n"
				      "env: {A: '${{ secrets.WF }}'}\n"
				      "jobs:\n"
				      "  a:\n"
				      "    if: secrets.JOBIF != ''\n"
				      "    env: {B: '${{ secrets.JOB }}'}\n"
				      "    steps:\n"
				      "      - run: echo ${{ secrets.RUN }}\n"
				      "        env: {C: '${{ secrets[''STEP''] }}'}\n"
				      "      - run: echo ${{ toJSON(secrets) }}\n");
	json_t *names = json_array();
	assert_false(workflow_step_secret_refs(names, w, &w->jobs[0], &w->jobs[0].steps[0]));
	char *s = json_dumps(names, JSON_COMPACT);
	assert_string_equal(s, "[\"WF\",\"JOB\",\"JOBIF\",\"STEP\",\"RUN\"]");
	free(s);
	json_decref(names);
	names = json_array();
	assert_true(workflow_step_secret_refs(names, w, &w->jobs[0], &w->jobs[0].steps[1]));
	json_decref(names);
	workflow_free(w);
}

/* Size limits: nesting (which also bounds libyaml's scanner) and jobs. */
static void test_limits(void **state)
{
	struct buf b = BUF_INIT;
	struct workflow *w = NULL;
	struct err e = { 0 };
	buf_adds(&b, "on: push\njobs:\n  a:\n    env: {A: ");
	for (int i = 0; i < 100000; i++)
		buf_addch(&b, '[');
	assert_int_equal(workflow_parse(&w, FILE_NAME, b.ptr, b.len, &e), ERR_INVALID);
	assert_string_equal(e.msg, FILE_NAME ":4:74: yaml is nested more than 64 levels deep");

	buf_reset(&b);
	err_clear(&e);
	buf_adds(&b, "on: push\njobs:\n");
	for (int i = 0; i < 257; i++)
		buf_addf(&b, "  j%d:\n    steps: [{run: x}]\n", i);
	assert_int_equal(workflow_parse(&w, FILE_NAME, b.ptr, b.len, &e), ERR_INVALID);
	assert_string_equal(e.msg, FILE_NAME ":3:3: more than 256 jobs");

	buf_reset(&b);
	buf_adds(&b, "on: push\njobs:\n");
	for (int i = 0; i < 256; i++)
		buf_addf(&b, "  j%d:\n    needs: [j%d]\n    steps: [{run: x}]\n", i, i ? i - 1 : 255);
	err_clear(&e);
	/* 256 jobs in one ring: a cycle through all of them */
	assert_int_equal(workflow_parse(&w, FILE_NAME, b.ptr, b.len, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "needs form a cycle: j0 -> j255 -> j254"));
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_ci),
		cmocka_unit_test(test_example_review_agent),
		cmocka_unit_test(test_example_issue_agent),
		cmocka_unit_test(test_on_forms_and_aliases),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_match_push),
		cmocka_unit_test(test_match_other_events),
		cmocka_unit_test(test_inputs),
		cmocka_unit_test(test_matrix_include_exclude),
		cmocka_unit_test(test_secret_refs),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
