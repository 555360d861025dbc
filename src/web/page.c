/* page.c — the frame of every page (head, navigation, a repository's
 * header and tabs, footer, headers), errors as pages, form bodies and the
 * CSRF field (web/web.h). */
#include "web/web.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "base/cache.h"
#include "base/util.h"
#include "git/objects.h"
#include "forge/issues.h"
#include "web/markdown.h"

/* Pages run our own scripts only; nothing is framed, no plugin runs, forms
 * post only here. Images may come from the repository's own raw URLs. */
#define PAGE_CSP                                                                                   \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

static void nav(struct view *p)
{
	struct buf *b = p->b;
	const struct auth *a = &p->r->auth;
	html_lit(b, "<a class=\"skip\" href=\"#main\">Skip to content</a>"
		    "<header class=\"site\"><nav aria-label=\"site\"><a class=\"brand\" href=\"/\">"
		    "plue</a><span class=\"grow\"></span>");
	if (a->user_id) {
		html_lit(b, "<a href=\"/new\">New repository</a><a href=\"/");
		html_path(b, a->username, 0);
		html_lit(b, "\">");
		html_txt(b, a->username);
		html_lit(b, "</a><a href=\"/settings\">Settings</a>");
		page_form_open(p, "/logout");
		html_lit(b, "<button class=\"link\">Sign out</button></form>");
	} else {
		html_lit(b, "<a href=\"/login\">Sign in</a><a href=\"/register\">Register</a>");
	}
	html_lit(b, "</nav></header>");
}

static void repo_header(struct view *p, const char *cur)
{
	struct buf *b = p->b;
	struct repo *rp = p->repo;
	html_lit(b, "<div class=\"repohead\"><h1><a href=\"/");
	html_path(b, rp->owner, 0);
	html_lit(b, "\">");
	html_txt(b, rp->owner);
	html_lit(b, "</a> / <a href=\"");
	page_repo_url(b, rp, NULL);
	html_lit(b, "\">");
	html_txt(b, rp->name);
	html_lit(b, "</a></h1>");
	if (rp->is_private)
		html_lit(b, "<span class=\"badge\">private</span>");
	static const char *const tabs[][3] = {
		{ "code", "Code", NULL },
		{ "issues", "Issues", "/issues" },
		{ "pulls", "Pull requests", "/pulls" },
		{ "runs", "Runs", "/runs" },
		{ "sessions", "Agents", "/sessions" },
		{ "settings", "Settings", "/settings" },
	};
	struct page_tab t[6];
	size_t n = 0;
	struct err scratch = { 0 };
	bool admin = !authz_repo(&p->r->auth, rp, ACT_ADMIN, &scratch);
	for (size_t i = 0; i < 6; i++)
		if (strcmp(tabs[i][0], "settings") || admin)
			t[n++] = (struct page_tab){ page_repo_path(p->r, rp, tabs[i][2]),
						    tabs[i][1], !strcmp(cur, tabs[i][0]) };
	page_subnav(p, "tabs", "repository", t, n);
	html_lit(b, "</div>");
}

void page_begin(struct view *p, struct req *r, struct resp *w, const char *title, const char *cur)
{
	*p = (struct view){ .r = r, .w = w, .b = &w->body, .repo = r->repo };
	buf_reset(p->b);
	struct buf *b = p->b;
	html_lit(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		    "<title>");
	html_plain(b, title);
	html_lit(b, " · plue</title><link rel=\"stylesheet\" href=\"");
	html_attr(b, web_static_url("plue.css"));
	html_lit(b, "\"><script src=\"");
	html_attr(b, web_static_url("plue.js"));
	html_lit(b, "\" defer></script></head><body>");
	nav(p);
	html_lit(b, "<main id=\"main\">");
	if (p->repo && cur)
		repo_header(p, cur);
}

int page_end(struct view *p)
{
	struct resp *w = p->w;
	html_lit(p->b, "</main><footer class=\"site\">plue · a self-hosted forge</footer>"
		       "</body></html>\n");
	if (!w->status)
		w->status = 200;
	w->content_type = "text/html; charset=utf-8";
	web_page_headers(w);
	bool has_cc = false;
	for (size_t i = 0; i < w->nheaders; i++) {
		if (strcasecmp(w->headers[i].name, "Cache-Control"))
			continue;
		has_cc = true;
		/* the navigation names the caller: never for a shared cache,
		 * whatever caching the handler chose for the content */
		if (p->r->auth.user_id && !strncmp(w->headers[i].value, "public", 6))
			w->headers[i].value = arena_printf(w->arena, "private%s",
							   w->headers[i].value + 6);
	}
	if (p->r->auth.user_id) {
		p->r->private_data = true;
		w->cacheable = false;
	}
	if (!has_cc)
		resp_no_cache(p->r, w);
	return 0;
}

void web_page_headers(struct resp *w)
{
	resp_header(w, "Content-Security-Policy", PAGE_CSP);
	resp_header(w, "X-Content-Type-Options", "nosniff");
	resp_header(w, "Referrer-Policy", "same-origin");
}

int page_redirect(struct resp *w, const char *url)
{
	w->status = 303;
	resp_header(w, "Location", url);
	resp_header(w, "Cache-Control", "no-store");
	return 0;
}

const char *page_csrf(struct req *r, struct resp *w)
{
	if (r->csrf)
		return r->csrf;
	if (r->auth.via == AUTH_SESSION) {
		r->csrf = session_csrf_token(r->arena, r->auth.token_id);
		return r->csrf;
	}
	const char *c = req_cookie(r, WEB_PRE_COOKIE);
	if (c && strlen(c) == 32) {
		r->csrf = c;
		return c;
	}
	char *t = random_token("", 16);
	r->csrf = arena_strdup(r->arena, t);
	free(t);
	resp_cookie(w, WEB_PRE_COOKIE, r->csrf, -1, "Strict");
	return r->csrf;
}

void page_csrf_field(struct view *p)
{
	html_lit(p->b, "<input type=\"hidden\" name=\"" WEB_CSRF_FIELD "\" value=\"");
	html_attr(p->b, page_csrf(p->r, p->w));
	html_lit(p->b, "\">");
}

void page_form_open(struct view *p, const char *action)
{
	html_lit(p->b, "<form method=\"post\" class=\"inline\" action=\"");
	html_attr(p->b, action);
	html_lit(p->b, "\">");
	page_csrf_field(p);
}

void page_field_error(struct view *p, const char *field, const char *msg)
{
	if (!msg || !*msg)
		return;
	html_lit(p->b, "<p class=\"error\" role=\"alert\" id=\"");
	html_attr(p->b, field);
	html_lit(p->b, "-error\">");
	html_txt(p->b, msg);
	html_lit(p->b, "</p>");
}

const char *page_err_take(struct req *r, struct resp *w, int rc)
{
	w->status = err_http_status(rc);
	const char *msg = arena_strdup(r->arena, r->err.msg);
	err_clear(&r->err);
	return msg;
}

void page_time(struct view *p, const char *iso)
{
	int64_t t;
	if (!iso || time_parse(&t, iso)) {
		html_txt(p->b, iso ? iso : "");
		return;
	}
	int64_t d = now_unix() - t;
	html_lit(p->b, "<time datetime=\"");
	html_attr(p->b, iso);
	html_lit(p->b, "\" title=\"");
	html_attr(p->b, iso);
	html_lit(p->b, "\">");
	if (d < 60)
		html_lit(p->b, "just now");
	else if (d < 3600)
		html_txtf(p->b, "%lld minute%s ago", (long long)(d / 60), d < 120 ? "" : "s");
	else if (d < 86400)
		html_txtf(p->b, "%lld hour%s ago", (long long)(d / 3600), d < 7200 ? "" : "s");
	else if (d < 86400 * 30)
		html_txtf(p->b, "%lld day%s ago", (long long)(d / 86400), d < 172800 ? "" : "s");
	else
		html_txtn(p->b, iso, strlen(iso) >= 10 ? 10 : strlen(iso));
	html_lit(p->b, "</time>");
}

void page_markdown(struct view *p, const char *md)
{
	struct forge *f = FORGE(p->r);
	json_t *h = forge_html(f, p->repo, md);
	/* markdown_render's output: cmark-gfm with raw HTML and unsafe
	 * schemes removed (web/markdown.h) */
	html_lit(p->b, "<div class=\"markdown\">");
	buf_adds(p->b, json_string_value(h));
	html_lit(p->b, "</div>");
	json_decref(h);
}

void page_user(struct view *p, const char *username)
{
	if (!username || !*username) {
		html_lit(p->b, "<span class=\"ghost\">ghost</span>");
		return;
	}
	html_lit(p->b, "<a class=\"user\" href=\"/");
	html_path(p->b, username, 0);
	html_lit(p->b, "\">");
	html_txt(p->b, username);
	html_lit(p->b, "</a>");
}

void page_table_open(struct view *p, const char *caption, const char *const *cols)
{
	html_lit(p->b, "<table><caption class=\"mute\">");
	html_txt(p->b, caption);
	html_lit(p->b, "</caption><thead><tr>");
	for (; *cols; cols++) {
		html_lit(p->b, "<th scope=\"col\">");
		if (**cols)
			html_txt(p->b, *cols);
		else
			html_lit(p->b, "<span class=\"mute\">Actions</span>");
		html_lit(p->b, "</th>");
	}
	html_lit(p->b, "</tr></thead><tbody>");
}

void page_subnav(struct view *p, const char *cls, const char *label, const struct page_tab *tabs,
		 size_t n)
{
	html_lit(p->b, "<nav class=\"");
	html_lit(p->b, cls);
	html_lit(p->b, "\" aria-label=\"");
	html_lit(p->b, label);
	html_lit(p->b, "\">");
	for (size_t i = 0; i < n; i++) {
		html_lit(p->b, "<a href=\"");
		html_attr(p->b, tabs[i].href);
		html_lit(p->b, tabs[i].current ? "\" aria-current=\"page\">" : "\">");
		html_txt(p->b, tabs[i].label);
		html_lit(p->b, "</a>");
	}
	html_lit(p->b, "</nav>");
}

void page_repo_url(struct buf *b, const struct repo *rp, const char *suffix)
{
	html_lit(b, "/");
	html_path(b, rp->owner, 0);
	html_lit(b, "/");
	html_path(b, rp->name, 0);
	if (suffix)
		html_lit(b, suffix);
}

const char *page_repo_path(struct req *r, const struct repo *rp, const char *suffix)
{
	struct buf b = BUF_INIT;
	page_repo_url(&b, rp, suffix);
	const char *u = arena_strdup(r->arena, b.ptr);
	buf_release(&b);
	return u;
}

/* What a person can do about each kind of failure. */
static const char *advice(int code, bool signed_in)
{
	switch (code) {
	case ERR_NOTFOUND:
		return signed_in ? "Check the address. If it names something private, its owner "
				   "must give you access."
				 : "Check the address, or sign in: private things are shown only to "
				   "those who may see them.";
	case ERR_AUTH: return "Sign in and try again.";
	case ERR_PERM: return "You may not do this here. Ask the repository's administrators.";
	case ERR_INVALID: return "Go back, correct the input and send it again.";
	case ERR_CONFLICT:
	case ERR_EXISTS: return "Reload the page to see the current state, then try again.";
	case ERR_RATELIMIT: return "Too many attempts: wait a little and try again.";
	case ERR_TOOLARGE: return "Send less: the request is larger than this server accepts.";
	default: return "This is the server's fault. Try again; if it persists, tell the admins.";
	}
}

static const char *heading(int status)
{
	switch (status) {
	case 400: return "Bad request";
	case 401: return "Sign in required";
	case 403: return "Not allowed";
	case 404: return "Not found";
	case 405: return "Method not allowed";
	case 409: return "Conflict";
	case 413: return "Too large";
	case 429: return "Slow down";
	case 503: return "Unavailable";
	default: return "Something went wrong";
	}
}

void web_error_page(struct req *r, struct resp *w)
{
	int code = r->err.code ? r->err.code : ERR_INTERNAL;
	int status = err_http_status(code);
	const char *msg = r->err.code ? r->err.msg : "internal error";
	/* a page about a repository one may not see must not show its frame */
	if (code == ERR_NOTFOUND || code == ERR_AUTH)
		r->repo = NULL;
	w->stream = NULL;
	w->cacheable = false;
	if (w->cached) {
		cache_unref(w->cached);
		w->cached = NULL;
	}
	w->nheaders = 0;
	struct view p;
	page_begin(&p, r, w, heading(status), r->repo ? "" : NULL);
	html_lit(p.b, "<section class=\"error-page\"><h2>");
	html_txtf(p.b, "%d · %s", status, heading(status));
	html_lit(p.b, "</h2><p class=\"error\" role=\"alert\">");
	html_txt(p.b, msg);
	html_lit(p.b, "</p><p>");
	html_txt(p.b, advice(code, r->auth.user_id != 0));
	html_lit(p.b, "</p>");
	if (code == ERR_AUTH || (code == ERR_NOTFOUND && !r->auth.user_id)) {
		html_lit(p.b, "<p><a href=\"/login?next=");
		html_query(p.b, r->path);
		html_lit(p.b, "\">Sign in</a></p>");
	}
	html_lit(p.b, "<p><a href=\"/\">Home</a></p></section>");
	w->status = status;
	page_end(&p);
	resp_header(w, "Cache-Control", "no-store");
}

int web_form_parse(struct req *r)
{
	if (!r->body_len)
		return 0;
	const char *ct = req_header(r, "Content-Type");
	const char *want = "application/x-www-form-urlencoded";
	if (!ct || strncasecmp(ct, want, strlen(want)))
		return err_set(&r->err, ERR_INVALID, "invalid_content_type",
			       "forms must be sent as %s", want);
	size_t cap = 1;
	for (size_t i = 0; i < r->body_len; i++)
		cap += r->body[i] == '&';
	r->form = arena_alloc(r->arena, cap * sizeof(*r->form));
	r->nform = 0;
	const char *s = r->body, *end = r->body + r->body_len;
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		if (!amp)
			amp = end;
		const char *eq = memchr(s, '=', (size_t)(amp - s));
		if (amp > s) {
			const char *kend = eq ? eq : amp;
			char *k = url_decode(r->arena, s, (size_t)(kend - s), true);
			char *v = eq ? url_decode(r->arena, eq + 1, (size_t)(amp - eq - 1), true)
				     : arena_strdup(r->arena, "");
			if (!k || !v || !objects_utf8_valid(k, strlen(k)) ||
			    !objects_utf8_valid(v, strlen(v)))
				return err_set(&r->err, ERR_INVALID, "invalid_form",
					       "the form's fields are not valid UTF-8 text");
			r->form[r->nform].name = k;
			r->form[r->nform++].value = v;
		}
		s = amp + 1;
	}
	return 0;
}

const char *web_form_next(const struct req *r, const char *name, size_t *i)
{
	for (; *i < r->nform; (*i)++)
		if (!strcmp(r->form[*i].name, name))
			return r->form[(*i)++].value;
	return NULL;
}

const char *web_form(const struct req *r, const char *name)
{
	size_t i = 0;
	return web_form_next(r, name, &i);
}

bool web_refused(const struct web_refused *x, const char *form)
{
	return x && x->form && !strcmp(x->form, form);
}

const char *web_kept(const struct req *r, const struct web_refused *x, const char *form,
		     const char *field, const char *fallback)
{
	if (!web_refused(x, form))
		return fallback;
	const char *v = web_form(r, field);
	return v ? v : "";
}

int web_csrf_check(struct req *r)
{
	if (r->auth.via == AUTH_TOKEN || r->auth.via == AUTH_TASK)
		return 0; /* not a browser: no ambient credential to abuse */
	const char *got = web_form(r, WEB_CSRF_FIELD);
	const char *want = r->auth.via == AUTH_SESSION
				   ? session_csrf_token(r->arena, r->auth.token_id)
				   : req_cookie(r, WEB_PRE_COOKIE);
	if (!ct_str_equal(got, want))
		return err_set(&r->err, ERR_PERM, "csrf_failed",
			       "the form has expired or was sent from another site; reload the page "
			       "and send it again");
	return 0;
}
