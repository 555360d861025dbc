/* sandbox_net.c — the network of a sandbox created with network, for both
 * kinds: a network namespace of its own whose only way out is slirp4netns,
 * a user-mode TCP/IP stack attached to the namespace's tap device. The
 * sandbox's packets become ordinary connect() and sendto() calls that
 * slirp4netns makes in the host's namespace, and a small library preloaded
 * into it (src/runner/shim/netfilter.c) refuses the destinations a step
 * must not reach: the host itself, loopback, link-local and the metadata
 * address, private ranges. Nothing global on the host changes: no bridge,
 * no firewall rule, no forwarding sysctl.
 *
 * Nothing of it runs as root: the namespace belongs to a user namespace
 * owned by a uid claimed for the sandbox's network (the runner's own uid
 * when it is not root), and slirp4netns runs as that uid, sandboxed by its
 * own --enable-sandbox and --enable-seccomp. Making it:
 *
 *   1. a short-lived holder process, as that uid, unshares a user and a
 *      network namespace and maps its uid to root inside;
 *   2. slirp4netns, as that uid, joins them through the holder's pid,
 *      creates tap0 there and configures it (10.0.2.100/24, gateway
 *      10.0.2.2, DNS 10.0.2.3, loopback up), sandboxes itself and says it
 *      is ready; as root the runner first gives it, in a mount namespace of
 *      its own, a /dev/net/tun it may open (the host's may be root's only);
 *   3. the runner keeps the network namespace open (sb->net_fd) and lets
 *      the holder go. gVisor's runsc joins it through /proc/PID/fd/N,
 *      bubblewrap's process with setns() before bwrap starts.
 *
 * slirp4netns ends when its exit pipe closes: when the sandbox is
 * destroyed, or when the runner dies. */
#include "runner/sandbox_impl.h"

#include "base/log.h"
#include "base/net.h"
#include "base/util.h"

#include <arpa/inet.h>
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long the network may take to come up. */
#define NET_START_MS 10000
/* slirp4netns's largest MTU: fewer, larger packets through the user-mode
 * stack */
#define NET_MTU "65520"

/* The destination filter (src/runner/shim/netfilter.c, linked in by the
 * Makefile). */
extern const unsigned char sandbox_netfilter_shim[], sandbox_netfilter_shim_end[];

/* One entry of the allow list: an address, or an address and a prefix
 * length of its family (base/net.h). */
static bool allow_entry_ok(const char *p, size_t n)
{
	char text[64];
	struct net net;
	if (n == 0 || n >= sizeof(text))
		return false;
	memcpy(text, p, n);
	text[n] = 0;
	return net_parse(text, &net) == 0;
}

/* As many as the filter takes (MAX_NETS in netfilter.c). */
#define ALLOW_MAX 64

int sandbox_net_allow_parse(const char *setting, char **out, struct err *e)
{
	struct buf b = BUF_INIT;
	int rc = 0, count = 0;
	for (const char *p = setting; p && *p;) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ",");
		size_t len = n;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > 0 && !allow_entry_ok(p, len)) {
			rc = err_set(e, ERR_INVALID, "invalid_setting",
				     "invalid network '%.*s' in PLUE_SANDBOX_ALLOW_NETS (want an address "
				     "or a CIDR such as 10.1.0.0/16)",
				     (int)(len > 60 ? 60 : len), p);
			goto done;
		}
		if (len > 0 && ++count > ALLOW_MAX) {
			rc = err_set(e, ERR_INVALID, "invalid_setting",
				     "too many networks in PLUE_SANDBOX_ALLOW_NETS (at most %d)",
				     ALLOW_MAX);
			goto done;
		}
		if (len > 0) {
			if (b.len)
				buf_addch(&b, ',');
			buf_add(&b, p, len);
		}
		p += n;
	}
	if (out)
		*out = buf_detach(&b, NULL);
done:
	buf_release(&b);
	return rc;
}

/* Writes text into a /proc file of the calling process (async-signal-safe). */
static int proc_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int rc = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return rc;
}

/* Leaves the calling (forked, single-threaded) process with the network's
 * uid and gid and nothing else; only system calls from here on. */
static int become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return 0; /* already the runner's own */
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -1;
	return 0;
}

/* Waits until fd is readable or deadline passes: 1 byte read, 0 at end of
 * file or on time-out. */
static int wait_byte(int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return 0;
		if (n <= 0)
			continue;
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		return r == 1;
	}
}

/* The slirp4netns executable in the standard PATH, or NULL. */
static char *slirp_find(void)
{
	const char *p = SANDBOX_PATH;
	while (*p) {
		size_t n = strcspn(p, ":");
		char *exe = xasprintf("%.*s/slirp4netns", (int)n, p);
		if (access(exe, X_OK) == 0)
			return exe;
		free(exe);
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* Why slirp4netns did not start: the first line of its log that is not
 * one of its notes (empty if none). */
static void slirp_log_reason(const char *log, char *out, size_t size)
{
	static const char *const notes[] = { "WARNING", "Starting slirp", "* ", "sent tapfd",
					     "received tapfd" };
	char text[4096];
	*out = 0;
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	for (char *line = text, *next; *line; line = next) {
		size_t len = strcspn(line, "\n");
		next = line + len + (line[len] ? 1 : 0);
		line[len] = 0;
		bool note = len == 0;
		for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
			note |= !strncmp(line, notes[i], strlen(notes[i]));
		if (!note) {
			snprintf(out, size, "%s", line);
			return;
		}
	}
}

int sandbox_net_start(struct sandbox *sb, struct err *e)
{
	int rc = 0;
	char *allow = NULL, *shim = NULL, *log = NULL, *exe = NULL;
	char *maps[3] = { NULL, NULL, NULL };
	char **argv = NULL, **envp = NULL;
	struct sandbox_argv a = { 0 }, env = { 0 };
	int hold[2] = { -1, -1 }, hready[2] = { -1, -1 };
	int sready[2] = { -1, -1 }, sexit[2] = { -1, -1 };
	int logfd = -1, null = -1;
	pid_t holder = -1;
	struct stat tun;
	if ((rc = sandbox_net_allow_parse(getenv("PLUE_SANDBOX_ALLOW_NETS"), &allow, e)))
		goto done;
	bool root = geteuid() == 0;
	if (!(exe = slirp_find())) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "a sandbox with network needs 'slirp4netns', which is not installed");
		goto done;
	}
	if (stat("/dev/net/tun", &tun) || !S_ISCHR(tun.st_mode)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "a sandbox with network needs '/dev/net/tun', which is missing here");
		goto done;
	}
	/* as root the runner hands slirp4netns a device node of its own */
	if (!root && access("/dev/net/tun", R_OK | W_OK)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "a sandbox with network needs '/dev/net/tun' open to the runner's user "
			     "(or a runner running as root)");
		goto done;
	}
	if (root) {
		if ((rc = sandbox_uid_claim(sb->state_root, sb->dir, "claim-net", &sb->net_uid,
					    &sb->net_uid_claim, e)))
			goto done;
	} else {
		sb->net_uid = geteuid();
	}
	uid_t uid = sb->net_uid;
	gid_t gid = root ? (gid_t)sb->net_uid : getegid();
	/* the destination filter, preloaded into slirp4netns */
	shim = xasprintf("%s/netfilter.so", sb->dir);
	log = xasprintf("%s/slirp4netns.log", sb->dir);
	/* readable by everyone: slirp4netns runs as another uid */
	if (file_create(shim, sandbox_netfilter_shim,
			(size_t)(sandbox_netfilter_shim_end - sandbox_netfilter_shim), 0444)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot write '%.200s': %s",
			     shim, strerror(errno));
		goto done;
	}
	/* everything the children need is made before they are forked (this
	 * process has threads) */
	maps[0] = xstrdup("deny");
	maps[1] = xasprintf("0 %u 1", (unsigned)uid);
	maps[2] = xasprintf("0 %u 1", (unsigned)gid);
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd < 0 || null < 0 || pipe2(hold, O_CLOEXEC) || pipe2(hready, O_CLOEXEC) ||
	    pipe2(sready, O_CLOEXEC) || pipe2(sexit, O_CLOEXEC)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "cannot prepare the network of '%s': %s", sb->id, strerror(errno));
		goto done;
	}

	/* 1. the holder: a user and a network namespace owned by uid */
	holder = fork();
	if (holder < 0) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "fork: %s", strerror(errno));
		goto done;
	}
	if (holder == 0) {
		/* its two pipes at 0 and 1, nothing else of the runner */
		int r = fcntl(hold[0], F_DUPFD, 10), w = fcntl(hready[1], F_DUPFD, 10);
		if (r < 0 || w < 0 || dup2(r, 0) < 0 || dup2(w, 1) < 0)
			_exit(1);
		syscall(SYS_close_range, 2, ~0U, 0);
		/* its /proc files must be its own to write its maps, and
		 * slirp4netns, of the same uid, opens its namespaces */
		if (become(uid, gid) || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ||
		    unshare(CLONE_NEWUSER | CLONE_NEWNET) ||
		    proc_write("/proc/self/setgroups", maps[0]) ||
		    proc_write("/proc/self/uid_map", maps[1]) ||
		    proc_write("/proc/self/gid_map", maps[2]) || write(1, "1", 1) != 1)
			_exit(1);
		char c;
		while (read(0, &c, 1) < 0 && errno == EINTR) {
		}
		_exit(0);
	}
	close(hold[0]), close(hready[1]);
	hold[0] = hready[1] = -1;
	int64_t deadline = now_ms() + NET_START_MS;
	if (!wait_byte(hready[0], deadline)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "cannot create a network namespace for '%s' (user namespaces "
			     "unavailable?)",
			     sb->id);
		goto done;
	}
	char nspath[64];
	snprintf(nspath, sizeof(nspath), "/proc/%ld/ns/net", (long)holder);
	sb->net_fd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (sb->net_fd >= 0 && !root) {
		/* without root, joining the network namespace takes joining its
		 * user namespace first */
		snprintf(nspath, sizeof(nspath), "/proc/%ld/ns/user", (long)holder);
		sb->net_userns_fd = open(nspath, O_RDONLY | O_CLOEXEC);
	}
	if (sb->net_fd < 0 || (!root && sb->net_userns_fd < 0)) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "cannot open '%s': %s",
			     nspath, strerror(errno));
		goto done;
	}

	/* 2. slirp4netns, joining the holder's namespaces */
	sandbox_argv_add(&a, "slirp4netns");
	sandbox_argv_add(&a, "--configure");
	sandbox_argv_add(&a, "--mtu=" NET_MTU);
	/* 10.0.2.2 is not the host's loopback */
	sandbox_argv_add(&a, "--disable-host-loopback");
	sandbox_argv_add(&a, "--enable-sandbox");
	sandbox_argv_add(&a, "--enable-seccomp");
	sandbox_argv_add(&a, "--ready-fd=3");
	sandbox_argv_add(&a, "--exit-fd=4");
	sandbox_argv_addf(&a, "%ld", (long)holder);
	sandbox_argv_add(&a, "tap0");
	argv = sandbox_argv_detach(&a);
	sandbox_argv_add(&env, "PATH=" SANDBOX_PATH);
	sandbox_argv_addf(&env, "LD_PRELOAD=%s", shim);
	if (*allow)
		sandbox_argv_addf(&env, "PLUE_NETFILTER_ALLOW=%s", allow);
	envp = sandbox_argv_detach(&env);
	pid_t pid = fork();
	if (pid < 0) {
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable", "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		/* only system calls from here on; what fails is said in the log */
		static const char no_tun[] = "cannot give slirp4netns a /dev/net/tun\n";
		static const char no_exec[] = "cannot run slirp4netns\n";
		int r = fcntl(sready[1], F_DUPFD, 10), x = fcntl(sexit[0], F_DUPFD, 10);
		if (r < 0 || x < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 ||
		    dup2(logfd, 2) < 0 || dup2(r, 3) < 0 || dup2(x, 4) < 0)
			_exit(127);
		syscall(SYS_close_range, 5, ~0U, 0);
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (root) {
			/* a /dev/net/tun of its own, which its uid may open, in a
			 * mount namespace of its own: the host's stays as it is */
			if (unshare(CLONE_NEWNS) ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
			    mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC,
				  "size=4k,mode=755") ||
			    mknod("/dev/net/tun", S_IFCHR | 0600, tun.st_rdev) ||
			    chown("/dev/net/tun", uid, gid)) {
				if (write(2, no_tun, sizeof(no_tun) - 1) < 0) {
					/* nothing left to report with */
				}
				_exit(126);
			}
		}
		if (become(uid, gid))
			_exit(126);
		execve(exe, argv, envp);
		if (write(2, no_exec, sizeof(no_exec) - 1) < 0) {
			/* nothing left to report with */
		}
		_exit(127);
	}
	sb->net_pid = pid;
	close(sready[1]), close(sexit[0]);
	sready[1] = sexit[0] = -1;
	sb->net_exit = sexit[1];
	sexit[1] = -1;
	if (!wait_byte(sready[0], deadline)) {
		char last[200];
		slirp_log_reason(log, last, sizeof(last));
		rc = err_set(e, ERR_UNAVAILABLE, "sandbox_unavailable",
			     "the network of sandbox '%s' did not start: %.160s", sb->id,
			     *last ? last : "slirp4netns did not say why");
		goto done;
	}
done:
	/* 3. the holder's part is done: slirp4netns is in the namespaces, and
	 * the runner holds the network namespace */
	if (hold[1] >= 0)
		close(hold[1]);
	hold[1] = -1;
	if (holder > 0)
		waitpid(holder, NULL, 0);
	for (int i = 0; i < 2; i++) {
		if (hold[i] >= 0)
			close(hold[i]);
		if (hready[i] >= 0)
			close(hready[i]);
		if (sready[i] >= 0)
			close(sready[i]);
		if (sexit[i] >= 0)
			close(sexit[i]);
	}
	if (logfd >= 0)
		close(logfd);
	if (null >= 0)
		close(null);
	for (int i = 0; i < 3; i++)
		free(maps[i]);
	sandbox_argv_free(argv);
	sandbox_argv_free(envp);
	free(log);
	free(shim);
	free(allow);
	free(exe);
	if (rc)
		sandbox_net_stop(sb);
	return rc;
}

void sandbox_net_stop(struct sandbox *sb)
{
	if (sb->net_exit >= 0) {
		close(sb->net_exit);
		sb->net_exit = -1;
	}
	if (sb->net_pid > 0) {
		/* it leaves when its exit pipe closes; a moment's grace, then
		 * for good */
		int status;
		pid_t w = 0;
		for (int i = 0; i < 100 && (w = waitpid(sb->net_pid, &status, WNOHANG)) == 0; i++)
			usleep(2000);
		if (w == 0) {
			kill(sb->net_pid, SIGKILL);
			waitpid(sb->net_pid, &status, 0);
		}
		sb->net_pid = 0;
	}
	if (sb->net_fd >= 0) {
		close(sb->net_fd);
		sb->net_fd = -1;
	}
	if (sb->net_userns_fd >= 0) {
		close(sb->net_userns_fd);
		sb->net_userns_fd = -1;
	}
}
