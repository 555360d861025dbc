/* issues.c — the issue list (state tabs with counts, filters in a GET
 * form, cursor pagination), opening an issue, and what the issue pages
 * share (web/issues.h). The issue page itself is issue.c's. A refused
 * form re-renders the page with the status, the message beside the form
 * and the input kept. */
#include "web/issues.h"

#include <string.h>

#include "api/api.h"
#include "api/collab.h"
#include "base/util.h"
#include "forge/labels.h"
#include "forge/milestones.h"

#define LIST_PAGE 30
#define LIST_TAG "issues:created:desc"

/* ---- shared ---- */

void web_repo_href(struct view *p, const char *suffix)
{
	page_repo_url(p->b, p->repo, suffix);
}

static bool hex6(const char *s)
{
	if (!s || strlen(s) != 6)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdefABCDEF", *s))
			return false;
	return true;
}

void web_label_chip(struct view *p, const char *name, const char *color, bool link)
{
	struct buf *b = p->b;
	if (link) {
		html_lit(b, "<a class=\"label\" href=\"");
		web_repo_href(p, "/issues?label=");
		html_query(b, name);
		html_lit(b, "\">");
	} else {
		html_lit(b, "<span class=\"label\">");
	}
	html_lit(b, "<svg class=\"swatch\" width=\"12\" height=\"12\" viewBox=\"0 0 12 12\" "
		    "aria-hidden=\"true\" focusable=\"false\"><circle cx=\"6\" cy=\"6\" r=\"5.5\" "
		    "stroke=\"#555\" fill=\"#");
	html_attr(b, hex6(color) ? color : "ededed");
	html_lit(b, "\"/></svg>");
	html_txt(b, name);
	html_lit(b, link ? "</a>" : "</span>");
}

const char *web_refusal(struct req *r, struct resp *w, int rc)
{
	if (rc != ERR_INVALID && rc != ERR_TOOLARGE && rc != ERR_PERM && rc != ERR_EXISTS &&
	    rc != ERR_CONFLICT)
		return NULL;
	return page_err_take(r, w, rc);
}

struct web_standing web_standing_of(struct req *r)
{
	struct err scratch = { 0 };
	struct forge f = { .db = r->db, .arena = r->arena, .err = &scratch, .who = &r->auth };
	struct web_standing s = { 0 };
	if (!r->auth.user_id)
		return s;
	s.writer = forge_is_writer(&f, r->repo);
	s.participant = forge_can_participate(&f, r->repo) == 0;
	return s;
}

/* A comma-separated text field as a list of trimmed, non-empty names. */
static void split_names(struct req *r, const char *s, const char *const **out, size_t *n)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	const char **v = arena_alloc(r->arena, cap * sizeof(*v));
	*n = 0;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len)
			v[(*n)++] = arena_strndup(r->arena, s, len);
		if (!end)
			break;
		s = end + 1;
	}
	*out = v;
}

/* The repeated checkbox field name as a list. */
static void checked(struct req *r, const char *name, const char *const **out, size_t *n)
{
	const char **v = arena_alloc(r->arena, (r->nform + 1) * sizeof(*v));
	size_t i = 0;
	const char *s;
	*n = 0;
	while ((s = web_form_next(r, name, &i)))
		v[(*n)++] = s;
	*out = v;
}

void web_issue_sets(struct req *r, struct issue_sets *out)
{
	memset(out, 0, sizeof(*out));
	if (web_form(r, "labels_set")) {
		out->has_labels = true;
		checked(r, "label", &out->labels, &out->nlabels);
	}
	const char *a = web_form(r, "assignees");
	if (a) {
		out->has_assignees = true;
		split_names(r, a, &out->assignees, &out->nassignees);
	}
	const char *m = web_form(r, "milestone");
	if (m && *m) {
		out->has_milestone = true;
		out->milestone_none = !strcmp(m, "none");
		if (!out->milestone_none && parse_i64(m, 1, INT64_MAX, &out->milestone))
			out->milestone = -1; /* names no milestone: the domain says so */
	}
}

/* ---- the list ---- */

/* The list's filters as the URL gave them. */
struct list_q {
	const char *state, *label, *milestone, *assignee, *author;
};

static void q_param(struct buf *b, char *sep, const char *name, const char *v)
{
	if (!v || !*v)
		return;
	buf_addch(b, *sep);
	*sep = '&';
	html_lit(b, name);
	html_lit(b, "=");
	html_query(b, v);
}

/* The list's URL with q's filters, state replaced by state (NULL: q's). */
static void list_href(struct view *p, const struct list_q *q, const char *state)
{
	char sep = '?';
	web_repo_href(p, "/issues");
	q_param(p->b, &sep, "state", state ? state : q->state);
	q_param(p->b, &sep, "label", q->label);
	q_param(p->b, &sep, "milestone", q->milestone);
	q_param(p->b, &sep, "assignee", q->assignee);
	q_param(p->b, &sep, "author", q->author);
}

static void state_tab(struct view *p, const struct list_q *q, const char *state, const char *label,
		      long long n)
{
	html_lit(p->b, "<a href=\"");
	list_href(p, q, state);
	html_lit(p->b, "\"");
	if (!strcmp(q->state, state))
		html_lit(p->b, " aria-current=\"page\"");
	html_lit(p->b, ">");
	html_lit(p->b, label);
	html_txtf(p->b, " (%lld)", n);
	html_lit(p->b, "</a>");
}

void web_option(struct view *p, const char *value, const char *text, const char *cur)
{
	html_lit(p->b, "<option value=\"");
	html_attr(p->b, value);
	html_lit(p->b, "\"");
	if (cur && !strcmp(value, cur))
		html_lit(p->b, " selected");
	html_lit(p->b, ">");
	html_plain(p->b, text);
	html_lit(p->b, "</option>");
}

static void text_filter(struct view *p, const char *id, const char *label, const char *v)
{
	html_lit(p->b, "<span><label for=\"f-");
	html_lit(p->b, id);
	html_lit(p->b, "\">");
	html_lit(p->b, label);
	html_lit(p->b, "</label> <input id=\"f-");
	html_lit(p->b, id);
	html_lit(p->b, "\" name=\"");
	html_lit(p->b, id);
	html_lit(p->b, "\" size=\"12\" value=\"");
	html_attr(p->b, v ? v : "");
	html_lit(p->b, "\"></span>");
}

/* The filter form: a GET that works without JavaScript. */
static void filter_form(struct view *p, const struct list_q *q, json_t *labels, json_t *milestones,
			const char *msg)
{
	struct buf *b = p->b;
	html_lit(b, "<form method=\"get\" class=\"filters row\" action=\"");
	web_repo_href(p, "/issues");
	html_lit(b, "\"><input type=\"hidden\" name=\"state\" value=\"");
	html_attr(b, q->state);
	html_lit(b, "\"><span><label for=\"f-label\">Label</label> <select id=\"f-label\" "
		    "name=\"label\"><option value=\"\">any</option>");
	size_t i;
	json_t *v;
	bool found = !q->label || !*q->label;
	json_array_foreach(labels, i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		found = found || !strcmp(n, q->label);
		web_option(p, n, n, q->label);
	}
	if (!found)
		web_option(p, q->label, q->label, q->label);
	html_lit(b, "</select></span><span><label for=\"f-milestone\">Milestone</label> <select "
		    "id=\"f-milestone\" name=\"milestone\"><option value=\"\">any</option>");
	web_option(p, "none", "none", q->milestone);
	found = !q->milestone || !*q->milestone || !strcmp(q->milestone, "none");
	json_array_foreach(milestones, i, v)
	{
		const char *num = arena_int(p->r->arena, (long long)json_integer_value(
								 json_object_get(v, "number")));
		found = found || !strcmp(num, q->milestone);
		web_option(p, num, json_string_value(json_object_get(v, "title")), q->milestone);
	}
	if (!found)
		web_option(p, q->milestone, q->milestone, q->milestone);
	html_lit(b, "</select></span>");
	text_filter(p, "assignee", "Assignee", q->assignee);
	text_filter(p, "author", "Author", q->author);
	html_lit(b, "<button>Filter</button> <a href=\"");
	web_repo_href(p, "/issues");
	html_lit(b, "\">Clear</a></form>");
	page_field_error(p, "filter", msg);
}

static void issue_row(struct view *p, json_t *it)
{
	struct buf *b = p->b;
	long long n = (long long)json_integer_value(json_object_get(it, "number"));
	const char *state = json_string_value(json_object_get(it, "state"));
	html_lit(b, "<li class=\"issue\"><span class=\"badge ");
	html_attr(b, state);
	html_lit(b, "\">");
	html_txt(b, state);
	html_lit(b, "</span> <a class=\"title\" href=\"");
	web_repo_href(p, "/issues/");
	html_txtf(b, "%lld", n);
	html_lit(b, "\">");
	html_txt(b, json_string_value(json_object_get(it, "title")));
	html_lit(b, "</a>");
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(it, "labels"), i, l)
	{
		html_lit(b, " ");
		web_label_chip(p, json_string_value(json_object_get(l, "name")),
			       json_string_value(json_object_get(l, "color")), true);
	}
	html_lit(b, "<div class=\"mute\">");
	html_txtf(b, "#%lld opened ", n);
	page_time(p, json_string_value(json_object_get(it, "created_at")));
	html_lit(b, " by ");
	page_user(p, json_string_value(json_object_get(it, "author")));
	json_t *m = json_object_get(it, "milestone");
	if (json_is_object(m)) {
		html_lit(b, " · milestone ");
		html_txt(b, json_string_value(json_object_get(m, "title")));
	}
	long long c = (long long)json_integer_value(json_object_get(it, "comments"));
	html_txtf(b, " · %lld comment%s", c, c == 1 ? "" : "s");
	html_lit(b, "</div></li>");
}

int web_issues_list(struct req *r, struct resp *w)
{
	struct forge *f = FORGE(r);
	struct list_q q = {
		.state = req_query(r, "state"),
		.label = req_query(r, "label"),
		.milestone = req_query(r, "milestone"),
		.assignee = req_query(r, "assignee"),
		.author = req_query(r, "author"),
	};
	if (!q.state || !*q.state)
		q.state = "open";
	struct issue_query iq = { .state = q.state,
				  .labels = q.label,
				  .assignee = q.assignee,
				  .author = q.author,
				  .milestone = q.milestone,
				  .type = "issues" };
	struct issue_filter filter;
	struct cursor cur;
	struct page pg = { 0 };
	json_t *labels = NULL, *milestones = NULL;
	int64_t open = 0, closed = 0;
	int limit, rc;
	if ((rc = issue_filter_parse(&filter, f, &iq)) ||
	    (rc = collab_page(r, LIST_TAG, LIST_PAGE, &limit, &cur)) ||
	    (rc = labels_list(&labels, f, r->repo)))
		return rc;
	filter.no_html = true; /* the list shows no bodies */
	arena_defer(r->arena, (void (*)(void *))json_decref, labels);
	if ((rc = milestones_list(&milestones, f, r->repo, "all")))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, milestones);
	/* a filter naming no label, user or milestone: the form says so */
	const char *msg = NULL;
	if ((rc = issue_count(&open, &closed, f, r->repo, &filter)) ||
	    (rc = issue_list(&pg, f, r->repo, &filter, limit, &cur))) {
		if (rc != ERR_INVALID)
			return rc;
		msg = web_refusal(r, w, rc);
		pg = (struct page){ 0 };
	}
	if (pg.items)
		arena_defer(r->arena, (void (*)(void *))json_decref, pg.items);

	struct view p;
	page_begin(&p, r, w, arena_printf(r->arena, "Issues · %s/%s", r->repo->owner, r->repo->name),
		   "issues");
	struct buf *b = p.b;
	html_lit(b, "<div class=\"row\"><h2>Issues</h2><span class=\"grow\"></span><a href=\"");
	web_repo_href(&p, "/labels");
	html_lit(b, "\">Labels</a><a href=\"");
	web_repo_href(&p, "/milestones");
	html_lit(b, "\">Milestones</a>");
	if (r->auth.user_id) {
		html_lit(b, "<a class=\"button\" href=\"");
		web_repo_href(&p, "/issues/new");
		html_lit(b, "\">New issue</a>");
	}
	html_lit(b, "</div>");
	filter_form(&p, &q, labels, milestones, msg);
	html_lit(b, "<nav class=\"subtabs\" aria-label=\"issue state\">");
	state_tab(&p, &q, "open", "Open", (long long)open);
	state_tab(&p, &q, "closed", "Closed", (long long)closed);
	html_lit(b, "</nav><ul class=\"list issues\">");
	size_t i;
	json_t *it;
	json_array_foreach(pg.items, i, it) issue_row(&p, it);
	if (!json_array_size(pg.items))
		html_lit(b, "<li class=\"mute\">No issues match.</li>");
	html_lit(b, "</ul>");
	if (pg.next.set) {
		html_lit(b, "<nav class=\"pager\" aria-label=\"pages\"><a rel=\"next\" href=\"");
		list_href(&p, &q, NULL);
		html_lit(b, "&amp;cursor=");
		html_query(b, collab_cursor(r->arena, LIST_TAG, pg.next.key, pg.next.id));
		html_lit(b, "\">Next page</a></nav>");
	}
	return page_end(&p);
}

/* ---- opening an issue ---- */

/* The writer's part of the new-issue form: labels, assignees, milestone. */
static int sets_fields(struct view *p, const struct issue_sets *kept)
{
	struct req *r = p->r;
	struct forge *f = FORGE(r);
	json_t *labels, *milestones;
	int rc;
	if ((rc = labels_list(&labels, f, r->repo)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, labels);
	if ((rc = milestones_list(&milestones, f, r->repo, "open")))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, milestones);
	struct buf *b = p->b;
	size_t i;
	json_t *v;
	html_lit(b, "<input type=\"hidden\" name=\"labels_set\" value=\"1\">");
	if (json_array_size(labels)) {
		html_lit(b, "<fieldset><legend>Labels</legend>");
		json_array_foreach(labels, i, v)
		{
			const char *n = json_string_value(json_object_get(v, "name"));
			bool on = false;
			for (size_t k = 0; kept && k < kept->nlabels; k++)
				on = on || !strcasecmp(kept->labels[k], n);
			html_lit(b,
				 "<span class=\"check\"><input type=\"checkbox\" name=\"label\" id=\"");
			html_txtf(b, "nl-%zu", i);
			html_lit(b, "\" value=\"");
			html_attr(b, n);
			html_lit(b, on ? "\" checked>" : "\">");
			html_lit(b, "<label for=\"");
			html_txtf(b, "nl-%zu", i);
			html_lit(b, "\">");
			web_label_chip(p, n, json_string_value(json_object_get(v, "color")), false);
			html_lit(b, "</label></span> ");
		}
		html_lit(b, "</fieldset>");
	}
	html_lit(b, "<label for=\"assignees\">Assignees <span class=\"mute\">(usernames, "
		    "comma-separated)</span></label><input id=\"assignees\" name=\"assignees\" "
		    "value=\"");
	html_attr(b, p->r->method == HTTP_POST && web_form(r, "assignees") ? web_form(r, "assignees")
									   : "");
	html_lit(b, "\"><label for=\"milestone\">Milestone</label><select id=\"milestone\" "
		    "name=\"milestone\"><option value=\"\">none</option>");
	const char *m = p->r->method == HTTP_POST ? web_form(r, "milestone") : NULL;
	json_array_foreach(milestones, i, v)
	{
		web_option(p,
			   arena_int(r->arena,
				     (long long)json_integer_value(json_object_get(v, "number"))),
			   json_string_value(json_object_get(v, "title")), m);
	}
	html_lit(b, "</select>");
	return 0;
}

/* The domain's message names the field it concerns. */
static const char *field_of(const char *msg)
{
	return strstr(msg, "title")       ? "title"
	       : strstr(msg, "body")      ? "body"
	       : strstr(msg, "label")     ? "labels"
	       : strstr(msg, "user")      ? "assignees"
	       : strstr(msg, "milestone") ? "milestone"
					  : "form";
}

static int new_page(struct req *r, struct resp *w, const char *msg)
{
	struct web_standing st = web_standing_of(r);
	const char *field = msg ? field_of(msg) : "";
	bool posted = r->method == HTTP_POST;
	struct issue_sets kept = { 0 };
	if (posted)
		web_issue_sets(r, &kept);
	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "New issue · %s/%s", r->repo->owner, r->repo->name),
		   "issues");
	struct buf *b = p.b;
	html_lit(b, "<h2>New issue</h2>");
	if (!st.participant) {
		html_lit(b, "<p class=\"notice\">Only the repository's writers may open issues "
			    "here.</p>");
		return page_end(&p);
	}
	html_lit(b, "<form method=\"post\" class=\"stack\" action=\"");
	web_repo_href(&p, "/issues");
	html_lit(b, "\">");
	page_csrf_field(&p);
	if (!strcmp(field, "form") || (!st.writer && strcmp(field, "title") && strcmp(field, "body")))
		page_field_error(&p, "form", msg);
	html_lit(b, "<label for=\"title\">Title</label>");
	if (!strcmp(field, "title"))
		page_field_error(&p, "title", msg);
	html_lit(b, "<input id=\"title\" name=\"title\" required maxlength=\"256\" value=\"");
	html_attr(b, posted && web_form(r, "title") ? web_form(r, "title") : "");
	html_lit(b, "\"><label for=\"body\">Description <span class=\"mute\">(Markdown)</span>"
		    "</label>");
	if (!strcmp(field, "body"))
		page_field_error(&p, "body", msg);
	html_lit(b, "<textarea id=\"body\" name=\"body\">");
	html_textarea(b, posted && web_form(r, "body") ? web_form(r, "body") : "");
	html_lit(b, "</textarea>");
	if (st.writer) {
		if (!strcmp(field, "labels") || !strcmp(field, "assignees") ||
		    !strcmp(field, "milestone"))
			page_field_error(&p, field, msg);
		int rc = sets_fields(&p, posted ? &kept : NULL);
		if (rc)
			return rc;
	}
	html_lit(b, "<p><button>Open issue</button></p></form>");
	return page_end(&p);
}

int web_issue_new(struct req *r, struct resp *w)
{
	return new_page(r, w, NULL);
}

int web_issue_create(struct req *r, struct resp *w)
{
	struct issue_sets sets;
	struct issue is;
	const char *title = web_form(r, "title"), *body = web_form(r, "body");
	web_issue_sets(r, &sets);
	int rc = issue_create(&is, FORGE(r), r->repo, title ? title : "", body ? body : "", &sets);
	if (rc) {
		const char *msg = web_refusal(r, w, rc);
		return msg ? new_page(r, w, msg) : rc;
	}
	return page_redirect(w, arena_printf(r->arena, "/%s/%s/issues/%lld", r->repo->owner,
					     r->repo->name, (long long)is.number));
}
