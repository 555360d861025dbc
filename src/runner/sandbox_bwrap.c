/* sandbox_bwrap.c — the bubblewrap backend: every command runs in fresh
 * namespaces (user, pid, network, ipc, uts, cgroup, mount) with the same
 * view as under gVisor: /usr read-only, the sandbox's own /etc with the few
 * host entries it lists, the merged-/usr links, the workspace at
 * /workspace, the sandbox's private /tmp, /proc and a minimal /dev, no
 * network unless granted; granted network is the sandbox's own network
 * namespace (sandbox_net.c), which the command's process joins before it
 * runs bwrap, instead of a fresh one. bwrap runs unprivileged as the
 * sandbox's uid, so the paths it binds must be reachable by that uid; the
 * workspace (often under the runner's private data directory) and the
 * helper are therefore first bound, as root, onto points in the sandbox's
 * state directory, in a mount namespace private to the command's process.
 *
 * As root on cgroup v1, every command of the sandbox also runs in a memory
 * and a pids cgroup of the sandbox (nested in the runner's own): the
 * command as a whole cannot use more than memory_bytes (the kernel's OOM
 * killer picks a process of the command) nor more than max_procs + a few
 * processes. Elsewhere only the rlimits apply. */
#include "runner/sandbox_impl.h"

#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const usr_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

/* Room for bwrap's own processes in the pids cgroup, and for its memory. */
#define BWRAP_PROCS 16
#define BWRAP_MEMORY (64LL << 20)

/* This process's cgroup directory for a cgroup v1 controller, or NULL. */
static char *cgroup_own_dir(const char *controller)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[1024];
	char *dir = NULL;
	while (f && !dir && fgets(line, sizeof(line), f)) {
		/* "N:controller[,controller]:/path" */
		char *list = strchr(line, ':');
		char *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		list++;
		char copy[256];
		snprintf(copy, sizeof(copy), "%s", list);
		bool match = false;
		for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			match |= !strcmp(t, controller);
		if (!match)
			continue;
		char *d = xasprintf("/sys/fs/cgroup/%s%s", list, strcmp(path, "/") ? path : "");
		char *procs = xasprintf("%s/cgroup.procs", d);
		if (access(procs, W_OK) == 0)
			dir = d;
		else
			free(d);
		free(procs);
	}
	if (f)
		fclose(f);
	return dir;
}

static char *cgroup_make(const char *controller, const char *id)
{
	char *base = cgroup_own_dir(controller);
	if (!base)
		return NULL;
	char *dir = xasprintf("%s/%s", base, id);
	free(base);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int cg_write(const char *dir, const char *file, long long value)
{
	char path[PATH_MAX], v[32];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int n = snprintf(v, sizeof(v), "%lld", value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int rc = fd >= 0 && write(fd, v, (size_t)n) == n ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The number after key in a "key N" file (memory.oom_control, pids.events). */
static long long cg_counter(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], line[256];
	long long v = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	size_t klen = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ' ')
			v = atoll(line + klen + 1);
	if (f)
		fclose(f);
	return v;
}

void sandbox_cgroups_remove(const char *id)
{
	/* every v1 hierarchy this process is in: runsc makes one per
	 * controller and may leave them when its sandbox died first */
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		char *list = strchr(line, ':');
		char *path = list ? strchr(list + 1, ':') : NULL;
		if (!path || list + 1 == path)
			continue; /* the v2 line has no controller list */
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		char *dir = xasprintf("/sys/fs/cgroup/%s%s/%s", list + 1,
				      strcmp(path, "/") ? path : "", id);
		/* the last command's processes may still be on their way out */
		for (int tries = 0; tries < 20 && rmdir(dir) && errno == EBUSY; tries++)
			usleep(10000);
		free(dir);
	}
	if (f)
		fclose(f);
}

/* After a command: whether it ran into its memory or process cgroup
 * limit (false without cgroups). */
static bool bwrap_limit_hit(struct sandbox *sb)
{
	bool hit = false;
	if (sb->cg_memory)
		hit |= cg_counter(sb->cg_memory, "memory.oom_control", "oom_kill") > sb->cg_ooms;
	if (sb->cg_pids)
		hit |= cg_counter(sb->cg_pids, "pids.events", "max") > sb->cg_pid_maxes;
	return hit;
}

/* As root, the sandbox's cgroups and the points the workspace and the
 * helper are bound onto (see the top of this file). */
static int bwrap_start(struct sandbox *sb, struct err *e)
{
	if (geteuid() != 0)
		return 0; /* bwrap runs as us: our paths are reachable */
	sb->cg_memory = cgroup_make("memory", sb->id);
	sb->cg_pids = cgroup_make("pids", sb->id);
	sb->bind_ws = xasprintf("%s/ws", sb->dir);
	sb->bind_helper = xasprintf("%s/helper", sb->dir);
	int fd = -1;
	if (mkdir(sb->bind_ws, 0700) ||
	    (fd = open(sb->bind_helper, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700)) < 0)
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			       "cannot prepare sandbox '%s': %s", sb->id, strerror(errno));
	close(fd);
	return 0;
}

/* How cmd is started: bwrap, as the sandbox's uid, with the view above. */
static void bwrap_spawn(struct sandbox_spawn *out, struct sandbox *sb,
			const struct sandbox_cmd *cmd, const struct sandbox_limits *lim)
{
	struct sandbox_argv a = { 0 };
	sandbox_argv_add(&a, "bwrap");
	sandbox_argv_add(&a, "--unshare-all");
	sandbox_argv_add(&a, "--unshare-user");
	/* the process joins the sandbox's network namespace before bwrap runs
	 * (out->netns_fd), which keeps it */
	if (sb->net_fd >= 0)
		sandbox_argv_add(&a, "--share-net");
	sandbox_argv_add(&a, "--disable-userns");
	sandbox_argv_add(&a, "--die-with-parent");
	sandbox_argv_add(&a, "--new-session");
	sandbox_argv_add(&a, "--cap-drop");
	sandbox_argv_add(&a, "ALL");
	sandbox_argv_add(&a, "--uid");
	sandbox_argv_addf(&a, "%u", (unsigned)sb->uid);
	sandbox_argv_add(&a, "--gid");
	sandbox_argv_addf(&a, "%u", (unsigned)sb->gid);
	sandbox_argv_add(&a, "--hostname");
	sandbox_argv_add(&a, "plue");
	sandbox_argv_add(&a, "--ro-bind");
	sandbox_argv_add(&a, "/usr");
	sandbox_argv_add(&a, "/usr");
	for (size_t i = 0; i < sizeof(usr_links) / sizeof(usr_links[0]); i++) {
		char host[64], target[PATH_MAX];
		struct stat st;
		snprintf(host, sizeof(host), "/%s", usr_links[i]);
		if (lstat(host, &st))
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(host, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			sandbox_argv_add(&a, "--symlink");
			sandbox_argv_add(&a, target);
		} else {
			sandbox_argv_add(&a, "--ro-bind");
			sandbox_argv_add(&a, host);
		}
		sandbox_argv_add(&a, host);
	}
	/* the sandbox's own /etc and the host entries bound over it
	 * (sandbox_etc_build) */
	sandbox_argv_add(&a, "--ro-bind");
	sandbox_argv_addf(&a, "%s/etc", sb->dir);
	sandbox_argv_add(&a, "/etc");
	for (char **p = sb->etc_binds; p && *p; p++) {
		sandbox_argv_add(&a, "--ro-bind");
		sandbox_argv_add(&a, *p);
		sandbox_argv_add(&a, *p);
	}
	sandbox_argv_add(&a, "--proc");
	sandbox_argv_add(&a, "/proc");
	sandbox_argv_add(&a, "--dev");
	sandbox_argv_add(&a, "/dev");
	sandbox_argv_add(&a, "--bind");
	sandbox_argv_add(&a, sb->bind_ws ? sb->bind_ws : sb->workspace);
	sandbox_argv_add(&a, SANDBOX_WORKSPACE);
	sandbox_argv_add(&a, "--bind");
	sandbox_argv_addf(&a, "%s/tmp", sb->dir);
	sandbox_argv_add(&a, "/tmp");
	sandbox_argv_add(&a, "--ro-bind");
	sandbox_argv_add(&a, sb->bind_helper ? sb->bind_helper : sb->helper);
	sandbox_argv_add(&a, SANDBOX_HELPER_PATH);
	/* the root bwrap builds is a tmpfs: make it, and the links in it,
	 * read-only like gVisor's */
	sandbox_argv_add(&a, "--remount-ro");
	sandbox_argv_add(&a, "/");
	sandbox_argv_add(&a, "--chdir");
	sandbox_argv_add(&a, SANDBOX_WORKSPACE);
	sandbox_argv_add(&a, "--");
	sandbox_helper_args(&a, cmd, lim, 0);
	out->argv = sandbox_argv_detach(&a);
	out->path = NULL;
	/* bwrap hands its own environment to the command: it travels in envp,
	 * not argv, so it does not show in the host's ps */
	out->envp = sandbox_env_build(cmd, "/tmp");
	if (sb->cg_memory &&
	    !cg_write(sb->cg_memory, "memory.limit_in_bytes", lim->memory_bytes + BWRAP_MEMORY)) {
		out->cgroup_procs[0] = xasprintf("%s/cgroup.procs", sb->cg_memory);
		sb->cg_ooms = cg_counter(sb->cg_memory, "memory.oom_control", "oom_kill");
	}
	if (sb->cg_pids && !cg_write(sb->cg_pids, "pids.max", lim->max_procs + BWRAP_PROCS)) {
		out->cgroup_procs[1] = xasprintf("%s/cgroup.procs", sb->cg_pids);
		sb->cg_pid_maxes = cg_counter(sb->cg_pids, "pids.events", "max");
	}
	if (sb->bind_ws) {
		out->binds[0][0] = xstrdup(sb->workspace);
		out->binds[0][1] = xstrdup(sb->bind_ws);
		out->binds[1][0] = xstrdup(sb->helper);
		out->binds[1][1] = xstrdup(sb->bind_helper);
		out->nbinds = 2;
	}
	out->netns_fd = sb->net_fd;
	out->userns_fd = sb->net_userns_fd;
	out->uid = sb->uid;
	out->gid = sb->gid;
	/* killing bwrap ends its pid namespace, and with it everything inside */
	out->kill_group = false;
}

static int bwrap_exec(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim, struct err *e)
{
	struct sandbox_spawn sp = { .netns_fd = -1, .userns_fd = -1 };
	bwrap_spawn(&sp, sb, cmd, lim);
	int rc = sandbox_spawn_run(out, sb, &sp, cmd, lim, e);
	if (!rc && bwrap_limit_hit(sb))
		out->limit_hit = true;
	sandbox_spawn_release(&sp);
	return rc;
}

/* Every command ended with its bwrap: what is left are the cgroups. */
static void bwrap_destroy(struct sandbox *sb)
{
	if (sb->cg_memory || sb->cg_pids)
		sandbox_cgroups_remove(sb->id);
}

const struct sandbox_ops sandbox_bwrap_ops = {
	.name = "bwrap",
	.isolated = true,
	.start = bwrap_start,
	.exec = bwrap_exec,
	.destroy = bwrap_destroy,
};
