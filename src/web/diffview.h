/* diffview.h — a file's unified diff as a table of lines, the one renderer
 * behind a commit's page (web/commits.c) and a pull request's files tab
 * and compare page (web/pulldiff.c). Each page wraps the table in its own
 * file header and decides how much of a diff it shows; the table is the
 * same: a row per hunk header and per line, the old and the new line
 * numbers, the line with its sign, added and deleted lines marked. */
#ifndef PLUE_WEB_DIFFVIEW_H
#define PLUE_WEB_DIFFVIEW_H

#include <git2.h>

#include "web/web.h"

/* What a table shows besides its lines. */
struct diffview_opts {
	/* the file's name, for the table's accessible name ("diff of PATH") */
	const char *path;
	/* with anchors, each line's row has the id fFILE-LN (an old line) or
	 * fFILE-RN (a new one), and its number is a link: to the page's URL
	 * link (escaped, ending where "SIDE%3AN" completes it: a pull
	 * request's "?comment=PATH%3A") then "#" and the row's id, or, link
	 * NULL or empty, to the row itself */
	bool anchors;
	size_t file;
	const struct buf *link;
	/* stop before a line once this many lines are written (0: no limit)
	 * or once b holds max_bytes (0: no limit); *cut then says so */
	size_t max_lines, max_bytes;
	/* called after each line's row with its side ("LEFT" for a deleted
	 * line, "RIGHT" otherwise), its number on that side and its row's
	 * id (with anchors, else ""): a pull request writes the line's
	 * comments and comment form as rows there */
	void (*after_line)(void *ctx, const char *side, long long line, const char *anchor);
	void *ctx;
};

/* Writes patch as <div class="blob diff"> holding its table into b;
 * returns the lines written (hunk headers not counted) and sets *cut when
 * a limit stopped it before the end. */
size_t diffview_table(struct buf *b, git_patch *patch, const struct diffview_opts *o, bool *cut);

#endif
