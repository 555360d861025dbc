/* maintain.h — repository housekeeping: after pushes (debounced per
 * repository), on a schedule, or at an administrator's request, read cheap
 * counters from a bare repository (loose objects, packs, bitmaps, the
 * commit-graph, loose refs, time since the last full repack), decide what
 * is worth running, and run it with git's own commands, niced and at idle
 * I/O priority:
 *
 *   geometric repack   git repack -d --geometric=2 --write-midx --write-bitmap-index
 *   full repack        git repack -d --cruft --cruft-expiration=GRACE --write-midx
 *                      --write-bitmap-index (unreachable objects younger than
 *                      the grace period are kept in a cruft pack; older ones go)
 *   commit-graph       git commit-graph write --reachable --split[=replace]
 *   refs               git pack-refs --all
 *   loose objects      git prune --expire=GRACE (after a full repack: the
 *                      unreachable loose objects it did not keep, being older)
 *   reflogs            git reflog expire --all (with a full repack)
 *
 * Every step is one of git's, each of which writes new files under
 * temporary names and renames them into place, so a process killed at any
 * point leaves a repository that reads the same; what it leaves behind
 * (temporary packs, lock files only maintenance takes) is removed by the
 * next run. Pushes and fetches go on meanwhile: receive-pack quarantines
 * a push's objects until its refs move, and nothing younger than the grace
 * period is ever deleted.
 *
 * One run per repository at a time, across processes: a PostgreSQL
 * advisory lock keyed on the repository ("plue-maintain:ID", held on the
 * running connection, so a dead process releases it). The server runs at
 * most PLUE_MAINTAIN_JOBS at once. State and the last result live in
 * repo_maintenance (db/migrations/0009_maintenance.sql). docs/git.md,
 * "Housekeeping", is the user's account. */
#ifndef PLUE_GIT_MAINTAIN_H
#define PLUE_GIT_MAINTAIN_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

/* What a repository looks like on disk, from directory listings only. */
struct maintain_stats {
	long loose_objects;   /* files in objects/00..ff */
	long packs;           /* objects/pack/pack-*.pack */
	long cruft_packs;     /* of which carry a .mtimes (unreachable objects) */
	long long pack_bytes; /* size of all packs */
	bool multi_pack_index;
	bool bitmap;          /* a pack or multi-pack-index reachability bitmap */
	bool commit_graph;    /* objects/info/commit-graph or a split chain */
	long loose_refs;      /* files under refs/ */
};

/* The steps of a run (bits of maintain_plan's answer). */
enum {
	MAINTAIN_GEOMETRIC = 1 << 0,
	MAINTAIN_FULL = 1 << 1,
	MAINTAIN_COMMIT_GRAPH = 1 << 2,
	MAINTAIN_PACK_REFS = 1 << 3,
	MAINTAIN_REFLOG = 1 << 4,
	MAINTAIN_PRUNE = 1 << 5,
	/* the steps that repack: run again (twice at most) when they fail */
	MAINTAIN_REPACKS = MAINTAIN_GEOMETRIC | MAINTAIN_FULL,
};

/* Reads the counters of the bare repository at path. Missing pieces count
 * as zero; never fails. */
void maintain_stats_read(const char *path, struct maintain_stats *out);

/* The counters as a JSON object (new reference). */
json_t *maintain_stats_json(const struct maintain_stats *s);

/* Decides what a run does, from the counters alone: a full repack when
 * forced or when the last one is older than full_interval_s (since_full_s
 * < 0: never done) and the repository has objects; otherwise a geometric
 * repack when there are loose objects, more than one pack, or no bitmap;
 * the commit-graph after any repack or when missing; pack-refs with a full
 * repack or from 32 loose refs on; reflog expiry and pruning with a full
 * repack. An
 * empty repository gets nothing. */
unsigned maintain_plan(const struct maintain_stats *s, long long since_full_s,
		       long long full_interval_s, bool force_full);

/* The MAINTAIN_* bits of tasks as a JSON array of their names
 * ("geometric_repack", "full_repack", "commit_graph", "pack_refs",
 * "reflog_expire", "prune"; new reference). */
json_t *maintain_tasks_json(unsigned tasks);

/* The last run of one repository. */
struct maintain_result {
	unsigned tasks;  /* MAINTAIN_* that ran */
	bool ok;
	char error[512]; /* the failing step and git's last line */
	long long duration_ms;
	struct maintain_stats before, after;
};

/* Runs housekeeping on repository repo_id now, on connection db (which
 * holds the repository's advisory lock for the duration). wait: block
 * until a run elsewhere finishes; otherwise return ERR_CONFLICT at once
 * when one is going on. trigger ("push", "schedule", "admin") is stored
 * with the result. grace_s: unreachable objects younger than this are
 * kept. The result is stored in repo_maintenance and copied to *out (may
 * be NULL). Returns 0 when the run happened (whether its steps succeeded
 * or not: see out->ok), ERR_CONFLICT when busy, ERR_NOTFOUND when the
 * repository does not exist, or ERR_INTERNAL for a database failure. */
int maintain_repo_run(PGconn *db, int64_t repo_id, const char *trigger, bool force_full, bool wait,
		      long long grace_s, long long full_interval_s, struct maintain_result *out,
		      struct err *e);

/* Notes a push to repo_id for the scheduler (the debounce: a run starts
 * once the repository has been quiet for PLUE_MAINTAIN_DEBOUNCE seconds,
 * or ten times that after the first push it has not served). One upsert;
 * failures are logged, never the push's. */
void maintain_note_push(PGconn *db, int64_t repo_id);

/* The repository's maintenance state as the API shows it: pending pushes,
 * the last run and its result, and the counters now (disk_path). NULL with
 * e set on a database failure. */
json_t *maintain_status_json(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			     const char *disk_path);

/* Starts the scheduler: PLUE_MAINTAIN_JOBS threads (0: none), each with
 * its own database connection, picking repositories that are due. 0 or -1
 * when a thread cannot start. */
int maintain_start(void);
/* Stops the threads; a git command in flight is killed (safe, see above). */
void maintain_stop(void);

#endif
