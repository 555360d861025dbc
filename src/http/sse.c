/* sse.c — Server-Sent Events fan-out (see sse.h). One mutex guards the
 * channel table and every subscriber's queue: publishing appends a
 * pointer per subscriber and wakes parked connections, reading copies
 * bytes out. Messages are shared, so a thousand subscribers of one run
 * cost one copy of each event.
 *
 * Gaps: a channel's ids have no holes (a stream numbers its events one by
 * one), so a live message whose id is not the next one means another
 * replica stored the ones between and they have not arrived yet. The
 * subscriber then holds live messages (as during its replay) and asks for
 * a fill: the filler (queue/relay.c) reads what it lacks from the
 * database, and the held messages follow. A message held before the fill
 * read the database is known to be stored after everything below it, so
 * it is released even if the database had less (events pruned); one held
 * after may need another fill. */
#include "http/sse.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 256
#define KEEPALIVE_S 15
/* A subscriber that falls this far behind is disconnected; it reconnects
 * with Last-Event-ID and replays from the database. */
#define MAX_QUEUED_BYTES (16u << 20)

static const char keepalive_text[] = ": keepalive\n\n";

struct sse_msg {
	atomic_int refs;
	int64_t id;
	bool final;
	size_t len;
	char text[];
};

struct sse_sub {
	struct http_stream base;     /* first: the server holds &base */
	int64_t key;
	struct sse_sub *next, *prev; /* in its bucket */
	int64_t last_id;             /* newest id queued */
	bool started;                /* replay over: live messages go to q */
	bool armed;                  /* the server has read once: wake is set */
	bool final_queued, overflow;
	bool keepalive;              /* a keepalive comment is due */
	size_t ka_off;               /* bytes of it already sent */
	struct sse_msg **q;          /* ring */
	size_t qhead, qlen, qcap;
	size_t off;                  /* bytes of q[qhead] already sent */
	size_t qbytes;
	struct sse_msg **held;       /* live messages during the replay or a fill */
	size_t nheld, heldcap;
	/* fills (mu held): */
	bool filling;     /* live messages are held until the fill */
	bool fill_listed; /* in the fill list */
	bool poked;       /* a peer stored more before the start */
	bool gone;        /* the connection freed it while a fill held it */
	bool refill;      /* asked again while a fill was reading */
	int fill_refs;    /* fills in progress (0 or 1) */
	size_t held_mark; /* held before the fill read the database */
	struct sse_sub *fill_next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct sse_sub *buckets[NBUCKETS];
static int nsubs;
static struct sse_sub *fills, **fills_tail = &fills; /* waiting for a fill, FIFO */
static void (*fill_hook)(void);

static struct bg_thread ka_thread;

struct sse_msg *sse_msg_new(int64_t id, const char *event, const char *data, bool final)
{
	int n = snprintf(NULL, 0, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", id, event, data);
	struct sse_msg *m = xmalloc(sizeof(*m) + (size_t)n + 1);
	atomic_init(&m->refs, 1);
	m->id = id;
	m->final = final;
	m->len = (size_t)n;
	snprintf(m->text, (size_t)n + 1, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", id, event, data);
	return m;
}

void sse_msg_ref(struct sse_msg *m)
{
	atomic_fetch_add(&m->refs, 1);
}

void sse_msg_unref(struct sse_msg *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		free(m);
}

int64_t sse_msg_id(const struct sse_msg *m)
{
	return m->id;
}

static size_t bucket_of(int64_t key)
{
	return (size_t)((uint64_t)key * 11400714819323198485ull >> 56) % NBUCKETS;
}

/* ---- queue (mu held) ---- */

/* Queues m unless the subscriber has it already or has ended; true when
 * the subscriber has something new to send. */
static bool q_push(struct sse_sub *s, struct sse_msg *m)
{
	if (s->final_queued || s->overflow || m->id <= s->last_id)
		return false;
	if (s->qbytes + m->len > MAX_QUEUED_BYTES) {
		s->overflow = true;
		return true;
	}
	if (s->qlen == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 64;
		struct sse_msg **q = xcalloc(cap, sizeof(*q));
		for (size_t i = 0; i < s->qlen; i++)
			q[i] = s->q[(s->qhead + i) % s->qcap];
		free(s->q);
		s->q = q;
		s->qhead = 0;
		s->qcap = cap;
	}
	sse_msg_ref(m);
	s->q[(s->qhead + s->qlen) % s->qcap] = m;
	s->qlen++;
	s->qbytes += m->len;
	s->last_id = m->id;
	if (m->final)
		s->final_queued = true;
	return true;
}

static struct sse_msg *q_head(struct sse_sub *s)
{
	return s->qlen ? s->q[s->qhead] : NULL;
}

static void q_pop(struct sse_sub *s)
{
	struct sse_msg *m = s->q[s->qhead];
	s->qhead = (s->qhead + 1) % s->qcap;
	s->qlen--;
	s->qbytes -= m->len;
	s->off = 0;
	sse_msg_unref(m);
}

static void wake(struct sse_sub *s)
{
	/* called with mu held: the server's free (which takes mu first)
	 * cannot run concurrently, so the connection is alive */
	if (s->armed && s->base.wake)
		s->base.wake(&s->base);
}

static void unlink_sub(struct sse_sub *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		buckets[bucket_of(s->key)] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	nsubs--;
}

static void unlist_fill(struct sse_sub *s)
{
	if (!s->fill_listed)
		return;
	for (struct sse_sub **pp = &fills; *pp; pp = &(*pp)->fill_next)
		if (*pp == s) {
			*pp = s->fill_next;
			if (fills_tail == &s->fill_next)
				fills_tail = pp;
			break;
		}
	s->fill_next = NULL;
	s->fill_listed = false;
}

static void sub_free_locked(struct sse_sub *s)
{
	if (!s->gone)
		unlink_sub(s);
	unlist_fill(s);
	if (s->fill_refs) {
		/* a fill is reading for it: the filler frees it */
		s->gone = true;
		return;
	}
	while (s->qlen)
		q_pop(s);
	for (size_t i = 0; i < s->nheld; i++)
		sse_msg_unref(s->held[i]);
	free(s->held);
	free(s->q);
	free(s);
}

static void hold(struct sse_sub *s, struct sse_msg *m)
{
	if (s->nheld == s->heldcap) {
		s->heldcap = s->heldcap ? s->heldcap * 2 : 16;
		s->held = xrealloc(s->held, s->heldcap * sizeof(*s->held));
	}
	sse_msg_ref(m);
	s->held[s->nheld++] = m;
}

/* Asks for a fill (live messages are held until it is done). */
static void want_fill(struct sse_sub *s)
{
	s->filling = true;
	if (s->fill_refs)
		s->refill = true; /* the running fill lists it again when done */
	if (s->fill_listed || s->fill_refs || s->gone)
		return;
	s->fill_next = NULL;
	*fills_tail = s;
	fills_tail = &s->fill_next;
	s->fill_listed = true;
	if (fill_hook)
		fill_hook();
}

/* Moves the held messages to the queue in order while the ids follow on;
 * at a gap the rest stay held and a fill is asked for. */
static void release_held(struct sse_sub *s)
{
	size_t i = 0, k = 0;
	for (; i < s->nheld; i++) {
		struct sse_msg *m = s->held[i];
		if (m->id > s->last_id + 1 && !s->final_queued && !s->overflow)
			break;
		q_push(s, m);
		sse_msg_unref(m);
	}
	for (; i < s->nheld; i++)
		s->held[k++] = s->held[i];
	s->nheld = k;
	if (k)
		want_fill(s);
	else
		s->filling = false;
}

/* ---- the http_stream ---- */

static size_t st_write(struct http_stream *hs, const char *data, size_t len)
{
	(void)hs;
	(void)data;
	return len; /* a GET has no body; anything sent is ignored */
}

static void st_write_end(struct http_stream *hs)
{
	(void)hs;
}

static long st_read(struct http_stream *hs, char *out, size_t max)
{
	struct sse_sub *s = (struct sse_sub *)hs;
	size_t n = 0;
	pthread_mutex_lock(&mu);
	s->armed = true;
	while (n < max) {
		if (s->keepalive && s->off == 0) {
			/* between messages only, so it never splits one */
			size_t k = sizeof(keepalive_text) - 1 - s->ka_off;
			if (k > max - n)
				k = max - n;
			memcpy(out + n, keepalive_text + s->ka_off, k);
			n += k;
			s->ka_off += k;
			if (s->ka_off < sizeof(keepalive_text) - 1)
				break;
			s->keepalive = false;
			s->ka_off = 0;
			continue;
		}
		struct sse_msg *m = q_head(s);
		if (!m)
			break;
		size_t k = m->len - s->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, m->text + s->off, k);
		n += k;
		s->off += k;
		if (s->off < m->len)
			break;
		bool fin = m->final;
		q_pop(s);
		if (fin || s->overflow)
			break;
	}
	/* the response ends after the final message, or when the subscriber
	 * fell too far behind (after the message in flight went out whole) */
	bool ended = !s->keepalive && s->off == 0 && ((s->final_queued && !s->qlen) || s->overflow);
	pthread_mutex_unlock(&mu);
	if (n)
		return (long)n;
	return ended ? -1 : 0;
}

static void st_free(struct http_stream *hs)
{
	pthread_mutex_lock(&mu);
	sub_free_locked((struct sse_sub *)hs);
	pthread_mutex_unlock(&mu);
}

static const struct http_stream_ops sse_ops = {
	.write = st_write,
	.write_end = st_write_end,
	.read = st_read,
	.free = st_free,
};

/* ---- subscribers ---- */

struct sse_sub *sse_subscribe(int64_t key, int64_t last_id)
{
	struct sse_sub *s = xcalloc(1, sizeof(*s));
	s->base.ops = &sse_ops;
	s->base.idle = true;
	s->key = key;
	s->last_id = last_id;
	pthread_mutex_lock(&mu);
	size_t b = bucket_of(key);
	s->next = buckets[b];
	if (s->next)
		s->next->prev = s;
	buckets[b] = s;
	nsubs++;
	pthread_mutex_unlock(&mu);
	return s;
}

void sse_sub_replay(struct sse_sub *s, struct sse_msg *m)
{
	pthread_mutex_lock(&mu);
	q_push(s, m);
	pthread_mutex_unlock(&mu);
}

struct http_stream *sse_sub_start(struct sse_sub *s)
{
	pthread_mutex_lock(&mu);
	s->started = true;
	release_held(s);
	if (s->poked)
		want_fill(s);
	wake(s);
	pthread_mutex_unlock(&mu);
	return &s->base;
}

void sse_sub_abandon(struct sse_sub *s)
{
	if (s)
		st_free(&s->base);
}

void sse_publish(int64_t key, struct sse_msg *m)
{
	pthread_mutex_lock(&mu);
	for (struct sse_sub *s = buckets[bucket_of(key)]; s; s = s->next) {
		if (s->key != key)
			continue;
		if (!s->started || s->filling) {
			hold(s, m);
			continue;
		}
		if (m->id > s->last_id + 1 && !s->final_queued && !s->overflow) {
			/* a peer's messages in between have not come yet */
			hold(s, m);
			want_fill(s);
			continue;
		}
		if (q_push(s, m))
			wake(s);
	}
	pthread_mutex_unlock(&mu);
}

void sse_close_all(void)
{
	pthread_mutex_lock(&mu);
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct sse_sub *s = buckets[b]; s; s = s->next) {
			s->overflow = true; /* ends the response; clients reconnect */
			s->started = true;
			wake(s);
		}
	pthread_mutex_unlock(&mu);
}

/* ---- fills (see the top comment) ---- */

void sse_set_fill_hook(void (*fn)(void))
{
	pthread_mutex_lock(&mu);
	fill_hook = fn;
	pthread_mutex_unlock(&mu);
}

bool sse_poke(int64_t key, int64_t upto)
{
	bool any = false;
	pthread_mutex_lock(&mu);
	for (struct sse_sub *s = buckets[bucket_of(key)]; s; s = s->next) {
		if (s->key != key || s->last_id >= upto || s->final_queued || s->overflow)
			continue;
		if (!s->started) {
			s->poked = true; /* its start asks for the fill */
			continue;
		}
		want_fill(s);
		any = true;
	}
	pthread_mutex_unlock(&mu);
	return any;
}

void sse_poke_all(void)
{
	pthread_mutex_lock(&mu);
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct sse_sub *s = buckets[b]; s; s = s->next) {
			if (s->final_queued || s->overflow)
				continue;
			if (s->started)
				want_fill(s);
			else
				s->poked = true;
		}
	pthread_mutex_unlock(&mu);
}

size_t sse_fills_take(struct sse_fill *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&mu);
	while (fills && n < max) {
		struct sse_sub *s = fills;
		fills = s->fill_next;
		if (!fills)
			fills_tail = &fills;
		s->fill_next = NULL;
		s->fill_listed = false;
		s->fill_refs++;
		s->held_mark = s->nheld;
		s->poked = false;
		out[n++] = (struct sse_fill){ s, s->key, s->last_id };
	}
	pthread_mutex_unlock(&mu);
	return n;
}

void sse_fill_push(struct sse_sub *s, struct sse_msg *m)
{
	pthread_mutex_lock(&mu);
	if (!s->gone && q_push(s, m))
		wake(s);
	pthread_mutex_unlock(&mu);
}

void sse_fill_done(struct sse_sub *s, bool ok)
{
	pthread_mutex_lock(&mu);
	s->fill_refs--;
	if (s->gone) {
		sub_free_locked(s);
	} else if (!ok) {
		s->refill = false;
		want_fill(s); /* the database failed: again on the next round */
	} else {
		/* stored before the read: nothing below them is missing */
		size_t mark = s->held_mark < s->nheld ? s->held_mark : s->nheld;
		size_t k = 0;
		for (size_t i = 0; i < mark; i++) {
			q_push(s, s->held[i]);
			sse_msg_unref(s->held[i]);
		}
		for (size_t i = mark; i < s->nheld; i++)
			s->held[k++] = s->held[i];
		s->nheld = k;
		s->held_mark = 0;
		if (s->refill) {
			/* poked again during the read: the next fill releases */
			s->refill = false;
			want_fill(s);
		} else {
			release_held(s);
		}
		wake(s);
	}
	pthread_mutex_unlock(&mu);
}

int sse_subscribers(void)
{
	pthread_mutex_lock(&mu);
	int n = nsubs;
	pthread_mutex_unlock(&mu);
	return n;
}

/* ---- keepalive ---- */

static void ka_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	while (bg_wait(t, KEEPALIVE_S * 1000)) {
		pthread_mutex_lock(&mu);
		for (size_t b = 0; b < NBUCKETS; b++)
			for (struct sse_sub *s = buckets[b]; s; s = s->next) {
				if (!s->started || s->keepalive)
					continue;
				s->keepalive = true;
				wake(s);
			}
		pthread_mutex_unlock(&mu);
	}
}

int sse_start(void)
{
	return bg_start(&ka_thread, "sse keepalive", ka_main, NULL);
}

void sse_stop(void)
{
	bg_stop(&ka_thread);
}
