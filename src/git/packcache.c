/* packcache.c — the pack cache for identical fetches: the
 * uploadpack.packObjectsHook command and its eviction (see packcache.h). */
#include "git/packcache.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX (16 << 20) /* request bytes keyed; a larger request is served uncached */
#define ABANDONED_AGE 60   /* seconds before eviction removes a generation file */
#define WAIT_MS 1000       /* a tailer re-checks at least this often */

extern char **environ;

/* ---- the hook's configuration, for upload-pack's -c ---- */

static pthread_once_t exe_once = PTHREAD_ONCE_INIT;
static char exe_path[PATH_MAX];

static void exe_find(void)
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[n > 0 ? n : 0] = '\0';
}

/* s inside single quotes for git's shell, each quote as '\'' */
static void shell_quote(struct buf *b, const char *s)
{
	buf_addch(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addch(b, *s);
	buf_addch(b, '\'');
}

const char *packcache_hook_config(struct arena *a)
{
	if (!cfg.pack_cache || !cfg.data_abs)
		return NULL;
	pthread_once(&exe_once, exe_find);
	if (!exe_path[0])
		return NULL;
	struct buf b = BUF_INIT;
	buf_adds(&b, "uploadpack.packObjectsHook=");
	shell_quote(&b, exe_path);
	buf_adds(&b, " pack-objects-hook ");
	char *dir = xasprintf("%s/packcache", cfg.data_abs);
	shell_quote(&b, dir);
	free(dir);
	buf_addf(&b, " %llu", (unsigned long long)cfg.pack_cache_mb << 20);
	const char *out = arena_printf(a, "%s", b.ptr);
	buf_release(&b);
	return out;
}

/* ---- running pack-objects ---- */

/* Spawns git_argv with a pipe on stdin (*in_fd) and out_fd as stdout;
 * stderr (progress for the client) is ours. Returns 0 or -1. */
static int spawn_pack_objects(char **git_argv, int out_fd, pid_t *pid, int *in_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	if (out_fd != 1)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t defs;
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	posix_spawnattr_setsigdefault(&at, &defs);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
	int e = posix_spawnp(pid, git_argv[0], &fa, &at, git_argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (e) {
		close(p[1]);
		errno = e;
		return -1;
	}
	*in_fd = p[1];
	return 0;
}

static int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* pack-objects as if there were no cache: req, then the rest of our
 * stdin, to its stdin; its stdout is ours. */
static int run_uncached(char **git_argv, const struct buf *req)
{
	pid_t pid;
	int in_fd;
	if (spawn_pack_objects(git_argv, 1, &pid, &in_fd)) {
		fprintf(stderr, "fatal: cannot run git pack-objects: %s\n", strerror(errno));
		return 1;
	}
	bool ok = fd_write_all(in_fd, req->ptr, req->len) == 0;
	char chunk[65536];
	ssize_t n;
	while (ok && (n = read(0, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0 && fd_write_all(in_fd, chunk, (size_t)n) == 0;
	}
	close(in_fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return exit_code(st);
}

/* ---- the key ---- */

static int ref_line(git_reference *ref, void *payload)
{
	struct buf *b = payload;
	buf_adds(b, git_reference_name(ref));
	buf_addch(b, ' ');
	if (git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC) {
		buf_addf(b, "-> %s", git_reference_symbolic_target(ref));
	} else {
		char hex[GIT_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), git_reference_target(ref));
		buf_adds(b, hex);
	}
	buf_addch(b, '\n');
	git_reference_free(ref);
	return 0;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The repository's refs, one "name target" line each, sorted (the same
 * refs give the same text however they are stored). 0 or -1. */
static int refs_text(struct buf *out)
{
	git_repository *repo = NULL;
	struct buf all = BUF_INIT;
	char **lines = NULL;
	int rc = -1;
	if (git_repository_open_bare(&repo, ".") < 0 ||
	    git_reference_foreach(repo, ref_line, &all) < 0)
		goto done;
	size_t n = 0, cap = 64;
	lines = xmalloc(cap * sizeof(char *));
	for (char *p = all.ptr, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		if (n == cap)
			lines = xrealloc(lines, (cap *= 2) * sizeof(char *));
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(char *), cmp_lines);
	for (size_t i = 0; i < n; i++) {
		buf_adds(out, lines[i]);
		buf_addch(out, '\n');
	}
	rc = 0;
done:
	free(lines);
	buf_release(&all);
	git_repository_free(repo);
	return rc;
}

/* SHA-256 of what determines the pack (packcache.h). 0 or -1. */
static int cache_key(char out[65], char **git_argv, const struct buf *req)
{
	struct buf k = BUF_INIT;
	char cwd[PATH_MAX];
	int rc = -1;
	if (!getcwd(cwd, sizeof(cwd)))
		goto done;
	buf_adds(&k, "plue-packcache-1\n");
	buf_adds(&k, cwd);
	buf_addch(&k, '\0');
	git_libgit2_init();
	int r = refs_text(&k);
	git_libgit2_shutdown();
	if (r)
		goto done;
	buf_addch(&k, '\0');
	for (char **a = git_argv; *a; a++) {
		if (!strcmp(*a, "--progress") || !strcmp(*a, "-q"))
			continue; /* stderr only */
		buf_adds(&k, *a);
		buf_addch(&k, '\0');
	}
	buf_addch(&k, '\0');
	buf_add(&k, req->ptr, req->len);
	sha256_hex(out, k.ptr, k.len);
	rc = 0;
done:
	buf_release(&k);
	return rc;
}

/* ---- streaming an entry ---- */

/* Sends fd's bytes [*off, end) to stdout. 0, or -1 when stdout is gone. */
static int send_range(int fd, off_t *off, off_t end)
{
	while (*off < end) {
		ssize_t n = sendfile(1, fd, off, (size_t)(end - *off));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
			char chunk[65536];
			size_t want = (size_t)(end - *off) < sizeof(chunk) ? (size_t)(end - *off)
									   : sizeof(chunk);
			ssize_t r = pread(fd, chunk, want, *off);
			if (r <= 0 || fd_write_all(1, chunk, (size_t)r))
				return -1;
			*off += r;
			continue;
		}
		return -1;
	}
	return 0;
}

enum tail_end {
	TAIL_DONE,      /* the whole pack was sent */
	TAIL_GONE,      /* our client went away */
	TAIL_FAILED,    /* generation failed after bytes were sent */
	TAIL_ABANDONED, /* the generator died before sending us anything: start over */
};

/* A generation in progress, when we are its generator. */
struct gen {
	pid_t pid;
	bool running;
	int status;
	const char *tmp, *final;
};

/* Our generator's child has exited: complete the entry, or empty and
 * remove it so that tailers see the failure. A pack made but not
 * renamed is still whole for those streaming it. */
static void gen_finish(struct gen *g, int fd)
{
	g->running = false;
	if (g->status == 0) {
		if (fdatasync(fd) || rename(g->tmp, g->final))
			unlink(g->tmp);
		return;
	}
	int r = ftruncate(fd, 0); /* emptied: tailers see the failure */
	(void)r;
	unlink(g->tmp);
}

/* The generator has released the lock: did it complete the entry? */
static bool entry_complete(int fd, off_t off, const char *final)
{
	struct stat st, fs;
	if (fstat(fd, &st) || st.st_size == 0 || st.st_size < off)
		return false;
	if (st.st_nlink == 0)
		return true; /* renamed, then already evicted (a failure empties it) */
	return stat(final, &fs) == 0 && fs.st_ino == st.st_ino && fs.st_dev == st.st_dev;
}

/* Where another process's generation stands, for a tailer that has sent
 * off bytes: -1 while the generator holds the lock, else how the tail
 * ends. A generator that died before we sent anything leaves a file that
 * is removed here (if it is still the one in place). */
static int gen_outcome(int fd, off_t off, const char *tmp, const char *final)
{
	if (flock(fd, LOCK_SH | LOCK_NB))
		return -1;
	flock(fd, LOCK_UN);
	if (entry_complete(fd, off, final))
		return TAIL_DONE;
	if (off > 0)
		return TAIL_FAILED;
	struct stat cur, ts;
	if (fstat(fd, &cur) == 0 && cur.st_nlink > 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (stat(tmp, &ts) == 0 && ts.st_ino == cur.st_ino && ts.st_dev == cur.st_dev)
			unlink(tmp);
		flock(fd, LOCK_UN);
	}
	return TAIL_ABANDONED;
}

/* Streams the entry open on fd as it grows, until it is complete (and
 * sent), failed, or our client is gone. g: we are the generator and
 * finish it (and then keep waiting for git even when the client is
 * gone); NULL: another process is. */
static enum tail_end tail(int fd, const char *tmp, const char *final, struct gen *g, off_t *sent)
{
	char watch[64];
	snprintf(watch, sizeof(watch), "/proc/self/fd/%d", fd);
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd >= 0 && inotify_add_watch(ifd, watch,
					  IN_MODIFY | IN_CLOSE_WRITE | IN_MOVE_SELF |
						  IN_DELETE_SELF | IN_ATTRIB) < 0) {
		close(ifd);
		ifd = -1; /* then the periodic re-check alone */
	}
	/* the generator also wakes when its pack-objects exits: that makes no
	 * inotify event (the child's stdout shares our open file), and without
	 * it the end of every new pack waited for the periodic re-check */
	int pfd = g ? (int)syscall(SYS_pidfd_open, g->pid, 0) : -1;
	bool client = true;
	enum tail_end res;
	off_t off = 0;
	int first = g ? -1 : gen_outcome(fd, 0, tmp, final);
	if (first == TAIL_ABANDONED || first == TAIL_FAILED) {
		res = first; /* nothing sent from a dead generator's file */
		goto done;
	}
	for (;;) {
		struct stat st;
		if (fstat(fd, &st)) {
			res = TAIL_FAILED;
			break;
		}
		if (client && st.st_size > off) {
			if (send_range(fd, &off, st.st_size))
				client = false;
			continue;
		}
		if (g && g->running) {
			int status;
			pid_t p = waitpid(g->pid, &status, client ? WNOHANG : 0);
			if (p == g->pid) {
				g->status = exit_code(status);
				gen_finish(g, fd);
				continue; /* send what was written last */
			}
			if (p < 0 && errno != EINTR) {
				g->status = 1;
				gen_finish(g, fd);
				continue;
			}
		} else if (g) {
			res = !client ? TAIL_GONE : g->status == 0 ? TAIL_DONE : TAIL_FAILED;
			break;
		} else if (!client) {
			res = TAIL_GONE;
			break;
		} else {
			int o = gen_outcome(fd, off, tmp, final);
			struct stat now;
			if (o == TAIL_DONE && fstat(fd, &now) == 0 && now.st_size > off)
				continue; /* written just before the generator let go */
			if (o >= 0) {
				res = o;
				break;
			}
		}
		if (g && !client)
			continue; /* waiting for git above, blocking */
		/* wait for progress: a write, the generator's close or rename,
		 * our pack-objects' exit, or our client going away (POLLERR on
		 * the pipe); a negative fd is ignored */
		struct pollfd pf[3] = { { .fd = ifd, .events = POLLIN },
					{ .fd = 1, .events = 0 },
					{ .fd = g && g->running ? pfd : -1, .events = POLLIN } };
		int pr = poll(pf, 3, WAIT_MS);
		if (pr > 0 && (pf[1].revents & (POLLERR | POLLHUP | POLLNVAL)))
			client = false;
		if (pr > 0 && (pf[0].revents & POLLIN)) {
			char evbuf[4096];
			while (read(ifd, evbuf, sizeof(evbuf)) > 0)
				;
		}
	}
done:
	if (ifd >= 0)
		close(ifd);
	if (pfd >= 0)
		close(pfd);
	*sent = off;
	return res;
}

/* We hold the lock on wfd, which is dir/KEY.tmp: run pack-objects into
 * it and stream it to our client meanwhile. */
static int generate(int wfd, const char *tmp, const char *final, const char *dir,
		    uint64_t max_bytes, char **git_argv, const struct buf *req)
{
	struct gen g = { .tmp = tmp, .final = final, .running = true };
	int in_fd;
	if (spawn_pack_objects(git_argv, wfd, &g.pid, &in_fd)) {
		fprintf(stderr, "fatal: cannot run git pack-objects: %s\n", strerror(errno));
		unlink(tmp); /* empty: tailers see a failure */
		close(wfd);
		return 1;
	}
	fd_write_all(in_fd, req->ptr, req->len); /* a failure shows in git's exit status */
	close(in_fd);
	off_t sent = 0;
	enum tail_end r = tail(wfd, tmp, final, &g, &sent);
	close(wfd); /* releases the lock: tailers see the outcome */
	if (g.status == 0)
		packcache_evict(dir, max_bytes);
	if (g.status)
		return g.status;
	return r == TAIL_DONE ? 0 : 1;
}

static int serve(const char *dir, const char *key, uint64_t max_bytes, char **git_argv,
		 const struct buf *req)
{
	char final[PATH_MAX], tmp[PATH_MAX], fresh[PATH_MAX];
	snprintf(final, sizeof(final), "%s/%s.pack", dir, key);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, key);
	snprintf(fresh, sizeof(fresh), "%s/%s.%d.new", dir, key, (int)getpid());
	for (int attempt = 0; attempt < 8; attempt++) {
		int fd = open(final, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			/* a hit: the entry is complete and immutable */
			const struct timespec ts[2] = { { .tv_nsec = UTIME_NOW },
							{ .tv_nsec = UTIME_OMIT } };
			futimens(fd, ts); /* least recently used goes first */
			struct stat st;
			off_t off = 0;
			int rc = fstat(fd, &st) || send_range(fd, &off, st.st_size) ? 1 : 0;
			close(fd);
			return rc;
		}
		/* become the generator: a locked file linked into place */
		int wfd = open(fresh, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (wfd < 0)
			break;
		flock(wfd, LOCK_EX);
		if (link(fresh, tmp) == 0) {
			unlink(fresh);
			return generate(wfd, tmp, final, dir, max_bytes, git_argv, req);
		}
		int e = errno;
		close(wfd);
		unlink(fresh);
		if (e != EEXIST)
			break;
		/* someone is generating it: tail their file */
		fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* completed or removed meanwhile: look again */
		off_t sent = 0;
		enum tail_end r = tail(fd, tmp, final, NULL, &sent);
		close(fd);
		if (r == TAIL_DONE)
			return 0;
		if (r == TAIL_ABANDONED && sent == 0)
			continue;
		if (r == TAIL_FAILED)
			fprintf(stderr, "fatal: git pack-objects failed\n");
		return 1;
	}
	return run_uncached(git_argv, req);
}

int packcache_hook_main(int argc, char **argv)
{
	/* "git [--shallow-file FILE] pack-objects ...": git's own options
	 * may come before the command */
	bool pack_objects = false;
	for (int i = 3; i < argc && !pack_objects; i++)
		pack_objects = !strcmp(argv[i], "pack-objects");
	if (argc < 4 || strcmp(argv[2], "git") || !pack_objects) {
		bool help = argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"));
		fprintf(help ? stdout : stderr,
			"usage: plue pack-objects-hook DIR MAX-BYTES git pack-objects [ARGS...]\n\n"
			"Run by git upload-pack as uploadpack.packObjectsHook (plue serve sets it):\n"
			"serves identical pack requests from the cache in DIR, at most MAX-BYTES\n"
			"on disk, and runs git pack-objects for the others.\n");
		return help ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a client gone is an EPIPE, not our end */
	const char *dir = argv[0];
	int64_t max_bytes = 0;
	char **git_argv = argv + 2;
	struct buf req = BUF_INIT;
	char chunk[65536];
	ssize_t n;
	bool whole = true;
	while ((n = read(0, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf_add(&req, chunk, (size_t)n);
		if (req.len > REQ_MAX) {
			whole = false;
			break;
		}
	}
	char key[65];
	int rc;
	if (!whole || parse_i64(argv[1], 0, INT64_MAX, &max_bytes) ||
	    (mkdir(dir, 0755) && errno != EEXIST) || cache_key(key, git_argv, &req))
		rc = run_uncached(git_argv, &req); /* no cache, but the fetch works */
	else
		rc = serve(dir, key, (uint64_t)max_bytes, git_argv, &req);
	buf_release(&req);
	return rc;
}

/* ---- eviction ---- */

struct entry {
	struct timespec atime;
	off_t size;
	char name[80];
};

static int cmp_atime(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->atime.tv_sec != b->atime.tv_sec)
		return a->atime.tv_sec < b->atime.tv_sec ? -1 : 1;
	if (a->atime.tv_nsec != b->atime.tv_nsec)
		return a->atime.tv_nsec < b->atime.tv_nsec ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* An old generation file nobody holds: its generator died. */
static void remove_abandoned(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st, cur;
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_mtime < time(NULL) - ABANDONED_AGE &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0 && fstatat(dfd, name, &cur, 0) == 0 &&
	    cur.st_ino == st.st_ino)
		unlinkat(dfd, name, 0);
	close(fd);
}

int64_t packcache_evict(const char *dir, uint64_t max_bytes)
{
	char lockpath[PATH_MAX];
	snprintf(lockpath, sizeof(lockpath), "%s/.evict", dir);
	int lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0)
		return -1;
	if (flock(lfd, LOCK_EX | LOCK_NB)) {
		close(lfd);
		return -1;
	}
	DIR *d = opendir(dir);
	if (!d) {
		close(lfd);
		return -1;
	}
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (str_has_suffix(name, ".tmp") || str_has_suffix(name, ".new")) {
			remove_abandoned(dirfd(d), name);
			continue;
		}
		struct stat st;
		if (!str_has_suffix(name, ".pack") || strlen(name) >= sizeof(v->name) ||
		    fstatat(dirfd(d), name, &st, 0))
			continue;
		if (n == cap)
			v = xrealloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
		v[n].atime = st.st_atim;
		v[n].size = st.st_size;
		snprintf(v[n].name, sizeof(v[n].name), "%s", name);
		total += (uint64_t)st.st_size;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_atime);
	for (size_t i = 0; i < n && total > max_bytes; i++)
		if (unlinkat(dirfd(d), v[i].name, 0) == 0)
			total -= (uint64_t)v[i].size;
	closedir(d);
	free(v);
	close(lfd);
	return (int64_t)total;
}
