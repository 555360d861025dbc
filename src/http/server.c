/* server.c — the libmicrohttpd front: builds a struct req from the
 * connection, answers from the cache on the event thread when it can,
 * otherwise suspends the connection and hands the request to a worker,
 * which resumes it with the response. Streamed bodies (git) move through
 * an http_stream whose producer wakes the suspended connection. The event
 * threads never block on PostgreSQL, libgit2 or a subprocess. */
#include "http/http.h"
#include "base/cache.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "db/db.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY (1024 * 1024)
/* libmicrohttpd callocs a stream response's block with the response, one
 * per connection (a chunked body is then written into the connection's
 * pool, but the block stays allocated). A git body keeps 64 KiB; an idle
 * SSE subscriber (http_stream.idle) sends a few hundred bytes now and
 * then, and 64 KiB calloc'd per subscriber left ~5 KB of it resident. */
#define STREAM_BLOCK (64 * 1024)
#define IDLE_STREAM_BLOCK 1024
/* How long server_stop waits for busy connections. */
#define STOP_WAIT_MS 10000

/* MHD calls the access handler once with the headers, then with body
 * chunks, then with *size == 0 at the end of the body; after a resume it
 * repeats the call it was suspended in, with whatever was left unconsumed. */
enum hstate { ST_BODY, ST_WORKING, ST_READY, ST_STREAM_AUTH, ST_STREAM_BODY };

struct hreq {
	struct req req;
	struct resp resp;
	struct MHD_Connection *conn;
	enum hstate st;
	struct buf body;
	size_t max_body;
	bool too_large;
	bool queued;
	/* wake-up handshake with a stream's producer thread */
	pthread_mutex_t mu;
	bool suspended;
	bool wake_pending;
	struct timespec t0; /* for the latency histogram */
	char *path;         /* req.path once an idle stream's arena is freed */
};

static struct MHD_Daemon *daemon_;
static const struct http_app *srv_app; /* set once by server_start */
static int bound_port;

/* ---- building the request ---- */

struct kvlist {
	struct arena *a;
	struct kv *items;
	size_t n, cap;
	bool decode;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct kvlist *l = cls;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct kv *items = arena_alloc(l->a, cap * sizeof(*items));
		if (l->n)
			memcpy(items, l->items, l->n * sizeof(*items));
		l->items = items;
		l->cap = cap;
	}
	const char *k = key, *v = value ? value : "";
	if (l->decode) {
		k = url_decode(l->a, key, strlen(key), true);
		v = url_decode(l->a, v, strlen(v), true);
		if (!k || !v)
			return MHD_YES; /* an undecodable argument is dropped */
	}
	l->items[l->n].name = k;
	l->items[l->n++].value = v;
	return MHD_YES;
}

/* Identity unescape: paths are decoded per segment by the router, so an
 * encoded '/' or NUL cannot change a path's shape. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static struct hreq *hreq_new(struct MHD_Connection *conn, const char *url, const char *method)
{
	struct hreq *h = xcalloc(1, sizeof(*h));
	struct arena *a = arena_new();
	h->conn = conn;
	h->req.arena = a;
	h->resp.arena = a;
	h->resp.status = 200;
	buf_init(&h->resp.body, 0);
	buf_init(&h->body, 0);
	pthread_mutex_init(&h->mu, NULL);
	h->req.method = http_method_parse(method);
	h->req.path = arena_strdup(a, url);
	h->req.started_ms = now_ms();
	if (metrics_enabled())
		clock_gettime(CLOCK_MONOTONIC, &h->t0);

	struct kvlist hl = { .a = a };
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, &hl);
	h->req.headers = hl.items;
	h->req.nheaders = hl.n;
	struct kvlist ql = { .a = a, .decode = true };
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, &ql);
	h->req.query = ql.items;
	h->req.nquery = ql.n;

	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip,
				  sizeof(ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip,
				  sizeof(ip));
	}
	h->req.remote_ip = arena_strdup(a, ip);
	return h;
}

static void hreq_free(struct hreq *h)
{
	if (h->resp.stream)
		h->resp.stream->ops->free(h->resp.stream);
	cache_unref(h->resp.cached);
	buf_release(&h->resp.body);
	buf_release(&h->body);
	arena_free(h->req.arena);
	free(h->path);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* ---- suspend / resume ---- */

/* Connections suspended now (a worker has them, or a stream waits for its
 * producer), and whether the server is stopping: MHD_stop_daemon aborts
 * the process while any connection is suspended, so server_stop waits for
 * them, and a request that starts meanwhile is answered 503 at once. */
static atomic_int suspended_n;
static atomic_bool stopping;

static void conn_suspend(struct MHD_Connection *c)
{
	atomic_fetch_add(&suspended_n, 1);
	MHD_suspend_connection(c);
}

static void conn_resume(struct MHD_Connection *c)
{
	MHD_resume_connection(c);
	atomic_fetch_sub(&suspended_n, 1);
}

/* Called by a stream's producer (any thread). */
static void hreq_wake(struct http_stream *s)
{
	struct hreq *h = s->wake_state;
	bool resume = false;
	pthread_mutex_lock(&h->mu);
	if (h->suspended) {
		h->suspended = false;
		resume = true;
	} else {
		h->wake_pending = true;
	}
	pthread_mutex_unlock(&h->mu);
	if (resume)
		conn_resume(h->conn);
}

/* Suspends unless a wake-up arrived since the caller last looked; returns
 * true when suspended (the caller must then return), false to retry. */
static bool hreq_park(struct hreq *h)
{
	pthread_mutex_lock(&h->mu);
	if (h->wake_pending) {
		h->wake_pending = false;
		pthread_mutex_unlock(&h->mu);
		return false;
	}
	h->suspended = true;
	conn_suspend(h->conn);
	pthread_mutex_unlock(&h->mu);
	return true;
}

/* ---- responses ---- */

static ssize_t stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct hreq *h = cls;
	struct http_stream *s = h->resp.stream;
	for (;;) {
		long n = s->ops->read(s, out, max);
		if (n > 0)
			return n;
		if (n < 0)
			return n == -1 ? MHD_CONTENT_READER_END_OF_STREAM
				       : MHD_CONTENT_READER_END_WITH_ERROR;
		if (hreq_park(h))
			return 0;
	}
}

static void free_cached(void *cls)
{
	free(cls);
}

static void unref_cached(void *cls)
{
	cache_unref(cls);
}

/* An idle stream's response is queued: libmicrohttpd copied its headers,
 * and nothing reads the request again but the log line. The arena holds
 * everything the handler allocated (the authorisation's and the replay's
 * database results: ~14 KB a subscriber with a 200-line replay), kept
 * until the connection closes, hours for an SSE subscriber: freed now. */
static void release_request(struct hreq *h)
{
	h->path = xstrdup(h->req.path);
	struct arena *a = h->req.arena;
	/* what on_completed reads; nothing else may point into the arena */
	h->req = (struct req){ .method = h->req.method,
			       .path = h->path,
			       .route = h->req.route,
			       .started_ms = h->req.started_ms };
	h->resp.arena = NULL;
	h->resp.content_type = NULL;
	h->resp.nheaders = 0;
	arena_free(a);
}

static enum MHD_Result queue(struct hreq *h)
{
	struct resp *w = &h->resp;
	struct MHD_Response *mr;
	if (h->queued)
		return MHD_YES;
	h->queued = true;
	if (w->stream) {
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
						       w->stream->idle ? IDLE_STREAM_BLOCK
								       : STREAM_BLOCK,
						       stream_reader, h, NULL);
	} else if (w->cached) {
		/* the cache entry's bytes go out as they are; MHD drops the ref */
		mr = MHD_create_response_from_buffer_with_free_callback_cls(w->cached->len,
									    (void *)w->cached->data,
									    unref_cached,
									    (void *)w->cached);
		w->cached = NULL;
	} else {
		size_t len;
		char *body = buf_detach(&w->body, &len);
		mr = MHD_create_response_from_buffer_with_free_callback_cls(len, body, free_cached,
									    body);
	}
	if (!mr)
		return MHD_NO;
	if (w->content_type)
		MHD_add_response_header(mr, "Content-Type", w->content_type);
	for (size_t i = 0; i < w->nheaders; i++)
		MHD_add_response_header(mr, w->headers[i].name, w->headers[i].value);
	enum MHD_Result ret = MHD_queue_response(h->conn, (unsigned)w->status, mr);
	MHD_destroy_response(mr);
	if (w->stream && w->stream->idle)
		release_request(h);
	return ret;
}

static void error_now(struct hreq *h, int code, const char *slug, const char *msg)
{
	err_set(&h->req.err, code, slug, "%s", msg);
	resp_error(&h->resp, &h->req);
	h->st = ST_READY;
}

/* ---- workers ---- */

static void work_dispatch(void *arg, PGconn *db)
{
	struct hreq *h = arg;
	h->req.db = db;
	srv_app->dispatch(&h->req, &h->resp);
	h->req.db = NULL;
	if (h->resp.stream) {
		h->resp.stream->wake = hreq_wake;
		h->resp.stream->wake_state = h;
		h->st = ST_STREAM_BODY;
	} else {
		h->st = ST_READY;
	}
	conn_resume(h->conn);
}

static void start_work(struct hreq *h)
{
	h->st = ST_WORKING;
	conn_suspend(h->conn);
	workers_submit(work_dispatch, h);
}

/* ---- the access handler ---- */

static void finish_body(struct hreq *h)
{
	h->req.body = h->body.ptr;
	h->req.body_len = h->body.len;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *data,
				 size_t *size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct hreq *h = *con_cls;
	if (!h) {
		h = hreq_new(conn, url, method);
		*con_cls = h;
		const struct route *rt = NULL;
		unsigned allowed = 0;
		if (atomic_load(&stopping)) {
			error_now(h, ERR_UNAVAILABLE, "shutting_down",
				  "the server is shutting down; try again");
			return queue(h);
		}
		if (!h->req.method) {
			error_now(h, ERR_METHOD, NULL,
				  arena_printf(h->req.arena, "method '%.20s' is not supported",
					       method));
			return queue(h);
		}
		enum route_match m = route_find(srv_app->routes, &h->req, &rt, &allowed);
		if (m == MATCH_NONE) {
			error_now(h, ERR_NOTFOUND, "no_route",
				  arena_printf(h->req.arena, "no route for '%.200s'", url));
			return queue(h);
		}
		if (m == MATCH_METHOD) {
			error_now(h, ERR_METHOD, NULL,
				  arena_printf(h->req.arena, "method '%.20s' is not allowed here",
					       method));
			struct buf b = BUF_INIT;
			for (unsigned bit = 1; bit <= HTTP_OPTIONS; bit <<= 1)
				if (allowed & bit)
					buf_addf(&b, "%s%s", b.len ? ", " : "",
						 http_method_name((enum http_method)bit));
			resp_header(&h->resp, "Allow", b.ptr);
			buf_release(&b);
			return queue(h);
		}
		h->req.route = rt;
		h->max_body = rt->max_body ? rt->max_body : DEFAULT_MAX_BODY;
		const char *cl = req_header(&h->req, "Content-Length");
		int64_t clen;
		if (!(rt->flags & ROUTE_STREAM) && cl &&
		    (parse_i64(cl, 0, INT64_MAX, &clen) || (uint64_t)clen > h->max_body)) {
			error_now(h, ERR_TOOLARGE, "body_too_large",
				  arena_printf(h->req.arena, "request body is larger than %zu bytes",
					       h->max_body));
			return queue(h);
		}
		if (rt->flags & ROUTE_STREAM) {
			/* authorised on the first body call, before any byte is taken:
			 * a refused push is never read */
			h->st = ST_STREAM_AUTH;
			return MHD_YES;
		}
		h->st = ST_BODY;
		return MHD_YES;
	}

	switch (h->st) {
	case ST_BODY:
		if (*size) {
			if (!h->too_large && h->body.len + *size <= h->max_body)
				buf_add(&h->body, data, *size);
			else
				h->too_large = true;
			*size = 0;
			return MHD_YES;
		}
		if (h->too_large) {
			error_now(h, ERR_TOOLARGE, "body_too_large",
				  arena_printf(h->req.arena, "request body is larger than %zu bytes",
					       h->max_body));
			return queue(h);
		}
		finish_body(h);
		if ((h->req.route->flags & ROUTE_CACHE) && srv_app->dispatch_fast &&
		    srv_app->dispatch_fast(&h->req, &h->resp)) {
			h->st = ST_READY;
			return queue(h);
		}
		start_work(h);
		return MHD_YES;
	case ST_WORKING:
		/* resumed before the worker finished: cannot happen, the worker
		 * resumes only after setting the state */
		return MHD_YES;
	case ST_READY:
		/* MHD accepts a response only before the body or after all of it:
		 * a request refused mid-body (a stream route that failed
		 * authorisation) has the rest of its body discarded, unstored */
		if (*size) {
			*size = 0;
			return MHD_YES;
		}
		return queue(h);
	case ST_STREAM_AUTH:
		start_work(h); /* *size stays: the data is offered again on resume */
		return MHD_YES;
	case ST_STREAM_BODY: {
		struct http_stream *s = h->resp.stream;
		if (*size == 0) {
			s->ops->write_end(s);
			h->st = ST_READY;
			return queue(h);
		}
		while (*size) {
			size_t took = s->ops->write(s, data, *size);
			data += took;
			*size -= took;
			if (!took && hreq_park(h))
				return MHD_YES;
		}
		return MHD_YES;
	}
	}
	return MHD_NO;
}

/* Counts a finished request under its route's pattern, never the raw path,
 * so the label set stays bounded; a path no route matched is "unmatched".
 * Called after the request is freed (a git stream counts its transfer as
 * it is torn down): a scrape never sees the request before its transfer. */
static void count_request(const struct route *rt, enum http_method m, int status,
			  const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	const char *route = rt ? rt->pattern : "unmatched";
	const char *method = m ? http_method_name(m) : "other";
	char st[16];
	snprintf(st, sizeof(st), "%d", status);
	metrics_count(&metric_http_requests, (const char *[]){ route, method, st }, 1);
	metrics_observe(&metric_http_duration, (const char *[]){ route, method }, secs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)conn;
	struct hreq *h = *con_cls;
	if (!h)
		return;
	const struct route *rt = h->req.route;
	if (!rt || !(rt->flags & ROUTE_INTERNAL) || h->resp.status >= 400)
		log_info("%s %s %d %lldms%s", http_method_name(h->req.method), h->req.path,
			 h->resp.status, (long long)(now_ms() - h->req.started_ms),
			 why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	enum http_method m = h->req.method;
	int status = h->resp.status;
	struct timespec t0 = h->t0;
	hreq_free(h);
	if (metrics_enabled())
		count_request(rt, m, status, &t0);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	log_warn("http: %s", line);
}

int server_start(const struct server_opts *o)
{
	srv_app = o->app;
	struct sockaddr_in sa = { 0 };
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->listen_addr, &sa.sin_addr) != 1) {
		log_error("cannot parse listen address '%s'", o->listen_addr);
		return -1;
	}
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_USE_ITC;
	daemon_ = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_access, NULL,
				   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
				   (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
				   (unsigned)o->threads, MHD_OPTION_CONNECTION_LIMIT,
				   (unsigned)o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				   (unsigned)o->per_ip_limit, MHD_OPTION_CONNECTION_TIMEOUT,
				   (unsigned)o->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				   o->conn_memory, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				   MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				   MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
	if (!daemon_) {
		log_error("cannot listen on %s:%d", o->listen_addr, o->port);
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	bound_port = di ? di->port : o->port;
	return 0;
}

int server_port(void)
{
	return bound_port;
}

void server_stop(void)
{
	if (!daemon_)
		return;
	/* no new connection; new requests on open ones get 503; then wait for
	 * the suspended ones (handlers at work, streams their producers end)
	 * to finish: stopping the daemon with one suspended aborts the
	 * process */
	atomic_store(&stopping, true);
	MHD_socket ls = MHD_quiesce_daemon(daemon_);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	int64_t until = now_ms() + STOP_WAIT_MS;
	while (atomic_load(&suspended_n) > 0 && now_ms() < until)
		usleep(10000);
	int left = atomic_load(&suspended_n);
	if (left > 0) {
		/* the process is ending: leave the daemon to the exit */
		log_warn("%d connections still busy after %d ms; exiting without waiting for them",
			 left, STOP_WAIT_MS);
		daemon_ = NULL;
		return;
	}
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}
