/* sandbox_execd.c — execd, the exec daemon: the init of every gVisor sandbox, which
 * starts the sandbox's commands on the runner's behalf, so that a step
 * costs a fork and exec inside the sandbox instead of a `runsc exec` (a Go
 * program starting and talking to the sandbox, ~40 ms). It is the runner's
 * own executable entered as SANDBOX_HELPER_PATH (see the constructor in
 * sandbox.c), started by `runsc run` as root inside gVisor with CAP_SETUID,
 * CAP_SETGID and CAP_KILL only: gVisor's emulated capabilities, nothing of
 * the host's.
 *
 * It speaks the framed protocol of sandbox_impl.h over its stdin and stdout
 * (pipes to the runner, handed over by runsc run) and for each command:
 *  - forks (CLONE_VM|CLONE_VFORK: copying execd's address space is the
 *    dearest part of a fork under gVisor's ptrace platform) a child that
 *    starts a session, takes the command's pipes as its stdio and closes
 *    every other descriptor, sets the command's limits, drops to the
 *    sandbox's uid/gid (no capabilities left, no_new_privs), creates and
 *    enters the working directory, and executes the command with exactly
 *    the environment the runner sent;
 *  - relays its stdout and stderr in chunks and reports its wait status;
 *  - kills its process group when the runner says so;
 *  - reaps every orphan of the sandbox (it is pid 1).
 * Commands never see execd's pipes: the child closes them before it
 * changes identity, and execd is not dumpable and runs as another uid,
 * so /proc/1/fd and /proc/1/mem are closed to them.
 *
 * If the runner goes (end of file on stdin) execd kills the running
 * command and exits, which ends the sandbox.
 *
 * Socket mode (`plue execd --socket PATH`, sandbox_execd_listen): the
 * same daemon as the exec container of a Kubernetes runner pod
 * (sandbox_pod.c). It listens on a Unix socket in the pod's `control`
 * volume, takes one connection — the runner's — and removes the socket,
 * so nothing else can connect; speaks the same protocol over it; and
 * exits when that connection ends, after the pod's one workload. There
 * it is neither root nor pid 1 of a sandbox of its own making: it runs
 * as the pod's non-root user with no capabilities, so commands run as
 * that same user (there is no identity to drop to, and it refuses to run
 * as root) in /workspace. What keeps them from the runner's credentials
 * is the pod's layout (sandbox_pod.c); what keeps them from execd's
 * memory is, as above, that execd is not dumpable. */
#include "runner/sandbox_impl.h"

#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- frames (both sides) ---- */

void sandbox_put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
	buf_add(b, p, 4);
}

void sandbox_put_i64(struct buf *b, int64_t v)
{
	sandbox_put_u32(b, (uint32_t)((uint64_t)v & 0xffffffffu));
	sandbox_put_u32(b, (uint32_t)((uint64_t)v >> 32));
}

uint32_t sandbox_get_u32(const void *p)
{
	const unsigned char *c = p;
	return (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
}

int64_t sandbox_get_i64(const void *p)
{
	const unsigned char *c = p;
	return (int64_t)((uint64_t)sandbox_get_u32(c) | (uint64_t)sandbox_get_u32(c + 4) << 32);
}

static void frame_head(unsigned char h[SANDBOX_FRAME_HEAD], int type, uint32_t id, size_t len)
{
	uint32_t n = (uint32_t)len;
	h[0] = n & 0xff, h[1] = (n >> 8) & 0xff, h[2] = (n >> 16) & 0xff, h[3] = n >> 24;
	h[4] = (unsigned char)type;
	h[5] = id & 0xff, h[6] = (id >> 8) & 0xff, h[7] = (id >> 16) & 0xff, h[8] = id >> 24;
}

void sandbox_frame_add(struct buf *b, int type, uint32_t id, const void *payload, size_t len)
{
	unsigned char h[SANDBOX_FRAME_HEAD];
	frame_head(h, type, id, len);
	buf_add(b, h, sizeof(h));
	if (len)
		buf_add(b, payload, len);
}

int sandbox_frame_peek(const struct buf *b, int *type, uint32_t *id, const char **payload,
		       size_t *len, size_t *total)
{
	if (b->len < SANDBOX_FRAME_HEAD)
		return 0;
	uint32_t n = sandbox_get_u32(b->ptr);
	if (n > SANDBOX_FRAME_MAX)
		return -1;
	if (b->len < SANDBOX_FRAME_HEAD + (size_t)n)
		return 0;
	*type = (unsigned char)b->ptr[4];
	*id = sandbox_get_u32(b->ptr + 5);
	*payload = b->ptr + SANDBOX_FRAME_HEAD;
	*len = n;
	*total = SANDBOX_FRAME_HEAD + (size_t)n;
	return 1;
}

void sandbox_buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	buf_setlen(b, b->len - n);
}

/* ---- execd ---- */

/* What the child needs, all prepared before the fork: between clone and
 * exec the child shares execd's memory and may not allocate. */
struct child {
	int in_r, out_w, err_w; /* its stdio */
	int max_fd;             /* the highest descriptor execd holds */
	bool own_id;            /* keep execd's identity (socket mode) */
	uid_t uid;
	gid_t gid;
	int64_t as_bytes, nproc;
	char *cwd;        /* relative to the workspace, "" for its root */
	char **argv, **envp;
	char **sh_argv;   /* /bin/sh, the file, argv[1..]: for ENOEXEC */
	const char *path; /* the command's PATH */
};

struct execd {
	int cmd_fd, ev_fd, sig_fd;
	bool own_id; /* socket mode: commands run as execd's own (non-root) user */
	uid_t uid;
	gid_t gid;
	struct buf in; /* bytes from the runner not yet handled */
	/* the running command (pid 0: none) */
	uint32_t id;
	pid_t pid;
	int out_fd, err_fd, in_fd;
	struct buf input; /* for its stdin, not yet written */
	bool input_eof;   /* close its stdin once input is written */
	char *block;      /* the RUN payload the child's strings live in */
	char **argv, **envp, **sh_argv;
};

static void execd_die(const char *what)
{
	fprintf(stderr, "sandbox execd: %s\n", what);
	_exit(1);
}

/* Writes a whole frame to the runner; the runner always reads, so this
 * blocks only briefly. A runner that went away ends execd. */
static void execd_send(struct execd *a, int type, uint32_t id, const void *p, size_t n)
{
	unsigned char head[SANDBOX_FRAME_HEAD];
	frame_head(head, type, id, n);
	struct iovec v[2] = { { head, sizeof(head) }, { (void *)p, n } };
	struct iovec *cur = v;
	int left = n ? 2 : 1;
	while (left > 0) {
		ssize_t w = writev(a->ev_fd, cur, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(0); /* the runner is gone */
		while (left > 0 && (size_t)w >= cur->iov_len) {
			w -= (ssize_t)cur->iov_len;
			cur++, left--;
		}
		if (left > 0) {
			cur->iov_base = (char *)cur->iov_base + w;
			cur->iov_len -= (size_t)w;
		}
	}
}

/* ---- the child: only system calls from here to exec ---- */

/* The child runs on execd's memory (CLONE_VM) on a stack of its own,
 * under limits set for the command (RLIMIT_AS): in a sanitized build
 * (make SAN=1) ASan cannot follow it there (it warns about the unknown
 * stack at _exit and then fails to map memory for the warning), so the
 * child's own functions are built without sanitizer instrumentation. The
 * execd's other code stays sanitized. */
#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

CHILD_CODE static void child_say(const char *what, const char *arg, int err)
{
	const char *msg = strerror(err);
	struct iovec v[7] = {
		{ "sandbox: ", 9 },           { (void *)what, strlen(what) },
		{ " '", arg ? 2 : 0 },        { (void *)(arg ? arg : ""), arg ? strlen(arg) : 0 },
		{ "'", arg ? 1 : 0 },         { ": ", 2 },
		{ (void *)msg, strlen(msg) },
	};
	struct iovec nl = { "\n", 1 };
	if (writev(2, v, 7) < 0 || writev(2, &nl, 1) < 0) {
		/* nowhere else to say it */
	}
}

/* mkdir -p of a relative path, then chdir into it; restores the string. */
CHILD_CODE static int child_enter(char *dir)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int r = mkdir(dir, 0777);
		*p = '/';
		if (r && errno != EEXIST)
			return -1;
	}
	if (mkdir(dir, 0777) && errno != EEXIST)
		return -1;
	return chdir(dir);
}

/* execvpe with the command's own PATH (glibc's searches execd's). */
CHILD_CODE static int child_exec(const struct child *c)
{
	const char *file = c->argv[0];
	if (strchr(file, '/')) {
		execve(file, c->argv, c->envp);
		if (errno == ENOEXEC) {
			c->sh_argv[1] = (char *)file;
			execve("/bin/sh", c->sh_argv, c->envp);
		}
		return errno;
	}
	char full[PATH_MAX];
	size_t flen = strlen(file);
	int best = ENOENT;
	for (const char *p = c->path; p;) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		if (dlen + 1 + flen + 1 <= sizeof(full)) {
			if (dlen == 0) {
				memcpy(full, file, flen + 1);
			} else {
				memcpy(full, p, dlen);
				full[dlen] = '/';
				memcpy(full + dlen + 1, file, flen + 1);
			}
			execve(full, c->argv, c->envp);
			if (errno == ENOEXEC) {
				c->sh_argv[1] = full;
				execve("/bin/sh", c->sh_argv, c->envp);
			}
			if (errno == EACCES)
				best = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR && best != EACCES)
				best = errno;
		}
		p = end ? end + 1 : NULL;
	}
	return best;
}

CHILD_CODE static int child_main(void *arg)
{
	const struct child *c = arg;
	if (setsid() < 0 || dup2(c->in_r, 0) < 0 || dup2(c->out_w, 1) < 0 || dup2(c->err_w, 2) < 0)
		_exit(127);
	/* nothing of execd's stays open: its pipes to the runner above all */
	if (syscall(SYS_close_range, 3, ~0U, 0))
		for (int fd = 3; fd <= c->max_fd; fd++)
			close(fd);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	struct rlimit r = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &r))
		goto limits;
	if (c->as_bytes > 0) {
		r.rlim_cur = r.rlim_max = (rlim_t)c->as_bytes;
		if (setrlimit(RLIMIT_AS, &r))
			goto limits;
	}
	if (c->nproc > 0) {
		/* gVisor counts a process against the uid that forked it: this
		 * one, forked by root, is not counted for the sandbox's uid, so
		 * the limit leaves room for one process less. In socket mode
		 * execd's own user is the command's: the count includes execd
		 * and whatever else of that user runs (the runner's container
		 * in a pod, under gVisor) */
		r.rlim_cur = r.rlim_max = (rlim_t)(c->own_id      ? c->nproc
						   : c->nproc > 1 ? c->nproc - 1
								  : 1);
		if (setrlimit(RLIMIT_NPROC, &r))
			goto limits;
	}
	/* raw system calls: glibc's set*id would coordinate with threads of a
	 * process whose memory this child only borrows */
	if (!c->own_id &&
	    (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, c->gid, c->gid, c->gid) ||
	     syscall(SYS_setresuid, c->uid, c->uid, c->uid))) {
		child_say("cannot take the sandbox's identity", NULL, errno);
		_exit(127);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		child_say("cannot set no_new_privs", NULL, errno);
		_exit(127);
	}
	if (chdir(SANDBOX_WORKSPACE)) {
		child_say("cannot enter", SANDBOX_WORKSPACE, errno);
		_exit(1);
	}
	if (c->cwd[0] && child_enter(c->cwd)) {
		child_say("cannot enter working directory", c->cwd, errno);
		_exit(1);
	}
	int err = child_exec(c);
	child_say("cannot run", c->argv[0], err);
	_exit(err == ENOENT ? 127 : 126);
limits:
	child_say("cannot set the command's limits", NULL, errno);
	_exit(126);
}

/* The child's stack: CLONE_VFORK suspends execd until the child has
 * executed or exited, so one stack serves every child. */
static char child_stack[256 * 1024] __attribute__((aligned(64)));

/* ---- execd's side of a command ---- */

static void command_clear(struct execd *a)
{
	if (a->out_fd >= 0)
		close(a->out_fd);
	if (a->err_fd >= 0)
		close(a->err_fd);
	if (a->in_fd >= 0)
		close(a->in_fd);
	a->out_fd = a->err_fd = a->in_fd = -1;
	a->pid = 0;
	buf_release(&a->input);
	a->input_eof = false;
	free(a->block);
	free(a->argv);
	free(a->envp);
	free(a->sh_argv);
	a->block = NULL;
	a->argv = a->envp = a->sh_argv = NULL;
}

/* Sends what a pipe of the command holds now; closes it at end of file. */
static void command_relay(struct execd *a, int *fd, int type)
{
	static char chunk[SANDBOX_CHUNK];
	for (;;) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));
		if (n > 0) {
			execd_send(a, type, a->id, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(*fd);
		*fd = -1;
		return;
	}
}

/* The command's process ended: what it wrote is in its pipes now; send
 * that (not what processes it left behind write later) and its status. */
static void command_ended(struct execd *a, int status)
{
	if (a->out_fd >= 0)
		command_relay(a, &a->out_fd, SANDBOX_F_STDOUT);
	if (a->err_fd >= 0)
		command_relay(a, &a->err_fd, SANDBOX_F_STDERR);
	struct buf b = BUF_INIT;
	sandbox_put_u32(&b, (uint32_t)status);
	execd_send(a, SANDBOX_F_EXIT, a->id, b.ptr, b.len);
	buf_release(&b);
	command_clear(a);
}

/* A command that could not start: its message on stderr, status 127. */
static void command_refused(struct execd *a, uint32_t id, const char *why)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "sandbox: cannot start the command: %s: %s\n", why,
		 strerror(errno));
	execd_send(a, SANDBOX_F_STDERR, id, msg, strlen(msg));
	struct buf b = BUF_INIT;
	sandbox_put_u32(&b, (uint32_t)W_EXITCODE(127, 0));
	execd_send(a, SANDBOX_F_EXIT, id, b.ptr, b.len);
	buf_release(&b);
}

/* Splits n NUL-terminated strings off *p (up to end) into a new vector. */
static char **take_strings(char **p, const char *end, uint32_t n)
{
	char **v = xcalloc((size_t)n + 1, sizeof(char *));
	for (uint32_t i = 0; i < n; i++) {
		char *nul = memchr(*p, 0, (size_t)(end - *p));
		if (!nul) {
			free(v);
			return NULL;
		}
		v[i] = *p;
		*p = nul + 1;
	}
	return v;
}

static void command_start(struct execd *a, uint32_t id, const char *payload, size_t len)
{
	if (a->pid)
		execd_die("a command arrived while another runs");
	if (len < 24)
		execd_die("short command frame");
	struct child c = { .own_id = a->own_id, .uid = a->uid, .gid = a->gid };
	c.as_bytes = sandbox_get_i64(payload);
	c.nproc = sandbox_get_i64(payload + 8);
	uint32_t argc = sandbox_get_u32(payload + 16), envc = sandbox_get_u32(payload + 20);
	a->block = xmalloc(len - 24 + 1);
	memcpy(a->block, payload + 24, len - 24);
	a->block[len - 24] = 0;
	char *p = a->block, *end = a->block + (len - 24);
	char *nul = memchr(p, 0, len - 24);
	if (!nul || argc < 1 || argc > len || envc > len)
		execd_die("malformed command frame");
	c.cwd = p;
	p = nul + 1;
	a->argv = take_strings(&p, end, argc);
	a->envp = a->argv ? take_strings(&p, end, envc) : NULL;
	if (!a->argv || !a->envp || p != end || !a->argv[0][0])
		execd_die("malformed command frame");
	c.argv = a->argv;
	c.envp = a->envp;
	a->sh_argv = xcalloc((size_t)argc + 2, sizeof(char *));
	a->sh_argv[0] = "/bin/sh";
	for (uint32_t i = 1; i < argc; i++)
		a->sh_argv[i + 1] = a->argv[i];
	c.sh_argv = a->sh_argv;
	c.path = SANDBOX_PATH;
	for (char **e = a->envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			c.path = *e + 5;

	a->id = id;
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	if (pipe2(inp, O_CLOEXEC) || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		command_refused(a, id, "pipe");
		goto fail;
	}
	c.in_r = inp[0], c.out_w = outp[1], c.err_w = errp[1];
	c.max_fd = 0;
	int fds[] = { a->cmd_fd, a->ev_fd, a->sig_fd, inp[0], inp[1],
		      outp[0],   outp[1],  errp[0],   errp[1] };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] > c.max_fd)
			c.max_fd = fds[i];
	pid_t pid = clone(child_main, child_stack + sizeof(child_stack),
			  CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	if (pid < 0) {
		command_refused(a, id, "fork");
		goto fail;
	}
	close(inp[0]), close(outp[1]), close(errp[1]);
	a->pid = pid;
	a->in_fd = inp[1], a->out_fd = outp[0], a->err_fd = errp[0];
	fcntl(a->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(a->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(a->err_fd, F_SETFL, O_NONBLOCK);
	return;
fail:
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			close(inp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	command_clear(a);
}

static void command_kill(struct execd *a)
{
	if (!a->pid)
		return;
	kill(-a->pid, SIGKILL);
	kill(a->pid, SIGKILL);
}

/* Handles the whole frames in a->in. */
static void execd_frames(struct execd *a)
{
	int type;
	uint32_t id;
	const char *payload;
	size_t len, total;
	int r;
	while ((r = sandbox_frame_peek(&a->in, &type, &id, &payload, &len, &total)) == 1) {
		bool current = a->pid && id == a->id;
		switch (type) {
		case SANDBOX_F_RUN: command_start(a, id, payload, len); break;
		case SANDBOX_F_INPUT:
			if (!current || a->input_eof)
				break;
			if (len == 0)
				a->input_eof = true;
			else
				buf_add(&a->input, payload, len);
			break;
		case SANDBOX_F_KILL:
			if (current)
				command_kill(a);
			break;
		default: execd_die("unknown frame");
		}
		sandbox_buf_consume(&a->in, total);
	}
	if (r < 0)
		execd_die("frame too large");
}

/* Writes pending input to the command's stdin; closes it when done. */
static void execd_input(struct execd *a)
{
	while (a->input.len > 0) {
		ssize_t w = write(a->in_fd, a->input.ptr, a->input.len);
		if (w > 0) {
			sandbox_buf_consume(&a->input, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* the command closed its stdin: the rest goes nowhere */
		buf_reset(&a->input);
		a->input_eof = true;
		break;
	}
	if (a->input_eof) {
		close(a->in_fd);
		a->in_fd = -1;
	}
}

/* Reaps every child that ended: the command's, and orphans adopted by
 * pid 1. */
static void execd_reap(struct execd *a)
{
	struct signalfd_siginfo si;
	while (read(a->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	for (;;) {
		int status;
		pid_t w = waitpid(-1, &status, WNOHANG);
		if (w <= 0)
			break;
		if (a->pid && w == a->pid)
			command_ended(a, status);
	}
}

static int parse_id(const char *arg, const char *name, long *out)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n))
		return -1;
	char *end;
	long v = strtol(arg + n, &end, 10);
	if (*end || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Sets up execd's signals and serves the runner on a.cmd_fd/a.ev_fd
 * until it goes; never returns. */
static void __attribute__((noreturn)) execd_serve(struct execd *a)
{
	/* commands run as another uid already (or, in socket mode, as ours:
	 * then this is what closes /proc/self/mem and environ, and ptrace, to
	 * them); not dumpable also closes the execd's memory to anyone while
	 * a child borrows it */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	a->sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->sig_fd < 0)
		execd_die("cannot watch its children");
	execd_send(a, SANDBOX_F_HELLO, 0, NULL, 0);

	static char chunk[SANDBOX_CHUNK];
	for (;;) {
		struct pollfd p[5];
		int np = 0, ic = -1, is = -1, io = -1, ie = -1, ii = -1;
		ic = np, p[np++] = (struct pollfd){ .fd = a->cmd_fd, .events = POLLIN };
		is = np, p[np++] = (struct pollfd){ .fd = a->sig_fd, .events = POLLIN };
		if (a->out_fd >= 0)
			io = np, p[np++] = (struct pollfd){ .fd = a->out_fd, .events = POLLIN };
		if (a->err_fd >= 0)
			ie = np, p[np++] = (struct pollfd){ .fd = a->err_fd, .events = POLLIN };
		if (a->in_fd >= 0 && (a->input.len > 0 || a->input_eof))
			ii = np, p[np++] = (struct pollfd){ .fd = a->in_fd, .events = POLLOUT };
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			execd_die("poll failed");
		}
		if (p[ic].revents) {
			ssize_t n = read(a->cmd_fd, chunk, sizeof(chunk));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				/* the runner is gone: so is everything it started */
				command_kill(a);
				_exit(0);
			}
			if (n > 0) {
				buf_add(&a->in, chunk, (size_t)n);
				execd_frames(a);
			}
		}
		/* output before the exit status: what the command wrote last
		 * goes out first */
		if (io >= 0 && p[io].revents && a->out_fd >= 0)
			command_relay(a, &a->out_fd, SANDBOX_F_STDOUT);
		if (ie >= 0 && p[ie].revents && a->err_fd >= 0)
			command_relay(a, &a->err_fd, SANDBOX_F_STDERR);
		if (ii >= 0 && p[ii].revents && a->in_fd >= 0)
			execd_input(a);
		if (p[is].revents)
			execd_reap(a);
	}
}

int sandbox_execd_main(int argc, char **argv)
{
	struct execd a = {
		.in = BUF_INIT, .input = BUF_INIT, .out_fd = -1, .err_fd = -1, .in_fd = -1
	};
	long uid = 0, gid = 0;
	for (int i = 2; i < argc; i++)
		if (parse_id(argv[i], "--uid=", &uid) && parse_id(argv[i], "--gid=", &gid))
			execd_die("usage: execd --uid=N --gid=N (not 0)");
	if (uid <= 0 || gid <= 0)
		execd_die("usage: execd --uid=N --gid=N (not 0)");
	a.uid = (uid_t)uid;
	a.gid = (gid_t)gid;
	/* the runner's pipes move out of the way of stdio; every descriptor
	 * of execd is close-on-exec */
	a.cmd_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
	a.ev_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (a.cmd_fd < 0 || a.ev_fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		execd_die("cannot set up its descriptors");
	close(null);
	fcntl(a.ev_fd, F_SETFL, fcntl(a.ev_fd, F_GETFL) & ~O_NONBLOCK);
	execd_serve(&a);
}

int sandbox_execd_listen(const char *path, struct err *e)
{
	struct execd a = { .in = BUF_INIT,
			   .input = BUF_INIT,
			   .own_id = true,
			   .out_fd = -1,
			   .err_fd = -1,
			   .in_fd = -1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (geteuid() == 0 || getegid() == 0)
		return err_set(e, ERR_INVALID, "execd_root",
			       "execd refuses to run commands as root: run it as a non-root user");
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, ERR_INVALID, "invalid_socket", "bad socket path '%.200s'",
			       path ? path : "");
	a.uid = geteuid();
	a.gid = getegid();
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		return err_set(e, ERR_UNAVAILABLE, "execd_socket", "socket: %s", strerror(errno));
	/* a socket left by an execd that died in this container before */
	unlink(path);
	mode_t old = umask(0077); /* the runner runs as the same user */
	int rc = bind(ls, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || listen(ls, 1)) {
		rc = err_set(e, ERR_UNAVAILABLE, "execd_socket", "cannot listen on '%.200s': %s",
			     path, strerror(errno));
		close(ls);
		return rc;
	}
	fprintf(stderr, "execd: listening on %s (uid %u)\n", path, (unsigned)a.uid);
	int c;
	while ((c = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0)
		if (errno != EINTR && errno != ECONNABORTED) {
			rc = err_set(e, ERR_UNAVAILABLE, "execd_socket", "accept: %s",
				     strerror(errno));
			close(ls);
			unlink(path);
			return rc;
		}
	/* one runner: nobody else connects after it */
	close(ls);
	unlink(path);
	a.cmd_fd = c;
	a.ev_fd = fcntl(c, F_DUPFD_CLOEXEC, 3);
	if (a.ev_fd < 0)
		return err_set(e, ERR_UNAVAILABLE, "execd_socket", "dup: %s", strerror(errno));
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	if (mkdir(SANDBOX_WORKSPACE, 0700) && errno != EEXIST)
		return err_set(e, ERR_UNAVAILABLE, "execd_workspace", "cannot create '%s': %s",
			       SANDBOX_WORKSPACE, strerror(errno));
	execd_serve(&a);
}
