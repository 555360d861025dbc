/* client.c — the Kubernetes REST client (k8s.h) on libcurl and jansson.
 *
 * Notes for operators and readers:
 *   - Every call makes its own curl easy handle and runs it on a private
 *     multi handle, polled every K8S_POLL_MS, so a watch notices its stop
 *     flag within that time even when the server sends nothing (libcurl's
 *     progress callback alone may be called only once a second while a
 *     transfer is idle; the xferinfo callback checks the flag too).
 *   - The bearer token is put in one header line, wiped after the call, and
 *     never logged: libcurl's verbose mode stays off and failures log the
 *     method, the path, the status and the API's Status.message only.
 *   - Retries: a connection failure, 429 or 5xx is tried again after
 *     100 ms, 200 ms, ... (at most 2 s each, between half and all of it at
 *     random, or the server's Retry-After when shorter than what is left)
 *     while the total stays under K8S_RETRY_BUDGET_MS. A POST retried
 *     after a lost answer may meet its own object: 409 AlreadyExists, which
 *     callers naming their objects treat as done.
 *   - Metrics: plue_k8s_requests_total{verb,outcome} per attempt (verb:
 *     create, get, list, delete, watch; outcome: ok, not_found, exists,
 *     conflict, invalid, unauthorized, forbidden, gone, unavailable,
 *     connection) and plue_k8s_watch_restarts_total{reason} (gone, closed,
 *     error).
 *   - A watch: list, then stream from the list's resourceVersion; each
 *     event or BOOKMARK moves the version on; a stream that ends is resumed
 *     from it (at once after a clean end that carried something, else
 *     after 200 ms doubling to 5 s); 410 Gone in any form relists. */
#include "k8s/k8s.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "k8s/config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K8S_POLL_MS 100
#define K8S_RETRY_BUDGET_MS 10000
#define K8S_BODY_MAX (64 << 20) /* a list of a few thousand pods fits */
#define K8S_LINE_MAX (8 << 20)  /* one watch event */
#define K8S_RESUME_MAX_MS 5000

struct k8s {
	struct k8s_config cfg;
	char *namespace;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- open and close ---- */

int k8s_open(struct k8s **out, const char *kubeconfig, const char *namespace, struct err *e)
{
	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	struct k8s *k = xcalloc(1, sizeof(*k));
	int rc = kubeconfig && *kubeconfig ? k8s_config_load(&k->cfg, kubeconfig, e)
					   : k8s_config_incluster(&k->cfg, e);
	if (rc) {
		free(k);
		return rc;
	}
	const char *ns = namespace && *namespace ? namespace
			 : k->cfg.namespace      ? k->cfg.namespace
						 : "default";
	k->namespace = xstrdup(ns);
	*out = k;
	return 0;
}

void k8s_close(struct k8s *k)
{
	if (!k)
		return;
	k8s_config_release(&k->cfg);
	free(k->namespace);
	free(k);
}

const char *k8s_namespace(const struct k8s *k)
{
	return k->namespace;
}

const char *k8s_server(const struct k8s *k)
{
	return k->cfg.server;
}

/* ---- one HTTP exchange ---- */

/* What a request's body sink does with the bytes. */
struct xfer {
	struct buf body;     /* the whole body (plain requests), or the partial line */
	bool too_large;
	long retry_after_ms; /* -1 when the server said nothing */
	/* a watch: each complete line is handed to on_line; nonzero stops */
	int (*on_line)(void *ctx, char *line, size_t len);
	void *ctx;
	bool line_stop;
	const volatile bool *stop;
	bool stopped;
	CURL *h;
	int lines; /* -1: the answer is not a 2xx, kept whole in body */
};

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	struct xfer *x = cls;
	size_t len = size * n;
	if (x->on_line && !x->lines) {
		long status = 0;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
		x->lines = status >= 200 && status < 300 ? 1 : -1;
	}
	if (!x->on_line || x->lines < 0) {
		if (x->body.len + len > K8S_BODY_MAX) {
			x->too_large = true;
			return 0;
		}
		buf_add(&x->body, p, len);
		return len;
	}
	for (size_t i = 0; i < len;) {
		char *nl = memchr(p + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : len - i;
		if (x->body.len + take > K8S_LINE_MAX) {
			x->too_large = true;
			return 0;
		}
		buf_add(&x->body, p + i, take);
		i += take;
		if (!nl)
			break;
		i++;
		if (x->body.len && x->on_line(x->ctx, x->body.ptr, x->body.len)) {
			x->line_stop = true;
			return 0;
		}
		buf_reset(&x->body);
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
	struct xfer *x = cls;
	size_t len = size * n;
	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		long s = strtol(p + 12, NULL, 10);
		if (s > 0 && s < 3600)
			x->retry_after_ms = s * 1000;
	}
	return len;
}

static int on_progress(void *cls, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = cls;
	if (x->stop && *x->stop) {
		x->stopped = true;
		return 1;
	}
	return 0;
}

/* The outcome label of an HTTP status (0: no answer). */
static const char *outcome_of(long status, const char *reason)
{
	if (status == 0)
		return "connection";
	if (status >= 200 && status < 300)
		return "ok";
	switch (status) {
	case 404: return "not_found";
	case 409: return reason && !strcmp(reason, "AlreadyExists") ? "exists" : "conflict";
	case 400:
	case 422: return "invalid";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 410: return "gone";
	default: return "unavailable";
	}
}

/* The err.h class of a failed status (k8s.h's table). */
static int code_of(long status, const char *reason)
{
	switch (status) {
	case 404: return ERR_NOTFOUND;
	case 409: return reason && !strcmp(reason, "AlreadyExists") ? ERR_EXISTS : ERR_CONFLICT;
	case 400:
	case 422: return ERR_INVALID;
	case 401: return ERR_AUTH;
	case 403: return ERR_PERM;
	case 410: return ERR_CONFLICT;
	default: return ERR_UNAVAILABLE;
	}
}

static bool transient_status(long status)
{
	return status == 429 || status >= 500;
}

static bool transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR: /* a reset in the handshake reads as this */
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return true;
	default: return false;
	}
}

/* The API's own message from a Status body (n bytes), else a piece of the
 * body, into msg; *reason gets Status.reason (or ""). */
static void status_message(const char *body, size_t n, char *msg, size_t msgsz, char *reason,
			   size_t rsz)
{
	msg[0] = reason[0] = '\0';
	json_t *j = n ? json_loadb(body, n, 0, NULL) : NULL;
	const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
	const char *r = j ? json_string_value(json_object_get(j, "reason")) : NULL;
	if (r)
		snprintf(reason, rsz, "%s", r);
	if (m && *m)
		snprintf(msg, msgsz, "%s", m);
	else if (n) {
		size_t i = 0;
		for (; i < n && i + 1 < msgsz && i < 200; i++)
			msg[i] = body[i] == '\n' || body[i] == '\r' ? ' ' : body[i];
		msg[i] = '\0';
	} else
		snprintf(msg, msgsz, "no message");
	json_decref(j);
}

/* Sleeps ms, waking early for *stop; true when stopped. */
static bool nap(long ms, const volatile bool *stop)
{
	int64_t end = now_ms() + ms;
	for (;;) {
		if (stop && *stop)
			return true;
		int64_t left = end - now_ms();
		if (left <= 0)
			return false;
		if (left > K8S_POLL_MS)
			left = K8S_POLL_MS;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* Half to all of ms, at random. */
static long jitter(long ms)
{
	unsigned char r[2];
	random_bytes(r, sizeof(r));
	unsigned v = (unsigned)r[0] << 8 | r[1];
	return ms / 2 + (long)((double)(ms - ms / 2) * v / 65535.0);
}

struct req {
	const char *verb;   /* the metric's: create, get, list, delete, watch */
	const char *method; /* GET, POST, DELETE */
	const char *path;   /* as given, for logs */
	const char *query;  /* "" or "?..." */
	const char *body;   /* JSON or NULL */
	bool quiet_404;     /* a 404 is an answer, not worth a warning */
};

/* One attempt: fills x, *status and *cc. */
static void attempt(struct k8s *k, const struct req *r, const char *token, struct xfer *x,
		    long *status, CURLcode *cc, char *errbuf)
{
	CURL *h = curl_easy_init();
	if (!h)
		die("cannot start libcurl");
	x->h = h;
	char *url = xasprintf("%s%s%s", k->cfg.server, r->path, r->query);
	char *auth = token && *token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	struct curl_slist *headers = NULL;
	if (auth)
		headers = curl_slist_append(headers, auth);
	headers = curl_slist_append(headers, "Accept: application/json");
	if (r->body)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "plue");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* a watch lasts as long as the server keeps it (an API server ends it
	 * after 5 to 10 minutes), anything else is short; a watch that hears
	 * nothing, not even a bookmark, for 5 minutes is taken as dropped */
	if (!x->on_line) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	} else {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 300L);
	}
	if (k->cfg.ca.len) {
		struct curl_blob ca = { k->cfg.ca.ptr, k->cfg.ca.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (k->cfg.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->cfg.cert.len) {
		struct curl_blob cert = { k->cfg.cert.ptr, k->cfg.cert.len, CURL_BLOB_NOCOPY };
		struct curl_blob key = { k->cfg.key.ptr, k->cfg.key.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	CURLM *m = curl_multi_init();
	if (!m)
		die("cannot start libcurl");
	curl_multi_add_handle(m, h);
	*cc = CURLE_OK;
	for (;;) {
		int running = 0;
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			*cc = CURLE_FAILED_INIT;
			break;
		}
		if (!running) {
			int left;
			CURLMsg *msg;
			while ((msg = curl_multi_info_read(m, &left)))
				if (msg->msg == CURLMSG_DONE)
					*cc = msg->data.result;
			break;
		}
		if (x->stop && *x->stop) {
			x->stopped = true;
			*cc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		curl_multi_poll(m, NULL, 0, K8S_POLL_MS, NULL);
	}
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_multi_remove_handle(m, h);
	curl_multi_cleanup(m);
	curl_easy_cleanup(h);
	for (struct curl_slist *s = headers; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(headers);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(url);
}

/* Runs r with retries. On 2xx: 0 and *out (may be NULL) the parsed body.
 * Else the error, logged once. The caller's stop (may be NULL) ends the
 * waits between attempts; that is ERR_UNAVAILABLE "stopped". */
static int k8s_do(struct k8s *k, const struct req *r, json_t **out, const volatile bool *stop,
		  struct err *e)
{
	if (out)
		*out = NULL;
	int64_t start = now_ms();
	long delay = 100;
	for (int tries = 1;; tries++) {
		char errbuf[CURL_ERROR_SIZE] = "";
		char *token = NULL;
		int rc = k8s_config_token(&k->cfg, &token, e);
		if (rc) {
			log_error("k8s: %s %s: %s", r->method, r->path, e->msg);
			return rc;
		}
		struct xfer x = { .body = BUF_INIT, .retry_after_ms = -1, .stop = stop };
		long status = 0;
		CURLcode cc;
		attempt(k, r, token, &x, &status, &cc, errbuf);
		if (token) {
			explicit_bzero(token, strlen(token));
			free(token);
		}
		if (x.stopped) {
			buf_release(&x.body);
			return err_set(e, ERR_UNAVAILABLE, "stopped", "k8s: %s %.120s: stopped",
				       r->method, r->path);
		}
		char msg[200], reason[48];
		bool transient;
		int code;
		if (cc != CURLE_OK || x.too_large) {
			metrics_count(&metric_k8s_requests,
				      (const char *[]){ r->verb, outcome_of(0, NULL) }, 1);
			snprintf(msg, sizeof(msg), "%s",
				 x.too_large ? "the answer is too large"
				 : errbuf[0] ? errbuf
					     : curl_easy_strerror(cc));
			transient = !x.too_large && transient_curl(cc);
			code = ERR_UNAVAILABLE;
			status = 0;
		} else if (status >= 200 && status < 300) {
			metrics_count(&metric_k8s_requests, (const char *[]){ r->verb, "ok" }, 1);
			json_error_t je;
			rc = 0;
			if (out && !(*out = json_loadb(x.body.ptr, x.body.len, 0, &je))) {
				rc = err_set(e, ERR_UNAVAILABLE, "k8s_protocol",
					     "k8s: %s %.100s: the answer is not JSON: %.80s",
					     r->method, r->path, je.text);
				log_error("%s", e->msg);
			}
			buf_release(&x.body);
			return rc;
		} else {
			status_message(x.body.ptr, x.body.len, msg, sizeof(msg), reason,
				       sizeof(reason));
			metrics_count(&metric_k8s_requests,
				      (const char *[]){ r->verb, outcome_of(status, reason) }, 1);
			transient = transient_status(status);
			code = code_of(status, reason);
		}
		buf_release(&x.body);
		long wait = jitter(delay);
		if (x.retry_after_ms > 0)
			wait = x.retry_after_ms;
		bool again = transient && now_ms() - start + wait < K8S_RETRY_BUDGET_MS;
		char st[16] = "no answer";
		if (status)
			snprintf(st, sizeof(st), "%ld", status);
		if (again)
			log_warn("k8s: %s %s: %s: %s (try %d, again in %ld ms)", r->method, r->path,
				 st, msg, tries, wait);
		else if (code == ERR_NOTFOUND && r->quiet_404)
			log_debug("k8s: %s %s: %s: %s", r->method, r->path, st, msg);
		else
			log_warn("k8s: %s %s: %s: %s", r->method, r->path, st, msg);
		if (!again) {
			const char *slug = status == 410                        ? "gone"
					   : code == ERR_UNAVAILABLE && !status ? "k8s_connection"
										: "k8s";
			return err_set(e, code, slug, "k8s: %s %.80s: %s: %.120s", r->method,
				       r->path, st, msg);
		}
		if (nap(wait, stop))
			return err_set(e, ERR_UNAVAILABLE, "stopped", "k8s: %s %.120s: stopped",
				       r->method, r->path);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
}

/* ---- the verbs ---- */

int k8s_create(struct k8s *k, const char *path, json_t *obj, json_t **out, struct err *e)
{
	char *body = json_dumps(obj, JSON_COMPACT);
	if (!body)
		die("out of memory");
	struct req r = { "create", "POST", path, "", body, false };
	json_t *got = NULL;
	int rc = k8s_do(k, &r, out ? &got : NULL, NULL, e);
	free(body);
	if (out)
		*out = got;
	return rc;
}

int k8s_get(struct k8s *k, const char *path, json_t **out, struct err *e)
{
	struct req r = { "get", "GET", path, "", NULL, true };
	return k8s_do(k, &r, out, NULL, e);
}

/* "?labelSelector=..." (escaped) or "" into q, plus extra ("&a=b"). */
static char *query(const char *label_selector, const char *extra)
{
	struct buf q = BUF_INIT;
	if (label_selector && *label_selector) {
		char *esc = curl_easy_escape(NULL, label_selector, 0);
		buf_addf(&q, "?labelSelector=%s", esc);
		curl_free(esc);
	}
	if (extra && *extra)
		buf_addf(&q, "%c%s", q.len ? '&' : '?', extra);
	return buf_detach(&q, NULL);
}

int k8s_list(struct k8s *k, const char *path, const char *label_selector, json_t **out, struct err *e)
{
	char *q = query(label_selector, NULL);
	struct req r = { "list", "GET", path, q, NULL, false };
	int rc = k8s_do(k, &r, out, NULL, e);
	if (!rc && (!json_is_array(json_object_get(*out, "items")))) {
		/* a list without items is an empty one (the API omits it) */
		json_object_set_new(*out, "items", json_array());
	}
	free(q);
	return rc;
}

int k8s_delete(struct k8s *k, const char *path, int grace_seconds, struct err *e)
{
	char *q = grace_seconds >= 0 ? xasprintf("?gracePeriodSeconds=%d", grace_seconds)
				     : xstrdup("");
	struct req r = { "delete", "DELETE", path, q, NULL, true };
	struct err de = { 0 };
	int rc = k8s_do(k, &r, NULL, NULL, &de);
	if (rc == ERR_NOTFOUND)
		rc = 0;
	else if (rc)
		err_set(e, de.code, de.slug, "%s", de.msg);
	free(q);
	return rc;
}

/* ---- watch ---- */

struct watch {
	const struct k8s_watch_ops *ops;
	const char *path;
	char *rv;     /* the version to resume from */
	bool gone;    /* a 410 ERROR event: relist */
	bool got_any; /* this stream carried an event or a bookmark */
	int cb_rc;    /* nonzero from on_event: stop */
	bool broken;  /* an ERROR event other than 410, or a bad line */
};

static void watch_set_rv(struct watch *w, json_t *obj)
{
	const char *v = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (v && *v) {
		free(w->rv);
		w->rv = xstrdup(v);
	}
}

static int watch_line(void *ctx, char *line, size_t len)
{
	struct watch *w = ctx;
	json_error_t je;
	json_t *ev = json_loadb(line, len, 0, &je);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	int rc = 0;
	if (!type || !json_is_object(obj)) {
		log_warn("k8s: watch %s: an event that is not one: %.80s", w->path,
			 ev ? "no type or object" : je.text);
		w->broken = true;
		rc = 1;
	} else if (!strcmp(type, "BOOKMARK")) {
		watch_set_rv(w, obj);
		w->got_any = true;
	} else if (!strcmp(type, "ERROR")) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *m = json_string_value(json_object_get(obj, "message"));
		if (code == 410)
			w->gone = true;
		else {
			log_warn("k8s: watch %s: ERROR event %lld: %s", w->path, (long long)code,
				 m ? m : "no message");
			w->broken = true;
		}
		rc = 1;
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
		watch_set_rv(w, obj);
		w->got_any = true;
		w->cb_rc = w->ops->on_event(w->ops->ctx, type, obj);
		rc = w->cb_rc;
	} else {
		log_warn("k8s: watch %s: unknown event type '%.20s'", w->path, type);
	}
	json_decref(ev);
	return rc;
}

/* Lists and hands the items over as SYNC; sets w->rv. */
static int watch_sync(struct k8s *k, struct watch *w, const char *label_selector,
		      const volatile bool *stop, struct err *e)
{
	char *q = query(label_selector, NULL);
	struct req r = { "list", "GET", w->path, q, NULL, false };
	json_t *list = NULL;
	int rc = k8s_do(k, &r, &list, stop, e);
	free(q);
	if (rc)
		return rc;
	json_t *items = json_object_get(list, "items");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if ((w->cb_rc = w->ops->on_event(w->ops->ctx, "SYNC", it)))
			goto done;
	}
	if ((w->cb_rc = w->ops->on_event(w->ops->ctx, "SYNC", NULL)))
		goto done;
	free(w->rv);
	w->rv = NULL;
	watch_set_rv(w, list);
done:
	json_decref(list);
	return 0;
}

int k8s_watch(struct k8s *k, const char *path, const char *label_selector,
	      const struct k8s_watch_ops *ops, const volatile bool *stop, struct err *e)
{
	struct watch w = { .ops = ops, .path = path };
	long resume = 0; /* the wait before the next attempt */
	int rc = 0;
	while (!*stop && !w.cb_rc) {
		if (resume && nap(resume, stop))
			break;
		if (!w.rv) {
			struct err le = { 0 };
			rc = watch_sync(k, &w, label_selector, stop, &le);
			if (rc == ERR_UNAVAILABLE) {
				/* the server stays away: keep trying, more slowly */
				rc = 0;
				resume = resume ? resume * 2 : 200;
				if (resume > K8S_RESUME_MAX_MS)
					resume = K8S_RESUME_MAX_MS;
				continue;
			}
			if (rc) {
				err_set(e, le.code, le.slug, "%s", le.msg);
				break;
			}
			if (w.cb_rc || !w.rv)
				break;
		}
		char *extra = xasprintf("watch=1&allowWatchBookmarks=true&resourceVersion=%s", w.rv);
		char *q = query(label_selector, extra);
		free(extra);
		struct req r = { "watch", "GET", path, q, NULL, false };
		char *token = NULL;
		if ((rc = k8s_config_token(&k->cfg, &token, e))) {
			log_error("k8s: watch %s: %s", path, e->msg);
			free(q);
			break;
		}
		struct xfer x = { .body = BUF_INIT,
				  .retry_after_ms = -1,
				  .stop = stop,
				  .on_line = watch_line,
				  .ctx = &w };
		char errbuf[CURL_ERROR_SIZE] = "";
		long status = 0;
		CURLcode cc;
		w.got_any = w.gone = w.broken = false;
		attempt(k, &r, token, &x, &status, &cc, errbuf);
		if (token) {
			explicit_bzero(token, strlen(token));
			free(token);
		}
		free(q);
		char msg[200] = "", reason[48] = "";
		if (status && (status < 200 || status >= 300))
			status_message(x.body.ptr, x.body.len, msg, sizeof(msg), reason,
				       sizeof(reason));
		buf_release(&x.body);
		metrics_count(&metric_k8s_requests,
			      (const char *[]){ "watch", outcome_of(status, reason) }, 1);
		if (x.stopped || *stop || w.cb_rc)
			break;
		if (status == 410 || w.gone) {
			log_info("k8s: watch %s: resourceVersion %s is gone (410): listing again",
				 path, w.rv);
			metrics_count(&metric_k8s_watch_restarts, (const char *[]){ "gone" }, 1);
			free(w.rv);
			w.rv = NULL;
			resume = 0;
			continue;
		}
		if (status && (status < 200 || status >= 300) && !transient_status(status)) {
			rc = err_set(e, code_of(status, reason), "k8s",
				     "k8s: watch %.100s: %ld: %.120s", path, status, msg);
			log_error("k8s: GET %s (watch): %ld: %s", path, status, msg);
			break;
		}
		if (cc == CURLE_OK && !w.broken && status >= 200 && status < 300 && w.got_any) {
			/* the server ended a healthy stream (its timeout): go on */
			metrics_count(&metric_k8s_watch_restarts, (const char *[]){ "closed" }, 1);
			resume = 0;
			continue;
		}
		metrics_count(&metric_k8s_watch_restarts, (const char *[]){ "error" }, 1);
		resume = w.got_any || !resume ? 200 : resume * 2;
		if (resume > K8S_RESUME_MAX_MS)
			resume = K8S_RESUME_MAX_MS;
		log_warn("k8s: watch %s: %s; resuming from %s in %ld ms", path,
			 status && (status < 200 || status >= 300) ? msg
			 : cc != CURLE_OK && !x.line_stop
				 ? (errbuf[0] ? errbuf : curl_easy_strerror(cc))
			 : w.broken ? "a broken event"
				    : "the stream ended",
			 w.rv, resume);
	}
	free(w.rv);
	return rc;
}
