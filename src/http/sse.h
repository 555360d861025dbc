/* sse.h — Server-Sent Events fan-out in memory. A channel (keyed by an
 * integer, e.g. a stream id) has subscribers; each published message is
 * formatted once and shared, reference-counted, by every subscriber's
 * queue. A subscriber is an http_stream: when its queue is empty the
 * connection parks (costs no thread) and a publish wakes it. A keepalive
 * comment goes to every subscriber every 15 s so dead peers are found.
 *
 * Lossless replay: subscribe first (live messages are held), push the
 * stored messages after Last-Event-ID, then start; held messages whose id
 * was already sent are dropped. Ids must grow per channel, and publishers
 * must publish a channel's messages in id order.
 *
 * Several replicas: a channel's ids go up one by one with no holes, and a
 * message may have been stored by another process. A subscriber that
 * sees a live id skip ahead, or is poked (a peer stored more), holds live
 * messages and waits for a fill: the filler takes the request
 * (sse_fills_take), pushes what the database holds after the
 * subscriber's last id (sse_fill_push), and ends it (sse_fill_done). */
#ifndef PLUE_SSE_H
#define PLUE_SSE_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"

struct sse_msg;
struct sse_sub;

/* A message "id: ID\nevent: EVENT\ndata: DATA\n\n" (data must be one line,
 * e.g. compact JSON). final marks the last message of the channel: a
 * subscriber closes its response after sending it. Returns a new reference. */
struct sse_msg *sse_msg_new(int64_t id, const char *event, const char *data, bool final);
void sse_msg_ref(struct sse_msg *m);
/* Drops a reference; accepts NULL. */
void sse_msg_unref(struct sse_msg *m);
int64_t sse_msg_id(const struct sse_msg *m);

/* Creates a subscriber of channel key that has seen every id <= last_id.
 * Live messages published from now on are held until sse_sub_start. */
struct sse_sub *sse_subscribe(int64_t key, int64_t last_id);
/* Queues a stored message (replay); ignored when its id is not above the
 * last id queued. Does not take m's reference. */
void sse_sub_replay(struct sse_sub *s, struct sse_msg *m);
/* Ends the replay: held live messages newer than the replay follow.
 * Returns the subscriber's response stream (the connection owns it: its
 * free unsubscribes). */
struct http_stream *sse_sub_start(struct sse_sub *s);
/* Drops a subscriber that was never started (an error before the
 * response). */
void sse_sub_abandon(struct sse_sub *s);

/* Sends m to every subscriber of channel key. Does not take m's
 * reference. Any thread. */
void sse_publish(int64_t key, struct sse_msg *m);

/* ---- fills (the filler is queue/relay.c) ---- */

struct sse_fill {
	struct sse_sub *sub; /* held by the fill until sse_fill_done */
	int64_t key;         /* its channel */
	int64_t after;       /* the last id it has */
};

/* fn is called (with sse's lock held: it may only wake a thread) each
 * time a fill is asked for. */
void sse_set_fill_hook(void (*fn)(void));
/* A peer stored messages of channel key up to id upto: subscribers
 * behind it ask for a fill. True when any did. */
bool sse_poke(int64_t key, int64_t upto);
/* Every subscriber asks for a fill (notifications may have been lost). */
void sse_poke_all(void);
/* Takes up to max fill requests into out; returns how many. */
size_t sse_fills_take(struct sse_fill *out, size_t max);
/* Queues a stored message for a subscriber being filled (ids in order,
 * ignored when not above its last id). Does not take m's reference. */
void sse_fill_push(struct sse_sub *s, struct sse_msg *m);
/* Ends a fill: ok when everything stored after `after` was pushed; held
 * messages follow. Drops the fill's hold on s. */
void sse_fill_done(struct sse_sub *s, bool ok);

/* Number of live subscribers (for tests and health). */
int sse_subscribers(void);

/* Ends every subscriber's response after what it has queued (server
 * shutdown: no connection may stay parked). */
void sse_close_all(void);

/* Starts and stops the keepalive thread. */
int sse_start(void);
void sse_stop(void);

#endif
