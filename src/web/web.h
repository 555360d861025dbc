/* web.h — the HTML pages: the page frame every page is written into, the
 * form and CSRF helpers, errors as pages, and the page handlers (one file
 * per area: home.c, repo.c, browse.c, issues.c, pulls.c, runs.c,
 * settings.c). Pages are routes in the one table (api/routes.c) with
 * ROUTE_HTML; the dispatcher (api/dispatch.c) enforces their flags, parses
 * form bodies, checks the CSRF field and renders errors with
 * web_error_page. Handlers call the domain (forge/) exactly as the JSON
 * API does and write HTML through web/html.h only. */
#ifndef PLUE_WEB_H
#define PLUE_WEB_H

#include "forge/forge.h"
#include "forge/repo.h"
#include "http/http.h"
#include "web/html.h"

/* The CSRF form field every POST form carries (page_csrf_field). */
#define WEB_CSRF_FIELD "_csrf"
/* The pre-session CSRF cookie: forms shown to someone not signed in yet
 * (sign in, register) carry its value; SameSite=Strict keeps a cross-site
 * form from sending it (login CSRF). */
#define WEB_PRE_COOKIE "plue_csrf"

/* A view: a page being written: the frame (head, navigation, a repository's
 * header and tabs) around what the handler writes into b. */
struct view {
	struct req *r;
	struct resp *w;
	struct buf *b; /* = &w->body */
	struct repo *repo;
};

/* Starts a page titled title (escaped) with the site navigation; when
 * r->repo is set and tab is not NULL, the repository's header and its tabs
 * with tab ("code", "issues", "pulls", "runs", "sessions", "settings")
 * selected. */
void page_begin(struct view *p, struct req *r, struct resp *w, const char *title, const char *tab);
/* Ends the page: footer, 200 (unless status was set), text/html, the
 * Content-Security-Policy and caching that fits (private when signed in
 * or private data; no-cache unless the handler set caching). Returns 0. */
int page_end(struct view *p);
/* The security headers of every page (its Content-Security-Policy,
 * nosniff, the referrer policy): page_end sets them, and the dispatcher on
 * a page it serves from the object cache. */
void web_page_headers(struct resp *w);
/* 303 See Other to url (a site-relative path we built). Returns 0. */
int page_redirect(struct resp *w, const char *url);
/* The CSRF token of the caller's forms: the session's when signed in,
 * else the pre-session cookie's (set on w when absent). */
const char *page_csrf(struct req *r, struct resp *w);
/* <input type=hidden name=_csrf value=...>. */
void page_csrf_field(struct view *p);
/* <form method=post action=ACTION class=inline> with its CSRF field; the
 * caller writes the controls and "</form>". action is escaped. */
void page_form_open(struct view *p, const char *action);
/* The message of a refused form, beside the field it concerns: writes
 * <p class="error" role="alert" id="FIELD-error">msg</p> when r->err is set
 * and its message should sit beside field (the caller decides). */
void page_field_error(struct view *p, const char *field, const char *msg);
/* A refused form's message, taken for the page that shows the form again:
 * sets w's status from rc (r->err's code), returns r->err's message copied
 * into r's arena and clears r->err, so the page, not the error page, is
 * answered. Which refusals a form shows this way is the caller's choice. */
const char *page_err_take(struct req *r, struct resp *w, int rc);
/* A relative time ("3 minutes ago") of an ISO-8601 timestamp, inside
 * <time datetime=...>. */
void page_time(struct view *p, const char *iso);
/* The Markdown of a body, rendered safely, inside <div class="markdown">;
 * #N and @user link within r->repo when set. */
void page_markdown(struct view *p, const char *md);
/* A user's name as a link to their profile. */
void page_user(struct view *p, const char *username);
/* <table> with caption (muted), a header row of cols (a NULL-ended list;
 * "" for the muted "Actions" column) and <tbody>: the caller writes the
 * rows and "</tbody></table>". Texts are escaped. */
void page_table_open(struct view *p, const char *caption, const char *const *cols);
/* One link of a navigation between pages (page_subnav): its URL (a
 * site-relative path we built, escaped again for the attribute), its label
 * (escaped) and whether it is the page shown. */
struct page_tab {
	const char *href, *label;
	bool current;
};
/* <nav class=CLS aria-label=LABEL> (both ours) with a link per tab, the
 * current one marked aria-current="page": the repository's tabs, the
 * settings pages, a pull request's tabs, a list's states. */
void page_subnav(struct view *p, const char *cls, const char *label, const struct page_tab *tabs,
		 size_t n);
/* A repository's URL into b: "/OWNER/REPO", each name escaped for a URL
 * path, then suffix (ours, a literal such as "/issues" or "/runs?before=";
 * NULL: none). Every page that links within a repository builds its
 * links on this. */
void page_repo_url(struct buf *b, const struct repo *rp, const char *suffix);
/* The same URL as a string in r's arena (a form's action, a redirect). */
const char *page_repo_path(struct req *r, const struct repo *rp, const char *suffix);

/* The error page for r->err (its status, what happened, what to do),
 * written into w. The dispatcher calls it for every ROUTE_HTML failure. */
void web_error_page(struct req *r, struct resp *w);
/* The dispatcher's checks for pages: parses an
 * application/x-www-form-urlencoded body into r->form (0, or ERR_INVALID)
 * and compares its _csrf field with page_csrf's token (0, or ERR_PERM
 * "csrf_failed"). */
int web_form_parse(struct req *r);
int web_csrf_check(struct req *r);

/* Form fields (after web_form_parse): the first value of name, or NULL;
 * web_form_next walks every value of a repeated field (checkboxes) from
 * *i (start at 0), NULL at the end. */
const char *web_form(const struct req *r, const char *name);
const char *web_form_next(const struct req *r, const char *name, size_t *i);
/* A refused form re-rendered: which form (a name its page chooses) and
 * the refusal's message. web_refused: x is form's refusal (x may be NULL).
 * web_kept: field as the refused post gave it ("" when absent) if x is
 * form's refusal, else fallback. */
struct web_refused {
	const char *form;
	const char *msg;
};
bool web_refused(const struct web_refused *x, const char *form);
const char *web_kept(const struct req *r, const struct web_refused *x, const char *form,
		     const char *field, const char *fallback);

/* ---- static assets (web/static.c): the stylesheet and scripts, built
 * into the binary ---- */
/* The URL of a static asset with its content hash ("/static/plue.css?v=..."),
 * which makes the response immutable. */
const char *web_static_url(const char *name);
int web_static(struct req *r, struct resp *w);

/* ---- pages (one file per area) ---- */
/* home.c: home, sign in/up/out, profiles, the 404 of unknown paths */
int web_home(struct req *r, struct resp *w);
int web_login_form(struct req *r, struct resp *w);
int web_login(struct req *r, struct resp *w);
int web_register_form(struct req *r, struct resp *w);
int web_register(struct req *r, struct resp *w);
int web_logout(struct req *r, struct resp *w);
int web_logout_all(struct req *r, struct resp *w);
int web_profile(struct req *r, struct resp *w);
int web_not_found(struct req *r, struct resp *w);

#endif
