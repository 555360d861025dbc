/* pool.c — the local warm pool: `plue serve` keeps PLUE_WARM_POOL
 * `plue runner --standby` children alive, restarting those that exit (with
 * a growing delay when they keep dying at once). Children get the server
 * URL, the registration secret, the sandbox setting and the data directory
 * through their environment, and SIGHUP when the server's pool thread
 * goes away. On shutdown each child gets SIGTERM: an idle runner exits at
 * once, a busy one finishes its workload first.
 *
 * Replicas: each `plue serve` keeps its own children (local mode is for one
 * machine; --warm-pool 0 on a replica runs none); runners of any replica
 * claim from the one shared queue. */
#include "queue/pool.h"
#include "base/config.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "queue/queue.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct child {
	pid_t pid;
	int64_t started_ms;
	int64_t restart_at_ms; /* when a crashed slot may start again */
	int fails;             /* quick deaths in a row */
};

static struct bg_thread thread;
static struct child *kids;
static int nkids;
static char *server_url;

static pid_t spawn(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	/* the environment, built before fork (the server has threads) */
	const char *over[] = { "PLUE_SERVER_URL",
			       "PLUE_RUNNER_SECRET",
			       "PLUE_SANDBOX",
			       "PLUE_DATA_DIR",
			       "PLUE_LOG_LEVEL",
			       "PLUE_STANDBY",
			       NULL };
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **envp = xcalloc(ne + 8, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < ne; i++) {
		bool skip = false;
		for (int j = 0; over[j]; j++) {
			size_t l = strlen(over[j]);
			if (!strncmp(environ[i], over[j], l) && environ[i][l] == '=')
				skip = true;
		}
		/* the database, the metrics token, the model provider's key and
		 * the pool's own settings are not the runner's business */
		if (!strncmp(environ[i], "PLUE_DATABASE_URL=", 18) ||
		    !strncmp(environ[i], "PLUE_LLM_", 9) ||
		    !strncmp(environ[i], "PLUE_METRICS_TOKEN=", 19) ||
		    !strncmp(environ[i], "PLUE_WARM_POOL=", 15))
			skip = true;
		if (!skip)
			envp[k++] = environ[i];
	}
	char *mine[6];
	mine[0] = xasprintf("PLUE_SERVER_URL=%s", server_url);
	mine[1] = xasprintf("PLUE_RUNNER_SECRET=%s", queue_runner_secret());
	mine[2] = xasprintf("PLUE_SANDBOX=%s", cfg.sandbox ? cfg.sandbox : "auto");
	mine[3] = xasprintf("PLUE_DATA_DIR=%s", cfg.data_abs ? cfg.data_abs : cfg.data_dir);
	mine[4] = xasprintf("PLUE_LOG_LEVEL=%s", cfg.log_level ? cfg.log_level : "info");
	mine[5] = xasprintf("PLUE_STANDBY=true");
	for (int j = 0; j < 6; j++)
		envp[k++] = mine[j];
	char *argv[] = { exe, "runner", NULL };
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* the pool thread's death (the server's) stops the runner; SIGHUP,
		 * not a second SIGTERM, which would make it abandon its workload */
		prctl(PR_SET_PDEATHSIG, SIGHUP);
		if (getppid() != parent)
			_exit(0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(exe, argv, envp);
		_exit(127);
	}
	for (int j = 0; j < 6; j++)
		free(mine[j]);
	free(envp);
	return pid;
}

static void pool_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	while (!bg_stopping(t)) {
		int64_t now = now_ms();
		for (int i = 0; i < nkids; i++) {
			struct child *c = &kids[i];
			if (c->pid > 0) {
				int status;
				pid_t r = waitpid(c->pid, &status, WNOHANG);
				if (r == c->pid) {
					bool quick = now - c->started_ms < 5000;
					c->fails = quick ? c->fails + 1 : 0;
					int delay = c->fails ? (c->fails > 5 ? 30000
									     : 500 << c->fails)
							     : 0;
					c->restart_at_ms = now + delay;
					if (WIFEXITED(status))
						log_info("runner (pid %d) exited with %d%s",
							 (int)c->pid, WEXITSTATUS(status),
							 delay ? "; restarting later" : "");
					else
						log_warn("runner (pid %d) died of signal %d",
							 (int)c->pid, WTERMSIG(status));
					c->pid = 0;
				}
			}
			if (c->pid <= 0 && now >= c->restart_at_ms) {
				c->pid = spawn();
				c->started_ms = now;
				if (c->pid < 0) {
					log_error("cannot start a runner: %s", strerror(errno));
					c->restart_at_ms = now + 5000;
				}
			}
		}
		bg_wait(t, 250);
	}
	/* shutdown: ask every runner to stop; idle ones exit within moments */
	for (int i = 0; i < nkids; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	int64_t end = now_ms() + 3000;
	for (int i = 0; i < nkids; i++) {
		while (kids[i].pid > 0 && now_ms() < end) {
			int status;
			if (waitpid(kids[i].pid, &status, WNOHANG) == kids[i].pid)
				kids[i].pid = 0;
			else
				usleep(20 * 1000);
		}
		if (kids[i].pid > 0)
			log_info("runner (pid %d) is finishing its workload", (int)kids[i].pid);
	}
}

int pool_start(int size, const char *url)
{
	if (size <= 0)
		return 0;
	server_url = xstrdup(url);
	nkids = size;
	kids = xcalloc((size_t)size, sizeof(*kids));
	if (bg_start(&thread, "warm pool", pool_main, NULL))
		return -1;
	log_info("warm pool: %d standby runner%s (sandbox %s)", size, size == 1 ? "" : "s",
		 cfg.sandbox ? cfg.sandbox : "auto");
	return 0;
}

void pool_stop(void)
{
	if (!bg_running(&thread))
		return;
	bg_stop(&thread);
	free(kids);
	kids = NULL;
	free(server_url);
	server_url = NULL;
}
