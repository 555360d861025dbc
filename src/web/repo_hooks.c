/* repo_hooks.c — a repository's webhooks page (web/settings.h): the
 * hooks listed with their events and last delivery, adding one, deleting
 * one. The rules are the domain's (forge/hooks.h); a hook's secret goes in
 * and is never shown again. */
#include "web/settings.h"

#include <string.h>

#include "api/api.h"
#include "base/util.h"
#include "forge/hooks.h"
#include "queue/webhooks.h"

/* The events a hook may ask for, as the form offers them (the domain
 * judges: webhook_event_valid). */
static const char *const hook_events[] = { "push",   "pull_request",  "pull_request_review",
					   "issues", "issue_comment", "workflow_run",
					   "*" };

static int hooks_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	json_t *list;
	int rc = hook_list(&list, FORGE(r), r->repo);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, list);
	struct view p;
	repo_settings_begin(&p, r, w, "/hooks", "Webhooks");
	struct buf *b = p.b;
	settings_saved_notice(&p, "The webhooks were changed.");
	if (field && !strcmp(field, "list"))
		page_field_error(&p, "list", msg);
	html_lit(b, "<p>Webhooks POST the repository's events to a URL, signed with the hook's "
		    "secret when it has one (the secret is never shown again).</p>");
	page_table_open(&p, "Webhooks", (const char *const[]){ "URL", "Events", "State", "", NULL });
	size_t i;
	json_t *h;
	json_array_foreach(list, i, h)
	{
		long long id = (long long)json_integer_value(json_object_get(h, "id"));
		json_t *last = json_object_get(h, "last_delivery");
		html_lit(b, "<tr><td class=\"mono\">");
		html_txt(b, json_string_value(json_object_get(h, "url")));
		html_lit(b, "</td><td>");
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(h, "events"), k, e)
		{
			if (k)
				html_lit(b, ", ");
			html_txt(b, json_string_value(e));
		}
		html_lit(b, "</td><td>");
		html_lit(b, json_is_true(json_object_get(h, "active")) ? "active" : "inactive");
		if (json_is_object(last) && json_string_value(json_object_get(last, "status"))) {
			html_lit(b, "; last delivery: ");
			html_txt(b, json_string_value(json_object_get(last, "status")));
		}
		html_lit(b, "</td><td>");
		settings_form_open(&p,
				   settings_url(r, arena_printf(r->arena, "/hooks/%lld/delete", id)),
				   "inline");
		html_lit(b, "<button class=\"danger\" aria-label=\"Delete webhook ");
		html_attr(b, json_string_value(json_object_get(h, "url")));
		html_lit(b, "\">Delete</button></form></td></tr>");
	}
	if (!json_array_size(list))
		html_lit(b, "<tr><td colspan=\"4\" class=\"mute\">No webhooks yet.</td></tr>");
	html_lit(b, "</tbody></table><h3>Add a webhook</h3>");
	settings_form_open(&p, settings_url(r, "/hooks"), "stack");
	bool post = field && strcmp(field, "list");
	if (post && !strcmp(field, "hook"))
		page_field_error(&p, "hook", msg);
	html_lit(b, "<label for=\"url\">Payload URL</label>");
	if (post && !strcmp(field, "url"))
		page_field_error(&p, "url", msg);
	html_lit(b, "<input id=\"url\" name=\"url\" type=\"url\" required autocomplete=\"off\" "
		    "value=\"");
	html_attr(b, post && web_form(r, "url") ? web_form(r, "url") : "");
	html_lit(b, "\"><label for=\"content_type\">Content type</label><select "
		    "id=\"content_type\" name=\"content_type\">");
	const char *ct = post ? web_form(r, "content_type") : NULL;
	html_lit(b, ct && !strcmp(ct, "form") ? "<option value=\"json\">application/json</option>"
						"<option value=\"form\" selected>"
					      : "<option value=\"json\" selected>application/json"
						"</option><option value=\"form\">");
	/* the value is never written back into a page, not even a refused one */
	html_lit(b, "application/x-www-form-urlencoded</option></select><label "
		    "for=\"secret\">Secret <span class=\"mute\">(optional)</span></label><input "
		    "id=\"secret\" name=\"secret\" type=\"password\" autocomplete=\"off\">"
		    "<fieldset><legend>Events</legend>");
	if (post && !strcmp(field, "events"))
		page_field_error(&p, "events", msg);
	for (size_t k = 0; k < sizeof(hook_events) / sizeof(hook_events[0]); k++) {
		bool on = !post && !strcmp(hook_events[k], "push");
		size_t j = 0;
		const char *v;
		while (post && (v = web_form_next(r, "events", &j)))
			on = on || !strcmp(v, hook_events[k]);
		const char *id = arena_printf(r->arena, "event-%zu", k);
		html_lit(b, "<input type=\"checkbox\" name=\"events\" id=\"");
		html_attr(b, id);
		html_lit(b, "\" value=\"");
		html_attr(b, hook_events[k]);
		html_lit(b, on ? "\" checked> <label class=\"plain\" for=\""
			       : "\"> <label class=\"plain\" for=\"");
		html_attr(b, id);
		html_lit(b, "\">");
		html_txt(b, strcmp(hook_events[k], "*") ? hook_events[k] : "every event");
		html_lit(b, "</label><br>");
	}
	html_lit(b, "</fieldset>");
	settings_checkbox(b, "active", !post || web_form(r, "active"), "Active: deliver events");
	html_lit(b, "<p><button>Add webhook</button></p></form>");
	resp_header(w, "Cache-Control", "private, no-store");
	return page_end(&p);
}

int web_hooks(struct req *r, struct resp *w)
{
	return hooks_page(r, w, NULL, NULL);
}

int web_hook_create(struct req *r, struct resp *w)
{
	struct hook_input in = { .active = web_form(r, "active") != NULL };
	const char *secret;
	json_t *hook = NULL;
	size_t n = 0, i = 0;
	int rc;
	while (web_form_next(r, "events", &i))
		n++;
	const char **ev = arena_alloc(r->arena, (n + 1) * sizeof(*ev));
	i = 0;
	for (size_t k = 0; k < n; k++)
		ev[k] = web_form_next(r, "events", &i);
	in.events = n ? ev : NULL;
	in.nevents = n;
	if (!(rc = settings_field(&in.url, r, "url", WEBHOOK_URL_MAX, true)) &&
	    !(rc = settings_field(&in.content_type, r, "content_type", 40, false)) &&
	    !(rc = settings_field(&secret, r, "secret", HOOK_SECRET_MAX, false))) {
		in.secret = secret && *secret ? secret : NULL;
		rc = hook_create(&hook, FORGE(r), r->repo, &in);
	}
	if (!rc) {
		json_decref(hook);
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/hooks")));
	}
	const char *msg;
	if (!settings_refused(r, w, rc, &msg))
		return rc;
	return hooks_page(r, w,
			  strstr(msg, "url") || strstr(msg, "URL") ? "url"
			  : strstr(msg, "event")                   ? "events"
								   : "hook",
			  msg);
}

int web_hook_delete(struct req *r, struct resp *w)
{
	int64_t id;
	int rc;
	if (parse_i64(req_param(r, "id"), 1, INT64_MAX, &id))
		rc = err_set(&r->err, ERR_NOTFOUND, NULL, "hook '%.40s' not found",
			     req_param(r, "id"));
	else
		rc = hook_delete(FORGE(r), r->repo, id);
	if (!rc)
		return page_redirect(w, arena_printf(r->arena, "%s?saved=1",
						     settings_url(r, "/hooks")));
	return rc;
}
