/* pulldiff.c — a pull request's commits and files tabs, and the diff they
 * and the compare page show: per file a collapsible table of lines with
 * anchors, inline review comments under their lines, a comment form under
 * the line the reader picked (?comment=PATH:SIDE:LINE, no script needed),
 * outdated comments apart, and the review form. */
#include "web/pulls.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "forge/pulls.h"
#include "forge/reviews.h"
#include "web/diffview.h"

void pulls_repo_path(struct buf *b, const struct repo *rp)
{
	page_repo_url(b, rp, NULL);
}

const char *pulls_err_take(struct req *r, struct resp *w, int rc)
{
	return page_err_take(r, w, rc);
}

/* ---- the diff ---- */

/* A comment shown under a line: the JSON item and whether it was placed. */
struct placed {
	json_t *c;
	const char *side;
	long long line;
	bool shown;
};

static void comment_box(struct view *p, json_t *c)
{
	struct buf *b = p->b;
	html_lit(b, "<div class=\"rcomment\" id=\"rc-");
	html_txtf(b, "%lld", (long long)json_integer_value(json_object_get(c, "id")));
	html_lit(b, "\"><p class=\"meta\">");
	page_user(p, json_string_value(json_object_get(c, "author")));
	html_lit(b, " commented ");
	page_time(p, json_string_value(json_object_get(c, "created_at")));
	html_lit(b, "</p>");
	page_markdown(p, json_string_value(json_object_get(c, "body")));
	html_lit(b, "</div>");
}

/* The comment form under a line. */
static void line_form(struct view *p, const struct pulls_diff_opts *o, const char *path,
		      const char *side, long long line, const char *anchor)
{
	struct buf *b = p->b;
	html_lit(b, "<tr class=\"cform\"><td colspan=\"3\">");
	if (!p->r->auth.user_id) {
		html_lit(b, "<p><a href=\"/login?next=");
		html_query(b, p->r->path);
		html_lit(b, "\">Sign in</a> to comment.</p></td></tr>");
		return;
	}
	/* the line rides in the query: a path with a bidi control cannot
	 * round-trip through an attribute (html_attr) */
	html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
	html_attr(b, o->review_url);
	html_lit(b, "?comment=");
	html_query(b, path);
	html_lit(b, "%3A");
	html_lit(b, side);
	html_txtf(b, "%%3A%lld", line);
	html_lit(b, "\">");
	page_csrf_field(p);
	html_lit(b, "<input type=\"hidden\" name=\"event\" value=\"COMMENT\">");
	html_lit(b, "<label for=\"line-body\">Comment on line ");
	html_txtf(b, "%lld", line);
	html_lit(b, "</label>");
	page_field_error(p, "line-body", o->form_error);
	html_lit(b, "<textarea id=\"line-body\" name=\"body\" required>");
	html_textarea(b, o->form_body ? o->form_body : "");
	html_lit(b, "</textarea><p><button>Add comment</button> <a href=\"");
	html_attr(b, o->page_url);
	html_lit(b, "#");
	html_attr(b, anchor);
	html_lit(b, "\">Cancel</a></p></form></td></tr>");
}

/* What a file's lines carry on a pull request's page: the comments placed
 * on them and the open comment form. */
struct file_extras {
	struct view *p;
	const struct pulls_diff_opts *o;
	const char *path;
	struct placed *cs;
	size_t ncs;
};

/* diffview's hook after each line: the line's comments, then the comment
 * form when it is the line the reader picked. */
static void line_extras(void *ctx, const char *side, long long n, const char *anchor)
{
	struct file_extras *x = ctx;
	const struct pulls_diff_opts *o = x->o;
	bool here = false;
	for (size_t i = 0; i < x->ncs; i++)
		if (!x->cs[i].shown && x->cs[i].line == n && !strcasecmp(x->cs[i].side, side))
			here = true;
	if (here) {
		html_lit(x->p->b, "<tr class=\"rcomments\"><td colspan=\"3\">");
		for (size_t i = 0; i < x->ncs; i++)
			if (!x->cs[i].shown && x->cs[i].line == n &&
			    !strcasecmp(x->cs[i].side, side)) {
				comment_box(x->p, x->cs[i].c);
				x->cs[i].shown = true;
			}
		html_lit(x->p->b, "</td></tr>");
	}
	if (o->page_url && o->form_path && !strcmp(o->form_path, x->path) && o->form_line == n &&
	    o->form_side && !strcasecmp(o->form_side, side))
		line_form(x->p, o, x->path, side, n, anchor);
}

/* One file's table; returns the lines written. href: the page's URL and
 * "?comment=PATH%3A", escaped (empty: no page to comment on). */
static size_t file_render(struct view *p, git_patch *patch, size_t idx, const char *path,
			  struct placed *cs, size_t ncs, const struct pulls_diff_opts *o,
			  struct buf *href)
{
	struct file_extras x = { .p = p, .o = o, .path = path, .cs = cs, .ncs = ncs };
	struct diffview_opts d = {
		.path = path,
		.anchors = true,
		.file = idx,
		.link = href,
		.after_line = line_extras,
		.ctx = &x,
	};
	bool cut;
	return diffview_table(p->b, patch, &d, &cut);
}

void pulls_diff_render(struct view *p, git_diff *diff, const struct pulls_diff_opts *o)
{
	struct view files = *p;
	struct buf fb = BUF_INIT, list = BUF_INIT, href = BUF_INIT;
	files.b = &fb;
	size_t n = git_diff_num_deltas(diff), total = 0, adds_all = 0, dels_all = 0;
	size_t ncs_all = o->comments ? json_array_size(o->comments) : 0;
	struct placed *cs = calloc(ncs_all + 1, sizeof(*cs));
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->new_file.path ? d->new_file.path : d->old_file.path;
		git_patch *patch = NULL;
		size_t ctx = 0, adds = 0, dels = 0, ncs = 0;
		if (git_patch_from_diff(&patch, diff, i) == 0 && patch)
			git_patch_line_stats(&ctx, &adds, &dels, patch);
		adds_all += adds;
		dels_all += dels;
		/* the comments on this file, not outdated */
		for (size_t k = 0; k < ncs_all; k++) {
			json_t *c = json_array_get(o->comments, k);
			const char *cp = json_string_value(json_object_get(c, "path"));
			if (json_is_true(json_object_get(c, "outdated")) || !cp || strcmp(cp, path))
				continue;
			cs[ncs++] = (struct placed){
				.c = c,
				.side = json_string_value(json_object_get(c, "side")),
				.line = (long long)json_integer_value(json_object_get(c, "line")),
			};
			if (!cs[ncs - 1].side)
				cs[ncs - 1].side = "RIGHT";
		}
		/* the list entry */
		html_lit(&list, "<li><a href=\"#file-");
		html_txtf(&list, "%zu", i);
		html_lit(&list, "\">");
		html_txt(&list, path);
		html_lit(&list, "</a> <span class=\"plus\">");
		html_txtf(&list, "+%zu", adds);
		html_lit(&list, "</span> <span class=\"minus\">");
		html_txtf(&list, "\u2212%zu", dels);
		html_lit(&list, "</span></li>");
		/* the file */
		html_lit(&fb, "<details open class=\"file\" id=\"file-");
		html_txtf(&fb, "%zu", i);
		html_lit(&fb, "\"><summary><span class=\"mono\">");
		if (d->status == GIT_DELTA_RENAMED && d->old_file.path) {
			html_txt(&fb, d->old_file.path);
			html_lit(&fb, " \u2192 ");
		}
		html_txt(&fb, path);
		html_lit(&fb, "</span> ");
		html_lit(&fb,
			 d->status == GIT_DELTA_ADDED     ? "<span class=\"badge\">added</span> "
			 : d->status == GIT_DELTA_DELETED ? "<span class=\"badge\">deleted</span> "
			 : d->status == GIT_DELTA_RENAMED ? "<span class=\"badge\">renamed</span> "
							  : "");
		html_txtf(&fb, "+%zu \u2212%zu", adds, dels);
		html_lit(&fb, "</summary>");
		size_t lines = ctx + adds + dels;
		bool binary = d->flags & GIT_DIFF_FLAG_BINARY;
		if (!patch || binary) {
			html_lit(&fb, "<p class=\"mute\">Binary file not shown.</p>");
		} else if (lines > PULLS_DIFF_FILE_LINES || total + lines > PULLS_DIFF_TOTAL_LINES) {
			html_lit(&fb, "<p class=\"notice\">Diff too large to show here (");
			html_txtf(&fb, "%zu lines", lines);
			html_lit(&fb, ").");
			if (o->raw_sha && d->status != GIT_DELTA_DELETED) {
				html_lit(&fb, " <a href=\"");
				pulls_repo_path(&fb, p->repo);
				html_lit(&fb, "/raw/");
				html_path(&fb, o->raw_sha, 0);
				html_lit(&fb, "/");
				html_path(&fb, path, 1);
				html_lit(&fb, "\">View the file raw</a>.");
			}
			html_lit(&fb, "</p>");
		} else {
			buf_reset(&href);
			if (o->page_url) {
				/* relative: the page's own path, fewer bytes per line */
				html_lit(&href, "?comment=");
				html_query(&href, path);
				html_lit(&href, "%3A");
			}
			total += file_render(&files, patch, i, path, cs, ncs, o, &href);
		}
		/* comments on lines not shown (a cut diff) */
		bool any = false;
		for (size_t k = 0; k < ncs; k++)
			if (!cs[k].shown) {
				if (!any)
					html_lit(&fb, "<div class=\"rcomments\"><h3>Comments on "
						      "lines not shown</h3>");
				any = true;
				comment_box(&files, cs[k].c);
			}
		if (any)
			html_lit(&fb, "</div>");
		html_lit(&fb, "</details>");
		git_patch_free(patch);
	}
	free(cs);
	struct buf *b = p->b;
	html_lit(b, "<nav class=\"filelist\" aria-label=\"changed files\"><p>");
	html_txtf(b, "%zu file%s changed, +%zu \u2212%zu", n, n == 1 ? "" : "s", adds_all, dels_all);
	html_lit(b, "</p><ol>");
	buf_add(b, list.ptr, list.len);
	html_lit(b, "</ol></nav>");
	buf_add(b, fb.ptr, fb.len);
	buf_release(&fb);
	buf_release(&list);
	buf_release(&href);
}

void pulls_commits_render(struct view *p, json_t *commits)
{
	struct buf *b = p->b;
	html_lit(b, "<table class=\"commits\"><thead><tr><th scope=\"col\">Commit</th>"
		    "<th scope=\"col\">Author</th><th scope=\"col\">Date</th><th scope=\"col\">"
		    "Summary</th></tr></thead><tbody>");
	size_t i;
	json_t *c;
	json_array_foreach(commits, i, c)
	{
		const char *sha = json_string_value(json_object_get(c, "sha"));
		json_t *au = json_object_get(c, "author");
		html_lit(b, "<tr><td class=\"mono\"><a href=\"");
		pulls_repo_path(b, p->repo);
		html_lit(b, "/commit/");
		html_path(b, sha ? sha : "", 0);
		html_lit(b, "\">");
		html_txtn(b, sha ? sha : "", sha && strlen(sha) > 10 ? 10 : 0);
		html_lit(b, "</a></td><td>");
		html_txt(b, json_string_value(json_object_get(au, "name")));
		html_lit(b, "</td><td>");
		page_time(p, json_string_value(json_object_get(au, "date")));
		html_lit(b, "</td><td>");
		html_txt(b, json_string_value(json_object_get(c, "summary")));
		html_lit(b, "</td></tr>");
	}
	if (!json_array_size(commits))
		html_lit(b, "<tr><td colspan=\"4\" class=\"mute\">No commits.</td></tr>");
	html_lit(b, "</tbody></table>");
}

int web_pull_commits(struct req *r, struct resp *w)
{
	struct forge *f = FORGE(r);
	const char *number = req_param(r, "number");
	struct pull pr;
	json_t *commits = NULL;
	size_t total = 0;
	int rc;
	if ((rc = pull_get(&pr, f, r->repo, number, false)) ||
	    (rc = pull_commits(&commits, &total, f, r->repo, number)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, commits);
	struct view p;
	page_begin(&p, r, w, pulls_title(r, &pr), "pulls");
	pulls_head(&p, &pr, "commits");
	html_lit(p.b, "<h2>Commits</h2>");
	pulls_commits_render(&p, commits);
	if (total > json_array_size(commits)) {
		html_lit(p.b, "<p class=\"mute\">");
		html_txtf(p.b, "The first %zu of %zu commits.", json_array_size(commits), total);
		html_lit(p.b, "</p>");
	}
	return page_end(&p);
}

/* ?comment=PATH:SIDE:LINE (the path may hold ':'; side and line are the
 * last two fields) into o. */
static void comment_target(struct req *r, const char *v, struct pulls_diff_opts *o)
{
	if (!v)
		return;
	const char *l = strrchr(v, ':');
	if (!l || l == v)
		return;
	const char *s = l - 1;
	while (s > v && *s != ':')
		s--;
	if (*s != ':')
		return;
	char *end;
	long long line = strtoll(l + 1, &end, 10);
	if (*end || line < 1)
		return;
	o->form_path = arena_strndup(r->arena, v, (size_t)(s - v));
	o->form_side = arena_strndup(r->arena, s + 1, (size_t)(l - s - 1));
	o->form_line = line;
}

/* The review form: a body and a verdict. */
static void review_form(struct view *p, const char *action, const char *msg)
{
	struct buf *b = p->b;
	const struct req *r = p->r;
	bool kept = r->method == HTTP_POST && !req_query(r, "comment");
	const char *ev = kept ? web_form(r, "event") : NULL;
	html_lit(b, "<section class=\"box\" aria-labelledby=\"review-h\"><h2 class=\"head\" "
		    "id=\"review-h\">Review</h2><div class=\"body\">");
	if (!r->auth.user_id) {
		html_lit(b, "<p><a href=\"/login?next=");
		html_query(b, r->path);
		html_lit(b, "\">Sign in</a> to review.</p></div></section>");
		return;
	}
	html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
	html_attr(b, action);
	html_lit(b, "\">");
	page_csrf_field(p);
	page_field_error(p, "review-body", msg);
	html_lit(b, "<label for=\"review-body\">Review comment</label><textarea id=\"review-body\" "
		    "name=\"body\">");
	html_textarea(b, kept && web_form(r, "body") ? web_form(r, "body") : "");
	html_lit(b, "</textarea><fieldset><legend>Verdict</legend>");
	static const char *const evs[][2] = { { "COMMENT", "Comment" },
					      { "APPROVE", "Approve" },
					      { "REQUEST_CHANGES", "Request changes" } };
	for (size_t i = 0; i < 3; i++) {
		html_lit(b, "<input type=\"radio\" name=\"event\" id=\"ev-");
		html_lit(b, evs[i][0]);
		html_lit(b, "\" value=\"");
		html_lit(b, evs[i][0]);
		html_lit(b, "\"");
		if (ev ? !strcasecmp(ev, evs[i][0]) : i == 0)
			html_lit(b, " checked");
		html_lit(b, "> <label class=\"inline\" for=\"ev-");
		html_lit(b, evs[i][0]);
		html_lit(b, "\">");
		html_lit(b, evs[i][1]);
		html_lit(b, "</label> ");
	}
	html_lit(b, "</fieldset><p><button>Submit review</button></p></form></div></section>");
}

/* The files tab; review_msg / line_msg: a refused review's message
 * (beside the review form / the line's form). */
static int files_page(struct req *r, struct resp *w, const char *review_msg, const char *line_msg)
{
	struct forge *f = FORGE(r);
	const char *number = req_param(r, "number");
	struct pull pr;
	json_t *comments = NULL;
	git_diff *diff = NULL;
	const char *head = NULL;
	int rc;
	if ((rc = pull_get(&pr, f, r->repo, number, false)) ||
	    (rc = review_comments_list(&comments, f, r->repo, number)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, comments);
	if ((rc = pull_diff(&diff, &head, f, r->repo, &pr)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))git_diff_free, diff);
	const char *base_url = page_repo_path(r, r->repo,
					      arena_printf(r->arena, "/pull/%lld",
							   (long long)pr.is.number));
	struct pulls_diff_opts o = {
		.page_url = arena_printf(r->arena, "%s/files", base_url),
		.review_url = arena_printf(r->arena, "%s/reviews", base_url),
		.comments = comments,
		.raw_sha = head,
	};
	comment_target(r, req_query(r, "comment"), &o);
	if (r->method == HTTP_POST && o.form_path) {
		o.form_body = web_form(r, "body");
		o.form_error = line_msg;
	}
	struct view p;
	page_begin(&p, r, w, pulls_title(r, &pr), "pulls");
	pulls_head(&p, &pr, "files");
	struct buf *b = p.b;
	html_lit(b, "<h2>Files changed</h2>");
	/* also above the diff: the line may not be in it */
	page_field_error(&p, "line", line_msg);
	pulls_diff_render(&p, diff, &o);
	/* outdated comments: on lines a later push changed */
	size_t i, nout = 0;
	json_t *c;
	json_array_foreach(comments, i, c)
	{
		if (!json_is_true(json_object_get(c, "outdated")))
			continue;
		if (!nout++)
			html_lit(b, "<section class=\"outdated\" aria-labelledby=\"outdated-h\"><h2 "
				    "id=\"outdated-h\">Outdated comments</h2>");
		html_lit(b, "<div class=\"box\"><p class=\"head\"><span class=\"mono\">");
		html_txt(b, json_string_value(json_object_get(c, "path")));
		html_txtf(b, ":%lld",
			  (long long)json_integer_value(json_object_get(c, "original_line")));
		html_lit(b, "</span> <span class=\"badge\">outdated</span></p><pre>");
		html_txt(b, json_string_value(json_object_get(c, "diff_hunk")));
		html_lit(b, "</pre><div class=\"body\">");
		comment_box(&p, c);
		html_lit(b, "</div></div>");
	}
	if (nout)
		html_lit(b, "</section>");
	review_form(&p, o.review_url, review_msg);
	return page_end(&p);
}

int web_pull_files(struct req *r, struct resp *w)
{
	return files_page(r, w, NULL, NULL);
}

int web_pull_review(struct req *r, struct resp *w)
{
	struct forge *f = FORGE(r);
	const char *number = req_param(r, "number");
	struct review_input in = { .event = web_form(r, "event"), .body = web_form(r, "body") };
	struct review_comment_input c = { 0 };
	struct pulls_diff_opts at = { 0 };
	json_t *o = NULL;
	const char *path = NULL;
	if (!in.event)
		in.event = "COMMENT";
	if (!in.body)
		in.body = "";
	if (req_query(r, "comment")) {
		/* one inline comment (?comment=PATH:SIDE:LINE): a single-comment
		 * review, as the domain's review API takes them */
		comment_target(r, req_query(r, "comment"), &at);
		path = at.form_path ? at.form_path : "";
		c.path = path_normalise(r->arena, path);
		c.side = at.form_side ? at.form_side : "RIGHT";
		c.line = at.form_line;
		c.body = in.body;
		c.body_len = strlen(in.body);
		in.comments = &c;
		in.ncomments = 1;
		in.body = "";
		in.event = "COMMENT";
	}
	int rc = review_create(&o, f, r->repo, number, &in);
	if (rc == ERR_INVALID || rc == ERR_CONFLICT || rc == ERR_PERM || rc == ERR_TOOLARGE) {
		const char *msg = pulls_err_take(r, w, rc);
		return files_page(r, w, path ? NULL : msg, path ? msg : NULL);
	}
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, o);
	struct buf u = BUF_INIT;
	pulls_repo_path(&u, r->repo);
	json_t *ic = json_array_get(json_object_get(o, "inline_comments"), 0);
	if (ic)
		buf_addf(&u, "/pull/%s/files#rc-%lld", number,
			 (long long)json_integer_value(json_object_get(ic, "id")));
	else
		buf_addf(&u, "/pull/%s#review-%lld", number,
			 (long long)json_integer_value(json_object_get(o, "id")));
	const char *url = arena_strndup(r->arena, u.ptr, u.len);
	buf_release(&u);
	return page_redirect(w, url);
}
