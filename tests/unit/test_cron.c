/* test_cron.c — five-field cron expressions: fields, ranges, steps, lists,
 * names, the day-of-month / day-of-week rule, next-run search and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/util.h"
#include "workflow/cron.h"

/* UTC seconds for a calendar minute. */
static time_t at(int y, int mon, int d, int h, int min)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = min
	};
	return timegm(&tm);
}

static struct cron parse(const char *text)
{
	struct cron c;
	struct err e = { 0 };
	int rc = cron_parse(&c, text, &e);
	if (rc)
		fail_msg("cron_parse('%s'): %s", text, e.msg);
	return c;
}

static void test_daily(void **state)
{
	struct cron c = parse("17 3 * * *");
	assert_true(cron_matches(&c, at(2024, 1, 1, 3, 17)));
	assert_true(cron_matches(&c, at(2024, 1, 1, 3, 17) + 45)); /* seconds ignored */
	assert_false(cron_matches(&c, at(2024, 1, 1, 3, 18)));
	assert_false(cron_matches(&c, at(2024, 1, 1, 4, 17)));
	assert_true(cron_matches(&c, at(2031, 12, 31, 3, 17)));
}

static void test_steps_ranges_lists(void **state)
{
	struct cron c = parse("*/15 * * * *");
	for (int m = 0; m < 60; m++)
		assert_int_equal(cron_matches(&c, at(2024, 5, 5, 10, m)), m % 15 == 0);

	c = parse("0 9-17/2 * * mon-fri");
	assert_true(cron_matches(&c, at(2024, 6, 3, 9, 0)));   /* Monday */
	assert_true(cron_matches(&c, at(2024, 6, 7, 17, 0)));  /* Friday */
	assert_false(cron_matches(&c, at(2024, 6, 3, 10, 0))); /* off-step hour */
	assert_false(cron_matches(&c, at(2024, 6, 8, 9, 0)));  /* Saturday */

	c = parse("5,10-12,50/5 * * * *");
	int want[] = { 5, 10, 11, 12, 50, 55 };
	for (int m = 0, k = 0; m < 60; m++) {
		bool in = k < 6 && want[k] == m;
		assert_int_equal(cron_matches(&c, at(2024, 1, 1, 0, m)), in);
		if (in)
			k++;
	}

	c = parse("0 0 1,15 * *");
	assert_true(cron_matches(&c, at(2024, 2, 15, 0, 0)));
	assert_false(cron_matches(&c, at(2024, 2, 16, 0, 0)));
}

static void test_names_and_sunday(void **state)
{
	struct cron c = parse("0 12 * JAN,jul Sun");
	assert_true(cron_matches(&c, at(2024, 1, 7, 12, 0)));  /* a Sunday in January */
	assert_false(cron_matches(&c, at(2024, 2, 4, 12, 0))); /* a Sunday in February */
	assert_true(cron_matches(&c, at(2024, 7, 7, 12, 0)));

	struct cron seven = parse("0 0 * * 7");
	assert_true(cron_matches(&seven, at(2024, 1, 7, 0, 0)));
	assert_false(cron_matches(&seven, at(2024, 1, 8, 0, 0)));
}

static void test_day_fields_or(void **state)
{
	/* both restricted: the 13th of any month, or any Friday */
	struct cron c = parse("0 0 13 * fri");
	assert_true(cron_matches(&c, at(2024, 3, 13, 0, 0)));  /* a Wednesday */
	assert_true(cron_matches(&c, at(2024, 3, 15, 0, 0)));  /* a Friday */
	assert_false(cron_matches(&c, at(2024, 3, 14, 0, 0))); /* neither */

	/* day-of-week starred: only the day of month counts */
	c = parse("0 0 13 * *");
	assert_false(cron_matches(&c, at(2024, 3, 15, 0, 0)));
	c = parse("0 0 13 * */1");
	assert_false(cron_matches(&c, at(2024, 3, 15, 0, 0)));
}

static void test_next(void **state)
{
	struct cron c = parse("17 3 * * *");
	assert_int_equal(cron_next(&c, at(2024, 1, 1, 0, 0)), at(2024, 1, 1, 3, 17));
	assert_int_equal(cron_next(&c, at(2024, 1, 1, 3, 17)), at(2024, 1, 2, 3, 17));
	assert_int_equal(cron_next(&c, at(2024, 12, 31, 23, 59)), at(2025, 1, 1, 3, 17));

	c = parse("0 0 29 2 *");
	assert_int_equal(cron_next(&c, at(2024, 3, 1, 0, 0)), at(2028, 2, 29, 0, 0));

	c = parse("0 0 31 2 *");
	assert_int_equal(cron_next(&c, at(2024, 1, 1, 0, 0)), -1);

	c = parse("* * * * *");
	assert_int_equal(cron_next(&c, at(2024, 1, 1, 0, 0) + 30), at(2024, 1, 1, 0, 1));
}

static void bad(const char *text, const char *msg)
{
	struct cron c;
	struct err e = { 0 };
	assert_int_equal(cron_parse(&c, text, &e), ERR_INVALID);
	assert_string_equal(e.msg, msg);
}

static void test_errors(void **state)
{
	bad("60 * * * *", "cron field 'minute' value '60' is out of range 0-59");
	bad("0 24 * * *", "cron field 'hour' value '24' is out of range 0-23");
	bad("0 0 0 * *", "cron field 'day-of-month' value '0' is out of range 1-31");
	bad("0 0 * 13 *", "cron field 'month' value '13' is out of range 1-12");
	bad("0 0 * * 8", "cron field 'day-of-week' value '8' is out of range 0-7");
	bad("5-1 * * * *", "cron field 'minute' range '5-1' runs backwards");
	bad("a * * * *", "cron field 'minute' is not valid: 'a'");
	bad("*/0 * * * *", "cron field 'minute' is not valid: '*/0'");
	bad("1,,2 * * * *", "cron field 'minute' is not valid: '1,,2'");
	bad("1, * * * *", "cron field 'minute' is not valid: '1,'");
	bad("0 0 * * funday", "cron field 'day-of-week' is not valid: 'funday'");
	bad("0 0 mon * *", "cron field 'day-of-month' is not valid: 'mon'");
	bad("* * *", "cron expression '* * *' must have five fields: minute hour day-of-month "
		     "month day-of-week");
	bad("* * * * * *", "cron expression '* * * * * *' must have five fields: minute hour "
			   "day-of-month month day-of-week");
	bad("", "cron expression '' must have five fields: minute hour day-of-month month "
		"day-of-week");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_steps_ranges_lists),
		cmocka_unit_test(test_names_and_sunday),
		cmocka_unit_test(test_day_fields_or),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
