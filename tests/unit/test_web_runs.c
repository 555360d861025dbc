/* test_web_runs.c — the pure parts of the run pages (web/runview.c): the
 * needs graph's layout and escaping, and durations as people read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "web/runs.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char *graph(const char *jobs_json)
{
	json_error_t je;
	json_t *jobs = json_loads(jobs_json, 0, &je);
	assert_non_null(jobs);
	struct buf b = BUF_INIT;
	run_graph_svg(&b, jobs);
	json_decref(jobs);
	return buf_detach(&b, NULL);
}

static void test_graph_layout(void **state)
{
	(void)state;
	/* build → test (a matrix: two jobs of one key) → report; lint alone */
	char *s = graph("[{\"id\":1,\"key\":\"build\",\"name\":\"build\",\"status\":\"success\","
			"\"needs\":[]},"
			"{\"id\":2,\"key\":\"test\",\"name\":\"test (gcc)\",\"status\":\"running\","
			"\"needs\":[\"build\"]},"
			"{\"id\":3,\"key\":\"test\",\"name\":\"test (clang)\",\"status\":\"failure\","
			"\"needs\":[\"build\"]},"
			"{\"id\":4,\"key\":\"report\",\"name\":\"report\",\"status\":\"pending\","
			"\"needs\":[\"test\"]},"
			"{\"id\":5,\"key\":\"lint\",\"name\":\"lint\",\"status\":\"queued\","
			"\"needs\":[]}]");
	assert_int_equal(count(s, "<rect "), 5);
	assert_int_equal(count(s, "<path class=\"edge\""), 4);
	assert_non_null(strstr(s, "role=\"img\""));
	assert_non_null(strstr(s, "5 jobs in 3 stages."));
	assert_non_null(strstr(s, "report needs test;"));
	/* columns by depth: build and lint at x=8, tests at 240, report at 472 */
	assert_non_null(strstr(s, "id=\"graph-job-1\"><rect x=\"8\" y=\"8\""));
	assert_non_null(strstr(s, "id=\"graph-job-5\"><rect x=\"8\" y=\"64\""));
	assert_non_null(strstr(s, "id=\"graph-job-3\"><rect x=\"240\" y=\"64\""));
	assert_non_null(strstr(s, "id=\"graph-job-4\"><rect x=\"472\" y=\"8\""));
	/* statuses as text, not colour alone */
	assert_non_null(strstr(s, "class=\"node state-failure\""));
	assert_non_null(strstr(s, "Failed</text>"));
	assert_non_null(strstr(s, "Running</text>"));
	free(s);

	s = graph("[]");
	assert_string_equal(s, "");
	free(s);
}

static void test_graph_escaping(void **state)
{
	(void)state;
	/* markup, quotes and a bidi control in names; an unknown status; a
	 * long name cut on a character boundary */
	char *s = graph(
		"[{\"id\":1,\"key\":\"a\",\"name\":\"<script>alert(1)</script>\\u202e\","
		"\"status\":\"<b>\",\"needs\":[\"\\\"><x>\"]},"
		"{\"id\":2,\"key\":\"b\",\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"status\":\"success\","
		"\"needs\":[]}]");
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<b>"));
	assert_null(strstr(s, "<x>"));
	assert_null(strstr(s, "\xe2\x80\xae"));
	assert_null(strstr(s, "<span"));
	assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;\xef\xbf\xbd"));
	assert_non_null(strstr(s, "class=\"node state-unknown\""));
	assert_non_null(strstr(s, "&lt;b&gt;</text>"));
	/* 22 characters, then the ellipsis */
	assert_non_null(
		strstr(s, ">\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6</text>"));
	assert_int_equal(count(s, "<path"), 0); /* a need no job has draws nothing */
	free(s);
}

static void test_duration(void **state)
{
	(void)state;
	char t[32];
	run_duration(t, sizeof(t), 0);
	assert_string_equal(t, "0 ms");
	run_duration(t, sizeof(t), 850);
	assert_string_equal(t, "850 ms");
	run_duration(t, sizeof(t), 4210);
	assert_string_equal(t, "4.2 s");
	run_duration(t, sizeof(t), 185000);
	assert_string_equal(t, "3 m 05 s");
	run_duration(t, sizeof(t), 7800000);
	assert_string_equal(t, "2 h 10 m");
	run_duration(t, sizeof(t), -5);
	assert_string_equal(t, "0 ms");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_graph_layout),
		cmocka_unit_test(test_graph_escaping),
		cmocka_unit_test(test_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
