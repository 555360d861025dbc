/* pulls.c — the pull request pages: the list, the compare page that
 * opens one, the conversation (timeline, comment and edit forms,
 * close/reopen) with its merge box (mergeability, statuses, protection,
 * the merge engine's refusals, the merge buttons), and their form posts. */
#include "web/pulls.h"

#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/collab.h"
#include "forge/comments.h"
#include "forge/protection.h"
#include "forge/pulls.h"
#include "forge/reviews.h"

#define PULLS_PAGE 30
#define TIMELINE_PAGE 250

const char *pulls_title(struct req *r, const struct pull *pr)
{
	return arena_printf(r->arena, "%s · Pull request #%lld", pr->is.title,
			    (long long)pr->is.number);
}

static const char *pull_url(struct req *r, int64_t number, const char *suffix)
{
	return page_repo_path(r, r->repo,
			      arena_printf(r->arena, "/pull/%lld%s", (long long)number, suffix));
}

static void state_badge(struct buf *b, const char *state, bool merged)
{
	html_lit(b, merged                   ? "<span class=\"badge merged\">merged</span>"
		    : !strcmp(state, "open") ? "<span class=\"badge open\">open</span>"
					     : "<span class=\"badge closed\">closed</span>");
}

static void branch_link(struct view *p, const char *branch)
{
	html_lit(p->b, "<a class=\"mono\" href=\"");
	pulls_repo_path(p->b, p->repo);
	html_lit(p->b, "/tree/");
	html_path(p->b, branch, 1);
	html_lit(p->b, "\">");
	html_txt(p->b, branch);
	html_lit(p->b, "</a>");
}

void pulls_head(struct view *p, const struct pull *pr, const char *tab)
{
	struct buf *b = p->b;
	html_lit(b, "<div class=\"pullhead\"><h2 class=\"pulltitle\">");
	html_txt(b, pr->is.title);
	html_txtf(b, " #%lld", (long long)pr->is.number);
	html_lit(b, "</h2><p class=\"row\">");
	state_badge(b, pr->is.state, pr->merged);
	html_lit(b, "<span>");
	page_user(p, pr->is.author);
	html_lit(b, " wants to merge into ");
	branch_link(p, pr->base);
	html_lit(b, " \u2190 ");
	branch_link(p, pr->head);
	html_lit(b, "</span></p>");
	static const char *const tabs[][3] = { { "conversation", "Conversation", "" },
					       { "commits", "Commits", "/commits" },
					       { "files", "Files changed", "/files" } };
	struct page_tab t[3];
	for (size_t i = 0; i < 3; i++)
		t[i] = (struct page_tab){ pull_url(p->r, pr->is.number, tabs[i][2]), tabs[i][1],
					  !strcmp(tab, tabs[i][0]) };
	page_subnav(p, "tabs", "pull request", t, 3);
	html_lit(b, "</div>");
}

/* ---- the list ---- */

int web_pulls(struct req *r, struct resp *w)
{
	const char *state = req_query(r, "state");
	struct pull_query q = { .state = state && *state ? state : "open", .limit = PULLS_PAGE };
	struct pull_page pg;
	struct cursor cur;
	int limit, rc;
	if ((rc = collab_page(r, "pulls:created:desc", PULL_PAGE_MAX, &limit, &cur)))
		return rc;
	q.after_set = cur.set;
	q.after_key = cur.key;
	q.after_id = cur.id;
	if ((rc = pull_list(&pg, FORGE(r), r->repo, &q)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, pg.items);
	struct view p;
	page_begin(&p, r, w, "Pull requests", "pulls");
	struct buf *b = p.b;
	html_lit(b, "<div class=\"row\"><h2>Pull requests</h2><span class=\"grow\"></span>"
		    "<a class=\"button\" href=\"");
	pulls_repo_path(b, r->repo);
	html_lit(b, "/compare\">New pull request</a></div>");
	static const char *const states[] = { "open", "closed", "merged", "all" };
	struct page_tab t[4];
	for (size_t i = 0; i < 4; i++)
		t[i] = (struct page_tab){ arena_printf(r->arena, "?state=%s", states[i]), states[i],
					  !strcmp(q.state, states[i]) };
	page_subnav(&p, "tabs", "state", t, 4);
	html_lit(b, "<ul class=\"list pulls\">");
	size_t i;
	json_t *it;
	json_array_foreach(pg.items, i, it)
	{
		json_int_t n = json_integer_value(json_object_get(it, "number"));
		html_lit(b, "<li>");
		state_badge(b, json_string_value(json_object_get(it, "state")),
			    json_is_true(json_object_get(it, "merged")));
		html_lit(b, " <a href=\"");
		html_attr(b, pull_url(r, n, ""));
		html_lit(b, "\"><strong>");
		html_txt(b, json_string_value(json_object_get(it, "title")));
		html_lit(b, "</strong></a> <span class=\"mute\">");
		html_txtf(b, "#%lld by ", (long long)n);
		html_txt(b, json_string_value(json_object_get(it, "author")));
		html_lit(b, ", ");
		html_txt(b, json_string_value(json_object_get(json_object_get(it, "head"), "ref")));
		html_lit(b, " \u2192 ");
		html_txt(b, json_string_value(json_object_get(json_object_get(it, "base"), "ref")));
		html_lit(b, ", ");
		page_time(&p, json_string_value(json_object_get(it, "created_at")));
		html_lit(b, "</span></li>");
	}
	if (!json_array_size(pg.items))
		html_lit(b, "<li class=\"mute\">No pull requests.</li>");
	html_lit(b, "</ul>");
	if (pg.more) {
		html_lit(b, "<p><a rel=\"next\" href=\"?state=");
		html_query(b, q.state);
		html_lit(b, "&amp;cursor=");
		html_query(b, collab_cursor(r->arena, "pulls:created:desc", pg.next_key, pg.next_id));
		html_lit(b, "\">Next page</a></p>");
	}
	return page_end(&p);
}

/* ---- compare: opening a pull request ---- */

/* A branch picker: a select of names (the repository's branches), cur
 * selected; cur when not among them (a name typed into the URL) is
 * offered too, so the page says what it compares; none: the text of an
 * empty first choice, NULL for none. */
static void branch_select(struct buf *b, const char *id, const char *label, const char **names,
			  const char *cur, const char *none)
{
	html_lit(b, "<span><label for=\"");
	html_lit(b, id);
	html_lit(b, "\">");
	html_lit(b, label);
	html_lit(b, "</label> <select id=\"");
	html_lit(b, id);
	html_lit(b, "\" name=\"");
	html_lit(b, id);
	html_lit(b, "\">");
	bool found = false;
	if (none) {
		html_lit(b, "<option value=\"\">");
		html_lit(b, none);
		html_lit(b, "</option>");
	}
	for (size_t i = 0; names[i]; i++) {
		bool on = cur && !strcmp(names[i], cur);
		found = found || on;
		html_lit(b, "<option value=\"");
		html_attr(b, names[i]);
		html_lit(b, on ? "\" selected>" : "\">");
		html_plain(b, names[i]);
		html_lit(b, "</option>");
	}
	if (cur && *cur && !found) {
		html_lit(b, "<option value=\"");
		html_attr(b, cur);
		html_lit(b, "\" selected>");
		html_plain(b, cur);
		html_lit(b, "</option>");
	}
	html_lit(b, "</select></span>");
}

/* How many branches the compare page's pickers offer. */
#define COMPARE_BRANCHES 500

/* The compare page; msg: a refused creation's message. */
static int compare_page(struct req *r, struct resp *w, const char *msg)
{
	/* the branches ride in the query, GET and POST alike: the pickers
	 * are a GET form, the creation form's action carries them on */
	bool post = r->method == HTTP_POST;
	const char *base = req_query(r, "base"), *head = req_query(r, "head");
	if (!base || !*base)
		base = r->repo->default_branch;
	struct pull_compare c = { 0 };
	const char *cmp_msg = NULL, **branches;
	size_t nbranches;
	int rc = repo_branch_names(&branches, &nbranches, FORGE(r), r->repo, COMPARE_BRANCHES);
	if (rc)
		return rc;
	if (head && *head) {
		rc = pull_compare(&c, FORGE(r), r->repo, head, base);
		if (rc == ERR_INVALID || rc == ERR_CONFLICT) {
			int st = w->status;
			cmp_msg = pulls_err_take(r, w, rc);
			if (msg)
				w->status = st; /* the refused creation's */
		} else if (rc) {
			return rc;
		} else {
			arena_defer(r->arena, (void (*)(void *))json_decref, c.commits);
			arena_defer(r->arena, (void (*)(void *))git_diff_free, c.diff);
		}
	}
	struct view p;
	page_begin(&p, r, w, "Open a pull request", "pulls");
	struct buf *b = p.b;
	html_lit(b, "<h2>Open a pull request</h2><p>Choose the branch to merge (head) and the "
		    "branch it goes into (base).</p><form method=\"get\" class=\"row\" action=\"");
	pulls_repo_path(b, r->repo);
	html_lit(b, "/compare\">");
	branch_select(b, "base", "Base", branches, base, NULL);
	branch_select(b, "head", "Head", branches, head, "choose a branch");
	html_lit(b, "<button class=\"secondary\">Compare</button></form>");
	if (cmp_msg)
		page_field_error(&p, "compare", cmp_msg);
	if (!head || !*head || cmp_msg)
		return page_end(&p);
	if (c.existing) {
		html_lit(b, "<p class=\"notice\">An open pull request for these branches already "
			    "exists: <a href=\"");
		html_attr(b, pull_url(r, c.existing, ""));
		html_lit(b, "\">");
		html_txtf(b, "#%lld", c.existing);
		html_lit(b, "</a>.</p>");
	}
	html_lit(b, "<p>");
	html_txtf(b, "%zu commit%s ahead, %zu behind ", c.ahead, c.ahead == 1 ? "" : "s", c.behind);
	html_txt(b, base);
	html_lit(b, ".</p>");
	if (!r->auth.user_id) {
		html_lit(b, "<p><a href=\"/login?next=");
		html_query(b, r->path);
		html_lit(b, "\">Sign in</a> to open a pull request.</p>");
	} else {
		html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
		pulls_repo_path(b, r->repo);
		html_lit(b, "/compare?base=");
		html_query(b, base);
		html_lit(b, "&amp;head=");
		html_query(b, head);
		html_lit(b, "\">");
		page_csrf_field(&p);
		page_field_error(&p, "title", msg);
		const char *title = post ? web_form(r, "title") : NULL;
		if (!title && json_array_size(c.commits) == 1)
			title = json_string_value(
				json_object_get(json_array_get(c.commits, 0), "summary"));
		html_lit(b, "<label for=\"title\">Title</label><input id=\"title\" name=\"title\" "
			    "required value=\"");
		html_attr(b, title ? title : head);
		html_lit(b, "\"><label for=\"body\">Description</label><textarea id=\"body\" "
			    "name=\"body\">");
		html_textarea(b, post && web_form(r, "body") ? web_form(r, "body") : "");
		html_lit(b, "</textarea><p><button>Create pull request</button></p></form>");
	}
	html_lit(b, "<h3>Commits</h3>");
	pulls_commits_render(&p, c.commits);
	html_lit(b, "<h3>Changes</h3>");
	struct pulls_diff_opts o = { .raw_sha = c.head_sha };
	pulls_diff_render(&p, c.diff, &o);
	return page_end(&p);
}

int web_compare(struct req *r, struct resp *w)
{
	return compare_page(r, w, NULL);
}

int web_compare_create(struct req *r, struct resp *w)
{
	struct forge *f = FORGE(r);
	struct pull_new in = { .title = web_form(r, "title"),
			       .body = web_form(r, "body"),
			       .head = req_query(r, "head"),
			       .base = req_query(r, "base") };
	json_t *o = NULL;
	int rc;
	if (!in.head || !*in.head)
		rc = err_set(&r->err, ERR_INVALID, "missing_field", "choose a head branch");
	else if (!(rc = forge_title_check(&in.title, f, "title", in.title ? in.title : "")) &&
		 !(rc = forge_body_check(f, "body", in.body ? in.body : "", false)))
		rc = pull_create(&o, f, r->repo, &in);
	if (rc == ERR_INVALID || rc == ERR_EXISTS || rc == ERR_CONFLICT || rc == ERR_TOOLARGE ||
	    rc == ERR_PERM) {
		const char *msg = pulls_err_take(r, w, rc);
		return compare_page(r, w, msg);
	}
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, o);
	return page_redirect(w, pull_url(r, json_integer_value(json_object_get(o, "number")), ""));
}

/* ---- the conversation ---- */

/* The message of form's refusal ("comment", "edit", "state", "merge"),
 * else NULL. */
static const char *refused(const struct web_refused *e, const char *form)
{
	return web_refused(e, form) ? e->msg : NULL;
}

/* A form field kept from a refused post of form, else dflt (also when the
 * post lacks the field). */
static const char *kept(const struct req *r, const struct web_refused *e, const char *form,
			const char *field, const char *dflt)
{
	if (r->method == HTTP_POST && web_refused(e, form) && web_form(r, field))
		return web_form(r, field);
	return dflt;
}

static void review_state(struct buf *b, const char *state)
{
	html_lit(b, !strcmp(state ? state : "", "APPROVED")            ? "approved these changes"
		    : !strcmp(state ? state : "", "CHANGES_REQUESTED") ? "requested changes"
								       : "reviewed");
}

static void timeline_item(struct view *p, json_t *it, json_t *reviews)
{
	struct buf *b = p->b;
	const char *ev = json_string_value(json_object_get(it, "event"));
	const char *actor = json_string_value(json_object_get(it, "actor"));
	long long id = (long long)json_integer_value(json_object_get(it, "id"));
	if (!ev)
		return;
	if (!strcmp(ev, "commented")) {
		html_lit(b, "<div class=\"box comment\" id=\"comment-");
		html_txtf(b, "%lld", id);
		html_lit(b, "\"><p class=\"head\">");
		page_user(p, actor);
		html_lit(b, " commented ");
		page_time(p, json_string_value(json_object_get(it, "created_at")));
		if (json_is_true(json_object_get(it, "edited")))
			html_lit(b, " <span class=\"mute\">(edited)</span>");
		html_lit(b, "</p><div class=\"body\">");
		page_markdown(p, json_string_value(json_object_get(it, "body")));
		html_lit(b, "</div></div>");
		return;
	}
	if (!strcmp(ev, "reviewed")) {
		long long rid = (long long)json_integer_value(json_object_get(it, "review_id"));
		json_t *rv = NULL, *x;
		size_t i;
		json_array_foreach(reviews, i, x) if (json_integer_value(json_object_get(x, "id")) ==
						      rid) rv = x;
		const char *state = json_string_value(json_object_get(it, "state"));
		html_lit(b, "<div class=\"box review\" id=\"review-");
		html_txtf(b, "%lld", rid);
		html_lit(b, "\"><p class=\"head\">");
		page_user(p, actor);
		html_lit(b, " ");
		review_state(b, state);
		html_lit(b, " <span class=\"badge review-");
		html_attr(b, state ? state : "COMMENTED");
		html_lit(b, "\">");
		html_txt(b, state ? state : "COMMENTED");
		html_lit(b, "</span> ");
		page_time(p, json_string_value(json_object_get(it, "created_at")));
		html_lit(b, "</p>");
		const char *body = rv ? json_string_value(json_object_get(rv, "body")) : NULL;
		long long nc = rv ? (long long)json_integer_value(json_object_get(rv, "comments"))
				  : 0;
		if ((body && *body) || nc) {
			html_lit(b, "<div class=\"body\">");
			if (body && *body)
				page_markdown(p, body);
			if (nc) {
				html_lit(b, "<p><a href=\"files\">");
				html_txtf(b, "%lld inline comment%s", nc, nc == 1 ? "" : "s");
				html_lit(b, "</a></p>");
			}
			html_lit(b, "</div>");
		}
		html_lit(b, "</div>");
		return;
	}
	html_lit(b, "<p class=\"event mute\">");
	page_user(p, actor);
	html_lit(b, " ");
	if (!strcmp(ev, "merged")) {
		html_lit(b, "merged commit <span class=\"mono\">");
		const char *sha = json_string_value(json_object_get(it, "commit_sha"));
		html_txtn(b, sha ? sha : "", sha && strlen(sha) >= 10 ? 10 : 0);
		html_lit(b, "</span>");
	} else if (!strcmp(ev, "renamed")) {
		html_lit(b, "changed the title from \u201c");
		html_txt(b, json_string_value(json_object_get(it, "from")));
		html_lit(b, "\u201d to \u201c");
		html_txt(b, json_string_value(json_object_get(it, "to")));
		html_lit(b, "\u201d");
	} else {
		html_txt(b, ev);
		json_t *n = json_object_get(it, "number");
		if (json_is_integer(n))
			html_txtf(b, " #%lld", (long long)json_integer_value(n));
	}
	html_lit(b, " ");
	page_time(p, json_string_value(json_object_get(it, "created_at")));
	html_lit(b, "</p>");
}

/* The merge box of an open pull request (pj: pull_json_get's JSON). */
static void merge_box(struct view *p, const struct pull *pr, json_t *pj, const struct web_refused *e)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	struct forge *f = FORGE(r);
	const char *mergeable = json_string_value(json_object_get(pj, "mergeable"));
	long long behind = (long long)json_integer_value(json_object_get(pj, "behind_by"));
	html_lit(b, "<section class=\"box mergebox\" aria-labelledby=\"merge-h\"><h2 "
		    "class=\"head\" id=\"merge-h\">Merge</h2><div class=\"body\">");
	bool clean = mergeable && !strcmp(mergeable, "clean");
	if (clean) {
		html_lit(b, "<p class=\"state-success\">This branch has no conflicts with the base "
			    "branch.</p>");
	} else if (mergeable && !strcmp(mergeable, "conflicts")) {
		html_lit(b, "<p class=\"error\">This branch has conflicts that must be resolved:</p>"
			    "<ul class=\"conflicts\">");
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(pj, "conflicts"), i, c)
		{
			html_lit(b, "<li class=\"mono\">");
			html_txt(b, json_string_value(c));
			html_lit(b, "</li>");
		}
		html_lit(b, "</ul>");
	} else if (mergeable && !strcmp(mergeable, "unrelated")) {
		html_lit(b, "<p class=\"error\">The branches no longer share any history.</p>");
	} else {
		html_lit(b, "<p class=\"error\">A branch of this pull request no longer exists.</p>");
	}
	if (behind > 0) {
		html_lit(b, "<p class=\"state-pending\">");
		html_txtf(b, "This branch is %lld commit%s behind ", behind, behind == 1 ? "" : "s");
		html_txt(b, pr->base);
		html_lit(b, ".</p>");
	}
	/* the head's statuses */
	json_t *st = json_object_get(pj, "statuses");
	json_t *sts = json_object_get(st, "statuses");
	if (json_array_size(sts)) {
		const char *s = json_string_value(json_object_get(st, "state"));
		html_lit(b, "<h3>Checks: <span class=\"state-");
		html_attr(b, s ? s : "pending");
		html_lit(b, "\">");
		html_txt(b, s ? s : "pending");
		html_lit(b, "</span></h3><ul class=\"list statuses\">");
		size_t i;
		json_t *x;
		json_array_foreach(sts, i, x)
		{
			const char *xs = json_string_value(json_object_get(x, "state"));
			const char *url = json_string_value(json_object_get(x, "target_url"));
			html_lit(b, "<li><span class=\"state-");
			html_attr(b, xs ? xs : "");
			html_lit(b, "\">");
			html_txt(b, xs ? xs : "");
			html_lit(b, "</span> <strong>");
			html_txt(b, json_string_value(json_object_get(x, "context")));
			html_lit(b, "</strong> ");
			html_txt(b, json_string_value(json_object_get(x, "description")));
			if (url && *url) {
				html_lit(b, " <a href=\"");
				html_url(b, url);
				html_lit(b, "\" rel=\"nofollow noopener\">Details</a>");
			}
			html_lit(b, "</li>");
		}
		html_lit(b, "</ul>");
	}
	/* the base's protection */
	struct protection prot;
	if (!protection_get(&prot, f, r->repo->id, pr->base) && prot.any) {
		html_lit(b, "<h3>Branch protection</h3><ul class=\"protection\"><li>");
		html_txt(b, pr->base);
		html_lit(b, " is protected (");
		html_txt(b, prot.patterns);
		html_lit(b, ").</li>");
		if (prot.required_approvals) {
			html_lit(b, "<li>");
			html_txtf(b,
				  "Requires %d approving review%s by writers who pushed none of "
				  "its commits.",
				  prot.required_approvals, prot.required_approvals == 1 ? "" : "s");
			html_lit(b, "</li>");
		}
		if (prot.require_passing_statuses)
			html_lit(b, "<li>Requires every status of the head to pass.</li>");
		for (size_t i = 0; i < prot.ncontexts; i++) {
			html_lit(b, "<li>Requires status <strong>");
			html_txt(b, prot.contexts[i]);
			html_lit(b, "</strong> to pass.</li>");
		}
		html_lit(b, "</ul>");
	} else {
		err_clear(&r->err);
	}
	html_lit(b, "<p class=\"mute\">Writers of this repository may merge.</p>");
	/* what the merge engine would refuse, before anything is tried */
	const char *why = refused(e, "merge");
	int rc = pull_merge_check(f, r->repo, arena_int(r->arena, pr->is.number));
	if (rc) {
		if (!why)
			why = r->err.code == ERR_AUTH
				      ? "sign in as a writer of this repository to merge"
				      : arena_strdup(r->arena, r->err.msg);
		err_clear(&r->err);
	}
	if (why)
		page_field_error(p, "merge", why);
	if (!rc && clean) {
		html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
		html_attr(b, pull_url(r, pr->is.number, "/merge"));
		html_lit(b, "\">");
		page_csrf_field(p);
		html_lit(b, "<input type=\"hidden\" name=\"sha\" value=\"");
		html_attr(b, json_string_value(json_object_get(json_object_get(pj, "head"), "sha")));
		html_lit(b, "\"><fieldset><legend>Merge method</legend>");
		static const char *const ms[][2] = { { "merge", "Create a merge commit" },
						     { "squash", "Squash and merge" },
						     { "rebase", "Rebase and merge" } };
		for (size_t i = 0; i < 3; i++) {
			html_lit(b, "<div><input type=\"radio\" name=\"method\" id=\"method-");
			html_lit(b, ms[i][0]);
			html_lit(b, "\" value=\"");
			html_lit(b, ms[i][0]);
			html_lit(b, i == 0 ? "\" checked>" : "\">");
			html_lit(b, " <label class=\"inline\" for=\"method-");
			html_lit(b, ms[i][0]);
			html_lit(b, "\">");
			html_lit(b, ms[i][1]);
			html_lit(b, "</label></div>");
		}
		html_lit(b, "</fieldset><p><button id=\"merge-button\">Merge pull request</button>"
			    "</p></form>");
	}
	html_lit(b, "</div></section>");
}

/* The conversation; e: a refused form's message. */
static int pull_page(struct req *r, struct resp *w, const struct web_refused *e)
{
	struct forge *f = FORGE(r);
	const char *number = req_param(r, "number");
	struct pull pr;
	json_t *pj = NULL, *reviews = NULL;
	struct page tl = { 0 };
	struct cursor cur;
	int limit, rc;
	if ((rc = pull_get(&pr, f, r->repo, number, false)) ||
	    (rc = pull_json_get(&pj, f, r->repo, number)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, pj);
	if ((rc = review_list(&reviews, f, r->repo, number)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, reviews);
	if ((rc = collab_page(r, "timeline", TIMELINE_PAGE, &limit, &cur)) ||
	    (rc = issue_timeline(&tl, f, r->repo, &pr.is, TIMELINE_PAGE, &cur)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, tl.items);
	struct view p;
	page_begin(&p, r, w, pulls_title(r, &pr), "pulls");
	struct buf *b = p.b;
	pulls_head(&p, &pr, "conversation");
	struct err scratch = { 0 };
	struct forge fs = *f;
	fs.err = &scratch;
	bool may_edit = r->auth.user_id &&
			!forge_require_author(&fs, r->repo, pr.is.author_id, "not yours");
	/* the description */
	html_lit(b, "<div class=\"box comment\" id=\"description\"><p class=\"head\">");
	page_user(&p, pr.is.author);
	html_lit(b, " opened this pull request ");
	page_time(&p, json_string_value(json_object_get(pj, "created_at")));
	html_lit(b, "</p><div class=\"body\">");
	if (pr.is.body && *pr.is.body)
		page_markdown(&p, pr.is.body);
	else
		html_lit(b, "<p class=\"mute\">No description.</p>");
	html_lit(b, "</div></div>");
	if (may_edit) {
		html_lit(b, "<details class=\"edit\"");
		if (refused(e, "edit"))
			html_lit(b, " open");
		html_lit(b, "><summary>Edit title and description</summary><form method=\"post\" "
			    "class=\"stack\" action=\"");
		html_attr(b, pull_url(r, pr.is.number, "/edit"));
		html_lit(b, "\">");
		page_csrf_field(&p);
		page_field_error(&p, "edit", refused(e, "edit"));
		html_lit(b, "<label for=\"edit-title\">Title</label><input id=\"edit-title\" "
			    "name=\"title\" required value=\"");
		html_attr(b, kept(r, e, "edit", "title", pr.is.title));
		html_lit(b, "\"><label for=\"edit-body\">Description</label><textarea "
			    "id=\"edit-body\" name=\"body\">");
		html_textarea(b, kept(r, e, "edit", "body", pr.is.body ? pr.is.body : ""));
		html_lit(b, "</textarea><p><button>Save</button></p></form></details>");
	}
	/* the timeline */
	html_lit(b, "<h2 class=\"sr\">Timeline</h2>");
	size_t i;
	json_t *it;
	json_array_foreach(tl.items, i, it) timeline_item(&p, it, reviews);
	if (tl.next.set) {
		html_lit(b, "<p><a rel=\"next\" href=\"?cursor=");
		html_query(b, collab_cursor(r->arena, "timeline", tl.next.key, tl.next.id));
		html_lit(b, "\">Later events</a></p>");
	}
	/* merging */
	if (pr.merged) {
		html_lit(b, "<p class=\"notice\"><span class=\"badge merged\">merged</span> ");
		page_user(&p, pr.merged_by);
		html_lit(b, " merged this pull request (");
		html_txt(b, pr.merge_method ? pr.merge_method : "merge");
		html_lit(b, ") as <span class=\"mono\">");
		html_txt(b, pr.merge_commit_sha ? pr.merge_commit_sha : "");
		html_lit(b, "</span>.</p>");
	} else if (!strcmp(pr.is.state, "open")) {
		merge_box(&p, &pr, pj, e);
	}
	/* close / reopen */
	if (!pr.merged && (may_edit || refused(e, "state"))) {
		bool open = !strcmp(pr.is.state, "open");
		page_field_error(&p, "state", refused(e, "state"));
		page_form_open(&p, pull_url(r, pr.is.number, "/state"));
		html_lit(b, open ? "<input type=\"hidden\" name=\"state\" value=\"closed\"><button "
				   "class=\"secondary\">Close pull request</button></form>"
				 : "<input type=\"hidden\" name=\"state\" value=\"open\"><button "
				   "class=\"secondary\">Reopen pull request</button></form>");
	}
	/* the comment form */
	html_lit(b, "<h2>Add a comment</h2>");
	if (!r->auth.user_id) {
		html_lit(b, "<p><a href=\"/login?next=");
		html_query(b, r->path);
		html_lit(b, "\">Sign in</a> to comment.</p>");
	} else if (forge_can_participate(&fs, r->repo)) {
		html_lit(b, "<p class=\"mute\">");
		html_txt(b, scratch.msg);
		html_lit(b, "</p>");
	} else {
		html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
		html_attr(b, pull_url(r, pr.is.number, "/comments"));
		html_lit(b, "\">");
		page_csrf_field(&p);
		html_lit(b, "<label for=\"comment-body\">Comment</label>");
		page_field_error(&p, "comment-body", refused(e, "comment"));
		html_lit(b, "<textarea id=\"comment-body\" name=\"body\" required>");
		html_textarea(b, kept(r, e, "comment", "body", ""));
		html_lit(b, "</textarea><p><button>Comment</button></p></form>");
	}
	return page_end(&p);
}

int web_pull(struct req *r, struct resp *w)
{
	return pull_page(r, w, NULL);
}

/* A refused form re-renders the conversation with its message; other
 * failures are the error page. */
static int refuse(struct req *r, struct resp *w, int rc, const char *form)
{
	if (rc != ERR_INVALID && rc != ERR_CONFLICT && rc != ERR_EXISTS && rc != ERR_PERM &&
	    rc != ERR_TOOLARGE)
		return rc;
	struct web_refused e = { .form = form, .msg = pulls_err_take(r, w, rc) };
	int st = w->status;
	rc = pull_page(r, w, &e);
	if (!rc)
		w->status = st;
	return rc;
}

int web_pull_comment(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	const char *body = web_form(r, "body");
	json_t *o = NULL;
	struct pull pr;
	int rc;
	if ((rc = pull_get(&pr, FORGE(r), r->repo, number, false)))
		return rc;
	if (!body || !*body || strspn(body, " \t\r\n") == strlen(body))
		rc = err_set(&r->err, ERR_INVALID, "missing_field", "write a comment first");
	else
		rc = comment_create(&o, FORGE(r), r->repo, number, body);
	if (rc)
		return refuse(r, w, rc, "comment");
	arena_defer(r->arena, (void (*)(void *))json_decref, o);
	return page_redirect(w,
			     arena_printf(r->arena, "%s#comment-%lld", pull_url(r, pr.is.number, ""),
					  (long long)json_integer_value(json_object_get(o, "id"))));
}

int web_pull_edit(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	struct pull_update in = { .title = web_form(r, "title"), .body = web_form(r, "body") };
	json_t *o = NULL;
	struct pull pr;
	int rc;
	if ((rc = pull_get(&pr, FORGE(r), r->repo, number, false)))
		return rc;
	if (!(rc = forge_title_check(&in.title, FORGE(r), "title", in.title ? in.title : "")))
		rc = pull_update(&o, FORGE(r), r->repo, number, &in);
	if (rc)
		return refuse(r, w, rc, "edit");
	json_decref(o);
	return page_redirect(w, pull_url(r, pr.is.number, ""));
}

int web_pull_state(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	struct pull_update in = { .state = web_form(r, "state") };
	json_t *o = NULL;
	struct pull pr;
	int rc;
	if ((rc = pull_get(&pr, FORGE(r), r->repo, number, false)))
		return rc;
	if (!in.state)
		in.state = "";
	if ((rc = pull_update(&o, FORGE(r), r->repo, number, &in)))
		return refuse(r, w, rc, "state");
	json_decref(o);
	return page_redirect(w, pull_url(r, pr.is.number, ""));
}

int web_pull_merge(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	struct pull_merge_opts opts = { .method = web_form(r, "method"), .sha = web_form(r, "sha") };
	struct pull_merge_result res;
	struct pull pr;
	int rc;
	if ((rc = pull_get(&pr, FORGE(r), r->repo, number, false)))
		return rc;
	if (opts.sha && !*opts.sha)
		opts.sha = NULL;
	if ((rc = pull_merge(&res, FORGE(r), r->repo, number, &opts)))
		return refuse(r, w, rc == ERR_AUTH ? ERR_PERM : rc, "merge");
	return page_redirect(w, pull_url(r, pr.is.number, ""));
}
