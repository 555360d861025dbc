/* test_tools.c — the runner's agent tools on a real workspace in a real
 * sandbox (the kind "auto" picks): files confined to the workspace, commands
 * and git in the sandbox, push refusals and a push to a local repository. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/util.h"
#include "runner/client.h"
#include "runner/tools.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static enum sandbox_kind kind;

struct fixture {
	char root[64];    /* a temporary directory: the workspace and "outside" */
	char ws[128];
	char server[128]; /* file:// URL of root: clone_path /remote.git is a bare repository */
	struct tool_ctx c;
};

static int64_t cancel_at; /* cancelled() says yes from this time on (0: never) */

static int test_cancelled(void *cls)
{
	(void)cls;
	return cancel_at && now_ms() >= cancel_at;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs tool name with input (JSON text); returns its output (free it). */
static char *call(struct fixture *f, const char *name, const char *input, bool *is_error)
{
	json_error_t je;
	json_t *in = json_loads(input, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!in)
		fail_msg("bad test input %s: %s", input, je.text);
	char *out = NULL;
	tool_run(&f->c, name, in, &out, is_error);
	json_decref(in);
	assert_non_null(out);
	return out;
}

/* Runs tool name with input and fails unless its is_error is want_error
 * and its output contains want (NULL: anything), or is want when whole. */
static void expect(struct fixture *f, const char *name, const char *input, bool want_error,
		   const char *want, bool whole)
{
	bool err;
	char *out = call(f, name, input, &err);
	if (err != want_error || (want && !(whole ? !strcmp(out, want) : !!strstr(out, want))))
		fail_msg("%s %s: is_error %d, output:\n%s\nwanted is_error %d and %s'%s'", name,
			 input, err, out, want_error, whole ? "exactly " : "", want ? want : "");
	free(out);
}

#define OK(f, name, input, want) expect(f, name, input, false, want, false)
#define REFUSED(f, name, input, want) expect(f, name, input, true, want, false)
#define OK_IS(f, name, input, want) expect(f, name, input, false, want, true)
#define REFUSED_IS(f, name, input, want) expect(f, name, input, true, want, true)

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err e = { 0 };
	snprintf(f->root, sizeof(f->root), "/tmp/plue-tooltest-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->ws, sizeof(f->ws), "%s/ws", f->root);
	snprintf(f->server, sizeof(f->server), "file://%s", f->root);
	if (sandbox_create(&f->c.sb, kind, f->ws, NULL, &e))
		fail_msg("sandbox_create(%s): %s", sandbox_kind_name(kind), e.msg);
	f->c.server_url = f->server;
	f->c.workload_id = 1;
	f->c.task_token = "tt_test";
	f->c.clone_path = "/remote.git";
	f->c.author_name = "Agent Smith";
	f->c.author_email = "smith@example.com";
	f->c.cancelled = test_cancelled;
	cancel_at = 0;
	/* a file beside the workspace that no tool may read or write */
	assert_int_equal(sh("echo SECRET-OUTSIDE > %s/outside.txt", f->root), 0);
	OK(f, "run_command",
	   "{\"command\": \"git init -q -b main && printf 'hello\\\\nworld\\\\n' > README.md && "
	   "mkdir src && echo 'int main(void) { return 0; }' > src/main.c && git add -A && "
	   "git -c user.name=t -c user.email=t@example.com commit -qm init\"}",
	   "exit code 0");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tools_ctx_release(&f->c);
	sandbox_destroy(f->c.sb);
	path_remove_tree(f->root);
	free(f);
	return 0;
}

static void test_read_file(void **state)
{
	struct fixture *f = *state;
	OK_IS(f, "read_file", "{\"path\": \"README.md\"}", "hello\nworld\n");
	OK_IS(f, "read_file", "{\"path\": \"./src/../README.md\", \"offset\": 2, \"limit\": 5}",
	      "README.md: lines 2-2 of 2\nworld\n");
	REFUSED(f, "read_file", "{\"path\": \"README.md\", \"offset\": 9}",
		"'README.md' has 2 lines; offset 9 is past its end");
	REFUSED(f, "read_file", "{\"path\": \"nope.txt\"}", "'nope.txt' does not exist");
	REFUSED(f, "read_file", "{\"path\": \"src\"}", "'src' is a directory");
	OK(f, "run_command", "{\"command\": \"printf 'a\\\\0b' > bin.dat; : > empty\"}", NULL);
	REFUSED(f, "read_file", "{\"path\": \"bin.dat\"}", "'bin.dat' is a binary file (3 bytes)");
	OK(f, "read_file", "{\"path\": \"empty\"}", "empty: empty file");
}

static void test_list_files(void **state)
{
	struct fixture *f = *state;
	OK_IS(f, "list_files", "{}", "README.md\nsrc/\n"); /* .git hidden */
	OK_IS(f, "list_files", "{\"recursive\": true}", "README.md\nsrc/\nsrc/main.c\n");
	OK(f, "run_command", "{\"command\": \"mkdir many && cd many && touch $(seq 1 1200)\"}", NULL);
	bool err;
	char *out = call(f, "list_files", "{\"path\": \"many\", \"recursive\": true}", &err);
	assert_false(err);
	assert_non_null(strstr(out, "many/1\n"));
	assert_non_null(strstr(out, "\n... 200 more\n"));
	free(out);
	REFUSED(f, "list_files", "{\"path\": \"README.md\"}", "'README.md' is not a directory");
	REFUSED(f, "list_files", "{\"path\": \"..\"}", "leads out of the repository");
}

static void test_search_code(void **state)
{
	struct fixture *f = *state;
	OK(f, "search_code", "{\"pattern\": \"return [0-9]\"}",
	   "src/main.c:1:int main(void) { return 0; }");
	OK(f, "search_code", "{\"pattern\": \"HELLO\"}", "no matches");
	OK(f, "search_code", "{\"pattern\": \"HELLO\", \"ignore_case\": true}", "README.md:1:hello");
	OK(f, "search_code", "{\"pattern\": \"hello\", \"path\": \"src\"}", "no matches");
	REFUSED(f, "search_code", "{\"pattern\": \"a\", \"path\": \"/etc\"}", "absolute path");
	REFUSED(f, "search_code", "{\"pattern\": \"(\"}", "grep");
}

static void test_write_file(void **state)
{
	struct fixture *f = *state;
	char path[256];
	struct stat st;
	OK(f, "write_file", "{\"path\": \"new/dir/a.txt\", \"content\": \"fresh\\n\"}",
	   "wrote 6 bytes to new/dir/a.txt (new file)");
	snprintf(path, sizeof(path), "%s/new/dir/a.txt", f->ws);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, sandbox_uid(f->c.sb));
	assert_int_equal(st.st_gid, sandbox_gid(f->c.sb));
	assert_int_equal(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/new/dir", f->ws);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, sandbox_uid(f->c.sb));
	/* the sandbox can change what was written */
	OK(f, "run_command", "{\"command\": \"cat new/dir/a.txt && echo more >> new/dir/a.txt\"}",
	   "fresh");
	/* written counts as read */
	OK(f, "write_file", "{\"path\": \"new/dir/a.txt\", \"content\": \"again\"}", "(replaced)");
	/* read before write */
	REFUSED(f, "write_file", "{\"path\": \"README.md\", \"content\": \"x\"}",
		"'README.md' exists and was not read in this session");
	OK(f, "read_file", "{\"path\": \"README.md\"}", "hello");
	OK(f, "write_file", "{\"path\": \"README.md\", \"content\": \"bye\\n\"}", "(replaced)");
	OK(f, "read_file", "{\"path\": \"README.md\"}", "bye");
	REFUSED(f, "write_file", "{\"path\": \"src\", \"content\": \"x\"}", "is a directory");
}

/* Every path that leaves the workspace or enters .git is refused, for
 * reading and for writing, and nothing outside is written. */
static void test_path_refusals(void **state)
{
	struct fixture *f = *state;
	static const char *const paths[][2] = {
		{ "../outside.txt", "leads out of the repository" },
		{ "a/../../outside.txt", "leads out of the repository" },
		{ "/etc/passwd", "is an absolute path" },
		{ ".git/config", "inside .git" },
		{ "src/../.git/HEAD", "inside .git" },
		{ "sub/.git/x", "inside .git" },
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char in[256];
		snprintf(in, sizeof(in), "{\"path\": \"%s\"}", paths[i][0]);
		REFUSED(f, "read_file", in, paths[i][1]);
		snprintf(in, sizeof(in), "{\"path\": \"%s\", \"content\": \"PWNED\"}", paths[i][0]);
		REFUSED(f, "write_file", in, paths[i][1]);
	}
	assert_int_equal(sh("grep -q SECRET-OUTSIDE %s/outside.txt", f->root), 0);
	assert_int_equal(sh("grep -rq PWNED %s %s/ws/.git/config", f->root, f->root), 1);
}

static void test_symlinks_stay_inside(void **state)
{
	struct fixture *f = *state;
	bool err;
	OK(f, "run_command",
	   "{\"command\": \"ln -s /etc/passwd passwd && ln -s ../.. up && "
	   "ln -s ../outside.txt out && ln -s .git g && ln -s /proc/self/root/etc/passwd magic\"}",
	   NULL);
	char *out = call(f, "read_file", "{\"path\": \"passwd\"}", &err);
	assert_true(err);
	assert_null(strstr(out, "root:"));
	free(out);
	REFUSED(f, "read_file", "{\"path\": \"up/outside.txt\"}", "does not exist");
	REFUSED(f, "read_file", "{\"path\": \"out\"}", "does not exist");
	REFUSED(f, "read_file", "{\"path\": \"magic\"}", "'magic' does not exist");
	REFUSED(f, "read_file", "{\"path\": \"g/config\"}", "leads into .git");
	REFUSED(f, "list_files", "{\"path\": \"g\"}", "leads into .git");
	/* writing through links: the link itself is refused, a directory link
	 * resolves inside the workspace */
	REFUSED(f, "write_file", "{\"path\": \"passwd\", \"content\": \"PWNED\"}",
		"'passwd' exists and is a symbolic link");
	REFUSED(f, "write_file", "{\"path\": \"g/hooks/pre-commit\", \"content\": \"PWNED\"}",
		"leads into .git");
	OK(f, "write_file", "{\"path\": \"up/escaped.txt\", \"content\": \"PWNED\"}", NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/escaped.txt", f->root);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_not_equal(access("/escaped.txt", F_OK), 0);
	snprintf(path, sizeof(path), "%s/escaped.txt", f->ws);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(sh("grep -q SECRET-OUTSIDE %s/outside.txt", f->root), 0);
	assert_int_equal(sh("grep -q PWNED /etc/passwd"), 1);
	/* list_files shows links as links and does not follow them */
	out = call(f, "list_files", "{\"recursive\": true}", &err);
	assert_non_null(strstr(out, "\nup -> ../..\n"));
	assert_null(strstr(out, "up/"));
	free(out);
}

static void test_fifo_refused(void **state)
{
	struct fixture *f = *state;
	/* made in the sandbox (gVisor may keep it to itself) and on the host */
	OK(f, "run_command", "{\"command\": \"mkfifo pipe\"}", NULL);
	assert_int_equal(sh("test -p %s/pipe || mkfifo %s/pipe", f->ws, f->ws), 0);
	int64_t t0 = now_ms();
	REFUSED(f, "read_file", "{\"path\": \"pipe\"}", "'pipe' is not a regular file");
	REFUSED(f, "write_file", "{\"path\": \"pipe\", \"content\": \"x\"}",
		"'pipe' exists and is not a regular file");
	assert_true(now_ms() - t0 < 2000);
}

/* Processes of the sandbox's uid on the host (bubblewrap) plus, inside,
 * processes whose name is comm (gVisor keeps its processes to itself). */
static int procs_named(struct fixture *f, const char *comm)
{
	int n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[300], name[64] = "", stat_line[512] = "";
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%s", de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || stat(path, &st) ||
		    st.st_uid != sandbox_uid(f->c.sb))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		FILE *fp = fopen(path, "r");
		bool named = fp && fgets(name, sizeof(name), fp) &&
			     !strncmp(name, comm, strlen(comm));
		if (fp)
			fclose(fp);
		/* a zombie runs nothing (this machine's pid 1 may not reap) */
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fp = fopen(path, "r");
		const char *paren = fp && fgets(stat_line, sizeof(stat_line), fp)
					    ? strrchr(stat_line, ')')
					    : NULL;
		if (fp)
			fclose(fp);
		if (named && !(paren && paren[1] == ' ' && paren[2] == 'Z'))
			n++;
	}
	if (d)
		closedir(d);
	bool err;
	char *cmd = xasprintf("{\"command\": \"cat /proc/[0-9]*/comm 2>/dev/null | grep -cx %s; "
			      "true\"}",
			      comm);
	char *out = call(f, "run_command", cmd, &err);
	const char *nl = strchr(out, '\n');
	n += nl ? atoi(nl + 1) : 0;
	free(out);
	free(cmd);
	return n;
}

/* True when no process named comm is left within a second (a killed
 * process takes a moment to exit). */
static bool procs_gone(struct fixture *f, const char *comm)
{
	int64_t end = now_ms() + 1000;
	while (procs_named(f, comm) && now_ms() < end)
		usleep(20000);
	return procs_named(f, comm) == 0;
}

static void test_run_command(void **state)
{
	struct fixture *f = *state;
	REFUSED_IS(f, "run_command", "{\"command\": \"echo out; echo err >&2; exit 3\"}",
		   "exit code 3\nout\nerr\n");
	OK(f, "run_command", "{\"command\": \"pwd; id -u\"}", "exit code 0\n");
	/* invalid UTF-8 becomes U+FFFD */
	OK_IS(f, "run_command", "{\"command\": \"printf 'a\\\\377b'\"}",
	      "exit code 0\na\xef\xbf\xbd"
	      "b\n");
	REFUSED(f, "run_command", "{\"command\": \"true\", \"timeout\": 601}",
		"timeout must be between 1 and 600 seconds");
	REFUSED(f, "run_command", "{\"command\": \"true\", \"timeout\": 0}", "timeout must be");
}

static void test_run_command_timeout(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = now_ms();
	REFUSED(f, "run_command", "{\"command\": \"sleep 37 & sleep 38\", \"timeout\": 1}",
		"timed out after 1 s: the command was killed");
	assert_true(now_ms() - t0 < 5000);
	assert_true(procs_gone(f, "sleep"));
}

static void test_run_command_cancel(void **state)
{
	struct fixture *f = *state;
	cancel_at = now_ms() + 300;
	int64_t t0 = now_ms();
	REFUSED(f, "run_command", "{\"command\": \"sleep 39\"}", "cancelled: the command was killed");
	assert_true(now_ms() - t0 < 1500);
	cancel_at = 0;
	assert_true(procs_gone(f, "sleep"));
}

static void test_run_command_output_cap(void **state)
{
	struct fixture *f = *state;
	bool err;
	/* long output: the middle is left out */
	char *out = call(f, "run_command", "{\"command\": \"seq 1 100000\"}", &err);
	assert_false(err);
	assert_true(strlen(out) <= TOOL_OUTPUT_MAX + 64);
	assert_int_equal(strncmp(out, "exit code 0\n1\n2\n", 16), 0);
	assert_non_null(strstr(out, " bytes left out ...]\n"));
	assert_true(str_has_suffix(out, "\n100000\n"));
	free(out);
	/* endless output: killed past the cap */
	out = call(f, "run_command", "{\"command\": \"yes\"}", &err);
	assert_true(err);
	assert_true(strlen(out) <= TOOL_OUTPUT_MAX + 64);
	assert_non_null(strstr(out, "too much output"));
	free(out);
}

static void test_run_command_confined(void **state)
{
	struct fixture *f = *state;
	char cmd[512];
	REFUSED(f, "run_command", "{\"command\": \"curl -sS -m 5 http://1.1.1.1/\"}", "curl");
	REFUSED(f, "run_command", "{\"command\": \"echo > /dev/tcp/1.1.1.1/80\"}", "exit code 1");
	snprintf(cmd, sizeof(cmd), "{\"command\": \"cat %s/outside.txt\"}", f->root);
	REFUSED(f, "run_command", cmd, "No such file or directory");
	REFUSED(f, "run_command", "{\"command\": \"ls /root\"}", "No such file or directory");
	REFUSED(f, "run_command", "{\"command\": \"cat /etc/shadow\"}", "No such file or directory");
}

static void test_git_tools(void **state)
{
	struct fixture *f = *state;
	bool err;
	OK(f, "git_status", "{}", "## main");
	OK(f, "git_diff", "{}", "no changes");
	OK(f, "read_file", "{\"path\": \"README.md\"}", NULL);
	OK(f, "write_file", "{\"path\": \"README.md\", \"content\": \"hello\\nthere\\n\"}", NULL);
	OK(f, "write_file", "{\"path\": \"src/ünï.c\", \"content\": \"x\\n\"}", NULL);
	OK(f, "git_status", "{}", "?? src/ünï.c"); /* core.quotePath=false */
	OK(f, "git_diff", "{}", "+there");
	OK(f, "git_diff", "{\"path\": \"src\"}", "no changes");
	OK(f, "git_diff", "{\"staged\": true}", "no changes");
	REFUSED(f, "git_diff", "{\"path\": \"../x\"}", "leads out of the repository");

	OK(f, "create_branch", "{\"name\": \"fix-typo\"}",
	   "switched to a new branch 'plue/fix-typo'");
	OK(f, "git_status", "{}", "## plue/fix-typo");
	REFUSED(f, "create_branch", "{\"name\": \"fix-typo\"}", "cannot create 'plue/fix-typo'");
	REFUSED(f, "create_branch", "{\"name\": \"bad..name\"}",
		"'plue/bad..name' is not a valid branch name");
	REFUSED(f, "create_branch", "{\"name\": \"plue/\"}", "is not a valid branch name");
	OK(f, "create_branch", "{\"name\": \"plue/other\"}", "'plue/other'");

	char *out = call(f, "commit", "{\"message\": \"Say there\\n\\nBecause.\"}", &err);
	assert_false(err);
	assert_int_equal(strncmp(out, "committed ", 10), 0);
	assert_true(is_sha1_hex(out + 10));
	char *want = xasprintf("%s\nAgent Smith <smith@example.com>|Agent Smith|Say there\n",
			       out + 10);
	free(out);
	out = call(f, "run_command",
		   "{\"command\": \"git rev-parse HEAD; git log -1 --format='%an <%ae>|%cn|%s'; "
		   "git ls-files -z src\"}",
		   &err);
	assert_false(err);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "src/ünï.c"));
	free(out);
	free(want);
	REFUSED(f, "commit", "{\"message\": \"again\"}", "nothing to commit");
}

static void test_push_refusals(void **state)
{
	struct fixture *f = *state;
	/* nothing is listening on the closed port: a refusal must come first */
	f->c.server_url = "http://127.0.0.1:1";
	REFUSED(f, "push", "{}",
		"push: refused: only branches under plue/ may be pushed, and 'main' is not one");
	REFUSED(f, "push", "{\"branch\": \"main\"}", "refused: only branches under plue/");
	REFUSED(f, "push", "{\"branch\": \"refs/heads/plue/x\"}", "refused");
	REFUSED(f, "push", "{\"branch\": \"plue/nope\"}", "there is no branch 'plue/nope'");
	REFUSED(f, "push", "{\"branch\": \"plue/a b\"}", "is not a branch name the runner pushes");
	OK(f, "run_command", "{\"command\": \"git checkout -q --detach\"}", NULL);
	REFUSED(f, "push", "{}", "HEAD is not on a branch");
	/* a plue/ branch does reach for the server */
	OK(f, "run_command", "{\"command\": \"git switch -q -c plue/x\"}", NULL);
	REFUSED(f, "push", "{}", "push: pushing ");
}

static void test_push(void **state)
{
	struct fixture *f = *state;
	bool err;
	assert_int_equal(sh("git init -q --bare %s/remote.git", f->root), 0);
	OK(f, "create_branch", "{\"name\": \"work\"}", NULL);
	OK(f, "write_file", "{\"path\": \"new.txt\", \"content\": \"new\\n\"}", NULL);
	char *out = call(f, "commit", "{\"message\": \"add new\"}", &err);
	assert_false(err);
	char sha[41];
	snprintf(sha, sizeof(sha), "%s", out + 10);
	free(out);
	/* a hook in the workspace never runs on the host */
	OK(f, "run_command",
	   "{\"command\": \"printf '#!/bin/sh\\\\ntouch /tmp/plue-tooltest-hook-ran\\\\n' > "
	   ".git/hooks/pre-push && chmod +x .git/hooks/pre-push && git config core.hooksPath "
	   ".git/hooks\"}",
	   NULL);
	OK(f, "push", "{}", "pushed ");
	char *cmd = xasprintf("test \"$(git --git-dir=%s/remote.git rev-parse refs/heads/plue/work)\" "
			      "= %s",
			      f->root, sha);
	assert_int_equal(sh("%s", cmd), 0);
	free(cmd);
	assert_int_not_equal(access("/tmp/plue-tooltest-hook-ran", F_OK), 0);
	/* a rejected push answers git's message */
	OK(f, "run_command",
	   "{\"command\": \"git -c user.name=t -c user.email=t@example.com commit -q --amend -m changed\"}",
	   NULL);
	REFUSED(f, "push", "{\"branch\": \"plue/work\"}", "rejected");
}

/* The workspace's .git may name objects anywhere on the host (an
 * alternates file, links): push never reads them there, so another
 * repository's object the runner's host holds cannot be pushed out. */
static void test_push_reads_no_host_objects(void **state)
{
	struct fixture *f = *state;
	char id[64] = "";
	assert_int_equal(sh("cd %s && git init -q --bare remote.git && git init -q --bare secret.git "
			    "&& echo TOP-SECRET | git --git-dir=secret.git hash-object -w --stdin > "
			    "secret.id",
			    f->root),
			 0);
	char *path = xasprintf("%s/secret.id", f->root);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(id, sizeof(id), fp));
	fclose(fp);
	free(path);
	id[40] = 0;
	char *cmd = xasprintf(
		"{\"command\": \"echo %s/secret.git/objects >> .git/objects/info/alternates && "
		"t=$(printf '100644 blob %s\\\\tstolen\\\\n' | git mktree --missing) && "
		"c=$(git -c user.name=t -c user.email=t@e commit-tree $t -m steal) && "
		"git branch plue/steal $c\"}",
		f->root, id);
	OK(f, "run_command", cmd, "exit code 0");
	free(cmd);
	REFUSED(f, "push", "{\"branch\": \"plue/steal\"}", "push: packing ");
	assert_int_not_equal(sh("git --git-dir=%s/remote.git cat-file -e %s 2>/dev/null", f->root,
				id),
			     0);
}

/* A workspace checked out shallow, as the runner does: the push sends only
 * what the server lacks, from the runner's repository that knows the
 * workspace's shallow commits. */
static void test_push_from_shallow(void **state)
{
	struct fixture *f = *state;
	struct err e = { 0 };
	bool err;
	assert_int_equal(sh("cd %s && git init -q -b main up && cd up && for i in 1 2 3; do "
			    "echo $i > f && git add f && git -c user.name=t -c user.email=t@e "
			    "commit -qm c$i; done && git clone -q --bare . ../remote.git",
			    f->root),
			 0);
	OK(f, "run_command", "{\"command\": \"rm -rf .git README.md src\"}", "exit code 0");
	assert_int_equal(sh("cd %s && git init -q && git -c safe.directory='*' fetch -q --depth=1 "
			    "file://%s/remote.git main && git -c safe.directory='*' checkout -q "
			    "FETCH_HEAD",
			    f->ws, f->root),
			 0);
	assert_int_equal(sandbox_workspace_sync(f->c.sb, &e), 0);
	OK(f, "create_branch", "{\"name\": \"shallow\"}", NULL);
	OK(f, "read_file", "{\"path\": \"f\"}", "3");
	OK(f, "write_file", "{\"path\": \"f\", \"content\": \"4\\n\"}", NULL);
	char *out = call(f, "commit", "{\"message\": \"c4\"}", &err);
	assert_false(err);
	char *cmd = xasprintf("test \"$(git --git-dir=%s/remote.git rev-parse plue/shallow~3)\" = "
			      "\"$(git --git-dir=%s/remote.git rev-list --max-parents=0 main)\" && "
			      "test \"$(git --git-dir=%s/remote.git rev-parse plue/shallow)\" = %s",
			      f->root, f->root, f->root, out + 10);
	free(out);
	OK(f, "push", "{}", "pushed ");
	assert_int_equal(sh("%s", cmd), 0);
	free(cmd);
}

static void test_input_errors(void **state)
{
	struct fixture *f = *state;
	REFUSED(f, "rm_rf", "{}", "unknown tool 'rm_rf'");
	/* no input at all is an empty one */
	char *out = NULL;
	bool err = true;
	tool_run(&f->c, "git_status", NULL, &out, &err);
	assert_false(err);
	assert_non_null(strstr(out, "## main"));
	free(out);
	REFUSED(f, "read_file", "{\"path\": \"README.md\", \"offset\": -1}",
		"offset and limit must be between 1 and");
	REFUSED(f, "read_file", "[1]", "read_file: the input must be a JSON object");
	REFUSED(f, "read_file", "{}", "read_file: missing required field 'path'");
	REFUSED(f, "read_file", "{\"path\": null}", "missing required field 'path'");
	REFUSED(f, "read_file", "{\"path\": 3}", "read_file: field 'path' must be of type string");
	REFUSED(f, "read_file", "{\"path\": \"a\\u0000b\"}", "contains a NUL character");
	REFUSED(f, "run_command", "{\"command\": \"true\", \"timeout\": \"5\"}",
		"field 'timeout' must be of type integer");
	REFUSED(f, "pr_review", "{\"number\": 1, \"event\": \"merge\"}",
		"field 'event' has an unknown value 'merge'");
}

static void test_forge_unreachable(void **state)
{
	struct fixture *f = *state;
	f->c.client = client_new("http://127.0.0.1:1", NULL);
	REFUSED(f, "create_issue", "{\"title\": \"x\"}",
		"create_issue: the server could not be reached");
	client_free(f->c.client);
	f->c.client = NULL;
}

/* Serves one HTTP request on a new local port (*port) from a child: when
 * the request has every string of want, answers status and body, else 400.
 * Returns the child's pid. */
static pid_t serve_once(int *port, const char *const *want, int status, const char *body)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	pid_t pid = fork();
	if (pid) {
		close(s);
		return pid;
	}
	int cfd = accept(s, NULL, NULL);
	char req[8192];
	size_t n = 0;
	ssize_t k;
	/* headers and a small body arrive within a moment */
	struct pollfd pf = { cfd, POLLIN, 0 };
	while (n < sizeof(req) - 1 && poll(&pf, 1, 300) > 0 &&
	       (k = read(cfd, req + n, sizeof(req) - 1 - n)) > 0)
		n += (size_t)k;
	req[n] = 0;
	bool ok = true;
	for (size_t i = 0; want[i]; i++)
		ok &= strstr(req, want[i]) != NULL;
	const char *b = ok ? body : "{\"error\": {\"message\": \"not the request wanted\"}}";
	char resp[1024];
	int m = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
			 "%zu\r\nConnection: close\r\n\r\n%s",
			 ok ? status : 400, strlen(b), b);
	if (write(cfd, resp, (size_t)m) < 0)
		_exit(1);
	close(cfd);
	_exit(0);
}

static void test_forge_tools(void **state)
{
	struct fixture *f = *state;
	const char *const want[] = { "POST /internal/tasks/1/tools/comment_on_issue ",
				     "Authorization: Bearer tt_test",
				     "{\"input\":{\"number\":7,\"body\":\"hi\"}}", NULL };
	int port, st;
	pid_t pid = serve_once(&port, want, 200,
			       "{\"output\": \"commented on #7\", \"is_error\": false}");
	char *url = xasprintf("http://127.0.0.1:%d", port);
	f->c.client = client_new(url, NULL);
	OK(f, "comment_on_issue", "{\"number\": 7, \"body\": \"hi\"}", "commented on #7");
	waitpid(pid, &st, 0);
	client_free(f->c.client);
	free(url);
	/* the server's own refusals and tool errors */
	const char *const any[] = { NULL };
	pid = serve_once(&port, any, 200, "{\"output\": \"no issue #9\", \"is_error\": true}");
	url = xasprintf("http://127.0.0.1:%d", port);
	f->c.client = client_new(url, NULL);
	REFUSED(f, "comment_on_issue", "{\"number\": 9, \"body\": \"hi\"}", "no issue #9");
	waitpid(pid, &st, 0);
	client_free(f->c.client);
	free(url);
	pid = serve_once(&port, any, 403, "{\"error\": {\"message\": \"tool not granted\"}}");
	url = xasprintf("http://127.0.0.1:%d", port);
	f->c.client = client_new(url, NULL);
	REFUSED(f, "create_pr", "{\"title\": \"t\", \"head\": \"plue/x\"}",
		"create_pr: the server refused it (HTTP 403): tool not granted");
	waitpid(pid, &st, 0);
	client_free(f->c.client);
	free(url);
	f->c.client = NULL;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_read_file),
	T(test_list_files),
	T(test_search_code),
	T(test_write_file),
	T(test_path_refusals),
	T(test_symlinks_stay_inside),
	T(test_fifo_refused),
	T(test_run_command),
	T(test_run_command_timeout),
	T(test_run_command_cancel),
	T(test_run_command_output_cap),
	T(test_run_command_confined),
	T(test_git_tools),
	T(test_push_refusals),
	T(test_push),
	T(test_push_from_shallow),
	T(test_push_reads_no_host_objects),
	T(test_input_errors),
	T(test_forge_unreachable),
	T(test_forge_tools),
};

int main(int argc, char **argv)
{
	/* the kind "auto" picks, or the one named: test_tools gvisor|bwrap */
	struct err e = { 0 };
	if (sandbox_detect(&kind, argc > 1 ? argv[1] : "auto", &e)) {
		printf("[  SKIPPED ] tools: no sandbox works here: %s\n", e.msg);
		return 0;
	}
	printf("[ SANDBOX  ] %s\n", sandbox_kind_name(kind));
	fflush(stdout);
	return cmocka_run_group_tests_name("tools", tests, NULL, NULL);
}
