/* job.c — runs a workflow workload: fetches the repository at the commit
 * into the sandbox's workspace (git on the host side, authenticated with
 * the task token, never through a shell), then each step with
 * `bash -e -o pipefail -c` inside the sandbox, with the step's env,
 * working directory, timeout, if and continue-on-error. Expressions are
 * evaluated here (the server sent the contexts) because a step's `if`
 * depends on how the earlier steps went. The reporter masks everything
 * the job sends (secret values → ***): output lines, step names, reasons,
 * error messages; messages written here never quote an evaluated value. */
#include "runner/runner.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "git/objects.h"
#include "workflow/expr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CHECKOUT_TIMEOUT_MS (10 * 60 * 1000)
#define EXPR_VAR_PREFIX "PLUE_EXPR_" /* the variables of ${{ }} in a step's run */

char *utf8_clean(const char *s, size_t len)
{
	/* objects_utf8_lossy keeps NUL (valid UTF-8), which cannot travel in a
	 * C string: it becomes U+FFFD too. No sequence spans a NUL, so the
	 * pieces between them scrub alike apart or together. */
	struct buf b = BUF_INIT;
	buf_grow(&b, len + 1);
	const char *end = s + len;
	for (const char *p = s; p < end;) {
		const char *nul = memchr(p, 0, (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		objects_utf8_lossy(&b, p, n);
		p += n;
		if (nul) {
			buf_adds(&b, "\xef\xbf\xbd");
			p++;
		}
	}
	return buf_detach(&b, NULL);
}

static void iso_now(char out[32])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* ---- output ---- */

struct out_ctx {
	struct reporter *rep;
	int step;
	bool cancel_seen;
};

static void emit_line(struct out_ctx *o, const char *stream, const char *line, size_t len)
{
	/* the reporter masks the line */
	char *clean = utf8_clean(line, len);
	char ts[32];
	iso_now(ts);
	reporter_add(o->rep, "log",
		     json_pack("{s:i,s:s,s:s,s:s}", "step", o->step, "stream", stream, "line",
			       clean, "ts", ts));
	free(clean);
}

static void on_output(void *cls, int stream, const char *line, size_t len)
{
	emit_line(cls, stream == SANDBOX_STDERR ? "stderr" : "stdout", line, len);
}

static int on_cancelled(void *cls)
{
	struct out_ctx *o = cls;
	if (!o->cancel_seen && reporter_cancelled(o->rep))
		o->cancel_seen = true;
	return o->cancel_seen;
}

/* ---- host commands (checkout) ---- */

/* Runs argv on the host in cwd with extra environment entries, sending
 * each output line to o. Returns the exit code, or -1 (could not run,
 * killed, timed out). */
static int host_run(const char *const *argv, const char *const *extra_env, const char *cwd,
		    struct out_ctx *o, int timeout_ms)
{
	/* everything the child needs is built before fork: the process has
	 * threads, and the child may only call async-signal-safe functions */
	size_t ne = 0, nx = 0;
	while (environ[ne])
		ne++;
	while (extra_env && extra_env[nx])
		nx++;
	char **envp = xcalloc(ne + nx + 1, sizeof(char *));
	for (size_t i = 0; i < ne; i++)
		envp[i] = environ[i];
	for (size_t i = 0; i < nx; i++)
		envp[ne + i] = (char *)extra_env[i];
	int fds[2];
	if (pipe2(fds, O_CLOEXEC)) {
		free(envp);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(envp);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		if (cwd && chdir(cwd))
			_exit(127);
		execvpe(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	close(fds[1]);
	free(envp);
	struct buf line = BUF_INIT;
	int64_t end = now_ms() + timeout_ms;
	bool killed = false;
	char chunk[4096];
	for (;;) {
		int64_t left = end - now_ms();
		if (left <= 0 || on_cancelled(o)) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		struct pollfd pf = { fds[0], POLLIN, 0 };
		int pr = poll(&pf, 1, left > 200 ? 200 : (int)left);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		ssize_t n = read(fds[0], chunk, sizeof(chunk));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			/* git draws progress with \r: each redraw is a line */
			if (chunk[i] == '\n' || chunk[i] == '\r') {
				if (line.len)
					emit_line(o, "stdout", line.ptr, line.len);
				buf_reset(&line);
			} else if (line.len < SANDBOX_LINE_MAX) {
				buf_addch(&line, chunk[i]);
			}
		}
	}
	if (line.len)
		emit_line(o, "stdout", line.ptr, line.len);
	buf_release(&line);
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (killed || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ---- the checkout cache ----
 *
 * A runner keeps, per repository, under cache_dir/repo-ID/ (mode 0700,
 * never mounted in a sandbox):
 *   packs/   copies of every pack it fetched for that repository, taken out
 *            of the workspace right after the fetch, before any step ran
 *   shallow  the workspace's shallow file at that moment
 *   base     the last commit it checked out
 *   tree/    (between workloads) a working tree of base with its .git,
 *            built from packs/ only and owned by the next sandbox's uid
 * A checkout of that repository moves tree/'s entries into the fresh
 * workspace (renames: no copy, no hardlink), fetches only what the commit
 * adds to base (base is offered as a ref, so the server sends the
 * difference) and checks it out (only the files that differ). tree/ is
 * consumed by the workload and rebuilt from the trusted copies afterwards;
 * nothing the sandbox wrote is ever read back. A workload only ever sees
 * its own repository's cache: the key is the repository's id. */

/* Copies src to dst, which appears whole or not at all (a tree being
 * built on another thread may be linking the cache's packs meanwhile). */
static bool file_copy(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return false;
	char *part = xasprintf("%s.part", dst);
	int out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	bool ok = out >= 0;
	char b[65536];
	ssize_t n;
	while (ok && (n = read(in, b, sizeof(b))) != 0)
		ok = n > 0 && write(out, b, (size_t)n) == n;
	if (out >= 0 && close(out))
		ok = false;
	close(in);
	ok = ok && rename(part, dst) == 0;
	if (!ok)
		unlink(part);
	free(part);
	return ok;
}

/* Puts into the directory to the *.pack and *.idx files of the directory
 * from that to does not have yet: hard links when hard (and both are on
 * one file system), else copies. */
static bool packs_add(const char *from, const char *to, bool hard)
{
	DIR *d = opendir(from);
	if (!d)
		return false;
	bool ok = true;
	struct dirent *de;
	while (ok && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 ||
		    (strcmp(de->d_name + l - 5, ".pack") && strcmp(de->d_name + l - 4, ".idx")))
			continue;
		char *src = xasprintf("%s/%s", from, de->d_name);
		char *dst = xasprintf("%s/%s", to, de->d_name);
		struct stat st;
		if (lstat(dst, &st))
			ok = (hard && link(src, dst) == 0) || file_copy(src, dst);
		free(src);
		free(dst);
	}
	closedir(d);
	return ok;
}

static bool file_put(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return false;
	bool ok = fputs(s, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* The mark of a cached working tree (tree/, lower/): the commit it holds,
 * written once the tree is whole. */
#define BASE_MARK ".git/plue-base"

/* The mark of a cache entry's last use: its mtime (job_cache_trim). */
#define USED_MARK "used"

/* The commit the file dir/name starts with (the cache's base, a tree's
 * mark) into out (41 bytes), or false. */
static bool sha_read(char out[41], const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "re");
	free(p);
	size_t n = f ? fread(out, 1, 40, f) : 0;
	if (f)
		fclose(f);
	out[n] = '\0';
	return n == 40 && is_sha1_hex(out);
}

/* Seeds a git directory (already initialised, or one seeded before) with
 * the cache's packs (hard links when hard: nothing may ever write to
 * them) and shallow file, and refs/plue/base at its base commit. */
static bool cache_seed(const char *rdir, const char *gitdir, const char *base, bool hard)
{
	char *packs = xasprintf("%s/packs", rdir), *to = xasprintf("%s/objects/pack", gitdir);
	char *sh = xasprintf("%s/shallow", rdir), *shto = xasprintf("%s/shallow", gitdir);
	char *refdir = xasprintf("%s/refs/plue", gitdir), *ref = xasprintf("%s/base", refdir);
	char *line = xasprintf("%s\n", base);
	struct stat st;
	bool shallow = lstat(sh, &st) ? unlink(shto) == 0 || errno == ENOENT : file_copy(sh, shto);
	bool ok = shallow && packs_add(packs, to, hard) &&
		  (mkdir(refdir, 0755) == 0 || errno == EEXIST) && file_put(ref, line);
	free(packs), free(to), free(sh), free(shto), free(refdir), free(ref), free(line);
	return ok;
}

/* After a fetch into ws: keeps copies of its new packs and its shallow
 * file, and sha as the base (the sandbox has not run anything yet). */
static void cache_save(const char *rdir, const char *ws, const char *sha)
{
	char *packs = xasprintf("%s/packs", rdir), *from = xasprintf("%s/.git/objects/pack", ws);
	char *sh = xasprintf("%s/.git/shallow", ws), *shto = xasprintf("%s/shallow.tmp", rdir);
	char *shfinal = xasprintf("%s/shallow", rdir), *base = xasprintf("%s/base", rdir);
	char *line = xasprintf("%s\n", sha);
	mkdir(rdir, 0700);
	mkdir(packs, 0700);
	struct stat st;
	bool shallow = lstat(sh, &st) == 0; /* not after a fetch of the whole ref */
	if (packs_add(from, packs, false) && (shallow ? file_copy(sh, shto) && !rename(shto, shfinal)
						      : unlink(shfinal) == 0 || errno == ENOENT))
		file_put(base, line);
	else
		unlink(base); /* a partial copy is never a base */
	free(packs), free(from), free(sh), free(shto), free(shfinal), free(base), free(line);
}

/* Marks the entry rdir as used now (for the cache's bound: least recently
 * used entries go first), when it exists. */
static void cache_touch(const char *rdir)
{
	char *used = xasprintf("%s/" USED_MARK, rdir);
	int fd = open(used, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	free(used);
}

/* Moves the entries of rdir/tree (a working tree of `base`) into the empty
 * workspace: 1 when all moved, 0 when there is no tree, -1 when some
 * moved but not all. */
static int cache_take_tree(const char *rdir, const char *ws, char base[41])
{
	char *tree = xasprintf("%s/tree", rdir);
	char *tb = xasprintf("%s/" BASE_MARK, tree);
	bool ok = sha_read(base, tree, BASE_MARK);
	unlink(tb);
	DIR *d = ok ? opendir(tree) : NULL;
	int moved = 0;
	ok = d != NULL;
	struct dirent *de;
	while (ok && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *a = xasprintf("%s/%s", tree, de->d_name),
		     *b = xasprintf("%s/%s", ws, de->d_name);
		ok = rename(a, b) == 0;
		moved += ok;
		free(a);
		free(b);
	}
	if (d)
		closedir(d);
	rmdir(tree); /* the next prepare replaces what is left */
	free(tree);
	free(tb);
	return ok ? 1 : moved ? -1 : 0;
}

/* Runs argv quietly on the host; returns the exit code or -1. */
static int run_quiet(const char *const *argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uid_t chown_uid;
static gid_t chown_gid;
static int chown_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return lchown(path, chown_uid, chown_gid) ? -1 : 0;
}

static bool rm_tree(const char *path)
{
	const char *rm[] = { "rm", "-rf", "--one-file-system", "--", path, NULL };
	return run_quiet(rm) == 0;
}

/* Makes dir a working tree of base (its index not yet refreshed) from the
 * cache rdir alone: a new repository when fresh (whatever was at dir is
 * removed), else the tree of an older base, of which only the files that
 * differ are written. The packs are hard links when hard. */
static bool tree_checkout(const char *rdir, const char *dir, const char *base, bool fresh, bool hard)
{
	char *gitdir = xasprintf("%s/.git", dir);
	const char *init[] = { "git", "init", "-q", dir, NULL };
	const char *co[] = { "git", "-c", "safe.directory=*", "-C", dir, "checkout",
			     "-q",  "-f", "--detach",         base, NULL };
	if (fresh)
		rm_tree(dir);
	bool ok = !(fresh && run_quiet(init)) && cache_seed(rdir, gitdir, base, hard) &&
		  run_quiet(co) == 0;
	free(gitdir);
	return ok;
}

/* Refreshes the stat data in the index of the working tree dir. */
static void tree_refresh(const char *dir)
{
	const char *refresh[] = { "git",          "-c", "safe.directory=*", "-C", dir,
				  "update-index", "-q", "--refresh",        NULL };
	run_quiet(refresh);
}

int job_cache_prepare(const char *cache_dir, int64_t repo_id, uid_t uid, gid_t gid)
{
	char *rdir = xasprintf("%s/repo-%lld", cache_dir, (long long)repo_id);
	char *tree = xasprintf("%s/tree", rdir), *tmp = xasprintf("%s/tree.tmp", rdir);
	char *idx = xasprintf("%s/.git/index", tmp), *mark = xasprintf("%s/" BASE_MARK, tmp);
	char base[41], have[41], line[42];
	int rc = -1;
	if (!sha_read(base, rdir, "base"))
		goto done;
	if (sha_read(have, tree, BASE_MARK) && !strcmp(have, base)) {
		rc = 0; /* already there */
		goto done;
	}
	rm_tree(tree);
	/* copies of the packs: the sandbox will own them */
	if (!tree_checkout(rdir, tmp, base, true, false))
		goto done;
	/* owned by the sandbox that runs next, and an index that agrees with
	 * the files' new owner (else git status inside rehashes every file) */
	chown_uid = uid;
	chown_gid = gid;
	if (nftw(tmp, chown_entry, 32, FTW_PHYS | FTW_MOUNT))
		goto done;
	tree_refresh(tmp);
	snprintf(line, sizeof(line), "%s\n", base);
	if (lchown(idx, uid, gid) || !file_put(mark, line) || rename(tmp, tree))
		goto done;
	rc = 0;
done:
	if (rc)
		rm_tree(tmp);
	free(rdir), free(tree), free(tmp), free(idx), free(mark);
	return rc;
}

/* ---- the cache's bound ----
 *
 * The cache holds at most a bound of bytes on disk (PLUE_RUNNER_CACHE_MB):
 * between workloads, entries of repositories that nothing uses are removed,
 * least recently checked out first (the mtime of the entry's `used` file,
 * written by every checkout of the repository), until the rest fits. An
 * entry in use (the one the next workspace is mounted over, the one a
 * builder thread is building) is never removed, even when it alone is
 * larger than the bound. A removed entry is renamed first, so no half of
 * one is ever read as an entry; its repository's next checkout fetches
 * the commit anew and makes the entry again. */

struct cache_entry {
	int64_t repo;
	uint64_t bytes;
	struct timespec used;
};

static uint64_t du_bytes;
static int du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path, (void)ftw;
	/* a file linked n times within the cache (packs/ and lower/'s packs)
	 * counts once overall */
	if (flag == FTW_F || flag == FTW_SL || flag == FTW_D || flag == FTW_DP)
		du_bytes += (uint64_t)st->st_blocks * 512 / (st->st_nlink ? st->st_nlink : 1);
	return 0;
}

static int entry_older(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;
	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

static bool repo_kept(int64_t repo, const int64_t *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i] == repo)
			return true;
	return false;
}

int job_cache_trim(const char *cache_dir, uint64_t max_bytes, const int64_t *keep, size_t nkeep)
{
	DIR *d = opendir(cache_dir);
	if (!d)
		return 0;
	struct cache_entry *es = NULL;
	size_t n = 0, cap = 0, evictable = 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		long long id;
		int end = 0;
		if (sscanf(de->d_name, "repo-%lld%n", &id, &end) != 1 || de->d_name[end] || id <= 0)
			continue;
		if (n == cap)
			es = xrealloc(es, (cap = cap ? 2 * cap : 16) * sizeof(*es));
		es[n++] = (struct cache_entry){ .repo = id };
		evictable += !repo_kept(id, keep, nkeep);
	}
	closedir(d);
	/* sizes only when something could go: a walk of a big tree costs tens
	 * of milliseconds, and a runner of one repository never needs it */
	for (size_t i = 0; evictable && i < n; i++) {
		char *rdir = xasprintf("%s/repo-%lld", cache_dir, (long long)es[i].repo);
		char *used = xasprintf("%s/" USED_MARK, rdir);
		struct stat st;
		if (!stat(used, &st) || !stat(rdir, &st))
			es[i].used = st.st_mtim;
		du_bytes = 0;
		nftw(rdir, du_entry, 32, FTW_PHYS | FTW_MOUNT);
		es[i].bytes = du_bytes;
		total += du_bytes;
		free(rdir);
		free(used);
	}
	qsort(es, n, sizeof(*es), entry_older);
	int removed = 0;
	for (size_t i = 0; i < n && total > max_bytes; i++) {
		if (repo_kept(es[i].repo, keep, nkeep))
			continue;
		char *rdir = xasprintf("%s/repo-%lld", cache_dir, (long long)es[i].repo);
		char *gone = xasprintf("%s/evicted-%lld", cache_dir, (long long)es[i].repo);
		rm_tree(gone);
		if (!rename(rdir, gone)) {
			rm_tree(gone);
			total -= es[i].bytes;
			removed++;
			log_info("runner: checkout cache over its bound: removed repository %lld's "
				 "entry (%llu KiB)",
				 (long long)es[i].repo, (unsigned long long)(es[i].bytes >> 10));
		}
		free(rdir);
		free(gone);
	}
	free(es);
	return removed;
}

/* ---- the overlay workspace (root only) ----
 *
 * Beside tree/, a root runner keeps per repository lower/: a working tree
 * of the cache's base commit with its .git, built from packs/ (hard links:
 * nothing ever writes through to lower/), owned by root, refreshed index,
 * and .git/plue-base naming the commit once it is whole. lower/ is never
 * mounted where anything can write it: a workload's workspace is an
 * overlay whose lower layer is lower/ seen through an idmapped mount (its
 * root-owned files appear owned by the sandbox's uid, so the job may
 * modify them; the first write copies the file up) and whose upper layer
 * is an empty directory of that workload (WS.ovl/upper), removed with it.
 * Mounting costs the same whatever the size of the tree. lower/ is changed
 * only while no overlay uses it (between workloads), by a checkout of the
 * new base that writes only the files that differ. */

int job_base_prepare(const char *cache_dir, int64_t repo_id, bool build)
{
	char *rdir = xasprintf("%s/repo-%lld", cache_dir, (long long)repo_id);
	char *bdir = xasprintf("%s/lower", rdir), *mark = xasprintf("%s/" BASE_MARK, bdir);
	char base[41], have[41], line[42];
	int rc = -1;
	if (!sha_read(base, rdir, "base"))
		goto done;
	bool built = sha_read(have, bdir, BASE_MARK);
	if (built && !strcmp(have, base)) {
		rc = 0;
		goto done;
	}
	if (!built && !build) {
		rc = 1; /* left for a build */
		goto done;
	}
	/* unmarked while it changes: a lower/ without its mark is rebuilt */
	unlink(mark);
	if (!tree_checkout(rdir, bdir, base, !built, true))
		goto done;
	tree_refresh(bdir);
	snprintf(line, sizeof(line), "%s\n", base);
	if (!file_put(mark, line))
		goto done;
	rc = 0;
done:
	if (rc < 0)
		rm_tree(bdir);
	free(rdir), free(bdir), free(mark);
	return rc;
}

/* A user namespace that maps id 0 to uid and gid, for an idmapped mount:
 * its fd, or -1. */
static int idmap_userns(uid_t uid, gid_t gid)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	/* a child born in a new user namespace waits there until p closes;
	 * it only reads and exits (the process has threads) */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) < 0)
			;
		_exit(0);
	}
	close(p[0]);
	int fd = -1;
	if (pid > 0) {
		char path[64], map[64];
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		bool ok = file_put(path, map);
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		ok = ok && file_put(path, map);
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		if (ok)
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	close(p[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	return fd;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Rewrites the index at path (version 2 or 3, SHA-1) into to, every
 * entry's owner made uid:gid and the checksum recomputed: stat data that
 * matches the files as the sandbox's uid sees them, so git status in the
 * job compares stat data instead of hashing every file. */
static bool index_own(const char *to, const char *path, uid_t uid, gid_t gid)
{
	char *tmp = xasprintf("%s.plue", to);
	FILE *f = fopen(path, "re");
	struct buf b = BUF_INIT;
	bool ok = false;
	if (!f)
		goto done;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	unsigned char *d = (unsigned char *)b.ptr, md[20];
	size_t len = b.len;
	if (len < 32 || memcmp(d, "DIRC", 4))
		goto done;
	uint32_t ver = be32(d + 4), count = be32(d + 8);
	if ((ver != 2 && ver != 3) || !EVP_Digest(d, len - 20, md, NULL, EVP_sha1(), NULL) ||
	    memcmp(md, d + len - 20, 20))
		goto done;
	size_t o = 12;
	for (uint32_t i = 0; i < count; i++) {
		if (o + 62 > len - 20)
			goto done;
		size_t fixed = ver == 3 && (be16(d + o + 60) & 0x4000) ? 64 : 62;
		size_t name = strnlen((char *)d + o + fixed, len - 20 - o - fixed);
		put_be32(d + o + 28, (uint32_t)uid);
		put_be32(d + o + 32, (uint32_t)gid);
		o += (fixed + name + 8) & ~(size_t)7;
	}
	if (o > len - 20 || !EVP_Digest(d, len - 20, d + len - 20, NULL, EVP_sha1(), NULL))
		goto done;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, d, len) == (ssize_t)len;
	if (fd >= 0 && close(fd))
		ok = false;
	ok = ok && !lchown(tmp, uid, gid) && !rename(tmp, to);
done:
	if (!ok)
		unlink(tmp);
	buf_release(&b);
	free(tmp);
	return ok;
}

int job_workspace_mount(char out[41], const char *cache_dir, int64_t repo_id, const char *ws,
			uid_t uid, gid_t gid)
{
	char *bdir = xasprintf("%s/repo-%lld/lower", cache_dir, (long long)repo_id);
	char *ovl = xasprintf("%s.ovl", ws), *upper = xasprintf("%s/upper", ovl);
	char *work = xasprintf("%s/work", ovl), *low = xasprintf("%s/lower", ovl);
	char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", low, upper, work);
	char *idx = xasprintf("%s/.git/index", bdir), *idxto = xasprintf("%s/.git/index", ws);
	int ns = -1, tree = -1, rc = -1;
	bool moved = false, mounted = false, tried = false;
	if (!sha_read(out, bdir, BASE_MARK) || strpbrk(ovl, ",:\\"))
		goto done; /* no tree of that repository */
	tried = true;
	rm_tree(ovl);
	if (mkdir(ovl, 0700) || mkdir(upper, 0755) || mkdir(work, 0700) || mkdir(low, 0700))
		goto done;
	if ((ns = idmap_userns(uid, gid)) < 0)
		goto done;
	/* lower/ as the sandbox's uid sees it: read-only, its owner mapped */
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
					       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				   .userns_fd = (uint64_t)ns };
	tree = open_tree(AT_FDCWD, bdir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) ||
	    move_mount(tree, "", AT_FDCWD, low, MOVE_MOUNT_F_EMPTY_PATH))
		goto done;
	moved = true;
	if (mount("overlay", ws, "overlay", MS_NOSUID | MS_NODEV, opts))
		goto done;
	mounted = true;
	if (!index_own(idxto, idx, uid, gid))
		goto done;
	rc = 0;
done:
	if (rc && tried)
		log_warn("runner: cannot mount the workspace over the cached tree: %s",
			 strerror(errno));
	if (moved)
		umount2(low, MNT_DETACH); /* the overlay holds its layer */
	if (rc && mounted)
		umount2(ws, MNT_DETACH);
	if (rc)
		rm_tree(ovl);
	if (tree >= 0)
		close(tree);
	if (ns >= 0)
		close(ns);
	free(bdir), free(ovl), free(upper), free(work), free(low), free(opts), free(idx),
		free(idxto);
	return rc;
}

void job_workspace_unmount(const char *ws)
{
	char *ovl = xasprintf("%s.ovl", ws);
	struct stat st;
	if (!lstat(ovl, &st)) {
		if (umount2(ws, 0) && errno == EBUSY)
			umount2(ws, MNT_DETACH);
		rm_tree(ovl);
	}
	free(ovl);
}

/* Hands what the checkout wrote into an overlay workspace (the upper
 * layer holds exactly that) to the sandbox's uid. */
static const char *own_upper, *own_ws;
static int own_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag, (void)ftw;
	if (S_ISCHR(st->st_mode) && st->st_rdev == 0)
		return 0; /* a whiteout: a deletion */
	char *merged = xasprintf("%s%s", own_ws, path + strlen(own_upper));
	struct stat ms;
	int rc = 0;
	if (!lstat(merged, &ms) && (ms.st_uid != chown_uid || ms.st_gid != chown_gid))
		rc = lchown(merged, chown_uid, chown_gid) ? -1 : 0;
	free(merged);
	return rc;
}

static bool upper_own(const char *ws, uid_t uid, gid_t gid)
{
	char *upper = xasprintf("%s.ovl/upper", ws);
	own_upper = upper;
	own_ws = ws;
	chown_uid = uid;
	chown_gid = gid;
	bool ok = nftw(upper, own_entry, 32, FTW_PHYS | FTW_MOUNT) == 0;
	free(upper);
	return ok;
}

/* Fetches commit sha from url into the repository ws (the commit alone,
 * or its ref from a server that does not serve unadvertised objects) and
 * checks it out; tree_base, when not NULL, is the commit whose tree ws
 * holds, with an index whose stat data match its files (an overlay).
 * Returns git's exit code or -1, why in why. */
static int fetch_checkout(const char *ws, const char *url, const char *sha, const char *ref,
			  const char *tree_base, const char *const *extra, struct out_ctx *o,
			  int64_t end, char *why, size_t whylen)
{
	/* fetch.unpackLimit=1: what the fetch brings stays a pack the cache can
	 * copy; --no-auto-gc: no `git maintenance run --auto` after it (a
	 * process on every checkout, for a repository that lives one job);
	 * --no-write-fetch-head: the checkout names the commit, nothing reads
	 * FETCH_HEAD */
	const char *fetch_sha[] = { "git",
				    "-c",
				    "safe.directory=*",
				    "-c",
				    "fetch.unpackLimit=1",
				    "-C",
				    ws,
				    "fetch",
				    "-q",
				    "--no-tags",
				    "--no-auto-gc",
				    "--no-write-fetch-head",
				    "--depth=1",
				    url,
				    sha,
				    NULL };
	int rc = host_run(fetch_sha, extra, NULL, o, (int)(end - now_ms()));
	if (rc && ref && !strncmp(ref, "refs/", 5)) {
		emit_line(o, "stdout", "fetching the commit failed; fetching its ref instead", 53);
		const char *fetch_ref[] = { "git",
					    "-c",
					    "safe.directory=*",
					    "-c",
					    "fetch.unpackLimit=1",
					    "-C",
					    ws,
					    "fetch",
					    "-q",
					    "--no-tags",
					    "--no-auto-gc",
					    "--no-write-fetch-head",
					    url,
					    ref,
					    NULL };
		rc = host_run(fetch_ref, extra, NULL, o, (int)(end - now_ms()));
	}
	if (rc) {
		snprintf(why, whylen, "cannot fetch commit %.12s from the server", sha);
		return rc;
	}
	if (tree_base) {
		/* A two-way read-tree writes what differs between the trees and
		 * checks only those paths, as `git checkout` would; checkout
		 * first refreshes the whole index (an lstat of every file: 50 to
		 * 100 ms for 9,600 files under an overlay). read-tree trusts the
		 * index's stat data, so where they do not match (they should)
		 * it refuses and changes nothing, and checkout does the work. */
		const char *rt[] = { "git", "-c", "safe.directory=*", "-C", ws,  "read-tree",
				     "-m",  "-u", tree_base,          sha,  NULL };
		const char *head[] = { "git", "-c",         "safe.directory=*", "-C",
				       ws,    "update-ref", "--no-deref",       "HEAD",
				       sha,   NULL };
		if (!run_quiet(rt)) {
			if ((rc = host_run(head, extra, NULL, o, (int)(end - now_ms()))))
				snprintf(why, whylen, "cannot check out commit %.12s", sha);
			return rc;
		}
	}
	const char *co[] = { "git",      "-c", "safe.directory=*", "-C", ws,
			     "checkout", "-q", "--detach",         sha,  NULL };
	if ((rc = host_run(co, extra, NULL, o, (int)(end - now_ms()))))
		snprintf(why, whylen, "cannot check out commit %.12s", sha);
	return rc;
}

/* Appends text (whole sections) to the config of the repository ws: what
 * `git config` would write, without a process on the checkout's path (a
 * later section's value wins). The file keeps its owner. */
static bool config_append(const char *ws, const char *text)
{
	char *path = xasprintf("%s/.git/config", ws);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	free(path);
	if (fd < 0)
		return false;
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

static int checkout(struct job_env *env, struct out_ctx *o, json_t *spec, char *why, size_t whylen)
{
	const char *ws = sandbox_workspace(env->sb);
	const char *sha = json_string_value(json_object_get(spec, "commit"));
	const char *ref = json_string_value(json_object_get(spec, "ref"));
	const char *path = json_string_value(
		json_object_get(json_object_get(spec, "repo"), "clone_path"));
	const char *token = json_string_value(json_object_get(env->claim, "task_token"));
	if (!sha || !is_sha1_hex(sha) || !path || !token) {
		snprintf(why, whylen, "the workload names no commit to check out");
		return -1;
	}
	char *url = xasprintf("%s%s", env->server_url, path);
	/* the token travels in the environment, never in argv */
	char *auth = xasprintf("GIT_CONFIG_VALUE_0=Authorization: Bearer %s", token);
	const char *extra[] = { "GIT_CONFIG_COUNT=1",
				"GIT_CONFIG_KEY_0=http.extraHeader",
				auth,
				"GIT_TERMINAL_PROMPT=0",
				"GIT_ASKPASS=/bin/true",
				NULL };
	int rc = -1;
	int64_t end = now_ms() + CHECKOUT_TIMEOUT_MS;
	json_int_t repo_id = json_integer_value(json_object_get(json_object_get(spec, "repo"), "id"));
	char *rdir = env->cache_dir && repo_id > 0
			     ? xasprintf("%s/repo-%lld", env->cache_dir, (long long)repo_id)
			     : NULL;
	char *gitdir = xasprintf("%s/.git", ws), *baseref = xasprintf("%s/refs/plue/base", gitdir);
	char base[41] = "";
	bool have_base = false;
	const char *init[] = { "git", "init", "-q", ws, NULL };
	/* overlaid: the workspace is already the base tree (runner.c mounted it) */
	bool overlaid = env->overlay_base != NULL;
	int taken = overlaid ? 1 : rdir ? cache_take_tree(rdir, ws, base) : 0;
	if (overlaid)
		memcpy(base, env->overlay_base, 41);
	if (taken > 0) {
		have_base = true;
	} else {
		if (taken < 0) {
			/* a half-moved tree: start from an empty workspace */
			const char *clean[] = { "find", ws, "-mindepth", "1", "-delete", NULL };
			run_quiet(clean);
		}
		if ((rc = host_run(init, extra, NULL, o, (int)(end - now_ms())))) {
			snprintf(why, whylen, "git init failed");
			goto done;
		}
		have_base = rdir && sha_read(base, rdir, "base") &&
			    cache_seed(rdir, gitdir, base, false);
	}
	/* else the tree is that commit already */
	bool fetched = !have_base || strcmp(base, sha);
	rc = fetched ? fetch_checkout(ws, url, sha, ref, overlaid ? base : NULL, extra, o, end, why,
				      whylen)
		     : 0;
	unlink(baseref); /* base was only there to be offered as a have */
	if (rc)
		goto done;
	if (fetched && rdir)
		cache_save(rdir, ws, sha);
	if (rdir)
		cache_touch(rdir);
	/* what the runner wrote goes to the sandbox's uid; in an overlay only
	 * what the fetch and the checkout wrote needs a new owner */
	struct err e = { 0 };
	if (overlaid && fetched && !upper_own(ws, sandbox_uid(env->sb), sandbox_gid(env->sb))) {
		snprintf(why, whylen, "cannot hand the checkout to the sandbox");
		rc = -1;
		goto done;
	}
	if (!overlaid && sandbox_workspace_sync(env->sb, &e)) {
		snprintf(why, whylen, "%s", e.msg);
		rc = -1;
		goto done;
	}
	if (sandbox_kind_of(env->sb) == SANDBOX_GVISOR) {
		/* gVisor shows its own inode numbers, never the host's that the
		 * index holds: git would hash every file to find none changed.
		 * Without inode, owner and device it compares times and sizes. */
		if (!config_append(ws, "\n[core]\n\tcheckStat = minimal\n")) {
			snprintf(why, whylen, "cannot configure the workspace's repository");
			rc = -1;
			goto done;
		}
	}
	char msg[160];
	int n = snprintf(msg, sizeof(msg), "checked out %s at %.12s%s%s", ref ? ref : "", sha,
			 taken > 0   ? " (from the runner's cached tree)"
			 : have_base ? " (from the runner's cached objects)"
				     : "",
			 overlaid ? " under an overlay" : "");
	emit_line(o, "stdout", msg, (size_t)n);
done:
	free(auth);
	free(url);
	free(rdir);
	free(gitdir);
	free(baseref);
	return rc;
}

int job_checkout_workspace(struct job_env *env, char *why, size_t whylen)
{
	struct out_ctx o = { .rep = env->rep, .step = 0 };
	return checkout(env, &o, json_object_get(env->claim, "spec"), why, whylen);
}

/* ---- steps ---- */

/* env pairs [[k, v], ...] interpolated into the object env (in order; each
 * value sees the env so far). */
static int env_apply(json_t *env, json_t *pairs, struct expr_ctx *ctx, struct err *e)
{
	size_t i;
	json_t *pr;
	json_array_foreach(pairs, i, pr)
	{
		const char *k = json_string_value(json_array_get(pr, 0));
		const char *v = json_string_value(json_array_get(pr, 1));
		if (!k || !v)
			continue;
		char *out = NULL;
		ctx->env = env;
		if (expr_interpolate(&out, v, ctx, e))
			return e->code;
		json_object_set_new(env, k, json_string(out));
		free(out);
	}
	return 0;
}

static const char *valid_env_name(const char *k)
{
	if (!k || !*k || (*k >= '0' && *k <= '9'))
		return NULL;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return NULL;
	return k;
}

static void step_end(struct reporter *rep, int step, const char *status, int exit_code,
		     int64_t duration_ms, const char *reason)
{
	json_t *p = json_pack("{s:i,s:s,s:I}", "step", step, "status", status, "duration_ms",
			      (json_int_t)duration_ms);
	if (exit_code >= 0)
		json_object_set_new(p, "exit_code", json_integer(exit_code));
	if (reason && *reason)
		json_object_set_new(p, "reason", json_string(reason));
	reporter_add(rep, "step_end", p);
}

/* A string member of o, or "" (never NULL). */
static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* ---- the job ----
 *
 * job_run is a sequence of steps over one struct job, which owns what the
 * run acquires (the base environment) and the outcome so far; each step
 * of the workflow is one struct step, which owns what that step acquires
 * (its secrets, environment, script and directory). Each is released in
 * one place: job_release, step_release. */

struct job {
	struct job_env *env;
	struct job_result *out;
	json_t *spec, *secrets, *ctxj, *def; /* borrowed from the claim; def: the job's spec */
	struct out_ctx o;
	json_t *base_env; /* CI, PLUE and PLUE_*: what every step gets and cannot change */
	int64_t end_ms;   /* the job's deadline */
	bool failed, cancelled;
	int last_exit;    /* of the step that failed the job */
};

struct step {
	int idx;             /* 1.. (0 is the checkout) */
	json_t *def;         /* borrowed: the step's spec */
	const char *name;    /* its name, or NULL */
	struct expr_ctx ctx; /* what its expressions see */
	json_t *secrets;     /* only the secrets it refers to */
	json_t *env;         /* its environment, as JSON */
	char *script, *cwd;  /* interpolated run and working directory */
	int64_t timeout_ms;  /* its wall time: its own timeout or what the job has left */
	bool job_limited;    /* the job's deadline, not the step's, set timeout_ms */
	int64_t t0;
	struct err e;        /* why it could not run as written */
};

/* Starts the job: masks its secrets, sets the deadline and a successful
 * outcome. */
static void job_begin(struct job *out, struct job_env *env, struct job_result *res)
{
	*out = (struct job){ .env = env, .out = res, .o = { .rep = env->rep, .step = 0 } };
	out->spec = json_object_get(env->claim, "spec");
	out->secrets = json_object_get(env->claim, "secrets");
	out->ctxj = json_object_get(out->spec, "context");
	out->def = json_object_get(out->spec, "job");
	/* from here on, every string the job sends goes out masked */
	reporter_mask(env->rep, out->secrets);
	res->result = "success";
	res->exit_code = 0;
	res->reason[0] = '\0';
	json_int_t timeout = json_integer_value(json_object_get(out->def, "timeout_sec"));
	out->end_ms = now_ms() + (timeout > 0 ? timeout : 6 * 3600) * 1000;
}

static void job_release(struct job *j)
{
	json_decref(j->base_env);
	j->base_env = NULL;
}

/* Step 0: the checkout. A failure fails the job; the steps still run
 * (those whose `if` asks for it). */
static void job_checkout(struct job *j)
{
	int64_t t0 = now_ms();
	reporter_add(j->env->rep, "step_start",
		     json_pack("{s:i,s:s}", "step", 0, "name", "Checkout"));
	char why[400] = "";
	int crc = checkout(j->env, &j->o, j->spec, why, sizeof(why));
	if (!crc) {
		step_end(j->env->rep, 0, "success", 0, now_ms() - t0, NULL);
	} else if (on_cancelled(&j->o)) {
		j->cancelled = true;
		step_end(j->env->rep, 0, "cancelled", -1, now_ms() - t0, "cancelled");
	} else {
		j->failed = true;
		emit_line(&j->o, "stderr", why, strlen(why));
		step_end(j->env->rep, 0, "failure", crc > 0 ? crc : -1, now_ms() - t0, why);
		snprintf(j->out->reason, sizeof(j->out->reason), "%s", why);
		j->last_exit = crc > 0 ? crc : -1;
	}
}

/* The variables that say what is running (CI, PLUE, PLUE_*). */
static json_t *job_base_env(const struct job *j)
{
	json_t *env = json_object();
	json_t *run = json_object_get(j->spec, "run");
	json_t *repo = json_object_get(j->spec, "repo");
	json_t *claim = j->env->claim;
	json_object_set_new(env, "CI", json_string("true"));
	json_object_set_new(env, "PLUE", json_string("true"));
	json_object_set_new(env, "PLUE_WORKSPACE", json_string(sandbox_workspace_inside(j->env->sb)));
	json_object_set_new(env, "PLUE_SHA", json_string(jstr(j->spec, "commit")));
	json_object_set_new(env, "PLUE_REF", json_string(jstr(j->spec, "ref")));
	json_object_set_new(env, "PLUE_REPOSITORY", json_string(jstr(repo, "full_name")));
	json_object_set_new(env, "PLUE_WORKFLOW", json_string(jstr(run, "workflow")));
	json_object_set_new(env, "PLUE_JOB", json_string(jstr(j->def, "name")));
	json_object_set_new(env, "PLUE_RUN_ID",
			    json_integer(json_integer_value(json_object_get(run, "id"))));
	json_object_set_new(env, "PLUE_RUN_NUMBER",
			    json_integer(json_integer_value(json_object_get(run, "number"))));
	json_object_set_new(env, "PLUE_RUN_ATTEMPT",
			    json_integer(json_integer_value(json_object_get(claim, "attempt"))));
	json_object_set_new(env, "PLUE_EVENT_NAME",
			    json_string(jstr(json_object_get(j->ctxj, "event"), "type")));
	return env;
}

/* Sets up step idx: the job's state as its status, the secrets it refers
 * to, a copy of the base environment. */
static void step_begin(struct step *out, struct job *j, int idx, json_t *def)
{
	j->o.step = idx;
	if (!j->cancelled && on_cancelled(&j->o))
		j->cancelled = true;
	*out = (struct step){ .idx = idx, .def = def };
	out->name = json_string_value(json_object_get(def, "name"));
	out->secrets = json_object();
	size_t k;
	json_t *nm;
	json_array_foreach(json_object_get(def, "secrets"), k, nm)
	{
		json_t *v = json_object_get(j->secrets, json_string_value(nm));
		if (v)
			json_object_set(out->secrets, json_string_value(nm), v);
	}
	out->env = json_deep_copy(j->base_env);
	out->ctx = (struct expr_ctx){
		.event = json_object_get(j->ctxj, "event"),
		.repo = json_object_get(j->ctxj, "repo"),
		.inputs = json_object_get(j->ctxj, "inputs"),
		.matrix = json_object_get(j->ctxj, "matrix"),
		.needs = json_object_get(j->ctxj, "needs"),
		.secrets = out->secrets,
		.env = out->env,
		.status = j->cancelled ? EXPR_STATUS_CANCELLED
			  : j->failed  ? EXPR_STATUS_FAILURE
				       : EXPR_STATUS_SUCCESS,
	};
	out->t0 = now_ms();
}

static void step_release(struct step *s)
{
	free(s->script);
	free(s->cwd);
	json_decref(s->env);
	json_decref(s->secrets);
}

/* The step's environment, working directory and script, interpolated.
 * Returns 0 or an error in s->e. */
static int step_interpolate(struct step *s, const struct job *j)
{
	if (env_apply(s->env, json_object_get(j->spec, "env"), &s->ctx, &s->e) ||
	    env_apply(s->env, json_object_get(s->def, "env"), &s->ctx, &s->e))
		return s->e.code;
	/* CI, PLUE and PLUE_* say what is running: a workflow cannot fake them */
	json_object_update(s->env, j->base_env);
	const char *wd = json_string_value(json_object_get(s->def, "working_directory"));
	if (wd && expr_interpolate(&s->cwd, wd, &s->ctx, &s->e))
		return s->e.code;
	/* ${{ }} in the script: each value travels in its own variable
	 * (PLUE_EXPR_1, …) and the script only names it, so event text (a
	 * comment, a title) never becomes code. Set after everything else:
	 * nothing can shadow them. */
	const char *run_text = json_string_value(json_object_get(s->def, "run"));
	json_t *vars = json_object();
	int rc = expr_interpolate_vars(&s->script, vars, EXPR_VAR_PREFIX, run_text ? run_text : "",
				       &s->ctx, &s->e);
	json_object_update(s->env, vars);
	json_decref(vars);
	return rc;
}

/* The step's wall time: its own timeout, cut to what the job has left. */
static void step_timeout(struct step *s, const struct job *j)
{
	json_int_t step_timeout = json_integer_value(json_object_get(s->def, "timeout_sec"));
	int64_t left = j->end_ms - now_ms();
	int64_t tmo = step_timeout > 0 ? step_timeout * 1000 : left;
	s->job_limited = tmo >= left;
	if (tmo > left)
		tmo = left;
	if (tmo < 1)
		tmo = 1;
	s->timeout_ms = tmo;
}

/* Runs the step's script in the sandbox with only what the workflow gave
 * as its environment (and secrets only where this step referred to
 * them). Returns sandbox_exec's code, the error in s->e. */
static int step_exec(struct sandbox_result *out, struct step *s, struct job *j)
{
	size_t n = json_object_size(s->env);
	char **envv = xcalloc(n + 1, sizeof(char *));
	size_t ne = 0;
	const char *key;
	json_t *val;
	json_object_foreach(s->env, key, val)
	{
		if (!valid_env_name(key))
			continue;
		char *sv = json_is_string(val) ? xstrdup(json_string_value(val)) : expr_string(val);
		envv[ne++] = xasprintf("%s=%s", key, sv);
		free(sv);
	}
	const char *argv[] = { "/bin/bash", "-e", "-o", "pipefail", "-c", s->script, NULL };
	step_timeout(s, j);
	struct sandbox_limits lim = {
		.timeout_ms = (int)(s->timeout_ms > INT32_MAX ? INT32_MAX : s->timeout_ms)
	};
	struct sandbox_cmd cmd = {
		.argv = argv,
		.env = (const char *const *)envv,
		.cwd = s->cwd,
		.limits = &lim,
		.on_output = on_output,
		.cancelled = on_cancelled,
		.cls = &j->o,
	};
	*out = (struct sandbox_result){ 0 };
	int rc = sandbox_exec(j->env->sb, &cmd, out, &s->e);
	for (size_t i = 0; i < ne; i++)
		free(envv[i]);
	free(envv);
	const char *wd = json_string_value(json_object_get(s->def, "working_directory"));
	if (rc == ERR_INVALID && !strcmp(s->e.slug, "invalid_cwd") && wd && strstr(wd, "${{")) {
		/* the sandbox quotes the path; this one came from an expression
		 * and may hold anything (a secret): the message names the step
		 * (in the job's reason), not the value */
		err_clear(&s->e);
		err_set(&s->e, ERR_INVALID, "invalid_cwd",
			"working-directory is not a relative path inside the workspace (its value "
			"comes from an expression and is not shown)");
	}
	return rc;
}

/* How a step that ran went: its step_end, and the job's outcome. */
static void step_result(struct step *s, struct job *j, const struct sandbox_result *res)
{
	const char *status = "success";
	char reason[256] = "";
	if (res->cancelled) {
		status = "cancelled";
		j->cancelled = true;
		snprintf(reason, sizeof(reason), "cancelled");
	} else if (res->timed_out) {
		status = "failure";
		snprintf(reason, sizeof(reason), "%s timed out after %lld s",
			 s->job_limited ? "the job" : "the step", (long long)(s->timeout_ms / 1000));
	} else if (res->output_truncated) {
		status = "failure";
		snprintf(reason, sizeof(reason), "the step printed more than its output limit");
	} else if (res->exit_code != 0) {
		status = "failure";
		if (res->signal)
			snprintf(reason, sizeof(reason), "killed by signal %d%s", res->signal,
				 res->limit_hit ? " (a memory or process limit)" : "");
		else
			snprintf(reason, sizeof(reason), "exit code %d%s", res->exit_code,
				 res->limit_hit ? " (a memory or process limit)" : "");
	}
	if (*reason && !res->cancelled)
		emit_line(&j->o, "stderr", reason, strlen(reason));
	step_end(j->env->rep, s->idx, status, res->exit_code, res->duration_ms, reason);
	if (strcmp(status, "failure"))
		return;
	if (json_is_true(json_object_get(s->def, "continue_on_error"))) {
		const char *m = "continue-on-error: the job goes on";
		emit_line(&j->o, "stderr", m, strlen(m));
		return;
	}
	j->failed = true;
	j->last_exit = res->exit_code;
	if (!*j->out->reason)
		snprintf(j->out->reason, sizeof(j->out->reason), "step '%s': %s",
			 s->name ? s->name : "step", reason);
}

/* The step could not be run as written (an expression, a path): it fails,
 * and with it the job. */
static void step_error(struct step *s, struct job *j)
{
	if (!s->e.code)
		err_set(&s->e, ERR_INTERNAL, NULL, "the step could not run");
	emit_line(&j->o, "stderr", s->e.msg, strlen(s->e.msg));
	step_end(j->env->rep, s->idx, "failure", -1, now_ms() - s->t0, s->e.msg);
	j->failed = true;
	j->last_exit = -1;
	if (!*j->out->reason)
		snprintf(j->out->reason, sizeof(j->out->reason), "step '%s': %s",
			 s->name ? s->name : "step", s->e.msg);
}

/* The sandbox failed under the step: the step and the job end in error at
 * once (job_end sent), whatever steps are left. */
static void step_sandbox_failed(struct step *s, struct job *j)
{
	struct job_result *out = j->out;
	snprintf(out->reason, sizeof(out->reason), "the sandbox failed: %s", s->e.msg);
	emit_line(&j->o, "stderr", out->reason, strlen(out->reason));
	step_end(j->env->rep, s->idx, "failure", -1, now_ms() - s->t0, out->reason);
	out->result = "error";
	out->exit_code = -1;
	reporter_add(j->env->rep, "job_end",
		     json_pack("{s:s,s:s}", "status", "failure", "reason", out->reason));
}

/* Runs step idx of the job: its `if`, then (when it runs) its environment
 * and script, then the command. Returns 0, or -1 when the sandbox failed
 * and the job is over. */
static int job_step(struct job *j, int idx, json_t *def)
{
	struct step s;
	int rc = 0;
	bool go = false;
	step_begin(&s, j, idx, def);
	if (expr_condition(&go, json_string_value(json_object_get(def, "if")), &s.ctx, &s.e)) {
		step_error(&s, j);
		goto done;
	}
	if (!go) {
		step_end(j->env->rep, idx, j->cancelled ? "cancelled" : "skipped", -1, 0, NULL);
		goto done;
	}
	reporter_add(j->env->rep, "step_start",
		     json_pack("{s:i,s:s}", "step", idx, "name", s.name ? s.name : "step"));
	if (step_interpolate(&s, j)) {
		step_error(&s, j);
		goto done;
	}
	struct sandbox_result res;
	int xrc = step_exec(&res, &s, j);
	if (xrc == ERR_UNAVAILABLE) {
		step_sandbox_failed(&s, j);
		rc = -1;
	} else if (xrc) {
		step_error(&s, j);
	} else {
		step_result(&s, j, &res);
	}
done:
	step_release(&s);
	return rc;
}

/* The job's outcome: job_end, and aborted when it was cancelled. */
static void job_finish(struct job *j)
{
	struct job_result *out = j->out;
	if (j->cancelled) {
		out->result = "cancelled";
		out->exit_code = -1;
		snprintf(out->reason, sizeof(out->reason), "cancelled");
	} else if (j->failed) {
		out->result = "failure";
		out->exit_code = j->last_exit;
	}
	json_t *je = json_pack("{s:s}", "status", out->result);
	if (out->exit_code >= 0)
		json_object_set_new(je, "exit_code", json_integer(out->exit_code));
	if (*out->reason)
		json_object_set_new(je, "reason", json_string(out->reason));
	reporter_add(j->env->rep, "job_end", je);
	if (j->cancelled)
		reporter_add(j->env->rep, "aborted", json_pack("{s:s}", "reason", "cancelled"));
}

void job_run(struct job_env *env, struct job_result *out)
{
	struct job j;
	size_t si;
	json_t *st;
	job_begin(&j, env, out);
	job_checkout(&j);
	j.base_env = job_base_env(&j);
	json_array_foreach(json_object_get(j.spec, "steps"), si, st)
	{
		if (job_step(&j, (int)si + 1, st))
			goto done; /* the sandbox failed: job_end is sent */
	}
	job_finish(&j);
done:
	job_release(&j);
}
