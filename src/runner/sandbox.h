/* sandbox.h — runs untrusted commands (workflow steps, agent tool commands)
 * isolated from the host: in gVisor (runsc) when it works, in bubblewrap
 * otherwise, or directly for development (PLUE_SANDBOX=none).
 *
 * A sandbox serves exactly one workload and is destroyed after it:
 *
 *   sandbox_detect(&kind, getenv("PLUE_SANDBOX"), &e);   once per process
 *   sandbox_create(&sb, kind, dir, &limits, &e);          before the claim
 *   ... claim; clone/fetch into sandbox_workspace(sb) on the host ...
 *   sandbox_workspace_sync(sb, &e);                       hand files over
 *   sandbox_exec(sb, &cmd, &res, &e);                     once per step
 *   sandbox_destroy(sb);                                  after the workload
 *
 * Inside, a command sees: a read-only root made of the host's /usr and the
 * merged-/usr links (/bin, /lib, /lib64, /sbin), and an /etc of the
 * sandbox's own (below) — nothing else of the host, so neither the server's
 * data directory nor other workspaces exist there; the workspace read-write
 * at /workspace; a private writable /tmp that lives as long as the sandbox;
 * /proc and a minimal /dev, no sysfs; no network but loopback unless the
 * sandbox was created with network (below); a non-root uid/gid unique to
 * the sandbox; only the environment the caller passes plus PATH and HOME.
 * docs/sandbox.md says what is enforced how.
 *
 * /etc, read-only, is exactly:
 *   - the sandbox's own passwd, group (root, nobody and "runner", the
 *     command's uid, home /tmp), nsswitch.conf (files, and dns for hosts),
 *     hosts (localhost and the hostname "plue");
 *   - resolv.conf naming the sandbox's DNS (10.0.2.3), with network only;
 *   - ld.so.preload naming the statx shim, under gVisor only;
 *   - from the host, each where the host has it: alternatives (the links
 *     behind cc, awk, editor, java, ...), ld.so.cache, ld.so.conf and
 *     ld.so.conf.d (the loader and the linker), localtime and timezone,
 *     os-release, protocols and services (getprotobyname and friends:
 *     perl's sockets), ssl/certs and ssl/openssl.cnf (TLS trust for
 *     OpenSSL, curl, git, python).
 * Nothing else: not the host's accounts, shadow, gitconfig, npmrc, pip.conf,
 * ssh configuration, machine-id or resolv.conf.
 *
 * Network, when granted: the sandbox has a network namespace of its own
 * (interfaces lo and tap0, 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3)
 * whose only way out is slirp4netns, and slirp4netns refuses the host's own
 * addresses, loopback, link-local (the metadata address 169.254.169.254),
 * private and other special ranges, except DNS to the host's nameservers
 * and the networks the operator lists in PLUE_SANDBOX_ALLOW_NETS (addresses
 * or CIDRs, comma-separated). A refused connection fails at once as
 * "connection refused". SANDBOX_NONE keeps the host's network.
 *
 * A command runs in its own session; timeout, cancel and the output cap
 * kill that session's processes. Processes a command leaves running in the
 * background (in another session) live until the sandbox is destroyed
 * under gVisor and SANDBOX_NONE; under bubblewrap every command gets fresh
 * namespaces and nothing outlives it.
 *
 * Thread safety: a sandbox is used by one thread at a time; different
 * sandboxes may be used from different threads at once. sandbox_exec blocks
 * its thread until the command ends and calls the callbacks on it.
 *
 * A new kind of sandbox is one file and one table entry: sandbox_KIND.c
 * defines its `const struct sandbox_ops sandbox_KIND_ops` (sandbox_impl.h says what
 * each operation must do; everything the kinds share stays in sandbox.c),
 * and the kinds table in sandbox.c lists it under its value, added to enum
 * sandbox_kind below. The table's order is the order "auto" tries the
 * isolated kinds in; sandbox_detect and sandbox_kind_name read their names
 * from it. */
#ifndef PLUE_RUNNER_SANDBOX_H
#define PLUE_RUNNER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

enum sandbox_kind {
	SANDBOX_GVISOR, /* runsc: a warm sandbox per workload; its execd
	                   starts each command */
	SANDBOX_BWRAP,  /* bubblewrap: fresh namespaces per command */
	SANDBOX_NONE,   /* no isolation at all: development only */
	SANDBOX_POD,    /* a Kubernetes runner pod: commands run in the pod's
	                   exec container, started by its execd over a Unix
	                   socket (sandbox_pod.c) */
};

/* Picks the kind to use from a setting: "auto" (also NULL or ""), "gvisor",
 * "bwrap", "none" or "pod" (never probed, never picked by "auto": see
 * sandbox_pod.c). "auto" runs a real probe command in gVisor and takes it
 * if it works, else probes bubblewrap; naming a kind probes that kind and
 * fails (ERR_UNAVAILABLE, with the reason) if it does not work here. "none"
 * never fails and logs a loud warning. Probing takes a few hundred
 * milliseconds: call once per process and keep the answer. Returns 0,
 * ERR_INVALID for an unknown setting or a PLUE_SANDBOX_ALLOW_NETS that does
 * not parse (slug "invalid_setting"), or ERR_UNAVAILABLE. */
int sandbox_detect(enum sandbox_kind *out, const char *setting, struct err *e);

/* "gvisor", "bwrap", "none" or "pod" (for logs and a run's metadata). */
const char *sandbox_kind_name(enum sandbox_kind kind);

/* Resource limits. In a limits struct passed to sandbox_create a field of 0
 * (or false) takes the built-in default below; in a sandbox_cmd a field of
 * 0 takes the sandbox's value. */
struct sandbox_limits {
	int64_t memory_bytes; /* memory a command may map (address space of each
	                         of its processes; in gVisor also the whole
	                         sandbox's memory) */
	int max_procs;        /* processes and threads alive at once */
	int64_t output_bytes; /* stdout + stderr bytes per command; past it the
	                         command is killed and output_truncated is set */
	int timeout_ms;       /* wall time per command; past it it is killed */
	bool network;         /* sandbox_create only: a network of the
	                         sandbox's own that reaches the outside but
	                         not the host (see above) instead of loopback
	                         only. Fixed for the sandbox's lifetime; a
	                         command asking for network in a sandbox made
	                         without it fails with ERR_PERM. */
};

#define SANDBOX_DEFAULT_MEMORY (2LL << 30)       /* 2 GiB */
#define SANDBOX_DEFAULT_PROCS 512
#define SANDBOX_DEFAULT_OUTPUT (64LL << 20)      /* 64 MiB */
#define SANDBOX_DEFAULT_TIMEOUT (60 * 60 * 1000) /* 1 hour */

/* Longest line handed to on_output; longer lines arrive in pieces of this
 * size. */
#define SANDBOX_LINE_MAX 8192

enum { SANDBOX_STDOUT = 1, SANDBOX_STDERR = 2 };

struct sandbox_cmd {
	/* NULL-terminated; argv[0] is looked up in PATH inside the sandbox.
	 * E.g. {"bash", "-e", "-o", "pipefail", "-c", script, NULL}. */
	const char *const *argv;
	/* NULL-terminated "KEY=VALUE" strings, or NULL. This is the whole
	 * environment of the command apart from PATH (a standard one unless
	 * given here) and HOME (/tmp unless given here); nothing of the
	 * runner's environment leaks in. */
	const char *const *env;
	/* Working directory relative to the workspace ("" or NULL: its root).
	 * Must not be absolute nor contain a ".." component (ERR_INVALID); it
	 * is created if missing. */
	const char *cwd;
	/* Standard input, or NULL for an empty one (the command reads EOF). */
	const char *input;
	size_t input_len;
	/* Per-command limits; NULL or 0 fields: the sandbox's. */
	const struct sandbox_limits *limits;
	/* Called on the sandbox_exec thread for every line, in the order the
	 * command wrote them on each stream (lines of different streams are
	 * ordered by arrival). line is not NUL-terminated and has no trailing
	 * newline; a last line without newline is delivered at the end. May be
	 * NULL to discard output. */
	void (*on_output)(void *cls, int stream, const char *line, size_t len);
	/* Polled at least every 100 ms; nonzero kills the command (it is gone
	 * within a second) and sandbox_exec returns with res->cancelled set.
	 * May be NULL. */
	int (*cancelled)(void *cls);
	void *cls;
};

struct sandbox_result {
	int exit_code;         /* 0..255 as a shell reports it: the exit status,
	                          or 128+N when signal N ended the command */
	int signal;            /* N when a signal ended it (for gVisor inferred
	                          from a status above 128), else 0 */
	bool timed_out;        /* killed by timeout_ms */
	bool cancelled;        /* killed because cancelled() said so */
	bool output_truncated; /* killed because output passed output_bytes */
	bool limit_hit;        /* best effort: it ran into the memory or process
	                          limit (killed by the OOM killer, or a fork or
	                          allocation failed because of a limit) */
	int64_t duration_ms;   /* wall time of the command, sandbox overhead
	                          included */
	int64_t output_bytes;  /* bytes delivered to on_output (newlines
	                          included) */
};

struct sandbox;

/* Starts a sandbox of kind for one workload, with workspace_dir (created if
 * missing, must be a directory the caller may chown; it should be empty) as
 * its /workspace. defaults may be NULL. For gVisor the sandbox is running
 * when this returns (its execd waits; commands then only pay for a
 * fork and exec inside it); for bubblewrap it prepares the sandbox's
 * private state. The workspace is handed to the sandbox's uid (mode 0700).
 * Returns 0, ERR_INVALID (bad workspace, or a bad PLUE_SANDBOX_ALLOW_NETS
 * for a sandbox with network) or ERR_UNAVAILABLE (the sandbox would not
 * start; the message says why). *out is NULL on failure. */
int sandbox_create(struct sandbox **out, enum sandbox_kind kind, const char *workspace_dir,
		   const struct sandbox_limits *defaults, struct err *e);

/* What a caller does to the workspace once the sandbox's uid is known and
 * before the sandbox starts (gVisor binds the workspace at start; a mount
 * made on it later would stay unseen): e.g. mount, on workspace_dir, an
 * overlay whose files appear owned by uid:gid (the runner's checkout,
 * job.c). Returns 0, or an error code with the message in e, which
 * sandbox_create then returns. */
struct sandbox_workspace_prep {
	int (*prepare)(void *cls, const char *workspace_dir, uid_t uid, gid_t gid, struct err *e);
	void *cls;
};

/* sandbox_create, calling prep->prepare (prep may be NULL) on the workspace
 * directory after the sandbox's uid is chosen and before the workspace is
 * handed to it. */
int sandbox_create_prepared(struct sandbox **out, enum sandbox_kind kind, const char *workspace_dir,
			    const struct sandbox_limits *defaults,
			    const struct sandbox_workspace_prep *prep, struct err *e);

/* Runs cmd in the sandbox and waits for it (see struct sandbox_cmd for
 * output, cancel and limits). A command that ran — whatever its exit code,
 * timeout, cancel or limit — returns 0 with *res filled; a failure to run it
 * at all returns ERR_INVALID (bad cwd, empty argv), ERR_PERM (network asked
 * of a sandbox without it) or ERR_UNAVAILABLE (the sandbox is gone, e.g. the
 * gVisor sandbox died; the caller should fail the workload). */
int sandbox_exec(struct sandbox *sb, const struct sandbox_cmd *cmd, struct sandbox_result *res,
		 struct err *e);

/* Hands every file under the workspace to the sandbox's uid/gid. Call it
 * after the runner wrote into the workspace from the host side (git clone
 * or fetch as the runner's user) and before the next sandbox_exec, so the
 * command can modify those files. Symbolic links are not followed. Returns
 * 0 or ERR_INTERNAL. */
int sandbox_workspace_sync(struct sandbox *sb, struct err *e);

/* The workspace directory on the host (absolute). */
const char *sandbox_workspace(const struct sandbox *sb);
/* The workspace as commands see it: "/workspace", or the host directory for
 * SANDBOX_NONE (for variables such as the job's workspace path). */
const char *sandbox_workspace_inside(const struct sandbox *sb);
/* A name for logs, unique on this machine ("plue-" and hex); for gVisor
 * also the runsc container id. */
const char *sandbox_id(const struct sandbox *sb);
/* The sandbox's kind. */
enum sandbox_kind sandbox_kind_of(const struct sandbox *sb);
/* The uid and gid commands run as (the host's numbering; the runner's own
 * ids for SANDBOX_NONE). */
uid_t sandbox_uid(const struct sandbox *sb);
gid_t sandbox_gid(const struct sandbox *sb);

/* `plue execd --socket PATH` (the exec container of a runner pod, see
 * sandbox_pod.c): listens on the Unix socket path, serves the first
 * connection with execd's protocol, running each command as this process's
 * own user (which must not be root) in /workspace, and exits when that
 * connection ends. Returns only on failure: ERR_INVALID (root, a bad
 * path) or ERR_UNAVAILABLE, with why in e. */
int sandbox_execd_listen(const char *path, struct err *e);

/* Kills everything still running in the sandbox, removes the gVisor
 * container, stops its network (slirp4netns) and removes the sandbox's
 * private state (/tmp, bundle, /etc). The workspace directory is left for
 * the caller to remove. Accepts NULL. */
void sandbox_destroy(struct sandbox *sb);

#endif
