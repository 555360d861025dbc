/* glob.h — the glob patterns of workflow filters (branches, tags, paths),
 * with GitHub Actions semantics. */
#ifndef PLUE_WORKFLOW_GLOB_H
#define PLUE_WORKFLOW_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* True when s matches pattern as a whole. `*` matches any run of
 * characters except '/', `**` any run including '/', `?` one character
 * other than '/', `[abc]` / `[a-z]` / `[!a-z]` one character of a class,
 * and `\x` the character x literally. Every other character matches
 * itself. A pattern starting with '!' is not special here (see
 * glob_filter). */
bool glob_match(const char *pattern, const char *s);

/* Applies an ordered filter list to s, GitHub style: each pattern that
 * matches s decides the answer, later patterns overriding earlier ones; a
 * pattern "!p" excludes what p matches. Returns true when s ends up
 * included. A list whose first pattern is a negation starts from "nothing
 * included", as does an empty list. */
bool glob_filter(const char *const *patterns, size_t n, const char *s);

#endif
