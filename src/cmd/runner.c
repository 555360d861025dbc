/* runner.c — placeholder for `plue runner` until the execution system lands. */
#include "cmd/cmd.h"

#include <stdio.h>

int cmd_runner(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "error: plue runner is not available in this build\n");
	return 1;
}
