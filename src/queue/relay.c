/* relay.c — the replicas' NOTIFY listener and the SSE filler (see
 * relay.h). One thread: it drains every pending notification first, so a
 * burst of appends costs one read per stream, then serves the fill
 * requests of all streams at once in one query (each stream's rows after
 * the lowest id its subscribers have, a page at a time). */
#include "queue/relay.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/forge.h"
#include "http/sse.h"
#include "queue/stream.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILLS 512    /* fill requests served per round */
#define PAGE 1000        /* rows per stream per query */
#define RETRY_MS 500     /* after a failed connection or query */
#define ACK_WAIT_MS 2000 /* a visibility change waits this long at most */

static struct bg_thread thread;
static char replica[24];

/* Visibility changes waiting for every replica's acknowledgement. */
struct waiter {
	char token[17];
	int acks;
	int64_t born_ms;
	struct waiter *next;
};
static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static struct waiter *waiters;

static void hint_expect(const char *token)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	snprintf(w->token, sizeof(w->token), "%s", token);
	w->born_ms = now_ms();
	pthread_mutex_lock(&wmu);
	/* one whose change failed before its await is dropped in time */
	for (struct waiter **pp = &waiters; *pp;) {
		if (now_ms() - (*pp)->born_ms > 10 * ACK_WAIT_MS) {
			struct waiter *old = *pp;
			*pp = old->next;
			free(old);
		} else {
			pp = &(*pp)->next;
		}
	}
	w->next = waiters;
	waiters = w;
	pthread_mutex_unlock(&wmu);
}

static void hint_ack(const char *token)
{
	pthread_mutex_lock(&wmu);
	for (struct waiter *w = waiters; w; w = w->next)
		if (!strcmp(w->token, token)) {
			w->acks++;
			pthread_cond_broadcast(&wcond);
		}
	pthread_mutex_unlock(&wmu);
}

/* After the COMMIT: until every relay connected to the database (each
 * replica's, this one's included) has acknowledged token. */
static void hint_await(PGconn *db, const char *token)
{
	struct err e = { 0 };
	PGresult *res = db_query(db, NULL, &e,
				 "SELECT count(*) FROM pg_stat_activity WHERE datname = "
				 "current_database() AND application_name LIKE 'plue-relay %'",
				 0, NULL);
	int want = res ? (int)db_int(res, 0, 0) : 0;
	PQclear(res);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ACK_WAIT_MS / 1000;
	pthread_mutex_lock(&wmu);
	struct waiter **pp = &waiters;
	while (*pp && strcmp((*pp)->token, token))
		pp = &(*pp)->next;
	struct waiter *w = *pp;
	int rc = 0;
	while (w && w->acks < want && rc == 0)
		rc = pthread_cond_timedwait(&wcond, &wmu, &until);
	if (w) {
		if (w->acks < want)
			log_warn("relay: %d of %d replicas acknowledged a visibility change",
				 w->acks, want);
		for (pp = &waiters; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		free(w);
	}
	pthread_mutex_unlock(&wmu);
}

static const struct repo_hint_sync hint_sync = { hint_expect, hint_await };

const char *relay_replica(void)
{
	return replica[0] ? replica : "-";
}

static void fill_wake(void)
{
	bg_wake(&thread);
}

/* db_notifies' callback; ctx is the relay's connection */
static void on_notify(void *ctx, PGnotify *n)
{
	PGconn *c = ctx;
	if (!strcmp(n->relname, "plue_ack")) {
		hint_ack(n->extra);
		return;
	}
	if (!strcmp(n->relname, "plue_repo")) {
		/* "TOKEN owner/name" or "TOKEN *" */
		char token[17];
		const char *sp = strchr(n->extra, ' ');
		if (!sp || sp - n->extra > 16)
			return;
		snprintf(token, sizeof(token), "%.*s", (int)(sp - n->extra), n->extra);
		const char *what = sp + 1, *slash = strchr(what, '/');
		if (!strcmp(what, "*")) {
			repo_hints_forget_all();
		} else if (slash) {
			char owner[256];
			snprintf(owner, sizeof(owner), "%.*s", (int)(slash - what), what);
			repo_hint_forget(owner, slash + 1);
		}
		/* forgotten: the replica that made the change may answer */
		PGresult *r = PQexecParams(c, "SELECT pg_notify('plue_ack', $1)", 1, NULL,
					   (const char *[]){ token }, NULL, NULL, 0);
		PQclear(r);
		return;
	}
	char from[24];
	int64_t sid, last;
	if (sscanf(n->extra, "%23s %" SCNd64 " %" SCNd64, from, &sid, &last) != 3)
		return;
	if (!strcmp(from, replica))
		return; /* published here already */
	sse_poke(sid, last);
}

struct want {
	int64_t key, after;
};

static int want_cmp(const void *x, const void *y)
{
	const struct want *a = x, *b = y;
	return a->key < b->key ? -1 : a->key > b->key;
}

/* Serves the pending fills: false when the database failed (they are
 * asked for again). */
static bool serve_fills(PGconn *c)
{
	static struct sse_fill fl[MAX_FILLS];
	size_t n = sse_fills_take(fl, MAX_FILLS);
	if (!n)
		return true;
	/* each stream once, from the lowest id any of its subscribers has */
	struct want *w = xcalloc(n, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		w[i] = (struct want){ fl[i].key, fl[i].after };
	qsort(w, n, sizeof(*w), want_cmp);
	size_t nw = 0;
	for (size_t i = 0; i < n; i++) {
		if (nw && w[nw - 1].key == w[i].key) {
			if (w[i].after < w[nw - 1].after)
				w[nw - 1].after = w[i].after;
			continue;
		}
		w[nw++] = w[i];
	}
	bool ok = true;
	while (nw && ok) {
		struct arena *a = arena_new();
		struct err e = { 0 };
		struct buf ids = BUF_INIT, afters = BUF_INIT;
		for (size_t i = 0; i < nw; i++) {
			buf_addf(&ids, "%s%" PRId64, i ? "," : "{", w[i].key);
			buf_addf(&afters, "%s%" PRId64, i ? "," : "{", w[i].after);
		}
		buf_addch(&ids, '}');
		buf_addch(&afters, '}');
		PGresult *res = db_qv(
			c, a, &e,
			"SELECT x.sid, e.stream_seq, e.type, e.payload::text, e.fin FROM "
			"unnest($1::bigint[], $2::bigint[]) AS x(sid, after) CROSS JOIN LATERAL "
			"(SELECT stream_seq, type, payload, " STREAM_FINAL_SQL " AS fin FROM "
			"workload_events WHERE stream_id = x.sid AND stream_seq > x.after ORDER BY "
			"stream_seq LIMIT $3::int) e ORDER BY x.sid, e.stream_seq",
			arena_strdup(a, ids.ptr), arena_strdup(a, afters.ptr), arena_int(a, PAGE));
		buf_release(&ids);
		buf_release(&afters);
		if (!res) {
			log_warn("relay: cannot read stream events: %s", e.msg);
			ok = false;
			arena_free(a);
			break;
		}
		/* push each row to the stream's subscribers being filled */
		size_t more = 0;
		int rows = PQntuples(res);
		for (size_t i = 0, r = 0; i < nw; i++) {
			int got = 0;
			while (r < (size_t)rows && db_int(res, (int)r, 0) == w[i].key) {
				int64_t seq = db_int(res, (int)r, 1);
				struct sse_msg *m = sse_msg_new(seq, db_val(res, (int)r, 2),
								db_val(res, (int)r, 3),
								db_bool(res, (int)r, 4));
				for (size_t f = 0; f < n; f++)
					if (fl[f].key == w[i].key)
						sse_fill_push(fl[f].sub, m);
				sse_msg_unref(m);
				w[i].after = seq;
				got++;
				r++;
			}
			if (got == PAGE)
				w[more++] = w[i]; /* a full page: read on */
		}
		nw = more;
		arena_free(a);
	}
	for (size_t i = 0; i < n; i++)
		sse_fill_done(fl[i].sub, ok);
	free(w);
	return ok;
}

static void relay_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	/* the name counts this replica among those that acknowledge */
	char listen_sql[160];
	snprintf(listen_sql, sizeof(listen_sql),
		 "SET application_name = 'plue-relay %s'; LISTEN plue_stream; LISTEN plue_repo; "
		 "LISTEN plue_ack",
		 replica);
	while (!bg_stopping(t)) {
		if (!c || PQstatus(c) != CONNECTION_OK) {
			repo_hints_trust(false);
			c = db_reconnect(c, listen_sql, "relay");
			if (!c) {
				bg_wait(t, RETRY_MS);
				continue;
			}
			/* what came while nobody listened is unknown */
			repo_hints_trust(true);
			sse_poke_all();
		}
		/* notifications the last round's queries read off the socket
		 * wait in libpq, where a poll does not see them */
		int got = db_notifies(c, on_notify, c);
		struct pollfd fds[1] = { { PQsocket(c), POLLIN, 0 } };
		if (got == 0 && bg_poll(t, fds, 1, 60000) < 0)
			break;
		if (got == 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)))
			got = db_notifies(c, on_notify, c);
		if (got < 0) {
			log_warn("relay: connection lost: %s", PQerrorMessage(c));
			PQfinish(c);
			c = NULL; /* reconnects above */
			continue;
		}
		if (!serve_fills(c))
			bg_wait(t, RETRY_MS);
	}
	repo_hints_trust(false);
	if (c)
		PQfinish(c);
}

int relay_start(void)
{
	char *id = random_token("", 8);
	snprintf(replica, sizeof(replica), "%s", id);
	free(id);
	repo_hints_trust(false);
	repo_hint_set_sync(&hint_sync);
	sse_set_fill_hook(fill_wake);
	if (bg_start(&thread, "relay", relay_main, NULL)) {
		log_error("cannot start the relay thread");
		return -1;
	}
	return 0;
}

void relay_stop(void)
{
	bg_stop(&thread);
	sse_set_fill_hook(NULL);
	repo_hint_set_sync(NULL);
}
