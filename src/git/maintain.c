/* maintain.c — repository housekeeping: counters, the plan, git's own
 * commands run niced, the per-repository lock, the result in
 * repo_maintenance, and the scheduler threads (see maintain.h).
 *
 * Replicas: every `plue serve` runs scheduler threads on the shared
 * repository volume. A run holds the repository's PostgreSQL advisory lock
 * (plue-maintain:ID, taken with try by the schedulers, so a busy
 * repository is skipped, not waited for), and a scheduler checks again,
 * under that lock, that the repository is still due: a run finished by
 * another thread or replica since the list was read moved
 * last_started_at and cleared the pending pushes, so the same work is not
 * done twice. */
#include "git/maintain.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "git/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- counters ---- */

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static long count_files(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	long n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 32)
				n += count_files(p, depth + 1);
		} else if (S_ISREG(st.st_mode) && !str_has_suffix(de->d_name, ".lock")) {
			n++;
		}
	}
	closedir(d);
	return n;
}

void maintain_stats_read(const char *path, struct maintain_stats *out)
{
	memset(out, 0, sizeof(*out));
	char p[4096];
	for (int i = 0; i < 256; i++) {
		snprintf(p, sizeof(p), "%s/objects/%02x", path, i);
		DIR *d = opendir(p);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d)))
			if (strlen(de->d_name) == 38) /* not tmp_obj_* */
				out->loose_objects++;
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s/objects/pack", path);
	DIR *d = opendir(p);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			const char *n = de->d_name;
			char f[4096];
			snprintf(f, sizeof(f), "%s/objects/pack/%s", path, n);
			if (!strncmp(n, "pack-", 5) && str_has_suffix(n, ".pack")) {
				struct stat st;
				out->packs++;
				if (!stat(f, &st))
					out->pack_bytes += st.st_size;
			} else if (!strncmp(n, "pack-", 5) && str_has_suffix(n, ".mtimes")) {
				out->cruft_packs++;
			} else if (str_has_suffix(n, ".bitmap")) {
				out->bitmap = true;
			} else if (!strcmp(n, "multi-pack-index")) {
				out->multi_pack_index = true;
			}
		}
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s/objects/info/commit-graph", path);
	out->commit_graph = exists(p);
	snprintf(p, sizeof(p), "%s/objects/info/commit-graphs/commit-graph-chain", path);
	out->commit_graph |= exists(p);
	snprintf(p, sizeof(p), "%s/refs", path);
	out->loose_refs = count_files(p, 0);
}

json_t *maintain_stats_json(const struct maintain_stats *s)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:b,s:b,s:b,s:I}", "loose_objects",
			 (json_int_t)s->loose_objects, "packs", (json_int_t)s->packs, "cruft_packs",
			 (json_int_t)s->cruft_packs, "pack_bytes", (json_int_t)s->pack_bytes,
			 "multi_pack_index", s->multi_pack_index, "bitmap", s->bitmap,
			 "commit_graph", s->commit_graph, "loose_refs", (json_int_t)s->loose_refs);
}

/* ---- the plan ---- */

#define LOOSE_REFS_MAX 32

unsigned maintain_plan(const struct maintain_stats *s, long long since_full_s,
		       long long full_interval_s, bool force_full)
{
	if (!s->loose_objects && !s->packs)
		return 0; /* empty: nothing to pack, no commits to graph */
	unsigned t = 0;
	if (force_full || since_full_s < 0 || since_full_s >= full_interval_s)
		t |= MAINTAIN_FULL | MAINTAIN_PACK_REFS | MAINTAIN_REFLOG | MAINTAIN_PRUNE;
	else if (s->loose_objects || s->packs > 1 || !s->bitmap)
		t |= MAINTAIN_GEOMETRIC;
	if (t || !s->commit_graph)
		t |= MAINTAIN_COMMIT_GRAPH;
	if (s->loose_refs >= LOOSE_REFS_MAX)
		t |= MAINTAIN_PACK_REFS;
	return t;
}

static const char *task_name(unsigned bit)
{
	switch (bit) {
	case MAINTAIN_GEOMETRIC: return "geometric_repack";
	case MAINTAIN_FULL: return "full_repack";
	case MAINTAIN_COMMIT_GRAPH: return "commit_graph";
	case MAINTAIN_PACK_REFS: return "pack_refs";
	case MAINTAIN_REFLOG: return "reflog_expire";
	case MAINTAIN_PRUNE: return "prune";
	}
	return "?";
}

/* ---- running git ---- */

/* The git commands of the running maintenance threads, so maintain_stop
 * can end them (a repack killed half-way is harmless, see maintain.h). */
#define MAX_CHILDREN 64
static pthread_mutex_t child_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t children[MAX_CHILDREN];
static bool stopping; /* under child_mu: a command started now is ended at once */

static void child_track(pid_t pid, bool add)
{
	pthread_mutex_lock(&child_mu);
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (add ? children[i] == 0 : children[i] == pid) {
			children[i] = add ? pid : 0;
			break;
		}
	}
	if (add && stopping)
		kill(pid, SIGTERM);
	pthread_mutex_unlock(&child_mu);
}

#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

/* Runs `git --git-dir=PATH ARGS...` at nice 19 and idle I/O priority,
 * killed with its parent, stdout discarded. Returns 0 when it exits 0;
 * otherwise -1 with the last line it printed to stderr (or how it ended)
 * in msg. */
static int run_git(const char *path, const char *const *args, char *msg, size_t msgsz)
{
	char *argv[24];
	size_t n = 0;
	char gitdir[4200];
	snprintf(gitdir, sizeof(gitdir), "--git-dir=%s", path);
	argv[n++] = "git";
	argv[n++] = gitdir;
	/* git's own automatic gc never runs inside our steps */
	argv[n++] = "-c";
	argv[n++] = "gc.auto=0";
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent",
			 "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C", NULL };
	int errp[2];
	if (pipe2(errp, O_CLOEXEC)) {
		snprintf(msg, msgsz, "cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* only system calls between fork and exec */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpriority(PRIO_PROCESS, 0, 19);
		syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
			IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		dup2(errp[1], 2);
		execve("/usr/bin/git", argv, envp);
		execve("/usr/local/bin/git", argv, envp);
		_exit(127);
	}
	if (devnull >= 0)
		close(devnull);
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		snprintf(msg, msgsz, "cannot start git: %s", strerror(errno));
		return -1;
	}
	child_track(pid, true);
	/* keep the tail of stderr: git's last line says what went wrong */
	struct buf eb = BUF_INIT;
	char chunk[4096];
	ssize_t r;
	while ((r = read(errp[0], chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf_add(&eb, chunk, (size_t)r);
		if (eb.len > 65536) {
			memmove(eb.ptr, eb.ptr + eb.len - 8192, 8192);
			buf_setlen(&eb, 8192);
		}
	}
	close(errp[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child_track(pid, false);
	int rc = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		while (eb.len && (eb.ptr[eb.len - 1] == '\n' || eb.ptr[eb.len - 1] == '\r'))
			buf_setlen(&eb, eb.len - 1);
		const char *last = strrchr(eb.ptr, '\n');
		last = last ? last + 1 : eb.ptr;
		if (*last)
			snprintf(msg, msgsz, "%s", last);
		else if (WIFSIGNALED(status))
			snprintf(msg, msgsz, "killed by signal %d", WTERMSIG(status));
		else
			snprintf(msg, msgsz, "exit status %d", WEXITSTATUS(status));
		rc = -1;
	}
	buf_release(&eb);
	return rc;
}

/* ---- what a killed run leaves behind ---- */

#define STALE_TMP_S (24 * 3600) /* a push's quarantine or temporary object */
#define STALE_REFLOCK_S 600     /* packed-refs.lock: held for milliseconds */

static bool older_than(const char *p, time_t age)
{
	struct stat st;
	return !lstat(p, &st) && st.st_mtime < time(NULL) - age;
}

/* Runs under the repository's lock, so no other maintenance is writing:
 * repack's temporary packs (".tmp-*" in objects/pack) and the locks only
 * maintenance takes go at once; a dead push's quarantine and temporary
 * objects after a day; a packed-refs.lock after ten minutes. */
static void cleanup_stale(const char *path)
{
	char p[4096];
	static const char *const locks[] = { "objects/pack/multi-pack-index.lock",
					     "objects/info/commit-graph.lock",
					     "objects/info/commit-graphs/commit-graph-chain.lock",
					     NULL };
	for (size_t i = 0; locks[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, locks[i]);
		if (!unlink(p))
			log_warn("maintenance: removed stale %s", p);
	}
	snprintf(p, sizeof(p), "%s/packed-refs.lock", path);
	if (older_than(p, STALE_REFLOCK_S) && !unlink(p))
		log_warn("maintenance: removed stale %s", p);
	snprintf(p, sizeof(p), "%s/objects/pack", path);
	DIR *d = opendir(p);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			char f[4096];
			snprintf(f, sizeof(f), "%s/objects/pack/%s", path, de->d_name);
			if (!strncmp(de->d_name, ".tmp-", 5) ||
			    (!strncmp(de->d_name, "tmp_", 4) && older_than(f, STALE_TMP_S)))
				unlink(f);
		}
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s/objects", path);
	d = opendir(p);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			char f[4096];
			snprintf(f, sizeof(f), "%s/objects/%s", path, de->d_name);
			if ((!strncmp(de->d_name, "incoming-", 9) || !strncmp(de->d_name, "tmp_", 4)) &&
			    older_than(f, STALE_TMP_S))
				path_remove_tree(f);
		}
		closedir(d);
	}
}

/* ---- one run ---- */

static int run_steps(const char *path, unsigned plan, long long grace_s, unsigned *done, char *msg,
		     size_t msgsz)
{
	char expire[64];
	snprintf(expire, sizeof(expire), "--cruft-expiration=%lld.seconds.ago", grace_s);
	char reflog_unreach[64];
	snprintf(reflog_unreach, sizeof(reflog_unreach), "--expire-unreachable=%lld.seconds.ago",
		 grace_s);
	char prune_expire[64];
	snprintf(prune_expire, sizeof(prune_expire), "--expire=%lld.seconds.ago", grace_s);
	char step_msg[400] = "";
	struct {
		unsigned bit;
		const char *const *args;
	} steps[] = {
		{ MAINTAIN_PACK_REFS, (const char *const[]){ "pack-refs", "--all", NULL } },
		{ MAINTAIN_REFLOG,
		  (const char *const[]){ "reflog", "expire", "--all", "--expire=90.days.ago",
					 reflog_unreach, NULL } },
		{ MAINTAIN_GEOMETRIC,
		  (const char *const[]){ "repack", "-d", "-q", "--geometric=2", "--write-midx",
					 "--write-bitmap-index", NULL } },
		{ MAINTAIN_FULL,
		  (const char *const[]){ "repack", "-d", "-q", "--cruft", expire, "--write-midx",
					 "--write-bitmap-index", NULL } },
		/* what the cruft pack did not take is older than the grace period */
		{ MAINTAIN_PRUNE, (const char *const[]){ "prune", prune_expire, NULL } },
		{ MAINTAIN_COMMIT_GRAPH,
		  (const char *const[]){ "commit-graph", "write", "--reachable", "--split",
					 "--no-progress", NULL } },
	};
	const char *const graph_full[] = { "commit-graph",    "write",         "--reachable",
					   "--split=replace", "--no-progress", NULL };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (!(plan & steps[i].bit))
			continue;
		const char *const *args = steps[i].args;
		if (steps[i].bit == MAINTAIN_COMMIT_GRAPH && (plan & MAINTAIN_FULL))
			args = graph_full;
		int rc = run_git(path, args, step_msg, sizeof(step_msg));
		/* a push whose pack lands while a repack writes its multi-pack
		 * index can make git refuse the bitmap ("could not write
		 * multi-pack bitmap"); a repack is safe to run again, on the
		 * state as it is now */
		for (int again = 0; rc && again < 2 && (steps[i].bit & MAINTAIN_REPACKS); again++) {
			log_warn("maintenance of %s: %s failed (%s); running it again", path,
				 task_name(steps[i].bit), step_msg);
			rc = run_git(path, args, step_msg, sizeof(step_msg));
		}
		if (rc) {
			snprintf(msg, msgsz, "%s failed: %s", task_name(steps[i].bit), step_msg);
			return -1;
		}
		*done |= steps[i].bit;
	}
	return 0;
}

json_t *maintain_tasks_json(unsigned tasks)
{
	json_t *a = json_array();
	for (unsigned bit = 1; bit <= MAINTAIN_PRUNE; bit <<= 1)
		if (tasks & bit)
			json_array_append_new(a, json_string(task_name(bit)));
	return a;
}

static const char *lock_sql(bool wait)
{
	return wait ? "SELECT pg_advisory_lock(hashtextextended('plue-maintain:' || $1, 0))"
		    : "SELECT pg_try_advisory_lock(hashtextextended('plue-maintain:' || $1, 0))";
}

int maintain_repo_run(PGconn *db, int64_t repo_id, const char *trigger, bool force_full, bool wait,
		      long long grace_s, long long full_interval_s, struct maintain_result *out,
		      struct err *e)
{
	struct arena *a = arena_new();
	struct maintain_result res;
	memset(&res, 0, sizeof(res));
	bool locked = false;
	int rc;
	const char *rid = arena_int(a, repo_id);
	PGresult *q = db_qv(db, a, e, lock_sql(wait), rid);
	if (!q) {
		rc = e->code;
		goto done;
	}
	locked = wait || db_bool(q, 0, 0);
	if (!locked) {
		rc = err_set(e, ERR_CONFLICT, "maintenance_running",
			     "maintenance of repository %lld is already running",
			     (long long)repo_id);
		goto done;
	}
	/* the start is recorded first, so a run that dies is not retried in
	 * a loop; pushes that arrive from now on keep it pending */
	q = db_qv(db, a, e,
		  "INSERT INTO repo_maintenance (repo_id, last_started_at, last_trigger) "
		  "SELECT id, clock_timestamp(), $2 FROM repositories WHERE id = $1 "
		  "ON CONFLICT (repo_id) DO UPDATE SET last_started_at = EXCLUDED.last_started_at, "
		  "  last_trigger = EXCLUDED.last_trigger, last_finished_at = NULL, "
		  "  last_status = NULL "
		  "RETURNING last_started_at::text, "
		  "  coalesce(extract(epoch FROM clock_timestamp() - last_full_at)::bigint, -1)",
		  rid, trigger);
	if (!q) {
		rc = e->code;
		goto done;
	}
	if (PQntuples(q) != 1) {
		rc = err_set(e, ERR_NOTFOUND, NULL, "repository %lld not found", (long long)repo_id);
		goto done;
	}
	const char *started = arena_strdup(a, db_val(q, 0, 0));
	long long since_full = db_int(q, 0, 1);
	const char *path = repo_store_path(a, repo_id);
	int64_t t0 = now_ms();
	cleanup_stale(path);
	maintain_stats_read(path, &res.before);
	unsigned plan = maintain_plan(&res.before, since_full, full_interval_s, force_full);
	res.ok = run_steps(path, plan, grace_s, &res.tasks, res.error, sizeof(res.error)) == 0;
	maintain_stats_read(path, &res.after);
	res.duration_ms = now_ms() - t0;
	if (!res.ok)
		log_warn("maintenance of repository %lld: %s", (long long)repo_id, res.error);
	json_t *tj = maintain_tasks_json(res.tasks);
	char *tasks = json_dumps(tj, JSON_COMPACT);
	json_decref(tj);
	json_t *bj = maintain_stats_json(&res.before), *aj = maintain_stats_json(&res.after);
	char *before = json_dumps(bj, JSON_COMPACT), *after = json_dumps(aj, JSON_COMPACT);
	json_decref(bj);
	json_decref(aj);
	q = db_qv(db, a, e,
		  "UPDATE repo_maintenance SET last_finished_at = clock_timestamp(), "
		  "  last_status = $2, last_tasks = ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), "
		  "  last_error = $4, last_duration_ms = $5, last_before = $6::jsonb, "
		  "  last_after = $7::jsonb, runs = runs + 1, failures = failures + ($2 = 'failed')::int, "
		  "  last_full_at = CASE WHEN $8 AND $2 = 'ok' THEN last_started_at ELSE last_full_at END, "
		  "  pending_pushes = CASE WHEN last_push_at > $9::timestamptz THEN 1 ELSE 0 END, "
		  "  first_push_at = CASE WHEN last_push_at > $9::timestamptz THEN last_push_at END "
		  "WHERE repo_id = $1",
		  rid, res.ok ? (res.tasks ? "ok" : "nothing_to_do") : "failed", tasks,
		  res.ok ? NULL : res.error, arena_int(a, res.duration_ms), before, after,
		  (res.tasks & MAINTAIN_FULL) ? "true" : "false", started);
	free(tasks);
	free(before);
	free(after);
	rc = q ? 0 : e->code;
	if (out)
		*out = res;
done:
	if (locked)
		db_qv(db, a, NULL,
		      "SELECT pg_advisory_unlock(hashtextextended('plue-maintain:' || $1, 0))", rid);
	arena_free(a);
	return rc;
}

void maintain_note_push(PGconn *db, int64_t repo_id)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	if (!db_qv(db, a, &e,
		   "INSERT INTO repo_maintenance (repo_id, pending_pushes, first_push_at, last_push_at) "
		   "VALUES ($1, 1, clock_timestamp(), clock_timestamp()) "
		   "ON CONFLICT (repo_id) DO UPDATE SET pending_pushes = "
		   "  repo_maintenance.pending_pushes + 1, first_push_at = "
		   "  coalesce(repo_maintenance.first_push_at, EXCLUDED.first_push_at), "
		   "  last_push_at = EXCLUDED.last_push_at",
		   arena_int(a, repo_id)))
		log_error("maintenance: cannot note the push to repository %lld: %s",
			  (long long)repo_id, e.msg);
	arena_free(a);
}

json_t *maintain_status_json(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			     const char *disk_path)
{
	PGresult *q = db_qv(db, a, e,
			    "SELECT pending_pushes, " SQL_TS("last_push_at")
			    ", " SQL_TS("last_started_at")
			    ", " SQL_TS("last_finished_at")
			    ", " SQL_TS("last_full_at")
			    ", last_trigger, "
			    "  last_status, array_to_json(last_tasks)::text, last_error, "
			    "  last_duration_ms, last_before::text, last_after::text, runs, failures "
			    "FROM repo_maintenance WHERE repo_id = $1",
			    arena_int(a, repo_id));
	if (!q)
		return NULL;
	struct maintain_stats now;
	maintain_stats_read(disk_path, &now);
	json_t *o = json_object();
	json_object_set_new(o, "current", maintain_stats_json(&now));
	bool have = PQntuples(q) == 1;
	json_object_set_new(o, "pending_pushes", json_integer(have ? db_int(q, 0, 0) : 0));
	json_object_set_new(o, "last_push_at",
			    have && db_val(q, 0, 1) ? json_string(db_val(q, 0, 1)) : json_null());
	json_object_set_new(o, "last_full_repack_at",
			    have && db_val(q, 0, 4) ? json_string(db_val(q, 0, 4)) : json_null());
	json_object_set_new(o, "runs", json_integer(have ? db_int(q, 0, 12) : 0));
	json_object_set_new(o, "failures", json_integer(have ? db_int(q, 0, 13) : 0));
	if (!have || !db_val(q, 0, 2)) {
		json_object_set_new(o, "last_run", json_null());
		return o;
	}
	json_t *run = json_object();
	json_object_set_new(run, "trigger", json_string(db_val(q, 0, 5) ? db_val(q, 0, 5) : ""));
	json_object_set_new(run, "started_at", json_string(db_val(q, 0, 2)));
	/* a start without an end: running now, or the process died */
	bool finished = db_val(q, 0, 3) && db_val(q, 0, 6);
	json_object_set_new(run, "finished_at",
			    finished ? json_string(db_val(q, 0, 3)) : json_null());
	json_object_set_new(run, "status",
			    json_string(finished ? db_val(q, 0, 6) : "running_or_interrupted"));
	json_t *tasks = db_val(q, 0, 7) ? json_loads(db_val(q, 0, 7), 0, NULL) : NULL;
	json_object_set_new(run, "tasks", tasks ? tasks : json_array());
	json_object_set_new(run, "error",
			    db_val(q, 0, 8) ? json_string(db_val(q, 0, 8)) : json_null());
	json_object_set_new(run, "duration_ms",
			    db_val(q, 0, 9) ? json_integer(db_int(q, 0, 9)) : json_null());
	json_t *b = db_val(q, 0, 10) ? json_loads(db_val(q, 0, 10), 0, NULL) : NULL;
	json_t *af = db_val(q, 0, 11) ? json_loads(db_val(q, 0, 11), 0, NULL) : NULL;
	json_object_set_new(run, "before", b ? b : json_null());
	json_object_set_new(run, "after", af ? af : json_null());
	json_object_set_new(o, "last_run", run);
	return o;
}

/* ---- the scheduler ---- */

#define MAX_JOBS 16
static struct bg_thread threads[MAX_JOBS];
static int nthreads;

/* Runs one due repository, if any is and its lock is free; true if it did. */
/* Whether a repository is due: pending pushes quiet for the debounce (or
 * waiting ten times that), or a last run older than the interval. $1: the
 * debounce, $2: the interval, $3: one repository or NULL for all. */
#define DUE_SQL                                                                                    \
	"SELECT r.id, m.first_push_at IS NOT NULL FROM repositories r "                            \
	"LEFT JOIN repo_maintenance m ON m.repo_id = r.id "                                        \
	"WHERE ($3::bigint IS NULL OR r.id = $3) AND ((m.first_push_at IS NOT NULL AND "           \
	"  (m.last_push_at <= now() - make_interval(secs => $1::int) OR "                          \
	"   m.first_push_at <= now() - make_interval(secs => 10 * $1::int))) "                     \
	"OR coalesce(m.last_started_at, r.created_at) < "                                          \
	"  now() - make_interval(secs => $2::int)) "                                               \
	"ORDER BY m.first_push_at NULLS LAST, m.last_started_at NULLS FIRST "                      \
	"LIMIT 16"

static bool run_one(struct bg_thread *t, PGconn *c)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	bool ran = false;
	long long deb = cfg.maintain_debounce > 0 ? cfg.maintain_debounce : 0;
	const char *d = arena_int(a, deb);
	const char *iv = arena_int(a, cfg.maintain_interval > 0 ? cfg.maintain_interval : 86400);
	/* pending pushes first, then repositories whose last run is old */
	PGresult *q = db_qv(c, a, &e, DUE_SQL, d, iv, NULL);
	for (int i = 0; q && i < PQntuples(q) && !ran; i++) {
		if (bg_stopping(t))
			break;
		/* another thread or replica may have run it since the list was
		 * read: under the repository's lock (held again, reentrant, by
		 * maintain_repo_run), it must still be due */
		const char *rid = db_val(q, i, 0);
		PGresult *l = db_qv(c, a, &e, lock_sql(false), rid);
		if (!l || !db_bool(l, 0, 0))
			continue;
		PGresult *still = db_qv(c, a, &e, DUE_SQL, d, iv, rid);
		struct err re = { 0 };
		int rc = still && PQntuples(still) == 1
				 ? maintain_repo_run(c, db_int(q, i, 0),
						     db_bool(still, 0, 1) ? "push" : "schedule",
						     false, false, cfg.maintain_grace,
						     cfg.maintain_full_interval, NULL, &re)
				 : ERR_NOTFOUND;
		db_qv(c, a, NULL,
		      "SELECT pg_advisory_unlock(hashtextextended('plue-maintain:' || $1, 0))", rid);
		if (rc == 0)
			ran = true;
		else if (rc != ERR_CONFLICT && rc != ERR_NOTFOUND)
			log_error("maintenance: %s", re.msg);
	}
	arena_free(a);
	return ran;
}

static void maintain_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	int poll_s = cfg.maintain_debounce > 0 && cfg.maintain_debounce < 5 ? 1 : 5;
	while (!bg_stopping(t)) {
		c = db_reconnect(c, NULL, "maintenance");
		bool ran = c && run_one(t, c);
		if (ran)
			continue;
		bg_wait(t, poll_s * 1000);
	}
	if (c)
		PQfinish(c);
}

int maintain_start(void)
{
	pthread_mutex_lock(&child_mu);
	stopping = false;
	pthread_mutex_unlock(&child_mu);
	int n = cfg.maintain_jobs < MAX_JOBS ? cfg.maintain_jobs : MAX_JOBS;
	for (nthreads = 0; nthreads < n; nthreads++) {
		if (bg_start(&threads[nthreads], "maintenance", maintain_main, NULL)) {
			log_error("cannot start a maintenance thread");
			return -1;
		}
	}
	return 0;
}

void maintain_stop(void)
{
	/* every thread at once, and the git commands they run */
	for (int i = 0; i < nthreads; i++)
		bg_ask_stop(&threads[i]);
	pthread_mutex_lock(&child_mu);
	stopping = true;
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
	pthread_mutex_unlock(&child_mu);
	for (int i = 0; i < nthreads; i++)
		bg_stop(&threads[i]);
	nthreads = 0;
}
