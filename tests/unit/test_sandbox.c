/* test_sandbox.c — the sandbox boundary, proven against the real runsc and
 * the real bubblewrap: every test runs once per kind. Needs root (gVisor and
 * the per-sandbox uids); without root only bubblewrap runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/util.h"
#include "runner/sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netdb.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static enum sandbox_kind kind;

struct fixture {
	char root[64]; /* a temporary directory for the test */
	char ws[128];  /* the workspace, inside root */
	struct sandbox *sb;
};

struct capture {
	struct buf out, err; /* lines, each followed by '\n' */
	int nout, nerr;
	int64_t cancel_at;   /* cancelled() says yes from this time on (0: never) */
	int64_t cancel_seen; /* when it first said yes */
};

#define CAPTURE_INIT { .out = BUF_INIT, .err = BUF_INIT }

static void on_line(void *cls, int stream, const char *line, size_t len)
{
	struct capture *c = cls;
	struct buf *b = stream == SANDBOX_STDOUT ? &c->out : &c->err;
	buf_add(b, line, len);
	buf_addch(b, '\n');
	if (stream == SANDBOX_STDOUT)
		c->nout++;
	else
		c->nerr++;
}

static int on_cancel(void *cls)
{
	struct capture *c = cls;
	if (c->cancel_at && now_ms() >= c->cancel_at) {
		if (!c->cancel_seen)
			c->cancel_seen = now_ms();
		return 1;
	}
	return 0;
}

static void capture_free(struct capture *c)
{
	buf_release(&c->out);
	buf_release(&c->err);
	*c = (struct capture)CAPTURE_INIT;
}

static int make_root(char *out, size_t n)
{
	snprintf(out, n, "/tmp/plue-sbtest-XXXXXX");
	return mkdtemp(out) ? 0 : -1;
}

static void rm_tree(const char *path)
{
	pid_t p = fork();
	if (p == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = { 0 };
	assert_int_equal(make_root(f->root, sizeof(f->root)), 0);
	snprintf(f->ws, sizeof(f->ws), "%s/ws", f->root);
	int rc = sandbox_create(&f->sb, kind, f->ws, NULL, &e);
	if (rc)
		fail_msg("sandbox_create(%s): %s", sandbox_kind_name(kind), e.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sandbox_destroy(f->sb);
	rm_tree(f->root);
	free(f);
	return 0;
}

/* Runs bash -c script in sb. */
static struct sandbox_result run_in(struct sandbox *sb, const char *script,
				    const struct sandbox_limits *lim, struct capture *c)
{
	const char *argv[] = { "bash", "-c", script, NULL };
	struct sandbox_cmd cmd = {
		.argv = argv,
		.limits = lim,
		.on_output = on_line,
		.cancelled = on_cancel,
		.cls = c,
	};
	struct sandbox_result res;
	struct err e = { 0 };
	int rc = sandbox_exec(sb, &cmd, &res, &e);
	if (rc)
		fail_msg("sandbox_exec(%s): %s", script, e.msg);
	return res;
}

static struct sandbox_result run(void **state, const char *script, struct capture *c)
{
	struct fixture *f = *state;
	return run_in(f->sb, script, NULL, c);
}

/* ---- running, output, environment ---- */

static void test_output_in_order(void **state)
{
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(
		state,
		"for i in $(seq 1 200); do echo out$i; echo err$i >&2; done; printf 'no newline'; exit 7",
		&c);
	assert_int_equal(res.exit_code, 7);
	assert_int_equal(res.signal, 0);
	assert_false(res.timed_out || res.cancelled || res.output_truncated);
	assert_int_equal(c.nout, 201);
	assert_int_equal(c.nerr, 200);
	struct buf want_out = BUF_INIT, want_err = BUF_INIT;
	for (int i = 1; i <= 200; i++) {
		buf_addf(&want_out, "out%d\n", i);
		buf_addf(&want_err, "err%d\n", i);
	}
	buf_adds(&want_out, "no newline\n");
	assert_string_equal(c.out.ptr, want_out.ptr);
	assert_string_equal(c.err.ptr, want_err.ptr);
	buf_release(&want_out);
	buf_release(&want_err);
	capture_free(&c);
}

static void test_long_lines_split(void **state)
{
	struct capture c = CAPTURE_INIT;
	/* 20000 'a' then a newline, then an empty line, then "b" */
	struct sandbox_result res = run(state,
					"head -c 20000 /dev/zero | tr '\\0' a; printf '\\n\\nb\\n'",
					&c);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(c.nout, 5); /* 8192 + 8192 + 3616, "", "b" */
	const char *p = c.out.ptr;
	size_t l1 = strcspn(p, "\n");
	assert_int_equal(l1, SANDBOX_LINE_MAX);
	p += l1 + 1;
	size_t l2 = strcspn(p, "\n");
	assert_int_equal(l2, SANDBOX_LINE_MAX);
	p += l2 + 1;
	assert_int_equal(strcspn(p, "\n"), 20000 - 2 * SANDBOX_LINE_MAX);
	assert_string_equal(strchr(p, '\n'), "\n\nb\n");
	assert_int_equal(res.output_bytes, 20000 + 3 + 1);
	capture_free(&c);
}

static void test_input_and_cwd(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	const char *argv[] = { "bash", "-c", "pwd; cat", NULL };
	struct sandbox_cmd cmd = { .argv = argv,
				   .cwd = "sub/dir",
				   .input = "hello\nworld\n",
				   .input_len = 12,
				   .on_output = on_line,
				   .cls = &c };
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	char want[256];
	snprintf(want, sizeof(want), "%s/sub/dir\nhello\nworld\n", sandbox_workspace_inside(f->sb));
	assert_string_equal(c.out.ptr, want);
	capture_free(&c);

	const char *bad[] = { "../x", "/etc", "a/../../b", "..", NULL };
	for (int i = 0; bad[i]; i++) {
		struct err e2 = { 0 };
		cmd.cwd = bad[i];
		assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e2), ERR_INVALID);
		assert_string_equal(e2.slug, "invalid_cwd");
		assert_non_null(strstr(e2.msg, bad[i]));
	}
}

static void test_environment_is_only_what_was_passed(void **state)
{
	struct fixture *f = *state;
	setenv("PLUE_SECRET_KEY", "host-secret", 1);
	setenv("PLUE_DATABASE_URL", "postgres://secret", 1);
	struct capture c = CAPTURE_INIT;
	const char *argv[] = { "bash", "-c", "env | LC_ALL=C sort", NULL };
	const char *env[] = { "FOO=bar baz", "CI=true", NULL };
	struct sandbox_cmd cmd = { .argv = argv, .env = env, .on_output = on_line, .cls = &c };
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	char want[1024];
	snprintf(want, sizeof(want),
		 "CI=true\nFOO=bar baz\nHOME=/tmp\n"
		 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
		 "PWD=%s\nSHLVL=1\n_=/usr/bin/env\n",
		 sandbox_workspace_inside(f->sb));
	assert_string_equal(c.out.ptr, want);
	assert_null(strstr(c.out.ptr, "PLUE_"));
	capture_free(&c);
	unsetenv("PLUE_SECRET_KEY");
	unsetenv("PLUE_DATABASE_URL");
}

static void test_runs_as_unprivileged_uid(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(state,
					"id -u; id -g; grep CapEff /proc/self/status; touch made-here",
					&c);
	assert_int_equal(res.exit_code, 0);
	char want[128];
	snprintf(want, sizeof(want), "%u\n%u\nCapEff:\t0000000000000000\n",
		 (unsigned)sandbox_uid(f->sb), (unsigned)sandbox_gid(f->sb));
	assert_string_equal(c.out.ptr, want);
	if (geteuid() == 0)
		assert_int_not_equal(sandbox_uid(f->sb), 0);
	/* what the command made belongs to the sandbox's uid on the host */
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/made-here", sandbox_workspace(f->sb));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, sandbox_uid(f->sb));
	capture_free(&c);
}

static void test_workspace_sync(void **state)
{
	struct fixture *f = *state;
	/* the runner writes on the host (as root), then hands the files over */
	char path[256];
	snprintf(path, sizeof(path), "%s/src", sandbox_workspace(f->sb));
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/src/file", sandbox_workspace(f->sb));
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("host\n", fp);
	fclose(fp);
	chmod(path, 0644);
	struct err e = { 0 };
	assert_int_equal(sandbox_workspace_sync(f->sb, &e), 0);
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(state, "echo sandbox >> src/file && cat src/file", &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "host\nsandbox\n");
	capture_free(&c);
}

static void test_ls_works(void **state)
{
	/* coreutils' statx with AT_NO_AUTOMOUNT, which runsc 20221219 rejects:
	 * the statx shim makes it work in gVisor (sandbox_gvisor.c) */
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(
		state,
		"printf 12345 > f && ls -l f && stat -c 'size %s' f && ls -la /tmp >/dev/null", &c);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(c.out.ptr, " f\n"));
	assert_non_null(strstr(c.out.ptr, "size 5\n"));
	assert_null(strstr(c.err.ptr ? c.err.ptr : "", "preload"));
	capture_free(&c);
}

/* ---- what a command sees ---- */

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_etc_is_the_sandboxs_own(void **state)
{
	/* exactly the sandbox's own files and the few host entries programs
	 * need (sandbox.h), each where the host has it: no gitconfig, npmrc,
	 * ssh configuration, shadow, machine-id, ... */
	const char *names[32];
	size_t n = 0;
	const char *own[] = { "group", "hosts", "nsswitch.conf", "passwd" };
	for (size_t i = 0; i < 4; i++)
		names[n++] = own[i];
	if (kind == SANDBOX_GVISOR)
		names[n++] = "ld.so.preload";
	const char *host[] = { "alternatives", "ld.so.cache", "ld.so.conf",
			       "ld.so.conf.d", "localtime",   "os-release",
			       "protocols",    "services",    "timezone" };
	struct stat st;
	char path[128];
	for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
		snprintf(path, sizeof(path), "/etc/%s", host[i]);
		if (!lstat(path, &st))
			names[n++] = host[i];
	}
	bool certs = !lstat("/etc/ssl/certs", &st), cnf = !lstat("/etc/ssl/openssl.cnf", &st);
	if (certs || cnf)
		names[n++] = "ssl";
	qsort(names, n, sizeof(names[0]), strcmp_p);
	struct buf want = BUF_INIT;
	buf_adds(&want, "etc ");
	for (size_t i = 0; i < n; i++)
		buf_addf(&want, "%s ", names[i]);
	buf_addf(&want, "\nssl %s%s\n", certs ? "certs " : "", cnf ? "openssl.cnf " : "");
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(
		state,
		"echo etc $(LC_ALL=C ls -A /etc) ''; echo ssl $(LC_ALL=C ls -A /etc/ssl) ''; "
		"cat /etc/hosts; echo passwd $(wc -l < /etc/passwd); "
		"echo sys $(ls -A /sys 2>/dev/null | wc -l) $(grep -c sysfs /proc/mounts)",
		&c);
	assert_int_equal(res.exit_code, 0);
	if (strncmp(c.out.ptr, want.ptr, want.len))
		fail_msg("/etc is\n%s\nwant\n%s", c.out.ptr, want.ptr);
	/* its own hosts and accounts; no resolv.conf without network */
	assert_non_null(strstr(c.out.ptr, "127.0.1.1\tplue\n"));
	assert_non_null(strstr(c.out.ptr, "passwd 3\n"));
	/* no sysfs: gVisor's /sys is an empty directory, bubblewrap has none */
	assert_non_null(strstr(c.out.ptr, "sys 0 0\n"));
	buf_release(&want);
	capture_free(&c);
}

static void test_step_has_its_own_accounts(void **state)
{
	/* the sandbox's uid is "runner" in its own /etc/passwd and /etc/group,
	 * which list none of the host's accounts (bubblewrap's too) */
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(
		state,
		"echo \"who $(whoami) $(id -un) $(id -gn) $(getent passwd runner | cut -d: -f6)\"; "
		"cut -d: -f1 /etc/passwd | tr '\\n' ' '; echo",
		&c);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(strstr(c.out.ptr, "who runner runner runner /tmp\n"));
	assert_non_null(strstr(c.out.ptr, "root nobody runner \n"));
	capture_free(&c);
}

static void test_common_programs_run(void **state)
{
	/* what steps use most works with the small /etc: the compiler through
	 * /etc/alternatives, TLS certificates where OpenSSL and Python look,
	 * protocol names (perl's sockets), git, make, node */
	struct {
		const char *exe, *script, *want;
	} progs[] = {
		{ "/usr/bin/cc",
		  "printf 'int main(void){return 0;}' > /tmp/t.c && cc -o /tmp/t /tmp/t.c && /tmp/t && "
		  "echo cc-ok",
		  "cc-ok\n" },
		{ "/usr/bin/python3",
		  "python3 -c 'import ssl,os; p=ssl.get_default_verify_paths(); "
		  "print(\"ca\", os.path.isfile(p.openssl_cafile) or os.path.isdir(p.openssl_capath))'",
		  "ca True\n" },
		{ "/usr/bin/curl", "test -s /etc/ssl/certs/ca-certificates.crt && echo bundle",
		  "bundle\n" },
		{ "/usr/bin/perl", "perl -e 'print scalar(getprotobyname(q(tcp))), qq(\\n)'", "6\n" },
		{ "/usr/bin/git",
		  "git init -q /tmp/r && git -C /tmp/r -c user.name=a -c user.email=a@b commit -q "
		  "--allow-empty -m x && echo git-ok",
		  "git-ok\n" },
		{ "/usr/bin/make",
		  "printf 'all:\\n\\t@echo make-ok\\n' > /tmp/mk && make -s -f /tmp/mk",
		  "make-ok\n" },
		{ "/usr/bin/node", "node -e 'console.log(\"node-ok\")'", "node-ok\n" },
	};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (access(progs[i].exe, X_OK))
			continue;
		struct capture c = CAPTURE_INIT;
		struct sandbox_result res = run(state, progs[i].script, &c);
		if (res.exit_code != 0 || !c.out.ptr || strcmp(c.out.ptr, progs[i].want))
			fail_msg("%s: exit %d, out '%s', err '%s'", progs[i].exe, res.exit_code,
				 c.out.ptr ? c.out.ptr : "", c.err.ptr ? c.err.ptr : "");
		capture_free(&c);
	}
}

/* ---- the boundary ---- */

static int listen_local(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 8) ||
	    getsockname(s, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return s;
}

static bool pending_connection(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

static void test_no_network(void **state)
{
	int port = 0;
	int s = listen_local(&port);
	assert_true(s >= 0);
	char script[512];
	snprintf(script, sizeof(script),
		 "grep -v -e '|' /proc/net/dev | cut -d: -f1 | tr -d ' '; "
		 "if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then echo connected; fi; "
		 "if (exec 3<>/dev/tcp/1.1.1.1/80) 2>/dev/null; then echo internet; fi; true",
		 port);
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(state, script, &c);
	assert_int_equal(res.exit_code, 0);
	/* loopback is the only interface; the host's port is out of reach */
	assert_string_equal(c.out.ptr, "lo\n");
	assert_false(pending_connection(s));
	capture_free(&c);
	close(s);
}

/* ---- granted network ---- */

/* An "outside" for the network tests: a network namespace joined to the
 * host by a veth pair, 203.0.113.201/30 on the host's side (TEST-NET-3, a
 * documentation range and not a private one, so the filter lets it
 * through) and .202 inside, plus a private address inside (100.127.113.2,
 * shared address space, which the filter refuses unless allowed). A small
 * /30 keeps the host's route to the rest of 203.0.113.0/24 as it is. The
 * listeners are sockets this process makes in each namespace. */
#define OUT_HOST "203.0.113.201"
#define OUT_PEER "203.0.113.202"
#define OUT_PRIVATE "100.127.113.2"

struct outside {
	char ns[32], veth[16], peer[16];
	int outside, private_, loopback, host, veth_host; /* listening sockets */
	int port_outside, port_private, port_loopback, port_host, port_veth;
	char host_addr[INET_ADDRSTRLEN];                  /* the host's own non-loopback address */
};

/* Runs ip with these arguments; 0 when it exits 0. */
static int ip(const char *first, ...)
{
	const char *argv[24] = { "ip", first };
	int n = 2;
	va_list ap;
	va_start(ap, first);
	while (n < 23 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid_t p = fork();
	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execvp("ip", (char *const *)argv);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A listening TCP socket on addr (port 0: any), in the network namespace
 * at ns_path (NULL: this process's). */
static int listen_on(const char *addr, const char *ns_path, int *port)
{
	int self = -1, s = -1;
	if (ns_path) {
		int fd = open(ns_path, O_RDONLY | O_CLOEXEC);
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || self < 0 || setns(fd, CLONE_NEWNET))
			return -1;
		close(fd);
	}
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	inet_pton(AF_INET, addr, &a.sin_addr);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 8) ||
	    getsockname(s, (struct sockaddr *)&a, &len)) {
		if (s >= 0)
			close(s);
		s = -1;
	}
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET))
			abort();
		close(self);
	}
	*port = ntohs(a.sin_port);
	return s;
}

static int teardown_outside(void **state)
{
	struct outside *o = *state;
	if (!o)
		return 0;
	int fds[] = { o->outside, o->private_, o->loopback, o->host, o->veth_host };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* the pair goes with either end, the route with it; the namespace's
	 * own end would go later, in the background */
	ip("link", "del", o->veth, NULL);
	ip("netns", "del", o->ns, NULL);
	free(o);
	*state = NULL;
	return 0;
}

static int setup_outside(void **state)
{
	static int seq;
	*state = NULL;
	if (geteuid() != 0)
		return 0; /* network namespaces need root: the tests skip */
	struct outside *o = xcalloc(1, sizeof(*o));
	o->outside = o->private_ = o->loopback = o->host = o->veth_host = -1;
	long id = (long)getpid() % 100000;
	seq++;
	snprintf(o->ns, sizeof(o->ns), "plue-sbtest-%ld-%d", id, seq);
	snprintf(o->veth, sizeof(o->veth), "plsb%ld-%da", id, seq);
	snprintf(o->peer, sizeof(o->peer), "plsb%ld-%db", id, seq);
	*state = o;
	char ns_path[64];
	snprintf(ns_path, sizeof(ns_path), "/run/netns/%s", o->ns);
	if (ip("netns", "add", o->ns, NULL) ||
	    ip("link", "add", o->veth, "type", "veth", "peer", "name", o->peer, NULL) ||
	    ip("link", "set", o->peer, "netns", o->ns, NULL) ||
	    ip("addr", "add", OUT_HOST "/30", "dev", o->veth, NULL) ||
	    ip("link", "set", o->veth, "up", NULL) ||
	    ip("-n", o->ns, "addr", "add", OUT_PEER "/30", "dev", o->peer, NULL) ||
	    ip("-n", o->ns, "addr", "add", OUT_PRIVATE "/32", "dev", o->peer, NULL) ||
	    ip("-n", o->ns, "link", "set", o->peer, "up", NULL) ||
	    ip("-n", o->ns, "link", "set", "lo", "up", NULL) ||
	    ip("route", "add", OUT_PRIVATE "/32", "dev", o->veth, NULL)) {
		print_error("cannot set up the outside network namespace '%s'\n", o->ns);
		goto fail;
	}
	/* the host's own address: the first IPv4 address of an interface that
	 * is not loopback nor the test's */
	FILE *p = popen("ip -4 -o addr show scope global", "r");
	char line[512];
	while (p && !o->host_addr[0] && fgets(line, sizeof(line), p)) {
		char ifname[64], addr[64];
		if (sscanf(line, "%*d: %63s inet %63[0-9.]", ifname, addr) == 2 &&
		    strcmp(ifname, o->veth))
			snprintf(o->host_addr, sizeof(o->host_addr), "%s", addr);
	}
	if (p)
		pclose(p);
	if (!o->host_addr[0]) {
		print_error("the host has no non-loopback IPv4 address to test with\n");
		goto fail;
	}
	o->outside = listen_on(OUT_PEER, ns_path, &o->port_outside);
	o->private_ = listen_on(OUT_PRIVATE, ns_path, &o->port_private);
	o->loopback = listen_on("127.0.0.1", NULL, &o->port_loopback);
	o->host = listen_on(o->host_addr, NULL, &o->port_host);
	o->veth_host = listen_on(OUT_HOST, NULL, &o->port_veth);
	if (o->outside < 0 || o->private_ < 0 || o->loopback < 0 || o->host < 0 || o->veth_host < 0) {
		print_error("cannot listen for the network tests\n");
		goto fail;
	}
	return 0;
fail:
	teardown_outside(state);
	return -1;
}

/* Takes a connection waiting on s, if any: true when there was one. */
static bool take_connection(int s)
{
	if (!pending_connection(s))
		return false;
	int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0)
		close(c);
	return true;
}

/* Runs the probe of every destination in a new sandbox with network, with
 * PLUE_SANDBOX_ALLOW_NETS set to allow (NULL: unset), and returns its
 * output: "NAME=yes" or "NAME=no" per destination. */
static char *probe_network(struct outside *o, const char *allow)
{
	char root[64], ws[128], script[2048];
	assert_int_equal(make_root(root, sizeof(root)), 0);
	snprintf(ws, sizeof(ws), "%s/ws", root);
	if (allow)
		setenv("PLUE_SANDBOX_ALLOW_NETS", allow, 1);
	struct sandbox *sb = NULL;
	struct sandbox_limits lim = { .network = true };
	struct err e = { 0 };
	int rc = sandbox_create(&sb, kind, ws, &lim, &e);
	unsetenv("PLUE_SANDBOX_ALLOW_NETS");
	if (rc)
		fail_msg("sandbox_create: %s", e.msg);
	snprintf(script, sizeof(script),
		 "try() { if timeout 10 bash -c \"exec 3<>/dev/tcp/$2/$3\" 2>/dev/null; "
		 "then echo $1=yes; else echo $1=no; fi; }; "
		 "try outside %s %d; try private %s %d; try loopback 127.0.0.1 %d; "
		 "try hostalias 10.0.2.2 %d; try host %s %d; try veth %s %d; "
		 "try metadata 169.254.169.254 80; "
		 "echo ifaces $(grep -v -e '|' /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | "
		 "tr '\\n' ' '); "
		 "echo hosts $(getent hosts plue); "
		 "python3 -c 'import socket\n"
		 "try: socket.getaddrinfo(\"plue-probe.invalid\", 80); print(\"dns found\")\n"
		 "except socket.gaierror as e: print(\"dns\", e.errno)'",
		 OUT_PEER, o->port_outside, OUT_PRIVATE, o->port_private, o->port_loopback,
		 o->port_loopback, o->host_addr, o->port_host, OUT_HOST, o->port_veth);
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run_in(sb, script, NULL, &c);
	if (res.exit_code != 0)
		fail_msg("probe exited %d: %s", res.exit_code, c.err.ptr);
	char *out = xstrdup(c.out.ptr);
	capture_free(&c);
	sandbox_destroy(sb);
	rm_tree(root);
	return out;
}

/* The slirp4netns processes this process started that still run. */
static int slirp_children(void)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[64], stat_line[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, stat_line, sizeof(stat_line) - 1);
		close(fd);
		stat_line[k > 0 ? k : 0] = 0;
		const char *paren = strrchr(stat_line, ')');
		int ppid = 0;
		char st = 0;
		if (strstr(stat_line, "(slirp4netns)") && paren &&
		    sscanf(paren + 1, " %c %d", &st, &ppid) == 2 && ppid == getpid() && st != 'Z')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* Fails with the whole output when it lacks want. */
static void assert_has(const char *out, const char *want)
{
	if (!strstr(out, want))
		fail_msg("no '%s' in:\n%s", want, out);
}

static void test_network_reaches_only_outside(void **state)
{
	struct outside *o = *state;
	if (!o)
		skip();
	char *out = probe_network(o, NULL);
	/* the outside, and nothing of the host: not its loopback (the
	 * sandbox's 127.0.0.1 is its own, 10.0.2.2 is not the host's), not its
	 * own addresses (one public, one the test's), not a private network,
	 * not the metadata address */
	assert_has(out, "outside=yes\n");
	assert_has(out, "private=no\n");
	assert_has(out, "loopback=no\n");
	assert_has(out, "hostalias=no\n");
	assert_has(out, "host=no\n");
	assert_has(out, "veth=no\n");
	assert_has(out, "metadata=no\n");
	assert_true(take_connection(o->outside));
	assert_false(take_connection(o->private_));
	assert_false(take_connection(o->loopback));
	assert_false(take_connection(o->host));
	assert_false(take_connection(o->veth_host));
	/* its own loopback and the link to slirp4netns */
	assert_has(out, "ifaces lo tap0\n");
	/* names: /etc/hosts, and the resolver through slirp4netns answers as
	 * it answers the host (EAI_NONAME, -2, for a name that cannot exist;
	 * unreachable would be EAI_AGAIN, -3) */
	assert_has(out, "hosts 127.0.1.1 plue\n");
	struct addrinfo *ai = NULL;
	int host_dns = getaddrinfo("plue-probe.invalid", "80", NULL, &ai);
	if (ai)
		freeaddrinfo(ai);
	if (host_dns == EAI_NONAME)
		assert_has(out, "dns -2\n");
	else
		printf("[  NOTE    ] the host's resolver does not answer here; DNS checked "
		       "through /etc/hosts only\n");
	free(out);
	/* destroyed: its slirp4netns is gone */
	assert_int_equal(slirp_children(), 0);
}

static void test_network_allow_list(void **state)
{
	struct outside *o = *state;
	if (!o)
		skip();
	/* the operator allows the private network (and nothing else changes) */
	char *out = probe_network(o, " 192.0.2.250/32, " OUT_PRIVATE "/32 ");
	assert_has(out, "outside=yes\n");
	assert_has(out, "private=yes\n");
	assert_has(out, "host=no\n");
	assert_has(out, "metadata=no\n");
	assert_true(take_connection(o->outside));
	assert_true(take_connection(o->private_));
	assert_false(take_connection(o->host));
	free(out);
}

static void test_network_permission_error(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "true", NULL };
	struct sandbox_limits lim = { .network = true };
	struct sandbox_cmd cmd = { .argv = argv, .limits = &lim };
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), ERR_PERM);
	assert_string_equal(e.slug, "no_network");
	assert_non_null(strstr(e.msg, "was started without network"));
}

static void test_cannot_read_outside(void **state)
{
	struct fixture *f = *state;
	/* a fake server data directory: private, holding a secret */
	char data[64], secret[128], open_file[128], script[1024];
	assert_int_equal(make_root(data, sizeof(data)), 0);
	snprintf(secret, sizeof(secret), "%s/server.key", data);
	snprintf(open_file, sizeof(open_file), "%s/readme", data);
	FILE *fp = fopen(secret, "w");
	fputs("TOPSECRET\n", fp);
	fclose(fp);
	chmod(secret, 0600);
	fp = fopen(open_file, "w");
	fputs("visible-if-mounted\n", fp);
	fclose(fp);
	chmod(open_file, 0644);
	chmod(data, 0755);
	snprintf(script, sizeof(script),
		 "cat %s %s 2>/dev/null; ls %s 2>/dev/null; cat /etc/shadow 2>/dev/null; "
		 "ls /root /home /var /srv /run 2>/dev/null; "
		 "cat %s/../ws/x 2>/dev/null; echo done",
		 secret, open_file, data, f->root);
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(state, script, &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "done\n");
	/* only the read-only root and the workspace are there */
	capture_free(&c);
	res = run(state, "echo /*", &c);
	assert_non_null(strstr(c.out.ptr, "etc"));
	assert_null(strstr(c.out.ptr, "root"));
	assert_null(strstr(c.out.ptr, "home"));
	assert_null(strstr(c.out.ptr, "var"));
	capture_free(&c);
	rm_tree(data);
}

static void test_cannot_write_outside(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(
		state,
		"for p in /usr/plue-x /etc/plue-x /plue-x /bin/plue-x /proc/plue-x /workspace/../plue-x; do "
		"  if touch $p 2>/dev/null; then echo wrote $p; fi; done; "
		"touch /workspace/ok /tmp/ok && echo ok",
		&c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "ok\n");
	struct stat st;
	assert_int_not_equal(stat("/usr/plue-x", &st), 0);
	assert_int_not_equal(stat("/etc/plue-x", &st), 0);
	assert_int_not_equal(stat("/plue-x", &st), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/ok", sandbox_workspace(f->sb));
	assert_int_equal(stat(path, &st), 0);
	capture_free(&c);
}

static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_limits lim = { .timeout_ms = 1000 };
	struct sandbox_result res = run_in(f->sb, "echo start; sleep 100; echo never", &lim, &c);
	assert_true(res.timed_out);
	assert_false(res.cancelled);
	assert_int_not_equal(res.exit_code, 0);
	assert_true(res.duration_ms < 30000);
	assert_string_equal(c.out.ptr, "start\n");
	capture_free(&c);
	/* the sandbox serves the next command; nothing of the last one runs */
	res = run(state, "echo again; ps -eo args | grep -c '^sleep 100' || true", &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "again\n0\n");
	capture_free(&c);
}

static void test_cancel_within_a_second(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	c.cancel_at = now_ms() + 300;
	struct sandbox_result res = run_in(f->sb, "sleep 100 & sleep 100; echo never", NULL, &c);
	int64_t end = now_ms();
	assert_true(res.cancelled);
	assert_false(res.timed_out);
	assert_true(c.cancel_seen > 0);
	if (end - c.cancel_seen >= 1000)
		fail_msg("cancel took %lld ms", (long long)(end - c.cancel_seen));
	assert_string_equal(c.out.ptr, "");
	capture_free(&c);
	/* nothing of it is left running: the next command sees no sleep */
	res = run(state, "ps -eo args | grep -c '^sleep 100' || true", &c);
	assert_string_equal(c.out.ptr, "0\n");
	capture_free(&c);
}

static void test_output_cap(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_limits lim = { .output_bytes = 10000 };
	/* yes never stops by itself: the cap must end it */
	struct sandbox_result res = run_in(f->sb, "yes 0123456789", &lim, &c);
	assert_true(res.output_truncated);
	assert_int_equal(res.output_bytes, 10000);
	assert_int_equal(c.out.len, 10000 + 1); /* the cut line gets its '\n' here */
	assert_int_not_equal(res.exit_code, 0);
	capture_free(&c);
}

static void test_memory_limit(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_limits lim = { .memory_bytes = 256LL << 20 };
	struct sandbox_result res = run_in(
		f->sb, "python3 -c 'x = bytearray(1 << 30); print(\"allocated\", len(x))'", &lim, &c);
	assert_int_not_equal(res.exit_code, 0);
	assert_null(strstr(c.out.ptr, "allocated"));
	assert_non_null(strstr(c.err.ptr, "MemoryError"));
	capture_free(&c);
	/* under the limit it works */
	res = run_in(f->sb, "python3 -c 'x = bytearray(64 << 20); print(\"allocated\")'", &lim, &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "allocated\n");
	capture_free(&c);
}

static void test_process_limit(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_limits lim = { .max_procs = 40 };
	struct sandbox_result res = run_in(f->sb,
					   "python3 -c '\n"
					   "import os, signal, time\n"
					   "kids = []\n"
					   "try:\n"
					   "    while len(kids) < 100:\n"
					   "        pid = os.fork()\n"
					   "        if pid == 0:\n"
					   "            time.sleep(60)\n"
					   "            os._exit(0)\n"
					   "        kids.append(pid)\n"
					   "except OSError as e:\n"
					   "    print(\"fork failed\", e.errno)\n"
					   "print(\"forked\", len(kids))\n"
					   "for k in kids:\n"
					   "    os.kill(k, signal.SIGKILL)\n"
					   "    os.waitpid(k, 0)\n"
					   "'",
					   &lim, &c);
	assert_int_equal(res.exit_code, 0);
	int forked = -1;
	const char *p = strstr(c.out.ptr, "forked ");
	assert_non_null(strstr(c.out.ptr, "fork failed 11\n"));
	assert_non_null(p);
	assert_int_equal(sscanf(p, "forked %d", &forked), 1);
	assert_true(forked > 0 && forked < 40);
	capture_free(&c);
}

static void test_fork_bomb_ends(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	struct sandbox_limits lim = { .max_procs = 64, .timeout_ms = 8000 };
	struct sandbox_result res = run_in(f->sb, "bomb() { bomb | bomb & }; bomb; wait", &lim, &c);
	/* it ends, by its own failing forks or by the wall clock */
	assert_true(res.duration_ms < 60000);
	capture_free(&c);
	/* the host is fine and so is the sandbox */
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	assert_true(p > 0);
	int st;
	waitpid(p, &st, 0);
	res = run(state, "echo alive", &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "alive\n");
	capture_free(&c);
}

static void test_sandboxes_are_isolated(void **state)
{
	struct fixture *a = *state;
	char root[64], ws[128];
	assert_int_equal(make_root(root, sizeof(root)), 0);
	snprintf(ws, sizeof(ws), "%s/ws", root);
	struct sandbox *b = NULL;
	struct err e = { 0 };
	if (sandbox_create(&b, kind, ws, NULL, &e))
		fail_msg("sandbox_create: %s", e.msg);
	assert_int_not_equal(sandbox_uid(a->sb), sandbox_uid(b));
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(state, "echo secret-a > mine; echo a > /tmp/a-tmp", &c);
	assert_int_equal(res.exit_code, 0);
	char script[512];
	snprintf(script, sizeof(script),
		 "cat %s/mine /workspace/mine /tmp/a-tmp 2>/dev/null; ls /workspace; echo end",
		 sandbox_workspace(a->sb));
	res = run_in(b, script, NULL, &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "end\n");
	capture_free(&c);
	/* and the host path of b is closed to a's uid as well */
	struct stat st;
	assert_int_equal(stat(sandbox_workspace(b), &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(st.st_uid, sandbox_uid(b));
	sandbox_destroy(b);
	rm_tree(root);
}

/* Processes whose command line mentions s, or that run as uid. */
static int count_procs(const char *s, uid_t uid)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		char path[64], buf[4096];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len > 0 ? len : 0] = 0;
		/* a zombie runs nothing (this machine's pid 1 may not reap) */
		char stat_line[512] = "";
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t k = read(fd, stat_line, sizeof(stat_line) - 1);
			stat_line[k > 0 ? k : 0] = 0;
			close(fd);
		}
		const char *paren = strrchr(stat_line, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'Z')
			continue;
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if ((s && strstr(buf, s)) || (stat(path, &st) == 0 && st.st_uid == uid))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void test_destroy_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	/* something left running in the background of the sandbox */
	struct sandbox_result res = run(state,
					"setsid sleep 300 >/dev/null 2>&1 < /dev/null & echo started",
					&c);
	assert_int_equal(res.exit_code, 0);
	capture_free(&c);
	char id[64];
	snprintf(id, sizeof(id), "%s", sandbox_id(f->sb));
	uid_t uid = sandbox_uid(f->sb);
	assert_true(count_procs(kind == SANDBOX_GVISOR ? id : NULL, uid) >= 0);
	sandbox_destroy(f->sb);
	f->sb = NULL;
	assert_int_equal(count_procs(id, uid), 0);
	/* nor its cgroups (where this process's pids cgroup is the root) */
	char cg[128];
	struct stat st;
	snprintf(cg, sizeof(cg), "/sys/fs/cgroup/pids/%s", id);
	assert_int_not_equal(stat(cg, &st), 0);
	if (kind == SANDBOX_GVISOR) {
		/* runsc no longer knows the container */
		char cmd[512];
		const char *dir = getenv("PLUE_SANDBOX_DIR") ? getenv("PLUE_SANDBOX_DIR")
							     : "/run/plue-sandbox";
		snprintf(cmd, sizeof(cmd),
			 "runsc --root=%s/runsc list -quiet 2>/dev/null | grep -c %s", dir, id);
		FILE *p = popen(cmd, "r");
		int n = -1;
		assert_non_null(p);
		assert_int_equal(fscanf(p, "%d", &n), 1);
		pclose(p);
		assert_int_equal(n, 0);
	}
}

static void test_memory_ceiling(void **state)
{
	struct fixture *f = *state;
	if (kind == SANDBOX_BWRAP && geteuid() != 0)
		skip(); /* bubblewrap's ceiling is a cgroup: root only */
	/* processes each under the per-process limit, together over the
	 * command's (bwrap) or the sandbox's (gVisor: memory_bytes + overhead)
	 * ceiling: the kernel kills them, not the host */
	sandbox_destroy(f->sb);
	f->sb = NULL;
	struct sandbox_limits lim = { .memory_bytes = 256LL << 20 };
	struct err e = { 0 };
	char ws2[160];
	snprintf(ws2, sizeof(ws2), "%s/ws2", f->root);
	if (sandbox_create(&f->sb, kind, ws2, &lim, &e))
		fail_msg("sandbox_create: %s", e.msg);
	struct capture c = CAPTURE_INIT;
	struct sandbox_result res = run(
		state,
		"for i in 1 2 3 4 5 6; do python3 -c 'import time; x = bytearray(200 << 20); "
		"time.sleep(20)' & done; wait",
		&c);
	assert_true(res.limit_hit);
	capture_free(&c);
	const char *argv[] = { "echo", "alive", NULL };
	struct sandbox_cmd cmd = { .argv = argv, .on_output = on_line, .cls = &c };
	if (kind == SANDBOX_GVISOR) {
		/* the whole sandbox went; the workload fails cleanly */
		assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), ERR_UNAVAILABLE);
		assert_string_equal(e.slug, "sandbox_gone");
	} else {
		/* the OOM killer took processes of the command; the sandbox lives */
		assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), 0);
		assert_string_equal(c.out.ptr, "alive\n");
	}
	capture_free(&c);
}

/* ---- many commands, odd commands ---- */

static void test_many_commands_in_a_row(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	/* what pid 1 holds open stays the same: nothing leaks per command */
	const char *count = "ls /proc/1/fd 2>/dev/null | wc -l";
	run(state, count, &c);
	char before[32];
	snprintf(before, sizeof(before), "%s", c.out.ptr);
	capture_free(&c);
	for (int i = 0; i < 40; i++) {
		char script[128], want[64];
		snprintf(script, sizeof(script), "echo run %d; echo err %d >&2; exit %d", i, i,
			 i % 7);
		struct sandbox_result res = run_in(f->sb, script, NULL, &c);
		assert_int_equal(res.exit_code, i % 7);
		snprintf(want, sizeof(want), "run %d\n", i);
		assert_string_equal(c.out.ptr, want);
		snprintf(want, sizeof(want), "err %d\n", i);
		assert_string_equal(c.err.ptr, want);
		capture_free(&c);
	}
	run(state, count, &c);
	assert_string_equal(c.out.ptr, before);
	capture_free(&c);
}

static void test_stdout_closed_early(void **state)
{
	struct capture c = CAPTURE_INIT;
	/* the command closes its stdout, then still writes to stderr */
	struct sandbox_result res = run(state,
					"echo first; exec >&-; sleep 0.2; echo after >&2; exit 4",
					&c);
	assert_int_equal(res.exit_code, 4);
	assert_string_equal(c.out.ptr, "first\n");
	assert_string_equal(c.err.ptr, "after\n");
	capture_free(&c);
	/* both closed: only the status comes back */
	res = run(state, "exec >&- 2>&-; sleep 0.2; exit 5", &c);
	assert_int_equal(res.exit_code, 5);
	assert_int_equal(c.out.len + c.err.len, 0);
	capture_free(&c);
	/* a background process keeps stdout open after the command ended:
	 * the command's end is not held up by it */
	res = run(state, "(sleep 60; echo late) & echo main", &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "main\n");
	assert_true(res.duration_ms < 50000);
	capture_free(&c);
}

static void test_large_input(void **state)
{
	struct fixture *f = *state;
	size_t n = 1 << 20;
	char *input = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		input[i] = (char)('a' + i % 26);
	struct capture c = CAPTURE_INIT;
	const char *argv[] = { "bash", "-c", "wc -c; echo done", NULL };
	struct sandbox_cmd cmd = {
		.argv = argv, .input = input, .input_len = n, .on_output = on_line, .cls = &c
	};
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "1048576\ndone\n");
	capture_free(&c);
	/* a command that never reads its input ends all the same */
	const char *argv2[] = { "bash", "-c", "echo ignored", NULL };
	cmd.argv = argv2;
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), 0);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "ignored\n");
	capture_free(&c);
	free(input);
}

static void test_command_not_found(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	const char *argv[] = { "no-such-command", "x", NULL };
	struct sandbox_cmd cmd = { .argv = argv, .on_output = on_line, .cls = &c };
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), 0);
	assert_int_equal(res.exit_code, 127);
	assert_non_null(strstr(c.err.ptr, "cannot run 'no-such-command'"));
	capture_free(&c);
	/* and the sandbox goes on */
	struct sandbox_result res2 = run(state, "echo next", &c);
	assert_int_equal(res2.exit_code, 0);
	assert_string_equal(c.out.ptr, "next\n");
	capture_free(&c);
}

/* ---- the gVisor execd ---- */

static void test_step_cannot_reach_execd(void **state)
{
	struct capture c = CAPTURE_INIT;
	/* pid 1 is execd, holding the pipes to the runner: the command can
	 * neither open them (this gVisor lists /proc/1/fd, but opening an
	 * entry takes the permissions of what it points to: the runner's
	 * pipes are root's, mode 0600), nor read its memory, trace or signal
	 * it. execd's stdin and stdout are /dev/null, which anyone opens. */
	struct sandbox_result res = run(
		state,
		"n=0; for f in /proc/1/fd/*; do "
		"  [ \"$(readlink $f)\" = /dev/null ] && continue; n=$((n+1)); "
		"  timeout 2 bash -c 'exec 3<\"$1\"' x \"$f\" 2>/dev/null && echo \"read $f\"; "
		"  timeout 2 bash -c 'exec 3>>\"$1\"' x \"$f\" 2>/dev/null && echo \"write $f\"; "
		"done; [ $n -ge 3 ] || echo \"only $n descriptors\"; "
		"(exec 3</proc/1/mem) 2>/dev/null && echo mem; "
		"python3 -c 'import ctypes; l = ctypes.CDLL(None); "
		"print(\"ptrace\", l.ptrace(16, 1, 0, 0), \"no_new_privs\", l.prctl(39, 0, 0, 0, 0))'; "
		"for s in KILL TERM STOP; do kill -$s 1 2>/dev/null && echo \"signalled $s\"; done; "
		"grep -E '^(CapPrm|CapEff)' /proc/self/status; echo done",
		&c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "ptrace -1 no_new_privs 1\n"
				       "CapPrm:\t0000000000000000\n"
				       "CapEff:\t0000000000000000\n"
				       "done\n");
	capture_free(&c);
	res = run(state, "echo alive", &c);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(c.out.ptr, "alive\n");
	capture_free(&c);
}

/* Kills the gVisor sandbox's init (execd) from the host. */
static void kill_execd(const char *id)
{
	const char *dir = getenv("PLUE_SANDBOX_DIR") ? getenv("PLUE_SANDBOX_DIR")
						     : "/run/plue-sandbox";
	char root[512];
	snprintf(root, sizeof(root), "--root=%s/runsc", dir);
	pid_t p = fork();
	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("runsc", "runsc", root, "kill", id, "KILL", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
}

struct killer {
	struct capture c; /* first: on_line takes the killer as its capture */
	const char *id;
	int64_t kill_at;
	bool done;
};

static int kill_execd_once(void *cls)
{
	struct killer *k = cls;
	if (!k->done && now_ms() >= k->kill_at) {
		k->done = true;
		kill_execd(k->id);
	}
	return 0;
}

static void test_killed_execd_is_an_error(void **state)
{
	struct fixture *f = *state;
	/* execd dies while a command runs: an error at once, not a hang
	 * until the command's 30 s */
	struct killer k = { .c = CAPTURE_INIT, .id = sandbox_id(f->sb), .kill_at = now_ms() + 300 };
	const char *argv[] = { "bash", "-c", "echo started; sleep 30; echo never", NULL };
	struct sandbox_cmd cmd = {
		.argv = argv, .on_output = on_line, .cancelled = kill_execd_once, .cls = &k
	};
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), ERR_UNAVAILABLE);
	assert_true(k.done);
	assert_string_equal(e.slug, "sandbox_gone");
	assert_non_null(strstr(e.msg, "stopped during the command"));
	assert_true(res.duration_ms < 25000);
	capture_free(&k.c);
	/* and every later command is refused */
	struct capture c = CAPTURE_INIT;
	const char *argv2[] = { "true", NULL };
	struct sandbox_cmd cmd2 = { .argv = argv2, .on_output = on_line, .cls = &c };
	struct err e2 = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd2, &res, &e2), ERR_UNAVAILABLE);
	assert_string_equal(e2.slug, "sandbox_gone");
	assert_non_null(strstr(e2.msg, "is no longer running"));
	capture_free(&c);
}

static void test_killed_execd_between_commands(void **state)
{
	struct fixture *f = *state;
	struct capture c = CAPTURE_INIT;
	run(state, "true", &c);
	kill_execd(sandbox_id(f->sb));
	const char *argv[] = { "echo", "x", NULL };
	struct sandbox_cmd cmd = { .argv = argv, .on_output = on_line, .cls = &c };
	struct sandbox_result res;
	struct err e = { 0 };
	assert_int_equal(sandbox_exec(f->sb, &cmd, &res, &e), ERR_UNAVAILABLE);
	assert_string_equal(e.slug, "sandbox_gone");
	assert_string_equal(c.out.ptr, "");
	capture_free(&c);
}

/* ---- API errors ---- */

static void test_detect_errors(void **state)
{
	(void)state;
	enum sandbox_kind k;
	struct err e = { 0 };
	assert_int_equal(sandbox_detect(&k, "docker", &e), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_sandbox");
	assert_string_equal(e.msg, "unknown sandbox 'docker' (auto, gvisor, bwrap, none or pod)");
	struct err e2 = { 0 };
	assert_int_equal(sandbox_detect(&k, "none", &e2), 0);
	assert_int_equal(k, SANDBOX_NONE);
	assert_string_equal(sandbox_kind_name(SANDBOX_GVISOR), "gvisor");
	assert_string_equal(sandbox_kind_name(SANDBOX_BWRAP), "bwrap");
}

static void test_allow_nets_errors(void **state)
{
	(void)state;
	/* a runner with a bad allow list does not start */
	enum sandbox_kind k;
	struct err e = { 0 };
	setenv("PLUE_SANDBOX_ALLOW_NETS", "10.1.0.0/16,10.2.0.0/33", 1);
	assert_int_equal(sandbox_detect(&k, "bwrap", &e), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_setting");
	assert_string_equal(e.msg, "invalid network '10.2.0.0/33' in PLUE_SANDBOX_ALLOW_NETS (want "
				   "an address or a CIDR such as 10.1.0.0/16)");
	/* nor does a sandbox with network */
	char root[64], ws[128];
	assert_int_equal(make_root(root, sizeof(root)), 0);
	snprintf(ws, sizeof(ws), "%s/ws", root);
	setenv("PLUE_SANDBOX_ALLOW_NETS", "example.com", 1);
	struct sandbox *sb = (struct sandbox *)1;
	struct sandbox_limits lim = { .network = true };
	struct err e2 = { 0 };
	assert_int_equal(sandbox_create(&sb, SANDBOX_BWRAP, ws, &lim, &e2), ERR_INVALID);
	assert_null(sb);
	assert_string_equal(e2.slug, "invalid_setting");
	assert_non_null(strstr(e2.msg, "invalid network 'example.com' in PLUE_SANDBOX_ALLOW_NETS"));
	/* good lists pass */
	const char *good[] = { "", " , ", "10.0.0.0/8", "192.168.1.5, fd00::/8,127.0.0.1/32" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		/* past the list, the unknown kind is what fails */
		struct err e3 = { 0 };
		setenv("PLUE_SANDBOX_ALLOW_NETS", good[i], 1);
		assert_int_equal(sandbox_detect(&k, "docker", &e3), ERR_INVALID);
		assert_string_equal(e3.slug, "invalid_sandbox");
	}
	unsetenv("PLUE_SANDBOX_ALLOW_NETS");
	rm_tree(root);
}

static void test_bad_workspace(void **state)
{
	(void)state;
	struct sandbox *sb = (struct sandbox *)1;
	struct err e = { 0 };
	assert_int_equal(sandbox_create(&sb, kind, "/proc/version/x", NULL, &e), ERR_INVALID);
	assert_null(sb);
	assert_string_equal(e.slug, "invalid_workspace");
	struct err e2 = { 0 };
	assert_int_equal(sandbox_create(&sb, kind, "", NULL, &e2), ERR_INVALID);
	assert_string_equal(e2.msg, "no workspace directory given");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_output_in_order),
	T(test_long_lines_split),
	T(test_input_and_cwd),
	T(test_environment_is_only_what_was_passed),
	T(test_runs_as_unprivileged_uid),
	T(test_workspace_sync),
	T(test_ls_works),
	T(test_etc_is_the_sandboxs_own),
	T(test_step_has_its_own_accounts),
	T(test_common_programs_run),
	T(test_no_network),
	cmocka_unit_test_setup_teardown(test_network_reaches_only_outside, setup_outside,
					teardown_outside),
	cmocka_unit_test_setup_teardown(test_network_allow_list, setup_outside, teardown_outside),
	T(test_network_permission_error),
	T(test_cannot_read_outside),
	T(test_cannot_write_outside),
	T(test_timeout),
	T(test_cancel_within_a_second),
	T(test_output_cap),
	T(test_memory_limit),
	T(test_process_limit),
	T(test_fork_bomb_ends),
	T(test_sandboxes_are_isolated),
	T(test_destroy_leaves_nothing),
	T(test_memory_ceiling),
	T(test_many_commands_in_a_row),
	T(test_stdout_closed_early),
	T(test_large_input),
	T(test_command_not_found),
	cmocka_unit_test(test_bad_workspace),
};

/* gVisor's execd only (bubblewrap has a fresh pid 1 per command) */
static const struct CMUnitTest gvisor_tests[] = {
	T(test_step_cannot_reach_execd),
	T(test_killed_execd_is_an_error),
	T(test_killed_execd_between_commands),
};

/* none (sandbox_none.c): nothing to isolate, but the same running,
 * output and stop policy */
static const struct CMUnitTest none_tests[] = {
	T(test_output_in_order),
	T(test_long_lines_split),
	T(test_input_and_cwd),
	T(test_timeout),
	T(test_cancel_within_a_second),
	T(test_output_cap),
	T(test_many_commands_in_a_row),
	T(test_stdout_closed_early),
	T(test_large_input),
	T(test_command_not_found),
	cmocka_unit_test(test_bad_workspace),
};

static const struct CMUnitTest api_tests[] = {
	cmocka_unit_test(test_detect_errors),
	cmocka_unit_test(test_allow_nets_errors),
};

int main(int argc, char **argv)
{
	/* a single kind: test_sandbox gvisor|bwrap|none */
	const char *only = argc > 1 ? argv[1] : NULL;
	int failed = cmocka_run_group_tests_name("sandbox api", api_tests, NULL, NULL);
	const enum sandbox_kind kinds[] = { SANDBOX_GVISOR, SANDBOX_BWRAP };
	for (size_t i = 0; i < 2; i++) {
		kind = kinds[i];
		if (only && strcmp(only, sandbox_kind_name(kind)))
			continue;
		if (kind == SANDBOX_GVISOR && geteuid() != 0) {
			printf("[  SKIPPED ] gvisor: runsc needs root\n");
			continue;
		}
		enum sandbox_kind k;
		struct err e = { 0 };
		if (sandbox_detect(&k, sandbox_kind_name(kind), &e)) {
			printf("[  FAILED  ] %s: %s\n", sandbox_kind_name(kind), e.msg);
			failed++;
			continue;
		}
		failed += _cmocka_run_group_tests(sandbox_kind_name(kind), tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
		if (kind == SANDBOX_GVISOR)
			failed += _cmocka_run_group_tests("gvisor execd", gvisor_tests,
							  sizeof(gvisor_tests) /
								  sizeof(gvisor_tests[0]),
							  NULL, NULL);
	}
	if (!only || !strcmp(only, "none")) {
		kind = SANDBOX_NONE;
		failed += _cmocka_run_group_tests("none", none_tests,
						  sizeof(none_tests) / sizeof(none_tests[0]), NULL,
						  NULL);
	}
	return failed ? 1 : 0;
}
