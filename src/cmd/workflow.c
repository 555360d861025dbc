/* workflow.c — `plue workflow lint FILE...`: checks workflow files offline
 * with the same parser the dispatcher uses, one line per file. */
#include "cmd/cmd.h"
#include "base/buf.h"
#include "base/util.h"
#include "workflow/workflow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (1 << 20)

static const char *workflow_usage =
	"plue workflow lint FILE...\n"
	"\n"
	"Checks workflow files (.plue/workflows/*.yaml) without running anything.\n"
	"Prints \"FILE: ok\" for a good file and \"FILE:LINE:COL: problem\" for a\n"
	"broken one; exits 1 when any file is broken or unreadable. FILE may be -\n"
	"for standard input";

static bool help_flag;

static const struct opt workflow_opts[] = {
	{ "help", NULL, OPT_BOOL, &help_flag, NULL, "print this help" },
	{ 0 },
};

/* Reads all of f into b; returns 0, or -1 with errno set (EFBIG when the
 * file is larger than MAX_FILE). */
static int read_all(FILE *f, struct buf *b)
{
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > MAX_FILE) {
			errno = EFBIG;
			return -1;
		}
		buf_add(b, chunk, n);
	}
	return ferror(f) ? -1 : 0;
}

/* Lints one file; returns true when it is good. */
static bool lint_one(const char *path)
{
	struct buf b = BUF_INIT;
	struct workflow *w = NULL;
	struct err e = { 0 };
	bool ok = false;
	bool is_stdin = !strcmp(path, "-");
	const char *name = is_stdin ? "<stdin>" : path;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f || read_all(f, &b)) {
		printf("%s: cannot read file: %s\n", name,
		       errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		goto done;
	}
	if (workflow_parse(&w, name, b.ptr, b.len, &e)) {
		printf("%s\n", e.msg);
		goto done;
	}
	printf("%s: ok\n", name);
	ok = true;
done:
	if (f && !is_stdin)
		fclose(f);
	workflow_free(w);
	buf_release(&b);
	return ok;
}

int cmd_workflow(int argc, char **argv)
{
	char **rest = NULL;
	int nrest = 0, rc = 0;
	if (opts_parse(workflow_opts, argc, argv, &rest, &nrest))
		return 2;
	if (help_flag) {
		opts_usage(workflow_usage, workflow_opts);
		goto done;
	}
	if (nrest < 2 || strcmp(rest[0], "lint")) {
		fprintf(stderr, "usage: %s\n", workflow_usage);
		rc = 2;
		goto done;
	}
	for (int i = 1; i < nrest; i++)
		if (!lint_one(rest[i]))
			rc = 1;
done:
	free(rest);
	return rc;
}
