/* gauges.c — the stored-state gauges of the execution system, read at
 * scrape time (see gauges.h). */
#include "queue/gauges.h"
#include "base/metrics.h"
#include "db/db.h"

static void set_states(struct metric_family *f, const char *const *states)
{
	for (size_t i = 0; states[i]; i++)
		metrics_gauge_set(f, &states[i], 0);
}

void queue_gauges_read(PGconn *db, struct arena *a)
{
	static const char *const wl[] = { "waiting", "claimed", "running", "done", NULL };
	static const char *const rn[] = { "idle", "busy", NULL };
	static const char *const wh[] = { "pending", "delivered", "failed", NULL };
	struct err e = { 0 };
	PGresult *res = db_query(db, a, &e,
				 "SELECT 'w', status, count(*) FROM workloads GROUP BY status "
				 "UNION ALL SELECT 'r', status, count(*) FROM runners "
				 "WHERE status <> 'dead' GROUP BY status "
				 "UNION ALL SELECT 'h', status, count(*) FROM webhook_deliveries "
				 "GROUP BY status",
				 0, NULL);
	if (!res)
		return;
	set_states(&metric_workloads, wl);
	set_states(&metric_runners, rn);
	set_states(&metric_webhook_deliveries, wh);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *kind = db_val(res, i, 0), *state = db_val(res, i, 1);
		metrics_gauge_set(*kind == 'w'   ? &metric_workloads
				  : *kind == 'r' ? &metric_runners
						 : &metric_webhook_deliveries,
				  &state, db_int(res, i, 2));
	}
}
