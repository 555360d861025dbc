/* ratelimit.c — fixed-window counters kept in PostgreSQL (ratelimit.h). A
 * window starts at a key's first event and lasts window_s seconds; the
 * counter and the window start are updated by one upsert (which checks the
 * limit too, for ratelimit_take), so concurrent requests on any worker or
 * server count exactly. */
#include "auth/ratelimit.h"
#include "db/db.h"

#include <stdio.h>

int ratelimit_take(PGconn *db, struct arena *a, struct err *e, const char *key, int limit,
		   int window_s, int *retry_after)
{
	/* a full window stays at limit + 1: the refused are not counted */
	PGresult *res = db_qv(
		db, a, e,
		"INSERT INTO rate_limits AS l (key, window_start, count) VALUES ($1, now(), 1) "
		"ON CONFLICT (key) DO UPDATE SET "
		"  count = CASE WHEN l.window_start > now() - make_interval(secs => $2::int) "
		"    THEN least(l.count + 1, $3::int + 1) ELSE 1 END, "
		"  window_start = CASE WHEN l.window_start > now() - make_interval(secs => $2::int) "
		"    THEN l.window_start ELSE now() END "
		"RETURNING count, greatest(1, ceil(extract(epoch FROM "
		"  window_start + make_interval(secs => $2::int) - now())))::int",
		key, arena_int(a, window_s), arena_int(a, limit));
	if (!res)
		return e->code;
	if (db_int(res, 0, 0) > limit) {
		*retry_after = (int)db_int(res, 0, 1);
		return ERR_RATELIMIT;
	}
	return 0;
}

void ratelimit_refund(PGconn *db, struct arena *a, const char *key, int limit)
{
	/* limit + 1 is a full window that refused some: it held limit */
	db_qv(db, a, NULL,
	      "UPDATE rate_limits SET count = least(count, $2::int) - 1 WHERE key = $1 AND count > 0",
	      key, arena_int(a, limit));
}

void ratelimit_reset(PGconn *db, struct arena *a, const char *key)
{
	db_qv(db, a, NULL, "DELETE FROM rate_limits WHERE key = $1", key);
}

void ratelimit_prune(PGconn *db, struct arena *a)
{
	db_query(db, a, NULL,
		 "DELETE FROM rate_limits WHERE window_start < now() - interval '1 day'", 0, NULL);
}
