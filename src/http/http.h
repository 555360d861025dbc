/* http.h — the request/response types handlers see, the route table, and
 * the stream interface for bodies that must not be held in memory.
 * Handlers never see libmicrohttpd: they take a struct req and fill a
 * struct resp, so unit tests can call them without a socket. */
#ifndef PLUE_HTTP_H
#define PLUE_HTTP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "auth/identity.h"
#include "base/err.h"

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
	HTTP_OPTIONS = 1 << 6,
};

struct kv {
	const char *name;
	const char *value;
};

struct route;
struct repo; /* the repository a ROUTE_REPO route names (forge/repo.h) */
struct http_stream;
struct cache_entry;

struct req {
	struct arena *arena;
	enum http_method method;
	const char *path;      /* raw path, percent-escapes intact */
	const char *params[8]; /* decoded captures, in pattern order */
	const char *param_names[8];
	size_t nparams;
	struct kv *headers;
	size_t nheaders;
	struct kv *query; /* decoded */
	size_t nquery;
	const char *body; /* NUL-terminated copy, or NULL */
	size_t body_len;
	json_t *json;     /* parsed body for ROUTE_JSON routes (arena-owned ref) */
	struct kv *form;  /* decoded form fields of ROUTE_HTML posts (web/web.h) */
	size_t nform;
	const char *csrf; /* the page's CSRF token, once known (web/page.c) */
	const char *remote_ip;
	struct auth auth;
	struct repo *repo; /* set for ROUTE_REPO routes (by the application) */
	bool private_data; /* responses are never `public` (a private repository's) */
	struct err err;
	PGconn *db;        /* the worker's connection; NULL on the event thread */
	const struct route *route;
	int64_t started_ms;
};

struct resp {
	struct arena *arena;
	int status;
	const char *content_type;
	struct kv headers[24];
	size_t nheaders;
	struct buf body;
	struct http_stream *stream;       /* set instead of body for streamed responses */
	bool cacheable;                   /* immutable: may be kept in the object cache */
	const struct cache_entry *cached; /* body sent straight from the cache (server unrefs) */
};

/* Route flags, enforced by the dispatcher before a handler runs. */
enum {
	ROUTE_AUTH = 1 << 0,         /* must be signed in */
	ROUTE_REPO = 1 << 1,         /* loads :owner/:repo, caller must be able to read */
	ROUTE_WRITE = 1 << 2,        /* with ROUTE_REPO: caller must be able to write */
	ROUTE_ADMIN = 1 << 3,        /* with ROUTE_REPO: caller must administer it */
	ROUTE_JSON = 1 << 4,         /* body must be a JSON object; parsed into req.json */
	ROUTE_CACHE = 1 << 5,        /* response may be served from the object cache */
	ROUTE_GIT = 1 << 6,          /* git client: anonymous refusals become 401 challenges */
	ROUTE_STREAM = 1 << 7,       /* body streams to the handler's http_stream */
	ROUTE_INTERNAL = 1 << 8,     /* runner protocol; auth is the handler's */
	ROUTE_NOAUTH = 1 << 9,       /* credentials are not looked at (health) */
	ROUTE_CSRF_EXEMPT = 1 << 10, /* cookie writes allowed without a CSRF token */
	ROUTE_HTML = 1 << 15,        /* a page: errors are pages, form bodies, the CSRF field */
	ROUTE_FALLBACK = 1 << 16,    /* tried (in order) only when no route without this flag
	                                takes the path at all, whatever the method */
	/* with ROUTE_WRITE: the areas the route writes (AREA_* << 11); a task
	 * token needs the permission of each, and none is a task token's */
	ROUTE_W_CONTENTS = AREA_CONTENTS << 11,
	ROUTE_W_ISSUES = AREA_ISSUES << 11,
	ROUTE_W_PULLS = AREA_PULLS << 11,
	ROUTE_W_STATUSES = AREA_STATUSES << 11,
};
/* The AREA_* bits of a route's flags. */
#define ROUTE_AREAS(flags) (((flags) >> 11) & 0xfu)

typedef int (*handler_fn)(struct req *r, struct resp *w);

struct route {
	unsigned methods;    /* HTTP_* mask; GET routes also answer HEAD */
	const char *pattern; /* "/api/repos/:owner/:repo", ":repo.git", "*rest" */
	handler_fn handler;
	unsigned flags;
	unsigned scope;  /* SCOPE_* a token needs, 0 for the route's default */
	size_t max_body; /* 0: the default cap (1 MiB) */
};

/* Streams: a producer/consumer pair between the connection and a worker
 * (a git subprocess). All functions are called on the event thread except
 * where noted; `wake` resumes the suspended connection from any thread. */
struct http_stream_ops {
	/* Takes up to len request-body bytes; returns how many it took (0: full,
	 * the connection suspends until the stream wakes it). */
	size_t (*write)(struct http_stream *s, const char *data, size_t len);
	/* The request body is complete. */
	void (*write_end)(struct http_stream *s);
	/* Copies up to max response bytes; returns >0, 0 (nothing yet: suspend
	 * until woken), or -1 at the end of the response. */
	long (*read)(struct http_stream *s, char *out, size_t max);
	/* Tears down (kills the process, joins threads); called once. */
	void (*free)(struct http_stream *s);
};

struct http_stream {
	const struct http_stream_ops *ops;
	void *conn; /* set by the server: the connection to resume */
	/* Set by the server; the stream calls it (any thread) after it made room
	 * or data. Safe to call whether or not the connection is suspended. */
	void (*wake)(struct http_stream *s);
	void *wake_state;
	/* Set by the stream: a long-lived response that is idle most of the
	 * time and sends little (SSE). The server then asks libmicrohttpd for a
	 * small response block and frees the request's arena once the response
	 * is queued, so an idle subscriber keeps only what it needs to send;
	 * such a stream must not point into the request's arena. Git bodies
	 * leave it false and keep their 64 KiB block. */
	bool idle;
};

/* ---- request helpers (all return arena- or request-owned strings) ---- */
const char *req_header(const struct req *r, const char *name);
const char *req_query(const struct req *r, const char *name);
const char *req_param(const struct req *r, const char *name);
const char *req_cookie(const struct req *r, const char *name);
/* Integer parameters, parsed one way everywhere (the caller words the
 * error, which names what the number is). req_param_int: the path
 * capture `name` as an id (1..INT64_MAX) into *out: 0, or -1 when absent
 * or not one. req_query_int: ?name= in [min, max] into *out: 0, 1 when
 * absent or empty (*out untouched), -1 when not such a number. */
int req_param_int(int64_t *out, const struct req *r, const char *name);
int req_query_int(int64_t *out, const struct req *r, const char *name, int64_t min, int64_t max);

/* ---- response helpers ---- */
void resp_header(struct resp *w, const char *name, const char *value);
/* Sets a cookie (one Set-Cookie line per cookie name; setting a cookie
 * again replaces its line): Path=/, HttpOnly, SameSite=same_site, Max-Age=max_age
 * (< 0: none, the browser keeps it for the session), and Secure when the
 * server's public URL is https. name and value must be cookie-safe. */
void resp_cookie(struct resp *w, const char *name, const char *value, long max_age,
		 const char *same_site);
/* Sets status and a JSON body; steals the reference to j. */
void resp_json(struct resp *w, int status, json_t *j);
void resp_text(struct resp *w, int status, const char *content_type, const char *data, size_t len);
/* Fills w with the JSON error for r->err (or `code` if r->err is unset). */
void resp_error(struct resp *w, const struct req *r);

/* ---- routing ---- */
enum route_match { MATCH_NONE, MATCH_METHOD, MATCH_OK };
/* Matches method and path against the table; on MATCH_OK fills r->params.
 * On MATCH_METHOD, *allowed receives the methods the path accepts. */
enum route_match route_find(const struct route *table, struct req *r, const struct route **out,
			    unsigned *allowed);
/* Percent-decodes s (len bytes) into the arena; returns NULL when the
 * result would contain NUL or an escape is malformed. plus_space turns '+'
 * into ' ' (query strings). */
char *url_decode(struct arena *a, const char *s, size_t len, bool plus_space);

/* Sets ETag and a year of immutable caching (`private` when
 * r->private_data); the response may be kept in the object cache. */
void resp_immutable(const struct req *r, struct resp *w, const char *etag);
/* Sets a short cache lifetime for responses that name a branch. */
void resp_short_cache(const struct req *r, struct resp *w, int seconds);
/* Mutable data: caches must revalidate (`private` when r->private_data). */
void resp_no_cache(const struct req *r, struct resp *w);

/* ---- the server (src/http/server.c) ---- */
/* The application behind the server: its route table (terminated by
 * {0}), the function that runs a matched route on a worker (r->db set;
 * it must leave a complete response in w, errors included), and an
 * optional event-thread fast path that answers from a cache without the
 * database (true when it filled w). */
struct http_app {
	const struct route *routes;
	void (*dispatch)(struct req *r, struct resp *w);
	bool (*dispatch_fast)(struct req *r, struct resp *w);
};

struct server_opts {
	const struct http_app *app;
	const char *listen_addr;
	int port;
	int threads; /* MHD event threads */
	int workers; /* worker pool size = database connections */
	int max_connections;
	int per_ip_limit;
	int timeout_s;
	size_t conn_memory;
};
int server_start(const struct server_opts *o);
/* The port actually bound (useful with port 0). */
int server_port(void);
void server_stop(void);

/* Method name ↔ bit. */
enum http_method http_method_parse(const char *s);
const char *http_method_name(enum http_method m);

#endif
