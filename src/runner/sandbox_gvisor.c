/* sandbox_gvisor.c — the gVisor backend: an OCI bundle per sandbox, `runsc
 * run --detach` of execd (sandbox_execd.c) as the sandbox's init
 * when the sandbox is created, and every command started by execd,
 * over a pair of pipes that runsc hands to it as its stdin and stdout (see
 * docs/sandbox.md). A command costs a fork and exec inside the sandbox, not
 * a `runsc exec`.
 *
 * The root filesystem is a skeleton directory of mount points: the host's
 * /usr bound read-only, the merged-/usr links (/bin -> usr/bin, ...) copied
 * as links, the sandbox's own /etc (sandbox_etc_build) with the few host
 * entries it lists bound read-only over it, the runner's executable
 * read-only at SANDBOX_HELPER_PATH (execd), the workspace bound
 * read-write at /workspace, a tmpfs at /tmp, an empty read-only /sys.
 * Nothing else of the host is visible. With network the sandbox uses the
 * host kernel's network stack (runsc --network=host) inside the network
 * namespace sandbox_net.c made for it. The whole sandbox sits in cgroups
 * named after it, nested in the runner's own, with a memory and pids
 * ceiling as a backstop for the per-process limits execd sets. */
#include "runner/sandbox_impl.h"

#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Memory the sandbox's own machinery (Sentry, gofer, page cache of the
 * mounts) needs on top of what the commands use. */
#define GVISOR_OVERHEAD (512LL << 20)
/* How long execd may take to start (loading the runner's executable
 * under gVisor takes a tenth of a second on an idle machine). */
#define EXECD_START_MS 30000

/* Top-level directories that a merged-/usr system makes links into /usr and
 * an older one has as directories. */
static const char *const usr_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

/* The runsc state directory under the common state root. */
static char *gvisor_root(const char *state_root)
{
	return xasprintf("%s/runsc", state_root);
}

/* runsc's global flags: state directory and network. */
static void runsc_args(struct sandbox_argv *a, const char *state_root, bool network)
{
	char *root = gvisor_root(state_root);
	sandbox_argv_add(a, "runsc");
	sandbox_argv_addf(a, "--root=%s", root);
	/* "host" hands the sandbox the host kernel's network stack through
	 * gVisor's syscall layer, in the network namespace of the OCI spec
	 * (the sandbox's own, see gvisor_start); "none" leaves a
	 * loopback of gVisor's own. gVisor's own stack ("sandbox") would take
	 * over the namespace's interface, but this runsc refuses to start it
	 * on kernels that show /proc/sys/net/core/rmem_default in every
	 * namespace (it takes any namespace for the host's) */
	sandbox_argv_addf(a, "--network=%s", network ? "host" : "none");
	free(root);
}

static json_t *bind_mount(const char *dst, const char *src, bool rw)
{
	return json_pack("{s:s, s:s, s:s, s:[s,s,s,s]}", "destination", dst, "type", "bind",
			 "source", src, "options", "rbind", rw ? "rw" : "ro", "nosuid", "nodev");
}

/* The statx shim (src/runner/shim/statx.c, linked in by the Makefile):
 * runsc 20221219 refuses statx with AT_NO_AUTOMOUNT, so coreutils' ls -l
 * and stat fail in gVisor; every program in the sandbox preloads the shim
 * through /etc/ld.so.preload, which drops that flag. */
extern const unsigned char sandbox_statx_shim[], sandbox_statx_shim_end[];

/* Makes the skeleton root and the mount list. */
static int build_rootfs(struct sandbox *sb, const char *rootfs, json_t *mounts, struct err *e)
{
	const char *dirs[] = { "",     "/usr", "/etc",       "/proc", "/dev",
			       "/sys", "/tmp", "/workspace", "/.plue" };
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", rootfs, dirs[i]);
		if (mkdir(path, 0755))
			goto fail;
	}
	json_array_append_new(mounts, bind_mount("/usr", "/usr", false));
	for (size_t i = 0; i < sizeof(usr_links) / sizeof(usr_links[0]); i++) {
		char host[64], target[PATH_MAX];
		struct stat st;
		snprintf(host, sizeof(host), "/%s", usr_links[i]);
		if (lstat(host, &st))
			continue;
		snprintf(path, sizeof(path), "%s/%s", rootfs, usr_links[i]);
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(host, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (symlink(target, path))
				goto fail;
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(path, 0755))
				goto fail;
			json_array_append_new(mounts, bind_mount(host, host, false));
		}
	}
	/* the sandbox's own /etc, with the host's entries it lists bound over
	 * it (sandbox_etc_build); its ld.so.preload names the shim, which lives
	 * in the skeleton */
	snprintf(path, sizeof(path), "%s/etc", sb->dir);
	json_array_append_new(mounts, bind_mount("/etc", path, false));
	for (char **p = sb->etc_binds; p && *p; p++)
		json_array_append_new(mounts, bind_mount(*p, *p, false));
	snprintf(path, sizeof(path), "%s%s", rootfs, SANDBOX_STATX_SHIM);
	if (file_create(path, sandbox_statx_shim,
			(size_t)(sandbox_statx_shim_end - sandbox_statx_shim), 0444))
		goto fail;
	/* execd: the runner's own executable (a file onto a file) */
	snprintf(path, sizeof(path), "%s%s", rootfs, SANDBOX_HELPER_PATH);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		goto fail;
	close(fd);
	json_array_append_new(mounts, bind_mount(SANDBOX_HELPER_PATH, sb->helper, false));
	json_array_append_new(mounts, bind_mount(SANDBOX_WORKSPACE, sb->workspace, true));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "destination", "/proc", "type",
						"proc", "source", "proc"));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/dev",
						"type", "tmpfs", "source", "tmpfs", "options",
						"nosuid", "mode=755", "size=65536k"));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/tmp",
						"type", "tmpfs", "source", "tmpfs", "options",
						"nosuid", "nodev", "mode=1777"));
	/* runsc mounts its own sysfs where the spec has nothing at /sys; an
	 * empty read-only tmpfs keeps it out (no sysfs, like bubblewrap) */
	json_array_append_new(mounts,
			      json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s,s]}", "destination", "/sys",
					"type", "tmpfs", "source", "tmpfs", "options", "ro",
					"nosuid", "nodev", "noexec", "mode=555", "size=4k"));
	return 0;
fail:
	return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
		       "cannot build the root of '%s': %s", sb->id, strerror(errno));
}

/* execd's capabilities: to change to the sandbox's uid/gid and to kill
 * commands, nothing more (gVisor's emulated capabilities; the host's are
 * not involved). */
static json_t *execd_caps(void)
{
	json_t *caps = json_object();
	const char *sets[] = { "bounding", "effective", "permitted" };
	for (size_t i = 0; i < 3; i++)
		json_object_set_new(caps, sets[i],
				    json_pack("[s,s,s]", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"));
	json_object_set_new(caps, "inheritable", json_array());
	json_object_set_new(caps, "ambient", json_array());
	return caps;
}

static int write_json(const char *path, json_t *doc, struct err *e)
{
	if (json_dump_file(doc, path, JSON_COMPACT))
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot write '%.200s'",
			       path);
	chmod(path, 0600);
	return 0;
}

/* Sets or clears O_NONBLOCK. */
static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* execd's last words (its stderr is the runsc log), for messages. */
static void execd_log_tail(struct sandbox *sb, char *out, size_t size)
{
	char *log = xasprintf("%s/runsc.log", sb->dir);
	sandbox_log_tail(log, out, size);
	free(log);
}

static int gvisor_run(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim, struct err *e);
static void gvisor_stop(struct sandbox *sb);

/* Starts the sandbox with execd as its init and waits until execd
 * answers. */
static int gvisor_start(struct sandbox *sb, struct err *e)
{
	int rc;
	struct sandbox_argv a = { 0 };
	char **argv = NULL;
	char *bundle = xasprintf("%s/bundle", sb->dir);
	char *rootfs = xasprintf("%s/rootfs", bundle);
	char *config = xasprintf("%s/config.json", bundle);
	char *log = xasprintf("%s/runsc.log", sb->dir);
	char *pidfile = xasprintf("%s/sandbox.pid", sb->dir);
	char *uid_arg = xasprintf("--uid=%u", (unsigned)sb->uid);
	char *gid_arg = xasprintf("--gid=%u", (unsigned)sb->gid);
	int cmdp[2] = { -1, -1 }, evp[2] = { -1, -1 };
	json_t *mounts = json_array();
	json_t *doc = NULL;
	sb->execd_rbuf = xcalloc(1, sizeof(*sb->execd_rbuf));
	buf_init(sb->execd_rbuf, 0);
	if (mkdir(bundle, 0700)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "cannot create '%.200s': %s", bundle, strerror(errno));
		goto done;
	}
	if ((rc = build_rootfs(sb, rootfs, mounts, e)))
		goto done;
	/* the init is execd, root inside gVisor (not the host's root) with
	 * CAP_SETUID, CAP_SETGID and CAP_KILL only: commands, which run as the
	 * sandbox uid, can neither signal it nor look into it. Its own limits
	 * are gVisor's defaults; each command's are set in its child */
	doc = json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s,s,s,s], s:[s], s:s, s:o,"
			"         s:[{s:s, s:i, s:i}], s:b},"
			" s:{s:s, s:b}, s:s, s:o,"
			" s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s}], s:s,"
			"    s:{s:{s:I}, s:{s:I}}}}",
			"ociVersion", "1.0.2", "process", "terminal", 0, "user", "uid", 0, "gid", 0,
			"args", SANDBOX_HELPER_PATH, "execd", uid_arg, gid_arg, "env",
			"PATH=" SANDBOX_PATH, "cwd", "/", "capabilities", execd_caps(), "rlimits",
			"type", "RLIMIT_CORE", "hard", 0, "soft", 0, "noNewPrivileges", 1, "root",
			"path", rootfs, "readonly", 1, "hostname", "plue", "mounts", mounts,
			"linux", "namespaces", "type", "pid", "type", "ipc", "type", "uts", "type",
			"mount", "type", "network",
			/* relative: nested under the runner's own cgroups */
			"cgroupsPath", sb->id, "resources", "memory", "limit",
			(json_int_t)(sb->limits.memory_bytes + GVISOR_OVERHEAD), "pids", "limit",
			(json_int_t)(4LL * sb->limits.max_procs + 512));
	mounts = NULL;
	if (doc && sb->net_fd >= 0) {
		/* the sandbox's own network namespace (sandbox_net.c), which runsc
		 * joins before it starts the sandbox: held open by this process,
		 * which outlives the runsc run that opens it */
		json_t *ns = json_object_get(json_object_get(doc, "linux"), "namespaces");
		json_t *net = json_array_get(ns, json_array_size(ns) - 1);
		char *nspath = xasprintf("/proc/%ld/fd/%d", (long)getpid(), sb->net_fd);
		json_object_set_new(net, "path", json_string(nspath));
		free(nspath);
	}
	if (!doc) {
		rc = err_set(e, ERR_INTERNAL, "sandbox_config", "cannot build the OCI configuration");
		goto done;
	}
#if defined(__SANITIZE_ADDRESS__)
	/* a sanitized build (make SAN=1) runs execd sanitized too; the
	 * statx shim in /etc/ld.so.preload loads ahead of ASan's runtime, which
	 * ASan refuses by default. The shim wraps two stat calls and no
	 * allocator, so the order is harmless. Commands never see this: their
	 * environment is only what sandbox_cmd gives */
	json_array_append_new(json_object_get(json_object_get(doc, "process"), "env"),
			      json_string("ASAN_OPTIONS=verify_asan_link_order=0"));
#endif
	if ((rc = write_json(config, doc, e)))
		goto done;
	/* execd's stdin and stdout: runsc hands a detached container's
	 * stdio to its init when it has no terminal */
	if (pipe2(cmdp, O_CLOEXEC) || pipe2(evp, O_CLOEXEC)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "pipe: %s", strerror(errno));
		goto done;
	}
	runsc_args(&a, sb->state_root, sb->limits.network);
	sandbox_argv_add(&a, "run");
	sandbox_argv_add(&a, "--detach");
	sandbox_argv_addf(&a, "--bundle=%s", bundle);
	sandbox_argv_addf(&a, "--pid-file=%s", pidfile);
	sandbox_argv_add(&a, sb->id);
	argv = sandbox_argv_detach(&a);
	rc = sandbox_run_tool_io(argv, log, cmdp[0], evp[1], e);
	close(cmdp[0]), close(evp[1]);
	cmdp[0] = evp[1] = -1;
	sb->execd_in = cmdp[1], sb->execd_out = evp[0];
	cmdp[1] = evp[0] = -1;
	set_nonblock(sb->execd_in, true);
	set_nonblock(sb->execd_out, true);
	/* read the pid even after a failure: the sandbox may need deleting */
	sb->sandbox_pid = pid_file_read(pidfile);
	if (rc)
		goto done;
	if (!sb->sandbox_pid) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "runsc did not say which process runs sandbox '%s'", sb->id);
		goto done;
	}
	/* execd says hello when it is ready for commands */
	const char *why = sandbox_execd_hello(sb, EXECD_START_MS);
	if (why) {
		/* what execd (or the dynamic loader) said on its way out */
		char last[200];
		execd_log_tail(sb, last, sizeof(last));
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "the execd of sandbox '%s' did not start: %s", sb->id,
			     *last ? last : why);
		goto done;
	}
	/* the first command of a sandbox pays for gVisor opening bash and its
	 * libraries (gofer, dentry and page caches): pay it now, before the
	 * claim, rather than in the workload's first step */
	const char *warm_argv[] = { "bash", "-c", ":", NULL };
	struct sandbox_cmd warm = { .argv = warm_argv };
	struct sandbox_limits warm_lim = sb->limits;
	struct sandbox_result warm_res;
	warm_lim.timeout_ms = EXECD_START_MS;
	rc = gvisor_run(&warm_res, sb, &warm, &warm_lim, e);
done:
	for (int i = 0; i < 2; i++) {
		if (cmdp[i] >= 0)
			close(cmdp[i]);
		if (evp[i] >= 0)
			close(evp[i]);
	}
	sandbox_argv_free(argv);
	json_decref(mounts);
	json_decref(doc);
	free(gid_arg);
	free(uid_arg);
	free(pidfile);
	free(log);
	free(config);
	free(rootfs);
	free(bundle);
	return rc;
}

/* The first "key N" number of a cgroup file, or -1. */
static long long cgroup_counter(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	size_t n = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ' ') {
			v = atoll(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

/* Whether the kernel's OOM killer struck in the sandbox's memory cgroup
 * (nested in the runner's own, cgroup v1 or v2). */
static bool sandbox_oom_killed(const struct sandbox *sb)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return false;
	char line[1024];
	bool hit = false;
	while (!hit && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *list = strchr(line, ':');
		char *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		list++;
		if (!strcmp(path, "/"))
			path = "";
		char *file = NULL;
		if (!*list)
			file = xasprintf("/sys/fs/cgroup%s/%s/memory.events", path, sb->id);
		else if (!strcmp(list, "memory"))
			file = xasprintf("/sys/fs/cgroup/memory%s/%s/memory.oom_control", path,
					 sb->id);
		if (file)
			hit = cgroup_counter(file, "oom_kill") > 0;
		free(file);
	}
	fclose(f);
	return hit;
}

/* Runs one command through execd: 0 with *out filled, or ERR_UNAVAILABLE
 * when execd is gone (the sandbox is then marked dead). */
static int gvisor_run(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim, struct err *e)
{
	enum sandbox_execd_end how;
	int rc = sandbox_execd_run(out, sb, cmd, lim, &how, e);
	if (how == SANDBOX_EXECD_STUCK) {
		gvisor_stop(sb);
	} else if (how == SANDBOX_EXECD_GONE) {
		/* execd, and with it the sandbox, ended under the command: the
		 * memory ceiling (the kernel killed the sandbox), or something
		 * killed execd */
		if (sandbox_oom_killed(sb)) {
			out->limit_hit = true;
		} else {
			char last[160];
			execd_log_tail(sb, last, sizeof(last));
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_gone",
				     "sandbox '%s' stopped during the command: %s", sb->id,
				     *last ? last : "its execd is gone");
		}
	}
	return rc;
}

/* True when the gVisor sandbox process still runs. */
static bool gvisor_alive(struct sandbox *sb)
{
	if (sb->sandbox_pid <= 0)
		return false;
	/* a dead sandbox process may linger as a zombie of whoever adopted it */
	char path[64], stat[256];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)sb->sandbox_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return false;
	stat[n] = 0;
	const char *paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static void runsc_delete(const char *state_root, const char *id, const char *log)
{
	struct sandbox_argv a = { 0 };
	struct err e = { 0 };
	runsc_args(&a, state_root, false);
	sandbox_argv_add(&a, "delete");
	sandbox_argv_add(&a, "--force");
	sandbox_argv_add(&a, id);
	char **argv = sandbox_argv_detach(&a);
	if (sandbox_run_tool(argv, log, &e))
		log_warn("sandbox %s: %s", id, e.msg);
	sandbox_argv_free(argv);
}

/* Deletes the container (killing everything in it) and closes the pipes
 * to execd. */
static void gvisor_stop(struct sandbox *sb)
{
	if (sb->sandbox_pid <= 0) {
		sandbox_execd_close(sb);
		return;
	}
	char *log = xasprintf("%s/delete.log", sb->dir);
	runsc_delete(sb->state_root, sb->id, log);
	free(log);
	/* delete --force returns once the container is gone; the sandbox
	 * process may take a moment longer to exit */
	for (int i = 0; i < 200 && gvisor_alive(sb); i++)
		usleep(5000);
	if (gvisor_alive(sb))
		kill(sb->sandbox_pid, SIGKILL);
	sb->sandbox_pid = 0;
	sandbox_execd_close(sb);
}

/* Removes a container left by a runner that died. */
static void gvisor_reap(const char *state_root, const char *id)
{
	char *log = xasprintf("%s/%s/delete.log", state_root, id);
	struct stat st;
	/* only when runsc knows the container; a bubblewrap sandbox has none */
	char *dir = xasprintf("%s/%s/bundle", state_root, id);
	if (stat(dir, &st) == 0)
		runsc_delete(state_root, id, log);
	free(dir);
	free(log);
}

static int gvisor_exec(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		       const struct sandbox_limits *lim, struct err *e)
{
	if (sb->dead || sb->execd_in < 0 || !gvisor_alive(sb)) {
		sb->dead = true;
		return err_set(e, ERR_UNAVAILABLE, "sandbox_gone",
			       "sandbox '%s' is no longer running", sb->id);
	}
	return gvisor_run(out, sb, cmd, lim, e);
}

/* The container, and the cgroups runsc made for it (named after it). */
static void gvisor_destroy(struct sandbox *sb)
{
	gvisor_stop(sb);
	sandbox_cgroups_remove(sb->id);
}

const struct sandbox_ops sandbox_gvisor_ops = {
	.name = "gvisor",
	.isolated = true,
	.statx_shim = true,
	.start = gvisor_start,
	.exec = gvisor_exec,
	.destroy = gvisor_destroy,
	.reap = gvisor_reap,
};
