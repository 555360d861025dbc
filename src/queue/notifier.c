/* notifier.c — the queue's long-polls without threads per waiter: a claim
 * (runner waiting for work) or a watch (runner waiting for a cancel) is a
 * parked response. One thread with its own connection LISTENs on
 * plue_queue and plue_cancel; when woken (or every POLL_MS, or when a new
 * waiter parks) it claims workloads for parked runners in arrival order
 * and answers watches whose workload was cancelled, then wakes those
 * connections. Waiters past their deadline get an empty answer.
 *
 * Replicas: the queue is the workloads table and both channels are
 * PostgreSQL's, so this is enough across replicas: a workload created
 * through B (its transaction NOTIFYs plue_queue) wakes A's notifier, whose
 * parked runners claim it (FOR UPDATE SKIP LOCKED: a workload goes to one
 * runner whichever replica it registered with); a cancel through B
 * (plue_cancel) answers A's watches and stops A's model calls
 * (agent_stop_workload) at once. POLL_MS covers a notification lost in a
 * reconnect. */
#include "queue/queue.h"
#include "queue/agent.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 2000 /* a look even without a notification (one lost in a reconnect) */

enum park_kind { PARK_CLAIM, PARK_WATCH };

struct park {
	struct http_stream base; /* first: the server holds &base */
	enum park_kind kind;
	int64_t id;              /* runner (claim) or workload (watch) */
	int64_t deadline_ms;
	int refs;
	bool gone, listed, answered, armed;
	struct buf body;
	size_t off;
	struct park *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct park *head; /* FIFO of unanswered waiters */
static struct bg_thread thread;
static char *secret;

/* ---- the parked response (mu held where noted) ---- */

static void park_unref(struct park *p) /* mu held */
{
	if (--p->refs == 0) {
		buf_release(&p->body);
		free(p);
	}
}

static void unlist(struct park *p) /* mu held */
{
	if (!p->listed)
		return;
	for (struct park **pp = &head; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	p->next = NULL;
	p->listed = false;
}

static void answer(struct park *p, const char *json) /* mu held */
{
	if (p->answered || p->gone)
		return;
	buf_adds(&p->body, json);
	buf_addch(&p->body, '\n');
	p->answered = true;
	unlist(p);
	if (p->armed && p->base.wake)
		p->base.wake(&p->base);
}

static size_t pk_write(struct http_stream *s, const char *data, size_t len)
{
	(void)s;
	(void)data;
	return len;
}

static void pk_write_end(struct http_stream *s)
{
	(void)s;
}

static long pk_read(struct http_stream *s, char *out, size_t max)
{
	struct park *p = (struct park *)s;
	long n = 0;
	pthread_mutex_lock(&mu);
	p->armed = true;
	if (p->answered) {
		size_t k = p->body.len - p->off;
		if (k > max)
			k = max;
		memcpy(out, p->body.ptr + p->off, k);
		p->off += k;
		n = k ? (long)k : -1;
	}
	pthread_mutex_unlock(&mu);
	return n;
}

static void pk_free(struct http_stream *s)
{
	struct park *p = (struct park *)s;
	pthread_mutex_lock(&mu);
	p->gone = true;
	unlist(p);
	park_unref(p);
	pthread_mutex_unlock(&mu);
}

static const struct http_stream_ops park_ops = {
	.write = pk_write,
	.write_end = pk_write_end,
	.read = pk_read,
	.free = pk_free,
};

void queue_wake(void)
{
	bg_wake(&thread);
}

static struct http_stream *park_new(enum park_kind kind, int64_t id, int wait_ms)
{
	struct park *p = xcalloc(1, sizeof(*p));
	p->base.ops = &park_ops;
	p->kind = kind;
	p->id = id;
	p->deadline_ms = now_ms() + wait_ms;
	p->refs = 1;
	buf_init(&p->body, 0);
	pthread_mutex_lock(&mu);
	if (!bg_running(&thread) || bg_stopping(&thread)) {
		p->answered = true;
		buf_adds(&p->body,
			 kind == PARK_CLAIM ? "{\"workload\":null}\n" : "{\"cancel\":false}\n");
	} else {
		struct park **pp = &head;
		while (*pp)
			pp = &(*pp)->next;
		*pp = p;
		p->listed = true;
	}
	pthread_mutex_unlock(&mu);
	bg_wake(&thread);
	return &p->base;
}

struct http_stream *queue_claim_park(int64_t runner_id)
{
	return park_new(PARK_CLAIM, runner_id, CLAIM_WAIT_MS);
}

struct http_stream *queue_watch_park(int64_t workload_id)
{
	return park_new(PARK_WATCH, workload_id, WATCH_WAIT_MS);
}

const char *queue_runner_secret(void)
{
	return secret ? secret : "";
}

/* ---- the thread ---- */

/* Hands waiting workloads to parked claims, oldest waiter first. */
static void serve_claims(PGconn *c)
{
	for (;;) {
		pthread_mutex_lock(&mu);
		struct park *p = head;
		while (p && (p->kind != PARK_CLAIM || p->answered))
			p = p->next;
		if (p) {
			unlist(p);
			p->refs++;
		}
		pthread_mutex_unlock(&mu);
		if (!p)
			return;

		struct arena *a = arena_new();
		struct err e = { 0 };
		json_t *out = NULL;
		int rc = queue_claim(c, a, &e, p->id, &out);
		bool more = !rc && out;
		char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
		int64_t wid = out ? (int64_t)json_integer_value(json_object_get(out, "workload"))
				  : 0;
		json_decref(out);

		int64_t runner_id = p->id;
		pthread_mutex_lock(&mu);
		bool gone = p->gone;
		if (rc == ERR_CONFLICT) {
			json_t *ej = json_pack("{s:n,s:{s:s,s:s}}", "workload", "error", "code",
					       e.slug, "message", e.msg);
			char *msg = json_dumps(ej, JSON_COMPACT);
			json_decref(ej);
			answer(p, msg);
			free(msg);
			more = true;
		} else if (text && !gone) {
			answer(p, text);
		} else if (!gone && !p->answered) {
			/* nothing waits (or the database failed): back to the front */
			p->next = head;
			head = p;
			p->listed = true;
		}
		park_unref(p);
		pthread_mutex_unlock(&mu);
		if (text && gone) {
			/* the runner hung up before the answer: give the work back */
			struct err ue = { 0 };
			if (queue_unclaim(c, a, &ue, wid, runner_id) && ue.code)
				log_warn("cannot give back workload %lld: %s", (long long)wid,
					 ue.msg);
		}
		free(text);
		arena_free(a);
		if (!more)
			return;
	}
}

/* Answers watches, and stops model calls (agent.c), whose workload was
 * cancelled, ended or is gone (deleted with its agent session): one query
 * for both. */
static void serve_ends(PGconn *c)
{
	struct buf ids = BUF_INIT;
	pthread_mutex_lock(&mu);
	for (struct park *p = head; p; p = p->next)
		if (p->kind == PARK_WATCH && !p->answered)
			buf_addf(&ids, "%s%lld", ids.len ? "," : "", (long long)p->id);
	pthread_mutex_unlock(&mu);
	agent_workload_ids(&ids);
	if (!ids.len) {
		buf_release(&ids);
		return;
	}
	struct arena *a = arena_new();
	struct err e = { 0 };
	PGresult *res = db_qv(c, a, &e,
			      "SELECT DISTINCT x.id FROM unnest($1::bigint[]) AS x(id) LEFT JOIN "
			      "workloads w ON w.id = x.id WHERE w.id IS NULL OR w.cancel OR "
			      "w.status = 'done'",
			      arena_printf(a, "{%s}", ids.ptr));
	buf_release(&ids);
	for (int i = 0; res && i < PQntuples(res); i++) {
		int64_t id = db_int(res, i, 0);
		pthread_mutex_lock(&mu);
		for (struct park *p = head, *nx; p; p = nx) {
			nx = p->next;
			if (p->kind == PARK_WATCH && p->id == id)
				answer(p, "{\"cancel\":true}");
		}
		pthread_mutex_unlock(&mu);
		agent_stop_workload(id);
	}
	arena_free(a);
}

static int expire(void)
{
	int64_t now = now_ms(), next = now + POLL_MS;
	pthread_mutex_lock(&mu);
	for (struct park *p = head, *nx; p; p = nx) {
		nx = p->next;
		if (p->deadline_ms <= now)
			answer(p, p->kind == PARK_CLAIM ? "{\"workload\":null}"
							: "{\"cancel\":false}");
		else if (p->deadline_ms < next)
			next = p->deadline_ms;
	}
	pthread_mutex_unlock(&mu);
	return (int)(next - now);
}

static void notifier_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	int64_t last_look = 0;
	while (!bg_stopping(t)) {
		if (!c || PQstatus(c) != CONNECTION_OK) {
			/* a new connection: look at once, a notification may be lost */
			c = db_reconnect(c, "LISTEN plue_queue; LISTEN plue_cancel",
					 "queue notifier");
			if (!c) {
				expire();
				bg_wait(t, 500);
				continue;
			}
			last_look = 0;
		}
		int timeout = expire();
		/* notifications the last look's queries read off the socket are
		 * queued in libpq, where a poll does not see them */
		int queued = db_notifies(c, NULL, NULL);
		struct pollfd fds[1] = { { PQsocket(c), POLLIN, 0 } };
		int pr = bg_poll(t, fds, 1, queued != 0 || timeout < 0 ? 0 : timeout);
		if (pr < 0)
			break;
		bool look = now_ms() - last_look >= POLL_MS || queued > 0;
		if (pr == 1)
			look = true;
		if ((fds[0].revents & (POLLIN | POLLERR | POLLHUP)) && db_notifies(c, NULL, NULL) > 0)
			look = true;
		if (bg_stopping(t))
			break;
		if (look) {
			last_look = now_ms();
			serve_claims(c);
			serve_ends(c);
		}
	}
	/* answer everyone so no connection stays parked */
	pthread_mutex_lock(&mu);
	while (head)
		answer(head, head->kind == PARK_CLAIM ? "{\"workload\":null}" : "{\"cancel\":false}");
	pthread_mutex_unlock(&mu);
	if (c)
		PQfinish(c);
}

int queue_start(void)
{
	if (cfg.runner_secret && *cfg.runner_secret)
		secret = xstrdup(cfg.runner_secret);
	else
		secret = random_token("", 24);
	if (bg_start(&thread, "queue notifier", notifier_main, NULL))
		return -1;
	reaper_start();
	return 0;
}

void queue_stop(void)
{
	if (!bg_running(&thread))
		return;
	reaper_stop();
	/* under mu: a waiter parks before the stop (and is answered by the
	 * thread on its way out) or sees it and is answered at once */
	pthread_mutex_lock(&mu);
	bg_ask_stop(&thread);
	pthread_mutex_unlock(&mu);
	bg_stop(&thread);
}
