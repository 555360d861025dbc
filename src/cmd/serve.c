/* serve.c — `plue serve`: the HTTP server, its worker pool, and the
 * background services, until SIGINT or SIGTERM. */
#include "cmd/cmd.h"
#include "base/cache.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "db/db.h"
#include "api/api.h"
#include "git/maintain.h"
#include "http/http.h"
#include "http/sse.h"
#include "queue/dispatcher.h"
#include "queue/pool.h"
#include "queue/agent.h"
#include "queue/queue.h"
#include "queue/relay.h"
#include "queue/webhooks.h"
#include "ssh/ssh.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_serve(int argc, char **argv)
{
	/* Block the stop signals before any thread starts so only sigwait sees
	 * them; git pipes may close under us, so SIGPIPE is ignored. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	char **rest;
	int nrest;
	int rc = cmd_setup("plue serve [options]", serve_opts, argc, argv, &rest, &nrest);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (nrest) {
		fprintf(stderr, "error: unexpected argument '%s'\n", rest[0]);
		free(rest);
		cmd_teardown();
		return 2;
	}
	free(rest);
	if (cfg.conn_memory_kb < 4 || cfg.conn_memory_kb > 1024) {
		fprintf(stderr,
			"error: --conn-memory-kb (PLUE_CONN_MEMORY_KB) must be between 4 and 1024, "
			"not %d\n",
			cfg.conn_memory_kb);
		cmd_teardown();
		return 2;
	}
	if (!strcmp(cfg.sandbox, "none"))
		log_warn("PLUE_SANDBOX=none: workflow steps run UNSANDBOXED on this machine; "
			 "development only");
	bool k8s = !strcmp(cfg.runner_mode, "kubernetes");
	if (!k8s && strcmp(cfg.runner_mode, "local")) {
		fprintf(stderr,
			"error: --runner-mode (PLUE_RUNNER_MODE): '%s' is not local or "
			"kubernetes\n",
			cfg.runner_mode);
		cmd_teardown();
		return 2;
	}

	struct err he = { 0 };
	if (hook_install(cfg.data_abs, &he)) { /* branch protection on pushes */
		log_error("%s", he.msg);
		cmd_teardown();
		return 1;
	}
	cache_init((size_t)cfg.cache_mb << 20);
	metrics_enable(cfg.metrics_token && *cfg.metrics_token); /* GET /metrics: docs/metrics.md */
	/* runner pods (queue/pool_k8s.c): their options are checked before
	 * anything listens; pods that start early wait for the server */
	struct err ke = { 0 };
	if (k8s && pool_k8s_start(cfg.warm_pool, &ke)) {
		fprintf(stderr, "error: %s\n", ke.msg);
		cmd_teardown();
		return ke.code == ERR_INVALID ? 2 : 1;
	}
	workers_start(cfg.workers > 0 ? cfg.workers : 1);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct server_opts so = {
		.app = &api_app,
		.listen_addr = cfg.listen,
		.port = cfg.port,
		.threads = cfg.threads > 0 ? cfg.threads : (int)(ncpu > 0 ? ncpu : 1),
		.workers = cfg.workers,
		.max_connections = cfg.max_connections,
		.per_ip_limit = cfg.per_ip_limit,
		.timeout_s = cfg.timeout,
		/* MHD zeroes it between keep-alive requests */
		.conn_memory = (size_t)cfg.conn_memory_kb * 1024,
	};
	if (server_start(&so)) {
		pool_k8s_stop();
		workers_stop();
		cmd_teardown();
		return 1;
	}
	/* git over SSH, when an address is configured (ssh/ssh.h) */
	struct err sshe = { 0 };
	if (cfg.ssh_listen && *cfg.ssh_listen && sshd_start(&sshe)) {
		log_error("%s", sshe.msg);
		pool_k8s_stop();
		server_stop();
		workers_stop();
		cmd_teardown();
		return 1;
	}
	char *own_url = NULL;
	if (!cfg.public_url || !*cfg.public_url)
		cfg.public_url = own_url = xasprintf("http://%s:%d", cfg.listen, server_port());
	log_info("plue listening on http://%s:%d (public url %s)", cfg.listen, server_port(),
		 cfg.public_url);
	/* execution: SSE keepalives, claims and the reaper, the dispatcher and
	 * scheduler, and the local warm pool */
	if (sse_start() || relay_start() || queue_start() || dispatcher_start())
		log_error("cannot start the execution services");
	if (webhooks_start()) /* outgoing webhooks: fan-out and delivery workers */
		log_error("cannot start the webhook services");
	if (maintain_start()) /* repository housekeeping (git/maintain.h) */
		log_error("cannot start the housekeeping scheduler");
	if (!k8s && cfg.warm_pool > 0) {
		char *runner_url = xasprintf("http://%s:%d",
					     strcmp(cfg.listen, "0.0.0.0") ? cfg.listen : "127.0.0.1",
					     server_port());
		pool_start(cfg.warm_pool, runner_url);
		free(runner_url);
	}
	/* lines for scripts that start the server on port 0 */
	if (sshd_port())
		printf("ssh listening on %s:%d\n", cfg.ssh_listen, sshd_port());
	printf("listening on %s:%d\n", cfg.listen, server_port());
	/* and one for people: where the pages are */
	printf("open %s/ in a browser\n", cfg.public_url);
	fflush(stdout);

	int sig = 0;
	sigwait(&stop, &sig);
	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	sshd_stop();
	pool_stop();
	pool_k8s_stop();
	maintain_stop();
	webhooks_stop();
	dispatcher_stop();
	queue_stop();
	agent_abort_all();
	sse_close_all();
	server_stop();
	agent_stop();
	relay_stop();
	sse_stop();
	workers_stop();
	cmd_teardown();
	free(own_url);
	log_info("stopped");
	return 0;
}
