/* tools.c — runs an agent's tool calls on the workload's workspace (see
 * tools.h): files through descriptors confined to the workspace, commands
 * and git inside the sandbox, push from the runner's own repository, forge
 * tools through the server. */
#include "runner/tools.h"
#include "base/buf.h"
#include "base/util.h"
#include "llm/tools.h"
#include "runner/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_DEFAULT_LINES 2000
#define READ_LINES_MAX (1LL << 40)
#define BINARY_PROBE 8192
#define LIST_MAX 1000         /* entries a recursive listing shows */
#define LIST_COUNT_MAX 100000 /* entries it counts beyond them at most */
#define LIST_DEPTH_MAX 64
#define SEARCH_LINE_MAX 300   /* a longer matching line is cut */
#define COLLECT_MAX (1 << 20) /* output a command may produce; past it it is killed */
#define COMMAND_TIMEOUT 120   /* seconds */
#define COMMAND_TIMEOUT_MAX 600
#define GIT_TIMEOUT_MS (120 * 1000)
#define PUSH_TIMEOUT_MS (300 * 1000)
#define FORGE_TIMEOUT_MS 60000
#define BRANCH_PREFIX "plue/"

struct result {
	struct buf out;
	bool is_error;
};

static void fail(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct result *r, const char *fmt, ...)
{
	va_list ap;
	buf_reset(&r->out);
	va_start(ap, fmt);
	buf_vaddf(&r->out, fmt, ap);
	va_end(ap);
	r->is_error = true;
}

static const char *str_in(json_t *input, const char *key)
{
	return json_string_value(json_object_get(input, key));
}

/* ---- output ---- */

/* s as valid UTF-8, cut in the middle when longer than TOOL_OUTPUT_MAX (at
 * character boundaries, with a note saying how much was left out). */
static char *output_final(const char *s, size_t len)
{
	char *clean = utf8_clean(s, len);
	size_t n = strlen(clean);
	if (n <= TOOL_OUTPUT_MAX)
		return clean;
	size_t head = TOOL_OUTPUT_MAX / 2, tail = n - TOOL_OUTPUT_MAX / 2;
	while (head > 0 && ((unsigned char)clean[head] & 0xc0) == 0x80)
		head--;
	while (tail < n && ((unsigned char)clean[tail] & 0xc0) == 0x80)
		tail++;
	struct buf b = BUF_INIT;
	buf_add(&b, clean, head);
	buf_addf(&b, "\n[... %zu bytes left out ...]\n", tail - head);
	buf_add(&b, clean + tail, n - tail);
	free(clean);
	return buf_detach(&b, NULL);
}

/* ---- input ---- */

/* Checks input against the tool's schema: an object, its required fields
 * present, each known field of its declared type (strings without NUL,
 * enums among their values). Returns false with why in r. */
static bool input_check(const struct tool_spec *spec, json_t *input, struct result *r)
{
	if (!json_is_object(input)) {
		fail(r, "%s: the input must be a JSON object", spec->name);
		return false;
	}
	json_t *schema = json_loads(spec->schema, 0, NULL);
	json_t *props = json_object_get(schema, "properties");
	bool ok = false;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(schema, "required"), i, v)
	{
		json_t *got = json_object_get(input, json_string_value(v));
		if (!got || json_is_null(got)) {
			fail(r, "%s: missing required field '%s'", spec->name, json_string_value(v));
			goto done;
		}
	}
	const char *key;
	json_object_foreach(input, key, v)
	{
		json_t *p = json_object_get(props, key);
		const char *type = json_string_value(json_object_get(p, "type"));
		if (!type || json_is_null(v))
			continue; /* unknown fields and nulls are left alone */
		bool match = !strcmp(type, "string")    ? json_is_string(v)
			     : !strcmp(type, "integer") ? json_is_integer(v)
			     : !strcmp(type, "boolean") ? json_is_boolean(v)
			     : !strcmp(type, "array")   ? json_is_array(v)
			     : !strcmp(type, "object")  ? json_is_object(v)
							: true;
		if (!match) {
			fail(r, "%s: field '%s' must be of type %s", spec->name, key, type);
			goto done;
		}
		if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
			fail(r, "%s: field '%s' contains a NUL character", spec->name, key);
			goto done;
		}
		json_t *en = json_object_get(p, "enum");
		if (en && json_is_string(v)) {
			bool found = false;
			size_t j;
			json_t *ev;
			json_array_foreach(en, j, ev) found |= json_equal(ev, v);
			if (!found) {
				fail(r, "%s: field '%s' has an unknown value '%.64s'", spec->name,
				     key, json_string_value(v));
				goto done;
			}
		}
	}
	ok = true;
done:
	json_decref(schema);
	return ok;
}

/* ---- paths ---- */

/* Normalizes a path the model gave into out (components joined by '/',
 * "" for the root): relative, no ".." that leaves the workspace, nothing
 * named .git. Returns false with why in r. */
static bool path_norm(struct buf *out, const char *path, const char *tool, struct result *r)
{
	buf_reset(out);
	if (strlen(path) >= PATH_MAX) {
		fail(r, "%s: the path is too long", tool);
		return false;
	}
	if (path[0] == '/') {
		fail(r,
		     "%s: '%.200s' is an absolute path: paths are relative to the repository root",
		     tool, path);
		return false;
	}
	const char *p = path;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && !memcmp(p, "..", 2)) {
			char *up = strrchr(out->ptr, '/');
			if (!out->len) {
				fail(r, "%s: '%.200s' leads out of the repository", tool, path);
				return false;
			}
			buf_setlen(out, up ? (size_t)(up - out->ptr) : 0);
		} else if (n == 4 && !memcmp(p, ".git", 4)) {
			fail(r,
			     "%s: '%.200s' is inside .git, which file tools do not touch (use the git "
			     "tools)",
			     tool, path);
			return false;
		} else if (n && !(n == 1 && p[0] == '.')) {
			if (out->len)
				buf_addch(out, '/');
			buf_add(out, p, n);
		}
		p += n + (slash != NULL);
	}
	return true;
}

static int openat2_in(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
}

/* True when fd (opened through a link inside the workspace) is in a .git
 * directory of it after all. */
static bool fd_in_git(int fd, const char *ws_real)
{
	char link[64], at[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, at, sizeof(at) - 1);
	if (n < 0)
		return true;
	at[n] = 0;
	size_t wl = strlen(ws_real);
	if (strncmp(at, ws_real, wl) || (at[wl] && at[wl] != '/'))
		return true;
	for (const char *p = at + wl; (p = strstr(p, "/.git")); p += 5)
		if (p[5] == 0 || p[5] == '/')
			return true;
	return false;
}

/* The workspace: an O_PATH descriptor of its root and its real path. */
struct ws {
	int fd;
	char real[PATH_MAX];
};

static bool ws_open(struct ws *w, struct tool_ctx *c, const char *tool, struct result *r)
{
	const char *dir = sandbox_workspace(c->sb);
	w->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->fd < 0 || !realpath(dir, w->real)) {
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		fail(r, "%s: cannot open the workspace: %s", tool, strerror(errno));
		return false;
	}
	return true;
}

static void ws_close(struct ws *w)
{
	if (w->fd >= 0)
		close(w->fd);
}

/* Opens path (normalized) in the workspace with flags, refusing what lies
 * in .git. Returns the descriptor, or -1 with why in r. */
static int ws_openat(struct ws *w, const char *path, int flags, mode_t mode, const char *tool,
		     struct result *r)
{
	int fd = openat2_in(w->fd, path, flags, mode);
	if (fd < 0) {
		if (errno == ENOENT)
			fail(r, "%s: '%s' does not exist", tool, path);
		else if (errno == ELOOP)
			fail(r, "%s: '%s' is a symbolic link", tool, path);
		else if (errno == ENXIO)
			fail(r, "%s: '%s' is not a regular file", tool, path);
		else
			fail(r, "%s: cannot open '%s': %s", tool, path, strerror(errno));
		return -1;
	}
	if (fd_in_git(fd, w->real)) {
		close(fd);
		fail(r, "%s: '%s' leads into .git, which file tools do not touch", tool, path);
		return -1;
	}
	return fd;
}

static void seen_add(struct tool_ctx *c, const char *path)
{
	if (!c->seen)
		c->seen = json_object();
	json_object_set_new(c->seen, path, json_true());
}

/* ---- read_file ---- */

static void tool_read_file(struct tool_ctx *c, json_t *in, struct result *r)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	struct ws w = { .fd = -1 };
	int fd = -1;
	json_int_t offset = json_integer_value(json_object_get(in, "offset"));
	json_int_t limit = json_integer_value(json_object_get(in, "limit"));
	if (!offset)
		offset = 1;
	if (!limit)
		limit = READ_DEFAULT_LINES;
	if (offset < 1 || limit < 1 || offset > READ_LINES_MAX || limit > READ_LINES_MAX) {
		fail(r, "read_file: offset and limit must be between 1 and %lld",
		     (long long)READ_LINES_MAX);
		goto done;
	}
	if (!path_norm(&path, str_in(in, "path"), "read_file", r) || !ws_open(&w, c, "read_file", r))
		goto done;
	if ((fd = ws_openat(&w, path.ptr, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, "read_file", r)) < 0)
		goto done;
	struct stat st = { 0 };
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(r, "read_file: '%s' is %s", path.ptr,
		     S_ISDIR(st.st_mode) ? "a directory (use list_files)" : "not a regular file");
		goto done;
	}
	/* the wanted lines are kept (up to the output cap), the others counted */
	char chunk[65536];
	json_int_t line = 1, first = 0, last = 0;
	size_t probed = 0;
	bool full = false, ends_nl = true;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (probed < BINARY_PROBE) {
			size_t k = (size_t)n < BINARY_PROBE - probed ? (size_t)n
								     : BINARY_PROBE - probed;
			if (memchr(chunk, 0, k)) {
				fail(r, "read_file: '%s' is a binary file (%lld bytes): not shown",
				     path.ptr, (long long)st.st_size);
				goto done;
			}
			probed += k;
		}
		for (ssize_t i = 0; i < n;) {
			char *nl = memchr(chunk + i, '\n', (size_t)(n - i));
			size_t k = nl ? (size_t)(nl - chunk - i) + 1 : (size_t)(n - i);
			bool want = line >= offset && line < offset + limit && !full;
			if (want && ends_nl && text.len + k > TOOL_OUTPUT_MAX - 256 && text.len)
				full = want = false;
			if (want) {
				if (!first)
					first = line;
				last = line;
				if (text.len < 2 * TOOL_OUTPUT_MAX) /* one huge line: cut later */
					buf_add(&text, chunk + i, k);
			}
			ends_nl = nl != NULL;
			if (nl)
				line++;
			i += (ssize_t)k;
		}
	}
	if (n < 0) {
		fail(r, "read_file: cannot read '%s': %s", path.ptr, strerror(errno));
		goto done;
	}
	json_int_t total = ends_nl ? line - 1 : line;
	seen_add(c, path.ptr);
	if (!total) {
		buf_addf(&r->out, "%s: empty file", path.ptr);
	} else if (offset > total) {
		fail(r, "read_file: '%s' has %lld lines; offset %lld is past its end", path.ptr,
		     (long long)total, (long long)offset);
	} else {
		if (first != 1 || last != total)
			buf_addf(&r->out, "%s: lines %lld-%lld of %lld\n", path.ptr,
				 (long long)first, (long long)last, (long long)total);
		buf_add(&r->out, text.ptr, text.len);
	}
done:
	if (fd >= 0)
		close(fd);
	ws_close(&w);
	buf_release(&path);
	buf_release(&text);
}

/* ---- list_files ---- */

struct listing {
	struct buf out;
	size_t shown, more;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the directory dfd (at prefix, "" for the root) into l, sorted,
 * descending into directories when recursive. */
static void list_dir(struct listing *l, int dfd, const char *prefix, bool recursive, int depth)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".git"))
			continue;
		if (n == cap)
			names = xrealloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st = { 0 };
		bool dir = !fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) &&
			   S_ISDIR(st.st_mode);
		char *rel = xasprintf("%s%s%s", prefix, *prefix ? "/" : "", names[i]);
		if (l->shown < LIST_MAX) {
			buf_addf(&l->out, "%s%s", rel, dir ? "/" : "");
			char target[PATH_MAX];
			ssize_t tl;
			if (S_ISLNK(st.st_mode) &&
			    (tl = readlinkat(dirfd(d), names[i], target, sizeof(target) - 1)) >= 0)
				buf_addf(&l->out, " -> %.*s", (int)tl, target);
			buf_addch(&l->out, '\n');
			l->shown++;
		} else {
			l->more++;
		}
		if (dir && recursive && depth < LIST_DEPTH_MAX &&
		    l->shown + l->more < LIST_COUNT_MAX) {
			struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
						.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
			int sub = (int)syscall(SYS_openat2, dirfd(d), names[i], &how, sizeof(how));
			if (sub >= 0) {
				list_dir(l, sub, rel, recursive, depth + 1);
				close(sub);
			}
		}
		free(rel);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

static void tool_list_files(struct tool_ctx *c, json_t *in, struct result *r)
{
	struct buf path = BUF_INIT;
	struct ws w = { .fd = -1 };
	struct listing l = { .out = BUF_INIT };
	int fd = -1;
	const char *p = str_in(in, "path");
	if (!path_norm(&path, p ? p : "", "list_files", r) || !ws_open(&w, c, "list_files", r))
		goto done;
	if ((fd = ws_openat(&w, path.ptr, O_RDONLY | O_DIRECTORY, 0, "list_files", r)) < 0) {
		if (errno == ENOTDIR)
			fail(r, "list_files: '%s' is not a directory", path.ptr);
		goto done;
	}
	list_dir(&l, fd, path.ptr, json_is_true(json_object_get(in, "recursive")), 0);
	if (!l.shown)
		buf_addf(&r->out, "%s: empty directory", path.len ? path.ptr : ".");
	buf_add(&r->out, l.out.ptr, l.out.len);
	if (l.more)
		buf_addf(&r->out, "... %zu%s more\n", l.more,
			 l.shown + l.more >= LIST_COUNT_MAX ? " or" : "");
done:
	if (fd >= 0)
		close(fd);
	ws_close(&w);
	buf_release(&path);
	buf_release(&l.out);
}

/* ---- commands in the sandbox ---- */

struct capture {
	struct buf out;
	struct buf *err; /* stderr apart, or NULL: with stdout */
	size_t line_max; /* 0: lines whole */
	struct tool_ctx *c;
	bool cancel_seen;
};

static void capture_line(void *cls, int stream, const char *line, size_t len)
{
	struct capture *k = cls;
	struct buf *b = k->err && stream == SANDBOX_STDERR ? k->err : &k->out;
	if (k->line_max && len > k->line_max) {
		buf_add(b, line, k->line_max);
		buf_adds(b, "…");
	} else {
		buf_add(b, line, len);
	}
	buf_addch(b, '\n');
}

static int capture_cancelled(void *cls)
{
	struct capture *k = cls;
	if (!k->cancel_seen && k->c->cancelled && k->c->cancelled(k->c->cls))
		k->cancel_seen = true;
	return k->cancel_seen;
}

/* Runs argv in the sandbox at the workspace's root with env (NULL-ended,
 * or NULL) and input, collecting its output in out (stderr in err when
 * err is not NULL). Returns 0 (the command ran: see *res) or -1 with why
 * in r. */
static int sb_run(struct tool_ctx *c, const char *const *argv, const char *const *env,
		  const char *input, int timeout_ms, size_t line_max, struct buf *out,
		  struct buf *err, struct sandbox_result *res, struct result *r)
{
	static const char *const base_env[] = {
		"LANG=C.UTF-8",          "TERM=dumb", "PAGER=cat", "GIT_PAGER=cat",
		"GIT_TERMINAL_PROMPT=0", NULL
	};
	const char *envp[32];
	size_t n = 0;
	for (size_t i = 0; base_env[i]; i++)
		envp[n++] = base_env[i];
	for (size_t i = 0; env && env[i] && n < 31; i++)
		envp[n++] = env[i];
	envp[n] = NULL;
	struct sandbox_limits lim = { .output_bytes = COLLECT_MAX, .timeout_ms = timeout_ms };
	struct capture k = { .out = BUF_INIT, .err = err, .line_max = line_max, .c = c };
	struct sandbox_cmd cmd = {
		.argv = argv,
		.env = envp,
		.input = input,
		.input_len = input ? strlen(input) : 0,
		.limits = &lim,
		.on_output = capture_line,
		.cancelled = capture_cancelled,
		.cls = &k,
	};
	struct err e = { 0 };
	if (sandbox_exec(c->sb, &cmd, res, &e)) {
		buf_release(&k.out);
		fail(r, "%s: cannot run it in the sandbox: %s", argv[0], e.msg);
		return -1;
	}
	buf_add(out, k.out.ptr, k.out.len);
	buf_release(&k.out);
	return 0;
}

/* Why a command that ran did not end normally, or NULL. */
static const char *ending(const struct sandbox_result *res)
{
	return res->cancelled          ? "cancelled: the command was killed"
	       : res->timed_out        ? "timed out: the command was killed"
	       : res->output_truncated ? "too much output (over 1 MiB): the command was killed"
				       : NULL;
}

/* Runs git (args after "git -c core.quotePath=false") in the sandbox with
 * env; out gets its output (only stdout when err is not NULL: stderr goes
 * there). Returns git's exit code, or -1 (it did not run or was killed;
 * why in r). */
static int sb_git(struct tool_ctx *c, const char *const *args, const char *const *env,
		  const char *input, struct buf *out, struct buf *err, struct result *r)
{
	const char *argv[24] = { "git", "-c", "core.quotePath=false" };
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct sandbox_result res;
	if (sb_run(c, argv, env, input, GIT_TIMEOUT_MS, 0, out, err, &res, r))
		return -1;
	const char *why = ending(&res);
	if (why) {
		fail(r, "git %s: %s", args[0], why);
		return -1;
	}
	return res.exit_code;
}

static void trim(struct buf *b)
{
	while (b->len && (b->ptr[b->len - 1] == '\n' || b->ptr[b->len - 1] == ' '))
		buf_setlen(b, b->len - 1);
}

static void tool_run_command(struct tool_ctx *c, json_t *in, struct result *r)
{
	json_t *t = json_object_get(in, "timeout");
	json_int_t timeout = t && !json_is_null(t) ? json_integer_value(t) : COMMAND_TIMEOUT;
	if (timeout < 1 || timeout > COMMAND_TIMEOUT_MAX) {
		fail(r, "run_command: timeout must be between 1 and %d seconds", COMMAND_TIMEOUT_MAX);
		return;
	}
	const char *argv[] = { "bash", "-c", str_in(in, "command"), NULL };
	struct sandbox_result res;
	struct buf out = BUF_INIT;
	if (sb_run(c, argv, NULL, NULL, (int)timeout * 1000, 0, &out, NULL, &res, r))
		goto done;
	const char *why = ending(&res);
	if (res.timed_out)
		buf_addf(&r->out, "timed out after %lld s: the command was killed\n",
			 (long long)timeout);
	else if (why)
		buf_addf(&r->out, "%s\n", why);
	else if (res.signal)
		buf_addf(&r->out, "killed by signal %d (exit code %d)%s\n", res.signal,
			 res.exit_code,
			 res.limit_hit ? ": it ran into a memory or process limit" : "");
	else
		buf_addf(&r->out, "exit code %d\n", res.exit_code);
	buf_add(&r->out, out.ptr, out.len);
	r->is_error = why || res.signal || res.exit_code;
done:
	buf_release(&out);
}

static void tool_search_code(struct tool_ctx *c, json_t *in, struct result *r)
{
	struct buf path = BUF_INIT, out = BUF_INIT;
	const char *p = str_in(in, "path");
	if (p && !path_norm(&path, p, "search_code", r))
		goto done;
	const char *argv[12] = { "grep", "-rnIE", "--exclude-dir=.git", "--color=never" };
	size_t n = 4;
	if (json_is_true(json_object_get(in, "ignore_case")))
		argv[n++] = "-i";
	argv[n++] = "-e";
	argv[n++] = str_in(in, "pattern");
	if (path.len) {
		argv[n++] = "--";
		argv[n++] = path.ptr;
	}
	argv[n] = NULL;
	struct sandbox_result res;
	if (sb_run(c, argv, NULL, NULL, GIT_TIMEOUT_MS, SEARCH_LINE_MAX, &out, NULL, &res, r))
		goto done;
	if (res.cancelled || res.timed_out) {
		fail(r, "search_code: %s", ending(&res));
	} else if (res.exit_code == 1 && !out.len) {
		buf_adds(&r->out, "no matches");
	} else {
		if (res.output_truncated)
			buf_adds(&r->out,
				 "(over 1 MiB of matches: the search was stopped; narrow it)\n");
		buf_add(&r->out, out.ptr, out.len);
		r->is_error = res.exit_code > 1 && !res.output_truncated;
	}
done:
	buf_release(&path);
	buf_release(&out);
}

/* ---- write_file ---- */

/* Opens (O_PATH) the directory dir of the workspace, creating what is
 * missing component by component, owned by the sandbox's user. Returns the
 * descriptor or -1 with why in r. */
static int dir_make(struct ws *w, struct tool_ctx *c, const char *dir, struct result *r)
{
	int fd = openat2_in(w->fd, "", O_PATH | O_DIRECTORY, 0);
	struct buf prefix = BUF_INIT;
	for (const char *p = dir; fd >= 0 && *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char *name = xstrndup(p, n);
		if (prefix.len)
			buf_addch(&prefix, '/');
		buf_add(&prefix, p, n);
		int next = openat2_in(w->fd, prefix.ptr, O_PATH | O_DIRECTORY, 0);
		if (next < 0 && errno == ENOENT && !mkdirat(fd, name, 0755)) {
			if (fchownat(fd, name, sandbox_uid(c->sb), sandbox_gid(c->sb),
				     AT_SYMLINK_NOFOLLOW))
				fail(r, "write_file: cannot hand '%s' to the sandbox: %s",
				     prefix.ptr, strerror(errno));
			next = openat2_in(w->fd, prefix.ptr, O_PATH | O_DIRECTORY, 0);
		}
		if (next < 0 && !r->is_error)
			fail(r, "write_file: cannot make directory '%s': %s", prefix.ptr,
			     strerror(errno));
		if (r->is_error && next >= 0) {
			close(next);
			next = -1;
		}
		free(name);
		close(fd);
		fd = next;
		p += n + (slash != NULL);
	}
	if (fd >= 0 && fd_in_git(fd, w->real)) {
		close(fd);
		fd = -1;
		fail(r, "write_file: '%s' leads into .git, which file tools do not touch", dir);
	}
	buf_release(&prefix);
	return fd;
}

static void tool_write_file(struct tool_ctx *c, json_t *in, struct result *r)
{
	struct buf path = BUF_INIT;
	struct ws w = { .fd = -1 };
	int dfd = -1, fd = -1;
	json_t *content = json_object_get(in, "content");
	if (!path_norm(&path, str_in(in, "path"), "write_file", r) ||
	    !ws_open(&w, c, "write_file", r))
		goto done;
	if (!path.len) {
		fail(r, "write_file: a file path is needed");
		goto done;
	}
	/* an existing file: read first, and a regular file, not a link */
	bool existed = false;
	fd = openat2_in(w.fd, path.ptr, O_PATH | O_NOFOLLOW, 0);
	if (fd >= 0) {
		struct stat st = { 0 };
		existed = true;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			fail(r, "write_file: '%s' exists and is %s", path.ptr,
			     S_ISLNK(st.st_mode)   ? "a symbolic link"
			     : S_ISDIR(st.st_mode) ? "a directory"
						   : "not a regular file");
			goto done;
		}
		if (!json_object_get(c->seen, path.ptr)) {
			fail(r,
			     "write_file: '%s' exists and was not read in this session: read it "
			     "with read_file first",
			     path.ptr);
			goto done;
		}
		close(fd);
		fd = -1;
	} else if (errno != ENOENT) {
		fail(r, "write_file: cannot open '%s': %s", path.ptr, strerror(errno));
		goto done;
	}
	char *slash = strrchr(path.ptr, '/');
	if (slash) {
		*slash = 0;
		dfd = dir_make(&w, c, path.ptr, r);
		*slash = '/';
		if (dfd < 0)
			goto done;
	}
	fd = ws_openat(&w, path.ptr, O_CREAT | O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, 0644,
		       "write_file", r);
	if (fd < 0)
		goto done;
	struct stat st = { 0 };
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(r, "write_file: '%s' is not a regular file", path.ptr);
		goto done;
	}
	if (fchown(fd, sandbox_uid(c->sb), sandbox_gid(c->sb)) || (!existed && fchmod(fd, 0644)) ||
	    fd_write_all(fd, json_string_value(content), json_string_length(content))) {
		fail(r, "write_file: cannot write '%s': %s", path.ptr, strerror(errno));
		goto done;
	}
	seen_add(c, path.ptr);
	buf_addf(&r->out, "wrote %zu bytes to %s (%s)", json_string_length(content), path.ptr,
		 existed ? "replaced" : "new file");
done:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	ws_close(&w);
	buf_release(&path);
}

/* ---- git ---- */

static void tool_git_status(struct tool_ctx *c, json_t *in, struct result *r)
{
	(void)in;
	const char *args[] = { "status", "--short", "--branch", NULL };
	struct buf out = BUF_INIT;
	int rc = sb_git(c, args, NULL, NULL, &out, NULL, r);
	if (rc >= 0) {
		buf_add(&r->out, out.ptr, out.len);
		r->is_error = rc != 0;
	}
	buf_release(&out);
}

static void tool_git_diff(struct tool_ctx *c, json_t *in, struct result *r)
{
	struct buf path = BUF_INIT, out = BUF_INIT;
	const char *p = str_in(in, "path");
	if (p && !path_norm(&path, p, "git_diff", r))
		goto done;
	const char *args[8] = { "diff", "--no-color", "--no-ext-diff" };
	size_t n = 3;
	if (json_is_true(json_object_get(in, "staged")))
		args[n++] = "--staged";
	if (path.len) {
		args[n++] = "--";
		args[n++] = path.ptr;
	}
	args[n] = NULL;
	int rc = sb_git(c, args, NULL, NULL, &out, NULL, r);
	if (rc >= 0) {
		buf_add(&r->out, out.ptr, out.len);
		if (!rc && !out.len)
			buf_adds(&r->out, "no changes");
		r->is_error = rc != 0;
	}
done:
	buf_release(&path);
	buf_release(&out);
}

static void tool_create_branch(struct tool_ctx *c, json_t *in, struct result *r)
{
	const char *name = str_in(in, "name");
	char *branch = strncmp(name, BRANCH_PREFIX, strlen(BRANCH_PREFIX))
			       ? xasprintf(BRANCH_PREFIX "%s", name)
			       : xstrdup(name);
	struct buf out = BUF_INIT;
	const char *check[] = { "check-ref-format", "--branch", branch, NULL };
	int rc = sb_git(c, check, NULL, NULL, &out, NULL, r);
	if (rc > 0)
		fail(r, "create_branch: '%.200s' is not a valid branch name", branch);
	if (rc)
		goto done;
	buf_reset(&out);
	const char *sw[] = { "switch", "-c", branch, NULL };
	rc = sb_git(c, sw, NULL, NULL, &out, NULL, r);
	if (rc > 0) {
		trim(&out);
		fail(r, "create_branch: cannot create '%.200s': %s", branch, out.ptr);
	} else if (!rc) {
		buf_addf(&r->out, "switched to a new branch '%s'", branch);
	}
done:
	buf_release(&out);
	free(branch);
}

static void tool_commit(struct tool_ctx *c, json_t *in, struct result *r)
{
	const char *name = c->author_name ? c->author_name : "Plue agent";
	const char *email = c->author_email ? c->author_email : "agent@plue.invalid";
	char *env[5] = { xasprintf("GIT_AUTHOR_NAME=%s", name),
			 xasprintf("GIT_AUTHOR_EMAIL=%s", email),
			 xasprintf("GIT_COMMITTER_NAME=%s", name),
			 xasprintf("GIT_COMMITTER_EMAIL=%s", email), NULL };
	const char *const *envp = (const char *const *)env;
	struct buf out = BUF_INIT, err = BUF_INIT;
	const char *add[] = { "add", "-A", NULL };
	const char *staged[] = { "diff", "--cached", "--quiet", NULL };
	const char *commit[] = { "-c", "commit.gpgSign=false", "commit", "-q", "-F", "-", NULL };
	const char *head[] = { "rev-parse", "HEAD", NULL };
	int rc = sb_git(c, add, envp, NULL, &out, NULL, r);
	if (rc > 0) {
		trim(&out);
		fail(r, "commit: git add failed: %s", out.ptr);
		goto done;
	}
	if (rc || (rc = sb_git(c, staged, envp, NULL, &out, NULL, r)) < 0)
		goto done;
	if (rc == 0) {
		fail(r, "commit: nothing to commit: the working tree has no changes");
		goto done;
	}
	buf_reset(&out);
	if ((rc = sb_git(c, commit, envp, str_in(in, "message"), &out, NULL, r)) > 0) {
		trim(&out);
		fail(r, "commit: git commit failed: %s", out.ptr);
		goto done;
	}
	buf_reset(&out);
	if (rc || (rc = sb_git(c, head, envp, NULL, &out, &err, r)) < 0)
		goto done;
	trim(&out);
	buf_addf(&r->out, "committed %s", out.ptr);
done:
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	buf_release(&out);
	buf_release(&err);
}

/* ---- push ---- */

/* True for a branch name the runner will hand to git on the host: under
 * plue/, made of [A-Za-z0-9._/-], no empty, "."-leading or ".lock"
 * component, no "..". */
static bool branch_pushable(const char *b)
{
	if (strncmp(b, BRANCH_PREFIX, strlen(BRANCH_PREFIX)) || strlen(b) > 200 ||
	    strstr(b, "..") || strstr(b, "//") || strstr(b, "/.") || str_has_suffix(b, "/") ||
	    str_has_suffix(b, ".") || strstr(b, ".lock/") || str_has_suffix(b, ".lock"))
		return false;
	for (const char *p = b; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
		      ('0' <= *p && *p <= '9') || strchr("._/-", *p)))
			return false;
	return strlen(b) > strlen(BRANCH_PREFIX);
}

/* Runs git on the host with exactly env, standard input from in (or
 * /dev/null when -1), output into out. Returns its exit code or -1 (did
 * not run, timed out, cancelled). */
static int host_git(struct tool_ctx *c, const char *const *argv, const char *const *env, int in,
		    struct buf *out)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (in < 0)
			in = open("/dev/null", O_RDONLY);
		if (in >= 0)
			dup2(in, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvpe(argv[0], (char *const *)argv, (char *const *)env);
		_exit(127);
	}
	close(fds[1]);
	int64_t end = now_ms() + PUSH_TIMEOUT_MS;
	bool killed = false;
	for (;;) {
		if (now_ms() > end || (c->cancelled && c->cancelled(c->cls))) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		struct pollfd pf = { fds[0], POLLIN, 0 };
		int pr = poll(&pf, 1, 100);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		char chunk[4096];
		ssize_t n = read(fds[0], chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if (out->len < COLLECT_MAX)
			buf_add(out, chunk, (size_t)n);
	}
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return killed || !WIFEXITED(status) ? -1 : WEXITSTATUS(status);
}

/* Pushes commit sha to refs/heads/branch of url from a bare repository of
 * the runner's own, made for this push in a temporary directory: it gets
 * the objects from pack (a pack the sandbox wrote, verified by
 * index-pack) and the workspace's shallow commits (shallow, "" when none),
 * and nothing else of the workspace: no configuration, no hooks, no path
 * to follow. The token goes in the environment. out gets git's output.
 * Returns git's exit code or -1. */
static int push_from_host(struct tool_ctx *c, int pack, const char *shallow, const char *url,
			  const char *sha, const char *branch, struct buf *out)
{
	char tmp[] = "/tmp/plue-push-XXXXXX";
	if (!mkdtemp(tmp)) {
		buf_addf(out, "cannot make a temporary directory: %s", strerror(errno));
		return -1;
	}
	char *gitdir = xasprintf("%s/repo.git", tmp);
	char *home = xasprintf("HOME=%s", tmp);
	char *auth = xasprintf("GIT_CONFIG_VALUE_0=Authorization: Bearer %s", c->task_token);
	const char *env[] = { "PATH=/usr/bin:/bin",
			      home,
			      "GIT_CONFIG_NOSYSTEM=1",
			      "GIT_CONFIG_GLOBAL=/dev/null",
			      "GIT_TERMINAL_PROMPT=0",
			      "GIT_ASKPASS=/bin/true",
			      "GIT_CONFIG_COUNT=1",
			      "GIT_CONFIG_KEY_0=http.extraHeader",
			      auth,
			      NULL };
	char *refspec = xasprintf("%s:refs/heads/%s", sha, branch);
	char *shallow_file = xasprintf("%s/shallow", gitdir);
	const char *init[] = { "git", "init", "-q", "--bare", "--template=", gitdir, NULL };
	const char *index[] = { "git", "--git-dir", gitdir, "index-pack", "--stdin", NULL };
	const char *push[] = { "git",  "--git-dir",   gitdir, "-c", "core.hooksPath=/dev/null",
			       "push", "--porcelain", "--",   url,  refspec,
			       NULL };
	int rc = host_git(c, init, env, -1, out);
	if (!rc)
		rc = host_git(c, index, env, pack, out);
	if (!rc && *shallow && file_create(shallow_file, shallow, strlen(shallow), 0644)) {
		buf_addf(out, "cannot prepare the push: %s", strerror(errno));
		rc = -1;
	}
	if (!rc) {
		buf_reset(out); /* index-pack's output: the pack's name */
		rc = host_git(c, push, env, -1, out);
	}
	path_remove_tree(tmp);
	free(gitdir);
	free(home);
	free(auth);
	free(refspec);
	free(shallow_file);
	return rc;
}

/* Has the sandbox pack every object reachable from sha (down to the
 * shallow commits) into .git/plue-push-HASH.pack, and opens that pack
 * through the workspace's root w, removing the files. Returns the
 * descriptor or -1 with why in r. */
static int pack_make(struct tool_ctx *c, struct ws *w, const char *sha, struct result *r)
{
	struct buf hash = BUF_INIT, err = BUF_INIT;
	int fd = -1, gitfd = -1;
	char *input = xasprintf("%s\n", sha), *name = NULL;
	const char *args[] = { "pack-objects", "--revs", "-q", ".git/plue-push", NULL };
	int rc = sb_git(c, args, NULL, input, &hash, &err, r);
	trim(&hash);
	trim(&err);
	if (rc > 0)
		fail(r, "push: packing %s failed: %.500s", sha, err.ptr);
	if (rc)
		goto done;
	if (!is_sha1_hex(hash.ptr)) {
		fail(r, "push: packing %s failed", sha);
		goto done;
	}
	name = xasprintf(".git/plue-push-%s.pack", hash.ptr);
	fd = openat2_in(w->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
	struct stat st = { 0 };
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(r, "push: cannot open the pack the sandbox made");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if ((gitfd = openat2_in(w->fd, ".git", O_PATH | O_DIRECTORY, 0)) >= 0) {
		unlinkat(gitfd, name + 5, 0);
		strcpy(name + strlen(name) - 4, "idx");
		unlinkat(gitfd, name + 5, 0);
		close(gitfd);
	}
done:
	buf_release(&hash);
	buf_release(&err);
	free(input);
	free(name);
	return fd;
}

/* The workspace's .git/shallow (lines of 40 hex digits), read through the
 * workspace's root w; "" when there is none. NULL when it is not well
 * formed. */
static char *shallow_read(struct ws *w)
{
	int fd = openat2_in(w->fd, ".git/shallow", O_RDONLY | O_NONBLOCK | O_NOFOLLOW, 0);
	struct buf b = BUF_INIT;
	struct stat st = { 0 };
	bool ok = fd < 0 ? errno == ENOENT
			 : !fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size < (1 << 20);
	if (fd >= 0 && ok) {
		char chunk[4096];
		ssize_t n;
		while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b.len < (1 << 20))
			buf_add(&b, chunk, (size_t)n);
		for (size_t i = 0; ok && i < b.len; i += 41) {
			char line[41];
			ok = i + 41 <= b.len && b.ptr[i + 40] == '\n';
			if (ok) {
				memcpy(line, b.ptr + i, 40);
				line[40] = 0;
				ok = is_sha1_hex(line);
			}
		}
	}
	if (fd >= 0)
		close(fd);
	if (!ok) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void tool_push(struct tool_ctx *c, json_t *in, struct result *r)
{
	struct buf branch = BUF_INIT, sha = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	struct ws w = { .fd = -1 };
	char *shallow = NULL, *url = NULL, *ref = NULL;
	const char *b = str_in(in, "branch");
	if (b && *b) {
		buf_adds(&branch, b);
	} else {
		const char *cur[] = { "symbolic-ref", "--short", "-q", "HEAD", NULL };
		int rc = sb_git(c, cur, NULL, NULL, &branch, &err, r);
		if (rc < 0)
			goto done;
		trim(&branch);
		if (rc || !branch.len) {
			fail(r, "push: HEAD is not on a branch: create one with create_branch");
			goto done;
		}
	}
	if (strncmp(branch.ptr, BRANCH_PREFIX, strlen(BRANCH_PREFIX))) {
		fail(r,
		     "push: refused: only branches under " BRANCH_PREFIX " may be pushed, and "
		     "'%.200s' is not one (create one with create_branch)",
		     branch.ptr);
		goto done;
	}
	if (!branch_pushable(branch.ptr)) {
		fail(r,
		     "push: refused: '%.200s' is not a branch name the runner pushes (letters, "
		     "digits, '.', '_', '-' and '/')",
		     branch.ptr);
		goto done;
	}
	ref = xasprintf("refs/heads/%s^{commit}", branch.ptr);
	const char *rev[] = { "rev-parse", "-q", "--verify", ref, NULL };
	int rc = sb_git(c, rev, NULL, NULL, &sha, &err, r);
	if (rc < 0)
		goto done;
	trim(&sha);
	if (rc || !is_sha1_hex(sha.ptr)) {
		fail(r, "push: there is no branch '%s' to push", branch.ptr);
		goto done;
	}
	if (!ws_open(&w, c, "push", r))
		goto done;
	if (!(shallow = shallow_read(&w))) {
		fail(r, "push: the workspace's .git/shallow is not well formed");
		goto done;
	}
	if (!c->server_url || !c->clone_path || c->clone_path[0] != '/' || !c->task_token) {
		fail(r, "push: this workload names no repository to push to");
		goto done;
	}
	url = xasprintf("%s%s", c->server_url, c->clone_path);
	int pack = pack_make(c, &w, sha.ptr, r);
	if (pack < 0)
		goto done;
	rc = push_from_host(c, pack, shallow, url, sha.ptr, branch.ptr, &out);
	close(pack);
	if (rc) {
		trim(&out);
		fail(r, "push: pushing %s to '%s' failed%s\n%s", sha.ptr, branch.ptr,
		     rc < 0 ? " (timed out, cancelled or could not run git)" : "", out.ptr);
	} else {
		buf_addf(&r->out, "pushed %s to %s\n", sha.ptr, branch.ptr);
		buf_add(&r->out, out.ptr, out.len);
	}
done:
	ws_close(&w);
	free(shallow);
	free(url);
	free(ref);
	buf_release(&branch);
	buf_release(&sha);
	buf_release(&out);
	buf_release(&err);
}

/* ---- forge tools ---- */

static void tool_forge(struct tool_ctx *c, const char *name, json_t *in, struct result *r)
{
	char *path = xasprintf("/internal/tasks/%lld/tools/%s", (long long)c->workload_id, name);
	json_t *body = json_pack("{sO}", "input", in), *reply = NULL;
	int status = c->client ? client_post(c->client, path, c->task_token, body, FORGE_TIMEOUT_MS,
					     &reply)
			       : -1;
	const char *output = json_string_value(json_object_get(reply, "output"));
	const char *msg = json_string_value(
		json_object_get(json_object_get(reply, "error"), "message"));
	if (status == 200 && output) {
		buf_adds(&r->out, output);
		r->is_error = json_is_true(json_object_get(reply, "is_error"));
	} else if (status < 0) {
		fail(r, "%s: the server could not be reached", name);
	} else {
		fail(r, "%s: the server refused it (HTTP %d): %s", name, status,
		     msg ? msg : "no message");
	}
	json_decref(body);
	json_decref(reply);
	free(path);
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	void (*run)(struct tool_ctx *c, json_t *input, struct result *r);
} workspace_tools[] = {
	{ "read_file", tool_read_file },     { "list_files", tool_list_files },
	{ "search_code", tool_search_code }, { "write_file", tool_write_file },
	{ "run_command", tool_run_command }, { "git_status", tool_git_status },
	{ "git_diff", tool_git_diff },       { "create_branch", tool_create_branch },
	{ "commit", tool_commit },           { "push", tool_push },
};

void tool_run(struct tool_ctx *c, const char *name, json_t *input, char **output, bool *is_error)
{
	struct result r = { .out = BUF_INIT };
	const struct tool_spec *spec = tool_spec(name);
	json_t *none = input ? NULL : json_object(); /* no input: {} */
	if (!input)
		input = none;
	if (!spec) {
		fail(&r, "unknown tool '%.64s'", name ? name : "");
	} else if (input_check(spec, input, &r)) {
		if (spec->where == TOOL_FORGE) {
			tool_forge(c, name, input, &r);
		} else {
			size_t i = 0, n = sizeof(workspace_tools) / sizeof(workspace_tools[0]);
			while (i < n && strcmp(workspace_tools[i].name, name))
				i++;
			if (i < n)
				workspace_tools[i].run(c, input, &r);
			else
				fail(&r, "tool '%s' is not available on this runner", name);
		}
	}
	*output = output_final(r.out.ptr, r.out.len);
	*is_error = r.is_error;
	buf_release(&r.out);
	json_decref(none);
}

void tools_ctx_release(struct tool_ctx *c)
{
	json_decref(c->seen);
	c->seen = NULL;
}
