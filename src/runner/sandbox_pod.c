/* sandbox_pod.c — the kind for a runner in a Kubernetes pod
 * (PLUE_SANDBOX=pod): the pod is the sandbox (gVisor as its runtime, a
 * non-root user, no capabilities, a read-only root, limits; see
 * src/k8s/pods.c), and the workload's commands run in the pod's second
 * container, `exec`, started there by `plue execd --socket` (execd's
 * socket mode, sandbox_execd.c) and spoken to with the same framed
 * protocol as the gVisor kind's execd (sandbox_execd_client.c).
 *
 * Why a second container: the runner holds the registration secret (its
 * environment) and, during a workload, the runner token and the task
 * token (its memory). The exec container has none of them in its
 * environment, no service-account token, and — the containers of a pod
 * do not share a PID namespace — cannot see the runner's processes, so
 * neither /proc/PID/environ nor /proc/PID/mem nor ptrace reach them. The
 * two containers share only two volumes: `workspace` (/workspace, where
 * the runner checks the commit out and the steps work) and `control`
 * (/run/plue, which holds execd's socket). Neither ever holds a secret:
 * the checkout passes the task token to git in the environment of the
 * runner's own git processes, never in a file.
 *
 * create connects to execd's socket (waiting for it to appear, for at
 * most POD_CONNECT_MS: the two containers start together) and waits for
 * its hello; the workspace is the shared /workspace whatever directory
 * the runner names; destroy closes the connection, and execd then kills
 * what is left and exits, which ends the exec container. A pod serves one
 * workload: execd serves one connection.
 *
 * Network: commands have the pod's network, which the runners' namespace
 * NetworkPolicy limits (no ingress; egress to the server and DNS only). A
 * workload that asks for network gets no more than that, and one that
 * asks for none still has it. Per-command memory and process limits are
 * set by execd as in gVisor; the pod's resource limits bound the whole. */
#include "runner/sandbox_impl.h"

#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* How long create waits for execd's socket to appear and answer. */
#define POD_CONNECT_MS 60000

/* execd's socket: PLUE_EXECD_SOCKET, else SANDBOX_POD_SOCKET. */
static const char *pod_socket(void)
{
	const char *p = getenv("PLUE_EXECD_SOCKET");
	return p && *p ? p : SANDBOX_POD_SOCKET;
}

/* Connects to path, retrying while it does not exist or nobody listens
 * yet, until deadline. The socket, or -1 with errno. */
static int pod_connect(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		int err = errno;
		close(fd);
		if ((err != ENOENT && err != ECONNREFUSED && err != EAGAIN) || now_ms() >= deadline) {
			errno = err;
			return -1;
		}
		usleep(50 * 1000);
	}
}

static int pod_start(struct sandbox *sb, struct err *e)
{
	const char *path = pod_socket();
	struct stat st;
	errno = 0; /* a stat that works on a file leaves no errno of its own */
	if (stat(SANDBOX_WORKSPACE, &st) || !S_ISDIR(st.st_mode) || access(SANDBOX_WORKSPACE, W_OK))
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			       "the pod's workspace '%s' is not a writable directory: %s",
			       SANDBOX_WORKSPACE, strerror(errno ? errno : ENOTDIR));
	/* the workspace is the volume the exec container shares, whatever
	 * directory the runner made for it */
	free(sb->workspace);
	sb->workspace = xstrdup(SANDBOX_WORKSPACE);
	int64_t deadline = now_ms() + POD_CONNECT_MS;
	int fd = pod_connect(path, deadline);
	if (fd < 0)
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			       "cannot reach the exec container's execd at '%.200s': %s", path,
			       strerror(errno));
	sb->execd_in = fd;
	sb->execd_out = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (sb->execd_out < 0) {
		sandbox_execd_close(sb);
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "dup: %s", strerror(errno));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	sb->execd_rbuf = xcalloc(1, sizeof(*sb->execd_rbuf));
	buf_init(sb->execd_rbuf, 0);
	int64_t left = deadline - now_ms();
	const char *why = sandbox_execd_hello(sb, left > 1000 ? (int)left : 1000);
	if (why)
		return err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			       "the exec container's execd at '%.200s' did not start: %s", path,
			       why);
	log_info("sandbox %s: commands run in the pod's exec container (execd at '%s')", sb->id,
		 path);
	return 0;
}

static int pod_exec(struct sandbox_result *out, struct sandbox *sb, const struct sandbox_cmd *cmd,
		    const struct sandbox_limits *lim, struct err *e)
{
	if (sb->dead || sb->execd_in < 0) {
		sb->dead = true;
		return err_set(e, ERR_UNAVAILABLE, "sandbox_gone",
			       "the exec container of sandbox '%s' is no longer running", sb->id);
	}
	enum sandbox_execd_end how;
	int rc = sandbox_execd_run(out, sb, cmd, lim, &how, e);
	if (how == SANDBOX_EXECD_STUCK) {
		/* the connection's end makes execd kill everything and exit */
		sandbox_execd_close(sb);
	} else if (how == SANDBOX_EXECD_GONE && !rc) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_gone",
			     "the exec container of sandbox '%s' stopped during the command",
			     sb->id);
	}
	return rc;
}

static void pod_destroy(struct sandbox *sb)
{
	sandbox_execd_close(sb);
}

const struct sandbox_ops sandbox_pod_ops = {
	.name = "pod",
	.isolated = false,
	.external = true,
	.start = pod_start,
	.exec = pod_exec,
	.destroy = pod_destroy,
};
