/* sbx.c — a small driver of the sandbox API for bench/sandbox.sh and for
 * trying the sandbox by hand:
 *
 *   sbx [options] -- COMMAND ARGS...
 *     --kind auto|gvisor|bwrap|none   sandbox kind (default auto)
 *     --workspace DIR                 workspace (default: a new temporary one)
 *     --memory BYTES --procs N --output BYTES --timeout MS --net
 *     --cwd DIR                       working directory inside the workspace
 *     --env K=V                       (repeatable) the command's environment
 *     --repeat N                      run the command N times
 *     --fresh                         a new sandbox for every run (default:
 *                                     one warm sandbox for all runs)
 *     --quiet                         do not print the command's output
 *     --native                        no sandbox at all: fork and exec the
 *                                     command directly in the workspace (the
 *                                     baseline for bench/sandbox.sh)
 *
 * Prints the output as "1|line" / "2|line", then one summary line per run:
 *   result exit=N signal=N timed_out=0 ... ms=N
 * and, with --repeat, "timing runs=N mean_ms=X min_ms=X p50_ms=X create_ms=X".
 * Exits 0 when every run's command exited 0. */
#include "base/err.h"
#include "base/util.h"
#include "runner/sandbox.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int quiet;

/* Runs argv directly in dir, output to this process's stdout (or
 * /dev/null); returns the wall time in ms and the exit status. */
static double run_native(char **argv, const char *dir, int *status)
{
	struct timeval a, b;
	gettimeofday(&a, NULL);
	pid_t p = fork();
	if (p == 0) {
		if (chdir(dir))
			_exit(127);
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(p, status, 0);
	gettimeofday(&b, NULL);
	return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_usec - a.tv_usec) / 1e3;
}

static void on_output(void *cls, int stream, const char *line, size_t len)
{
	(void)cls;
	if (!quiet)
		printf("%d|%.*s\n", stream, (int)len, line);
}

static double now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1e6 + tv.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *kind_s = "auto", *ws = NULL, *cwd = NULL;
	struct sandbox_limits lim = { 0 };
	const char *env[64];
	int nenv = 0, repeat = 1, fresh = 0, native = 0, i;
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--kind") && v)
			kind_s = v, i++;
		else if (!strcmp(a, "--workspace") && v)
			ws = v, i++;
		else if (!strcmp(a, "--memory") && v)
			lim.memory_bytes = atoll(v), i++;
		else if (!strcmp(a, "--procs") && v)
			lim.max_procs = atoi(v), i++;
		else if (!strcmp(a, "--output") && v)
			lim.output_bytes = atoll(v), i++;
		else if (!strcmp(a, "--timeout") && v)
			lim.timeout_ms = atoi(v), i++;
		else if (!strcmp(a, "--net"))
			lim.network = true;
		else if (!strcmp(a, "--cwd") && v)
			cwd = v, i++;
		else if (!strcmp(a, "--env") && v && nenv < 63)
			env[nenv++] = v, i++;
		else if (!strcmp(a, "--repeat") && v)
			repeat = atoi(v), i++;
		else if (!strcmp(a, "--fresh"))
			fresh = 1;
		else if (!strcmp(a, "--quiet"))
			quiet = 1;
		else if (!strcmp(a, "--native"))
			native = 1;
		else {
			fprintf(stderr, "sbx: unknown option '%s'\n", a);
			return 2;
		}
	}
	env[nenv] = NULL;
	if (i + 1 >= argc || repeat < 1) {
		fprintf(stderr, "usage: sbx [options] -- COMMAND ARGS...\n");
		return 2;
	}
	struct err e = { 0 };
	enum sandbox_kind kind = SANDBOX_NONE;
	if (!native && sandbox_detect(&kind, kind_s, &e)) {
		fprintf(stderr, "sbx: %s\n", e.msg);
		return 3;
	}
	char tmpl[] = "/tmp/sbx-ws-XXXXXX";
	char *tmpdir = NULL;
	if (!ws) {
		tmpdir = mkdtemp(tmpl);
		if (!tmpdir) {
			perror("sbx: mkdtemp");
			return 3;
		}
	}
	struct sandbox_cmd cmd = {
		.argv = (const char *const *)(argv + i + 1),
		.env = env,
		.cwd = cwd,
		.on_output = on_output,
	};
	double *ms = xcalloc((size_t)repeat, sizeof(double));
	double create_total = 0;
	int failed = 0;
	struct sandbox *sb = NULL;
	for (int r = 0; native && r < repeat; r++) {
		char *dir = ws ? xstrdup(ws) : xasprintf("%s/ws%d", tmpdir, r);
		mkdir(dir, 0700);
		int st = 0;
		ms[r] = run_native(argv + i + 1, dir, &st);
		printf("result exit=%d ms=%lld kind=native\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128,
		       (long long)ms[r]);
		failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		free(dir);
	}
	for (int r = 0; !native && r < repeat; r++) {
		double t0 = now_us();
		if (!sb) {
			char *dir = ws ? xstrdup(ws) : xasprintf("%s/ws%d", tmpdir, r);
			int rc = sandbox_create(&sb, kind, dir, &lim, &e);
			free(dir);
			if (rc) {
				fprintf(stderr, "sbx: %s\n", e.msg);
				return 3;
			}
		}
		double t1 = now_us();
		struct sandbox_result res;
		if (sandbox_exec(sb, &cmd, &res, &e)) {
			fprintf(stderr, "sbx: %s\n", e.msg);
			return 3;
		}
		double t2 = now_us();
		if (fresh) {
			sandbox_destroy(sb);
			sb = NULL;
		}
		double t3 = now_us();
		create_total += (t1 - t0) / 1000;
		/* fresh: what a step pays for its own sandbox (destroying it can
		 * happen after the step has reported) */
		ms[r] = (fresh ? t2 - t0 : t2 - t1) / 1000;
		(void)t3;
		printf("result exit=%d signal=%d timed_out=%d cancelled=%d truncated=%d limit=%d "
		       "bytes=%lld ms=%lld kind=%s\n",
		       res.exit_code, res.signal, res.timed_out, res.cancelled, res.output_truncated,
		       res.limit_hit, (long long)res.output_bytes, (long long)res.duration_ms,
		       sandbox_kind_name(kind));
		failed |= res.exit_code != 0;
		fflush(stdout);
	}
	sandbox_destroy(sb);
	if (repeat > 1) {
		double sum = 0;
		for (int r = 0; r < repeat; r++)
			sum += ms[r];
		qsort(ms, (size_t)repeat, sizeof(double), cmp_double);
		printf("timing runs=%d mean_ms=%.2f min_ms=%.2f p50_ms=%.2f create_ms=%.2f\n", repeat,
		       sum / repeat, ms[0], ms[repeat / 2], create_total / (fresh ? repeat : 1));
	}
	free(ms);
	if (tmpdir) {
		char *rm[] = { "rm", "-rf", tmpdir, NULL };
		pid_t p = fork();
		if (p == 0) {
			execvp(rm[0], rm);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
	}
	return failed ? 1 : 0;
}
