/* dispatch.c — the one place route flags are enforced: credentials,
 * repository loading and authorization, JSON bodies, the object cache,
 * conditional requests and error rendering. Handlers run after it and do
 * not re-check. It is the application the HTTP server runs (api_app). */
#include "api/api.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "base/cache.h"
#include "base/util.h"
#include "git/objects.h"
#include "web/web.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* How long the anonymous fast path trusts what it read of a repository.
 * A change through any replica makes every replica forget it before the
 * change is answered (queue/relay.h); the TTL only bounds memory. */
#define HINT_TTL_MS 2000

static const char *hdr(const struct resp *w, const char *name)
{
	for (size_t i = 0; i < w->nheaders; i++)
		if (!strcasecmp(w->headers[i].name, name))
			return w->headers[i].value;
	return NULL;
}

/* If-None-Match against the response's ETag: 304 without a body. */
static void conditional(const struct req *r, struct resp *w)
{
	if (w->status != 200 || w->stream)
		return;
	const char *etag = hdr(w, "ETag");
	const char *inm = req_header(r, "If-None-Match");
	if (!etag || !inm)
		return;
	if (strcmp(inm, "*") && !strstr(inm, etag))
		return;
	w->status = 304;
	buf_reset(&w->body);
	if (w->cached) {
		cache_unref(w->cached);
		w->cached = NULL;
	}
}

/* The repository's visibility is part of the key: a response cached
 * while it was public (Cache-Control: public) is never found once it is
 * private, on this replica or any other. */
static const char *object_key(struct req *r, long long repo_id, bool is_private)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "o:%lld:%c:%s?", repo_id, is_private ? 'p' : 'o', r->path);
	for (size_t i = 0; i < r->nquery; i++)
		buf_addf(&b, "%s=%s&", r->query[i].name, r->query[i].value);
	const char *k = arena_strdup(r->arena, b.ptr);
	buf_release(&b);
	return k;
}

static void fill_from_cache(struct resp *w, const struct cache_entry *e)
{
	w->status = 200;
	w->content_type = e->content_type;
	if (e->etag)
		resp_header(w, "ETag", e->etag);
	if (e->cache_control)
		resp_header(w, "Cache-Control", e->cache_control);
	/* a page keeps its own policy: the API's sandbox would refuse its
	 * stylesheet */
	if (e->content_type && !strncmp(e->content_type, "text/html", 9))
		web_page_headers(w);
	else
		api_content_headers(w);
	w->cached = e;
}

bool api_dispatch_fast(struct req *r, struct resp *w)
{
	if (req_header(r, "Authorization") || req_header(r, "Cookie") || !req_param(r, "owner") ||
	    !req_param(r, "repo"))
		return false;
	int64_t id = 0;
	bool priv = true;
	if (!repo_hint_get(req_param(r, "owner"), req_param(r, "repo"), &id, &priv) || priv || !id)
		return false;
	const struct cache_entry *e = cache_get(object_key(r, (long long)id, false));
	if (!e)
		return false;
	fill_from_cache(w, e);
	conditional(r, w);
	return true;
}

static int parse_json_body(struct req *r)
{
	if (!r->body_len)
		return err_set(&r->err, ERR_INVALID, "invalid_json",
			       "request body must be a JSON object");
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return err_set(&r->err, ERR_INVALID, "invalid_json",
			       "malformed JSON at line %d: %s", je.line, je.text);
	arena_defer(r->arena, (void (*)(void *))json_decref, j);
	if (!json_is_object(j))
		return err_set(&r->err, ERR_INVALID, "invalid_json",
			       "request body must be a JSON object");
	r->json = j;
	return 0;
}

/* Names and query values go to PostgreSQL as text: they must be UTF-8.
 * (A catch-all path capture may hold any bytes: git paths need not be.) */
static int check_encoding(struct req *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		const char *v = r->params[i];
		if (r->route->pattern && strstr(r->route->pattern, "*") &&
		    !strcmp(strrchr(r->route->pattern, '*') + 1, r->param_names[i]))
			continue;
		if (!objects_utf8_valid(v, strlen(v)))
			return err_set(&r->err, ERR_INVALID, "invalid_encoding",
				       "'%s' in the path is not valid UTF-8", r->param_names[i]);
	}
	for (size_t i = 0; i < r->nquery; i++)
		if (!objects_utf8_valid(r->query[i].name, strlen(r->query[i].name)) ||
		    !objects_utf8_valid(r->query[i].value, strlen(r->query[i].value)))
			return err_set(&r->err, ERR_INVALID, "invalid_encoding",
				       "a query parameter is not valid UTF-8");
	return 0;
}

void api_dispatch(struct req *r, struct resp *w)
{
	const struct route *rt = r->route;
	const char *key = NULL;
	bool html = rt->flags & ROUTE_HTML;
	int rc = 0;
	if ((rc = check_encoding(r)))
		goto done;
	if (!r->db && !(rt->flags & ROUTE_NOAUTH)) {
		rc = err_set(&r->err, ERR_UNAVAILABLE, "database_unavailable",
			     "the database is unavailable");
		goto done;
	}
	if (!(rt->flags & (ROUTE_NOAUTH | ROUTE_INTERNAL)) && (rc = auth_resolve(r)))
		goto done;
	if (html && r->method == HTTP_POST) {
		/* a page's form: the CSRF field, for the signed-in and for those
		 * signing in alike (web/web.h) */
		if ((rc = web_form_parse(r)) || (rc = web_csrf_check(r)))
			goto done;
	} else if (r->auth.via == AUTH_SESSION && !(rt->flags & ROUTE_CSRF_EXEMPT) &&
		   (r->method & (HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)) &&
		   (rc = session_csrf_check(r))) {
		goto done;
	}
	if ((rt->flags & ROUTE_AUTH) && !r->auth.user_id) {
		if (html && (r->method & (HTTP_GET | HTTP_HEAD))) {
			struct buf b = BUF_INIT;
			buf_adds(&b, "/login?next=");
			html_query(&b, r->path);
			page_redirect(w, arena_strdup(r->arena, b.ptr));
			buf_release(&b);
			return;
		}
		rc = err_set(&r->err, ERR_AUTH, NULL, "authentication required");
		goto done;
	}
	if (rt->scope && r->auth.via == AUTH_TOKEN && (r->auth.scopes & rt->scope) != rt->scope) {
		rc = err_set(&r->err, ERR_PERM, "insufficient_scope",
			     "this token lacks the %s scope", scope_name(rt->scope));
		goto done;
	}
	if (rt->flags & ROUTE_REPO) {
		unsigned gen = repo_hint_gen();
		rc = repo_load(&r->repo, FORGE(r), req_param(r, "owner"), req_param(r, "repo"));
		if (!rc) {
			enum repo_action act = rt->flags & ROUTE_ADMIN   ? ACT_ADMIN
					       : rt->flags & ROUTE_WRITE ? ACT_WRITE
									 : ACT_READ;
			rc = authz_repo_area(&r->auth, r->repo, act, ROUTE_AREAS(rt->flags), &r->err);
		}
		if (rc)
			goto done;
		r->private_data = r->repo->is_private;
		repo_hint_put(r->repo->owner, r->repo->name, r->repo->id, r->repo->is_private,
			      HINT_TTL_MS, gen);
	}
	if ((rt->flags & ROUTE_JSON) && (rc = parse_json_body(r)))
		goto done;
	/* a page names its signed-in reader in the navigation: only the
	 * anonymous rendering is shared */
	if ((rt->flags & ROUTE_CACHE) && r->repo && !(html && r->auth.user_id)) {
		key = object_key(r, (long long)r->repo->id, r->repo->is_private);
		const struct cache_entry *e = cache_get(key);
		if (e) {
			fill_from_cache(w, e);
			goto done;
		}
	}
	rc = rt->handler(r, w);
	if (!rc && key && w->cacheable && w->status == 200 && !w->stream)
		cache_put(key, w->body.ptr, w->body.len, w->content_type, hdr(w, "ETag"),
			  hdr(w, "Cache-Control"), 0);
done:
	if (rc && html) {
		if (!r->err.code)
			err_set(&r->err, rc, NULL, "internal error");
		web_error_page(r, w);
	} else if (rc) {
		if (!r->err.code)
			err_set(&r->err, rc, NULL, "internal error");
		bool git = rt->flags & ROUTE_GIT;
		if (git && !r->auth.user_id && (rc == ERR_NOTFOUND || rc == ERR_AUTH)) {
			/* git prompts for credentials on 401; asking the same of every
			 * anonymous caller reveals nothing about private names */
			err_clear(&r->err);
			err_set(&r->err, ERR_AUTH, NULL, "authentication required");
		}
		resp_error(w, r);
		if (r->err.code == ERR_AUTH)
			resp_header(w, "WWW-Authenticate",
				    git ? "Basic realm=\"plue\"" : "Bearer realm=\"plue\"");
		if (git) {
			/* git shows text/plain error bodies to the user */
			const char *m = arena_printf(w->arena, "%s\n", r->err.msg);
			resp_text(w, w->status, "text/plain; charset=utf-8", m, strlen(m));
		}
	}
	conditional(r, w);
}

const struct http_app api_app = {
	.routes = app_routes,
	.dispatch = api_dispatch,
	.dispatch_fast = api_dispatch_fast,
};
