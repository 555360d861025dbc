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
 * must publish a channel's messages in id order. */
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

/* Number of live subscribers (for tests and health). */
int sse_subscribers(void);

/* Ends every subscriber's response after what it has queued (server
 * shutdown: no connection may stay parked). */
void sse_close_all(void);

/* Starts and stops the keepalive thread. */
int sse_start(void);
void sse_stop(void);

#endif
