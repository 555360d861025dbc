/* runs.h — the pages of workflow runs: the list of a repository's runs,
 * one run (its jobs, their needs graph, steps and log, followed live by
 * static/run.js), cancelling and approving it. The rules are the
 * domain's (forge/runs.h); the dispatcher has loaded r->repo and checked
 * the caller may read it (write, for the forms) before these run. */
#ifndef PLUE_WEB_RUNS_H
#define PLUE_WEB_RUNS_H

#include <jansson.h>

#include "web/web.h"

/* GET /:owner/:repo/runs?before=&event= — newest first, 30 a page. */
int web_runs(struct req *r, struct resp *w);
/* GET /:owner/:repo/runs/:id — the run with its whole stored log; a run
 * still going carries data-stream and data-last-seq for run.js. */
int web_run(struct req *r, struct resp *w);
/* POST /:owner/:repo/runs/:id/cancel and …/approve (writers): 303 back to
 * the run, or the run page again with the refusal beside the button
 * (409 when the run has finished, was approved, …). */
int web_run_cancel(struct req *r, struct resp *w);
int web_run_approve(struct req *r, struct resp *w);

/* ---- the pure parts (web/runview.c) ---- */

/* A status as a word and a glyph (a page never shows it by colour
 * alone); status is the CSS class suffix (state-STATUS): the status
 * itself when known, "unknown" otherwise, with label NULL. */
struct run_status {
	const char *status, *label, *glyph;
};
const struct run_status *run_status_of(const char *status);

/* The needs graph of a run's jobs (the "jobs" array of run_get, borrowed)
 * as an inline <svg>: one box per job, in columns by depth (a job's
 * column is one more than the deepest job it needs), a line from each
 * job of a needed key to the job that needs it. Names and statuses are
 * escaped (bidi controls become U+FFFD: markup cannot sit in SVG text);
 * the <svg> has a <title> and role="img". Writes nothing for no jobs.
 * Pure: appends to b only. */
void run_graph_svg(struct buf *b, const json_t *jobs);

/* A duration in milliseconds as a person reads it ("850 ms", "4.2 s",
 * "3 m 05 s", "2 h 10 m") into out (at least 32 bytes). */
void run_duration(char *out, size_t n, int64_t ms);

#endif
