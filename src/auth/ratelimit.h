/* ratelimit.h — fixed-window counters in PostgreSQL (table rate_limits),
 * shared by every server process: throttling of failed sign-ins per account
 * and per IP address, and of anonymous writes such as nonce issuance. */
#ifndef PLUE_RATELIMIT_H
#define PLUE_RATELIMIT_H

#include <libpq-fe.h>

#include "base/arena.h"
#include "base/err.h"

/* Is key (e.g. "login-ip:1.2.3.4") under limit events in the current
 * window_s-second window? Returns 0 when it is, ERR_RATELIMIT when the
 * window already holds limit events (*retry_after receives the seconds
 * until the window ends, at least 1), or ERR_INTERNAL. Sets e only for
 * database failures: the caller words the 429 message. Counts nothing. */
int ratelimit_check(PGconn *db, struct arena *a, struct err *e, const char *key, int limit,
		    int window_s, int *retry_after);

/* Counts one event for key, starting a new window when the current one is
 * over window_s seconds old. *count (may be NULL) receives the events in
 * the window including this one. Returns 0 or ERR_INTERNAL. */
int ratelimit_hit(PGconn *db, struct arena *a, struct err *e, const char *key, int window_s,
		  int *count);

/* Forgets key (after a successful sign-in). Failures are only logged. */
void ratelimit_reset(PGconn *db, struct arena *a, const char *key);

/* Deletes counters whose window started over a day ago (no limit here has
 * a longer window), so the table holds only recent clients. Failures are
 * only logged. */
void ratelimit_prune(PGconn *db, struct arena *a);

#endif
