/* ssh.h — git over SSH: the SSH server of `plue serve` (libssh's server
 * API). It runs `git upload-pack`, `git receive-pack` and
 * `git upload-archive` for users who authenticate with a public key
 * registered through /api/user/keys, under the same authorization, branch
 * protection and push recording as smart HTTP (git/transport.h).
 *
 * Threads: one accept thread, and one thread per connection, bounded by
 * cfg.ssh_max_connections (and cfg.ssh_per_ip_limit per address); a
 * connection over a limit is closed at once. A connection thread blocks on
 * its socket and its git child; database work (key lookup, repository
 * and authorization) runs on the worker pool (db.h: workers_run), so the
 * pool must outlive the SSH server.
 *
 * Host keys: DATA/ssh/ssh_host_ed25519_key and DATA/ssh/ssh_host_ecdsa_key
 * (OpenSSH private key format, mode 0600), created on the first start and
 * reused after, so clients' known_hosts entries stay valid. */
#ifndef PLUE_SSH_H
#define PLUE_SSH_H

#include "base/arena.h"
#include "base/err.h"

/* The command of an SSH `exec` request: which git service ("git-upload-pack",
 * "git-receive-pack" or "git-upload-archive": static), on which repository
 * (owner and name: arena-owned). */
struct ssh_command {
	const char *svc;
	const char *owner;
	const char *name;
};

/* Parses the command of an SSH `exec` request: "git-upload-pack
 * 'owner/repo.git'" (or "git upload-pack", "git-receive-pack",
 * "git-upload-archive"; the path quoted by git's shell rules or bare, with
 * or without a leading '/', a trailing '/' and the ".git") into *out.
 * Returns 0, or -1 for another command (out->svc NULL) or a path that is
 * not exactly owner/name (out->svc set). */
int sshd_command_parse(struct ssh_command *out, struct arena *a, const char *cmd);

/* Loads or creates the host keys, listens on cfg.ssh_listen:cfg.ssh_port
 * (port 0 picks a free one) and starts the accept thread. Returns 0, or
 * ERR_INTERNAL with e saying what failed (keys, address, port). */
int sshd_start(struct err *e);

/* The port listened on (after sshd_start), 0 when not started. */
int sshd_port(void);

/* Stops accepting, disconnects every connection (killing their git
 * children) and waits for their threads. Safe when not started. */
void sshd_stop(void);

#endif
