/* tools.c — the catalogue of agent tools (see tools.h). */
#include "llm/tools.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

#define OBJ(props, req) "{\"type\":\"object\",\"properties\":{" props "},\"required\":[" req "]}"
#define STR(name, what) "\"" name "\":{\"type\":\"string\",\"description\":\"" what "\"}"
#define INT(name, what) "\"" name "\":{\"type\":\"integer\",\"description\":\"" what "\"}"
#define BOOL(name, what) "\"" name "\":{\"type\":\"boolean\",\"description\":\"" what "\"}"

/* The table is laid out by hand: clang-format cannot wrap string
 * literals joined with macros readably. */
/* clang-format off */
static const struct tool_spec specs[] = {
	{ "read_file",
	  "Read a text file of the repository's working tree. Paths are relative to the "
	  "repository's root. Long files come in pieces: give offset (first line, from 1) and "
	  "limit (lines).",
	  OBJ(STR("path", "file path relative to the repository root") ","
	      INT("offset", "first line to return, from 1") ","
	      INT("limit", "how many lines to return (default 2000)"),
	      "\"path\""),
	  TOOL_WORKSPACE, false },
	{ "list_files",
	  "List the files and directories under a directory of the working tree (the root by "
	  "default); directories end with '/'. recursive lists the whole subtree (capped).",
	  OBJ(STR("path", "directory relative to the repository root; default the root") ","
	      BOOL("recursive", "list the whole subtree"),
	      ""),
	  TOOL_WORKSPACE, false },
	{ "search_code",
	  "Search the working tree's text files for a regular expression (POSIX extended); "
	  "answers path:line:text for each match (capped).",
	  OBJ(STR("pattern", "extended regular expression") ","
	      STR("path", "directory or file to search; default the whole tree") ","
	      BOOL("ignore_case", "match case-insensitively"),
	      "\"pattern\""),
	  TOOL_WORKSPACE, false },
	{ "write_file",
	  "Write a whole file of the working tree (created with its directories if missing). "
	  "An existing file must have been read with read_file first.",
	  OBJ(STR("path", "file path relative to the repository root") ","
	      STR("content", "the file's new content, whole"),
	      "\"path\",\"content\""),
	  TOOL_WORKSPACE, true },
	{ "run_command",
	  "Run a shell command (bash -c) in the repository's root inside the sandbox: no "
	  "network, limited time and output. Answers the exit code and the output.",
	  OBJ(STR("command", "the shell command") ","
	      INT("timeout", "seconds before it is killed (default 120, at most 600)"),
	      "\"command\""),
	  TOOL_WORKSPACE, false },
	{ "git_status",
	  "Show the working tree's status (git status --short --branch).",
	  OBJ("", ""),
	  TOOL_WORKSPACE, false },
	{ "git_diff",
	  "Show the changes of the working tree against HEAD (or, with staged, the index "
	  "against HEAD), optionally for one path.",
	  OBJ(STR("path", "limit the diff to this path") ","
	      BOOL("staged", "diff the index"),
	      ""),
	  TOOL_WORKSPACE, false },
	{ "create_branch",
	  "Create a branch at HEAD and switch to it. Agent branches live under plue/: a name "
	  "without that prefix gets it.",
	  OBJ(STR("name", "branch name, e.g. plue/fix-typo"), "\"name\""),
	  TOOL_WORKSPACE, true },
	{ "commit",
	  "Commit all changes of the working tree (git add -A, then commit) on the current "
	  "branch. Answers the new commit's id.",
	  OBJ(STR("message", "the commit message"), "\"message\""),
	  TOOL_WORKSPACE, true },
	{ "push",
	  "Push the current branch to the forge. Only branches under plue/ may be pushed, and "
	  "never a protected branch.",
	  OBJ(STR("branch", "the branch to push; default the current one"), ""),
	  TOOL_WORKSPACE, true },
	{ "pr_diff",
	  "Show a pull request's diff (base...head) and its changed files.",
	  OBJ(INT("number", "the pull request's number"), "\"number\""),
	  TOOL_FORGE, false },
	{ "pr_comment",
	  "Post a comment on a pull request's conversation.",
	  OBJ(INT("number", "the pull request's number") ","
	      STR("body", "Markdown"),
	      "\"number\",\"body\""),
	  TOOL_FORGE, true },
	{ "pr_review",
	  "Submit a review of a pull request: a summary and inline comments on lines of the "
	  "head commit's files.",
	  OBJ(INT("number", "the pull request's number") ","
	      "\"event\":{\"type\":\"string\","
	                 "\"enum\":[\"comment\",\"approve\",\"request_changes\"],"
	                 "\"description\":\"the review's verdict (default comment)\"},"
	      STR("body", "the review's summary, Markdown") ","
	      "\"comments\":{\"type\":\"array\",\"description\":\"inline comments\","
	                    "\"items\":" OBJ(STR("path", "file path") ","
	                                     INT("line", "line in the new file") ","
	                                     STR("body", "Markdown"),
	                                     "\"path\",\"line\",\"body\"") "}",
	      "\"number\""),
	  TOOL_FORGE, true },
	{ "create_pr",
	  "Open a pull request from a pushed branch.",
	  OBJ(STR("title", "title") ","
	      STR("body", "Markdown description") ","
	      STR("head", "the branch with the changes, e.g. plue/fix-typo") ","
	      STR("base", "the branch to merge into; default the repository's default branch"),
	      "\"title\",\"head\""),
	  TOOL_FORGE, true },
	{ "create_issue",
	  "Open an issue in the repository.",
	  OBJ(STR("title", "title") "," STR("body", "Markdown"), "\"title\""),
	  TOOL_FORGE, true },
	{ "comment_on_issue",
	  "Post a comment on an issue (or a pull request's conversation).",
	  OBJ(INT("number", "the issue's number") "," STR("body", "Markdown"),
	      "\"number\",\"body\""),
	  TOOL_FORGE, true },
};
/* clang-format on */

const struct tool_spec *tool_specs(size_t *n)
{
	*n = sizeof(specs) / sizeof(specs[0]);
	return specs;
}

const struct tool_spec *tool_spec(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (!strcmp(specs[i].name, name))
			return &specs[i];
	return NULL;
}

bool tool_listed(const json_t *names, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	}
	return false;
}

int tool_names_check(const json_t *names, struct err *e)
{
	if (!json_is_array(names) || json_array_size(names) > 64)
		return err_set(e, ERR_INVALID, "invalid_tools",
			       "tools must be an array of tool names");
	size_t i, j;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			return err_set(e, ERR_INVALID, "invalid_tools",
				       "tools must be an array of tool names");
		if (!tool_spec(s)) {
			char known[512] = "";
			size_t len = 0;
			for (j = 0; j < sizeof(specs) / sizeof(specs[0]); j++)
				len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s",
							j ? ", " : "", specs[j].name);
			return err_set(e, ERR_INVALID, "unknown_tool",
				       "unknown tool '%.64s' (known: %s)", s, known);
		}
		for (j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_array_get(names, j)), s))
				return err_set(e, ERR_INVALID, "invalid_tools",
					       "tool '%s' is listed twice", s);
	}
	return 0;
}

void tool_offer(const json_t *names, struct llm_tool **out, size_t *n, json_t **schemas)
{
	size_t cap = json_array_size(names), k = 0, i;
	struct llm_tool *t = xcalloc(cap ? cap : 1, sizeof(*t));
	json_t *arr = json_array(), *v;
	json_array_foreach(names, i, v)
	{
		const struct tool_spec *s = tool_spec(json_string_value(v));
		json_t *schema = s ? json_loads(s->schema, 0, NULL) : NULL;
		if (!schema)
			continue;
		json_array_append_new(arr, schema);
		t[k++] = (struct llm_tool){ .name = s->name,
					    .description = s->description,
					    .input_schema = schema };
	}
	*out = t;
	*n = k;
	*schemas = arr;
}
