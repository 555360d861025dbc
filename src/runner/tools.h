/* tools.h — the runner's side of agent tools (the catalogue is
 * llm/tools.h): runs one tool call of the model on the workload's
 * workspace and answers its result as text.
 *
 * Workspace tools run here. The rules they keep, whatever the model asks:
 *   - paths are relative to the workspace; absolute paths, ".." that
 *     leaves it, and symbolic links that lead out of it are refused (the
 *     file is opened component by component without following links out:
 *     openat2 RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS, or an equivalent);
 *     .git/ is not the model's to read or write through file tools;
 *   - write_file refuses to overwrite a file the session has not read (or
 *     written) first;
 *   - run_command and every git command run inside the workload's sandbox
 *     (never on the host: the workspace's .git is the model's to change),
 *     with a time limit and an output cap; cancel kills them;
 *   - push happens from the runner with the task token, from a repository
 *     of its own made for the push, which gets the branch's objects as a
 *     pack the sandbox writes (verified by index-pack) and the workspace's
 *     shallow list: nothing of the workspace's git configuration, hooks,
 *     alternates or links is used on the host. Only to refs/heads/plue/...;
 *     the server refuses the rest too.
 * Forge tools are posted to POST /internal/tasks/:id/tools/:name with
 * {"input": ...}; the server answers {"output": "...", "is_error": bool}.
 *
 * A tool never fails the workload: whatever goes wrong is its result with
 * is_error set, and the model reads it. */
#ifndef PLUE_RUNNER_TOOLS_H
#define PLUE_RUNNER_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "runner/client.h"
#include "runner/sandbox.h"

/* Longest tool output handed to the model; longer output is cut in the
 * middle with a note saying how much was left out. */
#define TOOL_OUTPUT_MAX (48 * 1024)

struct tool_ctx {
	struct sandbox *sb;     /* the workload's; the workspace is sandbox_workspace(sb) */
	struct client *client;  /* to the server, for forge tools and push */
	const char *server_url; /* "http://127.0.0.1:4000" */
	int64_t workload_id;
	const char *task_token;
	const char *clone_path; /* "/owner/repo.git": the repository's git URL path */
	const char *author_name, *author_email; /* for commits */
	/* polled while a command runs: nonzero kills it */
	int (*cancelled)(void *cls);
	void *cls;
	/* state kept across calls of one workload (the files read, for
	 * write_file's rule); tools_ctx_release frees it */
	json_t *seen;
};

/* Runs tool name with input (a JSON object) and sets *output (malloc'd,
 * valid UTF-8, at most TOOL_OUTPUT_MAX bytes plus the note) and *is_error.
 * Unknown names and bad inputs are results with is_error too. */
void tool_run(struct tool_ctx *c, const char *name, json_t *input, char **output, bool *is_error);

/* Frees what c keeps between calls (not the sandbox or the client). */
void tools_ctx_release(struct tool_ctx *c);

#endif
