/* metrics.c — the families Plue exports, as one table of data, and the
 * lock-free registry and text exposition behind them (see metrics.h). */
#include "base/metrics.h"
#include "base/log.h"
#include "base/util.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

/* ---- the families ---- */

#define SLOTS(n) .slots = (struct metric_series[n]){ { 0 } }, .cap = n

/* a cached blob answers in well under a millisecond; a clone of a large
 * repository takes seconds */
static const double http_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				      0.25,   0.5,   1,      2.5,   5,    10,    30 };
/* a warm runner claims within milliseconds; an empty pool makes work wait */
static const double claim_bounds[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
				       5,    10,   30,  60,   300, 900, 3600 };
#define NB(a) (sizeof(a) / sizeof((a)[0]))

struct metric_family metric_http_requests = {
	"plue_http_requests_total",
	"HTTP requests answered, by route pattern, method and status",
	METRIC_COUNTER,
	{ "route", "method", "status" },
	NULL,
	0,
	SLOTS(4096)
};
struct metric_family metric_http_duration = {
	"plue_http_request_duration_seconds",
	"Time from the request's headers to the end of its response, by route pattern and method",
	METRIC_HISTOGRAM,
	{ "route", "method" },
	http_bounds,
	NB(http_bounds),
	SLOTS(1024)
};
struct metric_family metric_git_transfers = {
	"plue_git_transfers_total",
	"git fetches and pushes over smart HTTP, by service and result",
	METRIC_COUNTER,
	{ "service", "result" },
	NULL,
	0,
	SLOTS(32)
};
struct metric_family metric_git_pack_cache = {
	"plue_git_fetch_pack_cache_total",
	"upload-pack requests over smart HTTP, by whether they ran with the pack cache "
	"(bypassed: the request offered haves)",
	METRIC_COUNTER,
	{ "pack_cache" },
	NULL,
	0,
	SLOTS(4)
};
struct metric_family metric_git_bytes = {
	"plue_git_transfer_bytes_total",
	"Bytes of git transfers as they crossed the connection (in: from the client)",
	METRIC_COUNTER,
	{ "service", "direction" },
	NULL,
	0,
	SLOTS(32)
};
struct metric_family metric_workloads = { "plue_workloads",
					  "Workloads by state, read from the database at scrape time",
					  METRIC_GAUGE,
					  { "state" },
					  NULL,
					  0,
					  SLOTS(16) };
struct metric_family metric_claim_seconds = {
	"plue_workload_claim_seconds",
	"Time from a workload's creation to its claim by a runner",
	METRIC_HISTOGRAM,
	{ NULL },
	claim_bounds,
	NB(claim_bounds),
	SLOTS(2)
};
struct metric_family metric_runners = {
	"plue_runners", "Registered runners that are alive, idle or busy, at scrape time",
	METRIC_GAUGE,   { "state" },
	NULL,           0,
	SLOTS(8)
};
struct metric_family metric_sse_connections = { "plue_sse_connections",
						"Open Server-Sent Events streams",
						METRIC_GAUGE,
						{ NULL },
						NULL,
						0,
						SLOTS(2) };
struct metric_family metric_db_in_use = { "plue_db_connections_in_use",
					  "Worker database connections running a job",
					  METRIC_GAUGE,
					  { NULL },
					  NULL,
					  0,
					  SLOTS(2) };
struct metric_family metric_db_connections = { "plue_db_connections",
					       "Worker database connections open",
					       METRIC_GAUGE,
					       { NULL },
					       NULL,
					       0,
					       SLOTS(2) };
struct metric_family metric_db_query_errors = {
	"plue_db_query_errors_total",
	"Failed statements: constraint (unique, foreign key, bad value), conflict "
	"(serialization, deadlock), other (logged)",
	METRIC_COUNTER,
	{ "kind" },
	NULL,
	0,
	SLOTS(8)
};
struct metric_family metric_webhook_deliveries = {
	"plue_webhook_deliveries",
	"Webhook deliveries by status, read from the database at scrape time",
	METRIC_GAUGE,
	{ "status" },
	NULL,
	0,
	SLOTS(8)
};
struct metric_family metric_k8s_requests = {
	"plue_k8s_requests_total",
	"Requests to the Kubernetes API (each attempt), by verb and outcome",
	METRIC_COUNTER,
	{ "verb", "outcome" },
	NULL,
	0,
	SLOTS(64)
};
struct metric_family metric_k8s_watch_restarts = {
	"plue_k8s_watch_restarts_total",
	"Kubernetes watches started again: gone (410, relisted), closed (the "
	"server ended the stream), error (dropped or refused)",
	METRIC_COUNTER,
	{ "reason" },
	NULL,
	0,
	SLOTS(4)
};
struct metric_family metric_build_info = {
	"plue_build_info",
	"Always 1; the labels name the version and the libraries in use",
	METRIC_GAUGE,
	{ "version", "libgit2", "libpq" },
	NULL,
	0,
	SLOTS(4)
};

struct metric_family metric_k8s_pods_created = {
	"plue_k8s_pods_created_total",
	"Runner pods the Kubernetes pool keeper created, by pool",
	METRIC_COUNTER,
	{ "pool" },
	NULL,
	0,
	SLOTS(4)
};
struct metric_family metric_k8s_pods_deleted = {
	"plue_k8s_pods_deleted_total",
	"Runner pods the Kubernetes pool keeper deleted or saw go, by reason",
	METRIC_COUNTER,
	{ "reason" },
	NULL,
	0,
	SLOTS(16)
};
struct metric_family metric_k8s_pool = {
	"plue_k8s_pool_pods",
	"Runner pods alive, by pool and state (idle or busy), as the keeper last saw them",
	METRIC_GAUGE,
	{ "pool", "state" },
	NULL,
	0,
	SLOTS(8)
};
struct metric_family metric_k8s_cold_starts = {
	"plue_k8s_cold_starts_total",
	"Pods created for a waiting workload that no idle runner could take",
	METRIC_COUNTER,
	{ NULL },
	NULL,
	0,
	SLOTS(2)
};

static struct metric_family *const families[] = {
	&metric_http_requests,    &metric_http_duration,      &metric_git_transfers,
	&metric_git_bytes,        &metric_workloads,          &metric_claim_seconds,
	&metric_runners,          &metric_sse_connections,    &metric_db_in_use,
	&metric_db_connections,   &metric_db_query_errors,    &metric_webhook_deliveries,
	&metric_k8s_requests,     &metric_k8s_watch_restarts, &metric_build_info,
	&metric_k8s_pods_created, &metric_k8s_pods_deleted,   &metric_k8s_pool,
	&metric_k8s_cold_starts,  &metric_git_pack_cache,
};

/* ---- the registry ---- */

static atomic_bool enabled;

void metrics_enable(bool on)
{
	atomic_store(&enabled, on);
}

bool metrics_enabled(void)
{
	return atomic_load_explicit(&enabled, memory_order_relaxed);
}

static size_t nlabels(const struct metric_family *f)
{
	size_t n = 0;
	while (n < METRIC_MAX_LABELS && f->labels[n])
		n++;
	return n;
}

static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull; /* no value contains 0xff in UTF-8 */
	}
	return h | 1;
}

/* The series for values, created on first sight; NULL when the family is
 * full. */
static struct metric_series *series_get(struct metric_family *f, const char *const *values)
{
	size_t n = nlabels(f);
	uint64_t h = hash_values(values, n);
	size_t mask = f->cap - 1;
	size_t p = (size_t)h & mask;
	for (size_t i = 0; i < f->cap; i++, p = (p + 1) & mask) {
		struct metric_series *s = &f->slots[p];
		uint_fast64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
		if (!k) {
			if (atomic_compare_exchange_strong(&s->key, &k, h)) {
				for (size_t j = 0; j < n; j++)
					s->values[j] = xstrdup(values[j]);
				if (f->type == METRIC_HISTOGRAM)
					s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
				atomic_store_explicit(&s->ready, true, memory_order_release);
				return s;
			}
			/* k now holds the key that won the slot */
		}
		if (k != h)
			continue;
		while (!atomic_load_explicit(&s->ready, memory_order_acquire))
			sched_yield(); /* its creator is copying the values */
		size_t j = 0;
		while (j < n && !strcmp(s->values[j], values[j]))
			j++;
		if (j == n)
			return s;
	}
	if (!atomic_exchange(&f->full_warned, true))
		log_warn("metrics: '%s' has more than %zu series; new ones are dropped", f->name,
			 f->cap);
	return NULL;
}

void metrics_count(struct metric_family *f, const char *const *values, uint64_t n)
{
	if (!metrics_enabled())
		return;
	struct metric_series *s = series_get(f, values);
	if (s)
		atomic_fetch_add_explicit(&s->value, (int_fast64_t)n, memory_order_relaxed);
}

void metrics_gauge_set(struct metric_family *f, const char *const *values, int64_t v)
{
	if (!metrics_enabled())
		return;
	struct metric_series *s = series_get(f, values);
	if (s)
		atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

void metrics_gauge_add(struct metric_family *f, const char *const *values, int64_t delta)
{
	if (!metrics_enabled())
		return;
	struct metric_series *s = series_get(f, values);
	if (s)
		atomic_fetch_add_explicit(&s->value, delta, memory_order_relaxed);
}

void metrics_observe(struct metric_family *f, const char *const *values, double v)
{
	if (!metrics_enabled())
		return;
	struct metric_series *s = series_get(f, values);
	if (!s)
		return;
	if (!(v > 0))
		v = 0; /* also NaN */
	size_t b = 0;
	while (b < f->nbounds && v > f->bounds[b])
		b++;
	atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns, (uint_fast64_t)(v * 1e9), memory_order_relaxed);
}

/* ---- the exposition ---- */

static void add_escaped(struct buf *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(out, "\\\\");
		else if (*s == '\n')
			buf_adds(out, "\\n");
		else if (*s == '"' && quote)
			buf_adds(out, "\\\"");
		else
			buf_addch(out, *s);
	}
}

/* name{l1="v1",...[,le="x"]} */
static void add_series_name(struct buf *out, const struct metric_family *f, const char *suffix,
			    const struct metric_series *s, const char *le)
{
	size_t n = nlabels(f);
	buf_addf(out, "%s%s", f->name, suffix);
	if (!n && !le)
		return;
	buf_addch(out, '{');
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
		add_escaped(out, s->values[i], true);
		buf_addch(out, '"');
	}
	if (le)
		buf_addf(out, "%sle=\"%s\"", n ? "," : "", le);
	buf_addch(out, '}');
}

static void render_histogram(struct buf *out, const struct metric_family *f,
			     const struct metric_series *s)
{
	/* _count is the +Inf bucket, read once: the two always agree */
	uint64_t cum = 0;
	char le[32];
	for (size_t b = 0; b <= f->nbounds; b++) {
		cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
		if (b < f->nbounds)
			snprintf(le, sizeof(le), "%g", f->bounds[b]);
		add_series_name(out, f, "_bucket", s, b < f->nbounds ? le : "+Inf");
		buf_addf(out, " %llu\n", (unsigned long long)cum);
	}
	add_series_name(out, f, "_sum", s, NULL);
	buf_addf(out, " %.9g\n",
		 (double)atomic_load_explicit(&s->sum_ns, memory_order_relaxed) / 1e9);
	add_series_name(out, f, "_count", s, NULL);
	buf_addf(out, " %llu\n", (unsigned long long)cum);
}

void metrics_render(struct buf *out)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		struct metric_family *f = families[i];
		buf_addf(out, "# HELP %s ", f->name);
		add_escaped(out, f->help, false);
		buf_addf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		/* a family without labels always has its one series, zero at first */
		if (!nlabels(f) && metrics_enabled())
			series_get(f, NULL);
		for (size_t j = 0; j < f->cap; j++) {
			const struct metric_series *s = &f->slots[j];
			if (!atomic_load_explicit(&s->ready, memory_order_acquire))
				continue;
			if (f->type == METRIC_HISTOGRAM) {
				render_histogram(out, f, s);
				continue;
			}
			add_series_name(out, f, "", s, NULL);
			buf_addf(out, " %lld\n",
				 (long long)atomic_load_explicit(&s->value, memory_order_relaxed));
		}
	}
}
