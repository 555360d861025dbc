/* repo_settings.c — a repository's settings pages (web/settings.h):
 * general settings and deletion, collaborators, branch protection and
 * secrets (webhooks: web/repo_hooks.c). The routes need the admin role (ROUTE_ADMIN); the domain
 * checks it again and holds every rule (forge/forge.h,
 * forge/protection.h, forge/secrets.h). */
#include "web/settings.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/util.h"
#include "forge/protection.h"
#include "forge/secrets.h"
#include "queue/secrets.h"

#define BRANCHES_MAX 500

const char *settings_url(struct req *r, const char *suffix)
{
	return page_repo_path(r, r->repo, arena_printf(r->arena, "/settings%s", suffix));
}

void repo_settings_begin(struct view *p, struct req *r, struct resp *w, const char *cur,
			 const char *title)
{
	static const char *const pages[][2] = {
		{ "", "General" },
		{ "/collaborators", "Collaborators" },
		{ "/branches", "Branch protection" },
		{ "/secrets", "Secrets" },
		{ "/hooks", "Webhooks" },
	};
	page_begin(p, r, w, title, "settings");
	struct buf *b = p->b;
	struct page_tab t[5];
	for (size_t i = 0; i < 5; i++)
		t[i] = (struct page_tab){ settings_url(r, pages[i][0]), pages[i][1],
					  !strcmp(cur, pages[i][0]) };
	page_subnav(p, "tabs subnav", "settings", t, 5);
	html_lit(b, "<h2>");
	html_txt(b, title);
	html_lit(b, "</h2>");
}

void settings_form_open(struct view *p, const char *action, const char *cls)
{
	html_lit(p->b, "<form method=\"post\" class=\"");
	html_lit(p->b, cls);
	html_lit(p->b, "\" action=\"");
	html_attr(p->b, action);
	html_lit(p->b, "\">");
	page_csrf_field(p);
}

/* ---- general: description, visibility, default branch; deletion ---- */

static int general_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	struct repo *rp = r->repo;
	const char **branches;
	size_t nb;
	int rc = repo_branch_names(&branches, &nb, FORGE(r), rp, BRANCHES_MAX);
	if (rc)
		return rc;
	bool post = r->method == HTTP_POST && field && strcmp(field, "confirm");
	const char *desc = post ? web_form(r, "description") : rp->description;
	const char *branch = post ? web_form(r, "default_branch") : rp->default_branch;
	const char *vis = post ? web_form(r, "visibility") : NULL;
	bool priv = vis ? !strcmp(vis, "private") : rp->is_private;
	bool issues_open = post ? web_form(r, "issues_open") != NULL : rp->issues_open;
	struct view p;
	repo_settings_begin(&p, r, w, "", "General");
	struct buf *b = p.b;
	settings_saved_notice(&p, "The settings were saved.");
	settings_form_open(&p, settings_url(r, ""), "stack");
	html_lit(b, "<label for=\"description\">Description</label>");
	if (field && !strcmp(field, "description"))
		page_field_error(&p, "description", msg);
	html_lit(b, "<input id=\"description\" name=\"description\" maxlength=\"1000\" value=\"");
	html_attr(b, desc ? desc : "");
	html_lit(b, "\"><label for=\"default_branch\">Default branch</label>");
	if (field && !strcmp(field, "default_branch"))
		page_field_error(&p, "default_branch", msg);
	html_lit(b, "<select id=\"default_branch\" name=\"default_branch\">");
	bool listed = false;
	for (size_t i = 0; i < nb; i++) {
		bool sel = branch && !strcmp(branch, branches[i]);
		listed = listed || sel;
		html_lit(b, "<option value=\"");
		html_attr(b, branches[i]);
		html_lit(b, sel ? "\" selected>" : "\">");
		html_txt(b, branches[i]);
		html_lit(b, "</option>");
	}
	if (!listed && branch) {
		/* a default branch nothing was pushed to yet */
		html_lit(b, "<option selected value=\"");
		html_attr(b, branch);
		html_lit(b, "\">");
		html_txt(b, branch);
		html_lit(b, "</option>");
	}
	html_lit(b, "</select><fieldset><legend>Visibility</legend><input type=\"radio\" "
		    "id=\"vis-public\" name=\"visibility\" value=\"public\"");
	if (!priv)
		html_lit(b, " checked");
	html_lit(b, "> <label class=\"plain\" for=\"vis-public\">Public: anyone can read it</label>"
		    "<br><input type=\"radio\" id=\"vis-private\" name=\"visibility\" "
		    "value=\"private\"");
	if (priv)
		html_lit(b, " checked");
	html_lit(b, "> <label class=\"plain\" for=\"vis-private\">Private: only collaborators "
		    "can see it</label></fieldset><p><input type=\"checkbox\" id=\"issues_open\" "
		    "name=\"issues_open\" value=\"1\"");
	if (issues_open)
		html_lit(b, " checked");
	html_lit(b, "> <label class=\"plain\" for=\"issues_open\">Readers may open issues and "
		    "comment</label></p><p><button>Save settings</button></p></form>"
		    "<h2 id=\"danger\">Delete this repository</h2><div class=\"box danger-zone\">"
		    "<div class=\"body\"><p>Deleting removes the repository, its issues, pull "
		    "requests, runs and secrets for good.</p>");
	settings_form_open(&p, settings_url(r, "/delete"), "stack");
	const char *full = arena_printf(r->arena, "%s/%s", rp->owner, rp->name);
	html_lit(b, "<label for=\"confirm\">Type <code>");
	html_txt(b, full);
	html_lit(b, "</code> to confirm</label>");
	if (field && !strcmp(field, "confirm"))
		page_field_error(&p, "confirm", msg);
	html_lit(b, "<input id=\"confirm\" name=\"confirm\" autocomplete=\"off\" required value=\"");
	html_attr(b, field && !strcmp(field, "confirm") ? web_form(r, "confirm") : "");
	html_lit(b, "\"><p><button class=\"danger\">Delete this repository</button></p></form>"
		    "</div></div>");
	return page_end(&p);
}

int web_repo_settings(struct req *r, struct resp *w)
{
	return general_page(r, w, NULL, NULL);
}

int web_repo_settings_save(struct req *r, struct resp *w)
{
	struct repo_update in = { 0 };
	const char *vis;
	int rc;
	bool priv = r->repo->is_private, issues_open = web_form(r, "issues_open") != NULL;
	if (!(rc = settings_field(&in.description, r, "description", 1000, false)) &&
	    !(rc = settings_field(&in.default_branch, r, "default_branch", 200, false)) &&
	    !(rc = settings_field(&vis, r, "visibility", 20, false))) {
		if (vis)
			priv = !strcmp(vis, "private");
		in.is_private = &priv;
		in.issues_open = &issues_open;
		rc = repo_update(FORGE(r), r->repo, &in);
	}
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1", settings_url(r, "")));
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return general_page(r, w, strstr(msg, "branch") ? "default_branch" : "description", msg);
}

int web_repo_delete(struct req *r, struct resp *w)
{
	const char *full = arena_printf(r->arena, "%s/%s", r->repo->owner, r->repo->name);
	const char *typed = web_form(r, "confirm");
	if (!typed || strcmp(typed, full)) {
		w->status = 400;
		return general_page(r, w, "confirm",
				    arena_printf(r->arena,
						 "type '%s' exactly to delete the repository; nothing "
						 "was deleted",
						 full));
	}
	int rc = repo_delete(FORGE(r), r->repo);
	if (rc)
		return rc;
	return page_redirect(w, "/");
}

/* ---- collaborators ---- */

static const char *const roles[] = { "read", "write", "admin" };

static void role_select(struct buf *b, const char *id, const char *cur)
{
	html_lit(b, "<select name=\"role\" id=\"");
	html_attr(b, id);
	html_lit(b, "\">");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		html_lit(b, "<option value=\"");
		html_lit(b, roles[i]);
		html_lit(b, cur && !strcmp(cur, roles[i]) ? "\" selected>" : "\">");
		html_lit(b, roles[i]);
		html_lit(b, "</option>");
	}
	html_lit(b, "</select>");
}

static int collab_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	json_t *list;
	int rc = repo_collab_list(&list, FORGE(r), r->repo);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	repo_settings_begin(&p, r, w, "/collaborators", "Collaborators");
	struct buf *b = p.b;
	settings_saved_notice(&p, "The collaborators were changed.");
	if (field && !strcmp(field, "list"))
		page_field_error(&p, "list", msg);
	html_lit(b, "<p><strong>read</strong>: see a private repository and take part in its "
		    "issues; <strong>write</strong>: push and merge; <strong>admin</strong>: "
		    "these settings too. The owner, ");
	page_user(&p, r->repo->owner);
	html_lit(b, ", can do everything.</p>");
	page_table_open(&p, "Who has access", (const char *const[]){ "User", "Role", "", NULL });
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *user = json_string_value(json_object_get(c, "username"));
		const char *role = json_string_value(json_object_get(c, "role"));
		struct buf u = BUF_INIT;
		buf_adds(&u, settings_url(r, "/collaborators/"));
		html_path(&u, user, 0);
		const char *id = arena_printf(r->arena, "role-%zu", i);
		html_lit(b, "<tr><td>");
		page_user(&p, user);
		html_lit(b, "</td><td>");
		settings_form_open(&p, u.ptr, "inline");
		html_lit(b, "<label class=\"sr\" for=\"");
		html_attr(b, id);
		html_lit(b, "\">Role of ");
		html_txt(b, user);
		html_lit(b, "</label>");
		role_select(b, id, role);
		html_lit(b, " <button class=\"secondary\">Change role</button></form></td><td>");
		buf_adds(&u, "/delete");
		settings_form_open(&p, u.ptr, "inline");
		html_lit(b, "<button class=\"danger\" aria-label=\"Remove ");
		html_attr(b, user);
		html_lit(b, "\">Remove</button></form></td></tr>");
		buf_release(&u);
	}
	if (!json_array_size(list))
		html_lit(b, "<tr><td colspan=\"3\" class=\"mute\">No collaborators yet.</td></tr>");
	html_lit(b, "</tbody></table><h3>Add a collaborator</h3>");
	settings_form_open(&p, settings_url(r, "/collaborators"), "stack");
	bool add = field && !strcmp(field, "username");
	html_lit(b, "<label for=\"username\">Username</label>");
	if (add)
		page_field_error(&p, "username", msg);
	html_lit(b, "<input id=\"username\" name=\"username\" required maxlength=\"100\" "
		    "autocomplete=\"off\" value=\"");
	html_attr(b, add && web_form(r, "username") ? web_form(r, "username") : "");
	html_lit(b, "\"><label for=\"new-role\">Role</label>");
	role_select(b, "new-role", add ? web_form(r, "role") : "read");
	html_lit(b, "<p><button>Add collaborator</button></p></form>");
	return page_end(&p);
}

int web_collaborators(struct req *r, struct resp *w)
{
	return collab_page(r, w, NULL, NULL);
}

static int collab_done(struct req *r, struct resp *w, int rc, const char *field)
{
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/collaborators")));
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return collab_page(r, w, field, msg);
}

int web_collaborator_add(struct req *r, struct resp *w)
{
	const char *user, *role, *name;
	int rc;
	if (!(rc = settings_field(&user, r, "username", 100, true)) &&
	    !(rc = settings_field(&role, r, "role", 10, true)))
		rc = repo_collab_put(&name, FORGE(r), r->repo, user, role);
	return collab_done(r, w, rc, "username");
}

int web_collaborator_role(struct req *r, struct resp *w)
{
	const char *role, *name;
	int rc;
	if (!(rc = settings_field(&role, r, "role", 10, true)))
		rc = repo_collab_put(&name, FORGE(r), r->repo, req_param(r, "user"), role);
	return collab_done(r, w, rc, "list");
}

int web_collaborator_remove(struct req *r, struct resp *w)
{
	return collab_done(r, w, repo_collab_delete(FORGE(r), r->repo, req_param(r, "user")), "list");
}

/* ---- branch protection ---- */

void settings_checkbox(struct buf *b, const char *id, bool on, const char *label)
{
	html_lit(b, "<input type=\"checkbox\" value=\"1\" id=\"");
	html_lit(b, id);
	html_lit(b, "\" name=\"");
	html_lit(b, id);
	html_lit(b, on ? "\" checked> <label class=\"plain\" for=\""
		       : "\"> <label class=\"plain\" "
			 "for=\"");
	html_lit(b, id);
	html_lit(b, "\">");
	html_lit(b, label);
	html_lit(b, "</label><br>");
}

/* A rule's contexts as text: joined by sep (", " in the list, a line each
 * in the form). */
static const char *contexts_text(struct arena *a, json_t *arr, const char *sep)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c) buf_addf(&b, "%s%s", i ? sep : "", json_string_value(c));
	const char *s = arena_strdup(a, b.ptr);
	buf_release(&b);
	return s;
}

static int protection_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	json_t *list, *edit = NULL;
	const char *want = req_query(r, "pattern");
	int rc = protection_rules_list(&list, FORGE(r), r->repo);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	repo_settings_begin(&p, r, w, "/branches", "Branch protection");
	struct buf *b = p.b;
	settings_saved_notice(&p, "The rules were saved.");
	if (field && !strcmp(field, "list"))
		page_field_error(&p, "list", msg);
	html_lit(b, "<p>Rules bind every push and merge to the branches their pattern matches "
		    "(<code>*</code> within a path segment, <code>**</code> across them).</p>");
	page_table_open(&p, "Rules", (const char *const[]){ "Pattern", "Rules", "", NULL });
	size_t i;
	json_t *rule;
	json_array_foreach(list, i, rule)
	{
		const char *pat = json_string_value(json_object_get(rule, "pattern"));
		if (want && !strcmp(want, pat))
			edit = rule;
		html_lit(b, "<tr><td><code>");
		html_txt(b, pat);
		html_lit(b, "</code></td><td>");
		struct buf d = BUF_INIT;
		if (json_is_true(json_object_get(rule, "no_force_push")))
			buf_adds(&d, "no force push; ");
		if (json_is_true(json_object_get(rule, "no_deletion")))
			buf_adds(&d, "no deletion; ");
		long long ap = json_integer_value(json_object_get(rule, "required_approvals"));
		if (ap)
			buf_addf(&d, "%lld approving review%s; ", ap, ap == 1 ? "" : "s");
		if (json_is_true(json_object_get(rule, "require_passing_statuses")))
			buf_adds(&d, "passing statuses; ");
		json_t *ctx = json_object_get(rule, "required_status_contexts");
		if (json_array_size(ctx))
			buf_addf(&d, "required checks: %s; ",
				 contexts_text(r->arena, ctx, ", ")); /* escaped below */
		if (d.len >= 2)
			d.ptr[d.len - 2] = '\0';
		html_txt(b, d.len ? d.ptr : "none");
		buf_release(&d);
		html_lit(b, "</td><td><a href=\"");
		html_attr(b, settings_url(r, "/branches"));
		html_lit(b, "?pattern=");
		html_query(b, pat);
		html_lit(b, "#rule\" aria-label=\"Edit rule ");
		html_attr(b, pat);
		html_lit(b, "\">Edit</a> ");
		settings_form_open(&p, settings_url(r, "/branches/delete"), "inline");
		html_lit(b, "<input type=\"hidden\" name=\"pattern\" value=\"");
		html_attr(b, pat);
		html_lit(b, "\"><button class=\"danger\" aria-label=\"Delete rule ");
		html_attr(b, pat);
		html_lit(b, "\">Delete</button></form></td></tr>");
	}
	if (!json_array_size(list))
		html_lit(b, "<tr><td colspan=\"3\" class=\"mute\">No rules yet.</td></tr>");
	html_lit(b, "</tbody></table><h3 id=\"rule\">");
	html_lit(b, edit ? "Edit the rule" : "Add a rule");
	html_lit(b, "</h3>");
	bool post = r->method == HTTP_POST && field && strcmp(field, "list");
	const char *pattern = post ? web_form(r, "pattern") : edit ? want : "";
	bool nfp = post   ? web_form(r, "no_force_push") != NULL
		   : edit ? json_is_true(json_object_get(edit, "no_force_push"))
			  : true;
	bool nd = post   ? web_form(r, "no_deletion") != NULL
		  : edit ? json_is_true(json_object_get(edit, "no_deletion"))
			 : true;
	bool rps = post ? web_form(r, "require_passing_statuses") != NULL
			: edit && json_is_true(json_object_get(edit, "require_passing_statuses"));
	const char *ap = post   ? web_form(r, "required_approvals")
			 : edit ? arena_printf(r->arena, "%lld",
					       (long long)json_integer_value(
						       json_object_get(edit, "required_approvals")))
				: "0";
	const char *ctx = post   ? web_form(r, "contexts")
			  : edit ? contexts_text(r->arena,
						 json_object_get(edit, "required_status_contexts"),
						 "\n")
				 : "";
	settings_form_open(&p, settings_url(r, "/branches"), "stack");
	if (field && !strcmp(field, "rule"))
		page_field_error(&p, "rule", msg);
	html_lit(b, "<label for=\"pattern\">Branch pattern</label>");
	if (field && !strcmp(field, "pattern"))
		page_field_error(&p, "pattern", msg);
	html_lit(b, "<input id=\"pattern\" name=\"pattern\" required maxlength=\"255\" "
		    "autocomplete=\"off\" value=\"");
	html_attr(b, pattern ? pattern : "");
	html_lit(b, "\"><fieldset><legend>Rules</legend>");
	settings_checkbox(b, "no_force_push", nfp, "Refuse force pushes");
	settings_checkbox(b, "no_deletion", nd, "Refuse deleting the branch");
	settings_checkbox(b, "require_passing_statuses", rps,
			  "Require every commit status of the head to pass before merging");
	html_lit(b, "</fieldset><label for=\"required_approvals\">Approving reviews required "
		    "before merging</label>");
	if (field && !strcmp(field, "required_approvals"))
		page_field_error(&p, "required_approvals", msg);
	html_lit(b, "<input id=\"required_approvals\" name=\"required_approvals\" "
		    "type=\"number\" min=\"0\" value=\"");
	html_attr(b, ap ? ap : "0");
	html_lit(b, "\"><label for=\"contexts\">Required status checks <span class=\"mute\">(one "
		    "context per line)</span></label>");
	if (field && !strcmp(field, "contexts"))
		page_field_error(&p, "contexts", msg);
	html_lit(b, "<textarea id=\"contexts\" name=\"contexts\" class=\"mono\" "
		    "spellcheck=\"false\">");
	settings_textarea(b, ctx);
	html_lit(b, "</textarea><p><button>Save rule</button></p></form>");
	return page_end(&p);
}

int web_protections(struct req *r, struct resp *w)
{
	return protection_page(r, w, NULL, NULL);
}

/* The contexts textarea: one per line, blank lines skipped (arena). */
static void contexts_parse(struct req *r, const char *text, const char *const **out, size_t *n)
{
	size_t cap = 1;
	for (const char *s = text; *s; s++)
		cap += *s == '\n';
	const char **v = arena_alloc(r->arena, (cap + 1) * sizeof(*v));
	*n = 0;
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n'), *end = nl ? nl : s + strlen(s);
		const char *e = end;
		while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (e > s)
			v[(*n)++] = arena_strndup(r->arena, s, (size_t)(e - s));
		s = nl ? nl + 1 : end;
	}
	*out = v;
}

int web_protection_save(struct req *r, struct resp *w)
{
	struct protection_rule rule = {
		.no_force_push = web_form(r, "no_force_push") != NULL,
		.no_deletion = web_form(r, "no_deletion") != NULL,
		.require_passing_statuses = web_form(r, "require_passing_statuses") != NULL,
	};
	const char *ap, *ctx, *field = "pattern";
	json_t *o = NULL;
	bool created;
	int64_t n = 0;
	int rc;
	if (!(rc = settings_field(&rule.pattern, r, "pattern", PROTECTION_PATTERN_MAX, true)) &&
	    !(rc = settings_field(&ap, r, "required_approvals", 20, false)) &&
	    !(rc = settings_field(&ctx, r, "contexts", 64 * 1024, false))) {
		field = "required_approvals";
		if (ap && *ap && parse_i64(ap, INT32_MIN, INT32_MAX, &n))
			rc = err_set(&r->err, ERR_INVALID, "invalid_field",
				     "field 'required_approvals' must be a number");
		if (!rc) {
			rule.required_approvals = (int)n;
			contexts_parse(r, ctx ? ctx : "", &rule.contexts, &rule.ncontexts);
			rc = protection_rule_put(&o, &created, FORGE(r), r->repo, &rule);
		}
	}
	if (!rc) {
		json_decref(o);
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/branches")));
	}
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	if (strstr(msg, "pattern"))
		field = "pattern";
	else if (strstr(msg, "context"))
		field = "contexts";
	else if (!strstr(msg, "approvals"))
		field = "rule";
	return protection_page(r, w, field, msg);
}

int web_protection_delete(struct req *r, struct resp *w)
{
	const char *pattern;
	int rc;
	if (!(rc = settings_field(&pattern, r, "pattern", PROTECTION_PATTERN_MAX, true)))
		rc = protection_rule_delete(FORGE(r), r->repo, pattern);
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/branches")));
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return protection_page(r, w, "list", msg);
}

/* ---- secrets: names and times only; values go in and never come out ---- */

static int secrets_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	json_t *list;
	int rc = secret_list(&list, FORGE(r), r->repo);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	repo_settings_begin(&p, r, w, "/secrets", "Secrets");
	struct buf *b = p.b;
	settings_saved_notice(&p, "The secrets were changed.");
	if (field && !strcmp(field, "list"))
		page_field_error(&p, "list", msg);
	html_lit(b, "<p>Workflows read secrets as <code>${{ secrets.NAME }}</code>; their "
		    "values are sealed, masked in logs and never shown again, here or "
		    "anywhere.</p>");
	page_table_open(&p, "Secrets", (const char *const[]){ "Name", "Updated", "", NULL });
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		html_lit(b, "<tr><td><code>");
		html_txt(b, name);
		html_lit(b, "</code></td><td>");
		page_time(&p, json_string_value(json_object_get(s, "updated_at")));
		html_lit(b, "</td><td>");
		struct buf u = BUF_INIT;
		buf_adds(&u, settings_url(r, "/secrets/"));
		html_path(&u, name, 0);
		buf_adds(&u, "/delete");
		settings_form_open(&p, u.ptr, "inline");
		buf_release(&u);
		html_lit(b, "<button class=\"danger\" aria-label=\"Delete secret ");
		html_attr(b, name);
		html_lit(b, "\">Delete</button></form></td></tr>");
	}
	if (!json_array_size(list))
		html_lit(b, "<tr><td colspan=\"3\" class=\"mute\">No secrets yet.</td></tr>");
	html_lit(b, "</tbody></table><h3>Set a secret</h3><p class=\"mute\">Setting a name that "
		    "exists replaces its value.</p>");
	settings_form_open(&p, settings_url(r, "/secrets"), "stack");
	bool set = field && strcmp(field, "list");
	html_lit(b, "<label for=\"name\">Name</label>");
	if (set && !strcmp(field, "name"))
		page_field_error(&p, "name", msg);
	html_lit(b, "<input id=\"name\" name=\"name\" required maxlength=\"100\" "
		    "autocomplete=\"off\" class=\"mono\" value=\"");
	html_attr(b, set && web_form(r, "name") ? web_form(r, "name") : "");
	/* the value is never written back into a page, not even a refused one */
	html_lit(b, "\"><label for=\"value\">Value</label>");
	if (set && !strcmp(field, "value"))
		page_field_error(&p, "value", msg);
	html_lit(b, "<textarea id=\"value\" name=\"value\" class=\"mono\" required "
		    "autocomplete=\"off\" spellcheck=\"false\"></textarea>"
		    "<p><button>Save secret</button></p></form>");
	resp_header(w, "Cache-Control", "private, no-store");
	return page_end(&p);
}

int web_secrets(struct req *r, struct resp *w)
{
	return secrets_page(r, w, NULL, NULL);
}

int web_secret_set(struct req *r, struct resp *w)
{
	const char *name, *value, *field = "name";
	bool created;
	int rc;
	if (!(rc = settings_field(&name, r, "name", 100, true)) &&
	    !(rc = secret_name_check(FORGE(r), name))) {
		field = "value";
		if (!(rc = settings_field(&value, r, "value", SECRET_MAX_VALUE, true)))
			rc = secret_put(&created, FORGE(r), r->repo, name, value);
	}
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/secrets")));
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return secrets_page(r, w, field, msg);
}

int web_secret_delete(struct req *r, struct resp *w)
{
	int rc = secret_delete(FORGE(r), r->repo, req_param(r, "name"));
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/secrets")));
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return secrets_page(r, w, "list", msg);
}
