/* sandbox_none.c — the kind without isolation (PLUE_SANDBOX=none, for
 * development only): every command is the helper (sandbox_helper.c) run
 * directly on the host as the runner's user, in the workspace, with the
 * host's files and network. The runner remembers each command's session
 * and kills what is left of them when the sandbox is destroyed. */
#include "runner/sandbox_impl.h"

#include "base/log.h"
#include "base/util.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static int none_start(struct sandbox *sb, struct err *e)
{
	(void)e;
	log_warn("sandbox %s: NOT SANDBOXED (PLUE_SANDBOX=none): commands run on the host "
		 "as uid %u in '%s'",
		 sb->id, (unsigned)sb->uid, sb->workspace);
	return 0;
}

/* How cmd is started: the helper, as the runner, in the workspace. */
static void none_spawn(struct sandbox_spawn *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		       const struct sandbox_limits *lim)
{
	struct sandbox_argv a = { 0 };
	/* no process limit: RLIMIT_NPROC would count every process of the
	 * runner's user, not the command's */
	struct sandbox_limits l = *lim;
	l.max_procs = 0;
	/* the runner kills the helper's whole process group, which the
	 * command then shares */
	sandbox_helper_args(&a, cmd, &l, SANDBOX_HELPER_NO_SETSID);
	out->argv = sandbox_argv_detach(&a);
	out->path = xstrdup("/proc/self/exe");
	char *home = xasprintf("%s/tmp", sb->dir);
	out->envp = sandbox_env_build(cmd, home);
	free(home);
	out->chdir = xstrdup(sb->workspace);
	out->uid = geteuid();
	out->gid = getegid();
	out->kill_group = true;
	/* what the command leaves in the background is killed at destroy */
	out->track = true;
}

static int none_exec(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		     const struct sandbox_limits *lim, struct err *e)
{
	struct sandbox_spawn sp = { .netns_fd = -1, .userns_fd = -1 };
	none_spawn(&sp, sb, cmd, lim);
	int rc = sandbox_spawn_run(out, sb, &sp, cmd, lim, e);
	sandbox_spawn_release(&sp);
	return rc;
}

static void none_destroy(struct sandbox *sb)
{
	for (size_t i = 0; i < sb->npgids; i++)
		kill(-sb->pgids[i], SIGKILL);
}

const struct sandbox_ops sandbox_none_ops = {
	.name = "none",
	.isolated = false,
	.start = none_start,
	.exec = none_exec,
	.destroy = none_destroy,
};
