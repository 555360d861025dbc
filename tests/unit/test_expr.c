/* test_expr.c — the ${{ }} expression language: literals, contexts and
 * property access, loose comparison, functions, status functions, `if:`
 * conditions, interpolation, syntax errors and secret references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "workflow/expr.h"

static struct expr_ctx ctx;

static int setup(void **state)
{
	ctx.event = json_loads("{\"ref\":\"refs/heads/main\",\"pull_request\":{\"number\":7},"
			       "\"commits\":[{\"id\":\"a\"},{\"id\":\"b\"}]}",
			       0, NULL);
	ctx.matrix = json_pack("{s:s, s:i}", "cc", "gcc", "n", 3);
	ctx.inputs = json_pack("{s:s, s:b}", "target", "prod", "dry", 0);
	ctx.needs = json_loads("{\"build\":{\"result\":\"success\"},\"lint\":{\"result\":\"failure\"}}",
			       0, NULL);
	ctx.secrets = json_pack("{s:s}", "TOKEN", "s3cret");
	ctx.env = json_pack("{s:s}", "CFLAGS", "-O2");
	ctx.repo = json_pack("{s:s, s:s}", "owner", "alice", "name", "demo");
	ctx.status = EXPR_STATUS_SUCCESS;
	return 0;
}

static int teardown(void **state)
{
	json_decref(ctx.event);
	json_decref(ctx.matrix);
	json_decref(ctx.inputs);
	json_decref(ctx.needs);
	json_decref(ctx.secrets);
	json_decref(ctx.env);
	json_decref(ctx.repo);
	return 0;
}

/* Evaluates expr and compares its compact JSON form with want. */
static void is(const char *expr, const char *want)
{
	json_t *v;
	struct err e = { 0 };
	if (expr_eval(&v, expr, &ctx, &e))
		fail_msg("'%s' failed: %s", expr, e.msg);
	char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (strcmp(got, want))
		fail_msg("'%s' gave %s, want %s", expr, got, want);
	free(got);
	json_decref(v);
}

static void fails(const char *expr, const char *msg)
{
	json_t *v = NULL;
	struct err e = { 0 };
	assert_int_equal(expr_eval(&v, expr, &ctx, &e), ERR_INVALID);
	assert_null(v);
	assert_string_equal(e.msg, msg);
}

static void test_literals(void **state)
{
	is("1", "1");
	is("1.5", "1.5");
	is("-2", "-2");
	is("0x10", "16");
	is("1e3", "1000");
	is("'it''s'", "\"it's\"");
	is("''", "\"\"");
	is("true", "true");
	is("false", "false");
	is("null", "null");
	is("${{ 'wrapped' }}", "\"wrapped\"");
	is("  ${{ 1 }}  ", "1");
}

static void test_contexts(void **state)
{
	is("matrix.cc", "\"gcc\"");
	is("MATRIX.CC", "\"gcc\"");
	is("matrix.missing", "null");
	is("matrix.cc.deeper", "null");
	is("event.pull_request.number", "7");
	is("event['ref']", "\"refs/heads/main\"");
	is("event.commits[1].id", "\"b\"");
	is("event.commits[5]", "null");
	is("event.commits.*.id", "[\"a\",\"b\"]");
	is("needs.*.result", "[\"success\",\"failure\"]");
	is("needs.build.result", "\"success\"");
	is("inputs.dry", "false");
	is("secrets.TOKEN", "\"s3cret\"");
	is("env.CFLAGS", "\"-O2\"");
	is("repo.owner", "\"alice\"");
}

static void test_operators(void **state)
{
	is("1 == 1", "true");
	is("'abc' == 'ABC'", "true");
	is("'x' != 'X'", "false");
	is("'1' == 1", "true");
	is("true == 1", "true");
	is("null == 0", "true");
	is("'' == 0", "true");
	is("'a' == 0", "false");
	is("matrix == matrix", "true");
	is("1 < 2", "true");
	is("'a' < 'B'", "true");
	is("2 >= 2", "true");
	is("3 <= 2", "false");
	is("'a' > 1", "false");
	is("!0", "true");
	is("!!'x'", "true");
	is("!(1 == 2)", "true");
	is("'' || 'b'", "\"b\"");
	is("'a' && 'b'", "\"b\"");
	is("0 && matrix.cc", "0");
	is("matrix.cc == 'gcc' && matrix.n == 3", "true");
	is("false || true && false", "false");
	is("(false || true) && true", "true");
}

static void test_functions(void **state)
{
	is("contains('Hello World', 'WORLD')", "true");
	is("contains('Hello', 'bye')", "false");
	is("contains(needs.*.result, 'failure')", "true");
	is("contains(event.commits.*.id, 'c')", "false");
	is("startsWith(event.ref, 'refs/heads/')", "true");
	is("STARTSWITH('ab', 'A')", "true");
	is("endsWith('a.txt', '.TXT')", "true");
	is("endsWith('a', 'abc')", "false");
	is("format('{0}-{1}', 'a', 2)", "\"a-2\"");
	is("format('{{0}} {0}', 'x')", "\"{0} x\"");
	is("format('plain')", "\"plain\"");
	is("join(event.commits.*.id, '+')", "\"a+b\"");
	is("join(event.commits.*.id)", "\"a,b\"");
	is("join(matrix.cc)", "\"gcc\"");
	is("toJSON(matrix.n)", "\"3\"");
	is("toJSON(event.commits[0])", "\"{\\n  \\\"id\\\": \\\"a\\\"\\n}\"");
	is("fromJSON('{\"a\":[1,2]}').a[1]", "2");
	is("fromJSON('5') == 5", "true");
	is("success()", "true");
	is("failure()", "false");
	is("always()", "true");
	is("cancelled()", "false");
	ctx.status = EXPR_STATUS_FAILURE;
	is("success()", "false");
	is("failure()", "true");
	ctx.status = EXPR_STATUS_CANCELLED;
	is("cancelled()", "true");
	is("success()", "false");
	ctx.status = EXPR_STATUS_SUCCESS;
}

static void test_errors(void **state)
{
	fails("matrix.cc ==", "expression 'matrix.cc ==': unexpected end of expression");
	fails("matrix.cc = 'x'", "expression 'matrix.cc = 'x'': '=' is not an operator (use '==')");
	fails("a == b", "expression 'a == b': unknown name 'a' (contexts: event, repo, inputs, env, "
			"matrix, needs, secrets)");
	fails("matrix.a & 1", "expression 'matrix.a & 1': '&' is not an operator (use '&&')");
	fails("github.ref", "expression 'github.ref': unknown name 'github' (contexts: event, repo, "
			    "inputs, env, matrix, needs, secrets)");
	fails("nope()", "expression 'nope()': unknown function 'nope'");
	fails("contains('a')", "expression 'contains('a')': contains() takes 2 arguments");
	fails("format()", "expression 'format()': format() takes at least 1 argument");
	fails("join(1, 2, 3)", "expression 'join(1, 2, 3)': join() takes 1 to 2 arguments");
	fails("'abc", "expression ''abc': unterminated string");
	fails("(1", "expression '(1': missing ')'");
	fails("event[0", "expression 'event[0': missing ']'");
	fails("1 2", "expression '1 2': unexpected '2'");
	fails("1abc", "expression '1abc': malformed number");
	fails("event.", "expression 'event.': unexpected end of expression");
	fails("matrix.cc $", "expression 'matrix.cc $': unexpected character '$'");
	fails("", "expression '': empty expression");
	fails("${{ }}", "expression '': empty expression");
	fails("${{ matrix.cc == }}", "expression 'matrix.cc ==': unexpected end of expression");
	fails("format('{1}', 'a')", "expression 'format('{1}', 'a')': format() placeholder has no "
				    "argument");
	fails("format('{x}', 'a')", "expression 'format('{x}', 'a')': format() has a malformed "
				    "placeholder");

	fails("fromJSON('{')", "expression 'fromJSON('{')': fromJSON() input is not valid JSON (at "
			       "offset 1)");
	fails("fromJSON('[1, xy]')",
	      "expression 'fromJSON('[1, xy]')': fromJSON() input is not valid "
	      "JSON (at offset 6)");
}

/* Runtime errors quote the expression's source, never a value it
 * evaluated: that may be a secret. */
static void test_errors_quote_no_value(void **state)
{
	static const char *const exprs[] = {
		"fromJSON(secrets.TOKEN)",
		"fromJSON(format('{{\"a\": {0}', secrets.TOKEN))",
		"fromJSON(toJSON(secrets)) == fromJSON(secrets.token)",
		"format(format('{0}}}', secrets.TOKEN))",
		"format(format('{0}{{', secrets.TOKEN))",
		"format(format('{0}{{1}}', secrets.TOKEN), 'x')",
	};
	for (size_t i = 0; i < sizeof(exprs) / sizeof(*exprs); i++) {
		json_t *v = NULL;
		struct err e = { 0 };
		if (expr_eval(&v, exprs[i], &ctx, &e) != ERR_INVALID)
			fail_msg("'%s' did not fail", exprs[i]);
		if (strstr(e.msg, "s3cret"))
			fail_msg("'%s' quoted the value: %s", exprs[i], e.msg);
	}
	/* the same through interpolation and conditions */
	char *out = NULL;
	struct err e = { 0 };
	assert_int_equal(expr_interpolate(&out, "x ${{ fromJSON(secrets.TOKEN) }}", &ctx, &e),
			 ERR_INVALID);
	assert_null(strstr(e.msg, "s3cret"));
	bool go = false;
	err_clear(&e);
	assert_int_equal(expr_condition(&go, "fromJSON(secrets.TOKEN)", &ctx, &e), ERR_INVALID);
	assert_null(strstr(e.msg, "s3cret"));
	assert_string_equal(e.msg, "expression 'fromJSON(secrets.TOKEN)': fromJSON() input is not "
				   "valid JSON (at offset 1)");
}

static void test_depth_limits(void **state)
{
	char buf[2048];
	struct err e = { 0 };
	json_t *v = NULL;

	/* 100 parentheses are fine, 300 are not */
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < 100; i++)
		buf[n++] = ')';
	buf[n] = 0;
	assert_int_equal(expr_eval(&v, buf, &ctx, &e), 0);
	json_decref(v);

	n = 0;
	for (int i = 0; i < 300; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < 300; i++)
		buf[n++] = ')';
	buf[n] = 0;
	assert_int_equal(expr_eval(&v, buf, &ctx, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "nested too deeply"));

	err_clear(&e);
	memset(buf, '!', 400);
	strcpy(buf + 400, "1");
	assert_int_equal(expr_eval(&v, buf, &ctx, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "nested too deeply"));

	err_clear(&e);
	n = 0;
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "1==");
	strcpy(buf + n, "1");
	assert_int_equal(expr_eval(&v, buf, &ctx, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "nested too deeply"));
}

static void cond(const char *c, enum expr_status st, bool want)
{
	bool got;
	struct err e = { 0 };
	ctx.status = st;
	if (expr_condition(&got, c, &ctx, &e))
		fail_msg("condition '%s' failed: %s", c ? c : "(null)", e.msg);
	ctx.status = EXPR_STATUS_SUCCESS;
	if (got != want)
		fail_msg("condition '%s' gave %d, want %d", c ? c : "(null)", got, want);
}

static void test_conditions(void **state)
{
	cond(NULL, EXPR_STATUS_SUCCESS, true);
	cond("", EXPR_STATUS_SUCCESS, true);
	cond(NULL, EXPR_STATUS_FAILURE, false);
	cond("matrix.cc == 'gcc'", EXPR_STATUS_SUCCESS, true);
	cond("${{ matrix.cc == 'clang' }}", EXPR_STATUS_SUCCESS, false);
	/* no status function: success() && … is implied */
	cond("matrix.cc == 'gcc'", EXPR_STATUS_FAILURE, false);
	cond("${{ failure() }}", EXPR_STATUS_FAILURE, true);
	cond("failure()", EXPR_STATUS_SUCCESS, false);
	cond("always()", EXPR_STATUS_FAILURE, true);
	cond("always()", EXPR_STATUS_CANCELLED, true);
	cond("cancelled() || failure()", EXPR_STATUS_CANCELLED, true);
	cond("true", EXPR_STATUS_SUCCESS, true);
	cond("false", EXPR_STATUS_SUCCESS, false);
	cond("!cancelled() && matrix.n > 2", EXPR_STATUS_FAILURE, true);

	bool got;
	struct err e = { 0 };
	assert_int_equal(expr_condition(&got, "${{ matrix. }}", &ctx, &e), ERR_INVALID);
	assert_string_equal(e.msg, "expression 'matrix.': unexpected end of expression");
}

static void interp(const char *text, const char *want)
{
	char *out;
	struct err e = { 0 };
	if (expr_interpolate(&out, text, &ctx, &e))
		fail_msg("interpolating '%s' failed: %s", text, e.msg);
	assert_string_equal(out, want);
	free(out);
}

static void test_interpolate(void **state)
{
	interp("CC=${{ matrix.cc }} n=${{matrix.n}}", "CC=gcc n=3");
	interp("no expressions", "no expressions");
	interp("", "");
	interp("${{ '}}' }}", "}}");
	interp("${{ 1.5 }} ${{ true }} ${{ null }}|", "1.5 true |");
	interp("${{ event.commits.*.id }}", "[\"a\",\"b\"]");
	interp("${{ event.pull_request }}", "{\"number\":7}");
	interp("pr-${{ event.pull_request.number }}-${{ format('{0}', matrix.cc) }}", "pr-7-gcc");
	interp("a $ {{ b }} ${ c", "a $ {{ b }} ${ c");

	char *out = (char *)1;
	struct err e = { 0 };
	assert_int_equal(expr_interpolate(&out, "x ${{ matrix.cc", &ctx, &e), ERR_INVALID);
	assert_null(out);
	assert_string_equal(e.msg, "unclosed '${{' in 'x ${{ matrix.cc'");
	err_clear(&e);
	assert_int_equal(expr_interpolate(&out, "${{ bogus }}", &ctx, &e), ERR_INVALID);
	assert_string_equal(e.msg, "expression 'bogus': unknown name 'bogus' (contexts: event, "
				   "repo, inputs, env, matrix, needs, secrets)");
}

/* The script form: values go to variables, the text only names them. */
static void test_interpolate_vars(void **state)
{
	char *out = NULL;
	struct err e = { 0 };
	json_t *vars = json_object();
	assert_int_equal(expr_interpolate_vars(&out, vars, "PLUE_EXPR_",
					       "echo \"${{ matrix.cc }}\" '${{ format('\"; id; \"') }}' "
					       "${{ matrix.n }}${{ null }} ${{ secrets.TOKEN }}",
					       &ctx, &e),
			 0);
	assert_string_equal(out, "echo \"${PLUE_EXPR_1}\" '${PLUE_EXPR_2}' ${PLUE_EXPR_3}"
				 "${PLUE_EXPR_4} ${PLUE_EXPR_5}");
	assert_int_equal(json_object_size(vars), 5);
	assert_string_equal(json_string_value(json_object_get(vars, "PLUE_EXPR_1")), "gcc");
	assert_string_equal(json_string_value(json_object_get(vars, "PLUE_EXPR_2")), "\"; id; \"");
	assert_string_equal(json_string_value(json_object_get(vars, "PLUE_EXPR_3")), "3");
	assert_string_equal(json_string_value(json_object_get(vars, "PLUE_EXPR_4")), "");
	assert_string_equal(json_string_value(json_object_get(vars, "PLUE_EXPR_5")), "s3cret");
	free(out);
	/* no expression: the text as it is, no variable */
	json_object_clear(vars);
	assert_int_equal(expr_interpolate_vars(&out, vars, "V", "echo $HOME", &ctx, &e), 0);
	assert_string_equal(out, "echo $HOME");
	assert_int_equal(json_object_size(vars), 0);
	free(out);
	out = (char *)1;
	assert_int_equal(expr_interpolate_vars(&out, vars, "V", "x ${{ matrix.cc", &ctx, &e),
			 ERR_INVALID);
	assert_null(out);
	json_decref(vars);
}

static void test_check(void **state)
{
	struct err e = { 0 };
	size_t off = 0;
	assert_int_equal(expr_check("ok ${{ matrix.x }} and ${{ secrets.Y }}", false, &off, &e), 0);
	assert_int_equal(expr_check("x ${{ foo }}", false, &off, &e), ERR_INVALID);
	assert_int_equal(off, 6);
	err_clear(&e);
	assert_int_equal(expr_check("matrix.x ==", true, &off, &e), ERR_INVALID);
	assert_int_equal(off, 11);
	err_clear(&e);
	assert_int_equal(expr_check("${{ a", false, &off, &e), ERR_INVALID);
	assert_int_equal(off, 0);
	err_clear(&e);
	assert_int_equal(expr_check("no expressions at all", false, &off, &e), 0);
}

static void test_truthy_and_string(void **state)
{
	json_t *v[] = { json_integer(0), json_string(""),  json_null(),  json_false(),
			json_real(0.0),  json_string("0"), json_array(), json_object(),
			json_true(),     json_integer(-1) };
	bool want[] = { false, false, false, false, false, true, true, true, true, true };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(expr_truthy(v[i]), want[i]);
		json_decref(v[i]);
	}
	assert_false(expr_truthy(NULL));

	struct {
		json_t *v;
		const char *s;
	} str[] = {
		{ json_real(3.0), "3" },       { json_real(1.5), "1.5" },
		{ json_true(), "true" },       { json_null(), "" },
		{ json_integer(-4), "-4" },    { json_pack("{s:i}", "a", 1), "{\"a\":1}" },
		{ json_string("x y"), "x y" },
	};
	for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		char *s = expr_string(str[i].v);
		assert_string_equal(s, str[i].s);
		free(s);
		json_decref(str[i].v);
	}
}

static void test_secret_refs(void **state)
{
	json_t *names = json_array();
	assert_false(expr_secret_refs(names,
				      "${{ secrets.TOKEN }} ${{ secrets['OTHER'] }} "
				      "${{ secrets.token }} ${{ matrix.x }}",
				      false));
	char *s = json_dumps(names, JSON_COMPACT);
	assert_string_equal(s, "[\"TOKEN\",\"OTHER\"]");
	free(s);

	assert_true(expr_secret_refs(names, "${{ toJSON(secrets) }}", false));
	assert_true(expr_secret_refs(names, "${{ secrets[matrix.name] }}", false));
	assert_true(expr_secret_refs(names, "${{ secrets.*.x }}", false));
	assert_false(expr_secret_refs(names, "secrets.BARE == 'x'", true));
	assert_false(expr_secret_refs(names, "secrets.NOT_BARE", false)); /* not inside ${{ }} */
	assert_false(expr_secret_refs(names, "${{ broken", false));
	assert_false(expr_secret_refs(names, NULL, false));
	s = json_dumps(names, JSON_COMPACT);
	assert_string_equal(s, "[\"TOKEN\",\"OTHER\",\"BARE\"]");
	free(s);
	json_decref(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),     cmocka_unit_test(test_contexts),
		cmocka_unit_test(test_operators),    cmocka_unit_test(test_functions),
		cmocka_unit_test(test_errors),       cmocka_unit_test(test_errors_quote_no_value),
		cmocka_unit_test(test_depth_limits), cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_interpolate),  cmocka_unit_test(test_interpolate_vars),
		cmocka_unit_test(test_check),        cmocka_unit_test(test_truthy_and_string),
		cmocka_unit_test(test_secret_refs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
