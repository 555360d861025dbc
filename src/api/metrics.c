/* metrics.c — GET /metrics: the Prometheus text exposition (docs/metrics.md).
 * Off unless PLUE_METRICS_TOKEN is set; then the scraper must present it as
 * a bearer token. The gauges that describe stored state (workloads,
 * runners, webhook deliveries) are read from the database here, on the
 * worker that serves the scrape (queue/gauges.h). */
#include "api/api.h"
#include "base/config.h"
#include "base/metrics.h"
#include "base/util.h"
#include "http/sse.h"
#include "queue/gauges.h"

#include <git2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#ifndef PLUE_VERSION
#define PLUE_VERSION "dev"
#endif

/* Compares the presented token with the configured one in constant time
 * (over their digests, so not even the length leaks). */
static int check_token(struct req *r)
{
	const char *h = req_header(r, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return err_set(&r->err, ERR_AUTH, NULL,
			       "metrics need an 'Authorization: Bearer' token");
	char got[65], want[65];
	sha256_hex(got, h + 7, strlen(h + 7));
	sha256_hex(want, cfg.metrics_token, strlen(cfg.metrics_token));
	if (!ct_equal(got, want, 64))
		return err_set(&r->err, ERR_AUTH, "invalid_token", "invalid metrics token");
	return 0;
}

int h_metrics(struct req *r, struct resp *w)
{
	int rc = 0;
	if (!cfg.metrics_token || !*cfg.metrics_token) {
		rc = err_set(&r->err, ERR_NOTFOUND, NULL,
			     "metrics are off: set PLUE_METRICS_TOKEN to serve them");
		goto done;
	}
	if ((rc = check_token(r)))
		goto done;
	if (r->db)
		queue_gauges_read(r->db, r->arena);
	metrics_gauge_set(&metric_sse_connections, NULL, sse_subscribers());
	int maj = 0, min = 0, rev = 0, pq = PQlibVersion();
	git_libgit2_version(&maj, &min, &rev);
	char g2[32], lpq[32];
	snprintf(g2, sizeof(g2), "%d.%d.%d", maj, min, rev);
	snprintf(lpq, sizeof(lpq), "%d.%d", pq / 10000, pq % 10000);
	metrics_gauge_set(&metric_build_info, (const char *[]){ PLUE_VERSION, g2, lpq }, 1);
	w->status = 200;
	w->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&w->body);
	metrics_render(&w->body);
	resp_header(w, "Cache-Control", "no-store");
done:
	return rc;
}
