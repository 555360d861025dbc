/* home.c — the pages around the repositories: home, signing in and up
 * (password and Ethereum), signing out, user profiles, and the page for
 * an address nothing answers. */
#include "web/web.h"

#include <string.h>

#include "api/api.h"
#include "auth/password.h"
#include "auth/session.h"
#include "base/util.h"
#include "forge/activity.h"
#include "forge/issues.h"
#include "forge/users.h"

/* Where to go after signing in: a site-relative path we may redirect to,
 * never another site ("//host", "/\host"). */
static const char *next_of(const struct req *r)
{
	const char *n = r->method == HTTP_POST ? web_form(r, "next") : req_query(r, "next");
	if (!n || n[0] != '/' || n[1] == '/' || n[1] == '\\' || strpbrk(n, "\r\n"))
		return "/";
	return n;
}

static void repo_row(struct view *p, const struct repo *rp, bool with_owner)
{
	struct buf *b = p->b;
	html_lit(b, "<li><a href=\"");
	page_repo_url(b, rp, NULL);
	html_lit(b, "\"><strong>");
	if (with_owner) {
		html_txt(b, rp->owner);
		html_lit(b, " / ");
	}
	html_txt(b, rp->name);
	html_lit(b, "</strong></a>");
	if (rp->is_private)
		html_lit(b, " <span class=\"badge\">private</span>");
	if (rp->description && *rp->description) {
		html_lit(b, "<div class=\"mute\">");
		html_txt(b, rp->description);
		html_lit(b, "</div>");
	}
	html_lit(b, "</li>");
}

/* How many of each list the home page shows. */
#define HOME_REPOS 50
#define HOME_ACTIVITY 30
#define HOME_ISSUES 20
#define HOME_MENTIONS 10
#define HOME_PUBLIC 30
/* How many events a profile page shows. */
#define PROFILE_ACTIVITY 30

/* The public list's cursor in the URL: "KEY-ID" in decimal (the update
 * time in microseconds and the repository's id). */
static int public_cursor(struct req *r, struct cursor *out)
{
	const char *c = req_query(r, "cursor");
	*out = (struct cursor){ 0 };
	if (!c || !*c)
		return 0;
	const char *dash = strchr(c, '-');
	int64_t key, id;
	if (!dash || dash == c || dash - c > 20 ||
	    parse_i64(arena_strndup(r->arena, c, (size_t)(dash - c)), 0, INT64_MAX, &key) ||
	    parse_i64(dash + 1, 1, INT64_MAX, &id))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor",
			       "cursor '%.40s' is not valid for this list", c);
	*out = (struct cursor){ true, key, id };
	return 0;
}

static int home_public(struct view *p)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	struct cursor after, next;
	struct repo_list list;
	int rc;
	if ((rc = public_cursor(r, &after)) ||
	    (rc = repo_list_public(&list, &next, FORGE(r), HOME_PUBLIC, &after)))
		return rc;
	html_lit(b, "<h1>plue</h1><p>A self-hosted forge: git hosting, issues, pull "
		    "requests, workflows and agents. <a href=\"/login\">Sign in</a> or "
		    "<a href=\"/register\">create an account</a>.</p>"
		    "<h2 id=\"public\">Public repositories</h2><ul class=\"list\" "
		    "aria-labelledby=\"public\">");
	for (size_t i = 0; i < list.n; i++)
		repo_row(p, list.items[i], true);
	if (!list.n)
		html_lit(b, "<li class=\"mute\">No public repositories yet.</li>");
	html_lit(b, "</ul>");
	if (after.set || next.set) {
		html_lit(b, "<nav class=\"pager\" aria-label=\"pages\">");
		if (after.set)
			html_lit(b, "<a href=\"/\">Newest</a>");
		if (next.set) {
			html_lit(b, "<a rel=\"next\" href=\"/?cursor=");
			html_txtf(b, "%lld-%lld", next.key, next.id);
			html_lit(b, "\">Older</a>");
		}
		html_lit(b, "</nav>");
	}
	return 0;
}

static void repo_link(struct buf *b, const char *owner, const char *name, const char *suffix)
{
	html_lit(b, "<a href=\"/");
	html_path(b, owner, 0);
	html_lit(b, "/");
	html_path(b, name, 0);
	if (suffix)
		html_path(b, suffix, 1);
	html_lit(b, "\">");
}

/* "/issues/N" or "/pull/N". */
static const char *issue_suffix(struct arena *a, bool is_pull, int64_t number)
{
	return arena_printf(a, "/%s/%lld", is_pull ? "pull" : "issues", (long long)number);
}

/* One event of the activity list: who did what where, and when. */
static void activity_row(struct view *p, const struct activity *e)
{
	struct buf *b = p->b;
	struct arena *a = p->r->arena;
	html_lit(b, "<li>");
	page_user(p, e->actor);
	html_lit(b, " ");
	if (!strcmp(e->type, "push")) {
		const char *ref = e->ref ? e->ref : "";
		bool branch = !strncmp(ref, "refs/heads/", 11),
		     tag = !strncmp(ref, "refs/tags/", 10);
		const char *short_ref = branch ? ref + 11 : tag ? ref + 10 : ref;
		html_lit(b, e->deleted ? "deleted " : "pushed to ");
		html_lit(b, tag ? "tag " : "branch ");
		if (e->deleted || !branch) {
			html_lit(b, "<code>");
			html_txt(b, short_ref);
			html_lit(b, "</code>");
		} else {
			repo_link(b, e->owner, e->repo, arena_printf(a, "/tree/%s", short_ref));
			html_lit(b, "<code>");
			html_txt(b, short_ref);
			html_lit(b, "</code></a>");
		}
		html_lit(b, " in ");
	} else {
		const char *what = e->is_pull ? "pull request" : "issue";
		if (!strcmp(e->type, "issue.comment"))
			html_txtf(b, "commented on %s ", what);
		else if (!strcmp(e->type, "pull_request.review"))
			html_lit(b, "reviewed pull request ");
		else
			html_txtf(b, "%s %s ", e->action ? e->action : "changed", what);
		repo_link(b, e->owner, e->repo, issue_suffix(a, e->is_pull, e->number));
		html_txtf(b, "#%lld", (long long)e->number);
		if (e->title) {
			html_lit(b, " ");
			html_txt(b, e->title);
		}
		html_lit(b, "</a> in ");
	}
	repo_link(b, e->owner, e->repo, NULL);
	html_txt(b, e->owner);
	html_lit(b, "/");
	html_txt(b, e->repo);
	html_lit(b, "</a> ");
	page_time(p, e->created_at);
	html_lit(b, "</li>");
}

static int home_signed_in(struct view *p)
{
	struct req *r = p->r;
	struct buf *b = p->b;
	struct forge *f = FORGE(r);
	struct repo_list repos;
	struct activity_list act;
	struct activity_issues mine;
	struct page mentions;
	int rc;
	if ((rc = repo_list_member(&repos, f, HOME_REPOS)) ||
	    (rc = activity_list(&act, f, HOME_ACTIVITY)) ||
	    (rc = activity_issues_authored(&mine, f, HOME_ISSUES)) ||
	    (rc = mentions_list(&mentions, f, HOME_MENTIONS, &(struct cursor){ 0 })))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, mentions.items);

	html_lit(b, "<h1>Home</h1><div class=\"cols\"><div>"
		    "<h2 id=\"activity\">Recent activity</h2><ul class=\"list\" "
		    "aria-labelledby=\"activity\">");
	for (size_t i = 0; i < act.n; i++)
		activity_row(p, &act.items[i]);
	if (!act.n)
		html_lit(b, "<li class=\"mute\">Nothing has happened in your repositories yet.</li>");
	html_lit(b, "</ul><h2 id=\"open-work\">Your open issues and pull requests</h2>"
		    "<ul class=\"list\" aria-labelledby=\"open-work\">");
	for (size_t i = 0; i < mine.n; i++) {
		const struct activity_issue *it = &mine.items[i];
		html_lit(b, "<li>");
		html_lit(b, it->is_pull ? "<span class=\"badge open\">pull request</span> "
					: "<span class=\"badge open\">issue</span> ");
		repo_link(b, it->owner, it->repo, issue_suffix(r->arena, it->is_pull, it->number));
		html_txt(b, it->title);
		html_lit(b, "</a> <span class=\"mute\">");
		html_txt(b, it->owner);
		html_lit(b, "/");
		html_txt(b, it->repo);
		html_txtf(b, "#%lld", (long long)it->number);
		html_lit(b, "</span> ");
		page_time(p, it->updated_at);
		html_lit(b, "</li>");
	}
	if (!mine.n)
		html_lit(b, "<li class=\"mute\">You have no open issues or pull requests.</li>");
	html_lit(b, "</ul><h2 id=\"mentions\">Mentions</h2><ul class=\"list\" "
		    "aria-labelledby=\"mentions\">");
	size_t i;
	json_t *m;
	json_array_foreach(mentions.items, i, m)
	{
		json_t *is = json_object_get(m, "issue");
		const char *full = json_string_value(json_object_get(m, "repository"));
		const char *slash = full ? strchr(full, '/') : NULL;
		if (!slash)
			continue;
		const char *owner = arena_strndup(r->arena, full, (size_t)(slash - full));
		int64_t number = json_integer_value(json_object_get(is, "number"));
		bool is_pull = json_is_true(json_object_get(is, "pull_request"));
		html_lit(b, "<li>");
		page_user(p, json_string_value(json_object_get(m, "by")));
		html_lit(b, " mentioned you in ");
		repo_link(b, owner, slash + 1, issue_suffix(r->arena, is_pull, number));
		html_txt(b, json_string_value(json_object_get(is, "title")));
		html_lit(b, "</a> <span class=\"mute\">");
		html_txt(b, full);
		html_txtf(b, "#%lld", (long long)number);
		html_lit(b, "</span> ");
		page_time(p, json_string_value(json_object_get(m, "created_at")));
		html_lit(b, "</li>");
	}
	if (!json_array_size(mentions.items))
		html_lit(b, "<li class=\"mute\">No one has mentioned you yet.</li>");
	html_lit(b, "</ul></div><aside aria-labelledby=\"repos\"><h2 id=\"repos\">Your "
		    "repositories</h2><p><a class=\"button\" href=\"/new\">New repository</a></p>"
		    "<ul class=\"list\">");
	for (size_t k = 0; k < repos.n; k++)
		repo_row(p, repos.items[k], true);
	if (!repos.n)
		html_lit(b, "<li class=\"mute\">No repositories yet.</li>");
	html_lit(b, "</ul></aside></div>");
	return 0;
}

int web_home(struct req *r, struct resp *w)
{
	struct view p;
	page_begin(&p, r, w, r->auth.user_id ? "Home" : "Welcome", NULL);
	int rc = r->auth.user_id ? home_signed_in(&p) : home_public(&p);
	if (rc)
		return rc;
	return page_end(&p);
}

/* ---- signing in ---- */

/* The sign-in form, with err's message beside it when a try was refused
 * and the name kept. */
static int login_page(struct req *r, struct resp *w, const char *username, const char *msg)
{
	struct view p;
	page_begin(&p, r, w, "Sign in", NULL);
	struct buf *b = p.b;
	html_lit(b, "<h1>Sign in</h1><form method=\"post\" action=\"/login\" class=\"stack\">");
	page_csrf_field(&p);
	html_lit(b, "<input type=\"hidden\" name=\"next\" value=\"");
	html_attr(b, next_of(r));
	html_lit(b, "\">");
	page_field_error(&p, "login", msg);
	html_lit(b, "<label for=\"username\">Username</label><input id=\"username\" "
		    "name=\"username\" autocomplete=\"username\" required value=\"");
	html_attr(b, username ? username : "");
	html_lit(b,
		 "\"><label for=\"password\">Password</label><input id=\"password\" "
		 "name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
		 "<p><button>Sign in</button></p></form>"
		 "<h2>Or with an Ethereum wallet</h2>"
		 "<p><button id=\"siwe\" class=\"secondary\" type=\"button\" hidden data-next=\"");
	html_attr(b, next_of(r));
	html_lit(b, "\">Sign in with Ethereum</button> <span id=\"siwe-status\" role=\"status\">"
		    "</span></p><noscript><p class=\"mute\">Signing in with a wallet needs "
		    "JavaScript.</p></noscript>"
		    "<p>New here? <a href=\"/register\">Create an account</a>.</p>");
	return page_end(&p);
}

int web_login_form(struct req *r, struct resp *w)
{
	if (r->auth.user_id)
		return page_redirect(w, next_of(r));
	return login_page(r, w, NULL, NULL);
}

static int signed_in(struct req *r, struct resp *w, const struct user_signin *s)
{
	session_cookie_set(w, s->session.jwt);
	return page_redirect(w, next_of(r));
}

int web_login(struct req *r, struct resp *w)
{
	const char *username = web_form(r, "username"), *password = web_form(r, "password");
	struct user_client c = api_client(r);
	struct user_signin s;
	if (!username || !*username || !password || !*password) {
		w->status = 400;
		return login_page(r, w, username, "enter your username and password");
	}
	int rc = user_login(&s, FORGE(r), username, password, &c);
	if (rc == ERR_RATELIMIT)
		resp_header(w, "Retry-After", arena_printf(r->arena, "%d", s.retry_after));
	if (rc == ERR_AUTH || rc == ERR_RATELIMIT || rc == ERR_INVALID) {
		return login_page(r, w, username, page_err_take(r, w, rc));
	}
	if (rc)
		return rc;
	return signed_in(r, w, &s);
}

/* ---- registering ---- */

static int register_page(struct req *r, struct resp *w, const char *field, const char *msg)
{
	struct view p;
	page_begin(&p, r, w, "Create an account", NULL);
	struct buf *b = p.b;
	bool first = false;
	if (user_any(&first, FORGE(r)) == 0)
		first = !first;
	html_lit(b, "<h1>Create an account</h1>");
	if (first)
		html_lit(b, "<p class=\"notice\">No account exists yet. The first account is an "
			    "ordinary one; to make it the site's administrator, run <code>plue "
			    "admin set-admin USERNAME</code> on the server afterwards.</p>");
	html_lit(b, "<form method=\"post\" action=\"/register\" class=\"stack\">");
	page_csrf_field(&p);
	html_lit(b, "<input type=\"hidden\" name=\"next\" value=\"");
	html_attr(b, next_of(r));
	html_lit(b, "\">");
	if (field && !strcmp(field, "form"))
		page_field_error(&p, "form", msg);
	html_lit(b, "<label for=\"username\">Username</label>");
	if (field && !strcmp(field, "username"))
		page_field_error(&p, "username", msg);
	html_lit(b, "<input id=\"username\" name=\"username\" autocomplete=\"username\" required "
		    "value=\"");
	html_attr(b, r->method == HTTP_POST ? web_form(r, "username") : "");
	html_lit(b, "\"><label for=\"email\">Email <span class=\"mute\">(optional)</span></label>");
	if (field && !strcmp(field, "email"))
		page_field_error(&p, "email", msg);
	html_lit(b, "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" "
		    "value=\"");
	html_attr(b, r->method == HTTP_POST ? web_form(r, "email") : "");
	html_lit(b, "\"><label for=\"password\">Password</label>");
	if (field && !strcmp(field, "password"))
		page_field_error(&p, "password", msg);
	html_lit(b, "<input id=\"password\" name=\"password\" type=\"password\" "
		    "autocomplete=\"new-password\" required><p><button>Create account</button></p>"
		    "</form><p>Have an account? <a href=\"/login\">Sign in</a>.</p>");
	return page_end(&p);
}

int web_register_form(struct req *r, struct resp *w)
{
	if (r->auth.user_id)
		return page_redirect(w, "/");
	return register_page(r, w, NULL, NULL);
}

int web_register(struct req *r, struct resp *w)
{
	const char *username = web_form(r, "username"), *password = web_form(r, "password");
	const char *email = web_form(r, "email");
	struct user_client c = api_client(r);
	struct user_signin s;
	int retry = 0, rc;
	if ((rc = user_register_throttle(&retry, FORGE(r), &c))) {
		if (rc != ERR_RATELIMIT)
			return rc;
		resp_header(w, "Retry-After", arena_printf(r->arena, "%d", retry));
	} else if (!username || !password) {
		rc = err_set(&r->err, ERR_INVALID, "missing_field",
			     "enter a username and a password");
	} else {
		rc = user_register(&s, FORGE(r), username, password, email, &c);
	}
	if (!rc)
		return signed_in(r, w, &s);
	if (rc != ERR_INVALID && rc != ERR_EXISTS && rc != ERR_RATELIMIT)
		return rc;
	/* the domain's message names what was wrong; put it beside that field */
	const char *msg = page_err_take(r, w, rc);
	const char *field = strstr(msg, "password")   ? "password"
			    : strstr(msg, "email")    ? "email"
			    : strstr(msg, "username") ? "username"
						      : "form";
	return register_page(r, w, field, msg);
}

/* ---- signing out ---- */

int web_logout(struct req *r, struct resp *w)
{
	if (r->auth.via == AUTH_SESSION) {
		int rc = user_signout(FORGE(r));
		if (rc)
			return rc;
	}
	session_cookie_clear(w);
	return page_redirect(w, "/");
}

int web_logout_all(struct req *r, struct resp *w)
{
	int rc = user_signout_all(NULL, FORGE(r));
	if (rc)
		return rc;
	session_cookie_clear(w);
	return page_redirect(w, "/login");
}

/* ---- profiles ---- */

/* A person's page: their repositories the viewer may see, and what they
 * did lately in repositories the viewer may read. */
int web_profile(struct req *r, struct resp *w)
{
	struct forge *f = FORGE(r);
	const char *name = req_param(r, "owner");
	int64_t uid;
	int rc = user_id_find(&uid, f, name);
	if (rc)
		return rc;
	json_t *u;
	if ((rc = user_json_load(&u, f, uid)))
		return rc;
	arena_defer(r->arena, (void (*)(void *))json_decref, u);
	const char *uname = json_string_value(json_object_get(u, "username"));
	struct repo_list list;
	struct activity_list act;
	if ((rc = repo_list(&list, f, uname)) ||
	    (rc = activity_of_user(&act, f, uid, PROFILE_ACTIVITY)))
		return rc;
	struct view p;
	page_begin(&p, r, w, uname, NULL);
	html_lit(p.b, "<h1>");
	html_txt(p.b, uname);
	html_lit(p.b, "</h1>");
	const char *eth = json_string_value(json_object_get(u, "eth_address"));
	if (eth) {
		html_lit(p.b, "<p class=\"mute mono\">");
		html_txt(p.b, eth);
		html_lit(p.b, "</p>");
	}
	html_lit(p.b, "<div class=\"cols\"><div><h2 id=\"repositories\">Repositories <span "
		      "class=\"mute\">");
	html_txtf(p.b, "(%zu)", list.n);
	html_lit(p.b, "</span></h2><ul class=\"list\" aria-labelledby=\"repositories\">");
	for (size_t i = 0; i < list.n; i++)
		repo_row(&p, list.items[i], false);
	if (!list.n)
		html_lit(p.b, "<li class=\"mute\">No repositories you can see.</li>");
	html_lit(p.b, "</ul></div><div><h2 id=\"activity\">Recent activity</h2><ul class=\"list\" "
		      "aria-labelledby=\"activity\">");
	for (size_t i = 0; i < act.n; i++)
		activity_row(&p, &act.items[i]);
	if (!act.n)
		html_lit(p.b, "<li class=\"mute\">No recent activity you can see.</li>");
	html_lit(p.b, "</ul></div></div>");
	return page_end(&p);
}

int web_not_found(struct req *r, struct resp *w)
{
	if (!(r->route->flags & ROUTE_HTML))
		return err_set(&r->err, ERR_NOTFOUND, "no_route", "no route for '%.200s'", r->path);
	return err_set(&r->err, ERR_NOTFOUND, "no_route", "nothing is at '%.200s'", r->path);
}
