/* agents.c — the pages of agent sessions (web/agents.h): the list and the
 * "New session" form, one session's conversation and its forms. The rules
 * are the domain's (forge/sessions.h); the page renders what the stream
 * had at its last event and static/agent.js follows on from there (the
 * markup here and the script's must stay alike). */
#include "web/agents.h"

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/util.h"
#include "forge/sessions.h"
#include "llm/tools.h"

/* sessions listed on the page; messages rendered into a session's page */
#define SESSIONS_PAGE 100
#define MESSAGES_MAX 2000

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long ji(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

const char *agent_refusal_field(const char *slug)
{
	static const char *const map[][2] = {
		{ "invalid_title", "title" },   { "invalid_model", "model" },
		{ "unknown_tool", "tools" },    { "invalid_tools", "tools" },
		{ "invalid_system", "system" }, { "invalid_limit", "max_turns" },
	};
	for (size_t i = 0; slug && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(slug, map[i][0]))
			return map[i][1];
	return "form";
}

void agent_usage_html(struct buf *b, long long in, long long out, long long cached,
		      const json_t *cost)
{
	bool any = false;
	if (in) {
		html_txtf(b, "%lld in", in);
		any = true;
	}
	if (out) {
		html_txtf(b, "%s%lld out", any ? " \xc2\xb7 " : "", out);
		any = true;
	}
	if (cached) {
		html_txtf(b, "%s%lld cached", any ? " \xc2\xb7 " : "", cached);
		any = true;
	}
	if (json_is_number(cost))
		html_txtf(b, "%s$%.4f", any ? " \xc2\xb7 " : "", json_number_value(cost));
}

/* <span class="status state-S" id=ID>Running|Idle</span> */
static void status_html(struct buf *b, const char *status, const char *id)
{
	bool running = status && !strcmp(status, "running");
	html_lit(b, running ? "<span class=\"status state-running\"" : "<span class=\"status\"");
	if (id) {
		html_lit(b, " id=\"");
		html_attr(b, id);
		html_lit(b, "\"");
	}
	html_lit(b, running ? " data-status=\"running\"><span aria-hidden=\"true\">\xe2\x97\x8f</span>"
			      " Running</span>"
			    : " data-status=\"idle\"><span aria-hidden=\"true\">\xe2\x97\x8b</span>"
			      " Idle</span>");
}

static const char *session_url(struct req *r, long long id, const char *suffix)
{
	return page_repo_path(r, r->repo,
			      arena_printf(r->arena, "/sessions/%lld%s", id, suffix ? suffix : ""));
}

/* ---- the list ---- */

static void session_row(struct view *p, const json_t *s)
{
	struct buf *b = p->b;
	html_lit(b, "<tr><td>");
	status_html(b, js(s, "status"), NULL);
	html_lit(b, "</td><td><a href=\"");
	html_attr(b, session_url(p->r, ji(s, "id"), NULL));
	html_lit(b, "\">");
	html_txt(b, js(s, "title"));
	html_lit(b, "</a>");
	if (json_is_integer(json_object_get(s, "run_id"))) {
		html_lit(b, " <a class=\"mute\" href=\"");
		page_repo_url(b, p->repo, "/runs/");
		buf_addf(b, "%lld", ji(s, "run_id"));
		html_lit(b, "\">(workflow run)</a>");
	}
	html_lit(b, "</td><td><code>");
	html_txt(b, js(s, "model"));
	html_lit(b, "</code></td><td>");
	if (js(s, "creator"))
		page_user(p, js(s, "creator"));
	html_lit(b, "</td><td>");
	page_time(p, js(s, "updated_at"));
	html_lit(b, "</td></tr>");
}

/* The "New session" form; x: its refusal (kept input, message beside the
 * field) or NULL. */
static void new_form(struct view *p, const struct web_refused *x, const char *field)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	bool again = web_refused(x, "new");
	html_lit(b, "<section class=\"box\" aria-labelledby=\"new-h\"><div class=\"head\">"
		    "<h3 id=\"new-h\">New session</h3></div><div class=\"body\">"
		    "<form method=\"post\" class=\"stack\" id=\"new-session\" action=\"");
	html_attr(b, page_repo_path(r, r->repo, "/sessions"));
	html_lit(b, "\">");
	page_csrf_field(p);
	if (again && !strcmp(field, "form"))
		page_field_error(p, "form", x->msg);
	html_lit(b, "<label for=\"title\">Title</label>");
	if (again && !strcmp(field, "title"))
		page_field_error(p, "title", x->msg);
	buf_addf(b, "<input id=\"title\" name=\"title\" maxlength=\"%d\" value=\"",
		 SESSION_TITLE_MAX);
	html_attr(b, web_kept(r, x, "new", "title", "New session"));
	html_lit(b, "\"><label for=\"model\">Model <span class=\"mute\">(empty: the server's "
		    "default)</span></label>");
	if (again && !strcmp(field, "model"))
		page_field_error(p, "model", x->msg);
	buf_addf(b, "<input id=\"model\" name=\"model\" maxlength=\"%d\" value=\"",
		 SESSION_MODEL_MAX);
	html_attr(b, web_kept(r, x, "new", "model", session_model_default()));
	html_lit(b, "\"><fieldset id=\"tools\"><legend>Tools</legend>");
	if (again && !strcmp(field, "tools"))
		page_field_error(p, "tools", x->msg);
	json_t *defaults = json_loads(SESSION_DEFAULT_TOOLS, 0, NULL);
	size_t n;
	const struct tool_spec *t = tool_specs(&n);
	for (size_t i = 0; i < n; i++) {
		bool on = tool_listed(defaults, t[i].name);
		if (again) {
			size_t k = 0;
			const char *v;
			on = false;
			while ((v = web_form_next(r, "tools", &k)))
				on = on || !strcmp(v, t[i].name);
		}
		html_lit(b, "<span class=\"check\"><input type=\"checkbox\" name=\"tools\" id=\"");
		html_txtf(b, "tool-%s", t[i].name);
		html_lit(b, "\" value=\"");
		html_attr(b, t[i].name);
		html_lit(b, on ? "\" checked>" : "\">");
		html_lit(b, "<label for=\"");
		html_txtf(b, "tool-%s", t[i].name);
		html_lit(b, "\"><code>");
		html_txt(b, t[i].name);
		html_lit(b, "</code>");
		if (t[i].writes)
			html_lit(b, " <span class=\"mute\">(writes)</span>");
		html_lit(b, "</label></span> ");
	}
	json_decref(defaults);
	html_lit(b, "</fieldset><label for=\"system\">System prompt <span class=\"mute\">"
		    "(optional)</span></label>");
	if (again && !strcmp(field, "system"))
		page_field_error(p, "system", x->msg);
	html_lit(b, "<textarea id=\"system\" name=\"system\">");
	html_textarea(b, web_kept(r, x, "new", "system", ""));
	html_lit(b, "</textarea><label for=\"max_turns\">Max turns</label>");
	if (again && !strcmp(field, "max_turns"))
		page_field_error(p, "max_turns", x->msg);
	html_lit(b, "<input id=\"max_turns\" name=\"max_turns\" type=\"number\" min=\"1\" "
		    "max=\"200\" value=\"");
	html_attr(b, web_kept(r, x, "new", "max_turns", "20"));
	html_lit(b, "\"><p><button>Start session</button></p></form></div></section>");
}

static int list_page(struct req *r, struct resp *w, const struct web_refused *x, const char *field)
{
	const char *a = req_query(r, "archived");
	bool archived = a && !strcmp(a, "true");
	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "Agents \xc2\xb7 %s/%s", r->repo->owner, r->repo->name),
		   "sessions");
	struct buf *b = p.b;
	html_lit(b, "<h2>Agent sessions</h2>");
	if (!r->auth.user_id) {
		html_lit(b, "<p class=\"notice\" id=\"signin-prompt\">Agent sessions are "
			    "conversations with a model that works on this repository. "
			    "<a href=\"/login?next=");
		html_query(b, page_repo_path(r, r->repo, "/sessions"));
		html_lit(b, "\">Sign in</a> to see yours and start one.</p>");
		return page_end(&p);
	}
	json_t *arr = NULL;
	int64_t next = 0;
	int rc = session_list(&arr, &next, FORGE(r), r->repo, INT64_MAX, SESSIONS_PAGE, archived);
	if (rc)
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, arr);
	struct page_tab tabs[] = {
		{ page_repo_path(r, r->repo, "/sessions"), "Active", !archived },
		{ page_repo_path(r, r->repo, "/sessions?archived=true"), "Archived", archived },
	};
	page_subnav(&p, "states", "sessions shown", tabs, 2);
	if (!json_array_size(arr)) {
		html_lit(b, archived ? "<p class=\"mute\">No archived sessions.</p>"
				     : "<p class=\"mute\">No sessions yet. Start one below: the "
				       "agent works on the default branch in a sandbox, with the "
				       "tools you give it.</p>");
	} else {
		html_lit(b, "<table class=\"sessions\"><thead><tr><th scope=\"col\">Status</th>"
			    "<th scope=\"col\">Title</th><th scope=\"col\">Model</th>"
			    "<th scope=\"col\">Creator</th><th scope=\"col\">Updated</th>"
			    "</tr></thead><tbody>");
		size_t i;
		json_t *s;
		json_array_foreach(arr, i, s)
		{
			session_row(&p, s);
		}
		html_lit(b, "</tbody></table>");
		if (next)
			html_lit(b, "<p class=\"mute\">Older sessions are not shown: archive those "
				    "you are done with.</p>");
	}
	if (!archived)
		new_form(&p, x, field);
	return page_end(&p);
}

int web_agent_sessions(struct req *r, struct resp *w)
{
	return list_page(r, w, NULL, "");
}

int web_agent_session_create(struct req *r, struct resp *w)
{
	struct session_new in = { 0 };
	json_t *tools = json_array(), *j = NULL;
	arena_defer(r->arena, (void (*)(void *))json_decref, tools);
	size_t k = 0;
	const char *v, *turns = web_form(r, "max_turns");
	while ((v = web_form_next(r, "tools", &k)))
		json_array_append_new(tools, json_string(v));
	in.title = web_form(r, "title") ? web_form(r, "title") : "";
	in.model = web_form(r, "model");
	in.system = web_form(r, "system");
	if (in.system && !*in.system)
		in.system = NULL;
	in.tools = tools;
	int rc = 0;
	int64_t mt = 0;
	if (turns && *turns && parse_i64(turns, 1, 200, &mt))
		rc = err_set(&r->err, ERR_INVALID, "invalid_limit",
			     "max turns must be a number from 1 to 200");
	in.max_turns = (int)mt;
	if (!rc)
		rc = session_create(&j, FORGE(r), r->repo, &in);
	if (rc == ERR_INVALID) {
		const char *field = agent_refusal_field(r->err.slug);
		struct web_refused x = { "new", page_err_take(r, w, rc) };
		return list_page(r, w, &x, field);
	}
	if (rc)
		return rc;
	long long id = (long long)json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	return page_redirect(w, session_url(r, id, NULL));
}

/* ---- one session ---- */

/* :id as a session of this repository that the caller can see (write:
 * act on); another repository's session is not found here. */
static int session_param(struct req *r, bool write, struct session_ref *out)
{
	int64_t id;
	int rc;
	if (req_param_int(&id, r, "id"))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "session '%.40s' not found",
			       req_param(r, "id"));
	if ((rc = session_find(out, FORGE(r), id, write)))
		return rc;
	if (out->repo->id != r->repo->id)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "session %lld not found", (long long)id);
	return 0;
}

/* A tool call: <details class="part tool" id="tool-ID"> with its input
 * and, once it ran, its output (result: the tool_result part or NULL). */
static void tool_html(struct buf *b, const json_t *use, const json_t *result)
{
	bool err = result && json_is_true(json_object_get(result, "is_error"));
	html_lit(b, "<details class=\"part tool");
	if (err)
		html_lit(b, " is-error");
	html_lit(b, "\" id=\"tool-");
	html_attr(b, js(use, "id") ? js(use, "id") : "");
	html_lit(b, "\"><summary><code>");
	html_txt(b, js(use, "name"));
	html_lit(b, "</code> <span class=\"tool-state mute\">");
	if (!result)
		html_lit(b, "no result");
	else if (err)
		html_lit(b, "failed");
	else
		html_lit(b, "done");
	if (result && json_is_integer(json_object_get(result, "duration_ms")))
		html_txtf(b, " in %lld ms", ji(result, "duration_ms"));
	html_lit(b, "</span></summary><div class=\"tool-body\"><p class=\"mute\">Input</p>"
		    "<pre class=\"tool-input\">");
	char *in = json_dumps(json_object_get(use, "input"), JSON_INDENT(2) | JSON_ENCODE_ANY);
	html_txt(b, in ? in : "null");
	free(in);
	html_lit(b, "</pre><p class=\"mute\">Output</p><pre class=\"tool-output\">");
	if (result)
		html_txt(b, js(result, "output") ? js(result, "output") : "");
	html_lit(b, "</pre></div></details>");
}

/* The tool_result part answering tool use id, among every message. */
static const json_t *result_of(const json_t *msgs, const char *id)
{
	size_t i, k;
	json_t *m, *pt;
	if (!id)
		return NULL;
	json_array_foreach(msgs, i, m)
	{
		json_array_foreach(json_object_get(m, "parts"), k, pt)
		{
			const char *u = js(pt, "tool_use_id");
			if (!strcmp(js(pt, "type") ?: "", "tool_result") && u && !strcmp(u, id))
				return pt;
		}
	}
	return NULL;
}

/* Whether a message has something to show (a message of tool results
 * only is shown inside the tool calls it answers). */
static bool shown(const json_t *m)
{
	size_t k;
	json_t *pt;
	if (js(m, "error"))
		return true;
	json_array_foreach(json_object_get(m, "parts"), k, pt)
	{
		if (strcmp(js(pt, "type") ?: "", "tool_result"))
			return true;
	}
	return !json_array_size(json_object_get(m, "parts")) && strcmp(js(m, "role") ?: "", "user");
}

static void message_html(struct view *p, const json_t *msgs, const json_t *m)
{
	struct buf *b = p->b;
	const char *role = js(m, "role") ?: "assistant", *status = js(m, "status") ?: "";
	long long id = ji(m, "id");
	bool user = !strcmp(role, "user");
	buf_addf(b, "<li class=\"msg msg-%s\" id=\"msg-%lld\" data-id=\"%lld\" data-status=\"",
		 user ? "user" : "assistant", id, id);
	html_attr(b, status);
	html_lit(b, "\"><div class=\"msg-head\"><strong>");
	if (user && js(m, "author"))
		html_txt(b, js(m, "author"));
	else
		html_lit(b, user ? "You" : "Agent");
	html_lit(b, "</strong>");
	if (js(m, "model")) {
		html_lit(b, " <code class=\"mute\">");
		html_txt(b, js(m, "model"));
		html_lit(b, "</code>");
	}
	buf_addf(b, " <span class=\"msg-status mute\" id=\"msg-%lld-status\">", id);
	if (strcmp(status, "complete"))
		html_txt(b, status);
	html_lit(b, "</span> ");
	page_time(p, js(m, "created_at"));
	buf_addf(b, "</div><div class=\"msg-body\" id=\"msg-%lld-body\">", id);
	size_t k;
	json_t *pt;
	json_array_foreach(json_object_get(m, "parts"), k, pt)
	{
		const char *type = js(pt, "type") ?: "";
		if (!strcmp(type, "text")) {
			buf_addf(b, "<div class=\"part text\" data-index=\"%zu\">", k);
			page_markdown(p, js(pt, "text") ?: "");
			html_lit(b, "</div>");
		} else if (!strcmp(type, "tool_use")) {
			tool_html(b, pt, result_of(msgs, js(pt, "id")));
		}
	}
	html_lit(b, "</div>");
	buf_addf(b, "<p class=\"error msg-error\" id=\"msg-%lld-error\"", id);
	if (!js(m, "error"))
		html_lit(b, " hidden");
	html_lit(b, ">");
	if (js(m, "error"))
		html_txt(b, js(m, "error"));
	html_lit(b, "</p>");
	if (!user) {
		const json_t *u = json_object_get(m, "usage");
		buf_addf(b, "<p class=\"usage mute\" id=\"msg-%lld-usage\">", id);
		agent_usage_html(b, ji(u, "input_tokens"), ji(u, "output_tokens"),
				 ji(u, "cache_read_tokens"), json_object_get(m, "cost_usd"));
		html_lit(b, "</p>");
	}
	html_lit(b, "</li>");
}

/* The forms of the person who acts on the session. */
static void actions_html(struct view *p, const json_t *sj, bool running, const struct web_refused *x)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	long long id = ji(sj, "id");
	bool archived = json_is_true(json_object_get(sj, "archived"));
	/* send */
	html_lit(b, "<form method=\"post\" class=\"stack\" id=\"send-form\" action=\"");
	html_attr(b, session_url(r, id, "/messages"));
	html_lit(b, "\">");
	page_csrf_field(p);
	html_lit(b, "<fieldset id=\"send-fields\"");
	if (running || archived)
		html_lit(b, " disabled");
	html_lit(b, "><legend class=\"mute\" id=\"send-legend\">");
	html_lit(b, archived  ? "The session is archived: restore it to continue"
		    : running ? "The agent is working: wait for it or abort it"
			      : "Your message");
	html_lit(b, "</legend>");
	if (web_refused(x, "send"))
		page_field_error(p, "content", x->msg);
	html_lit(b, "<label for=\"content\" class=\"visually-hidden\">Message</label>"
		    "<textarea id=\"content\" name=\"content\" required>");
	html_textarea(b, web_kept(r, x, "send", "content", ""));
	html_lit(b, "</textarea><p><button id=\"send\">Send</button></p></fieldset></form>");
	/* abort */
	html_lit(b, "<form method=\"post\" class=\"inline\" id=\"abort-form\" action=\"");
	html_attr(b, session_url(r, id, "/abort"));
	html_lit(b, "\"");
	if (!running)
		html_lit(b, " hidden");
	html_lit(b, ">");
	page_csrf_field(p);
	html_lit(b, "<button class=\"danger\" id=\"abort\">Abort</button></form>");
	if (web_refused(x, "abort"))
		page_field_error(p, "abort", x->msg);
	/* manage */
	html_lit(b, "<details class=\"box\" id=\"manage\"");
	if (web_refused(x, "rename") || web_refused(x, "delete") || web_refused(x, "archive"))
		html_lit(b, " open");
	html_lit(b, "><summary>Rename, archive or delete</summary><div class=\"body\">"
		    "<form method=\"post\" class=\"stack\" id=\"rename-form\" action=\"");
	html_attr(b, session_url(r, id, "/rename"));
	html_lit(b, "\">");
	page_csrf_field(p);
	html_lit(b, "<label for=\"new-title\">Title</label>");
	if (web_refused(x, "rename"))
		page_field_error(p, "new-title", x->msg);
	buf_addf(b, "<input id=\"new-title\" name=\"title\" maxlength=\"%d\" value=\"",
		 SESSION_TITLE_MAX);
	html_attr(b, web_kept(r, x, "rename", "title", js(sj, "title")));
	html_lit(b, "\"><p><button>Rename</button></p></form>"
		    "<form method=\"post\" class=\"inline\" id=\"archive-form\" action=\"");
	html_attr(b, session_url(r, id, "/archive"));
	html_lit(b, "\">");
	page_csrf_field(p);
	html_lit(b, archived ? "<input type=\"hidden\" name=\"archived\" value=\"false\">"
			       "<button>Restore</button>"
			     : "<input type=\"hidden\" name=\"archived\" value=\"true\">"
			       "<button>Archive</button>");
	html_lit(b, "</form>");
	if (web_refused(x, "archive"))
		page_field_error(p, "archive", x->msg);
	html_lit(b, "<form method=\"post\" class=\"stack\" id=\"delete-form\" action=\"");
	html_attr(b, session_url(r, id, "/delete"));
	html_lit(b, "\">");
	page_csrf_field(p);
	html_lit(b, "<label for=\"confirm\">Type the title, <strong>");
	html_txt(b, js(sj, "title"));
	html_lit(b, "</strong>, to delete the session and its history</label>");
	if (web_refused(x, "delete"))
		page_field_error(p, "confirm", x->msg);
	html_lit(b, "<input id=\"confirm\" name=\"confirm\" autocomplete=\"off\" value=\"\">"
		    "<p><button class=\"danger\">Delete session</button></p></form></div>"
		    "</details>");
}

static int session_page(struct req *r, struct resp *w, const struct web_refused *x)
{
	struct forge *f = FORGE(r);
	struct session_ref s;
	json_t *sj = NULL, *msgs = json_array();
	int64_t last = 0, after = 0, next;
	arena_defer(r->arena, (void (*)(void *))json_decref, msgs);
	/* whether the caller acts on it (the forms) from the one lookup its
	 * creator needs; those who only see it need a second */
	int rc = session_param(r, true, &s);
	bool actor = !rc;
	if (rc == ERR_PERM) {
		err_clear(&r->err);
		rc = session_param(r, false, &s);
	}
	/* the stream's position first: what the page then reads is at least
	 * as new, and agent.js skips what it already shows */
	if (rc || (rc = session_stream_last(&last, f, &s)) || (rc = session_get(&sj, f, &s)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, sj);
	do {
		json_t *page = NULL;
		if ((rc = session_messages(&page, &next, f, &s, after, 200)))
			return rc;
		json_array_extend(msgs, page);
		json_decref(page);
		after = next;
	} while (next && json_array_size(msgs) < MESSAGES_MAX);
	bool running = !strcmp(js(sj, "status") ?: "", "running");
	long long id = ji(sj, "id");

	struct view p;
	page_begin(&p, r, w,
		   arena_printf(r->arena, "%s \xc2\xb7 Agents \xc2\xb7 %s/%s", js(sj, "title"),
				r->repo->owner, r->repo->name),
		   "sessions");
	struct buf *b = p.b;
	buf_addf(b,
		 "<section id=\"session\" class=\"session\" data-session=\"%lld\" "
		 "data-last-seq=\"%lld\" data-stream=\"/api/sessions/%lld/stream\"><h2 "
		 "id=\"session-title\">",
		 id, (long long)last, id);
	html_txt(b, js(sj, "title"));
	html_lit(b, "</h2><dl class=\"facts\"><div><dt>Status</dt><dd>");
	status_html(b, js(sj, "status"), "session-status");
	html_lit(b, "</dd></div><div><dt>Model</dt><dd><code>");
	html_txt(b, js(sj, "model"));
	html_lit(b, "</code></dd></div><div><dt>Tools</dt><dd>");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sj, "tools"), i, v)
	{
		html_lit(b, i ? ", <code>" : "<code>");
		html_txt(b, json_string_value(v));
		html_lit(b, "</code>");
	}
	if (!json_array_size(json_object_get(sj, "tools")))
		html_lit(b, "<span class=\"mute\">none</span>");
	html_lit(b, "</dd></div><div><dt>Max turns</dt><dd>");
	html_txtf(b, "%lld", ji(sj, "max_turns"));
	html_lit(b, "</dd></div>");
	if (js(sj, "creator")) {
		html_lit(b, "<div><dt>Creator</dt><dd>");
		page_user(&p, js(sj, "creator"));
		html_lit(b, "</dd></div>");
	}
	if (json_is_integer(json_object_get(sj, "run_id"))) {
		html_lit(b, "<div><dt>Workflow run</dt><dd><a href=\"");
		page_repo_url(b, r->repo, "/runs/");
		buf_addf(b, "%lld", ji(sj, "run_id"));
		html_lit(b, "\">the run</a></dd></div>");
	}
	html_lit(b, "<div><dt>Updated</dt><dd>");
	page_time(&p, js(sj, "updated_at"));
	html_lit(b, "</dd></div></dl>");
	if (json_is_true(json_object_get(sj, "archived")))
		html_lit(b, "<p class=\"notice archived\">This session is archived.</p>");
	if (js(sj, "system")) {
		html_lit(b, "<details class=\"system\"><summary>System prompt</summary>"
			    "<pre class=\"wrap\">");
		html_txt(b, js(sj, "system"));
		html_lit(b, "</pre></details>");
	}
	html_lit(b, "<ol class=\"messages\" id=\"messages\" aria-label=\"conversation\">");
	json_array_foreach(msgs, i, v)
	{
		if (shown(v))
			message_html(&p, msgs, v);
	}
	html_lit(b, "</ol>");
	if (!json_array_size(msgs))
		html_lit(b, "<p class=\"mute\" id=\"no-messages\">No messages yet: send the "
			    "first.</p>");
	html_lit(b, "<p class=\"error\" role=\"alert\" id=\"session-error\" hidden></p>"
		    "<p id=\"session-live\" class=\"mute\" role=\"status\"></p>");
	if (actor)
		actions_html(&p, sj, running, x);
	html_lit(b, "</section><script src=\"");
	html_attr(b, web_static_url("agent.js"));
	html_lit(b, "\" defer></script>");
	return page_end(&p);
}

int web_agent_session(struct req *r, struct resp *w)
{
	return session_page(r, w, NULL);
}

/* A refused form of the session's page: the page again with the message
 * beside form. Other failures are the error page's. */
static int refused(struct req *r, struct resp *w, const char *form, int rc)
{
	if (rc != ERR_INVALID && rc != ERR_CONFLICT && rc != ERR_RATELIMIT && rc != ERR_PERM)
		return rc;
	struct web_refused x = { form, page_err_take(r, w, rc) };
	return session_page(r, w, &x);
}

/* How a session's form ends: rc 0, back to the session; else refused(). */
static int answered(struct req *r, struct resp *w, const char *form, const struct session_ref *s,
		    int rc)
{
	if (rc)
		return refused(r, w, form, rc);
	return page_redirect(w, session_url(r, (long long)s->id, NULL));
}

int web_agent_session_send(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *j = NULL;
	const char *content = web_form(r, "content");
	int rc;
	if ((rc = session_param(r, true, &s)))
		return rc;
	if (!content || !*content)
		rc = err_set(&r->err, ERR_INVALID, "invalid_message", "write a message first");
	else if (strlen(content) > SESSION_MESSAGE_MAX)
		rc = err_set(&r->err, ERR_INVALID, "invalid_message",
			     "a message is at most %d bytes", SESSION_MESSAGE_MAX);
	else
		rc = session_send(&j, FORGE(r), &s, content);
	json_decref(j);
	return answered(r, w, "send", &s, rc);
}

int web_agent_session_abort(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *j = NULL;
	int rc;
	if ((rc = session_param(r, true, &s)))
		return rc;
	rc = session_abort(&j, FORGE(r), &s);
	json_decref(j);
	return answered(r, w, "abort", &s, rc);
}

int web_agent_session_rename(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *j = NULL;
	const char *title = web_form(r, "title");
	int rc;
	if ((rc = session_param(r, true, &s)))
		return rc;
	rc = session_update(&j, FORGE(r), &s, title ? title : "", NULL);
	json_decref(j);
	return answered(r, w, "rename", &s, rc);
}

int web_agent_session_archive(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *j = NULL;
	const char *a = web_form(r, "archived");
	bool archived = a && !strcmp(a, "true");
	int rc;
	if ((rc = session_param(r, true, &s)))
		return rc;
	if (!a || (strcmp(a, "true") && strcmp(a, "false")))
		return err_set(&r->err, ERR_INVALID, "invalid_form", "archived is true or false");
	rc = session_update(&j, FORGE(r), &s, NULL, &archived);
	json_decref(j);
	return answered(r, w, "archive", &s, rc);
}

int web_agent_session_delete(struct req *r, struct resp *w)
{
	struct session_ref s;
	json_t *sj = NULL;
	const char *confirm = web_form(r, "confirm");
	int rc;
	if ((rc = session_param(r, true, &s)) || (rc = session_get(&sj, FORGE(r), &s)))
		return rc;
	bool same = confirm && !strcmp(confirm, js(sj, "title") ?: "");
	json_decref(sj);
	if (!same)
		return refused(r, w, "delete",
			       err_set(&r->err, ERR_INVALID, "confirm_failed",
				       "type the session's title exactly to delete it"));
	if ((rc = session_delete(FORGE(r), &s)))
		return refused(r, w, "delete", rc);
	return page_redirect(w, page_repo_path(r, r->repo, "/sessions"));
}
