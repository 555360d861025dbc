/* sandbox_impl.h — what the sandbox backends (sandbox_gvisor.c,
 * sandbox_bwrap.c) and the common code (sandbox.c) share. Not for use
 * outside src/runner/sandbox*.c. */
#ifndef PLUE_RUNNER_SANDBOX_IMPL_H
#define PLUE_RUNNER_SANDBOX_IMPL_H

#include "runner/sandbox.h"

/* The helper: the running executable, which wraps every command under
 * bubblewrap and none (sandbox_helper.c). Inside bubblewrap it is
 * bind-mounted read-only at this path; it recognises its role by argv[0]
 * being exactly this path. */
#define SANDBOX_HELPER_PATH "/.plue/sandbox-init"
/* Where the workspace appears inside gVisor and bubblewrap. */
#define SANDBOX_WORKSPACE "/workspace"
/* PATH when the caller passes none. */
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct sandbox {
	enum sandbox_kind kind;
	char *id;        /* "plue-" + hex: runsc container id, cgroup name */
	const char *state_root; /* sandbox_state_root() */
	char *dir;       /* private state directory (bundle, /tmp, process files) */
	char *workspace; /* absolute host path */
	char *helper;    /* host path of the helper executable */
	uid_t uid;
	gid_t gid;
	char *uid_claim; /* file that reserves uid among runners, or NULL */
	struct sandbox_limits limits; /* defaults, all fields set */
	bool dead;       /* gVisor: the sandbox stopped (e.g. killed for memory) */
	pid_t sandbox_pid; /* gVisor: the runsc-sandbox process */
	pid_t *pgids;    /* SANDBOX_NONE: sessions started, killed on destroy */
	size_t npgids;
	char *cg_memory; /* bwrap as root on cgroup v1: the sandbox's memory */
	char *cg_pids;   /* and pids cgroups (nested in the runner's), or NULL */
	long long cg_ooms, cg_pid_maxes; /* their event counters before a command */
	char *bind_ws;   /* bwrap as root: where the workspace and the helper */
	char *bind_helper; /* are bound, in a traversable place (see there) */
};

/* How one command is started: argv/envp of the process the runner forks
 * (runsc exec, bwrap or the helper itself), in which directory, and under
 * which host identity. Strings are owned by the spawn and freed by
 * sandbox_spawn_release. */
struct sandbox_spawn {
	char *path;      /* executable, or NULL to search argv[0] in PATH */
	char **argv;
	char **envp;
	char *chdir;     /* host directory to start in, or NULL */
	uid_t uid;       /* switch to this identity first when it differs */
	gid_t gid;       /* from the runner's */
	/* bind mounts (source, target) the child makes in a mount namespace of
	 * its own before it switches identity; only as root */
	char *binds[4][2];
	int nbinds;
	char *cgroup_procs[2]; /* cgroup.procs files the child joins first */
	char *pidfile;   /* gVisor: where runsc exec writes the helper's pid
	                    inside the sandbox */
	bool kill_group; /* kill by process group (gVisor: see stop_exec) (the child is a session leader)
	                    instead of signalling the child alone */
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

/* gVisor backend (sandbox_gvisor.c). */
int sandbox_gvisor_start(struct sandbox *sb, struct err *e);
int sandbox_gvisor_spawn(struct sandbox *sb, const struct sandbox_cmd *cmd,
                         const struct sandbox_limits *lim, struct sandbox_spawn *sp,
                         struct err *e);
/* Stops a running command of sp (runsc exec forwards no signals): kills
 * its process group from inside the sandbox, or asks its wrapper to with
 * SIGTERM through runsc kill. Returns 0 when delivered, -1 when the
 * command's pid is not known yet or runsc failed. */
struct sandbox_spawn;
int sandbox_gvisor_stop_exec(struct sandbox *sb, const struct sandbox_spawn *sp);
/* True when the gVisor sandbox process still runs. */
bool sandbox_gvisor_alive(struct sandbox *sb);
void sandbox_gvisor_stop(struct sandbox *sb);
/* Removes a container and its cgroups left by a runner that died. */
void sandbox_gvisor_reap(const char *state_root, const char *id);
/* The runsc state directory under the common state root. */
char *sandbox_gvisor_root(const char *state_root);

/* bubblewrap backend (sandbox_bwrap.c). */
int sandbox_bwrap_prepare(struct sandbox *sb, struct err *e);
int sandbox_bwrap_spawn(struct sandbox *sb, const struct sandbox_cmd *cmd,
                        const struct sandbox_limits *lim, struct sandbox_spawn *sp,
                        struct err *e);

/* After a bubblewrap command: whether it ran into its memory or process
 * cgroup limit (false without cgroups). */
bool sandbox_bwrap_limit_hit(struct sandbox *sb);
/* Removes what is left of the cgroups named id (a sandbox of this or a dead
 * runner) in every cgroup v1 hierarchy this process is in. */
void sandbox_cgroups_remove(const char *id);

/* The common state root (created on first use): PLUE_SANDBOX_DIR, or a
 * private directory under /run (root) or the temporary directory. */
int sandbox_state_root(const char **out, struct err *e);

/* The in-sandbox helper's entry point (sandbox_helper.c). */
int sandbox_helper_main(int argc, char **argv);

#endif
