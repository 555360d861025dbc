/* queue.h — workloads (the unit a runner executes: a workflow job today,
 * an agent turn later), the runners of the warm pool, task tokens, and
 * the background threads that hand work out and notice dead runners.
 *
 * Life of a workload: waiting → claimed (a runner holds it and a task
 * token exists) → running (the runner posted its first event) → done
 * (success | failure | cancelled | error). A runner that stops
 * heartbeating for RUNNER_DEAD_S seconds is declared dead and its
 * workload goes back to waiting once (attempt 2), else fails.
 *
 * Functions taking a PGconn run on the caller's connection; those that
 * change several rows open their own transaction unless said otherwise. */
#ifndef PLUE_QUEUE_H
#define PLUE_QUEUE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "http/http.h"
#include "queue/stream.h"

#define RUNNER_DEAD_S 30
#define CLAIM_WAIT_MS 25000 /* a claim long-poll answers within this */
#define WATCH_WAIT_MS 25000 /* a cancel watch answers within this */
#define TASK_TOKEN_PREFIX "plue_task_"
#define RUNNER_TOKEN_PREFIX "plue_runner_"

/* ---- runners ---- */

/* Registers a runner; *token (arena) is shown once. */
int runner_register(PGconn *db, struct arena *a, struct err *e, const char *host, int pid,
		    const char *sandbox, int64_t *id, const char **token);
/* 0 when token is runner id's; ERR_AUTH otherwise; ERR_CONFLICT (slug
 * "runner_dead") when the runner was declared dead (it must stop). */
int runner_check(PGconn *db, struct arena *a, struct err *e, int64_t id, const char *token);
/* Records that the runner (and the workload it holds) is alive. */
int runner_heartbeat(PGconn *db, struct arena *a, struct err *e, int64_t id);

/* ---- claims ---- */

/* Claims the oldest waiting workload for runner_id (FOR UPDATE SKIP
 * LOCKED), or hands again the one it already holds but has not started
 * (a reply that was lost). *out is NULL when nothing waits, else a new
 * object {workload, type, attempt, task_token, seq_start, spec, secrets}:
 * seq_start is the first event number the runner uses, secrets the values
 * of the secrets the spec names (never stored in the spec). */
int queue_claim(PGconn *db, struct arena *a, struct err *e, int64_t runner_id, json_t **out);
/* Gives a claimed workload back (its runner never got the reply). */
int queue_unclaim(PGconn *db, struct arena *a, struct err *e, int64_t workload_id, int64_t runner_id);
/* NOTIFY plue_queue (inside the caller's transaction, delivered at
 * COMMIT): parked claims look again. */
int queue_notify(PGconn *db, struct arena *a, struct err *e);

/* ---- tasks: a claimed workload, authenticated by its task token ---- */

struct task {
	int64_t workload_id, repo_id, stream_id, job_id, runner_id;
	int64_t session_id; /* agent: the session it is a turn of; else 0 */
	int64_t actor_id;   /* agent: whose authority its tools carry; else 0 */
	const char *type;   /* "workflow" | "agent" */
	const char *status; /* "claimed" | "running" */
	int attempt;
	bool cancel;
	json_t *spec; /* arena-owned */
};

/* Checks token against workload_id (alive tokens only). ERR_AUTH when it
 * does not match or the workload is done. */
int task_auth(PGconn *db, struct arena *a, struct err *e, int64_t workload_id, const char *token,
	      struct task *out);
/* Stores a batch ({"events": [{seq, type, payload}, ...]}) idempotently,
 * masks secret values in every string of each payload, publishes it, and
 * reports whether the workload should stop. */
int task_events(PGconn *db, struct arena *a, struct err *e, const struct task *t, json_t *body,
		bool *cancel);
/* Finishes the workload: {result: success|failure|cancelled|error,
 * exit_code, reason}; the reason is masked. Kills the task token; rolls
 * the result up. */
int task_complete(PGconn *db, struct arena *a, struct err *e, const struct task *t, json_t *body);

/* ---- workloads ---- */

struct workload_new {
	const char *type;   /* "workflow" | "agent" */
	int64_t job_id;     /* workflow: its job; 0 otherwise */
	int64_t repo_id;
	int64_t stream_id;  /* where its events go */
	int64_t session_id; /* agent: its session; 0 otherwise */
	int64_t actor_id;   /* agent: whose authority its tools and pushes carry */
	bool may_write;     /* its task token may push */
	json_t *spec;       /* borrowed; "secret_names" lists secrets to hand out */
};

/* Inserts a waiting workload (inside the caller's transaction; call
 * queue_notify before COMMIT). */
int workload_create(PGconn *db, struct arena *a, struct err *e, const struct workload_new *w,
		    int64_t *id);

/* Marks a workload done inside the caller's transaction (which holds t,
 * the lock of the workload's stream) and rolls the result up to what the
 * workload belongs to (a workflow job). Idempotent: a workload already
 * done is left as it is. */
int workload_finish(struct stream_tx *t, PGconn *db, struct arena *a, struct err *e,
		    int64_t workload_id, const char *result, int exit_code, const char *reason);

/* Sets the cancel flag of the workloads (inside the caller's transaction)
 * and notifies their runners' watches at COMMIT. */
int workload_cancel_notify(PGconn *db, struct arena *a, struct err *e, int64_t workload_id);

/* ---- background: claim/watch long-polls, the reaper ---- */

/* Starts the notifier (LISTEN plue_queue, plue_cancel) and the reaper,
 * each with its own connection. */
int queue_start(void);
void queue_stop(void);

/* Wakes the notifier at once, for work committed by this process (the
 * dispatcher's new runs): no wait for PostgreSQL to deliver the NOTIFY,
 * which still wakes notifiers of other processes. */
void queue_wake(void);

/* A response that parks until a workload is claimed for runner_id (body:
 * the claim object) or CLAIM_WAIT_MS pass (body {"workload":null}). Holds
 * no worker and no connection while parked. */
struct http_stream *queue_claim_park(int64_t runner_id);
/* A response that parks until workload_id is cancelled or done (body
 * {"cancel":true}) or WATCH_WAIT_MS pass ({"cancel":false}). */
struct http_stream *queue_watch_park(int64_t workload_id);

/* The reaper (started by queue_start): declares runners dead after
 * RUNNER_DEAD_S seconds of silence and re-queues or fails their work. */
void reaper_start(void);
void reaper_stop(void);
/* Declares runner runner_id dead at once, for cause (what happened to it,
 * a phrase: "pod 'p' of runner 5 was evicted"), and deals with the
 * workload it held as the reaper deals with a silent runner's: queued
 * again when it had not started, retried once, else failed with cause in
 * its reason; parked claims are woken. For runners known to be gone
 * without waiting for RUNNER_DEAD_S (the Kubernetes pool keeper, when a
 * runner's pod dies). Returns the number of workloads it held, or -1 with
 * e set. */
int reaper_runner_lost(PGconn *c, int64_t runner_id, const char *cause, struct err *e);

/* The registration secret of the local pool (PLUE_RUNNER_SECRET, or one
 * generated at start). */
const char *queue_runner_secret(void);

#endif
