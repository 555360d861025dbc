/* test_web_agents.c — the pure parts of the Agents pages (web/agents.c):
 * which field a refusal of the "New session" form sits beside, and a
 * message's usage as people read it (escaped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "web/agents.h"

static void test_refusal_field(void **state)
{
	(void)state;
	assert_string_equal(agent_refusal_field("invalid_title"), "title");
	assert_string_equal(agent_refusal_field("invalid_model"), "model");
	assert_string_equal(agent_refusal_field("unknown_tool"), "tools");
	assert_string_equal(agent_refusal_field("invalid_tools"), "tools");
	assert_string_equal(agent_refusal_field("invalid_system"), "system");
	assert_string_equal(agent_refusal_field("invalid_limit"), "max_turns");
	assert_string_equal(agent_refusal_field("csrf_failed"), "form");
	assert_string_equal(agent_refusal_field(""), "form");
	assert_string_equal(agent_refusal_field(NULL), "form");
}

static char *usage(long long in, long long out, long long cached, json_t *cost)
{
	struct buf b = BUF_INIT;
	agent_usage_html(&b, in, out, cached, cost);
	json_decref(cost);
	return buf_detach(&b, NULL);
}

static void test_usage(void **state)
{
	(void)state;
	char *s = usage(12, 340, 5, json_real(0.0123));
	assert_string_equal(s, "12 in \xc2\xb7 340 out \xc2\xb7 5 cached \xc2\xb7 $0.0123");
	free(s);
	/* zero counts and an unknown cost are left out */
	s = usage(0, 7, 0, json_null());
	assert_string_equal(s, "7 out");
	free(s);
	s = usage(0, 0, 0, NULL);
	assert_string_equal(s, "");
	free(s);
	s = usage(0, 0, 0, json_integer(0));
	assert_string_equal(s, "$0.0000");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal_field),
		cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
