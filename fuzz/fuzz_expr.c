/* fuzz_expr.c — libFuzzer target for the ${{ }} expression language: the
 * input is evaluated as a bare expression, as an `if:` condition, as text
 * to interpolate, checked, and scanned for secret references, against a
 * fixed context. Each must succeed or fail cleanly with a one-line message. */
// fuzz-sources: src/workflow/expr.c src/base/arena.c src/base/buf.c src/base/err.c src/base/util.c
// fuzz-options: -max_len=4096
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workflow/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct expr_ctx ctx;

static void ctx_init(void)
{
	ctx.event = json_loads("{\"ref\":\"refs/heads/main\",\"pull_request\":{\"number\":7},"
			       "\"commits\":[{\"id\":\"a\",\"n\":[1,2]},{\"id\":\"b\"}]}",
			       0, NULL);
	ctx.matrix = json_pack("{s:s, s:i, s:f}", "cc", "gcc", "n", 3, "x", 1.5);
	ctx.inputs = json_pack("{s:s, s:b}", "target", "prod", "dry", 0);
	ctx.needs = json_loads("{\"build\":{\"result\":\"success\"}}", 0, NULL);
	ctx.secrets = json_pack("{s:s}", "TOKEN", "s3cret");
	ctx.env = json_pack("{s:s}", "CFLAGS", "-O2");
	if (!ctx.event || !ctx.matrix || !ctx.needs)
		abort();
}

static void check_err(int rc, const struct err *e)
{
	if (rc && (rc != ERR_INVALID || !e->msg[0] || strchr(e->msg, '\n')))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctx.event)
		ctx_init();
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;

	json_t *v = NULL;
	struct err e = { 0 };
	int rc = expr_eval(&v, text, &ctx, &e);
	check_err(rc, &e);
	if (!rc) {
		if (!v)
			abort();
		char *s = expr_string(v);
		free(s);
		(void)expr_truthy(v);
		json_decref(v);
	} else if (v) {
		abort();
	}

	bool ok;
	err_clear(&e);
	ctx.status = (enum expr_status)(size % 3);
	check_err(expr_condition(&ok, text, &ctx, &e), &e);
	ctx.status = EXPR_STATUS_SUCCESS;

	char *out = NULL;
	err_clear(&e);
	rc = expr_interpolate(&out, text, &ctx, &e);
	check_err(rc, &e);
	if (!rc != !!out)
		abort();
	free(out);

	size_t off = 0;
	err_clear(&e);
	rc = expr_check(text, size & 1, &off, &e);
	check_err(rc, &e);
	if (rc && off > size)
		abort();

	json_t *names = json_array();
	(void)expr_secret_refs(names, text, size & 2);
	json_decref(names);
	free(text);
	return 0;
}
