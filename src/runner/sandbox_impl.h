/* sandbox_impl.h — what the sandbox kinds (sandbox_gvisor.c,
 * sandbox_bwrap.c, sandbox_none.c, sandbox_pod.c) and the common code
 * (sandbox.c, sandbox_execd_client.c) share.
 * Not for use outside src/runner/sandbox*.c. */
#ifndef PLUE_RUNNER_SANDBOX_IMPL_H
#define PLUE_RUNNER_SANDBOX_IMPL_H

#include "runner/sandbox.h"

#include "base/buf.h"

/* The helper: the running executable, which wraps every command under
 * bubblewrap and none (sandbox_helper.c). Inside bubblewrap it is
 * bind-mounted read-only at this path; it recognises its role by argv[0]
 * being exactly this path. */
#define SANDBOX_HELPER_PATH "/.plue/sandbox-init"
/* Where the workspace appears inside gVisor and bubblewrap. */
#define SANDBOX_WORKSPACE "/workspace"
/* execd's socket in a runner pod (the `control` volume), unless
 * PLUE_EXECD_SOCKET names another (sandbox_pod.c). */
#define SANDBOX_POD_SOCKET "/run/plue/execd.sock"
/* PATH when the caller passes none. */
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The statx shim inside a gVisor sandbox, named in its /etc/ld.so.preload
 * (see sandbox_gvisor.c). */
#define SANDBOX_STATX_SHIM "/.plue/statx.so"

struct sandbox {
	enum sandbox_kind kind;
	const struct sandbox_ops *ops; /* the kind's operations */
	char *id;                      /* "plue-" + hex: runsc container id, cgroup name */
	const char *state_root;        /* sandbox_state_root() */
	char *dir;                     /* private state directory (bundle, /tmp, process files) */
	char *workspace;               /* absolute host path */
	char *helper;                  /* host path of the helper executable */
	uid_t uid;
	gid_t gid;
	char *uid_claim;                 /* file that reserves uid among runners, or NULL */
	struct sandbox_limits limits;    /* defaults, all fields set */
	bool dead;                       /* gVisor: the sandbox stopped (e.g. killed for memory) */
	pid_t sandbox_pid;               /* gVisor: the runsc-sandbox process */
	pid_t *pgids;                    /* SANDBOX_NONE: sessions started, killed on destroy */
	size_t npgids;
	char *cg_memory;                 /* bwrap as root on cgroup v1: the sandbox's memory */
	char *cg_pids;                   /* and pids cgroups (nested in the runner's), or NULL */
	long long cg_ooms, cg_pid_maxes; /* their event counters before a command */
	char *bind_ws;                   /* bwrap as root: where the workspace and the helper */
	char *bind_helper;               /* are bound, in a traversable place (see there) */
	/* gVisor: the pipes to execd (sandbox_execd.c), -1 when closed */
	int execd_in;           /* frames to execd (its stdin) */
	int execd_out;          /* frames from execd (its stdout) */
	uint32_t execd_seq;     /* id of the last command sent */
	struct buf *execd_rbuf; /* bytes read from execd_out, not yet a frame */
	char **etc_binds;       /* host paths under /etc bound read-only at the same
	                     place over the sandbox's own /etc (NULL-terminated) */
	/* network (sandbox_net.c), when limits.network: */
	int net_fd;          /* the sandbox's network namespace, -1 without */
	int net_userns_fd;   /* a runner that is not root: the user namespace
	                      that owns it, which a command joins first; -1 */
	pid_t net_pid;       /* slirp4netns, its only way out */
	int net_exit;        /* slirp4netns ends when this pipe closes */
	uid_t net_uid;       /* slirp4netns runs as this uid */
	char *net_uid_claim; /* reserves net_uid, or NULL */
};

/* How one command is started under bubblewrap and none: argv/envp of the
 * process the runner forks (bwrap or the helper itself), in which directory, and under
 * which host identity. Strings are owned by the spawn and freed by
 * sandbox_spawn_release. */
struct sandbox_spawn {
	char *path; /* executable, or NULL to search argv[0] in PATH */
	char **argv;
	char **envp;
	char *chdir; /* host directory to start in, or NULL */
	uid_t uid;   /* switch to this identity first when it differs */
	gid_t gid;   /* from the runner's */
	/* bind mounts (source, target) the child makes in a mount namespace of
	 * its own before it switches identity; only as root */
	char *binds[4][2];
	int nbinds;
	int netns_fd;          /* a network namespace the child joins first (the
	                    sandbox's, an fd it inherits), or -1 */
	int userns_fd;         /* and the user namespace that owns it, joined before
	                    it when the runner is not root, or -1 */
	char *cgroup_procs[2]; /* cgroup.procs files the child joins first */
	bool kill_group;       /* kill by process group (the child is a session
	                    leader) instead of signalling the child alone */
	bool track;            /* remember the child's session in sb->pgids, to be
	                    killed when the sandbox is destroyed (none) */
};

void sandbox_spawn_release(struct sandbox_spawn *sp);

/* Argument vectors built as growable NULL-terminated arrays of owned strings. */
struct sandbox_argv {
	char **v;
	size_t n, cap;
};
void sandbox_argv_add(struct sandbox_argv *a, const char *s);
void sandbox_argv_addf(struct sandbox_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the vector over (NULL-terminated); a is left empty. */
char **sandbox_argv_detach(struct sandbox_argv *a);
void sandbox_argv_free(char **v);

/* Runs argv (a management command such as runsc run) to completion, for at
 * most 30 s, stdin from /dev/null, stdout and stderr into log_path; on
 * failure the log's last line goes into the message. Returns 0 on exit
 * status 0, else ERR_UNAVAILABLE. */
int sandbox_run_tool(char *const argv[], const char *log_path, struct err *e);
/* The same with the tool's stdin and stdout given (-1: /dev/null and the
 * log): runsc run hands them to the sandbox's init. */
int sandbox_run_tool_io(char *const argv[], const char *log_path, int in_fd, int out_fd,
			struct err *e);
/* write() that reports a reader gone as EPIPE without raising SIGPIPE,
 * whatever the process does with that signal (a command that exits
 * without reading its input, an execd that died). */
ssize_t sandbox_write_nosigpipe(int fd, const void *p, size_t n);
/* The last non-empty line of a log file into out (empty if none). */
void sandbox_log_tail(const char *log_path, char *out, size_t size);

/* One running command's output and stop policy (sandbox.c), shared by the
 * spawning kinds and the gVisor execd's client: splits output into lines
 * for on_output, stops at the output cap, and says when the command must
 * be stopped (timeout, cancel, output cap). */
struct sandbox_run;
struct sandbox_run *sandbox_run_begin(const struct sandbox_cmd *cmd,
				      const struct sandbox_limits *lim, struct sandbox_result *res);
/* Feeds n bytes of stream (SANDBOX_STDOUT or SANDBOX_STDERR). */
void sandbox_run_output(struct sandbox_run *r, int stream, const char *p, size_t n);
/* True once, when the command must be stopped now; sets the result's
 * timed_out, cancelled or (already) output_truncated. */
bool sandbox_run_must_stop(struct sandbox_run *r, int64_t now);
/* When the stop was decided (0: not yet). */
int64_t sandbox_run_stopped_at(const struct sandbox_run *r);
/* How long the caller may wait before the next sandbox_run_must_stop. */
int sandbox_run_poll_ms(const struct sandbox_run *r, int64_t now);
/* Records how the command ended, from a wait status. */
void sandbox_run_status(struct sandbox_run *r, int status);
/* Delivers partial last lines, sets the duration and frees r. */
void sandbox_run_end(struct sandbox_run *r);

/* The helper's argv for one command: SANDBOX_HELPER_PATH exec [options] --
 * argv... */
enum {
	SANDBOX_HELPER_NO_SETSID = 1, /* the command stays in the helper's group */
};
void sandbox_helper_args(struct sandbox_argv *a, const struct sandbox_cmd *cmd,
			 const struct sandbox_limits *lim, unsigned flags);
/* True when a (checked) working directory names the workspace's root. */
bool sandbox_cwd_is_root(const char *cwd);
/* The environment of a command: cmd->env plus PATH and HOME when absent. */
char **sandbox_env_build(const struct sandbox_cmd *cmd, const char *home);

/* ---- the kinds ----
 *
 * What one kind of sandbox provides. sandbox.c does everything the kinds
 * share — the state directory, the uid, the workspace, the network, /etc,
 * checking a command and filling in its limits, the output and stop policy
 * (struct sandbox_run) — and calls these for what differs. Each kind
 * defines its table in its own file (sandbox_gvisor.c, sandbox_bwrap.c,
 * sandbox_none.c); the kinds table in sandbox.c lists them by enum
 * sandbox_kind, in order of preference for "auto". */
struct sandbox_ops {
	/* the PLUE_SANDBOX setting that names the kind, and its name in logs */
	const char *name;
	/* isolated from the host: sandbox_detect probes it ("auto" tries it),
	 * it gets a uid of its own (as root), its own network and /etc, and
	 * the workspace at SANDBOX_WORKSPACE. Not isolated (none): the
	 * runner's identity, the host's network, /etc and paths; never
	 * probed, never picked by "auto", and said loudly (development only) */
	bool isolated;
	/* its /etc/ld.so.preload names SANDBOX_STATX_SHIM (sandbox_gvisor.c) */
	bool statx_shim;
	/* the isolation is made outside the runner, by what runs it (a
	 * Kubernetes pod: sandbox_pod.c), and the kind is not isolated in the
	 * sense above (the runner's identity, the pod's network and /etc).
	 * Never probed — its execd serves one runner connection, which a
	 * probe would spend — and never picked by "auto", but not said
	 * loudly either: it is not unsandboxed */
	bool external;
	/* The kind's part of sandbox_create, once the common state exists
	 * (sb->dir, uid, workspace, network, /etc). Returns 0 or
	 * ERR_UNAVAILABLE; sandbox_destroy then cleans up. */
	int (*start)(struct sandbox *sb, struct err *e);
	/* Runs one command, already checked, with lim its limits filled in:
	 * the sandbox_exec of the kind (same returns; *out zeroed by the
	 * caller). */
	int (*exec)(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		    const struct sandbox_limits *lim, struct err *e);
	/* The kind's part of sandbox_destroy, first of all: stops what start
	 * and exec left running. Called once sb->dir exists, even after a
	 * failed start. */
	void (*destroy)(struct sandbox *sb);
	/* Removes what a sandbox of this kind named id, whose runner died,
	 * left outside its state directory (state_root/id), or NULL. Called
	 * for every stale sandbox, whatever its kind was. */
	void (*reap)(const char *state_root, const char *id);
};

extern const struct sandbox_ops sandbox_gvisor_ops; /* sandbox_gvisor.c */
extern const struct sandbox_ops sandbox_bwrap_ops;  /* sandbox_bwrap.c */
extern const struct sandbox_ops sandbox_none_ops;   /* sandbox_none.c */
extern const struct sandbox_ops sandbox_pod_ops;    /* sandbox_pod.c */

/* Spawns sp (bubblewrap and none: a process of the runner) and runs the
 * command to its end: its input, output as lines, timeout, cancel and
 * output cap (sandbox.c). Returns 0 with *out filled, or ERR_UNAVAILABLE
 * (pipe, fork) or ERR_INTERNAL (poll). */
int sandbox_spawn_run(struct sandbox_result *out, struct sandbox *sb,
		      const struct sandbox_spawn *sp, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim, struct err *e);

/* Removes what is left of the cgroups named id (a sandbox of this or a dead
 * runner) in every cgroup v1 hierarchy this process is in. */
void sandbox_cgroups_remove(const char *id);

/* Reserves a uid no other sandbox on this machine uses (a file in the
 * state root's uids directory, created exclusively) and records the claim
 * as the symbolic link dir/link, so that the stale-sandbox reaper can
 * release it. *claim is the file to unlink when done. Returns 0 or
 * ERR_UNAVAILABLE. */
int sandbox_uid_claim(const char *state_root, const char *dir, const char *link, uid_t *uid,
		      char **claim, struct err *e);

/* The sandbox's own /etc (sandbox.c): writes sb->dir/etc — passwd, group
 * and nsswitch.conf naming the sandbox's uid, hosts, resolv.conf with
 * network, ld.so.preload under gVisor — with the host's entries listed in
 * sandbox.h copied (symbolic links) or prepared as mount points, and fills
 * sb->etc_binds with the host paths the backend binds over them. Returns 0
 * or ERR_UNAVAILABLE. */
int sandbox_etc_build(struct sandbox *sb, struct err *e);

/* The network (sandbox_net.c). */
/* Checks the operator's allow list (PLUE_SANDBOX_ALLOW_NETS: addresses or
 * CIDRs separated by commas; NULL or empty allows nothing more) and, when
 * out is not NULL, gives it back without blanks (caller frees). Returns 0
 * or ERR_INVALID. */
int sandbox_net_allow_parse(const char *setting, char **out, struct err *e);
/* Gives sb a network namespace of its own connected to the outside by
 * slirp4netns with the destination filter preloaded (sb->net_fd,
 * sb->net_pid); returns once the network is up. Returns 0, ERR_INVALID (a
 * bad PLUE_SANDBOX_ALLOW_NETS) or ERR_UNAVAILABLE. */
int sandbox_net_start(struct sandbox *sb, struct err *e);
/* Stops slirp4netns and lets go of the namespace. Safe to call twice. */
void sandbox_net_stop(struct sandbox *sb);

/* The common state root (created on first use): PLUE_SANDBOX_DIR, or a
 * private directory under /run (root) or the temporary directory. */
int sandbox_state_root(const char **out, struct err *e);

/* The in-sandbox helper's entry point (sandbox_helper.c). */
int sandbox_helper_main(int argc, char **argv);

/* ---- the gVisor execd (sandbox_execd.c) ----
 *
 * execd is the sandbox's init: SANDBOX_HELPER_PATH execd --uid=N
 * --gid=N, as root inside gVisor with CAP_SETUID, CAP_SETGID and CAP_KILL
 * only. It reads frames from its stdin and writes frames to its stdout,
 * both pipes to the runner. A frame is a 9-byte head — payload length
 * (u32), type (one byte), command id (u32), integers little-endian — and
 * the payload. One command runs at a time.
 *
 *   runner → execd
 *     RUN    i64 address-space bytes, i64 process limit, u32 argc, u32 envc,
 *            then NUL-terminated strings: the working directory (relative
 *            to the workspace, "" for its root), argv, the whole
 *            environment
 *     INPUT  bytes for the command's stdin; an empty payload closes it
 *     KILL   kill the command's process group (no payload)
 *   execd → runner
 *     HELLO  once, when execd is ready (id 0)
 *     STDOUT, STDERR  output of the command, at most SANDBOX_CHUNK bytes
 *     EXIT   u32 wait status of the command; nothing more of that id
 *            follows
 *
 * A frame of another id than the running command's is stale and ignored.
 * Anything else malformed ends execd, and with it the sandbox. */
enum sandbox_frame_type {
	SANDBOX_F_RUN = 'R',
	SANDBOX_F_INPUT = 'I',
	SANDBOX_F_KILL = 'K',
	SANDBOX_F_HELLO = 'H',
	SANDBOX_F_STDOUT = 'O',
	SANDBOX_F_STDERR = 'E',
	SANDBOX_F_EXIT = 'X',
};
#define SANDBOX_FRAME_HEAD 9
#define SANDBOX_FRAME_MAX (16u << 20) /* the largest payload either side takes */
#define SANDBOX_CHUNK 65536           /* output and input travel in pieces of this */

/* Appends a frame to b. */
void sandbox_frame_add(struct buf *b, int type, uint32_t id, const void *payload, size_t len);
/* Looks at the front of b: 1 with a whole frame there (its type, id,
 * payload and total size, head included), 0 when more bytes are needed,
 * -1 when the head is not valid. */
int sandbox_frame_peek(const struct buf *b, int *type, uint32_t *id, const char **payload,
		       size_t *len, size_t *total);
/* Removes the first n bytes of b. */
void sandbox_buf_consume(struct buf *b, size_t n);
void sandbox_put_u32(struct buf *b, uint32_t v);
void sandbox_put_i64(struct buf *b, int64_t v);
uint32_t sandbox_get_u32(const void *p);
int64_t sandbox_get_i64(const void *p);

/* execd's entry point (helper mode "execd"). */
int sandbox_execd_main(int argc, char **argv);

/* ---- the runner's side of execd (sandbox_execd_client.c) ----
 *
 * Used by the kinds whose commands execd starts (gVisor, pod), on
 * sb->execd_in (frames to execd) and sb->execd_out (frames from it), both
 * non-blocking, with sb->execd_rbuf allocated. */

/* Reads what execd sent into sb->execd_rbuf. 1 when something came, 0
 * when nothing is there yet, -1 at end of file (execd is gone). */
int sandbox_execd_read(struct sandbox *sb);
/* Waits up to timeout_ms for execd's HELLO: NULL once it came, else why
 * not ("no answer in time", "it exited", ...). */
const char *sandbox_execd_hello(struct sandbox *sb, int timeout_ms);
/* Closes both descriptors (they may be one socket and its dup). */
void sandbox_execd_close(struct sandbox *sb);
/* How a command's exchange with execd ended. */
enum sandbox_execd_end {
	SANDBOX_EXECD_EXITED, /* the command's exit status came */
	SANDBOX_EXECD_GONE,   /* end of file from execd: it, or its sandbox,
	                         ended under the command (descriptors closed) */
	SANDBOX_EXECD_STUCK,  /* execd did not stop the command in time, or
	                         misbehaved: the caller must stop the sandbox */
};
/* Runs one command through execd, with its input, output, timeout, cancel
 * and output cap: 0 with *out filled (a gone or stuck execd reports the
 * command as killed by SIGKILL and marks sb dead), ERR_INVALID for a
 * command too large to send, ERR_UNAVAILABLE for a misbehaving execd,
 * ERR_INTERNAL when poll fails; *how says how it ended either way. */
int sandbox_execd_run(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim, enum sandbox_execd_end *how, struct err *e);

#endif
