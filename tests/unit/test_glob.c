/* test_glob.c — glob patterns of workflow filters: * ** ? classes and
 * escapes, and GitHub's ordered include/exclude lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "workflow/glob.h"

#define YES(p, s) assert_true(glob_match(p, s))
#define NO(p, s) assert_false(glob_match(p, s))

static void test_literal(void **state)
{
	YES("main", "main");
	NO("main", "mainline");
	NO("main", "mai");
	NO("main", "");
	YES("", "");
	NO("", "x");
}

static void test_star(void **state)
{
	YES("*", "main");
	YES("*", "");
	NO("*", "releases/v1");
	YES("feature/*", "feature/my-branch");
	NO("feature/*", "feature/your/branch");
	YES("v2*", "v2");
	YES("v2*", "v2.0.1");
	YES("*.js", "app.js");
	NO("*.js", "js/index.js");
	YES("a*b*c", "aXXbYYc");
	NO("a*b*c", "aXXbYY/c");
}

static void test_double_star(void **state)
{
	YES("**", "a/b/c");
	YES("**", "");
	YES("feature/**", "feature/your/branch");
	YES("feature/**", "feature/x");
	NO("feature/**", "feature");
	YES("release/**", "release/1.0");
	YES("**.js", "js/index.js");
	YES("**/*.js", "app.js");
	YES("**/*.js", "js/deep/index.js");
	NO("**/*.js", "app.jsx");
	YES("docs/**/*.md", "docs/a.md");
	YES("docs/**/*.md", "docs/x/y/a.md");
	NO("docs/**/*.md", "docs.md");
	NO("docs/**/*.md", "other/docs/a.md");
	YES("src/**", "src/main.c");
	YES("**/README.md", "README.md");
	YES("**/README.md", "a/b/README.md");
	NO("**/README.md", "a/bREADME.md");
}

static void test_question_class_escape(void **state)
{
	YES("v?", "v1");
	NO("v?", "v");
	NO("v?", "v12");
	NO("a?b", "a/b");
	YES("[abc]x", "bx");
	NO("[abc]x", "dx");
	YES("v[0-9].x", "v7.x");
	NO("v[0-9].x", "va.x");
	YES("[!a]x", "bx");
	NO("[!a]x", "ax");
	NO("[!a]x", "/x");
	YES("a\\*b", "a*b");
	NO("a\\*b", "aXb");
	YES("[", "[");       /* unterminated class: literal */
	YES("a[]]b", "a]b"); /* ']' first in a class is literal */
}

static void test_hostile_pattern_is_fast(void **state)
{
	char s[4097];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	/* exponential for a backtracking matcher, linear-ish here */
	NO("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s);
	NO("**a**a**a**a**a**a**a**a**a**a**b", s);
	YES("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", s);
}

static void test_filter_order(void **state)
{
	const char *const excl[] = { "**", "!docs/**" };
	assert_true(glob_filter(excl, 2, "src/a.c"));
	assert_false(glob_filter(excl, 2, "docs/a.md"));

	const char *const only_neg[] = { "!docs/**" };
	assert_false(glob_filter(only_neg, 1, "src/a.c"));

	const char *const back[] = { "*.md", "!README.md", "README.md" };
	assert_true(glob_filter(back, 3, "README.md")); /* the later pattern wins */
	assert_true(glob_filter(back, 3, "CHANGES.md"));

	const char *const rel[] = { "releases/**", "!releases/**-alpha" };
	assert_true(glob_filter(rel, 2, "releases/1.0"));
	assert_false(glob_filter(rel, 2, "releases/1.0-alpha"));

	assert_false(glob_filter(NULL, 0, "anything"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_double_star),
		cmocka_unit_test(test_question_class_escape),
		cmocka_unit_test(test_hostile_pattern_is_fast),
		cmocka_unit_test(test_filter_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
