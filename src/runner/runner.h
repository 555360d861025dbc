/* runner.h — `plue runner`: a process that registers with the server,
 * keeps a warm sandbox ready, long-polls for a workload, runs it in that
 * sandbox, and reports what happens as events; one sandbox per workload,
 * destroyed after it. The job executor (job.c) runs workflow workloads. */
#ifndef PLUE_RUNNER_H
#define PLUE_RUNNER_H

#include <jansson.h>
#include <stdbool.h>

#include "runner/reporter.h"
#include "runner/sandbox.h"

struct runner_cfg {
	const char *server_url;   /* "http://127.0.0.1:4000" */
	const char *secret;       /* pool registration secret */
	const char *sandbox;      /* auto | gvisor | bwrap | none */
	const char *work_dir;     /* where workspaces are made */
	bool standby;             /* keep claiming; otherwise run one workload and exit */
};

/* Runs the runner until SIGTERM/SIGINT (idle: at once; busy: after the
 * workload) or, without standby, after one workload. Returns the exit
 * status. */
int runner_main(const struct runner_cfg *rc);

/* What a workload's executor gets. */
struct job_env {
	struct sandbox *sb;
	struct reporter *rep;
	json_t *claim;           /* {workload, spec, secrets, task_token, ...} (borrowed) */
	const char *server_url;
	const volatile bool *stop; /* the runner is shutting down (finish, do not start more) */
};

/* The outcome of a workload. */
struct job_result {
	const char *result;      /* success | failure | cancelled | error (static strings) */
	int exit_code;           /* of the step that decided it, -1 when none */
	char reason[512];        /* "" or why */
};

/* Runs a workflow workload: checkout, then each step; posts step_start,
 * log, step_end, job_end (and aborted when cancelled). */
void job_run(struct job_env *env, struct job_result *out);

/* Replaces bytes that are not valid UTF-8 with U+FFFD; returns a malloc'd
 * NUL-terminated string. */
char *utf8_clean(const char *s, size_t len);

#endif
