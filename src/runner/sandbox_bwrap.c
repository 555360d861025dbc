/* sandbox_bwrap.c — the bubblewrap backend: every command runs in fresh
 * namespaces (user, pid, network, ipc, uts, cgroup, mount) with the same
 * view as under gVisor: /usr and /etc read-only, the merged-/usr links, the
 * workspace at /workspace, the sandbox's private /tmp, /proc and a minimal
 * /dev, no network unless granted. bwrap runs unprivileged as the sandbox's
 * uid; the runner opens the directories to bind first and passes them as
 * descriptors, so their host paths need not be reachable by that uid. */
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

/* Descriptor numbers the child sees (sandbox_spawn.keep_fds order). */
enum { FD_WORKSPACE = 3, FD_TMP = 4, FD_HELPER = 5 };

int sandbox_bwrap_prepare(struct sandbox *sb, struct err *e)
{
	char *tmp = xasprintf("%s/tmp", sb->dir);
	sb->ws_fd = open(sb->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
	sb->tmp_fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	sb->helper_fd = open(sb->helper, O_PATH | O_CLOEXEC);
	free(tmp);
	if (sb->ws_fd < 0 || sb->tmp_fd < 0 || sb->helper_fd < 0)
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			       "cannot open the directories of sandbox '%s': %s", sb->id,
			       strerror(errno));
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
	sandbox_argv_add(&a, "--bind-fd");
	sandbox_argv_addf(&a, "%d", FD_WORKSPACE);
	sandbox_argv_add(&a, SANDBOX_WORKSPACE);
	sandbox_argv_add(&a, "--bind-fd");
	sandbox_argv_addf(&a, "%d", FD_TMP);
	sandbox_argv_add(&a, "/tmp");
	sandbox_argv_add(&a, "--ro-bind-fd");
	sandbox_argv_addf(&a, "%d", FD_HELPER);
	sandbox_argv_add(&a, SANDBOX_HELPER_PATH);
	sandbox_argv_add(&a, "--chdir");
	sandbox_argv_add(&a, SANDBOX_WORKSPACE);
	sandbox_argv_add(&a, "--");
	sandbox_helper_args(&a, cmd, lim, 0);
	sp->argv = sandbox_argv_detach(&a);
	sp->path = NULL;
	/* bwrap hands its own environment to the command: it travels in envp,
	 * not argv, so it does not show in the host's ps */
	sp->envp = sandbox_env_build(cmd, "/tmp");
	sp->keep_fds[0] = sb->ws_fd;
	sp->keep_fds[1] = sb->tmp_fd;
	sp->keep_fds[2] = sb->helper_fd;
	sp->nkeep = 3;
	sp->uid = sb->uid;
	sp->gid = sb->gid;
	/* killing bwrap ends its pid namespace, and with it everything inside */
	sp->kill_group = false;
	return 0;
}
