/* test_html.c — the page escapers (web/html.h): every context, hostile
 * input (markup, quotes, schemes, bidi controls, invalid UTF-8, controls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "web/html.h"

#define ESC(fn, in, want)                                                                          \
	do {                                                                                       \
		struct buf b = BUF_INIT;                                                           \
		fn(&b, in);                                                                        \
		assert_string_equal(b.ptr, want);                                                  \
		buf_release(&b);                                                                   \
	} while (0)

static void test_txt(void **state)
{
	(void)state;
	ESC(html_txt, "<script>alert('x')</script>",
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	ESC(html_txt, "a & \"b\"", "a &amp; &quot;b&quot;");
	ESC(html_txt, "tab\tnl\n", "tab\tnl\n");
	ESC(html_txt, "nul?\x01\x1b[31m", "nul?\xef\xbf\xbd\xef\xbf\xbd[31m");
	ESC(html_txt, "bad \xff\xfe utf8", "bad \xef\xbf\xbd\xef\xbf\xbd utf8");
	ESC(html_txt, "overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd");
	ESC(html_txt, "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    "ok \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE */
	ESC(html_txt,
	    "a\xe2\x80\xae"
	    "b\xe2\x81\xa6",
	    "a<span class=\"bidi\">[U+202E]</span>b<span class=\"bidi\">[U+2066]</span>");
	ESC(html_txt, NULL, "");
	struct buf b = BUF_INIT;
	html_txtf(&b, "%d <%s>", 3, "b");
	assert_string_equal(b.ptr, "3 &lt;b&gt;");
	buf_release(&b);
}

static void test_attr(void **state)
{
	(void)state;
	ESC(html_attr, "\" onerror=\"x", "&quot; onerror=&quot;x");
	ESC(html_attr, "x\xe2\x80\xaey", "x&#x202E;y");
}

/* Text in elements that hold no markup, and a textarea's value. */
static void test_plain_textarea(void **state)
{
	(void)state;
	ESC(html_plain, "<b>x\xe2\x80\xaey", "&lt;b&gt;x\xef\xbf\xbdy");
	ESC(html_textarea, "</textarea><script>\xe2\x80\xae",
	    "&lt;/textarea&gt;&lt;script&gt;&#x202E;");
}

static void test_path_query(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	html_path(&b, "a b/c?d#e\"<", 1);
	assert_string_equal(b.ptr, "a%20b/c%3Fd%23e%22%3C");
	buf_reset(&b);
	html_path(&b, "javascript:alert(1)/x", 0);
	assert_string_equal(b.ptr, "javascript%3Aalert%281%29%2Fx");
	buf_reset(&b);
	html_query(&b, "a&b=c/d");
	assert_string_equal(b.ptr, "a%26b%3Dc%2Fd");
	buf_release(&b);
}

static void test_url(void **state)
{
	(void)state;
	ESC(html_url, "https://example.com/a?b=\"c\"", "https://example.com/a?b=&quot;c&quot;");
	ESC(html_url, "/site/path", "/site/path");
	ESC(html_url, "javascript:alert(1)", "#");
	ESC(html_url, "JaVaScRiPt:alert(1)", "#");
	ESC(html_url, "//evil.example", "#");
	ESC(html_url, "/\\evil.example", "#");
	ESC(html_url, "data:text/html,x", "#");
	ESC(html_url, NULL, "#");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_attr),
		cmocka_unit_test(test_plain_textarea),
		cmocka_unit_test(test_path_query),
		cmocka_unit_test(test_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
