/* commits.c — the browsing pages about history (web/browse.h): a page of
 * the history with its path filter, one commit with its diff, and the
 * branch and tag lists, built from the pieces of web/browse_parts.h. */
#include "web/browse.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "forge/names.h"
#include "git/objects.h"
#include "web/browse_parts.h"
#include "web/diffview.h"
#include "web/web.h"

#define LOG_PAGE 30                   /* commits per history page */
#define REFS_PAGE 100                 /* branches or tags per page */
#define DIFF_LINES_MAX 20000          /* diff lines on one commit page */
#define DIFF_FILE_LINES_MAX 3000      /* diff lines of one file */
#define DIFF_PAGE_BYTES_MAX (4 << 20) /* a commit page stops growing here */

/* ---- history ---- */

static void commit_row(struct view *p, git_commit *c)
{
	struct buf *b = p->b;
	const char *hex = browse_oid_hex(p->r->arena, git_commit_id(c));
	const git_signature *a = git_commit_author(c);
	html_lit(b, "<li class=\"commit\"><a class=\"subject\" href=\"");
	browse_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txt(b, browse_summary(c));
	html_lit(b, "</a><div class=\"row mute\"><span>");
	html_txt(b, a->name ? a->name : "");
	html_lit(b, "</span>");
	browse_sig_time(p, a);
	html_lit(b, "<a class=\"mono\" href=\"");
	browse_url(b, p->repo, "commit", hex, NULL);
	html_lit(b, "\">");
	html_txtn(b, hex, 7);
	html_lit(b, "</a><a href=\"");
	browse_url(b, p->repo, "tree", hex, NULL);
	html_lit(b, "\">Browse files</a></div></li>");
}

int web_commits(struct req *r, struct resp *w)
{
	const char *hex, *path, *cursor = req_query(r, "cursor"), *qpath = req_query(r, "path");
	bool redirected;
	git_repository *repo;
	git_commit *start = NULL;
	struct objects_log log = { 0 };
	struct view p;
	int rc, grc;
	if ((rc = browse_repo_git(r, &repo)) ||
	    (rc = browse_target(r, w, repo, "commits", &hex, &path, &redirected)) || redirected)
		return rc;
	if (cursor && *cursor && !is_sha1_hex(cursor))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor",
			       "cursor '%s' is not a commit sha", browse_subject(r->arena, cursor));
	if (cursor && !*cursor)
		cursor = NULL;
	/* the path filter is ?path= (a path after the sha is taken too) */
	if (qpath && *qpath && !(path = path_normalise(r->arena, qpath)))
		return err_set(&r->err, ERR_INVALID, "invalid_path", "invalid path '%s'",
			       browse_subject(r->arena, qpath));
	if ((rc = objects_commit_lookup(&start, repo, hex, &r->err)) ||
	    (rc = objects_log(&log, repo, git_commit_id(start), cursor, path, LOG_PAGE, &r->err)))
		goto done;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "History%s%s · %s/%s", *path ? " of " : "", path,
				r->repo->owner, r->repo->name),
		   "code");
	struct buf *b = p.b;
	html_lit(b, "<h2>History");
	if (*path) {
		html_lit(b, " of <span class=\"mono\">");
		html_txt(b, path);
		html_lit(b, "</span>");
	}
	html_lit(b, "</h2><form method=\"get\" class=\"row\" action=\"");
	browse_url(b, r->repo, "commits", hex, NULL);
	html_lit(b, "\"><label for=\"path\">Only commits changing the path</label><input "
		    "id=\"path\" name=\"path\" class=\"mono\" value=\"");
	html_attr(b, path);
	html_lit(b, "\"><button>Filter</button></form><ul class=\"list commits\">");
	for (size_t i = 0; i < log.n; i++) {
		git_commit *c = NULL;
		if ((grc = git_commit_lookup(&c, repo, &log.ids[i])) < 0) {
			rc = objects_error(&r->err, grc, "commit '%s' not found",
					   browse_oid_hex(r->arena, &log.ids[i]));
			goto done;
		}
		commit_row(&p, c);
		git_commit_free(c);
	}
	if (!log.n)
		html_lit(b, "<li class=\"mute\">No commits here.</li>");
	html_lit(b, "</ul><nav class=\"pager\" aria-label=\"pages\">");
	if (cursor) {
		html_lit(b, "<a href=\"");
		browse_url(b, r->repo, "commits", hex, NULL);
		if (*path) {
			html_lit(b, "?path=");
			html_query(b, path);
		}
		html_lit(b, "\">Newest</a>");
	}
	if (log.more) {
		html_lit(b, "<a rel=\"next\" href=\"");
		browse_url(b, r->repo, "commits", hex, NULL);
		html_lit(b, "?cursor=");
		html_query(b, browse_oid_hex(r->arena, &log.next));
		if (*path) {
			html_lit(b, "&amp;path=");
			html_query(b, path);
		}
		html_lit(b, "\">Older</a>");
	}
	html_lit(b, "</nav>");
	browse_immutable(r, w,
			 arena_printf(r->arena, "h-%s-%s-%s", hex, cursor ? cursor : "start",
				      browse_digest(r->arena, path)));
	page_end(&p);
done:
	objects_log_release(&log);
	git_commit_free(start);
	return rc;
}

/* ---- one commit ---- */

static const char *delta_status(git_delta_t s)
{
	switch (s) {
	case GIT_DELTA_ADDED: return "added";
	case GIT_DELTA_DELETED: return "deleted";
	case GIT_DELTA_RENAMED: return "renamed";
	case GIT_DELTA_COPIED: return "copied";
	case GIT_DELTA_TYPECHANGE: return "type changed";
	default: return "modified";
	}
}

static const char *delta_path(const git_diff_delta *d)
{
	return d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
}

/* One file's section: its header and its patch (NULL: none could be
 * made). */
static void diff_section(struct view *p, git_diff *diff, git_patch *patch, size_t idx,
			 const char *hex, size_t *budget)
{
	struct buf *b = p->b;
	const git_diff_delta *d = patch ? git_patch_get_delta(patch) : git_diff_get_delta(diff, idx);
	const char *path = delta_path(d);
	html_lit(b, "<section class=\"box diff\" id=\"diff-");
	html_txtf(b, "%zu", idx + 1);
	html_lit(b, "\" aria-label=\"");
	html_attr(b, path);
	html_lit(b, "\"><div class=\"head\"><span class=\"badge\">");
	html_lit(b, delta_status(d->status));
	html_lit(b, "</span><span class=\"mono\">");
	if (d->status == GIT_DELTA_RENAMED || d->status == GIT_DELTA_COPIED) {
		html_txt(b, d->old_file.path);
		html_lit(b, " → ");
	}
	html_txt(b, path);
	html_lit(b, "</span>");
	if (d->status != GIT_DELTA_DELETED) {
		html_lit(b, "<a href=\"");
		browse_url(b, p->repo, "blob", hex, path);
		html_lit(b, "\">View file</a>");
	}
	html_lit(b, "</div>");
	bool cut = !*budget;
	if (d->flags & GIT_DIFF_FLAG_BINARY) {
		html_lit(b, "<p class=\"body mute\">Binary file changed.</p>");
	} else if (patch && git_patch_num_hunks(patch)) {
		struct diffview_opts o = {
			.path = path,
			.max_lines = *budget < DIFF_FILE_LINES_MAX ? *budget : DIFF_FILE_LINES_MAX,
			.max_bytes = DIFF_PAGE_BYTES_MAX,
		};
		if (!cut)
			*budget -= diffview_table(b, patch, &o, &cut);
		if (cut)
			html_lit(b, "<p class=\"body mute\">The diff is too long to show in full "
				    "here.</p>");
	} else {
		html_lit(b, "<p class=\"body mute\">No content changes.</p>");
	}
	html_lit(b, "</section>");
}

static void commit_head(struct view *p, git_commit *c, const char *hex)
{
	struct buf *b = p->b;
	const char *body = git_commit_body(c);
	const git_signature *a = git_commit_author(c), *cm = git_commit_committer(c);
	html_lit(b, "<h2 class=\"subject\">");
	html_txt(b, browse_summary(c));
	html_lit(b, "</h2>");
	if (body && *body) {
		html_lit(b, "<pre class=\"message\">");
		html_txt(b, body);
		html_lit(b, "</pre>");
	}
	html_lit(b, "<dl class=\"meta\"><dt>Author</dt><dd>");
	html_txt(b, a->name ? a->name : "");
	html_lit(b, " ");
	browse_sig_time(p, a);
	html_lit(b, "</dd>");
	if (strcmp(a->name ? a->name : "", cm->name ? cm->name : "") ||
	    a->when.time != cm->when.time) {
		html_lit(b, "<dt>Committer</dt><dd>");
		html_txt(b, cm->name ? cm->name : "");
		html_lit(b, " ");
		browse_sig_time(p, cm);
		html_lit(b, "</dd>");
	}
	html_lit(b, "<dt>Commit</dt><dd class=\"mono\">");
	html_txt(b, hex);
	html_lit(b, "</dd><dt>Parents</dt><dd>");
	unsigned np = git_commit_parentcount(c);
	for (unsigned i = 0; i < np; i++) {
		const char *ph = browse_oid_hex(p->r->arena, git_commit_parent_id(c, i));
		html_lit(b, "<a class=\"mono\" href=\"");
		browse_url(b, p->repo, "commit", ph, NULL);
		html_lit(b, "\">");
		html_txtn(b, ph, 7);
		html_lit(b, "</a> ");
	}
	if (!np)
		html_lit(b, "none (the first commit)");
	html_lit(b, "</dd></dl><p class=\"row\"><a href=\"");
	browse_url(b, p->repo, "tree", hex, NULL);
	html_lit(b, "\">Browse files</a><a href=\"");
	browse_url(b, p->repo, "commits", hex, NULL);
	html_lit(b, "\">History from here</a></p>");
}

int web_commit(struct req *r, struct resp *w)
{
	const char *hex, *path;
	bool redirected;
	git_repository *repo;
	git_commit *commit = NULL;
	git_diff *diff = NULL;
	git_patch **patches = NULL;
	size_t n = 0;
	struct view p;
	int rc;
	if ((rc = browse_repo_git(r, &repo)) ||
	    (rc = browse_target(r, w, repo, "commit", &hex, &path, &redirected)) || redirected)
		return rc;
	if ((rc = objects_commit_lookup(&commit, repo, hex, &r->err)) ||
	    (rc = objects_commit_diff(&diff, commit, &r->err)))
		goto done;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s · %.7s · %s/%s", browse_summary(commit), hex,
				r->repo->owner, r->repo->name),
		   "code");
	commit_head(&p, commit, hex);
	struct buf *b = p.b;
	size_t adds = 0, dels = 0;
	n = git_diff_num_deltas(diff);
	/* the file list with each file's counts */
	html_lit(b, "<h3>");
	html_txtf(b, "%zu file%s changed", n, n == 1 ? "" : "s");
	html_lit(b, "</h3><table class=\"files\"><thead><tr><th scope=\"col\">File</th><th "
		    "scope=\"col\">Change</th><th scope=\"col\">Lines</th></tr></thead><tbody>");
	/* each file's patch is made once, for its counts and its section */
	patches = xcalloc(n ? n : 1, sizeof(*patches));
	for (size_t i = 0; i < n; i++) {
		size_t a = 0, d = 0;
		const git_diff_delta *dd = git_diff_get_delta(diff, i);
		int grc = git_patch_from_diff(&patches[i], diff, i);
		if (grc < 0) {
			rc = objects_error(&r->err, grc, "cannot compute the diff of commit '%s'",
					   hex);
			goto done;
		}
		if (patches[i] && !(dd->flags & GIT_DIFF_FLAG_BINARY))
			git_patch_line_stats(NULL, &a, &d, patches[i]);
		adds += a;
		dels += d;
		html_lit(b, "<tr><td><a href=\"#diff-");
		html_txtf(b, "%zu", i + 1);
		html_lit(b, "\">");
		html_txt(b, delta_path(dd));
		html_lit(b, "</a></td><td>");
		html_lit(b, delta_status(dd->status));
		html_lit(b, "</td><td><span class=\"plus\">");
		html_txtf(b, "+%zu", a);
		html_lit(b, "</span> <span class=\"minus\">");
		html_txtf(b, "−%zu", d);
		html_lit(b, "</span></td></tr>");
	}
	html_lit(b, "</tbody></table><p class=\"mute\">");
	html_txtf(b, "%zu addition%s, %zu deletion%s", adds, adds == 1 ? "" : "s", dels,
		  dels == 1 ? "" : "s");
	html_lit(b, "</p>");
	size_t budget = DIFF_LINES_MAX;
	for (size_t i = 0; i < n; i++)
		diff_section(&p, diff, patches[i], i, hex, &budget);
	browse_immutable(r, w, arena_printf(r->arena, "c-%s", hex));
	page_end(&p);
done:
	for (size_t i = 0; patches && i < n; i++)
		git_patch_free(patches[i]);
	free(patches);
	git_diff_free(diff);
	git_commit_free(commit);
	return rc;
}

/* ---- branches and tags ---- */

static int refs_page(struct req *r, struct resp *w, const char *prefix, const char *what)
{
	const char *after = req_query(r, "after");
	git_repository *repo;
	struct objects_ref *v = NULL;
	size_t n = 0;
	struct view p;
	int rc;
	bool tags = !strcmp(prefix, "refs/tags/");
	if ((rc = browse_repo_git(r, &repo)) ||
	    (rc = objects_refs_list(&v, &n, repo, prefix, &r->err)))
		return rc;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s · %s/%s", tags ? "Tags" : "Branches", r->repo->owner,
				r->repo->name),
		   "code");
	struct buf *b = p.b;
	html_lit(b, "<h2>");
	html_lit(b, tags ? "Tags" : "Branches");
	html_lit(b, "</h2><table class=\"refs\"><thead><tr><th scope=\"col\">");
	html_lit(b, tags ? "Tag" : "Branch");
	html_lit(b, "</th><th scope=\"col\">Last commit</th><th scope=\"col\">When</th>"
		    "</tr></thead><tbody>");
	size_t shown = 0, i = 0;
	if (after && *after)
		while (i < n && strcmp(v[i].name, after) <= 0)
			i++;
	for (; i < n && shown < REFS_PAGE; i++, shown++) {
		const char *hex = browse_oid_hex(r->arena, &v[i].commit);
		git_commit *c = NULL;
		html_lit(b, "<tr><td><a href=\"");
		browse_url(b, r->repo, "tree", hex, NULL);
		html_lit(b, "\">");
		html_txt(b, v[i].name);
		html_lit(b, "</a>");
		if (!tags && !strcmp(v[i].name, r->repo->default_branch))
			html_lit(b, " <span class=\"badge\">default</span>");
		html_lit(b, "</td><td>");
		if (git_commit_lookup(&c, repo, &v[i].commit) == 0) {
			html_lit(b, "<a href=\"");
			browse_url(b, r->repo, "commit", hex, NULL);
			html_lit(b, "\">");
			html_txt(b, browse_summary(c));
			html_lit(b, "</a></td><td>");
			browse_sig_time(&p, git_commit_committer(c));
			git_commit_free(c);
		} else {
			html_lit(b, "</td><td>");
		}
		html_lit(b, "</td></tr>");
	}
	if (!n) {
		html_lit(b, "<tr><td class=\"mute\">No ");
		html_lit(b, what);
		html_lit(b, " yet.</td><td></td><td></td></tr>");
	}
	html_lit(b, "</tbody></table><nav class=\"pager\" aria-label=\"pages\">");
	if (after && *after) {
		html_lit(b, "<a href=\"");
		page_repo_url(b, r->repo, tags ? "/tags" : "/branches");
		html_lit(b, "\">First page</a>");
	}
	if (i < n) {
		html_lit(b, "<a rel=\"next\" href=\"");
		page_repo_url(b, r->repo, tags ? "/tags?after=" : "/branches?after=");
		html_query(b, v[i - 1].name);
		html_lit(b, "\">Next</a>");
	}
	html_lit(b, "</nav>");
	objects_refs_free(v, n);
	/* refs move on push */
	resp_short_cache(r, w, BROWSE_REF_TTL_S);
	return page_end(&p);
}

int web_branches(struct req *r, struct resp *w)
{
	return refs_page(r, w, "refs/heads/", "branches");
}

int web_tags(struct req *r, struct resp *w)
{
	return refs_page(r, w, "refs/tags/", "tags");
}
