/* gauges.h — the metrics that describe the execution system's stored
 * state (docs/metrics.md): workloads by status, live runners by status,
 * webhook deliveries by status. They are read from the database when
 * scraped, not counted as things happen, so they are right after a
 * restart and across servers sharing one database. */
#ifndef PLUE_QUEUE_GAUGES_H
#define PLUE_QUEUE_GAUGES_H

#include <libpq-fe.h>

#include "base/arena.h"

/* Sets metric_workloads, metric_runners and metric_webhook_deliveries
 * (base/metrics.h) from db, in one small query; every known state is
 * set, to 0 when there is none. A failure leaves the gauges as they were
 * (db_query logs and counts it): a scrape still answers. */
void queue_gauges_read(PGconn *db, struct arena *a);

#endif
