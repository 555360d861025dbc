/* cmd.h — the subcommands of the plue binary. Each takes the arguments
 * after its name and returns the process exit status. */
#ifndef PLUE_CMD_H
#define PLUE_CMD_H

#include "base/config.h"
#include "base/err.h"

int cmd_serve(int argc, char **argv);
int cmd_runner(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_workflow(int argc, char **argv);
int cmd_hook(int argc, char **argv);
int cmd_execd(int argc, char **argv);

/* Writes DATA/hooks/pre-receive (mode 0755), a script that execs this very
 * binary as `plue hook pre-receive` (cmd/hook.c); receive-pack runs it
 * through core.hooksPath. 0 or ERR_INTERNAL with e set. */
int hook_install(const char *data_dir, struct err *e);

/* Shared start-up: parse options, set the log level, make the data
 * directory absolute, connect (starting the embedded cluster unless
 * PLUE_DATABASE_URL is set) and migrate. Returns 0, 1 on failure, or 3
 * when --help was printed. */
int cmd_setup(const char *usage, const struct opt *opts, int argc, char **argv, char ***rest,
	      int *nrest);
/* Stops what cmd_setup started. */
void cmd_teardown(void);

#endif
