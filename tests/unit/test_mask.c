/* test_mask.c — secret masking (queue/secrets.h): whole values, values
 * inside values, multi-line values line by line, short lines left alone,
 * the JSON-escaped forms toJSON prints, UTF-8, ignored values, and masking
 * every string of a JSON payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "queue/secrets.h"
#include "workflow/expr.h"

static const char *const PEM = "-----BEGIN PRIVATE KEY-----\n"
			       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
			       "  q9Ylq2xZ0Xk4dF8pQ3vHnT1sYbW6cJmE5rA0uLgK2iNfVhOwDz  \n"
			       "ab\n"
			       "}\n"
			       "-----END PRIVATE KEY-----\n";

/* Masks s with secrets (a JSON object text) and compares with want (NULL:
 * nothing matched). */
static void masks(const char *secrets, const char *s, const char *want)
{
	json_t *j = json_loads(secrets, 0, NULL);
	assert_non_null(j);
	struct secret_mask *m = secret_mask_new(j);
	char *got = secret_mask_apply(m, s);
	if (!want && got)
		fail_msg("'%s' became '%s', want it unchanged", s, got);
	if (want && !got)
		fail_msg("'%s' was not masked, want '%s'", s, want);
	if (want && strcmp(got, want))
		fail_msg("'%s' became '%s', want '%s'", s, got, want);
	free(got);
	secret_mask_free(m);
	json_decref(j);
}

static void test_values(void **state)
{
	masks("{\"A\":\"s3cr3t-value\"}", "token is s3cr3t-value.", "token is ***.");
	masks("{\"A\":\"s3cr3t-value\"}", "s3cr3t-value s3cr3t-value", "*** ***");
	masks("{\"A\":\"s3cr3t-value\"}", "s3cr3t-values3cr3t-value", "******");
	masks("{\"A\":\"s3cr3t-value\"}", "nothing here", NULL);
	masks("{\"A\":\"s3cr3t-value\"}", "", NULL);
	masks("{\"A\":\"abc\"}", "xabcx", "x***x");
	/* too short to mask, empty, not a string: ignored */
	masks("{\"A\":\"ab\"}", "ab ab", NULL);
	masks("{\"A\":\"\"}", "anything", NULL);
	masks("{\"A\":5,\"B\":null,\"C\":[\"listed-value\"]}", "5 listed-value", NULL);
	masks("{}", "anything", NULL);
	/* a value with surrounding white space is also hidden trimmed */
	masks("{\"A\":\"  spaced-secret \\n\"}", "[spaced-secret]", "[***]");

	struct secret_mask *m = secret_mask_new(NULL);
	assert_true(secret_mask_empty(m));
	assert_null(secret_mask_apply(m, "anything"));
	secret_mask_free(m);
	assert_null(secret_mask_apply(NULL, "anything"));
	secret_mask_free(NULL);
	assert_null(secrets_mask(NULL, "x"));
	json_t *j = json_pack("{s:s}", "A", "one-shot-value");
	char *s = secrets_mask(j, "a one-shot-value b");
	assert_string_equal(s, "a *** b");
	free(s);
	json_decref(j);
}

static void test_overlapping(void **state)
{
	/* the longest wins: no tail of the longer value shows */
	masks("{\"A\":\"secret\",\"B\":\"secret-long\"}", "x secret-long y", "x *** y");
	masks("{\"B\":\"secret-long\",\"A\":\"secret\"}", "x secret-long y secret", "x *** y ***");
	/* a value inside another */
	masks("{\"A\":\"abcdefgh\",\"B\":\"cde\"}", "abcdefgh cde", "*** ***");
	/* values that overlap without containing each other: one *** for both */
	masks("{\"A\":\"abcdef\",\"B\":\"defghi\"}", "xabcdefghiy", "x***y");
	masks("{\"A\":\"xabc\",\"B\":\"abcdef\"}", "xabcdef", "***");
	/* the same value under two names */
	masks("{\"A\":\"same-value\",\"B\":\"same-value\"}", "same-value", "***");
}

static void test_multiline(void **state)
{
	json_t *j = json_pack("{s:s}", "KEY", PEM);
	struct secret_mask *m = secret_mask_new(j);
	/* each line of at least 4 characters, as printed on its own line */
	const char *lines[] = { "-----BEGIN PRIVATE KEY-----",
				"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
				"  q9Ylq2xZ0Xk4dF8pQ3vHnT1sYbW6cJmE5rA0uLgK2iNfVhOwDz  ",
				"-----END PRIVATE KEY-----" };
	const char *want[] = { "***", "***", "  ***  ", "***" };
	for (size_t i = 0; i < 4; i++) {
		char *got = secret_mask_apply(m, lines[i]);
		assert_non_null(got);
		assert_string_equal(got, want[i]);
		free(got);
	}
	/* a line with a prefix (cat -n, a log prefix) */
	char *got = secret_mask_apply(m,
				      "     2\tMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7");
	assert_string_equal(got, "     2\t***");
	free(got);
	/* lines shorter than 4 characters are not secrets on their own */
	assert_null(secret_mask_apply(m, "ab"));
	assert_null(secret_mask_apply(m, "}"));
	assert_null(secret_mask_apply(m, "{ \"ab\": 1 }"));
	/* the whole value in one string is one *** (its short lines too) */
	char *whole = xasprintf("before %s after", PEM);
	got = secret_mask_apply(m, whole);
	assert_string_equal(got, "before *** after");
	free(got);
	free(whole);
	/* CRLF line ends */
	secret_mask_free(m);
	json_decref(j);
	masks("{\"K\":\"first-line\\r\\nsecond-line\\r\\n\"}", "second-line", "***");
	masks("{\"K\":\"first-line\\r\\nsecond-line\\r\\n\"}", "first-line\r", "***\r");
}

static void test_escaped(void **state)
{
	/* a quote and a backslash: what toJSON prints hides too */
	const char *secrets = "{\"Q\":\"qs\\\"QUOTED\\\\secret789\"}";
	masks(secrets, "raw qs\"QUOTED\\secret789", "raw ***");
	masks(secrets, "  \"Q\": \"qs\\\"QUOTED\\\\secret789\"", "  \"Q\": \"***\"");
	/* toJSON(toJSON(...)) escapes twice */
	masks(secrets, "\"{\\\"Q\\\": \\\"qs\\\\\\\"QUOTED\\\\\\\\secret789\\\"}\"",
	      "\"{\\\"Q\\\": \\\"***\\\"}\"");
	/* a tab and a control character */
	masks("{\"T\":\"tab\\there\\u0001x\"}", "\"tab\\there\\u0001x\"", "\"***\"");

	/* the real thing: whatever toJSON prints of the secrets is masked */
	json_t *sec = json_pack("{s:s,s:s,s:s}", "KEY", PEM, "Q", "qs\"QUOTED\\secret789", "U",
				"pässwörd-ünïcode");
	struct expr_ctx ctx = { .secrets = sec };
	struct secret_mask *m = secret_mask_new(sec);
	const char *exprs[] = { "toJSON(secrets)", "toJSON(toJSON(secrets))", "secrets",
				"format('{0}', toJSON(secrets.KEY))", "join(secrets.*, '|')" };
	for (size_t i = 0; i < sizeof(exprs) / sizeof(*exprs); i++) {
		char *text = NULL;
		struct err e = { 0 };
		char *tmpl = xasprintf("${{ %s }}", exprs[i]);
		assert_int_equal(expr_interpolate(&text, tmpl, &ctx, &e), 0);
		free(tmpl);
		/* as a log shows it: line by line */
		char *save = NULL;
		for (char *line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *got = secret_mask_apply(m, line);
			const char *shown = got ? got : line;
			if (strstr(shown, "QUOTED") || strstr(shown, "MIIEvQ") ||
			    strstr(shown, "q9Ylq2") || strstr(shown, "PRIVATE") ||
			    strstr(shown, "rd-\xc3\xbcn"))
				fail_msg("%s: '%s' shows a secret as '%s'", exprs[i], line, shown);
			free(got);
		}
		free(text);
	}
	secret_mask_free(m);
	json_decref(sec);
}

static void test_utf8(void **state)
{
	masks("{\"U\":\"pässwörd\"}", "é pässwörd ü", "é *** ü");
	/* lines count characters: "éé" is 2 (4 bytes), "éééé" is 4 */
	masks("{\"U\":\"first-line\\néé\\néééé\"}", "éé", NULL);
	masks("{\"U\":\"first-line\\néé\\néééé\"}", "xéééé", "x***");
	/* a match never starts inside a character */
	masks("{\"U\":\"\\u00e9t\\u00e9-x\"}", "été-x", "***");
}

static void test_json(void **state)
{
	json_t *sec = json_pack("{s:s}", "A", "s3cr3t-value");
	struct secret_mask *m = secret_mask_new(sec);
	json_t *p = json_pack("{s:i,s:s,s:s,s:{s:s,s:[s,i,s]},s:s}", "step", 1, "name",
			      "deploy s3cr3t-value", "reason", "exit: s3cr3t-value", "nested", "x",
			      "s3cr3t-value", "list", "a s3cr3t-value", 7, "s3cr3t-value", "clean",
			      "plain");
	/* keys are left alone */
	json_object_set_new(p, "s3cr3t-value-key", json_string("v"));
	assert_int_equal(secret_mask_json(m, p), 5);
	char *got = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(got,
			    "{\"clean\":\"plain\",\"name\":\"deploy ***\",\"nested\":{\"list\":"
			    "[\"a ***\",7,\"***\"],\"x\":\"***\"},\"reason\":\"exit: ***\",\"s3cr3t-"
			    "value-key\":\"v\",\"step\":1}");
	free(got);
	/* plain, NULL and empty masks */
	assert_int_equal(secret_mask_json(m, p), 0);
	assert_int_equal(secret_mask_json(NULL, p), 0);
	assert_int_equal(secret_mask_json(m, NULL), 0);
	json_t *s = json_string("only s3cr3t-value");
	assert_int_equal(secret_mask_json(m, s), 1);
	assert_string_equal(json_string_value(s), "only ***");
	json_decref(s);
	json_decref(p);
	secret_mask_free(m);
	json_decref(sec);
}

static void test_many(void **state)
{
	/* many values (whose hashes collide), each found, none mistaken */
	json_t *sec = json_object();
	for (int i = 0; i < 2000; i++) {
		char k[16], v[32];
		snprintf(k, sizeof(k), "S%d", i);
		snprintf(v, sizeof(v), "val%05d-secret", i);
		json_object_set_new(sec, k, json_string(v));
	}
	struct secret_mask *m = secret_mask_new(sec);
	for (int i = 0; i < 2000; i += 7) {
		char line[64];
		snprintf(line, sizeof(line), "<val%05d-secret>", i);
		char *got = secret_mask_apply(m, line);
		assert_non_null(got);
		assert_string_equal(got, "<***>");
		free(got);
	}
	assert_null(secret_mask_apply(m, "val99999-secret val00001-secre"));
	secret_mask_free(m);
	json_decref(sec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),    cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_multiline), cmocka_unit_test(test_escaped),
		cmocka_unit_test(test_utf8),      cmocka_unit_test(test_json),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
