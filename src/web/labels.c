/* labels.c — a repository's labels and milestones pages: the lists, each
 * linking to the issues it filters, and for the writers of its issues
 * (AREA_ISSUES) the forms to create, edit and delete. A refused form
 * re-renders the page with the status, the message beside the form and
 * the input kept. The rules are forge/labels.h's and milestones.h's. */
#include "web/issues.h"

#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "forge/labels.h"
#include "forge/milestones.h"

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* May the caller change labels and milestones? (the routes' W_ISSUES) */
static bool may_write(struct req *r)
{
	struct err scratch = { 0 };
	return r->auth.user_id &&
	       !authz_repo_area(&r->auth, r->repo, ACT_WRITE, AREA_ISSUES, &scratch);
}

static void text_input(struct view *p, const char *id, const char *name, const char *label,
		       const char *value, const char *extra)
{
	html_lit(p->b, "<label for=\"");
	html_attr(p->b, id);
	html_lit(p->b, "\">");
	html_lit(p->b, label);
	html_lit(p->b, "</label><input id=\"");
	html_attr(p->b, id);
	html_lit(p->b, "\" name=\"");
	html_lit(p->b, name);
	html_lit(p->b, "\" ");
	html_lit(p->b, extra);
	html_lit(p->b, " value=\"");
	html_attr(p->b, value);
	html_lit(p->b, "\">");
}

/* The fields of a label form; id prefixes the controls' ids. */
static void label_fields(struct view *p, const struct web_refused *x, const char *form,
			 const char *id, const char *name, const char *color, const char *desc)
{
	struct req *r = p->r;
	text_input(p, arena_printf(r->arena, "%s-name", id), "name", "Name",
		   web_kept(r, x, form, "name", name), "required maxlength=\"50\"");
	/* a colour picker that still submits #rrggbb without JavaScript */
	const char *c = web_kept(r, x, form, "color", color);
	text_input(p, arena_printf(r->arena, "%s-color", id), "color", "Colour",
		   *c == '#' ? c : arena_printf(r->arena, "#%s", c), "type=\"color\"");
	text_input(p, arena_printf(r->arena, "%s-description", id), "description", "Description",
		   web_kept(r, x, form, "description", desc), "maxlength=\"200\"");
}

static int labels_page(struct req *r, struct resp *w, const struct web_refused *x)
{
	json_t *labels;
	int rc = labels_list(&labels, FORGE(r), r->repo);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, labels);
	bool writer = may_write(r);
	struct view p;
	page_begin(&p, r, w, arena_printf(r->arena, "Labels · %s/%s", r->repo->owner, r->repo->name),
		   "issues");
	struct buf *b = p.b;
	html_lit(b, "<h2>Labels</h2>");
	if (writer) {
		html_lit(b, web_refused(x, "new") ? "<details open>" : "<details>");
		html_lit(b, "<summary>New label</summary><form method=\"post\" class=\"stack\" "
			    "action=\"");
		web_repo_href(&p, "/labels");
		html_lit(b, "\">");
		page_csrf_field(&p);
		if (web_refused(x, "new"))
			page_field_error(&p, "new", x->msg);
		label_fields(&p, x, "new", "new", "", "#ededed", "");
		html_lit(b, "<p><button>Create label</button></p></form></details>");
	}
	if (x && strncmp(x->form, "edit-", 5) && strcmp(x->form, "new"))
		page_field_error(&p, "labels", x->msg);
	html_lit(b, "<table class=\"labels\"><thead><tr><th scope=\"col\">Label</th>"
		    "<th scope=\"col\">Description</th><th scope=\"col\">Issues</th>");
	if (writer)
		html_lit(b, "<th scope=\"col\">Change</th>");
	html_lit(b, "</tr></thead><tbody>");
	size_t i;
	json_t *l;
	json_array_foreach(labels, i, l)
	{
		const char *name = str(l, "name");
		const char *form = arena_printf(r->arena, "edit-%zu", i);
		html_lit(b, "<tr><td>");
		web_label_chip(&p, name, str(l, "color"), true);
		html_lit(b, "</td><td>");
		html_txt(b, str(l, "description"));
		html_lit(b, "</td><td><a href=\"");
		web_repo_href(&p, "/issues?label=");
		html_query(b, name);
		html_lit(b, "\">");
		html_txtf(b, "%lld open",
			  (long long)json_integer_value(json_object_get(l, "open_issues")));
		html_lit(b, "</a> · <a href=\"");
		web_repo_href(&p, "/issues?state=closed&amp;label=");
		html_query(b, name);
		html_lit(b, "\">");
		html_txtf(b, "%lld closed",
			  (long long)json_integer_value(json_object_get(l, "closed_issues")));
		html_lit(b, "</a></td>");
		if (writer) {
			html_lit(b, "<td>");
			html_lit(b, web_refused(x, form) ? "<details open>" : "<details>");
			html_lit(b, "<summary>Edit</summary><form method=\"post\" class=\"stack\" "
				    "action=\"");
			web_repo_href(&p, "/labels/edit");
			html_lit(b, "\">");
			page_csrf_field(&p);
			if (web_refused(x, form))
				page_field_error(&p, form, x->msg);
			html_lit(b, "<input type=\"hidden\" name=\"label\" value=\"");
			html_attr(b, name);
			html_lit(b, "\"><input type=\"hidden\" name=\"row\" value=\"");
			html_txtf(b, "%zu", i);
			html_lit(b, "\">");
			label_fields(&p, x, form, arena_printf(r->arena, "l%zu", i), name,
				     str(l, "color"), str(l, "description"));
			html_lit(b, "<p><button>Save label</button></p></form></details><form "
				    "method=\"post\" class=\"inline\" action=\"");
			web_repo_href(&p, "/labels/delete");
			html_lit(b, "\">");
			page_csrf_field(&p);
			html_lit(b, "<input type=\"hidden\" name=\"label\" value=\"");
			html_attr(b, name);
			html_lit(b, "\"><button class=\"danger\">Delete</button></form></td>");
		}
		html_lit(b, "</tr>");
	}
	if (!json_array_size(labels))
		html_lit(b, "<tr><td colspan=\"4\" class=\"mute\">No labels yet.</td></tr>");
	html_lit(b, "</tbody></table>");
	return page_end(&p);
}

int web_labels(struct req *r, struct resp *w)
{
	return labels_page(r, w, NULL);
}

/* Back to the list, or the list again with the refusal beside form. */
static int done(struct req *r, struct resp *w, int rc, const char *form, const char *list,
		int (*page)(struct req *, struct resp *, const struct web_refused *))
{
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "/%s/%s/%s", r->repo->owner,
						     r->repo->name, list));
	const char *msg = web_refusal(r, w, rc);
	if (!msg)
		return rc;
	struct web_refused x = { form, msg };
	return page(r, w, &x);
}

/* The label fields of the posted form (empty: unchanged on edit). */
static struct label_fields posted_label(struct req *r, bool create)
{
	struct label_fields in = { .name = web_form(r, "name"),
				   .color = web_form(r, "color"),
				   .description = web_form(r, "description") };
	if (!create && in.name && !*in.name)
		in.name = NULL;
	if (in.color && !*in.color)
		in.color = NULL;
	if (create && !in.name)
		in.name = "";
	return in;
}

/* label_create / label_update as the API calls them: the name checked
 * first (label_name_check), then the colour (label_color_check). */
static int check_label(struct req *r, struct label_fields *in)
{
	int rc;
	if (in->name && (rc = label_name_check(&in->name, FORGE(r), in->name)))
		return rc;
	if (in->color && (rc = label_color_check(&in->color, FORGE(r), in->color)))
		return rc;
	if (in->description && strlen(in->description) > LABEL_DESC_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'description' is longer than %d bytes", LABEL_DESC_MAX);
	return 0;
}

int web_label_create(struct req *r, struct resp *w)
{
	struct label_fields in = posted_label(r, true);
	json_t *j = NULL;
	int rc = check_label(r, &in);
	if (!rc)
		rc = label_create(&j, FORGE(r), r->repo, &in);
	json_decref(j);
	return done(r, w, rc, "new", "labels", labels_page);
}

int web_label_edit(struct req *r, struct resp *w)
{
	struct label_fields in = posted_label(r, false);
	const char *label = web_form(r, "label"), *row = web_form(r, "row");
	json_t *j = NULL;
	int rc = check_label(r, &in);
	if (!rc)
		rc = label_update(&j, FORGE(r), r->repo, label ? label : "", &in);
	json_decref(j);
	return done(r, w, rc, arena_printf(r->arena, "edit-%s", row ? row : ""), "labels",
		    labels_page);
}

int web_label_delete(struct req *r, struct resp *w)
{
	const char *label = web_form(r, "label");
	return done(r, w, label_delete(FORGE(r), r->repo, label ? label : ""), "delete", "labels",
		    labels_page);
}

/* ---- milestones ---- */

static void milestone_fields(struct view *p, const struct web_refused *x, const char *form,
			     const char *id, json_t *m)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	text_input(p, arena_printf(r->arena, "%s-title", id), "title", "Title",
		   web_kept(r, x, form, "title", str(m, "title")), "required maxlength=\"256\"");
	text_input(p, arena_printf(r->arena, "%s-due", id), "due_on", "Due date",
		   web_kept(r, x, form, "due_on", str(m, "due_on")), "type=\"date\"");
	html_lit(b, "<label for=\"");
	html_attr(b, id);
	html_lit(b, "-description\">Description <span class=\"mute\">(Markdown)</span></label>"
		    "<textarea name=\"description\" id=\"");
	html_attr(b, id);
	html_lit(b, "-description\">");
	html_textarea(b, web_kept(r, x, form, "description", str(m, "description")));
	html_lit(b, "</textarea>");
	if (m) {
		const char *st = web_kept(r, x, form, "state", str(m, "state"));
		html_lit(b, "<label for=\"");
		html_attr(b, id);
		html_lit(b, "-state\">State</label><select name=\"state\" id=\"");
		html_attr(b, id);
		html_lit(b, "-state\"><option value=\"open\"");
		html_lit(b, strcmp(st, "closed") ? " selected" : "");
		html_lit(b, ">open</option><option value=\"closed\"");
		html_lit(b, strcmp(st, "closed") ? "" : " selected");
		html_lit(b, ">closed</option></select>");
	}
}

static int milestones_page(struct req *r, struct resp *w, const struct web_refused *x)
{
	const char *state = req_query(r, "state");
	if (!state || strcmp(state, "closed"))
		state = "open";
	json_t *list;
	int rc = milestones_list(&list, FORGE(r), r->repo, state);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	bool writer = may_write(r);
	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "Milestones · %s/%s", r->repo->owner, r->repo->name),
		   "issues");
	struct buf *b = p.b;
	html_lit(b, "<h2>Milestones</h2>");
	if (writer) {
		html_lit(b, web_refused(x, "new") ? "<details open>" : "<details>");
		html_lit(b, "<summary>New milestone</summary><form method=\"post\" class=\"stack\" "
			    "action=\"");
		web_repo_href(&p, "/milestones");
		html_lit(b, "\">");
		page_csrf_field(&p);
		if (web_refused(x, "new"))
			page_field_error(&p, "new", x->msg);
		milestone_fields(&p, x, "new", "new", NULL);
		html_lit(b, "<p><button>Create milestone</button></p></form></details>");
	}
	if (x && strncmp(x->form, "edit-", 5) && strcmp(x->form, "new"))
		page_field_error(&p, "milestones", x->msg);
	struct page_tab t[] = {
		{ page_repo_path(r, r->repo, "/milestones"), "Open", !strcmp(state, "open") },
		{ page_repo_path(r, r->repo, "/milestones?state=closed"), "Closed",
		  !strcmp(state, "closed") },
	};
	page_subnav(&p, "subtabs", "milestone state", t, 2);
	html_lit(b, "<ul class=\"list milestones\">");
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m)
	{
		long long n = (long long)json_integer_value(json_object_get(m, "number"));
		long long open = (long long)json_integer_value(json_object_get(m, "open_issues"));
		long long closed = (long long)json_integer_value(json_object_get(m, "closed_issues"));
		const char *form = arena_printf(r->arena, "edit-%lld", n);
		html_lit(b, "<li id=\"milestone-");
		html_txtf(b, "%lld", n);
		html_lit(b, "\"><h3><a href=\"");
		web_repo_href(&p, "/issues?milestone=");
		html_txtf(b, "%lld", n);
		html_lit(b, "\">");
		html_txt(b, str(m, "title"));
		html_lit(b, "</a></h3><p class=\"mute\">");
		if (json_is_string(json_object_get(m, "due_on"))) {
			html_lit(b, "Due ");
			html_txt(b, str(m, "due_on"));
			html_lit(b, " · ");
		}
		html_txtf(b, "%lld open · %lld closed", open, closed);
		if (open + closed)
			html_txtf(b, " · %lld%% complete", closed * 100 / (open + closed));
		html_lit(b, "</p>");
		if (*str(m, "description"))
			page_markdown(&p, str(m, "description"));
		if (writer) {
			html_lit(b, web_refused(x, form) ? "<details open>" : "<details>");
			html_lit(b, "<summary>Edit</summary><form method=\"post\" class=\"stack\" "
				    "action=\"");
			web_repo_href(&p, "/milestones/");
			html_txtf(b, "%lld", n);
			html_lit(b, "\">");
			page_csrf_field(&p);
			if (web_refused(x, form))
				page_field_error(&p, form, x->msg);
			milestone_fields(&p, x, form, arena_printf(r->arena, "m%lld", n), m);
			html_lit(b, "<p><button>Save milestone</button></p></form></details><form "
				    "method=\"post\" class=\"inline\" action=\"");
			web_repo_href(&p, "/milestones/");
			html_txtf(b, "%lld", n);
			html_lit(b, "/delete\">");
			page_csrf_field(&p);
			html_lit(b, "<button class=\"danger\">Delete</button></form>");
		}
		html_lit(b, "</li>");
	}
	if (!json_array_size(list))
		html_lit(b, "<li class=\"mute\">No milestones here.</li>");
	html_lit(b, "</ul>");
	return page_end(&p);
}

int web_milestones(struct req *r, struct resp *w)
{
	return milestones_page(r, w, NULL);
}

/* The milestone fields of the posted form; the due date checked. */
static int posted_milestone(struct req *r, struct milestone_fields *out, bool create)
{
	*out = (struct milestone_fields){ .title = web_form(r, "title"),
					  .description = web_form(r, "description"),
					  .state = web_form(r, "state") };
	const char *due = web_form(r, "due_on");
	if (create && !out->title)
		out->title = "";
	if (out->state && !*out->state)
		out->state = NULL;
	if (out->state && forge_state_check(FORGE(r), out->state))
		return r->err.code;
	if (due) {
		out->due_set = create ? *due != '\0' : true;
		if (*due && milestone_due_check(&out->due, FORGE(r), due))
			return r->err.code;
	}
	if (out->description && strlen(out->description) > MILESTONE_DESC_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field 'description' is longer than %d bytes", MILESTONE_DESC_MAX);
	if (out->title) {
		const char *t;
		int rc = forge_title_check(&t, FORGE(r), "title", out->title);
		if (rc)
			return rc;
		out->title = t;
	}
	return 0;
}

int web_milestone_create(struct req *r, struct resp *w)
{
	struct milestone_fields in;
	json_t *j = NULL;
	int rc = posted_milestone(r, &in, true);
	if (!rc)
		rc = milestone_create(&j, FORGE(r), r->repo, &in);
	json_decref(j);
	return done(r, w, rc, "new", "milestones", milestones_page);
}

int web_milestone_edit(struct req *r, struct resp *w)
{
	struct milestone_fields in;
	const char *number = req_param(r, "number");
	json_t *j = NULL;
	int rc = posted_milestone(r, &in, false);
	if (!rc)
		rc = milestone_update(&j, FORGE(r), r->repo, number, &in);
	json_decref(j);
	return done(r, w, rc, arena_printf(r->arena, "edit-%s", number), "milestones",
		    milestones_page);
}

int web_milestone_delete(struct req *r, struct resp *w)
{
	return done(r, w, milestone_delete(FORGE(r), r->repo, req_param(r, "number")), "delete",
		    "milestones", milestones_page);
}
