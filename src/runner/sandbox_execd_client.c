/* sandbox_execd_client.c — the runner's side of execd's framed protocol
 * (sandbox_impl.h), shared by the kinds whose commands execd starts: gVisor
 * (execd is the sandbox's init, over a pair of pipes) and pod (execd runs
 * in the pod's exec container, over a Unix socket). It waits for execd's
 * hello, sends a command with its input, relays its output through the
 * common output and stop policy (struct sandbox_run) and tells the caller
 * how the exchange ended, so that each kind deals with an execd that went
 * away or stopped answering in its own way. */
#include "runner/sandbox_impl.h"

#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* How long a command may take to end after execd was told to kill it;
 * past it execd is not trusted any more and the sandbox goes. */
#define KILL_GRACE_MS 500

int sandbox_execd_read(struct sandbox *sb)
{
	char tmp[SANDBOX_CHUNK + SANDBOX_FRAME_HEAD];
	int got = 0;
	for (;;) {
		ssize_t n = read(sb->execd_out, tmp, sizeof(tmp));
		if (n > 0) {
			buf_add(sb->execd_rbuf, tmp, (size_t)n);
			got = 1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return got;
		return -1;
	}
}

const char *sandbox_execd_hello(struct sandbox *sb, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int type;
		uint32_t id;
		const char *payload;
		size_t len, total;
		int r = sandbox_frame_peek(sb->execd_rbuf, &type, &id, &payload, &len, &total);
		if (r == 1 && type == SANDBOX_F_HELLO) {
			sandbox_buf_consume(sb->execd_rbuf, total);
			return NULL;
		}
		if (r != 0)
			return "it said something else first";
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return "no answer in time";
		struct pollfd p = { .fd = sb->execd_out, .events = POLLIN };
		if (poll(&p, 1, (int)left) > 0 && sandbox_execd_read(sb) < 0)
			return "it exited";
	}
}

void sandbox_execd_close(struct sandbox *sb)
{
	if (sb->execd_in >= 0)
		close(sb->execd_in);
	if (sb->execd_out >= 0)
		close(sb->execd_out);
	sb->execd_in = sb->execd_out = -1;
}

/* The command's environment: what the caller passes, PATH and HOME, and
 * PWD, the directory it starts in (what a shell's cd would export). */
static void add_env(struct buf *b, const struct sandbox_cmd *cmd, uint32_t *count)
{
	char **env = sandbox_env_build(cmd, "/tmp");
	for (char **p = env; *p; p++) {
		if (!strncmp(*p, "PWD=", 4))
			continue;
		buf_add(b, *p, strlen(*p) + 1);
		(*count)++;
	}
	buf_adds(b, "PWD=" SANDBOX_WORKSPACE);
	for (const char *p = cmd->cwd; p && *p;) {
		size_t n = strcspn(p, "/");
		if (n > 1 || (n == 1 && *p != '.')) {
			buf_addch(b, '/');
			buf_add(b, p, n);
		}
		p += n;
		while (*p == '/')
			p++;
	}
	buf_addch(b, 0);
	(*count)++;
	sandbox_argv_free(env);
}

/* The RUN frame of cmd. */
static void run_frame(struct buf *out, uint32_t id, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim)
{
	struct buf p = BUF_INIT, strings = BUF_INIT;
	uint32_t argc = 0, envc = 0;
	buf_adds(&strings, cmd->cwd ? cmd->cwd : "");
	buf_addch(&strings, 0);
	for (const char *const *a = cmd->argv; *a; a++, argc++)
		buf_add(&strings, *a, strlen(*a) + 1);
	add_env(&strings, cmd, &envc);
	sandbox_put_i64(&p, lim->memory_bytes);
	sandbox_put_i64(&p, lim->max_procs);
	sandbox_put_u32(&p, argc);
	sandbox_put_u32(&p, envc);
	buf_add(&p, strings.ptr, strings.len);
	sandbox_frame_add(out, SANDBOX_F_RUN, id, p.ptr, p.len);
	buf_release(&strings);
	buf_release(&p);
}

int sandbox_execd_run(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		      const struct sandbox_limits *lim, enum sandbox_execd_end *how, struct err *e)
{
	int rc = 0;
	uint32_t id = ++sb->execd_seq;
	struct buf frames = BUF_INIT; /* for execd */
	size_t sent = 0;              /* of frames */
	size_t in_off = 0;            /* of cmd->input */
	bool in_done = false;         /* the input's end went into frames */
	bool exited = false, gone = false, hard = false, bad = false;
	int status = 0;
	*how = SANDBOX_EXECD_EXITED;
	run_frame(&frames, id, cmd, lim);
	if (frames.len - SANDBOX_FRAME_HEAD > SANDBOX_FRAME_MAX) {
		buf_release(&frames);
		return err_set(e, ERR_INVALID, "invalid_command",
			       "the command and its environment are too large");
	}
	struct sandbox_run *r = sandbox_run_begin(cmd, lim, out);
	while (!exited && !gone) {
		int64_t now = now_ms();
		if (sandbox_run_must_stop(r, now)) {
			sandbox_frame_add(&frames, SANDBOX_F_KILL, id, NULL, 0);
			in_done = true;
		}
		int64_t stopped = sandbox_run_stopped_at(r);
		if (stopped && now - stopped >= KILL_GRACE_MS) {
			/* execd did not answer: nothing in this sandbox can be
			 * trusted to stop, so the sandbox goes */
			log_warn("sandbox %s: command did not stop; stopping the sandbox", sb->id);
			hard = true;
			break;
		}
		/* input in pieces, each queued once the last is written */
		if (sent == frames.len && !in_done) {
			buf_reset(&frames);
			sent = 0;
			size_t n = cmd->input ? cmd->input_len - in_off : 0;
			if (n > SANDBOX_CHUNK)
				n = SANDBOX_CHUNK;
			sandbox_frame_add(&frames, SANDBOX_F_INPUT, id,
					  n ? cmd->input + in_off : NULL, n);
			in_off += n;
			in_done = n == 0;
		}
		if (sent < frames.len) {
			ssize_t w = sandbox_write_nosigpipe(sb->execd_in, frames.ptr + sent,
							    frames.len - sent);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				gone = true;
				break;
			}
		}
		if (sent == frames.len && !in_done)
			continue; /* the next piece of input at once */
		struct pollfd p[2] = {
			{ .fd = sb->execd_out, .events = POLLIN },
			{ .fd = sb->execd_in, .events = POLLOUT },
		};
		int n = poll(p, sent < frames.len ? 2 : 1, sandbox_run_poll_ms(r, now));
		if (n < 0 && errno != EINTR) {
			rc = err_set(e, ERR_INTERNAL, "sandbox_poll", "poll: %s", strerror(errno));
			hard = true;
			break;
		}
		if (n <= 0 || !p[0].revents)
			continue;
		if (sandbox_execd_read(sb) < 0)
			gone = true;
		int type;
		uint32_t fid;
		const char *payload;
		size_t len, total;
		int pr;
		while (!exited && (pr = sandbox_frame_peek(sb->execd_rbuf, &type, &fid, &payload,
							   &len, &total)) == 1) {
			if (fid == id) {
				if (type == SANDBOX_F_STDOUT)
					sandbox_run_output(r, SANDBOX_STDOUT, payload, len);
				else if (type == SANDBOX_F_STDERR)
					sandbox_run_output(r, SANDBOX_STDERR, payload, len);
				else if (type == SANDBOX_F_EXIT && len == 4)
					status = (int)sandbox_get_u32(payload), exited = true;
				else
					bad = true;
			}
			sandbox_buf_consume(sb->execd_rbuf, total);
		}
		if (pr < 0 || bad) {
			log_warn("sandbox %s: execd sent a malformed frame", sb->id);
			rc = err_set(e, ERR_UNAVAILABLE, "sandbox_gone",
				     "sandbox '%s' stopped: its execd misbehaved", sb->id);
			hard = true;
			break;
		}
	}
	if (hard) {
		*how = SANDBOX_EXECD_STUCK;
		sb->dead = true;
		status = SIGKILL; /* a wait status: killed by SIGKILL */
	} else if (gone && !exited) {
		/* execd, and with it the sandbox, ended under the command */
		*how = SANDBOX_EXECD_GONE;
		sb->dead = true;
		sandbox_execd_close(sb);
		status = SIGKILL;
	}
	sandbox_run_status(r, status);
	sandbox_run_end(r);
	buf_release(&frames);
	return rc;
}
