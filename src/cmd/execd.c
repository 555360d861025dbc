/* execd.c — `plue execd --socket PATH`: the daemon of a Kubernetes runner
 * pod's `exec` container, which runs the workload's commands for the
 * runner in the pod's other container (runner/sandbox_pod.c; the
 * protocol and the daemon are runner/sandbox_execd.c). No database, no
 * server, no secret: it only ever talks to the runner over the socket. */
#include "cmd/cmd.h"
#include "base/log.h"
#include "runner/sandbox.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_execd(int argc, char **argv)
{
	char **rest;
	int nrest;
	if (opts_parse(execd_opts, argc, argv, &rest, &nrest))
		return 2;
	free(rest);
	if (cfg.help) {
		opts_usage("plue execd [--socket PATH]", execd_opts);
		return 0;
	}
	if (nrest) {
		fprintf(stderr, "error: plue execd takes no arguments\n");
		return 2;
	}
	enum log_level lvl;
	if (log_parse_level(&lvl, cfg.log_level)) {
		fprintf(stderr, "error: unknown log level '%s'\n", cfg.log_level);
		return 2;
	}
	log_set_level(lvl);
	struct err e = { 0 };
	sandbox_execd_listen(cfg.execd_socket, &e);
	fprintf(stderr, "error: %s\n", e.msg);
	return e.code == ERR_INVALID ? 2 : 1;
}
