/* dispatcher.h — the background services that turn events into workflow
 * runs: the dispatcher (events outbox → runs, jobs, workloads) and the
 * scheduler (cron triggers → schedule events). Started by `plue serve`. */
#ifndef PLUE_QUEUE_DISPATCHER_H
#define PLUE_QUEUE_DISPATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

/* Starts the dispatcher and the scheduler threads (each with its own
 * connection). 0 or -1. */
int dispatcher_start(void);
/* Stops both; an event being dispatched finishes first. */
void dispatcher_stop(void);

/* The scheduler alone (dispatcher_start starts it). */
int scheduler_start(void);
void scheduler_stop(void);

/* A workflow file read from a commit. text is NULL when the file is too
 * large to be a workflow (len is its size then). */
struct wf_file {
	char *path; /* ".plue/workflows/ci.yaml" */
	char *text;
	size_t len;
};

/* Reads the .plue/workflows/NAME.yaml|yml files of repository repo_id at
 * commit sha (40 hex). No directory: 0 with *n = 0. ERR_NOTFOUND when the
 * repository or commit is missing. Free with dispatcher_files_free. */
int dispatcher_read_workflows(struct arena *a, int64_t repo_id, const char *sha,
			      struct wf_file **out, size_t *n, struct err *e);
void dispatcher_files_free(struct wf_file *f, size_t n);

#endif
