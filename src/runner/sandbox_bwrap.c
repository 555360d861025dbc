/* sandbox_bwrap.c — the bubblewrap backend: every command runs in fresh
 * namespaces (user, pid, network, ipc, uts, cgroup, mount) with the same
 * view as under gVisor: /usr and /etc read-only, the merged-/usr links, the
 * workspace at /workspace, the sandbox's private /tmp, /proc and a minimal
 * /dev, no network unless granted. bwrap runs unprivileged as the sandbox's
 * uid, so the paths it binds must be reachable by that uid; the workspace
 * (often under the runner's private data directory) and the helper are
 * therefore first bound, as root, onto points in the sandbox's state
 * directory, in a mount namespace private to the command's process. */
#include "runner/sandbox_impl.h"

#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const usr_links[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

int sandbox_bwrap_prepare(struct sandbox *sb, struct err *e)
{
	if (geteuid() != 0)
		return 0; /* bwrap runs as us: our paths are reachable */
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

int sandbox_bwrap_spawn(struct sandbox *sb, const struct sandbox_cmd *cmd,
			const struct sandbox_limits *lim, struct sandbox_spawn *sp, struct err *e)
{
	(void)e;
	struct sandbox_argv a = { 0 };
	sandbox_argv_add(&a, "bwrap");
	sandbox_argv_add(&a, "--unshare-all");
	sandbox_argv_add(&a, "--unshare-user");
	if (sb->limits.network)
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
	sandbox_argv_add(&a, "--ro-bind");
	sandbox_argv_add(&a, "/etc");
	sandbox_argv_add(&a, "/etc");
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
	sp->argv = sandbox_argv_detach(&a);
	sp->path = NULL;
	/* bwrap hands its own environment to the command: it travels in envp,
	 * not argv, so it does not show in the host's ps */
	sp->envp = sandbox_env_build(cmd, "/tmp");
	if (sb->bind_ws) {
		sp->binds[0][0] = xstrdup(sb->workspace);
		sp->binds[0][1] = xstrdup(sb->bind_ws);
		sp->binds[1][0] = xstrdup(sb->helper);
		sp->binds[1][1] = xstrdup(sb->bind_helper);
		sp->nbinds = 2;
	}
	sp->uid = sb->uid;
	sp->gid = sb->gid;
	/* killing bwrap ends its pid namespace, and with it everything inside */
	sp->kill_group = false;
	return 0;
}
