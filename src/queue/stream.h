/* stream.h — event streams: the ordered, stored log of what workloads did
 * (step_start, log, step_end, job_end, done, ...), replayed by SSE and
 * fanned out live. A stream has its own sequence (streams.last_seq): a
 * workflow run's stream interleaves the events of all its jobs under one
 * monotonic id, which is the SSE `id:`.
 *
 * Appending happens inside the caller's transaction, between
 * stream_tx_begin and stream_tx_end: the begin takes an in-process lock
 * for the stream so that events are published to subscribers in sequence
 * order after COMMIT. Rule: one stream per transaction (take the stream's
 * lock before BEGIN, and no other stream's lock inside it). */
#ifndef PLUE_QUEUE_STREAM_H
#define PLUE_QUEUE_STREAM_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "http/sse.h"

/* SQL: whether a workload_events row ends its stream for subscribers (the
 * `final` of sse_msg_new): a run's `done` does; a session's (its payload
 * names the session) ends one turn only. */
#define STREAM_FINAL_SQL "(type = 'done' AND NOT payload ? 'session')"

struct stream_tx {
	int64_t stream_id;
	int64_t last_seq;      /* after the row is locked; -1 before */
	struct sse_msg **msgs; /* to publish after commit */
	size_t n, cap;
};

/* Creates a stream (for a run, or an agent session) owned by repo_id
 * (0: none); *out: its id. */
int stream_create(int64_t *out, PGconn *db, struct arena *a, struct err *e, int64_t repo_id);

/* Takes stream_id's publishing lock. Call before BEGIN. */
void stream_tx_begin(struct stream_tx *t, int64_t stream_id);

/* Appends events inside the caller's open transaction. A `done` event
 * ends the stream for its subscribers — except one whose payload has a
 * "session" member: a session's stream goes on after each turn's done.
 * events is a JSON
 * array of {"seq": N (optional), "type": "log", "payload": {...}};
 * workload_id 0 marks server-written events (no seq). An event whose
 * (workload_id, seq) is already stored is skipped, so a retried batch is
 * stored once. *added (may be NULL) receives how many were new. */
int stream_append(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		  int64_t workload_id, json_t *events, int *added);

/* One server-written event; steals payload. */
int stream_append1(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		   int64_t workload_id, const char *type, json_t *payload);

/* Appends server-written events (no workload, no seq) to several streams
 * in one statement of its own, outside any transaction (the connection is
 * idle; no stream lock of the caller's is held), then publishes them:
 * batch is [{"stream": ID, "events": [{type, payload}, ...]}, ...], each
 * stream once. Takes the streams' publishing locks itself. For many small
 * appends at once (agents' tokens): one round trip for all. */
int stream_append_many(PGconn *db, struct arena *a, struct err *e, json_t *batch);

/* After COMMIT (committed) publishes what was appended, in order; after a
 * rollback drops it. Releases the lock. */
void stream_tx_end(struct stream_tx *t, bool committed);

/* Queues into s the stored events of stream_id with stream_seq > after,
 * in order (the SSE replay). */
int stream_replay(PGconn *db, struct arena *a, struct err *e, int64_t stream_id, int64_t after,
		  struct sse_sub *s);

#endif
