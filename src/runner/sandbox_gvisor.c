/* sandbox_gvisor.c — the gVisor backend: an OCI bundle per sandbox, `runsc
 * run --detach` of an idle init (bash) when the sandbox is created, and one
 * `runsc exec` for every command (see docs/sandbox.md).
 *
 * The root filesystem is a skeleton directory of mount points: the host's
 * /usr and /etc bound read-only, the merged-/usr links (/bin -> usr/bin, ...)
 * copied as links, the workspace bound read-write at /workspace, a tmpfs at
 * /tmp. Nothing else of the host
 * is visible. The whole sandbox sits in cgroups named after it, nested in
 * the runner's own, with a memory and pids ceiling as a backstop for the
 * per-process limits the helper sets. */
#include "runner/sandbox_impl.h"

#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Memory the sandbox's own machinery (Sentry, gofer, page cache of the
 * mounts) needs on top of what the commands use. */
#define GVISOR_OVERHEAD (512LL << 20)

/* Top-level directories that a merged-/usr system makes links into /usr and
 * an older one has as directories. */
static const char *const usr_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

char *sandbox_gvisor_root(const char *state_root)
{
	return xasprintf("%s/runsc", state_root);
}

/* runsc's global flags: state directory and network. */
static void runsc_args(struct sandbox_argv *a, const char *state_root, bool network)
{
	char *root = sandbox_gvisor_root(state_root);
	sandbox_argv_add(a, "runsc");
	sandbox_argv_addf(a, "--root=%s", root);
	/* "host" hands the sandbox the host's network through gVisor's
	 * syscall layer; "none" leaves loopback only */
	sandbox_argv_addf(a, "--network=%s", network ? "host" : "none");
	free(root);
}

static json_t *bind_mount(const char *dst, const char *src, bool rw)
{
	return json_pack("{s:s, s:s, s:s, s:[s,s,s,s]}", "destination", dst, "type", "bind",
			 "source", src, "options", "rbind", rw ? "rw" : "ro", "nosuid", "nodev");
}

/* Makes the skeleton root and the mount list. */
static int build_rootfs(struct sandbox *sb, const char *rootfs, json_t *mounts, struct err *e)
{
	const char *dirs[] = { "", "/usr", "/etc", "/proc", "/dev", "/tmp", "/workspace" };
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
	json_array_append_new(mounts, bind_mount("/etc", "/etc", false));
	json_array_append_new(mounts, bind_mount(SANDBOX_WORKSPACE, sb->workspace, true));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "destination", "/proc", "type",
						"proc", "source", "proc"));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/dev",
						"type", "tmpfs", "source", "tmpfs", "options",
						"nosuid", "mode=755", "size=65536k"));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/tmp",
						"type", "tmpfs", "source", "tmpfs", "options",
						"nosuid", "nodev", "mode=1777"));
	return 0;
fail:
	return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot build the root of '%s': %s",
		       sb->id, strerror(errno));
}

static json_t *no_caps(void)
{
	return json_pack("{s:[], s:[], s:[], s:[], s:[]}", "bounding", "effective", "permitted",
			 "inheritable", "ambient");
}

/* The sandbox's default limits. gVisor hands the init's rlimits to every
 * process runsc exec starts (one shared set), so a command under the
 * defaults needs no wrapper to get them. */
static json_t *rlimits(const struct sandbox_limits *l)
{
	return json_pack("[{s:s, s:I, s:I}, {s:s, s:I, s:I}, {s:s, s:i, s:i}]", "type", "RLIMIT_AS",
			 "hard", (json_int_t)l->memory_bytes, "soft", (json_int_t)l->memory_bytes,
			 "type", "RLIMIT_NPROC", "hard", (json_int_t)l->max_procs, "soft",
			 (json_int_t)l->max_procs, "type", "RLIMIT_CORE", "hard", 0, "soft", 0);
}

static int write_json(const char *path, json_t *doc, struct err *e)
{
	if (json_dump_file(doc, path, JSON_COMPACT))
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot write '%.200s'", path);
	chmod(path, 0600);
	return 0;
}

/* The sandbox's init: waits, and reaps the orphans reparented to it (bash
 * reaps every child that ends, its own or adopted). */
static const char init_script[] =
	"trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done";

int sandbox_gvisor_start(struct sandbox *sb, struct err *e)
{
	int rc;
	struct sandbox_argv a = { 0 };
	char **argv = NULL;
	char *bundle = xasprintf("%s/bundle", sb->dir);
	char *rootfs = xasprintf("%s/rootfs", bundle);
	char *config = xasprintf("%s/config.json", bundle);
	char *log = xasprintf("%s/runsc.log", sb->dir);
	char *pidfile = xasprintf("%s/sandbox.pid", sb->dir);
	json_t *mounts = json_array();
	json_t *doc = NULL;
	if (mkdir(bundle, 0700)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot create '%.200s': %s",
			     bundle, strerror(errno));
		goto done;
	}
	if ((rc = build_rootfs(sb, rootfs, mounts, e)))
		goto done;
	/* the init runs as root inside gVisor (no capabilities, not the host's
	 * root) so that commands, which run as the sandbox uid, cannot signal it
	 * away; it only reaps orphans. Its rlimits are the commands' (see
	 * rlimits()) */
	doc = json_pack(
		"{s:s, s:{s:b, s:{s:i, s:i}, s:[s,s,s], s:[s], s:s, s:o, s:o, s:b},"
		" s:{s:s, s:b}, s:s, s:o,"
		" s:{s:[{s:s},{s:s},{s:s},{s:s},{s:s}], s:s,"
		"    s:{s:{s:I}, s:{s:I}}}}",
		"ociVersion", "1.0.2",
		"process", "terminal", 0, "user", "uid", 0, "gid", 0, "args", "/bin/bash", "-c",
		init_script, "env", "PATH=" SANDBOX_PATH, "cwd", "/", "capabilities", no_caps(),
		"rlimits", rlimits(&sb->limits), "noNewPrivileges", 1,
		"root", "path", rootfs, "readonly", 1,
		"hostname", "plue",
		"mounts", mounts,
		"linux", "namespaces", "type", "pid", "type", "ipc", "type", "uts", "type", "mount",
		"type", "network",
		/* relative: nested under the runner's own cgroups */
		"cgroupsPath", sb->id,
		"resources", "memory", "limit", (json_int_t)(sb->limits.memory_bytes + GVISOR_OVERHEAD),
		"pids", "limit", (json_int_t)(4LL * sb->limits.max_procs + 512));
	mounts = NULL;
	if (doc && sb->limits.network) {
		/* --network=host uses the runner's namespace: no new one */
		json_t *ns = json_object_get(json_object_get(doc, "linux"), "namespaces");
		json_array_remove(ns, json_array_size(ns) - 1);
	}
	if (!doc) {
		rc = err_set(e, ERR_INTERNAL, "sandbox_config", "cannot build the OCI configuration");
		goto done;
	}
	if ((rc = write_json(config, doc, e)))
		goto done;
	runsc_args(&a, sb->state_root, sb->limits.network);
	sandbox_argv_add(&a, "run");
	sandbox_argv_add(&a, "--detach");
	sandbox_argv_addf(&a, "--bundle=%s", bundle);
	sandbox_argv_addf(&a, "--pid-file=%s", pidfile);
	sandbox_argv_add(&a, sb->id);
	argv = sandbox_argv_detach(&a);
	if ((rc = sandbox_run_tool(argv, log, e)))
		goto done;
	FILE *f = fopen(pidfile, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid <= 0) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "runsc did not say which process runs sandbox '%s'", sb->id);
		goto done;
	}
	sb->sandbox_pid = (pid_t)pid;
done:
	sandbox_argv_free(argv);
	json_decref(mounts);
	json_decref(doc);
	free(pidfile);
	free(log);
	free(config);
	free(rootfs);
	free(bundle);
	return rc;
}

/* What runs a command inside the sandbox (argv: CWD AS_KIB NPROC -- CMD...),
 * the gVisor counterpart of sandbox_helper.c's exec mode:
 *  - limits are set in a forked subshell, never in the exec'd process:
 *    gVisor shares one rlimit set among all processes runsc exec starts, so
 *    a limit set there would stick to every later command;
 *  - the subshell is a process group of its own (set -m), which SIGTERM
 *    (sent by runsc kill, as runsc exec forwards no signals) kills whole;
 *  - a stop that comes before the command exists is remembered;
 *  - job notices go nowhere: stderr is dropped once the command has it;
 *  - the status is the command's, 128+N when signal N ended it. */
static const char exec_script[] =
	"stop=; trap stop=1 TERM INT HUP\n"
	"cwd=$1 as=$2 np=$3; shift 4\n"
	"if [ -n \"$cwd\" ]; then\n"
	"  [ -d \"$cwd\" ] || mkdir -p -- \"$cwd\" || exit 1\n"
	"  cd -- \"$cwd\" || exit 1\n"
	"fi\n"
	"export PWD\n"
	"set -m\n"
	"( ulimit -HS -c 0 -v \"$as\" -u \"$np\" || exit 126; unset SHLVL OLDPWD; exec -- \"$@\" ) &\n"
	"pid=$!\n"
	"exec 2>/dev/null\n"
	"trap 'kill -KILL -- -$pid' TERM INT HUP\n"
	"[ -z \"$stop\" ] || kill -KILL -- -$pid\n"
	"while :; do wait $pid; st=$?; kill -0 $pid || break; done\n"
	"exit $st\n";

int sandbox_gvisor_spawn(struct sandbox *sb, const struct sandbox_cmd *cmd,
			 const struct sandbox_limits *lim, struct sandbox_spawn *sp, struct err *e)
{
	int rc = 0;
	struct sandbox_argv a = { 0 };
	char *process = xasprintf("%s/exec.json", sb->dir);
	/* a command under the sandbox's own limits in the workspace's root is
	 * started directly: it has the limits already (see rlimits()), runsc
	 * exec makes it a process group of its own, which stopping kills whole.
	 * Anything else goes through the wrapper, which is bash rather than the
	 * runner's executable: runsc exec pays for every library a program
	 * loads, and bash loads two. */
	bool direct = sandbox_cwd_is_root(cmd->cwd) && lim->memory_bytes == sb->limits.memory_bytes &&
		      lim->max_procs == sb->limits.max_procs;
	if (direct) {
		for (const char *const *p = cmd->argv; *p; p++)
			sandbox_argv_add(&a, *p);
	} else {
	sandbox_argv_add(&a, "/bin/bash");
	sandbox_argv_add(&a, "-c");
	sandbox_argv_add(&a, exec_script);
	sandbox_argv_add(&a, "plue-sandbox");
	sandbox_argv_add(&a, cmd->cwd ? cmd->cwd : "");
	sandbox_argv_addf(&a, "%lld", (long long)(lim->memory_bytes / 1024));
	sandbox_argv_addf(&a, "%d", lim->max_procs);
	sandbox_argv_add(&a, "--");
	for (const char *const *p = cmd->argv; *p; p++)
		sandbox_argv_add(&a, *p);
	}
	char **args = sandbox_argv_detach(&a);
	char **env = sandbox_env_build(cmd, "/tmp");
	json_t *jargs = json_array(), *jenv = json_array();
	for (char **p = args; *p; p++)
		json_array_append_new(jargs, json_string(*p));
	bool pwd = false;
	for (char **p = env; *p; p++) {
		pwd |= !strncmp(*p, "PWD=", 4);
		json_array_append_new(jenv, json_stringn(*p, strlen(*p)));
	}
	if (direct && !pwd) /* what the wrapper's cd exports */
		json_array_append_new(jenv, json_string("PWD=" SANDBOX_WORKSPACE));
	/* the process description goes in a file, not on runsc's command line,
	 * where the environment (secrets) would show in the host's ps */
	json_t *doc = json_pack("{s:b, s:{s:I, s:I}, s:o, s:o, s:s, s:o, s:b}", "terminal", 0,
				"user", "uid", (json_int_t)sb->uid, "gid", (json_int_t)sb->gid,
				"args", jargs, "env", jenv, "cwd", SANDBOX_WORKSPACE, "capabilities",
				no_caps(), "noNewPrivileges", 1);
	if (!doc) {
		rc = err_set(e, ERR_INVALID, "invalid_command",
			     "the command or its environment is not valid UTF-8");
		goto done;
	}
	if ((rc = write_json(process, doc, e)))
		goto done;
	runsc_args(&a, sb->state_root, sb->limits.network);
	sandbox_argv_add(&a, "exec");
	sandbox_argv_addf(&a, "--process=%s", process);
	sp->pidfile = xasprintf("%s/exec.pid", sb->dir);
	unlink(sp->pidfile);
	sandbox_argv_addf(&a, "--internal-pid-file=%s", sp->pidfile);
	sandbox_argv_add(&a, sb->id);
	sp->argv = sandbox_argv_detach(&a);
	sp->path = NULL; /* runsc, found in the runner's PATH */
	sp->envp = xcalloc(2, sizeof(char *));
	sp->envp[0] = xstrdup("PATH=" SANDBOX_PATH);
	sp->uid = geteuid();
	sp->gid = getegid();
	/* for gVisor: stop by killing the group inside (direct), or by asking
	 * the wrapper */
	sp->kill_group = direct;
done:
	json_decref(doc);
	sandbox_argv_free(args);
	sandbox_argv_free(env);
	free(process);
	return rc;
}

int sandbox_gvisor_stop_exec(struct sandbox *sb, const struct sandbox_spawn *sp)
{
	FILE *f = fopen(sp->pidfile, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid <= 0)
		return -1;
	struct sandbox_argv a = { 0 };
	struct err e = { 0 };
	runsc_args(&a, sb->state_root, false);
	if (sp->kill_group) {
		/* root with CAP_KILL inside the sandbox (not the host's root): the
		 * command's uid may have no process slot left to do it */
		sandbox_argv_add(&a, "exec");
		sandbox_argv_add(&a, "--user=0:0");
		sandbox_argv_add(&a, "--cap=CAP_KILL");
		sandbox_argv_add(&a, sb->id);
		sandbox_argv_add(&a, "/bin/bash");
		sandbox_argv_add(&a, "-c");
		sandbox_argv_add(&a, "kill -KILL -- -\"$1\"");
		sandbox_argv_add(&a, "kill");
		sandbox_argv_addf(&a, "%ld", pid);
	} else {
		sandbox_argv_add(&a, "kill");
		sandbox_argv_addf(&a, "--pid=%ld", pid);
		sandbox_argv_add(&a, sb->id);
		sandbox_argv_add(&a, "TERM");
	}
	char **argv = sandbox_argv_detach(&a);
	char *log = xasprintf("%s/kill.log", sb->dir);
	int rc = sandbox_run_tool(argv, log, &e);
	if (rc)
		log_warn("sandbox %s: %s", sb->id, e.msg);
	free(log);
	sandbox_argv_free(argv);
	return rc ? -1 : 0;
}

bool sandbox_gvisor_alive(struct sandbox *sb)
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

void sandbox_gvisor_stop(struct sandbox *sb)
{
	if (sb->sandbox_pid <= 0)
		return;
	char *log = xasprintf("%s/delete.log", sb->dir);
	runsc_delete(sb->state_root, sb->id, log);
	free(log);
	/* delete --force returns once the container is gone; the sandbox
	 * process may take a moment longer to exit */
	for (int i = 0; i < 200 && sandbox_gvisor_alive(sb); i++)
		usleep(5000);
	if (sandbox_gvisor_alive(sb))
		kill(sb->sandbox_pid, SIGKILL);
	sb->sandbox_pid = 0;
}

void sandbox_gvisor_reap(const char *state_root, const char *id)
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
