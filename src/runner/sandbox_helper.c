/* sandbox_helper.c — the small program that runs every command: the
 * runner's own executable, started under the name SANDBOX_HELPER_PATH, under
 * bubblewrap and none; under gVisor the same executable is the sandbox's
 * execd (sandbox_execd.c):
 *
 *   sandbox-init exec [--cwd DIR] [--as BYTES] [--nproc N] [--no-setsid]
 *                     -- ARGV...
 *       runs one command: creates and enters DIR (relative to the current
 *       directory, the workspace), then forks; the child starts a session,
 *       takes the limits and executes ARGV; the parent waits, kills the
 *       child's session when it receives SIGTERM/SIGINT/SIGHUP, and exits
 *       with the child's status, or 128+N when signal N ended it.
 *
 *   sandbox-init execd --uid=N --gid=N
 *       the gVisor sandbox's init, which runs every command of the sandbox
 *       (sandbox_execd.c).
 *
 * The executable is recognised as the helper by argv[0] in a constructor
 * in sandbox.c (see there). */
#include "runner/sandbox_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, const char *arg)
{
	fprintf(stderr, "sandbox: %s '%s': %s\n", what, arg, strerror(errno));
}

/* mkdir -p of a relative path, then chdir into it. */
static int enter_dir(char *dir)
{
	for (char *p = dir; *p; p++) {
		if (*p != '/' || p == dir)
			continue;
		*p = 0;
		if (mkdir(dir, 0777) && errno != EEXIST) {
			say("cannot create directory", dir);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(dir, 0777) && errno != EEXIST) {
		say("cannot create directory", dir);
		return -1;
	}
	if (chdir(dir)) {
		say("cannot enter working directory", dir);
		return -1;
	}
	return 0;
}

static int exec_main(int argc, char **argv)
{
	char *cwd = NULL;
	long long as = 0, nproc = 0;
	int setsid_ = 1;
	int i = 2;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--cwd") && i + 1 < argc)
			cwd = argv[++i];
		else if (!strncmp(argv[i], "--as=", 5))
			as = atoll(argv[i] + 5);
		else if (!strncmp(argv[i], "--nproc=", 8))
			nproc = atoll(argv[i] + 8);
		else if (!strcmp(argv[i], "--no-setsid"))
			setsid_ = 0;
		else {
			fprintf(stderr, "sandbox: unknown helper option '%s'\n", argv[i]);
			return 127;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "sandbox: no command\n");
		return 127;
	}
	char **cmd = argv + i + 1;
	if (cwd && *cwd && enter_dir(cwd))
		return 1;
	/* the same PWD under every kind (bwrap would set its own) */
	char here[4096];
	unsetenv("PWD");
	if (getcwd(here, sizeof(here)))
		setenv("PWD", here, 1);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = fork();
	if (pid < 0) {
		perror("sandbox: fork");
		return 127;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (setsid_)
			setsid();
		struct rlimit core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &core);
		if (as > 0) {
			struct rlimit r = { (rlim_t)as, (rlim_t)as };
			setrlimit(RLIMIT_AS, &r);
		}
		if (nproc > 0) {
			struct rlimit r = { (rlim_t)nproc, (rlim_t)nproc };
			setrlimit(RLIMIT_NPROC, &r);
		}
		/* no_new_privs: no setuid binary regains what the sandbox took */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		execvp(cmd[0], cmd);
		int err = errno;
		fprintf(stderr, "sandbox: cannot run '%s': %s\n", cmd[0], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}
	int status = 0;
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGCHLD) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				break;
			continue;
		}
		/* the runner stops the command: all of its session goes */
		if (setsid_)
			kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 127;
}

int sandbox_helper_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return exec_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "execd"))
		return sandbox_execd_main(argc, argv);
	fprintf(stderr, "sandbox: unknown helper mode\n");
	return 127;
}
