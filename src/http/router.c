/* router.c — route matching, URL decoding, and the request/response
 * helpers handlers use. Pure: no libmicrohttpd here. */
#include "http/http.h"
#include "base/config.h"
#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *url_decode(struct arena *a, const char *s, size_t len, bool plus_space)
{
	char *out = arena_alloc(a, len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return NULL;
			unsigned char byte;
			if (hex_decode(&byte, s + i + 1, 1))
				return NULL;
			c = (char)byte;
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0')
			return NULL;
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* Matches one pattern; fills params on success. */
static bool match(const char *pat, struct req *r)
{
	const char *p = pat, *u = r->path;
	size_t n = 0;
	while (*p) {
		if (*p == '*') {
			/* rest of the path, possibly empty; a leading '/' of the rest
			 * was consumed by the pattern's own '/' */
			if (n >= 8)
				return false;
			char *v = url_decode(r->arena, u, strlen(u), false);
			if (!v)
				return false;
			r->param_names[n] = p + 1;
			r->params[n++] = v;
			r->nparams = n;
			return true;
		}
		if (*p == ':') {
			const char *name = ++p;
			while (*p && *p != '/' && *p != '.')
				p++;
			size_t namelen = (size_t)(p - name);
			const char *suffix = p;
			while (*p && *p != '/')
				p++;
			size_t suflen = (size_t)(p - suffix);
			const char *seg_end = strchr(u, '/');
			if (!seg_end)
				seg_end = u + strlen(u);
			size_t seglen = (size_t)(seg_end - u);
			if (seglen <= suflen || memcmp(seg_end - suflen, suffix, suflen))
				return false;
			if (n >= 8)
				return false;
			char *v = url_decode(r->arena, u, seglen - suflen, false);
			if (!v || !*v)
				return false;
			r->param_names[n] = arena_strndup(r->arena, name, namelen);
			r->params[n++] = v;
			u = seg_end;
			continue;
		}
		if (*p != *u) {
			/* a trailing star pattern also matches its bare prefix, with an empty rest */
			if (*u == '\0' && p[0] == '/' && p[1] == '*') {
				p++;
				continue;
			}
			return false;
		}
		p++;
		u++;
	}
	if (*u)
		return false;
	r->nparams = n;
	return true;
}

enum route_match route_find(const struct route *table, struct req *r, const struct route **out,
			    unsigned *allowed)
{
	unsigned method = r->method == HTTP_HEAD ? HTTP_GET : r->method;
	unsigned allow = 0;
	/* the fallbacks (catch-alls) only for a path no other route takes:
	 * a known path with the wrong method stays a 405, and a method no
	 * fallback takes is no route at all */
	for (int fallback = 0; fallback < 2 && !allow; fallback++) {
		for (const struct route *rt = table; rt->pattern; rt++) {
			if (!(rt->flags & ROUTE_FALLBACK) != !fallback)
				continue;
			r->nparams = 0;
			if (!match(rt->pattern, r))
				continue;
			if (rt->methods & method) {
				*out = rt;
				return MATCH_OK;
			}
			if (!fallback)
				allow |= rt->methods;
		}
	}
	r->nparams = 0;
	if (allowed)
		*allowed = allow;
	return allow ? MATCH_METHOD : MATCH_NONE;
}

static const char *kv_get(const struct kv *kv, size_t n, const char *name, bool icase)
{
	for (size_t i = 0; i < n; i++)
		if (icase ? !strcasecmp(kv[i].name, name) : !strcmp(kv[i].name, name))
			return kv[i].value;
	return NULL;
}

const char *req_header(const struct req *r, const char *name)
{
	return kv_get(r->headers, r->nheaders, name, true);
}

const char *req_query(const struct req *r, const char *name)
{
	return kv_get(r->query, r->nquery, name, false);
}

const char *req_param(const struct req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (!strcmp(r->param_names[i], name))
			return r->params[i];
	return NULL;
}

const char *req_cookie(const struct req *r, const char *name)
{
	const char *h = req_header(r, "Cookie");
	size_t nlen = strlen(name);
	while (h && *h) {
		while (*h == ' ' || *h == ';')
			h++;
		const char *end = strchr(h, ';');
		if (!end)
			end = h + strlen(h);
		if ((size_t)(end - h) > nlen && !strncmp(h, name, nlen) && h[nlen] == '=')
			return arena_strndup(r->arena, h + nlen + 1, (size_t)(end - h) - nlen - 1);
		h = end;
	}
	return NULL;
}

void resp_header(struct resp *w, const char *name, const char *value)
{
	for (size_t i = 0; i < w->nheaders; i++)
		if (!strcasecmp(w->headers[i].name, name)) {
			w->headers[i].value = arena_strdup(w->arena, value);
			return;
		}
	if (w->nheaders >= sizeof(w->headers) / sizeof(w->headers[0]))
		die("resp_header: too many headers");
	w->headers[w->nheaders].name = name;
	w->headers[w->nheaders++].value = arena_strdup(w->arena, value);
}

void resp_json(struct resp *w, int status, json_t *j)
{
	w->status = status;
	w->content_type = "application/json";
	buf_reset(&w->body);
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		die("resp_json: cannot encode");
	buf_adds(&w->body, s);
	buf_addch(&w->body, '\n');
	free(s);
	json_decref(j);
}

void resp_text(struct resp *w, int status, const char *content_type, const char *data, size_t len)
{
	w->status = status;
	w->content_type = content_type;
	buf_reset(&w->body);
	buf_add(&w->body, data, len);
}

void resp_error(struct resp *w, const struct req *r)
{
	int code = r->err.code ? r->err.code : ERR_INTERNAL;
	const char *slug = r->err.code ? r->err.slug : "internal";
	const char *msg = r->err.code ? r->err.msg : "internal error";
	json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", slug, "message", msg);
	if (!j) /* a message quoting bytes that are not UTF-8 must not take the server down */
		j = json_pack("{s:{s:s,s:s}}", "error", "code", slug, "message", "invalid input");
	w->stream = NULL;
	w->cacheable = false;
	resp_json(w, err_http_status(code), j);
	resp_header(w, "Cache-Control", "no-store");
}

enum http_method http_method_parse(const char *s)
{
	static const struct {
		const char *name;
		enum http_method m;
	} t[] = { { "GET", HTTP_GET },        { "HEAD", HTTP_HEAD },   { "POST", HTTP_POST },
		  { "PUT", HTTP_PUT },        { "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE },
		  { "OPTIONS", HTTP_OPTIONS } };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].name))
			return t[i].m;
	return 0;
}

const char *http_method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_HEAD: return "HEAD";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_PATCH: return "PATCH";
	case HTTP_DELETE: return "DELETE";
	case HTTP_OPTIONS: return "OPTIONS";
	}
	return "?";
}
void resp_cookie(struct resp *w, const char *name, const char *value, long max_age,
		 const char *same_site)
{
	bool secure = cfg.public_url && !strncasecmp(cfg.public_url, "https://", 8);
	char age[32] = "";
	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%ld", max_age);
	const char *v = arena_printf(w->arena, "%s=%s; Path=/%s; HttpOnly; SameSite=%s%s", name,
				     value, age, same_site, secure ? "; Secure" : "");
	/* one Set-Cookie per cookie (resp_header keeps one header per name):
	 * a cookie set again replaces its own line only */
	size_t n = strlen(name);
	for (size_t i = 0; i < w->nheaders; i++)
		if (!strcasecmp(w->headers[i].name, "Set-Cookie") &&
		    !strncmp(w->headers[i].value, name, n) && w->headers[i].value[n] == '=') {
			w->headers[i].value = v;
			return;
		}
	if (w->nheaders >= sizeof(w->headers) / sizeof(w->headers[0]))
		die("resp_cookie: too many headers");
	w->headers[w->nheaders].name = "Set-Cookie";
	w->headers[w->nheaders++].value = v;
}

void resp_immutable(const struct req *r, struct resp *w, const char *etag)
{
	bool priv = r->private_data;
	resp_header(w, "ETag", arena_printf(w->arena, "\"%s\"", etag));
	resp_header(w, "Cache-Control",
		    priv ? "private, max-age=31536000, immutable"
			 : "public, max-age=31536000, immutable");
	w->cacheable = true;
}

void resp_short_cache(const struct req *r, struct resp *w, int seconds)
{
	bool priv = r->private_data;
	resp_header(w, "Cache-Control",
		    arena_printf(w->arena, "%s, max-age=%d", priv ? "private" : "public", seconds));
}

void resp_no_cache(const struct req *r, struct resp *w)
{
	resp_header(w, "Cache-Control", r->private_data ? "private, no-cache" : "no-cache");
}

int req_param_int(int64_t *out, const struct req *r, const char *name)
{
	return parse_i64(req_param(r, name), 1, INT64_MAX, out);
}

int req_query_int(int64_t *out, const struct req *r, const char *name, int64_t min, int64_t max)
{
	const char *v = req_query(r, name);
	if (!v || !*v)
		return 1;
	return parse_i64(v, min, max, out);
}
