/* stream.c — storing and publishing stream events (see stream.h). The
 * stream row is locked (SELECT ... FOR UPDATE) before sequence numbers are
 * handed out, so numbers are assigned in commit order; the in-process
 * stripe lock keeps publication in the same order.
 *
 * Other replicas: the statement that moves streams.last_seq also sends
 * NOTIFY plue_stream "REPLICA STREAM LAST" (delivered at COMMIT, in commit
 * order), and each replica's relay (queue/relay.h) reads the rows its own
 * subscribers lack. No extra round trip here: the same-replica path stays
 * what it was, publishing straight from the appending thread. */
#include "queue/stream.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "queue/relay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSTRIPES 64

static pthread_mutex_t stripes[NSTRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
	for (int i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&stripes[i], NULL);
}

static pthread_mutex_t *stripe(int64_t id)
{
	pthread_once(&stripes_once, stripes_init);
	return &stripes[(uint64_t)id % NSTRIPES];
}

int stream_create(int64_t *out, PGconn *db, struct arena *a, struct err *e, int64_t repo_id)
{
	PGresult *res = db_qv(db, a, e, "INSERT INTO streams (repo_id) VALUES ($1) RETURNING id",
			      arena_id(a, repo_id));
	if (!res)
		return e->code;
	*out = db_int(res, 0, 0);
	return 0;
}

void stream_tx_begin(struct stream_tx *t, int64_t stream_id)
{
	memset(t, 0, sizeof(*t));
	t->stream_id = stream_id;
	t->last_seq = -1;
	pthread_mutex_lock(stripe(stream_id));
}

static int lock_row(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e)
{
	if (t->last_seq >= 0)
		return 0;
	PGresult *res = db_qv(db, a, e, "SELECT last_seq FROM streams WHERE id = $1 FOR UPDATE",
			      arena_int(a, t->stream_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "stream %lld not found",
			       (long long)t->stream_id);
	t->last_seq = db_int(res, 0, 0);
	return 0;
}

int stream_append(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		  int64_t workload_id, json_t *events, int *added)
{
	int rc;
	json_t *rows = NULL;
	if (added)
		*added = 0;
	if (!json_array_size(events))
		return 0;
	if ((rc = lock_row(t, db, a, e)))
		return rc;

	/* which of the runner's numbers are already stored (a retried batch) */
	size_t n = json_array_size(events);
	bool *dup = arena_alloc(a, n);
	if (workload_id) {
		struct buf b = BUF_INIT;
		buf_addch(&b, '{');
		size_t i;
		json_t *ev;
		json_array_foreach(events, i, ev)
		{
			json_t *s = json_object_get(ev, "seq");
			if (json_is_integer(s))
				buf_addf(&b, "%s%lld", b.len > 1 ? "," : "",
					 (long long)json_integer_value(s));
		}
		buf_addch(&b, '}');
		PGresult *res = db_qv(db, a, e,
				      "SELECT seq FROM workload_events WHERE workload_id = $1 AND "
				      "seq = ANY($2::bigint[])",
				      arena_int(a, workload_id), arena_strdup(a, b.ptr));
		buf_release(&b);
		if (!res)
			return e->code;
		for (int r = 0; r < PQntuples(res); r++) {
			long long s = db_int(res, r, 0);
			json_array_foreach(events, i, ev)
			{
				json_t *js = json_object_get(ev, "seq");
				if (json_is_integer(js) && json_integer_value(js) == s)
					dup[i] = true;
			}
		}
	}

	rows = json_array();
	int64_t first = t->last_seq + 1, next = first;
	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_array_get(events, i);
		if (dup[i])
			continue;
		/* the same number twice in one batch counts once */
		json_t *js = json_object_get(ev, "seq");
		for (size_t j = 0; j < i && json_is_integer(js); j++) {
			json_t *oj = json_object_get(json_array_get(events, j), "seq");
			if (!dup[j] && json_is_integer(oj) &&
			    json_integer_value(oj) == json_integer_value(js)) {
				dup[i] = true;
				break;
			}
		}
		if (dup[i])
			continue;
		json_t *payload = json_object_get(ev, "payload");
		json_array_append_new(
			rows,
			json_pack("{s:I,s:O,s:s,s:O}", "stream_seq", (json_int_t)next++, "seq",
				  json_is_integer(js) && workload_id ? js : json_null(), "type",
				  json_string_value(json_object_get(ev, "type")), "payload",
				  json_is_object(payload) ? payload : json_object()));
	}
	int nnew = (int)(next - first);
	if (nnew) {
		char *text = json_dumps(rows, JSON_COMPACT);
		const char *jt = arena_strdup(a, text);
		free(text);
		PGresult *res = db_qv(
			db, a, e,
			"INSERT INTO workload_events (stream_id, stream_seq, workload_id, seq, type, "
			"payload) SELECT $1, x.stream_seq, $2, x.seq, x.type, coalesce(x.payload, '{}') "
			"FROM jsonb_to_recordset($3::jsonb) AS x(stream_seq bigint, seq bigint, type "
			"text, payload jsonb) RETURNING stream_seq, type, payload::text, " STREAM_FINAL_SQL,
			arena_int(a, t->stream_id), arena_id(a, workload_id), jt);
		if (!res) {
			rc = e->code;
			goto done;
		}
		if (!db_qv(db, a, e,
			   "UPDATE streams SET last_seq = $2 WHERE id = $1 RETURNING "
			   "pg_notify('plue_stream', $3)",
			   arena_int(a, t->stream_id), arena_int(a, (next - 1)),
			   arena_printf(a, "%s %lld %lld", relay_replica(), (long long)t->stream_id,
					(long long)(next - 1)))) {
			rc = e->code;
			goto done;
		}
		t->last_seq = next - 1;
		/* RETURNING order is not guaranteed: place by number */
		struct sse_msg **msgs = arena_alloc(a, sizeof(*msgs) * (size_t)nnew);
		for (int r = 0; r < PQntuples(res); r++) {
			int64_t s = db_int(res, r, 0);
			const char *type = db_val(res, r, 1);
			if (s < first || s >= next)
				continue;
			msgs[s - first] = sse_msg_new(s, type, db_val(res, r, 2), db_bool(res, r, 3));
		}
		for (int k = 0; k < nnew; k++) {
			if (!msgs[k])
				continue;
			if (t->n == t->cap) {
				t->cap = t->cap ? t->cap * 2 : 16;
				t->msgs = xrealloc(t->msgs, t->cap * sizeof(*t->msgs));
			}
			t->msgs[t->n++] = msgs[k];
		}
	}
	if (added)
		*added = nnew;
	rc = 0;
done:
	json_decref(rows);
	return rc;
}

int stream_append1(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		   int64_t workload_id, const char *type, json_t *payload)
{
	json_t *evs = json_pack("[{s:s,s:o}]", "type", type, "payload", payload);
	int rc = stream_append(t, db, a, e, workload_id, evs, NULL);
	json_decref(evs);
	return rc;
}

/* An event to publish, placed by stream and number. */
struct msg_at {
	int64_t stream, seq;
	struct sse_msg *m;
};

static int msg_cmp(const void *x, const void *y)
{
	const struct msg_at *a = x, *b = y;
	if (a->stream != b->stream)
		return a->stream < b->stream ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int stream_append_many(PGconn *db, struct arena *a, struct err *e, json_t *batch)
{
	size_t nb = json_array_size(batch), i;
	json_t *b;
	if (!nb)
		return 0;
	/* the publishing locks of every stream, each stripe once, in one
	 * order: whoever else holds one holds no other, so no cycle */
	bool held[NSTRIPES] = { false };
	json_array_foreach(batch, i, b)
	{
		int64_t id = json_integer_value(json_object_get(b, "stream"));
		held[(uint64_t)id % NSTRIPES] = true;
	}
	pthread_once(&stripes_once, stripes_init);
	for (int k = 0; k < NSTRIPES; k++)
		if (held[k])
			pthread_mutex_lock(&stripes[k]);
	char *text = json_dumps(batch, JSON_COMPACT);
	const char *jt = arena_strdup(a, text);
	free(text);
	/* one statement, outside any transaction: each stream's row is
	 * locked until it ends, and numbered from its last_seq */
	PGresult *res = db_qv(
		db, a, e,
		"WITH b AS (SELECT (x.v->>'stream')::bigint AS sid, x.v->'events' AS evs, "
		"  jsonb_array_length(x.v->'events') AS n FROM jsonb_array_elements($1::jsonb) AS x(v)), "
		"u AS (UPDATE streams s SET last_seq = s.last_seq + b.n FROM b WHERE s.id = b.sid "
		"  RETURNING s.id, s.last_seq - b.n AS base, "
		"  pg_notify('plue_stream', $2 || ' ' || s.id || ' ' || s.last_seq)) "
		"INSERT INTO workload_events (stream_id, stream_seq, type, payload) "
		"SELECT u.id, u.base + ev.ord, ev.v->>'type', coalesce(ev.v->'payload', '{}') "
		"FROM u JOIN b ON b.sid = u.id, jsonb_array_elements(b.evs) WITH ORDINALITY AS ev(v, ord) "
		"RETURNING stream_id, stream_seq, type, payload::text, " STREAM_FINAL_SQL,
		jt, relay_replica());
	int rc = res ? 0 : e->code;
	int rows = res ? PQntuples(res) : 0;
	struct msg_at *msgs = rows ? arena_alloc(a, sizeof(*msgs) * (size_t)rows) : NULL;
	for (int r = 0; r < rows; r++)
		msgs[r] = (struct msg_at){ db_int(res, r, 0), db_int(res, r, 1),
					   sse_msg_new(db_int(res, r, 1), db_val(res, r, 2),
						       db_val(res, r, 3), db_bool(res, r, 4)) };
	if (rows)
		qsort(msgs, (size_t)rows, sizeof(*msgs), msg_cmp);
	for (int r = 0; r < rows; r++) {
		sse_publish(msgs[r].stream, msgs[r].m);
		sse_msg_unref(msgs[r].m);
	}
	for (int k = NSTRIPES - 1; k >= 0; k--)
		if (held[k])
			pthread_mutex_unlock(&stripes[k]);
	return rc;
}

void stream_tx_end(struct stream_tx *t, bool committed)
{
	for (size_t i = 0; i < t->n; i++) {
		if (committed)
			sse_publish(t->stream_id, t->msgs[i]);
		sse_msg_unref(t->msgs[i]);
	}
	free(t->msgs);
	t->msgs = NULL;
	t->n = t->cap = 0;
	pthread_mutex_unlock(stripe(t->stream_id));
}

int stream_replay(PGconn *db, struct arena *a, struct err *e, int64_t stream_id, int64_t after,
		  struct sse_sub *s)
{
	/* in pages, so a long log does not sit in one result */
	for (;;) {
		PGresult *res = db_qv(db, NULL, e,
				      "SELECT stream_seq, type, payload::text, " STREAM_FINAL_SQL
				      " FROM workload_events "
				      "WHERE stream_id = $1 AND stream_seq > $2 ORDER BY stream_seq "
				      "LIMIT 2000",
				      arena_int(a, stream_id), arena_int(a, after));
		if (!res)
			return e->code;
		int n = PQntuples(res);
		for (int r = 0; r < n; r++) {
			const char *type = db_val(res, r, 1);
			struct sse_msg *m = sse_msg_new(db_int(res, r, 0), type, db_val(res, r, 2),
							db_bool(res, r, 3));
			sse_sub_replay(s, m);
			sse_msg_unref(m);
			after = db_int(res, r, 0);
		}
		PQclear(res);
		if (n < 2000)
			return 0;
	}
}
