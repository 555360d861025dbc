/* runner.c — `plue runner`: parses its options (no database: a runner
 * talks to the server only over HTTP) and runs the runner loop
 * (runner/runner.c). Workspaces live under DATA/runners/. */
#include "cmd/cmd.h"
#include "base/log.h"
#include "base/util.h"
#include "runner/runner.h"

#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cmd_runner(int argc, char **argv)
{
	char **rest;
	int nrest;
	if (opts_parse(runner_opts, argc, argv, &rest, &nrest))
		return 2;
	if (cfg.help) {
		opts_usage("plue runner [--standby] [--server-url URL] [options]", runner_opts);
		free(rest);
		return 0;
	}
	if (nrest) {
		fprintf(stderr, "error: unexpected argument '%s'\n", rest[0]);
		free(rest);
		return 2;
	}
	free(rest);
	enum log_level lvl;
	if (log_parse_level(&lvl, cfg.log_level)) {
		fprintf(stderr, "error: unknown log level '%s'\n", cfg.log_level);
		return 2;
	}
	log_set_level(lvl);
	if (!cfg.runner_secret || !*cfg.runner_secret) {
		fprintf(stderr, "error: the registration secret is missing (PLUE_RUNNER_SECRET)\n");
		return 2;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/runners", cfg.data_dir);
	if ((mkdir(cfg.data_dir, 0755) && errno != EEXIST) || (mkdir(dir, 0711) && errno != EEXIST)) {
		fprintf(stderr, "error: cannot create '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	char abs[PATH_MAX];
	if (!realpath(dir, abs)) {
		fprintf(stderr, "error: cannot resolve '%s'\n", dir);
		return 1;
	}
	if (!strcmp(cfg.sandbox, "none"))
		log_warn("PLUE_SANDBOX=none: workflow steps run UNSANDBOXED on this machine; "
			 "development only");
	git_libgit2_init();
	struct runner_cfg rc = {
		.server_url = cfg.server_url,
		.secret = cfg.runner_secret,
		.sandbox = cfg.sandbox,
		.work_dir = abs,
		.standby = cfg.standby,
		.cache_bytes = (uint64_t)cfg.runner_cache_mb << 20,
		.name = cfg.runner_name,
	};
	return runner_main(&rc);
}
