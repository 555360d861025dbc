/* ratelimit.c — fixed-window counters kept in PostgreSQL (ratelimit.h). A
 * window starts at a key's first event and lasts window_s seconds; the
 * counter and the window start are updated by one upsert, so concurrent
 * requests on any worker or server count exactly. */
#include "auth/ratelimit.h"
#include "db/db.h"

#include <stdio.h>

static const char *itoa_arena(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

int ratelimit_check(PGconn *db, struct arena *a, struct err *e, const char *key, int limit,
		    int window_s, int *retry_after)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT count, greatest(1, ceil(extract(epoch FROM "
			      "  window_start + make_interval(secs => $2::int) - now())))::int "
			      "FROM rate_limits "
			      "WHERE key = $1 AND window_start > now() - make_interval(secs => $2::int)",
			      key, itoa_arena(a, window_s));
	if (!res)
		return e->code;
	if (PQntuples(res) == 1 && db_int(res, 0, 0) >= limit) {
		*retry_after = (int)db_int(res, 0, 1);
		return ERR_RATELIMIT;
	}
	return 0;
}

int ratelimit_hit(PGconn *db, struct arena *a, struct err *e, const char *key, int window_s,
		  int *count)
{
	PGresult *res = db_qv(
		db, a, e,
		"INSERT INTO rate_limits AS l (key, window_start, count) VALUES ($1, now(), 1) "
		"ON CONFLICT (key) DO UPDATE SET "
		"  count = CASE WHEN l.window_start > now() - make_interval(secs => $2::int) "
		"    THEN l.count + 1 ELSE 1 END, "
		"  window_start = CASE WHEN l.window_start > now() - make_interval(secs => $2::int) "
		"    THEN l.window_start ELSE now() END "
		"RETURNING count",
		key, itoa_arena(a, window_s));
	if (!res)
		return e->code;
	if (count)
		*count = (int)db_int(res, 0, 0);
	return 0;
}

void ratelimit_reset(PGconn *db, struct arena *a, const char *key)
{
	db_qv(db, a, NULL, "DELETE FROM rate_limits WHERE key = $1", key);
}

void ratelimit_prune(PGconn *db, struct arena *a)
{
	db_query(db, a, NULL, "DELETE FROM rate_limits WHERE window_start < now() - interval '1 day'",
		 0, NULL);
}
