/* metrics.h — the process's metrics registry and its Prometheus text
 * exposition (docs/metrics.md).
 *
 * Every family Plue exports is declared here and defined once, as data, in
 * metrics.c: a name, a help line, a type, fixed label names and, for
 * histograms, fixed bucket bounds. A family holds up to `cap` series (one
 * per distinct combination of label values); callers pass label values from
 * bounded sets only (route patterns, never raw paths), and updates beyond
 * the capacity are dropped with one warning in the log.
 *
 * Threading: every function may be called from any thread at any time.
 * Updates are lock-free (atomic adds; a new series is claimed with a
 * compare-and-swap), so instrumented hot paths never wait on a scrape.
 * Label values are copied when a series is first seen.
 *
 * Metrics are off until metrics_enable(true): while off, updates return at
 * once and cost a load and a branch. */
#ifndef PLUE_METRICS_H
#define PLUE_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define METRIC_MAX_LABELS 3

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_series {
	atomic_uint_fast64_t key;    /* hash of the label values | 1; 0 = free */
	atomic_bool ready;           /* values[] and buckets are written */
	char *values[METRIC_MAX_LABELS];
	atomic_int_fast64_t value;   /* counter or gauge */
	atomic_uint_fast64_t sum_ns; /* histogram: sum of observations, 1e-9 units */
	atomic_uint_fast64_t *buckets; /* histogram: nbounds + 1 counts (last: +Inf), not cumulative */
};

struct metric_family {
	const char *name;
	const char *help;
	enum metric_type type;
	const char *labels[METRIC_MAX_LABELS]; /* names; unused entries NULL */
	const double *bounds;                  /* histogram bucket upper bounds, ascending */
	size_t nbounds;
	struct metric_series *slots;
	size_t cap; /* slots, a power of two */
	atomic_bool full_warned;
};

/* The families (see metrics.c for their labels and buckets). */
extern struct metric_family metric_http_requests;      /* route, method, status */
extern struct metric_family metric_http_duration;      /* route, method (histogram) */
extern struct metric_family metric_git_transfers;      /* service, result */
extern struct metric_family metric_git_pack_cache;     /* pack_cache: used, bypassed */
extern struct metric_family metric_git_bytes;          /* service, direction */
extern struct metric_family metric_workloads;          /* state (set at scrape) */
extern struct metric_family metric_claim_seconds;      /* histogram */
extern struct metric_family metric_runners;            /* state (set at scrape) */
extern struct metric_family metric_sse_connections;    /* set at scrape */
extern struct metric_family metric_db_in_use;          /* worker connections busy */
extern struct metric_family metric_db_connections;     /* worker connections open */
extern struct metric_family metric_db_query_errors;    /* kind */
extern struct metric_family metric_webhook_deliveries; /* status (set at scrape) */
extern struct metric_family metric_k8s_requests;       /* verb, outcome */
extern struct metric_family metric_k8s_watch_restarts; /* reason */
extern struct metric_family metric_build_info;         /* version, libraries */
extern struct metric_family metric_k8s_pods_created;   /* pool */
extern struct metric_family metric_k8s_pods_deleted;   /* reason */
extern struct metric_family metric_k8s_pool;           /* pool, state */
extern struct metric_family metric_k8s_cold_starts;    /* no labels */

/* Turns updates on or off (plue serve turns them on when a metrics token
 * is configured, before its threads start). */
void metrics_enable(bool on);
bool metrics_enabled(void);

/* values: one string per label of the family, in order (NULL for a family
 * without labels). Counters only grow; gauges are signed. */
void metrics_count(struct metric_family *f, const char *const *values, uint64_t n);
void metrics_gauge_set(struct metric_family *f, const char *const *values, int64_t v);
void metrics_gauge_add(struct metric_family *f, const char *const *values, int64_t delta);
/* Records one observation (seconds, or the family's unit; negative values
 * count as 0). */
void metrics_observe(struct metric_family *f, const char *const *values, double v);

/* Appends every family in the text exposition format 0.0.4 (HELP, TYPE,
 * one line per series; histograms as cumulative _bucket lines ending with
 * le="+Inf", then _sum and _count, where _count equals the +Inf bucket). */
void metrics_render(struct buf *out);

#endif
