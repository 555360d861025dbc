/* plue.c — the one binary: subcommand dispatch. */
#include "base/config.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "git/packcache.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve, "run the server (HTTP, git, API, dispatcher, warm pool)" },
	{ "runner", cmd_runner, "run a workload runner" },
	{ "execd", cmd_execd, "run a runner pod's steps: the exec container's daemon" },
	{ "migrate", cmd_migrate, "apply database migrations and exit" },
	{ "admin", cmd_admin, "create users and tokens; run repository housekeeping" },
	{ "workflow", cmd_workflow, "workflow tools: lint FILE" },
	{ "hook", cmd_hook, "git hooks run by receive-pack: pre-receive" },
	{ "pack-objects-hook", packcache_hook_main,
	  "run by upload-pack: serve identical fetches from the pack cache" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: plue COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`plue COMMAND --help` lists each command's options and PLUE_* variables.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
