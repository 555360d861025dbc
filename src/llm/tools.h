/* tools.h — the catalogue of the tools an agent may be given: for each its
 * name, what the model is told about it, the JSON Schema of its input, and
 * where it runs. The server offers a session's tools to the model from
 * here (only those the session or workflow lists); the runner executes
 * them (runner/tools.h), forge tools through the server
 * (POST /internal/tasks/:id/tools/:name) so that they act with the
 * authority of the session's person and nothing more.
 *
 * Where a tool runs:
 *   TOOL_WORKSPACE  in the runner, on the workload's workspace: files are
 *                   read and written by the runner with paths confined to
 *                   the workspace; commands and git run inside the sandbox
 *   TOOL_FORGE      on the server, as the session's person, through the
 *                   forge's own functions and authorization */
#ifndef PLUE_LLM_TOOLS_H
#define PLUE_LLM_TOOLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "llm/llm.h"

enum tool_where { TOOL_WORKSPACE, TOOL_FORGE };

struct tool_spec {
	const char *name;
	const char *description; /* what the model reads */
	const char *schema;      /* its input's JSON Schema, as JSON text */
	enum tool_where where;
	bool writes;             /* changes the repository or the forge */
};

/* Every tool, in a fixed order; *n receives the count. */
const struct tool_spec *tool_specs(size_t *n);

/* The tool called name, or NULL. */
const struct tool_spec *tool_spec(const char *name);

/* Whether the JSON array names lists the tool name. */
bool tool_listed(const json_t *names, const char *name);

/* Checks that names (a JSON array) lists known tools, each at most once.
 * 0, or ERR_INVALID with slug "unknown_tool" naming the first unknown one
 * (and the known ones), or "invalid_tools" for a malformed list. */
int tool_names_check(const json_t *names, struct err *e);

/* The llm_tool array offered to the model for names (a JSON array of
 * strings, checked): *out is malloc'd (free it; its members point into the
 * catalogue and into schemas, which the caller keeps alive and decrefs:
 * *schemas is a new array holding each tool's parsed schema), *n its length.
 * Names not in the catalogue are skipped. */
void tool_offer(const json_t *names, struct llm_tool **out, size_t *n, json_t **schemas);

#endif
