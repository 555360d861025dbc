/* transport.c — what the git transports share (see transport.h): spawning
 * git's services with an argv and a scrubbed environment, and reading the
 * ref-update commands from the first pkt-lines of a push. */
#include "git/transport.h"
#include "base/config.h"
#include "base/util.h"
#include "git/packcache.h"
#include "git/store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_COMMANDS 4096 /* ref updates recorded per push */

/* ---- spawning ---- */

/* The child's environment: nothing of ours leaks (no PLUE_*, no secrets),
 * except, for a push, what the pre-receive hook (cmd/hook.c) needs to
 * check branch protection: the repository, the pusher, the database, and
 * whether an agent pushes.
 * GIT_PROTOCOL only when the client asked for version 1 or 2. */
static char **git_env(struct arena *a, const char *protocol, const struct repo *repo,
		      const struct auth *pusher)
{
	char **env = arena_alloc(a, 12 * sizeof(char *));
	size_t n = 0;
	env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	env[n++] = "HOME=/nonexistent";
	env[n++] = "GIT_CONFIG_NOSYSTEM=1";
	env[n++] = "LC_ALL=C";
	if (protocol && (!strcmp(protocol, "version=2") || !strcmp(protocol, "version=1")))
		env[n++] = arena_printf(a, "GIT_PROTOCOL=%s", protocol);
	if (pusher) {
		env[n++] = arena_printf(a, "PLUE_REPO_ID=%lld", (long long)repo->id);
		env[n++] = arena_printf(a, "PLUE_PUSHER_ID=%lld", (long long)pusher->user_id);
		env[n++] = arena_printf(a, "PLUE_DB=%s", db_conninfo());
		/* an agent pushes only its own branches (cmd/hook.c) */
		if (pusher->via == AUTH_TASK && pusher->task_agent)
			env[n++] = "PLUE_AGENT_PUSH=1";
	}
	env[n] = NULL;
	return env;
}

static int spawn_git(struct git_child *out, char *const argv[], char *const envp[])
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int rc = -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
		goto done;
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none); /* the server blocks SIGINT/SIGTERM */
	sigset_t defs;
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	posix_spawnattr_setsigdefault(&at, &defs);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int e = posix_spawnp(&out->pid, argv[0], &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	if (e) {
		errno = e;
		goto done;
	}
	out->in_fd = pin[1];
	out->out_fd = pout[0];
	out->err_fd = perr[0];
	pin[1] = pout[0] = perr[0] = -1;
	rc = 0;
done:
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return rc;
}

static int service_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
			 const struct auth *pusher, const char *svc, bool stateless,
			 const char *protocol, bool pack_cache)
{
	bool receive = !strcmp(svc, "git-receive-pack");
	/* pushes run DATA/hooks/pre-receive: branch protection (cmd/hook.c),
	 * and check the objects they bring by the rules in git/store.h */
	char *hooks = arena_printf(a, "core.hooksPath=%s/hooks", cfg.data_abs);
	size_t ncfg = 0;
	while (receive && repo_store_receive_config[ncfg])
		ncfg++;
	char **argv = arena_alloc(a, (2 * ncfg + 9) * sizeof(char *));
	size_t argc = 0;
	argv[argc++] = "git";
	argv[argc++] = "-c";
	argv[argc++] = hooks;
	for (size_t i = 0; i < ncfg; i++) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)repo_store_receive_config[i];
	}
	/* fetches: identical requests share one pack (git/packcache.h) */
	const char *pack_hook = !pack_cache || strcmp(svc, "git-upload-pack")
					? NULL
					: packcache_hook_config(a);
	if (pack_hook) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)pack_hook;
	}
	argv[argc++] = (char *)(svc + 4);
	if (stateless)
		argv[argc++] = "--stateless-rpc";
	argv[argc++] = (char *)repo->disk_path;
	argv[argc] = NULL;
	return spawn_git(out, argv, git_env(a, protocol, repo, receive ? pusher : NULL));
}

int git_service_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
		      const struct auth *pusher, const char *svc, bool stateless,
		      const char *protocol)
{
	return service_spawn(out, a, repo, pusher, svc, stateless, protocol, true);
}

int git_upload_pack_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
			  const char *protocol, bool pack_cache)
{
	return service_spawn(out, a, repo, NULL, "git-upload-pack", true, protocol, pack_cache);
}

int git_advertise_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
			const char *svc, const char *protocol)
{
	char *argv[] = { "git",
			 (char *)(svc + 4),
			 "--stateless-rpc",
			 "--advertise-refs",
			 (char *)repo->disk_path,
			 NULL };
	return spawn_git(out, argv, git_env(a, protocol, NULL, NULL));
}

/* ---- the commands of a push ---- */

/* Parses complete pkt-lines from buf until the flush that ends the
 * command list. Lines: "<old> <new> <ref>[\0caps]\n"; "shallow" lines and
 * anything else are skipped. */
static void parse_commands(struct git_push_cmds *g)
{
	size_t off = 0;
	while (!g->done && g->buf.len - off >= 4) {
		unsigned char len4[3] = { 0 };
		if (hex_decode(len4, g->buf.ptr + off, 2)) {
			g->done = true; /* not pkt-lines: let receive-pack complain */
			break;
		}
		size_t len = (size_t)len4[0] << 8 | len4[1];
		if (len < 4) { /* 0000: the flush that ends the list */
			g->done = true;
			break;
		}
		if (g->buf.len - off < len)
			break;
		const char *p = g->buf.ptr + off + 4;
		size_t n = len - 4;
		if (n > 83 && p[40] == ' ' && p[81] == ' ' && g->n < MAX_COMMANDS) {
			if (g->n == g->cap) {
				g->cap = g->cap ? 2 * g->cap : 8;
				g->cmds = xrealloc(g->cmds, g->cap * sizeof(*g->cmds));
			}
			size_t rl = 0;
			while (82 + rl < n && p[82 + rl] != '\0' && p[82 + rl] != '\n')
				rl++;
			struct git_ref_update *u = &g->cmds[g->n];
			memcpy(u->old_sha, p, 40);
			u->old_sha[40] = '\0';
			memcpy(u->new_sha, p + 41, 40);
			u->new_sha[40] = '\0';
			u->ref = xstrndup(p + 82, rl);
			if (is_sha1_hex(u->old_sha) && is_sha1_hex(u->new_sha))
				g->n++;
			else
				free(u->ref);
		}
		off += len;
	}
	if (g->done || g->buf.len > 1 << 20) {
		g->done = true;
		buf_release(&g->buf);
		return;
	}
	if (off) {
		memmove(g->buf.ptr, g->buf.ptr + off, g->buf.len - off);
		buf_setlen(&g->buf, g->buf.len - off);
	}
}

void git_push_cmds_init(struct git_push_cmds *p)
{
	p->done = false;
	buf_init(&p->buf, 0);
	p->cmds = NULL;
	p->n = p->cap = 0;
}

void git_push_cmds_feed(struct git_push_cmds *p, const char *data, size_t len)
{
	if (p->done || !len)
		return;
	buf_add(&p->buf, data, len);
	parse_commands(p);
}

void git_push_cmds_release(struct git_push_cmds *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->cmds[i].ref);
	free(p->cmds);
	p->cmds = NULL;
	p->n = p->cap = 0;
	buf_release(&p->buf);
}
