/* runner.h — `plue runner`: a process that registers with the server,
 * keeps a warm sandbox ready, long-polls for a workload, runs it in that
 * sandbox, and reports what happens as events; one sandbox per workload,
 * destroyed after it. The job executor (job.c) runs workflow workloads. */
#ifndef PLUE_RUNNER_H
#define PLUE_RUNNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runner/reporter.h"
#include "runner/sandbox.h"

struct runner_cfg {
	const char *server_url; /* "http://127.0.0.1:4000" */
	const char *secret;     /* pool registration secret */
	const char *sandbox;    /* auto | gvisor | bwrap | none */
	const char *work_dir;   /* where workspaces are made */
	bool standby;           /* keep claiming; otherwise run one workload and exit */
	uint64_t cache_bytes;   /* bound on the checkout cache (job_cache_trim) */
	const char *name;       /* registered as the runner's host (NULL: the host name) */
};

/* Runs the runner until SIGTERM/SIGINT (idle: at once; busy: after the
 * workload) or, without standby, after one workload. Returns the exit
 * status. */
int runner_main(const struct runner_cfg *rc);

/* What a workload's executor gets. */
struct job_env {
	struct sandbox *sb;
	struct reporter *rep;
	json_t *claim;             /* {workload, spec, secrets, task_token, ...} (borrowed) */
	const char *server_url;
	const char *cache_dir;     /* the runner's checkout cache (job.c), or NULL */
	const char *overlay_base;  /* the commit of the cached tree mounted as the
	                             workspace's lower layer (job_workspace_mount),
	                             or NULL: the workspace is an empty directory */
	const volatile bool *stop; /* the runner is shutting down (finish, do not start more) */
};

/* The outcome of a workload. */
struct job_result {
	const char *result; /* success | failure | cancelled | error (static strings) */
	int exit_code;      /* of the step that decided it, -1 when none */
	char reason[512];   /* "" or why */
};

/* Runs a workflow workload: checkout, then each step; posts step_start,
 * log, step_end, job_end (and aborted when cancelled). */
void job_run(struct job_env *env, struct job_result *out);

/* Checks the claim's commit out into the sandbox's workspace as a job's
 * checkout does (its lines go out as `log` events of step 0). 0, or
 * nonzero with why set. */
int job_checkout_workspace(struct job_env *env, char *why, size_t whylen);

/* Runs an agent workload (runner/agent.c): the checkout, then the model
 * loop with its tools; posts tool_start, tool_end, error and aborted. */
void agent_run(struct job_env *env, struct job_result *out);

/* Builds, in the checkout cache cache_dir, a working tree of the last
 * commit the runner checked out of repository repo_id, owned by uid:gid
 * (the sandbox that runs next), so that the next checkout of that
 * repository moves it into its workspace and fetches and writes only what
 * differs. Built from the runner's own copies of what it fetched (never
 * from a workspace a sandbox used). Slow for a large tree (it writes every
 * file): call it between workloads. Not thread-safe. Returns 0, or -1
 * when there is nothing to build from or building failed (the next
 * checkout then starts from the cached objects only). */
int job_cache_prepare(const char *cache_dir, int64_t repo_id, uid_t uid, gid_t gid);

/* Builds or advances, in the checkout cache cache_dir, the pristine tree of
 * repository repo_id: lower/, a working tree of the last commit the runner
 * checked out of it with its .git, owned by the runner (root), built from
 * the runner's own copies of what it fetched (hard links to them: nothing
 * writes to lower/). A tree of an older commit is advanced by a checkout
 * that writes only the files that differ; the first build writes every
 * file (about 1.5 s for 9,600 files), and happens only when build is true
 * (else it returns 1 at once, so that the caller may build on another
 * thread). lower/ must not change while a workspace is mounted over it:
 * advance it between workloads. A build may run on another thread while a
 * workload of the same repository runs (no workspace is mounted over a
 * lower/ that is not whole); two calls for one repository may not run at
 * once. Returns 0, 1 (not built, see above) or -1 (no cached commit, or
 * building failed; lower/ is then gone). */
int job_base_prepare(const char *cache_dir, int64_t repo_id, bool build);

/* Bounds the checkout cache cache_dir to max_bytes on disk: removes the
 * entries of repositories not in keep[0..nkeep) (those a workspace or a
 * builder thread uses, or is about to), least recently checked out first,
 * until the rest fits. An entry in keep stays even when it alone is over
 * the bound. Call it between workloads, never while a workspace of a
 * repository outside keep is mounted. Returns how many entries it
 * removed. */
int job_cache_trim(const char *cache_dir, uint64_t max_bytes, const int64_t *keep, size_t nkeep);

/* Mounts on ws (an empty directory) an overlay: the lower layer is
 * repository repo_id's lower/ (job_base_prepare) read-only through an
 * idmapped mount, so that its files appear owned by uid:gid; the upper
 * layer is an empty directory in ws.ovl/, beside ws. What the workload
 * writes lands in the upper layer only; lower/ is never written. The
 * workspace's index gets stat data that matches what uid sees (git status
 * in the job compares stat data, hashes nothing). Needs root and Linux
 * 5.19 or later. On success out is the commit ws holds. Returns 0, or -1
 * (logged; nothing is left mounted). */
int job_workspace_mount(char out[41], const char *cache_dir, int64_t repo_id, const char *ws,
			uid_t uid, gid_t gid);

/* Unmounts what job_workspace_mount mounted on ws and removes ws.ovl (a
 * no-op for a workspace that is not one). ws itself is left. */
void job_workspace_unmount(const char *ws);

/* Replaces bytes that are not valid UTF-8, and NUL, with U+FFFD (by
 * objects_utf8_lossy, which keeps NUL); returns a malloc'd NUL-terminated
 * string. */
char *utf8_clean(const char *s, size_t len);

#endif
