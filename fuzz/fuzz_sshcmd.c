/* fuzz_sshcmd.c — libFuzzer target for the command of an SSH exec request
 * (src/ssh/command.c): any text either names one git service and exactly
 * owner/name — both non-empty, neither with a '/' or a NUL — or is refused,
 * and a refusal of a path keeps the service it named. */
// fuzz-sources: src/ssh/command.c src/base/arena.c src/base/buf.c src/base/err.c src/base/util.c
// fuzz-options: -max_len=1024
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "ssh/ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cmd = malloc(size + 1);
	memcpy(cmd, data, size);
	cmd[size] = 0;
	struct arena *a = arena_new();
	struct ssh_command c = { 0 };
	int rc = sshd_command_parse(&c, a, cmd);
	const char *svc = c.svc, *owner = c.owner, *name = c.name;
	if (rc == 0) {
		if (!svc || !owner || !name || !*owner || !*name || strchr(owner, '/') ||
		    strchr(name, '/'))
			abort();
		if (strcmp(svc, "git-upload-pack") && strcmp(svc, "git-receive-pack") &&
		    strcmp(svc, "git-upload-archive"))
			abort();
		/* the command starts with the service it was parsed as */
		if (strncmp(cmd, "git", 3) || strncmp(cmd + 4, svc + 4, strlen(svc) - 4))
			abort();
	} else if (rc != -1) {
		abort();
	}
	arena_free(a);
	free(cmd);
	return 0;
}
