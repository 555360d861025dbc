/* workflow.c — placeholder for `plue workflow` until the workflow parser lands. */
#include "cmd/cmd.h"

#include <stdio.h>

int cmd_workflow(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "error: plue workflow is not available in this build\n");
	return 1;
}
