/* runs.h — workflow runs and jobs on top of the workload queue: creating
 * a run with its jobs, starting jobs whose needs are met (evaluating their
 * `if`), rolling job results up to the run and to commit statuses, and
 * cancelling. The dispatcher creates runs; the queue calls the job hooks
 * when a job's workload is claimed, reports steps, or finishes.
 *
 * Functions that take a struct stream_tx run inside the caller's
 * transaction, which holds that run's stream lock (see stream.h). */
#ifndef PLUE_QUEUE_RUNS_H
#define PLUE_QUEUE_RUNS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "queue/stream.h"

/* One job instance of a new run. */
struct run_job_new {
	const char *key;     /* the job's id under jobs: */
	const char *name;    /* display name with matrix suffix */
	json_t *needs;       /* array of job keys (borrowed) */
	json_t *matrix;      /* this instance's combination (borrowed) */
	const char *if_expr; /* NULL = success() */
	bool continue_on_error;
	json_t *spec;        /* steps, env, limits (borrowed); see runs.c */
	bool may_write;      /* contents: write */
};

struct run_new {
	int64_t repo_id;
	int64_t definition_id; /* 0 when the file did not parse */
	const char *path;      /* .plue/workflows/ci.yaml */
	const char *name;
	int64_t event_id;      /* 0 for none */
	const char *event_type;
	const char *ref, *sha;
	int64_t actor_id;
	json_t *context;               /* {event, repo, inputs, env} (borrowed) */
	const char *concurrency_group; /* NULL: none */
	bool cancel_in_progress;
	const char *failure;           /* set: the run is created failed with this conclusion */
	bool untrusted;                /* its actor has no write access (see runs_approve) */
	bool needs_approval;           /* untrusted and a job refers to a secret: the run
				 * is created 'waiting' and nothing starts */
	struct run_job_new *jobs;
	size_t njobs;
};

/* Creates the run, its jobs, and the workloads of the jobs that can start,
 * inside the caller's transaction (NOTIFY included). Cancels nothing; see
 * runs_cancel_group. */
int runs_create(PGconn *db, struct arena *a, struct err *e, const struct run_new *rn,
		int64_t *run_id);

/* Cancels the active runs of repo_id's concurrency group other than
 * keep_run_id (cancel-in-progress). Own transactions. */
int runs_cancel_group(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		      const char *group, int64_t keep_run_id);

/* Cancels run_id: waiting jobs are cancelled at once, running ones get
 * the cancel flag (their runners stop within a second). ERR_CONFLICT when
 * the run is already finished. Own transaction. */
int runs_cancel(PGconn *db, struct arena *a, struct err *e, int64_t run_id, const char *why);

/* A writer (user_id) approves run_id, an untrusted run waiting for
 * approval: approved_by / approved_at are recorded, the run is queued and
 * its jobs start (with their secrets and declared permissions) unless an
 * older run of its concurrency group is active (runs_start_held starts it
 * later); with cancel-in-progress it then cancels the other runs of its
 * group. ERR_NOTFOUND; ERR_CONFLICT with slug run_trusted (started by a
 * writer), already_approved, run_finished, or approval_not_needed (an
 * untrusted run that refers to no secret runs without approval). Own
 * transactions. */
int runs_approve(PGconn *db, struct arena *a, struct err *e, int64_t run_id, int64_t user_id);

/* Starts the runs that waited for an older run of their concurrency group
 * to end. Own transactions; the dispatcher calls it on every wake-up. */
int runs_start_held(PGconn *db, struct arena *a, struct err *e);

/* ---- hooks called by the queue ---- */

/* The job's workload was claimed by a runner using sandbox. */
int runs_job_claimed(PGconn *db, struct arena *a, struct err *e, int64_t job_id,
		     const char *sandbox, bool first_event);
/* A step_start / step_end event of the job's workload. */
int runs_job_step(PGconn *db, struct arena *a, struct err *e, int64_t job_id, const char *type,
		  json_t *payload);
/* The job's workload went back to the queue (its runner died). */
int runs_job_requeued(PGconn *db, struct arena *a, struct err *e, int64_t job_id);
/* The job's workload finished with result: the job ends, dependants start
 * or are skipped, the run may end (a final `done` event). */
int runs_job_done(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e, int64_t job_id,
		  const char *result, int exit_code, const char *reason);

#endif
