/* ratelimit.h — fixed-window counters in PostgreSQL (table rate_limits),
 * shared by every server process: throttling of sign-in attempts per client
 * address (and per address and account), and of anonymous writes such as
 * nonce issuance. */
#ifndef PLUE_RATELIMIT_H
#define PLUE_RATELIMIT_H

#include <libpq-fe.h>

#include "base/arena.h"
#include "base/err.h"

/* Checks and counts in one step: counts one event for key when its
 * current window_s-second window holds fewer than limit, atomically (one
 * upsert that holds the row lock), so however many requests race, at most
 * limit of them are let through per window. Returns 0 when the event was
 * counted, ERR_RATELIMIT when the window is full (nothing counted;
 * *retry_after receives the seconds until it ends, at least 1), or the
 * database's ERR_* with e set. */
int ratelimit_take(PGconn *db, struct arena *a, struct err *e, const char *key, int limit,
		   int window_s, int *retry_after);

/* Gives back one event taken by ratelimit_take with the same limit (an
 * attempt that turned out not to count, such as a successful sign-in).
 * Failures are only logged. */
void ratelimit_refund(PGconn *db, struct arena *a, const char *key, int limit);

/* Forgets key (after a successful sign-in). Failures are only logged. */
void ratelimit_reset(PGconn *db, struct arena *a, const char *key);

/* Deletes counters whose window started over a day ago (no limit here has
 * a longer window), so the table holds only recent clients. Failures are
 * only logged. */
void ratelimit_prune(PGconn *db, struct arena *a);

#endif
