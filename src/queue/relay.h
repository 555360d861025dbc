/* relay.h — what one replica hears of the others. Any number of `plue
 * serve` processes share one PostgreSQL; whatever one of them keeps in
 * memory about shared state must learn of changes made through another.
 * Three channels, all PostgreSQL NOTIFY (no other broker):
 *
 *   plue_stream  "REPLICA STREAM LAST": a committed append to a stream
 *                (queue/stream.c sends it in the appending transaction).
 *                Other replicas poke their subscribers of STREAM that are
 *                behind LAST; the relay thread then reads what they lack
 *                from workload_events and queues it (the fills of
 *                http/sse.h), in order, with no duplicates and no gaps.
 *                Payloads carry ids only: events of any size travel
 *                through the table, never through NOTIFY's 8000 bytes.
 *   plue_repo    "TOKEN OWNER/NAME" (or "TOKEN *"): a repository changed
 *                visibility, name or existence, or a user was renamed
 *                (forge/repos.c): every replica forgets its visibility
 *                hints for the name (or all) and answers on
 *   plue_ack     "TOKEN". The replica that made the change waits, after
 *                its COMMIT and before it answers, until as many acks as
 *                there are relays connected to the database (counted by
 *                their application_name, "plue-relay ID") came back, at
 *                most ACK_WAIT_MS (a warning says how many answered). So
 *                once a client is told a repository is private, no
 *                replica's anonymous fast path still calls it public; and
 *                the object cache's keys carry the visibility, so nothing
 *                cached while it was public is served afterwards.
 *
 * While the relay's connection is down nothing can be heard: the
 * visibility hints are not trusted (the anonymous fast path falls back to
 * the database) and, once connected again, every subscriber is filled
 * from the database in case a notification was lost.
 *
 * Threading: one thread with its own connection, started by `plue serve`;
 * relay_replica may be called from any thread. */
#ifndef PLUE_QUEUE_RELAY_H
#define PLUE_QUEUE_RELAY_H

/* This process's replica id (random hex, fixed at relay_start; "-" in a
 * process without the relay, whose notifications every replica takes as
 * a peer's). */
const char *relay_replica(void);

/* Starts and stops the relay thread. relay_start: 0, or -1 when the
 * thread cannot start. */
int relay_start(void);
void relay_stop(void);

#endif
