/* pulls.h — the pull request pages (web/pulls.c: the list, the compare
 * page that opens one, the conversation with its merge box, and the
 * forms; web/pulldiff.c: the commits and files tabs and the diff they and
 * the compare page show, with inline review comments). Routes: api/routes.c. */
#ifndef PLUE_WEB_PULLS_H
#define PLUE_WEB_PULLS_H

#include <git2.h>

#include "web/web.h"

/* A diff shown on a page is cut, not streamed forever: a file with more
 * than PULLS_DIFF_FILE_LINES lines of patch is not shown (a "diff too
 * large, view raw" link instead), and once PULLS_DIFF_TOTAL_LINES lines
 * are on the page the remaining files get that link too. 10,000 changed
 * lines render in full. */
#define PULLS_DIFF_FILE_LINES 5000
#define PULLS_DIFF_TOTAL_LINES 20000

/* pulls.c */
int web_pulls(struct req *r, struct resp *w);
int web_compare(struct req *r, struct resp *w);
int web_compare_create(struct req *r, struct resp *w);
int web_pull(struct req *r, struct resp *w);
int web_pull_comment(struct req *r, struct resp *w);
int web_pull_edit(struct req *r, struct resp *w);
int web_pull_state(struct req *r, struct resp *w);
int web_pull_merge(struct req *r, struct resp *w);
/* pulldiff.c */
int web_pull_commits(struct req *r, struct resp *w);
int web_pull_files(struct req *r, struct resp *w);
int web_pull_review(struct req *r, struct resp *w);

/* ---- shared by pulls.c and pulldiff.c ---- */

/* What a diff shows besides its lines: the URL of the page whose
 * ?comment=PATH:SIDE:LINE opens a comment form under a line (NULL: no
 * comment links, as on the compare page), the inline comments to show
 * under their lines (a JSON array of the domain's review comments; the
 * outdated ones are skipped: the caller shows them apart), the line whose
 * comment form is open, the form's error and kept body, and the commit
 * the "view raw" links name. */
struct pulls_diff_opts {
	const char *page_url, *review_url;
	json_t *comments;
	const char *form_path, *form_side;
	long long form_line;
	const char *form_error, *form_body;
	const char *raw_sha;
};
/* Writes the diff's file list and then every file as a collapsible
 * <details open> with a table of its lines. */
void pulls_diff_render(struct view *p, git_diff *diff, const struct pulls_diff_opts *o);
/* The commits (objects_commit_json items) as a table. */
void pulls_commits_render(struct view *p, json_t *commits);
struct pull;
/* The pull request's page title ("Title · Pull request #N"). */
const char *pulls_title(struct req *r, const struct pull *pr);
/* The pull request's heading (title, number, state, author, base <- head)
 * and its tabs with tab ("conversation", "commits", "files") current. */
void pulls_head(struct view *p, const struct pull *pr, const char *tab);
/* page_repo_url of rp without a suffix. */
void pulls_repo_path(struct buf *b, const struct repo *rp);
/* page_err_take. */
const char *pulls_err_take(struct req *r, struct resp *w, int rc);

#endif
