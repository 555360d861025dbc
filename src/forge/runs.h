/* runs.h — workflow runs as the forge shows and steers them: the list of
 * a repository's runs, one run with its jobs and steps, its stored log as
 * text, the replay of its event stream, cancelling, approving an untrusted
 * run, and starting a workflow by hand (workflow_dispatch).
 *
 * These are the rules a person (or an agent tool acting for one) meets;
 * executing runs — creating them from events, starting jobs, rolling
 * results up — is the execution system's (queue/runs.h), which the
 * functions here call for cancel and approve. A run belongs to its
 * repository: every function checks f->who's access to that repository
 * (authz_repo), and a run of a repository the caller cannot read does
 * not exist for them ("run N not found").
 *
 * JSON returned is a new reference the caller owns; timestamps are
 * RFC 3339 UTC to the second (SQL_TS), those of steps included. */
#ifndef PLUE_FORGE_RUNS_H
#define PLUE_FORGE_RUNS_H

#include "auth/auth.h"
#include "base/buf.h"
#include "forge/forge.h"

struct sse_sub;

/* A run found by id: its repository (with f->who's role) and its event
 * stream. Arena-owned. */
struct run_ref {
	int64_t id;
	int64_t stream_id;
	struct repo *repo;
};

/* Finds run_id and checks that f->who may act (read: see it, write:
 * cancel it) on its repository. ERR_NOTFOUND "run N not found" when there
 * is no such run or its repository is hidden from f->who; ERR_PERM from
 * authz_repo when f->who sees the run but may not act. */
int run_find(struct run_ref *out, struct forge *f, int64_t run_id, enum repo_action act);

/* Finds run_id among repo's runs, as run_find (f->who must be able to act
 * on repo): ERR_NOTFOUND "run N not found in 'o/r'" when repo has no run
 * run_id, so that an address naming the wrong repository shows nothing. */
int run_find_in(struct run_ref *out, struct forge *f, const struct repo *repo, int64_t run_id,
		enum repo_action act);

/* Which runs run_list returns: newest first, ids below before (INT64_MAX:
 * from the newest), at most limit (1..100), of one event type or all
 * (event NULL). */
struct run_filter {
	int64_t before;
	int64_t limit;
	const char *event;
};

/* The runs of repo as a JSON array of runs (without jobs). f->who must be
 * able to read repo. 0 or ERR_*. */
int run_list(json_t **out, struct forge *f, const struct repo *repo, const struct run_filter *q);

/* Run run->id as JSON with its jobs and their steps (docs/runs.md). 0 or
 * ERR_NOTFOUND. */
int run_get(json_t **out, struct forge *f, const struct run_ref *run);

/* Run run->id as run_get, and the first `limit` stored events of its
 * stream (1..100000), read in one snapshot so that the statuses and the
 * events agree: what the events say has happened is in the statuses too.
 * *events_out is a JSON array of {seq, type, payload} in stream order;
 * *more is set when the stream holds more events than limit (read the
 * rest from the stream after the last one). For a page that
 * renders a run and then follows its stream from the last event shown.
 * 0 or ERR_*. */
int run_get_with_events(json_t **run_out, json_t **events_out, bool *more, struct forge *f,
			const struct run_ref *run, int64_t limit);

/* The stored log of run->id as text into out: one section per job
 * ("== name ==") in job order, a "-- step" line before each step's lines;
 * job_id (0: all) keeps one job. ERR_NOTFOUND "job J not found in run N"
 * when the run has no job job_id. */
int run_log_text(struct buf *out, struct forge *f, const struct run_ref *run, int64_t job_id);

/* Cancels run_id on behalf of f->who, who must be able to write its
 * repository (waiting jobs end at once, running ones within a second; see
 * runs_cancel). ERR_NOTFOUND as run_find; ERR_CONFLICT when the run has
 * already finished. Own transaction. */
int run_cancel(struct forge *f, int64_t run_id);

/* f->who, a person who may write repo, approves run_id of repo, an
 * untrusted run waiting for approval (runs_approve), and receives the run
 * as JSON (without jobs). ERR_NOTFOUND "run N not found in 'o/r'";
 * ERR_PERM for a task token (an approval is a person's decision); the
 * ERR_CONFLICT slugs of runs_approve. Own transactions. */
int run_approve(json_t **out, struct forge *f, const struct repo *repo, int64_t run_id);

/* Starts workflow `file` (NAME.yaml or NAME.yml under .plue/workflows/) of
 * repo on branch ref (NULL or "": the default branch; "refs/heads/x" or
 * "x") with inputs (an object or NULL, borrowed), as f->who, who must be
 * able to write repo: the workflow must have a workflow_dispatch trigger
 * and the inputs must satisfy its declared inputs. Writes one
 * `workflow_dispatch` event (own transaction); the dispatcher starts the
 * run from it. *out: {event_id, ref, sha, inputs (resolved)}. ERR_INVALID
 * (invalid_workflow, invalid_ref, not_dispatchable, an input's problem),
 * ERR_NOTFOUND (ref_not_found, workflow_not_found). */
int run_dispatch(json_t **out, struct forge *f, const struct repo *repo, const char *file,
		 const char *ref, json_t *inputs);

#endif
