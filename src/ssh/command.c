/* command.c — the one command an SSH client may run: which git service,
 * on which repository. Kept apart from the server (ssh.c) so that it is a
 * pure function of the text, for the fuzzer (fuzz/fuzz_sshcmd.c). */
#include "ssh/ssh.h"

#include <string.h>

static const char *const services[] = { "git-upload-pack", "git-receive-pack", "git-upload-archive",
					NULL };

int sshd_command_parse(struct ssh_command *out, struct arena *a, const char *cmd)
{
	const char **svc = &out->svc;
	*svc = NULL;
	size_t n = 0;
	for (size_t i = 0; services[i]; i++) {
		size_t l = strlen(services[i]);
		if (!strncmp(cmd, services[i], l) && cmd[l] == ' ') {
			*svc = services[i];
			n = l;
		} else if (!strncmp(cmd, "git ", 4) && !strncmp(cmd + 4, services[i] + 4, l - 4) &&
			   cmd[l] == ' ') {
			*svc = services[i];
			n = l;
		}
	}
	if (!*svc)
		return -1;
	const char *p = cmd + n;
	while (*p == ' ')
		p++;
	/* unquote: 'a'\''b' → a'b, as git's sq_quote writes it */
	char *path = arena_alloc(a, strlen(p) + 1);
	size_t k = 0;
	while (*p) {
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'')
				path[k++] = *p++;
			if (*p != '\'')
				return -1;
			p++;
		} else if (*p == '\\' && p[1]) {
			path[k++] = p[1];
			p += 2;
		} else if (*p == ' ') {
			return -1; /* a second argument */
		} else {
			path[k++] = *p++;
		}
	}
	path[k] = '\0';
	char *s = path;
	if (*s == '/')
		s++;
	size_t len = strlen(s);
	if (len > 0 && s[len - 1] == '/')
		s[--len] = '\0';
	if (len > 4 && !strcmp(s + len - 4, ".git"))
		s[len -= 4] = '\0';
	char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return -1;
	*slash = '\0';
	out->owner = s;
	out->name = slash + 1;
	return 0;
}
