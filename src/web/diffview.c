/* diffview.c — a file's unified diff as a table of lines (web/diffview.h). */
#include "web/diffview.h"

#include <stdio.h>
#include <string.h>

/* A line's number cell: a link to its row when the table has anchors and
 * this is the line's own side, the bare number otherwise, empty for none. */
static void number_cell(struct buf *b, const struct diffview_opts *o, int n, bool linked,
			const char *side, const char *anchor)
{
	html_lit(b, "<td class=\"ln\">");
	if (n >= 0 && linked) {
		html_lit(b, "<a href=\"");
		if (o->link && o->link->len) {
			buf_add(b, o->link->ptr, o->link->len);
			html_txtf(b, "%s%%3A%d", side, n);
		}
		html_lit(b, "#");
		html_attr(b, anchor);
		html_lit(b, "\">");
		html_txtf(b, "%d", n);
		html_lit(b, "</a>");
	} else if (n >= 0) {
		html_txtf(b, "%d", n);
	}
	html_lit(b, "</td>");
}

size_t diffview_table(struct buf *b, git_patch *patch, const struct diffview_opts *o, bool *cut)
{
	size_t lines = 0;
	*cut = false;
	html_lit(b, "<div class=\"blob diff\" tabindex=\"0\" role=\"region\" aria-label=\"diff of ");
	html_attr(b, o->path);
	html_lit(b, "\"><table class=\"code\"><thead class=\"sr\"><tr><th scope=\"col\">Old "
		    "line</th><th scope=\"col\">New line</th><th scope=\"col\">Change</th></tr>"
		    "</thead><tbody>");
	for (size_t h = 0, nh = git_patch_num_hunks(patch); h < nh && !*cut; h++) {
		const git_diff_hunk *hunk;
		size_t nl;
		if (git_patch_get_hunk(&hunk, &nl, patch, h) < 0)
			break;
		html_lit(b, "<tr class=\"hunk\"><td class=\"ln\"></td><td class=\"ln\"></td><td>");
		html_txtn(b, hunk->header, strcspn(hunk->header, "\n"));
		html_lit(b, "</td></tr>");
		for (size_t l = 0; l < nl; l++) {
			const git_diff_line *dl;
			if ((o->max_lines && lines >= o->max_lines) ||
			    (o->max_bytes && b->len > o->max_bytes)) {
				*cut = true;
				break;
			}
			if (git_patch_get_line_in_hunk(&dl, patch, h, l) < 0)
				break;
			char origin = dl->origin;
			if (origin != GIT_DIFF_LINE_ADDITION && origin != GIT_DIFF_LINE_DELETION &&
			    origin != GIT_DIFF_LINE_CONTEXT) {
				/* "\ No newline at end of file" and the like */
				html_lit(b,
					 "<tr><td class=\"ln\"></td><td class=\"ln\"></td><td><span "
					 "class=\"mute\">\\ No newline at end of file</span></td>"
					 "</tr>");
				continue;
			}
			bool left = origin == GIT_DIFF_LINE_DELETION;
			long long n = left ? dl->old_lineno : dl->new_lineno;
			const char *side = left ? "LEFT" : "RIGHT";
			char anchor[64] = "";
			if (o->anchors)
				snprintf(anchor, sizeof(anchor), "f%zu-%c%lld", o->file,
					 left ? 'L' : 'R', n);
			html_lit(b, origin == GIT_DIFF_LINE_ADDITION   ? "<tr class=\"add\""
				    : origin == GIT_DIFF_LINE_DELETION ? "<tr class=\"del\""
								       : "<tr");
			if (o->anchors) {
				html_lit(b, " id=\"");
				html_attr(b, anchor);
				html_lit(b, "\"");
			}
			html_lit(b, ">");
			number_cell(b, o, dl->old_lineno, o->anchors && left, side, anchor);
			number_cell(b, o, dl->new_lineno, o->anchors && !left, side, anchor);
			html_lit(b, "<td>");
			buf_addch(b, origin == GIT_DIFF_LINE_CONTEXT ? ' ' : origin);
			size_t len = dl->content_len;
			while (len && (dl->content[len - 1] == '\n' || dl->content[len - 1] == '\r'))
				len--;
			html_txtn(b, dl->content, len);
			html_lit(b, "</td></tr>");
			lines++;
			if (o->after_line)
				o->after_line(o->ctx, side, n, anchor);
		}
	}
	html_lit(b, "</tbody></table></div>");
	return lines;
}
