/* sandbox.c — the sandbox API (sandbox.h): picking a kind, the life of a
 * sandbox (state directory, identity, workspace), and running one command
 * in it: spawning the kind's process, streaming its output as lines,
 * enforcing the wall time and output cap, and honouring cancel. Each kind
 * says through its struct sandbox_ops (the kinds table below) how a
 * command is started: bubblewrap (sandbox_bwrap.c) and none
 * (sandbox_none.c) by a process the runner spawns, whose pipes this file
 * reads (sandbox_spawn_run); gVisor (sandbox_gvisor.c) by execd inside the
 * sandbox, with the same line splitting and stop policy (struct
 * sandbox_run). The per-process limits are applied inside, by the helper
 * (sandbox_helper.c) or execd (sandbox_execd.c). */
#include "runner/sandbox_impl.h"

#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Sandbox uids are taken at random from this range so that two sandboxes
 * never share one: RLIMIT_NPROC counts per uid, and one sandbox's files are
 * then foreign to every other. */
#define SANDBOX_UID_BASE 200000
#define SANDBOX_UID_RANGE 60000

/* How long a management command (runsc run, delete, ...) may take. */
#define TOOL_TIMEOUT_MS 30000
/* How long a command may take to die after a polite kill before it is
 * killed hard. */
#define KILL_GRACE_MS 500
/* Cancel is polled at least this often. */
#define CANCEL_POLL_MS 50

/* The helper (sandbox_helper.c) is this very executable started under the
 * name SANDBOX_HELPER_PATH. The check lives here, in the object every user
 * of the API links, so every binary that can create sandboxes (plue, the
 * tests) also serves as their helper without wiring it into its main(), and
 * the helper is always the same build as the code that drives it. */
__attribute__((constructor)) static void sandbox_helper_hook(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc > 1 && argv && argv[0] && !strcmp(argv[0], SANDBOX_HELPER_PATH))
		_exit(sandbox_helper_main(argc, argv));
}

/* ---- small helpers ---- */

void sandbox_argv_add(struct sandbox_argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

void sandbox_argv_addf(struct sandbox_argv *a, const char *fmt, ...)
{
	va_list ap;
	struct buf b = BUF_INIT;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sandbox_argv_add(a, b.ptr);
	buf_release(&b);
}

char **sandbox_argv_detach(struct sandbox_argv *a)
{
	if (!a->v)
		a->v = xcalloc(1, sizeof(*a->v));
	char **v = a->v;
	a->v = NULL;
	a->n = a->cap = 0;
	return v;
}

void sandbox_argv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void sandbox_spawn_release(struct sandbox_spawn *sp)
{
	free(sp->path);
	sandbox_argv_free(sp->argv);
	sandbox_argv_free(sp->envp);
	free(sp->chdir);
	free(sp->cgroup_procs[0]);
	free(sp->cgroup_procs[1]);
	for (int i = 0; i < sp->nbinds; i++)
		free(sp->binds[i][0]), free(sp->binds[i][1]);
	memset(sp, 0, sizeof(*sp));
}

/* ---- the kinds ---- */

/* Every kind of sandbox, by enum sandbox_kind, in order of preference:
 * "auto" takes the first isolated kind that works here. A new kind is its
 * file (its struct sandbox_ops) and a line here. */
static const struct sandbox_ops *const kinds[] = {
	[SANDBOX_GVISOR] = &sandbox_gvisor_ops,
	[SANDBOX_BWRAP] = &sandbox_bwrap_ops,
	[SANDBOX_NONE] = &sandbox_none_ops,
	[SANDBOX_POD] = &sandbox_pod_ops,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The operations of kind, or NULL for a value that names none. */
static const struct sandbox_ops *kind_ops(enum sandbox_kind kind)
{
	return (size_t)kind < NKINDS ? kinds[kind] : NULL;
}

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	const struct sandbox_ops *ops = kind_ops(kind);
	return ops ? ops->name : "unknown";
}

static int rm_rf_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes a tree without following symbolic links. */
static void rm_rf(const char *path)
{
	nftw(path, rm_rf_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* ---- the state root and stale sandboxes ---- */

static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;
static char *root_path;
static bool reaped;

/* Removes sandboxes whose runner died (kill -9, crash): their gVisor
 * containers, uid claims and state. Runs once per process. */
static void reap_stale(const char *root)
{
	DIR *d = opendir(root);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "plue-", 5))
			continue;
		char *dir = xasprintf("%s/%s", root, de->d_name);
		char *owner = xasprintf("%s/owner", dir);
		pid_t pid = pid_file_read(owner);
		if (pid && pid != getpid() && !pid_alive(pid)) {
			log_warn("sandbox: removing '%s' left by runner %ld", de->d_name, (long)pid);
			for (size_t k = 0; k < NKINDS; k++)
				if (kinds[k]->reap)
					kinds[k]->reap(root, de->d_name);
			sandbox_cgroups_remove(de->d_name);
			/* its slirp4netns ended with the runner (its exit pipe
			 * closed); the uids it held are free again */
			const char *links[] = { "claim", "claim-net" };
			for (size_t i = 0; i < 2; i++) {
				char *claim = xasprintf("%s/%s", dir, links[i]);
				char uid_path[PATH_MAX] = "";
				ssize_t n = readlink(claim, uid_path, sizeof(uid_path) - 1);
				if (n > 0) {
					uid_path[n] = 0;
					unlink(uid_path);
				}
				free(claim);
			}
			rm_rf(dir);
		}
		free(owner);
		free(dir);
	}
	closedir(d);
}

int sandbox_state_root(const char **out, struct err *e)
{
	int rc = 0;
	pthread_mutex_lock(&root_lock);
	if (!root_path) {
		const char *env = getenv("PLUE_SANDBOX_DIR");
		char *p;
		if (env && *env)
			p = xstrdup(env);
		else if (geteuid() == 0)
			p = xstrdup("/run/plue-sandbox");
		else
			p = xasprintf("%s/plue-sandbox-%u",
				      getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR")
									    : "/tmp",
				      (unsigned)geteuid());
		struct stat st;
		/* 0711 for bubblewrap: see sandbox_create */
		if (mkdir(p, 0711) && errno != EEXIST) {
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
				     "cannot create sandbox directory '%.200s': %s", p,
				     strerror(errno));
			free(p);
			goto done;
		}
		/* it holds bundles and uid claims: it must be ours alone */
		if (lstat(p, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    (st.st_mode & 022)) {
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
				     "sandbox directory '%.200s' is not a private directory", p);
			free(p);
			goto done;
		}
		chmod(p, 0711);
		char *uids = xasprintf("%s/uids", p);
		mkdir(uids, 0700);
		free(uids);
		root_path = p;
	}
	if (!reaped) {
		reaped = true;
		reap_stale(root_path);
	}
	*out = root_path;
done:
	pthread_mutex_unlock(&root_lock);
	return rc;
}

int sandbox_uid_claim(const char *root, const char *dir, const char *link, uid_t *uid, char **claim,
		      struct err *e)
{
	for (int attempt = 0; attempt < 64; attempt++) {
		unsigned r;
		random_bytes((unsigned char *)&r, sizeof(r));
		uid_t u = SANDBOX_UID_BASE + r % SANDBOX_UID_RANGE;
		char *path = xasprintf("%s/uids/%u", root, (unsigned)u);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			free(path);
			continue;
		}
		close(fd);
		*uid = u;
		*claim = path;
		/* lets reap_stale release the claim of a dead runner */
		char *l = xasprintf("%s/%s", dir, link);
		if (symlink(path, l))
			log_warn("sandbox: cannot record uid claim: %s", strerror(errno));
		free(l);
		return 0;
	}
	return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot find a free sandbox uid");
}

/* ---- management commands ---- */

void sandbox_log_tail(const char *log_path, char *out, size_t size)
{
	char tail[512] = "";
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		off_t from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0;
		ssize_t n = pread(fd, tail, sizeof(tail) - 1, from);
		tail[n > 0 ? n : 0] = 0;
		close(fd);
	}
	size_t len = strlen(tail);
	while (len && (tail[len - 1] == '\n' || tail[len - 1] == ' '))
		tail[--len] = 0;
	const char *last = strrchr(tail, '\n');
	snprintf(out, size, "%s", last ? last + 1 : tail);
}

int sandbox_run_tool(char *const argv[], const char *log_path, struct err *e)
{
	return sandbox_run_tool_io(argv, log_path, -1, -1, e);
}

int sandbox_run_tool_io(char *const argv[], const char *log_path, int in_fd, int out_fd,
			struct err *e)
{
	int rc = 0;
	int status = 0;
	/* output goes to a file, not a pipe: a daemon the tool leaves behind
	 * (runsc run --detach) would hold a pipe open for good */
	int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log < 0)
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			       "cannot create '%.200s': %s", log_path, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(log);
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "fork: %s",
			       strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(in_fd >= 0 ? in_fd : null, 0);
		dup2(out_fd >= 0 ? out_fd : log, 1);
		dup2(log, 2);
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(log);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int64_t deadline = now_ms() + TOOL_TIMEOUT_MS;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
				     "'%s %s' did not finish in time", argv[0],
				     argv[1] ? argv[1] : "");
			goto done;
		}
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, (int)left);
		} else {
			usleep(2000);
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the last line of the tool's output says what went wrong */
		char last[512];
		sandbox_log_tail(log_path, last, sizeof(last));
		if (!*last && WIFEXITED(status) && WEXITSTATUS(status) == 127)
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
				     "'%s' is not installed", argv[0]);
		else
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
				     "'%s %s' failed: %.160s", argv[0], argv[1] ? argv[1] : "",
				     *last ? last : "no message");
	}
done:
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* ---- detection ---- */

static int probe(enum sandbox_kind kind, struct err *e)
{
	int rc;
	const char *root;
	if ((rc = sandbox_state_root(&root, e)))
		return rc;
	char *tok = random_token("probe-", 6);
	char *ws = xasprintf("%s/%s", root, tok);
	struct sandbox *sb = NULL;
	struct sandbox_result res;
	const char *argv[] = { "true", NULL };
	struct sandbox_cmd cmd = { .argv = argv };
	struct sandbox_limits lim = { .timeout_ms = 20000 };
	if ((rc = sandbox_create(&sb, kind, ws, &lim, e)))
		goto done;
	if ((rc = sandbox_exec(sb, &cmd, &res, e)))
		goto done;
	if (res.exit_code != 0)
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "a test command in %s exited with status %d", sandbox_kind_name(kind),
			     res.exit_code);
done:
	sandbox_destroy(sb);
	rm_rf(ws);
	free(ws);
	free(tok);
	return rc;
}

/* The kind a setting names ("gvisor", "bwrap", "none"), or -1. */
static int kind_by_name(const char *setting)
{
	for (size_t k = 0; k < NKINDS; k++)
		if (!strcmp(setting, kinds[k]->name))
			return (int)k;
	return -1;
}

/* "auto" tries the isolated kinds in the table's order. */
static int detect_auto(enum sandbox_kind *out, struct err *e)
{
	struct buf why = BUF_INIT; /* each kind's reason, for the message */
	struct err last = { 0 };   /* the reason of the kind tried last */
	const char *tried = NULL;  /* its name */
	int rc = 0;
	for (size_t k = 0; k < NKINDS; k++) {
		if (!kinds[k]->isolated)
			continue;
		if (tried)
			log_info("sandbox: %s is not usable (%s); trying %s", tried, last.msg,
				 kinds[k]->name);
		last = (struct err){ 0 };
		if (!probe((enum sandbox_kind)k, &last)) {
			*out = (enum sandbox_kind)k;
			goto done;
		}
		buf_addf(&why, "%s%s: %.100s", tried ? "; " : "", kinds[k]->name, last.msg);
		tried = kinds[k]->name;
	}
	rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "no sandbox works here (%s)",
		     why.ptr);
done:
	buf_release(&why);
	return rc;
}

int sandbox_detect(enum sandbox_kind *out, const char *setting, struct err *e)
{
	if (!setting || !*setting)
		setting = "auto";
	int k = kind_by_name(setting);
	if (k >= 0 && kinds[k]->external) {
		log_info("sandbox: %s: commands run in the runner pod's exec container",
			 kinds[k]->name);
		*out = (enum sandbox_kind)k;
		return 0;
	}
	if (k >= 0 && !kinds[k]->isolated) {
		log_warn("*** PLUE_SANDBOX=%s: steps run UNSANDBOXED on this machine, as the "
			 "runner's user, with its files and network. Development only. ***",
			 kinds[k]->name);
		*out = (enum sandbox_kind)k;
		return 0;
	}
	/* a runner with a bad allow list does not start */
	int rc = sandbox_net_allow_parse(getenv("PLUE_SANDBOX_ALLOW_NETS"), NULL, e);
	if (rc)
		return rc;
	if (k >= 0) {
		struct err pe = { 0 };
		if (probe((enum sandbox_kind)k, &pe))
			return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
				       "sandbox '%s' does not work here: %s", setting, pe.msg);
		*out = (enum sandbox_kind)k;
		return 0;
	}
	if (strcmp(setting, "auto")) {
		/* "auto, gvisor, bwrap, none or pod" */
		struct buf names = BUF_INIT;
		buf_adds(&names, "auto");
		for (size_t i = 0; i < NKINDS; i++)
			buf_addf(&names, "%s%s", i + 1 < NKINDS ? ", " : " or ", kinds[i]->name);
		rc = err_set(e, ERR_INVALID, "invalid_sandbox", "unknown sandbox '%.40s' (%s)",
			     setting, names.ptr);
		buf_release(&names);
		return rc;
	}
	return detect_auto(out, e);
}

/* ---- life of a sandbox ---- */

static void limits_fill(struct sandbox_limits *l, const struct sandbox_limits *over)
{
	if (over) {
		if (over->memory_bytes > 0)
			l->memory_bytes = over->memory_bytes;
		if (over->max_procs > 0)
			l->max_procs = over->max_procs;
		if (over->output_bytes > 0)
			l->output_bytes = over->output_bytes;
		if (over->timeout_ms > 0)
			l->timeout_ms = over->timeout_ms;
	}
}

static int workspace_init(struct sandbox *sb, const char *dir, struct err *e)
{
	struct stat st;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return err_set(e, ERR_INVALID, "invalid_workspace",
			       "cannot create workspace '%.200s': %s", dir, strerror(errno));
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode))
		return err_set(e, ERR_INVALID, "invalid_workspace",
			       "workspace '%.200s' is not a directory", dir);
	char *real = realpath(dir, NULL);
	if (!real)
		return err_set(e, ERR_INVALID, "invalid_workspace",
			       "cannot resolve workspace '%.200s': %s", dir, strerror(errno));
	sb->workspace = real;
	if ((st.st_uid != sb->uid || st.st_gid != sb->gid) && chown(real, sb->uid, sb->gid))
		return err_set(e, ERR_INVALID, "invalid_workspace",
			       "cannot hand workspace '%.200s' to the sandbox: %s", dir,
			       strerror(errno));
	if (chmod(real, 0700))
		return err_set(e, ERR_INVALID, "invalid_workspace",
			       "cannot chmod workspace '%.200s': %s", dir, strerror(errno));
	return 0;
}

/* ---- the sandbox's /etc ---- */

/* What of the host's /etc a sandbox sees, each where the host has it: a
 * symbolic link is copied, a file or directory is bound read-only. The
 * rest of the sandbox's /etc is its own (sandbox_etc_build); see
 * sandbox.h for why these. */
static const char *const etc_from_host[] = {
	"alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",    "localtime", "os-release",
	"protocols",    "services",    "ssl/certs",  "ssl/openssl.cnf", "timezone",
};

int sandbox_etc_build(struct sandbox *sb, struct err *e)
{
	int rc = 0;
	struct sandbox_argv binds = { 0 };
	char *etc = xasprintf("%s/etc", sb->dir);
	char path[PATH_MAX], target[PATH_MAX];
	/* the sandbox's own accounts: its uid has a name (whoami, id -un, and
	 * programs that look themselves up — bash does at every start — find
	 * it in /etc/passwd instead of loading the systemd NSS module), and the
	 * host's accounts are not listed */
	char passwd[256], group[128];
	snprintf(passwd, sizeof(passwd),
		 "root:x:0:0:root:/root:/bin/bash\n"
		 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
		 "runner:x:%u:%u:Plue step:/tmp:/bin/bash\n",
		 (unsigned)sb->uid, (unsigned)sb->gid);
	snprintf(group, sizeof(group), "root:x:0:\nnogroup:x:65534:\nrunner:x:%u:\n",
		 (unsigned)sb->gid);
	const struct {
		const char *name, *text;
		bool want;
	} own[] = {
		{ "passwd", passwd, true },
		{ "group", group, true },
		{ "nsswitch.conf",
		  "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
		  "networks: files\nprotocols: files\nservices: files\n",
		  true },
		{ "hosts",
		  "127.0.0.1\tlocalhost\n127.0.1.1\tplue\n::1\tlocalhost ip6-localhost "
		  "ip6-loopback\n",
		  true },
		/* slirp4netns answers DNS there (sandbox_net.c) */
		{ "resolv.conf", "nameserver 10.0.2.3\n", sb->limits.network },
		/* every program loads the statx shim (sandbox_gvisor.c) */
		{ "ld.so.preload", SANDBOX_STATX_SHIM "\n", sb->ops->statx_shim },
	};
	/* 0755: bubblewrap runs as the sandbox's uid */
	if (mkdir(etc, 0755) || chmod(etc, 0755))
		goto fail;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		if (!own[i].want)
			continue;
		snprintf(path, sizeof(path), "%s/%s", etc, own[i].name);
		if (file_create(path, own[i].text, strlen(own[i].text), 0444))
			goto fail;
	}
	for (size_t i = 0; i < sizeof(etc_from_host) / sizeof(etc_from_host[0]); i++) {
		const char *name = etc_from_host[i];
		char host[PATH_MAX];
		struct stat st;
		snprintf(host, sizeof(host), "/etc/%s", name);
		if (lstat(host, &st))
			continue;
		const char *slash = strchr(name, '/');
		if (slash) {
			/* the parent (ssl) is the sandbox's own directory */
			snprintf(path, sizeof(path), "%s/%.*s", etc, (int)(slash - name), name);
			if (mkdir(path, 0755) && errno != EEXIST)
				goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", etc, name);
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(host, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (symlink(target, path))
				goto fail;
		} else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
			/* the mount point */
			if (S_ISDIR(st.st_mode) ? mkdir(path, 0755) : file_create(path, "", 0, 0444))
				goto fail;
			sandbox_argv_add(&binds, host);
		}
	}
	sb->etc_binds = sandbox_argv_detach(&binds);
	goto done;
fail:
	rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot build /etc of '%s': %s",
		     sb->id, strerror(errno));
done:
	sandbox_argv_free(binds.v);
	free(etc);
	return rc;
}

int sandbox_create(struct sandbox **out, enum sandbox_kind kind, const char *workspace_dir,
		   const struct sandbox_limits *defaults, struct err *e)
{
	return sandbox_create_prepared(out, kind, workspace_dir, defaults, NULL, e);
}

int sandbox_create_prepared(struct sandbox **out, enum sandbox_kind kind, const char *workspace_dir,
			    const struct sandbox_limits *defaults,
			    const struct sandbox_workspace_prep *prep, struct err *e)
{
	int rc;
	const char *root;
	struct sandbox *sb = xcalloc(1, sizeof(*sb));
	*out = NULL;
	sb->kind = kind;
	sb->ops = kind_ops(kind);
	sb->execd_in = sb->execd_out = -1;
	sb->net_fd = sb->net_exit = sb->net_userns_fd = -1;
	sb->limits = (struct sandbox_limits){
		.memory_bytes = SANDBOX_DEFAULT_MEMORY,
		.max_procs = SANDBOX_DEFAULT_PROCS,
		.output_bytes = SANDBOX_DEFAULT_OUTPUT,
		.timeout_ms = SANDBOX_DEFAULT_TIMEOUT,
		.network = defaults && defaults->network,
	};
	limits_fill(&sb->limits, defaults);
	if (!workspace_dir || !*workspace_dir) {
		rc = err_set(e, ERR_INVALID, "invalid_workspace", "no workspace directory given");
		goto done;
	}
	if (!sb->ops) {
		rc = err_set(e, ERR_INVALID, "invalid_sandbox", "unknown sandbox kind %d", (int)kind);
		goto done;
	}
	if ((rc = sandbox_state_root(&root, e)))
		goto done;
	sb->state_root = root;
	sb->id = random_token("plue-", 8);
	sb->dir = xasprintf("%s/%s", root, sb->id);
	/* 0711: bubblewrap, running as the sandbox's uid, must pass through to
	 * the sandbox's /tmp and bind points; the names are random and what is
	 * inside is private */
	if (mkdir(sb->dir, 0711) || chmod(sb->dir, 0711)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "cannot create sandbox state '%.200s': %s", sb->dir, strerror(errno));
		goto done;
	}
	char *owner = xasprintf("%s/owner", sb->dir);
	FILE *f = fopen(owner, "w");
	if (f) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	free(owner);
	if (sb->ops->isolated && geteuid() == 0) {
		if ((rc = sandbox_uid_claim(root, sb->dir, "claim", &sb->uid, &sb->uid_claim, e)))
			goto done;
		sb->gid = (gid_t)sb->uid;
	} else {
		sb->uid = geteuid();
		sb->gid = getegid();
	}
	if (prep && prep->prepare &&
	    (rc = prep->prepare(prep->cls, workspace_dir, sb->uid, sb->gid, e)))
		goto done;
	if ((rc = workspace_init(sb, workspace_dir, e)))
		goto done;
	/* the sandbox's /tmp for bubblewrap, HOME for none; gVisor keeps a
	 * tmpfs in the sandbox instead */
	char *tmp = xasprintf("%s/tmp", sb->dir);
	if (mkdir(tmp, 0700) || chown(tmp, sb->uid, sb->gid)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "cannot create '%.200s': %s", tmp, strerror(errno));
		free(tmp);
		goto done;
	}
	free(tmp);
	sb->helper = realpath("/proc/self/exe", NULL);
	if (!sb->helper) {
		/* replaced on disk since it started (an upgrade): the running
		 * image stays reachable through /proc */
		sb->helper = xasprintf("/proc/%ld/exe", (long)getpid());
	}
	/* a network of the sandbox's own, and its own /etc; under none the
	 * command has the host's (development only) */
	if (sb->ops->isolated && sb->limits.network && (rc = sandbox_net_start(sb, e)))
		goto done;
	if (sb->ops->isolated && (rc = sandbox_etc_build(sb, e)))
		goto done;
	rc = sb->ops->start(sb, e);
done:
	if (rc) {
		sandbox_destroy(sb);
		return rc;
	}
	log_debug("sandbox %s: %s, uid %u, workspace '%s'", sb->id, sandbox_kind_name(kind),
		  (unsigned)sb->uid, sb->workspace);
	*out = sb;
	return 0;
}

void sandbox_destroy(struct sandbox *sb)
{
	if (!sb)
		return;
	if (sb->ops && sb->id && sb->dir)
		sb->ops->destroy(sb);
	sandbox_net_stop(sb);
	if (sb->dir)
		rm_rf(sb->dir);
	if (sb->uid_claim)
		unlink(sb->uid_claim);
	if (sb->net_uid_claim)
		unlink(sb->net_uid_claim);
	free(sb->uid_claim);
	free(sb->net_uid_claim);
	sandbox_argv_free(sb->etc_binds);
	free(sb->cg_memory);
	free(sb->cg_pids);
	free(sb->bind_ws);
	free(sb->bind_helper);
	free(sb->pgids);
	if (sb->execd_rbuf)
		buf_release(sb->execd_rbuf);
	free(sb->execd_rbuf);
	free(sb->helper);
	free(sb->workspace);
	free(sb->dir);
	free(sb->id);
	free(sb);
}

const char *sandbox_workspace(const struct sandbox *sb)
{
	return sb->workspace;
}

const char *sandbox_workspace_inside(const struct sandbox *sb)
{
	return sb->ops->isolated ? SANDBOX_WORKSPACE : sb->workspace;
}

const char *sandbox_id(const struct sandbox *sb)
{
	return sb->id;
}

enum sandbox_kind sandbox_kind_of(const struct sandbox *sb)
{
	return sb->kind;
}

uid_t sandbox_uid(const struct sandbox *sb)
{
	return sb->uid;
}

gid_t sandbox_gid(const struct sandbox *sb)
{
	return sb->gid;
}

static uid_t sync_uid;
static gid_t sync_gid;
static int sync_failed;

static int sync_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if ((st->st_uid != sync_uid || st->st_gid != sync_gid) &&
	    lchown(path, sync_uid, sync_gid) && !sync_failed)
		sync_failed = errno;
	return 0;
}

int sandbox_workspace_sync(struct sandbox *sb, struct err *e)
{
	if (sb->uid == geteuid() && sb->gid == getegid())
		return 0;
	/* nftw's callback has no closure; one sync at a time */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	sync_uid = sb->uid;
	sync_gid = sb->gid;
	sync_failed = 0;
	int r = nftw(sb->workspace, sync_entry, 32, FTW_PHYS | FTW_MOUNT);
	int failed = r ? errno : sync_failed;
	pthread_mutex_unlock(&lock);
	if (failed)
		return err_set(e, ERR_INTERNAL, "sandbox_workspace",
			       "cannot hand workspace files to the sandbox: %s", strerror(failed));
	return 0;
}

/* ---- the command ---- */

char **sandbox_env_build(const struct sandbox_cmd *cmd, const char *home)
{
	struct sandbox_argv a = { 0 };
	bool path = false, homeset = false;
	for (const char *const *p = cmd->env; p && *p; p++) {
		if (!strchr(*p, '='))
			continue;
		path |= !strncmp(*p, "PATH=", 5);
		homeset |= !strncmp(*p, "HOME=", 5);
		sandbox_argv_add(&a, *p);
	}
	if (!path)
		sandbox_argv_add(&a, "PATH=" SANDBOX_PATH);
	if (!homeset)
		sandbox_argv_addf(&a, "HOME=%s", home);
	return sandbox_argv_detach(&a);
}

void sandbox_helper_args(struct sandbox_argv *a, const struct sandbox_cmd *cmd,
			 const struct sandbox_limits *lim, unsigned flags)
{
	sandbox_argv_add(a, SANDBOX_HELPER_PATH);
	sandbox_argv_add(a, "exec");
	if (flags & SANDBOX_HELPER_NO_SETSID)
		sandbox_argv_add(a, "--no-setsid");
	if (cmd->cwd && *cmd->cwd) {
		sandbox_argv_add(a, "--cwd");
		sandbox_argv_add(a, cmd->cwd);
	}
	sandbox_argv_addf(a, "--as=%lld", (long long)lim->memory_bytes);
	if (lim->max_procs > 0)
		sandbox_argv_addf(a, "--nproc=%d", lim->max_procs);
	sandbox_argv_add(a, "--");
	for (const char *const *p = cmd->argv; *p; p++)
		sandbox_argv_add(a, *p);
}

bool sandbox_cwd_is_root(const char *cwd)
{
	/* every component is "" or "." */
	for (const char *p = cwd; p && *p;) {
		size_t n = strcspn(p, "/");
		if (n > 1 || (n == 1 && *p != '.'))
			return false;
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

/* A relative path that stays inside the workspace: no leading '/', no ".."
 * component. */
static int cwd_check(const char *cwd, struct err *e)
{
	if (!cwd || !*cwd)
		return 0;
	if (cwd[0] == '/')
		return err_set(e, ERR_INVALID, "invalid_cwd",
			       "working directory '%.100s' must be relative to the workspace", cwd);
	if (strlen(cwd) > 1024)
		return err_set(e, ERR_INVALID, "invalid_cwd", "working directory is too long");
	for (const char *p = cwd; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return err_set(e, ERR_INVALID, "invalid_cwd",
				       "working directory '%.100s' leaves the workspace", cwd);
		p += n;
		while (*p == '/')
			p++;
	}
	for (const char *p = cwd; *p; p++)
		if ((unsigned char)*p < 0x20)
			return err_set(e, ERR_INVALID, "invalid_cwd",
				       "working directory contains a control character");
	return 0;
}

ssize_t sandbox_write_nosigpipe(int fd, const void *p, size_t n)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE);
	ssize_t w = write(fd, p, n);
	int err = errno;
	if (w < 0 && err == EPIPE && !was_pending) {
		const struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return w;
}

/* ---- one command's output and stop policy ---- */

struct stream {
	int id; /* SANDBOX_STDOUT or SANDBOX_STDERR */
	char line[SANDBOX_LINE_MAX];
	size_t len;
	bool split; /* the last piece was cut at SANDBOX_LINE_MAX */
};

struct sandbox_run {
	const struct sandbox_cmd *cmd;
	const struct sandbox_limits *lim;
	struct sandbox_result *res;
	bool over; /* output cap reached */
	struct stream out, err;
	int64_t t0, deadline;
	int64_t next_cancel;
	int64_t stopped_at; /* when the stop was decided */
};

struct sandbox_run *sandbox_run_begin(const struct sandbox_cmd *cmd,
				      const struct sandbox_limits *lim, struct sandbox_result *res)
{
	struct sandbox_run *r = xcalloc(1, sizeof(*r));
	r->cmd = cmd;
	r->lim = lim;
	r->res = res;
	r->out.id = SANDBOX_STDOUT;
	r->err.id = SANDBOX_STDERR;
	r->t0 = now_ms();
	r->deadline = r->t0 + lim->timeout_ms;
	return r;
}

static void stream_emit(struct sandbox_run *r, struct stream *s)
{
	if (r->cmd->on_output)
		r->cmd->on_output(r->cmd->cls, s->id, s->line, s->len);
	s->len = 0;
}

/* Feeds raw output; delivers whole lines and SANDBOX_LINE_MAX pieces. Stops
 * at the output cap. */
void sandbox_run_output(struct sandbox_run *r, int stream, const char *p, size_t n)
{
	struct stream *s = stream == SANDBOX_STDERR ? &r->err : &r->out;
	if (r->over)
		return;
	int64_t room = r->lim->output_bytes - r->res->output_bytes;
	if ((int64_t)n > room) {
		n = room > 0 ? (size_t)room : 0;
		r->over = true;
		r->res->output_truncated = true;
	}
	r->res->output_bytes += (int64_t)n;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		while (take > 0) {
			size_t c = SANDBOX_LINE_MAX - s->len;
			if (c > take)
				c = take;
			memcpy(s->line + s->len, p, c);
			s->len += c, p += c, n -= c, take -= c;
			s->split = false;
			if (s->len == SANDBOX_LINE_MAX) {
				stream_emit(r, s);
				s->split = true;
			}
		}
		if (nl) {
			/* a line that filled its last piece exactly was delivered */
			if (!s->split)
				stream_emit(r, s);
			s->split = false;
			p++, n--;
		}
	}
}

bool sandbox_run_must_stop(struct sandbox_run *r, int64_t now)
{
	if (r->stopped_at)
		return false;
	bool stop = false;
	if (r->over)
		stop = true;
	else if (now >= r->deadline)
		r->res->timed_out = stop = true;
	else if (r->cmd->cancelled && now >= r->next_cancel) {
		r->next_cancel = now + CANCEL_POLL_MS;
		if (r->cmd->cancelled(r->cmd->cls))
			r->res->cancelled = stop = true;
	}
	if (stop)
		r->stopped_at = now;
	return stop;
}

int64_t sandbox_run_stopped_at(const struct sandbox_run *r)
{
	return r->stopped_at;
}

int sandbox_run_poll_ms(const struct sandbox_run *r, int64_t now)
{
	int64_t wait = CANCEL_POLL_MS;
	if (!r->stopped_at && r->deadline - now < wait)
		wait = r->deadline - now;
	return wait < 0 ? 0 : (int)wait;
}

void sandbox_run_status(struct sandbox_run *r, int status)
{
	struct sandbox_result *res = r->res;
	if (WIFEXITED(status)) {
		res->exit_code = WEXITSTATUS(status);
		/* the helpers and bubblewrap report a command killed by signal N
		 * as 128+N, like a shell */
		if (res->exit_code > 128 && res->exit_code < 128 + 65)
			res->signal = res->exit_code - 128;
	} else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
		res->exit_code = 128 + res->signal;
	}
}

void sandbox_run_end(struct sandbox_run *r)
{
	if (r->out.len > 0)
		stream_emit(r, &r->out);
	if (r->err.len > 0)
		stream_emit(r, &r->err);
	r->res->duration_ms = now_ms() - r->t0;
	free(r);
}

/* Reads what is available from fd into stream; returns false at end of
 * file. */
static bool pipe_read(struct sandbox_run *r, int fd, int stream)
{
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n > 0) {
			sandbox_run_output(r, stream, tmp, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
}

/* The child side of a spawn: only async-signal-safe calls from here on. */
static void __attribute__((noreturn)) child_exec(const struct sandbox_spawn *sp, int in_fd,
						 int out_fd, int err_fd)
{
	static const char msg[] = "sandbox: cannot start the command\n";
	/* the identity is the runner's own after joining a user namespace of
	 * its uid (where it is root) */
	bool switch_id = sp->uid != geteuid() || sp->gid != getegid();
	/* before anything else: the namespaces are among the inherited
	 * descriptors that go below */
	if (sp->userns_fd >= 0 && setns(sp->userns_fd, CLONE_NEWUSER))
		goto fail;
	if (sp->netns_fd >= 0 && setns(sp->netns_fd, CLONE_NEWNET))
		goto fail;
	dup2(in_fd, 0);
	dup2(out_fd, 1);
	dup2(err_fd, 2);
	syscall(SYS_close_range, 3, ~0U, 0);
	for (int i = 0; i < 2; i++) {
		if (!sp->cgroup_procs[i])
			continue;
		/* "0" is the writing process itself */
		int fd = open(sp->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			goto fail;
		close(fd);
	}
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	if (sp->nbinds > 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			goto fail;
		for (int i = 0; i < sp->nbinds; i++)
			if (mount(sp->binds[i][0], sp->binds[i][1], NULL, MS_BIND | MS_REC, NULL))
				goto fail;
	}
	if (sp->chdir && chdir(sp->chdir))
		goto fail;
	if (switch_id) {
		if (setgroups(0, NULL) || setgid(sp->gid) || setuid(sp->uid))
			goto fail;
	}
	if (sp->path)
		execve(sp->path, sp->argv, sp->envp);
	else
		execvpe(sp->argv[0], sp->argv, sp->envp);
fail:
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to report with */
	}
	_exit(127);
}

static void kill_spawned(const struct sandbox_spawn *sp, pid_t pid, int sig)
{
	if (sp->kill_group)
		kill(-pid, sig);
	kill(pid, sig);
}

int sandbox_spawn_run(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_spawn *sp,
		      const struct sandbox_cmd *cmd, const struct sandbox_limits *lim, struct err *e)
{
	int rc = 0;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	int pidfd = -1;
	struct sandbox_run *r = sandbox_run_begin(cmd, lim, out);
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(inp, O_CLOEXEC)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "pipe: %s", strerror(errno));
		goto done;
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0)
		child_exec(sp, inp[0], outp[1], errp[1]);
	close(outp[1]), close(errp[1]), close(inp[0]);
	outp[1] = errp[1] = inp[0] = -1;
	if (sp->track) {
		sb->pgids = xrealloc(sb->pgids, (sb->npgids + 1) * sizeof(*sb->pgids));
		sb->pgids[sb->npgids++] = pid;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	fcntl(inp[1], F_SETFL, O_NONBLOCK);
	size_t in_off = 0;
	if (!cmd->input || cmd->input_len == 0) {
		close(inp[1]);
		inp[1] = -1;
	}
	bool hard = false, exited = false;
	int status = 0;
	bool out_open = true, err_open = true;
	while (!exited) {
		int64_t now = now_ms();
		/* SIGKILL is final: the helper's session (none) or bwrap's pid
		 * namespace goes with it */
		if (sandbox_run_must_stop(r, now))
			kill_spawned(sp, pid, SIGKILL);
		int64_t stopped = sandbox_run_stopped_at(r);
		if (stopped && !hard && now - stopped >= KILL_GRACE_MS) {
			hard = true;
			kill_spawned(sp, pid, SIGKILL);
		}
		struct pollfd p[4];
		int np = 0, io = -1, ie = -1, ii = -1, ip = -1;
		if (out_open)
			io = np, p[np++] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
		if (err_open)
			ie = np, p[np++] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
		if (inp[1] >= 0)
			ii = np, p[np++] = (struct pollfd){ .fd = inp[1], .events = POLLOUT };
		if (pidfd >= 0)
			ip = np, p[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		int wait = sandbox_run_poll_ms(r, now);
		if (pidfd < 0 && wait > 10)
			wait = 10;
		int n = poll(p, (nfds_t)np, wait);
		if (n < 0 && errno != EINTR) {
			rc = err_set(e, ERR_INTERNAL, "sandbox_poll", "poll: %s", strerror(errno));
			kill_spawned(sp, pid, SIGKILL);
			waitpid(pid, &status, 0);
			goto done;
		}
		if (io >= 0 && p[io].revents)
			out_open = pipe_read(r, outp[0], SANDBOX_STDOUT);
		if (ie >= 0 && p[ie].revents)
			err_open = pipe_read(r, errp[0], SANDBOX_STDERR);
		if (ii >= 0 && p[ii].revents) {
			ssize_t w = sandbox_write_nosigpipe(inp[1], cmd->input + in_off,
							    cmd->input_len - in_off);
			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off == cmd->input_len) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (pidfd < 0 || (ip >= 0 && p[ip].revents)) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				exited = true;
		}
	}
	/* what the command wrote before it ended is in the pipes now; processes
	 * it left in the background may hold them open, so read what is there
	 * and stop (bubblewrap's pipes reach end of file as the sandbox goes) */
	if (out_open)
		pipe_read(r, outp[0], SANDBOX_STDOUT);
	if (err_open)
		pipe_read(r, errp[0], SANDBOX_STDERR);
	sandbox_run_status(r, status);
done:
	sandbox_run_end(r);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (inp[i] >= 0)
			close(inp[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

int sandbox_exec(struct sandbox *sb, const struct sandbox_cmd *cmd, struct sandbox_result *res,
		 struct err *e)
{
	int rc;
	struct sandbox_limits lim = sb->limits;
	memset(res, 0, sizeof(*res));
	if (!cmd->argv || !cmd->argv[0] || !*cmd->argv[0])
		return err_set(e, ERR_INVALID, "invalid_command", "no command to run");
	if ((rc = cwd_check(cmd->cwd, e)))
		return rc;
	if (cmd->limits && cmd->limits->network && !sb->limits.network)
		return err_set(e, ERR_PERM, "no_network",
			       "sandbox '%s' was started without network", sb->id);
	limits_fill(&lim, cmd->limits);
	return sb->ops->exec(res, sb, cmd, &lim, e);
}
