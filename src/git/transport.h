/* transport.h — what the git transports (smart HTTP in git/smart_http.c,
 * SSH in ssh/ssh.c) share: how `git upload-pack`, `git receive-pack` and
 * `git upload-archive` are spawned (argv, receive configuration, the
 * pre-receive hook's environment), the ref-update commands read from a
 * push's first pkt-lines, and how a push is recorded. One code path, so
 * a push over SSH has exactly the effects of a push over HTTP. */
#ifndef PLUE_GIT_TRANSPORT_H
#define PLUE_GIT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "auth/identity.h"
#include "base/arena.h"
#include "base/buf.h"
#include "db/db.h"
#include "forge/repo.h"

/* One "<old> <new> <ref>" command of a push. */
struct git_ref_update {
	char old_sha[41], new_sha[41];
	char *ref; /* owned (malloc) */
};

/* The commands of one push, parsed incrementally from the bytes sent to
 * receive-pack: fed everything, it stops at the flush that ends the list
 * (or at anything that is not a pkt-line) and ignores the pack after it.
 * At most 4096 commands are kept; parsing holds at most 1 MiB. */
struct git_push_cmds {
	bool done;
	struct buf buf;
	struct git_ref_update *cmds; /* n of them (cap allocated) */
	size_t n, cap;
};

void git_push_cmds_init(struct git_push_cmds *p);
/* Feeds bytes as they go to receive-pack (any split). */
void git_push_cmds_feed(struct git_push_cmds *p, const char *data, size_t len);
/* Frees what init and feed allocated; p may be reused after init. */
void git_push_cmds_release(struct git_push_cmds *p);

/* A git child process: its pid and the parent's ends of its stdin
 * (in_fd), stdout (out_fd) and stderr (err_fd) pipes, all close-on-exec
 * and blocking. The caller closes them and reaps the pid. */
struct git_child {
	pid_t pid;
	int in_fd, out_fd, err_fd;
};

/* Spawns `git [-c ...] SERVICE [--stateless-rpc] PATH` for svc
 * ("git-upload-pack", "git-receive-pack" or "git-upload-archive") on
 * repo into *out. A receive-pack runs with the hooks path (branch
 * protection, cmd/hook.c), repo_store_receive_config, and PLUE_REPO_ID,
 * PLUE_PUSHER_ID (pusher->user_id) and PLUE_DB in its environment; an
 * upload-pack with the pack cache's hook (git/packcache.h); nothing else
 * of the server's environment passes. protocol ("version=1" or
 * "version=2", anything else ignored; NULL: v0) becomes GIT_PROTOCOL.
 * Strings are allocated on a. Returns 0, or -1 with errno. */
int git_service_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
		      const struct auth *pusher, const char *svc, bool stateless,
		      const char *protocol);

/* `git upload-pack --stateless-rpc PATH` as git_service_spawn, with the
 * pack cache's hook only when pack_cache is true. */
int git_upload_pack_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
			  const char *protocol, bool pack_cache);

/* Spawns `git SERVICE --stateless-rpc --advertise-refs PATH` for svc
 * ("git-upload-pack" or "git-receive-pack") on repo into *out: the ref
 * advertisement of smart HTTP's first request, in the same scrubbed
 * environment as git_service_spawn (protocol likewise). Returns 0, or -1
 * with errno. */
int git_advertise_spawn(struct git_child *out, struct arena *a, const struct repo *repo,
			const char *svc, const char *protocol);

/* Records a finished push on a worker's connection db: the commands that
 * took effect (the ref now holds what was asked) go to push_record
 * (forge/push.h: branches, one `push` event per ref, pull requests
 * following their branches, the pushed commits' pusher, a first push's
 * default branch) in one transaction, then maintain_note_push. Failures
 * are logged (the push itself has happened); db NULL logs that nothing
 * was recorded. */
void git_push_record(PGconn *db, const struct repo *repo, const struct auth *pusher,
		     const struct git_push_cmds *p);

#endif
