/* issue.c — the issue page: title, state, the rendered body, reactions
 * (on the issue and on each comment),
 * the timeline (comments and label / assignment / milestone / title /
 * state / reference events in order), the comment form, edit and
 * close/reopen for its author and writers, and the sidebar of labels,
 * assignees and milestone with forms for writers. Every change is a form
 * posted to a sub-path of the issue and answered with a 303 back; a
 * refused form re-renders the page with the status, the message beside
 * that form and the input kept. */
#include "web/issues.h"

#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/collab.h"
#include "forge/comments.h"
#include "forge/labels.h"
#include "forge/milestones.h"
#include "forge/reactions.h"

#define TIMELINE_PAGE 250

/* ---- the issue page ---- */

static void refusal_at(struct view *p, const struct web_refused *x, const char *form)
{
	if (web_refused(x, form))
		page_field_error(p, form, x->msg);
}

/* "/owner/repo/issues/N" + suffix as a form action. */
static const char *issue_action(struct req *r, long long n, const char *suffix)
{
	return page_repo_path(r, r->repo, arena_printf(r->arena, "/issues/%lld%s", n, suffix));
}

static const struct {
	const char *name, *emoji;
} emoji[] = {
	{ "+1", "\xf0\x9f\x91\x8d" },       { "-1", "\xf0\x9f\x91\x8e" },
	{ "laugh", "\xf0\x9f\x98\x84" },    { "hooray", "\xf0\x9f\x8e\x89" },
	{ "confused", "\xf0\x9f\x98\x95" }, { "heart", "\xe2\x9d\xa4\xef\xb8\x8f" },
	{ "rocket", "\xf0\x9f\x9a\x80" },   { "eyes", "\xf0\x9f\x91\x80" },
};

static const char *emoji_of(const char *name)
{
	for (size_t i = 0; i < sizeof(emoji) / sizeof(emoji[0]); i++)
		if (!strcmp(emoji[i].name, name))
			return emoji[i].emoji;
	return "?";
}

/* A reactions row: counts for everyone, a small toggling form per content
 * posted to action for those who may react; mine: the contents the
 * viewer gave (an array); form: the name its refusal is shown under. */
static void reactions_row(struct view *p, json_t *counts, json_t *mine, const char *action,
			  const char *form, const struct web_standing *st,
			  const struct web_refused *x)
{
	struct buf *b = p->b;
	html_lit(b, "<div class=\"reactions row\" aria-label=\"reactions\" role=\"group\">");
	refusal_at(p, x, form);
	for (const char *const *c = reaction_names; *c; c++) {
		long long n = (long long)json_integer_value(json_object_get(counts, *c));
		if (!st->participant) {
			if (n) {
				html_lit(b, "<span class=\"reaction\" title=\"");
				html_attr(b, *c);
				html_lit(b, "\">");
				html_lit(b, emoji_of(*c));
				html_txtf(b, " %lld", n);
				html_lit(b, "</span>");
			}
			continue;
		}
		bool on = false;
		size_t i;
		json_t *v;
		json_array_foreach(mine, i, v)
			on = on || !strcmp(json_string_value(v) ? json_string_value(v) : "", *c);
		page_form_open(p, action);
		html_lit(b, "<input type=\"hidden\" name=\"content\" value=\"");
		html_attr(b, *c);
		html_lit(b, on ? "\"><input type=\"hidden\" name=\"op\" value=\"remove\">"
			       : "\"><input type=\"hidden\" name=\"op\" value=\"add\">");
		html_lit(b, "<button class=\"reaction\" aria-pressed=\"");
		html_lit(b, on ? "true" : "false");
		html_lit(b, "\" aria-label=\"");
		html_attr(b, *c);
		html_txtf(b, ", %lld", n);
		html_lit(b, "\">");
		html_lit(b, emoji_of(*c));
		if (n)
			html_txtf(b, " %lld", n);
		html_lit(b, "</button></form>");
	}
	html_lit(b, "</div>");
}

/* The issue's own reactions row. */
static int issue_reactions(struct view *p, const struct issue *is, json_t *counts,
			   const struct web_standing *st, const struct web_refused *x)
{
	struct req *r = p->r;
	json_t *mine = json_array();
	arena_defer(r->arena, (void (*)(void *))json_decref, mine);
	if (st->participant) {
		json_t *all;
		int rc = reactions_list(&all, FORGE(r), r->repo,
					arena_int(r->arena, (long long)is->number), NULL, NULL);
		if (rc)
			return rc;
		arena_defer(r->arena, (void (*)(void *))json_decref, all);
		size_t i;
		json_t *v;
		json_array_foreach(all, i, v)
		{
			const char *u = json_string_value(json_object_get(v, "user"));
			if (u && !strcasecmp(u, r->auth.username))
				json_array_append(mine, json_object_get(v, "content"));
		}
	}
	reactions_row(p, counts, mine, issue_action(r, (long long)is->number, "/reactions"),
		      "reactions", st, x);
	return 0;
}

static void event_link(struct view *p, const char *what, long long n, const char *title)
{
	html_lit(p->b, "<a href=\"");
	web_repo_href(p, what);
	html_txtf(p->b, "%lld", n);
	html_lit(p->b, "\">");
	html_txtf(p->b, "#%lld", n);
	html_lit(p->b, "</a> ");
	html_txt(p->b, title ? title : "");
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* One timeline row that is not a comment. */
static void timeline_event(struct view *p, json_t *it)
{
	struct buf *b = p->b;
	const char *ev = str(it, "event");
	json_t *label = json_object_get(it, "label"), *ms = json_object_get(it, "milestone");
	html_lit(b, "<li class=\"event\" id=\"event-");
	html_txtf(b, "%lld", (long long)json_integer_value(json_object_get(it, "id")));
	html_lit(b, "\">");
	page_user(p, str(it, "actor"));
	html_lit(b, " ");
	if (!strcmp(ev, "labeled") || !strcmp(ev, "unlabeled")) {
		html_lit(b, ev[0] == 'l' ? "added the " : "removed the ");
		web_label_chip(p, str(label, "name"), str(label, "color"), true);
		html_lit(b, " label");
	} else if (!strcmp(ev, "assigned") || !strcmp(ev, "unassigned")) {
		html_lit(b, ev[0] == 'a' ? "assigned " : "unassigned ");
		page_user(p, str(it, "assignee"));
	} else if (!strcmp(ev, "milestoned") || !strcmp(ev, "demilestoned")) {
		html_lit(b, ev[0] == 'm' ? "added this to the milestone "
					 : "removed this from the milestone ");
		html_lit(b, "<a href=\"");
		web_repo_href(p, "/issues?state=all&amp;milestone=");
		html_txtf(b, "%lld", (long long)json_integer_value(json_object_get(ms, "number")));
		html_lit(b, "\">");
		html_txt(b, str(ms, "title"));
		html_lit(b, "</a>");
	} else if (!strcmp(ev, "renamed")) {
		html_lit(b, "changed the title from <del>");
		html_txt(b, str(it, "from"));
		html_lit(b, "</del> to <ins>");
		html_txt(b, str(it, "to"));
		html_lit(b, "</ins>");
	} else if (!strcmp(ev, "closed") || !strcmp(ev, "reopened") || !strcmp(ev, "merged")) {
		html_txt(b, ev);
		html_lit(b, " this");
	} else if (!strcmp(ev, "referenced")) {
		json_t *src = json_object_get(it, "source");
		const char *sha = str(it, "commit");
		if (json_is_object(src)) {
			html_lit(b, "mentioned this in ");
			event_link(p,
				   json_is_true(json_object_get(src, "pull_request")) ? "/pull/"
										      : "/issues/",
				   (long long)json_integer_value(json_object_get(src, "number")),
				   str(src, "title"));
		} else {
			html_lit(b, "referenced this in commit <a class=\"mono\" href=\"");
			web_repo_href(p, "/commit/");
			html_path(b, sha, 0);
			html_lit(b, "\">");
			html_txtn(b, sha, strlen(sha) > 10 ? 10 : strlen(sha));
			html_lit(b, "</a>");
		}
	} else {
		html_txt(b, ev);
	}
	html_lit(b, " ");
	page_time(p, str(it, "created_at"));
	html_lit(b, "</li>");
}

/* One comment of the timeline, with edit and delete for those who may. */
static void timeline_comment(struct view *p, json_t *it, json_t *reactions,
			     const struct web_standing *st, const struct web_refused *x)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	long long id = (long long)json_integer_value(json_object_get(it, "id"));
	const char *actor = str(it, "actor");
	const char *form = arena_printf(r->arena, "comment-%lld", id);
	bool mine = r->auth.user_id && !strcasecmp(actor, r->auth.username);
	html_lit(b, "<li class=\"comment box\" id=\"comment-");
	html_txtf(b, "%lld", id);
	html_lit(b, "\"><div class=\"head\">");
	page_user(p, actor);
	html_lit(b, " commented ");
	page_time(p, str(it, "created_at"));
	if (json_is_true(json_object_get(it, "edited")))
		html_lit(b, " <span class=\"mute\">(edited)</span>");
	html_lit(b, "</div><div class=\"body\">");
	refusal_at(p, x, form);
	/* forge_html's output: cmark-gfm with raw HTML and unsafe schemes
	 * removed (web/markdown.h), as page_markdown writes it */
	html_lit(b, "<div class=\"markdown\">");
	buf_adds(b, str(it, "body_html"));
	html_lit(b, "</div>");
	const char *action = arena_printf(r->arena, "/%s/%s/issues/comments/%lld", r->repo->owner,
					  r->repo->name, id);
	json_t *rx = json_object_get(reactions, arena_int(r->arena, id));
	if (rx || st->participant)
		reactions_row(p, json_object_get(rx, "counts"), json_object_get(rx, "mine"),
			      arena_printf(r->arena, "%s/reactions", action),
			      arena_printf(r->arena, "%s-reactions", form), st, x);
	if (st->writer || (mine && st->participant)) {
		html_lit(b, web_refused(x, form) ? "<details open>" : "<details>");
		html_lit(b, "<summary>Edit comment</summary><form method=\"post\" class=\"stack\" "
			    "action=\"");
		html_attr(b, action);
		html_lit(b, "\">");
		page_csrf_field(p);
		html_lit(b, "<label for=\"");
		html_attr(b, form);
		html_lit(b, "-body\">Comment</label><textarea id=\"");
		html_attr(b, form);
		html_lit(b, "-body\" name=\"body\">");
		html_textarea(b, web_kept(r, x, form, "body", str(it, "body")));
		html_lit(b, "</textarea><p><button>Save comment</button></p></form></details>");
		page_form_open(p, arena_printf(r->arena, "%s/delete", action));
		html_lit(b, "<button class=\"danger\">Delete comment</button></form>");
	}
	html_lit(b, "</div></li>");
}

static int sidebar(struct view *p, json_t *j, const struct issue *is, const struct web_standing *st,
		   const struct web_refused *x)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	size_t i;
	json_t *v;
	long long n = (long long)is->number;
	html_lit(b, "<aside class=\"sidebar\" aria-label=\"issue details\"><h3>Labels</h3>"
		    "<p class=\"labels\">");
	json_t *labels = json_object_get(j, "labels");
	json_array_foreach(labels, i, v)
	{
		web_label_chip(p, str(v, "name"), str(v, "color"), true);
		html_lit(b, " ");
	}
	if (!json_array_size(labels))
		html_lit(b, "<span class=\"mute\">None yet</span>");
	html_lit(b, "</p>");
	refusal_at(p, x, "labels");
	json_t *all = NULL, *ms = NULL;
	int rc;
	if (st->writer) {
		if ((rc = labels_list(&all, FORGE(r), r->repo)))
			return rc;
		arena_defer(r->arena, (void (*)(void *))json_decref, all);
		html_lit(b, web_refused(x, "labels") ? "<details open>" : "<details>");
		html_lit(b, "<summary>Edit labels</summary>");
		page_form_open(p, issue_action(r, n, "/labels"));
		html_lit(b, "<input type=\"hidden\" name=\"labels_set\" value=\"1\">");
		json_array_foreach(all, i, v)
		{
			bool on = false;
			size_t k;
			json_t *l;
			json_array_foreach(labels, k, l)
				on = on || !strcasecmp(str(l, "name"), str(v, "name"));
			html_lit(b, "<span class=\"check\"><input type=\"checkbox\" name=\"label\" "
				    "id=\"");
			html_txtf(b, "sl-%zu", i);
			html_lit(b, "\" value=\"");
			html_attr(b, str(v, "name"));
			html_lit(b, on ? "\" checked><label for=\"" : "\"><label for=\"");
			html_txtf(b, "sl-%zu", i);
			html_lit(b, "\">");
			web_label_chip(p, str(v, "name"), str(v, "color"), false);
			html_lit(b, "</label></span>");
		}
		if (!json_array_size(all)) {
			html_lit(b, "<p class=\"mute\">No labels yet: <a href=\"");
			web_repo_href(p, "/labels");
			html_lit(b, "\">create some</a>.</p>");
		}
		html_lit(b, "<p><button>Set labels</button></p></form></details>");
	}

	html_lit(b, "<h3>Assignees</h3><p>");
	json_t *as = json_object_get(j, "assignees");
	struct buf names = BUF_INIT;
	json_array_foreach(as, i, v)
	{
		page_user(p, json_string_value(v));
		html_lit(b, " ");
		buf_addf(&names, "%s%s", i ? ", " : "", json_string_value(v));
	}
	if (!json_array_size(as))
		html_lit(b, "<span class=\"mute\">No one</span>");
	html_lit(b, "</p>");
	refusal_at(p, x, "assignees");
	if (st->writer) {
		html_lit(b, web_refused(x, "assignees") ? "<details open>" : "<details>");
		html_lit(b, "<summary>Edit assignees</summary>");
		page_form_open(p, issue_action(r, n, "/assignees"));
		html_lit(b, "<label for=\"assignees\">Usernames, comma-separated</label> "
			    "<input id=\"assignees\" name=\"assignees\" value=\"");
		html_attr(b, web_kept(r, x, "assignees", "assignees", names.ptr));
		html_lit(b, "\"> <button>Set assignees</button></form></details>");
	}
	buf_release(&names);

	html_lit(b, "<h3>Milestone</h3><p>");
	json_t *m = json_object_get(j, "milestone");
	if (json_is_object(m)) {
		html_lit(b, "<a href=\"");
		web_repo_href(p, "/issues?state=all&amp;milestone=");
		html_txtf(b, "%lld", (long long)json_integer_value(json_object_get(m, "number")));
		html_lit(b, "\">");
		html_txt(b, str(m, "title"));
		html_lit(b, "</a>");
	} else {
		html_lit(b, "<span class=\"mute\">None</span>");
	}
	html_lit(b, "</p>");
	refusal_at(p, x, "milestone");
	if (st->writer) {
		if ((rc = milestones_list(&ms, FORGE(r), r->repo, "open")))
			return rc;
		arena_defer(r->arena, (void (*)(void *))json_decref, ms);
		const char *cur = json_is_object(m)
					  ? arena_int(r->arena, (long long)json_integer_value(
									json_object_get(m, "number")))
					  : "none";
		html_lit(b, web_refused(x, "milestone") ? "<details open>" : "<details>");
		html_lit(b, "<summary>Set milestone</summary>");
		page_form_open(p, issue_action(r, n, "/milestone"));
		html_lit(b, "<label for=\"milestone\">Milestone</label> <select id=\"milestone\" "
			    "name=\"milestone\">");
		web_option(p, "none", "none", cur);
		json_array_foreach(ms, i, v)
		{
			web_option(p,
				   arena_int(r->arena, (long long)json_integer_value(
							       json_object_get(v, "number"))),
				   str(v, "title"), cur);
		}
		html_lit(b, "</select> <button>Set milestone</button></form></details>");
	}
	html_lit(b, "</aside>");
	return 0;
}

/* The reactions on the comments of a timeline page, in one query. */
static int comment_reactions(json_t **out, struct req *r, const struct issue *is, json_t *items)
{
	size_t i, n = 0;
	json_t *it;
	int64_t *ids = arena_alloc(r->arena, (json_array_size(items) + 1) * sizeof(*ids));
	json_array_foreach(items, i, it)
	{
		if (!strcmp(str(it, "event"), "commented"))
			ids[n++] = (int64_t)json_integer_value(json_object_get(it, "id"));
	}
	int rc = reactions_of_comments(out, FORGE(r), r->repo, is, ids, n);
	if (!rc)
		arena_defer(r->arena, (void (*)(void *))json_decref, *out);
	return rc;
}

static int issue_page(struct req *r, struct resp *w, const char *number, const struct web_refused *x)
{
	struct forge *f = FORGE(r);
	struct issue is;
	json_t *j;
	struct cursor cur = { 0 };
	struct page tl;
	int rc;
	if ((rc = issue_get(&is, f, r->repo, number, false)))
		return rc;
	if (is.is_pull) /* the pull request's own page shows it */
		return page_redirect(w, arena_printf(r->arena, "/%s/%s/pull/%lld", r->repo->owner,
						     r->repo->name, (long long)is.number));
	if ((rc = issue_json_get(&j, f, r->repo, is.id)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, j);
	const char *after = req_query(r, "after");
	if (after && *after && r->method == HTTP_GET &&
	    (rc = collab_page(r, "timeline", TIMELINE_PAGE, &(int){ 0 }, &cur)))
		return rc;
	if ((rc = issue_timeline(&tl, f, r->repo, &is, TIMELINE_PAGE, &cur)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, tl.items);
	json_t *reactions;
	if ((rc = comment_reactions(&reactions, r, &is, tl.items)))
		return rc;
	struct web_standing st = web_standing_of(r);
	bool can_edit = st.writer ||
			(r->auth.user_id && is.author_id == r->auth.user_id && st.participant);
	long long n = (long long)is.number;

	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s · #%lld · %s/%s", is.title, n, r->repo->owner,
				r->repo->name),
		   "issues");
	struct buf *b = p.b;
	html_lit(b, "<div class=\"issuehead\"><h2><span class=\"title\">");
	html_txt(b, is.title);
	html_lit(b, "</span> <span class=\"mute\">");
	html_txtf(b, "#%lld", n);
	html_lit(b, "</span></h2><p><span class=\"badge state ");
	html_attr(b, is.state);
	html_lit(b, "\">");
	html_txt(b, is.state);
	html_lit(b, "</span> ");
	page_user(&p, is.author);
	html_lit(b, " opened this issue ");
	page_time(&p, str(j, "created_at"));
	long long nc = (long long)json_integer_value(json_object_get(j, "comments"));
	html_txtf(b, " · %lld comment%s", nc, nc == 1 ? "" : "s");
	html_lit(b, "</p>");
	refusal_at(&p, x, "edit");
	if (can_edit) {
		html_lit(b, web_refused(x, "edit") ? "<details open>" : "<details>");
		html_lit(b, "<summary>Edit title and description</summary><form method=\"post\" "
			    "class=\"stack\" action=\"");
		html_attr(b, issue_action(r, n, ""));
		html_lit(b, "\">");
		page_csrf_field(&p);
		html_lit(b, "<label for=\"edit-title\">Title</label><input id=\"edit-title\" "
			    "name=\"title\" required value=\"");
		html_attr(b, web_kept(r, x, "edit", "title", is.title));
		html_lit(b, "\"><label for=\"edit-body\">Description</label><textarea "
			    "id=\"edit-body\" name=\"body\">");
		html_textarea(b, web_kept(r, x, "edit", "body", is.body));
		html_lit(b, "</textarea><p><button>Save</button></p></form></details>");
	}
	html_lit(b, "</div><div class=\"cols\"><div class=\"main\"><article class=\"box\" "
		    "id=\"issue-body\"><div class=\"head\">");
	page_user(&p, is.author);
	html_lit(b, " wrote</div><div class=\"body\"><div class=\"markdown\">");
	buf_adds(b, str(j, "body_html"));
	html_lit(b, "</div>");
	if ((rc = issue_reactions(&p, &is, json_object_get(j, "reactions"), &st, x)))
		return rc;
	html_lit(b, "</div></article><h3 class=\"sr\">Timeline</h3><ol class=\"timeline\">");
	size_t i;
	json_t *it;
	json_array_foreach(tl.items, i, it)
	{
		if (!strcmp(str(it, "event"), "commented"))
			timeline_comment(&p, it, reactions, &st, x);
		else
			timeline_event(&p, it);
	}
	html_lit(b, "</ol>");
	if (tl.next.set) {
		html_lit(b, "<nav class=\"pager\" aria-label=\"timeline pages\"><a rel=\"next\" "
			    "href=\"");
		web_repo_href(&p, "/issues/");
		html_txtf(b, "%lld", n);
		html_lit(b, "?after=1&amp;cursor=");
		html_query(b, collab_cursor(r->arena, "timeline", tl.next.key, tl.next.id));
		html_lit(b, "\">Later activity</a></nav>");
	}

	/* the comment form, close and reopen */
	html_lit(b, "<section class=\"box\" aria-labelledby=\"comment-h\"><div class=\"head\">"
		    "<h3 id=\"comment-h\">Add a comment</h3></div><div class=\"body\">");
	refusal_at(&p, x, "comment");
	refusal_at(&p, x, "state");
	if (!r->auth.user_id) {
		html_lit(b, "<p><a href=\"/login?next=");
		html_query(b, r->path);
		html_lit(b, "\">Sign in</a> to comment.</p>");
	} else if (!st.participant) {
		html_lit(b, "<p class=\"mute\">Only the repository's writers may comment here.</p>");
	} else {
		html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
		html_attr(b, issue_action(r, n, "/comments"));
		html_lit(b, "\">");
		page_csrf_field(&p);
		html_lit(b, "<label for=\"comment-body\">Comment <span class=\"mute\">(Markdown)"
			    "</span></label><textarea id=\"comment-body\" name=\"body\">");
		html_textarea(b, web_kept(r, x, "comment", "body", ""));
		html_lit(b, "</textarea><p class=\"row\"><button>Comment</button>");
		if (can_edit && !strcmp(is.state, "open"))
			html_lit(b, "<button class=\"secondary\" name=\"state\" value=\"closed\">"
				    "Close with comment</button>");
		html_lit(b, "</p></form>");
	}
	if (can_edit) {
		bool open = !strcmp(is.state, "open");
		page_form_open(&p, issue_action(r, n, "/state"));
		html_lit(b, open ? "<input type=\"hidden\" name=\"state\" value=\"closed\">"
				   "<button class=\"secondary\">Close issue</button>"
				 : "<input type=\"hidden\" name=\"state\" value=\"open\">"
				   "<button class=\"secondary\">Reopen issue</button>");
		html_lit(b, "</form>");
	}
	html_lit(b, "</div></section></div>");
	if ((rc = sidebar(&p, j, &is, &st, x)))
		return rc;
	html_lit(b, "</div>");
	return page_end(&p);
}

int web_issue_show(struct req *r, struct resp *w)
{
	return issue_page(r, w, req_param(r, "number"), NULL);
}

/* After a form of the issue page: back to it (at anchor), or the page
 * again with the refusal beside form. */
static int issue_done(struct req *r, struct resp *w, int rc, const char *number, const char *form,
		      const char *anchor)
{
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "/%s/%s/issues/%s%s", r->repo->owner,
						     r->repo->name, number, anchor ? anchor : ""));
	const char *msg = web_refusal(r, w, rc);
	if (!msg)
		return rc;
	int status = w->status;
	struct web_refused x = { form, msg };
	rc = issue_page(r, w, number, &x);
	if (!rc && w->status != 303)
		w->status = status;
	return rc;
}

int web_issue_edit(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	struct issue_update in = { .title = web_form(r, "title"), .body = web_form(r, "body") };
	struct issue is;
	if (!in.title)
		in.title = "";
	return issue_done(r, w, issue_update(&is, FORGE(r), r->repo, number, &in), number, "edit",
			  NULL);
}

int web_issue_state(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	const char *state = web_form(r, "state");
	struct issue_update in = { .state = state ? state : "" };
	struct issue is;
	return issue_done(r, w, issue_update(&is, FORGE(r), r->repo, number, &in), number, "state",
			  NULL);
}

int web_issue_comment(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	const char *body = web_form(r, "body"), *state = web_form(r, "state");
	struct forge *f = FORGE(r);
	const char *anchor = NULL;
	int rc = 0;
	bool blank = !body || !body[strspn(body, " \t\r\n")];
	/* "close with comment" with nothing written only closes */
	if (!(state && blank)) {
		json_t *c;
		if (!(rc = comment_create(&c, f, r->repo, number, body ? body : ""))) {
			anchor = arena_printf(r->arena, "#comment-%lld",
					      (long long)json_integer_value(json_object_get(c, "id")));
			json_decref(c);
		}
	}
	if (!rc && state) {
		struct issue_update in = { .state = state };
		struct issue is;
		rc = issue_update(&is, f, r->repo, number, &in);
	}
	return issue_done(r, w, rc, number, "comment", anchor);
}

static int sets_update(struct req *r, struct resp *w, const char *form)
{
	const char *number = req_param(r, "number");
	struct issue_update in = { 0 };
	struct issue is;
	web_issue_sets(r, &in.sets);
	if (!strcmp(form, "milestone") && !in.sets.has_milestone)
		in.sets = (struct issue_sets){ .has_milestone = true, .milestone_none = true };
	return issue_done(r, w, issue_update(&is, FORGE(r), r->repo, number, &in), number, form,
			  NULL);
}

int web_issue_labels(struct req *r, struct resp *w)
{
	return sets_update(r, w, "labels");
}

int web_issue_assignees(struct req *r, struct resp *w)
{
	return sets_update(r, w, "assignees");
}

int web_issue_milestone(struct req *r, struct resp *w)
{
	return sets_update(r, w, "milestone");
}

int web_issue_react(struct req *r, struct resp *w)
{
	const char *number = req_param(r, "number");
	const char *content = web_form(r, "content"), *op = web_form(r, "op");
	struct forge *f = FORGE(r);
	int rc;
	if (!content)
		content = "";
	if (op && !strcmp(op, "remove")) {
		rc = reaction_remove(f, r->repo, number, NULL, content);
	} else {
		json_t *j = NULL;
		bool created;
		rc = reaction_add(&j, &created, f, r->repo, number, NULL, content);
		json_decref(j);
	}
	return issue_done(r, w, rc, number, "reactions", "#issue-body");
}

/* The issue number of comment id, for the page it sits on. */
static int comment_issue(const char **out, struct req *r)
{
	struct comment c;
	int rc = comment_load(&c, FORGE(r), r->repo, req_param(r, "id"), false);
	if (!rc)
		*out = arena_int(r->arena, (long long)c.issue_number);
	return rc;
}

int web_comment_edit(struct req *r, struct resp *w)
{
	const char *number, *body = web_form(r, "body"), *id = req_param(r, "id");
	json_t *j = NULL;
	int rc = comment_issue(&number, r);
	if (rc)
		return rc;
	rc = comment_update(&j, FORGE(r), r->repo, id, body ? body : "");
	json_decref(j);
	return issue_done(r, w, rc, number, arena_printf(r->arena, "comment-%s", id),
			  arena_printf(r->arena, "#comment-%s", id));
}

int web_comment_delete(struct req *r, struct resp *w)
{
	const char *number, *id = req_param(r, "id");
	int rc = comment_issue(&number, r);
	if (rc)
		return rc;
	rc = comment_delete(FORGE(r), r->repo, id);
	return issue_done(r, w, rc, number, arena_printf(r->arena, "comment-%s", id), NULL);
}

int web_comment_react(struct req *r, struct resp *w)
{
	const char *number, *id = req_param(r, "id");
	const char *content = web_form(r, "content"), *op = web_form(r, "op");
	struct forge *f = FORGE(r);
	int rc = comment_issue(&number, r);
	if (rc)
		return rc;
	if (!content)
		content = "";
	if (op && !strcmp(op, "remove")) {
		rc = reaction_remove(f, r->repo, NULL, id, content);
	} else {
		json_t *j = NULL;
		bool created;
		rc = reaction_add(&j, &created, f, r->repo, NULL, id, content);
		json_decref(j);
	}
	return issue_done(r, w, rc, number, arena_printf(r->arena, "comment-%s-reactions", id),
			  arena_printf(r->arena, "#comment-%s", id));
}
