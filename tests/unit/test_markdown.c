/* test_markdown.c — the Markdown renderer: GFM features, raw HTML and
 * dangerous links neutralised, @mention and #123 links made on text only
 * (never in code or inside links), and the reference scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "web/markdown.h"

static char *render(const char *md, const struct md_links *l)
{
	return markdown_render(md, strlen(md), l);
}

static const struct md_links repo_links = { .base = "", .owner = "alice", .repo = "proj" };

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("expected '%s' in:\n%s", (needle), (hay));                        \
	} while (0)
#define assert_lacks(hay, needle)                                                                  \
	do {                                                                                       \
		if (strstr((hay), (needle)))                                                       \
			fail_msg("did not expect '%s' in:\n%s", (needle), (hay));                  \
	} while (0)

static void test_basic(void **state)
{
	char *h = render("# Title\n\nSome *emphasis* and **strong**.\n", NULL);
	assert_contains(h, "<h1>Title</h1>");
	assert_contains(h, "<em>emphasis</em>");
	assert_contains(h, "<strong>strong</strong>");
	free(h);
	h = render("", NULL);
	assert_string_equal(h, "");
	free(h);
	h = markdown_render(NULL, 0, NULL);
	assert_string_equal(h, "");
	free(h);
}

static void test_table(void **state)
{
	char *h = render("| a | b |\n|---|:-:|\n| 1 | 2 |\n", NULL);
	assert_contains(h, "<table>");
	assert_contains(h, "<th>a</th>");
	assert_contains(h, "<td>1</td>");
	assert_contains(h, "<td align=\"center\">2</td>");
	free(h);
}

static void test_tasklist(void **state)
{
	char *h = render("- [ ] todo\n- [x] done\n", NULL);
	assert_contains(h, "type=\"checkbox\"");
	assert_contains(h, "checked");
	assert_contains(h, "disabled");
	free(h);
}

static void test_strikethrough_autolink(void **state)
{
	char *h = render("~~gone~~ and www.example.com and https://example.org/x\n", NULL);
	assert_contains(h, "<del>gone</del>");
	assert_contains(h, "<a href=\"http://www.example.com\">www.example.com</a>");
	assert_contains(h, "<a href=\"https://example.org/x\">https://example.org/x</a>");
	free(h);
}

static void test_code(void **state)
{
	char *h = render("```c\nint x = 1 < 2;\n```\n", NULL);
	assert_contains(h, "<pre lang=\"c\"><code>int x = 1 &lt; 2;");
	free(h);
}

static void test_raw_html_removed(void **state)
{
	const char *attacks[] = {
		"<script>alert(1)</script>\n",
		"hello <script>alert(1)</script> world\n",
		"<img src=x onerror=alert(1)>\n",
		"<iframe src=\"https://evil.example\"></iframe>\n",
		"<a href=\"javascript:alert(1)\">x</a>\n",
		"<div onmouseover=\"alert(1)\">hover</div>\n",
		"<svg/onload=alert(1)>\n",
		"<style>body{display:none}</style>\n",
	};
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		char *h = render(attacks[i], &repo_links);
		assert_lacks(h, "<script");
		assert_lacks(h, "<img");
		assert_lacks(h, "<iframe");
		assert_lacks(h, "<div");
		assert_lacks(h, "<svg");
		assert_lacks(h, "<style");
		assert_lacks(h, "<a href=\"javascript");
		free(h);
	}
}

static void test_dangerous_links(void **state)
{
	const char *attacks[] = {
		"[x](javascript:alert(1))\n",  "[x](JaVaScRiPt:alert(1))\n",
		"[x](vbscript:msgbox)\n",      "[x](data:text/html;base64,PHNjcmlwdD4=)\n",
		"[x](file:///etc/passwd)\n",   "<javascript:alert(1)>\n",
		"![x](javascript:alert(1))\n", "[x]: javascript:alert(1)\n\n[x]\n",
	};
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		char *h = render(attacks[i], NULL);
		if (strcasestr(h, "href=\"javascript") || strcasestr(h, "src=\"javascript") ||
		    strcasestr(h, "href=\"vbscript") || strcasestr(h, "href=\"data:") ||
		    strcasestr(h, "href=\"file:"))
			fail_msg("dangerous link survived %s: %s", attacks[i], h);
		free(h);
	}
	/* an ordinary link stays, with its attribute escaped */
	char *h = render("[x](https://example.com/?a=1&b=\"2\")\n", NULL);
	assert_contains(h, "href=\"https://example.com/?a=1&amp;b=%222%22\"");
	free(h);
}

static void test_text_escaped(void **state)
{
	char *h = render("a < b & \"c\" > d\n", NULL);
	assert_contains(h, "a &lt; b &amp; &quot;c&quot; &gt; d");
	free(h);
}

static void test_mention_links(void **state)
{
	char *h = render("thanks @bob and @carol_d.\n", &repo_links);
	assert_contains(h, "<a href=\"/bob\">@bob</a>");
	assert_contains(h, "<a href=\"/carol_d\">@carol_d</a>.");
	free(h);
	/* not in e-mail addresses */
	h = render("write to bob@example.com\n", &repo_links);
	assert_lacks(h, "href=\"/example.com\"");
	free(h);
	/* base URL */
	struct md_links l = repo_links;
	l.base = "https://forge.example";
	h = render("@bob #3\n", &l);
	assert_contains(h, "<a href=\"https://forge.example/bob\">@bob</a>");
	assert_contains(h, "<a href=\"https://forge.example/alice/proj/issues/3\">#3</a>");
	free(h);
}

static void test_issue_links(void **state)
{
	char *h = render("fixes #12, see #7!\n", &repo_links);
	assert_contains(h, "<a href=\"/alice/proj/issues/12\">#12</a>, see ");
	assert_contains(h, "<a href=\"/alice/proj/issues/7\">#7</a>!");
	free(h);
	/* not words, anchors or zero */
	h = render("abc#12 #12abc #0 &#35;\n", &repo_links);
	assert_lacks(h, "<a");
	free(h);
	/* no repository: #N stays text, mentions still link */
	struct md_links l = { 0 };
	h = render("#5 @bob\n", &l);
	assert_lacks(h, "issues/5");
	assert_contains(h, "<a href=\"/bob\">@bob</a>");
	free(h);
	/* no links at all */
	h = render("#5 @bob\n", NULL);
	assert_lacks(h, "<a");
	free(h);
}

static void test_refs_not_in_code(void **state)
{
	char *h = render("`@bob #1`\n\n```\n@carol #2\n```\n\n    @dave #3\n", &repo_links);
	assert_lacks(h, "<a");
	assert_contains(h, "<code>@bob #1</code>");
	free(h);
	/* nor inside existing links */
	h = render("[see @bob #4](https://example.com) and https://example.com/@bob\n", &repo_links);
	assert_lacks(h, "href=\"/bob\"");
	assert_lacks(h, "issues/4");
	free(h);
	/* but in emphasis, headings, lists and tables */
	h = render("# About #9\n\n*hi @bob*\n\n- @carol\n\n| x |\n|---|\n| @dave |\n", &repo_links);
	assert_contains(h, "<a href=\"/alice/proj/issues/9\">#9</a>");
	assert_contains(h, "<em>hi <a href=\"/bob\">@bob</a></em>");
	assert_contains(h, "<li><a href=\"/carol\">@carol</a></li>");
	assert_contains(h, "<td><a href=\"/dave\">@dave</a></td>");
	free(h);
	/* underscores are part of the name even though they are delimiters */
	h = render("@a_b_c\n", &repo_links);
	assert_contains(h, "<a href=\"/a_b_c\">@a_b_c</a>");
	free(h);
}

static bool only_bob(void *ctx, const char *name)
{
	(*(int *)ctx)++;
	return !strcasecmp(name, "bob");
}

static bool only_small(void *ctx, long long n)
{
	return n < 10;
}

static void test_existence_callbacks(void **state)
{
	int calls = 0;
	struct md_links l = repo_links;
	l.user_exists = only_bob;
	l.issue_exists = only_small;
	l.ctx = &calls;
	char *h = render("@bob @nobody @BOB @bob #3 #30\n", &l);
	assert_contains(h, "<a href=\"/bob\">@bob</a> @nobody <a href=\"/BOB\">@BOB</a>");
	assert_contains(h, "<a href=\"/alice/proj/issues/3\">#3</a> #30");
	assert_int_equal(calls, 2); /* once per distinct name */
	free(h);
}

static void resolve_some(void *ctx, const struct md_refs *refs, bool *user_ok, bool *issue_ok)
{
	(*(int *)ctx)++;
	for (size_t i = 0; i < refs->nmentions; i++)
		user_ok[i] = !strcasecmp(refs->mentions[i], "carol");
	for (size_t i = 0; i < refs->nissues; i++)
		issue_ok[i] = refs->issues[i] == 8;
}

static void test_batch_resolve(void **state)
{
	int calls = 0;
	struct md_links l = repo_links;
	l.resolve = resolve_some;
	l.user_exists = only_bob; /* ignored when resolve is set */
	l.ctx = &calls;
	char *h = render("@bob @carol #7 #8 @Carol\n", &l);
	assert_contains(h,
			"@bob <a href=\"/carol\">@carol</a> #7 <a href=\"/alice/proj/issues/8\">#8</a> "
			"<a href=\"/Carol\">@Carol</a>");
	assert_int_equal(calls, 1); /* once per body */
	free(h);
	/* no repository: issue references stay text whatever resolve says */
	l.owner = NULL;
	h = render("#8\n", &l);
	assert_lacks(h, "<a");
	free(h);
}

static void test_mention_xss(void **state)
{
	/* names are limited to safe characters, so nothing leaks into the href */
	char *h = render("@bob\"onmouseover=alert(1) @x<script>\n", &repo_links);
	assert_contains(h, "<a href=\"/bob\">@bob</a>&quot;onmouseover=alert(1)");
	assert_lacks(h, "<script");
	free(h);
}

static void test_refs_scan(void **state)
{
	struct md_refs r;
	const char *md = "@bob @Bob @carol. #3 #3 #12 `@dave #4` bob@example.com\n"
			 "```\n@erin #5\n```\n[@frank #6](https://x.example)\n";
	markdown_refs(md, strlen(md), &r);
	assert_int_equal(r.nmentions, 2);
	assert_string_equal(r.mentions[0], "bob");
	assert_string_equal(r.mentions[1], "carol");
	assert_int_equal(r.nissues, 2);
	assert_int_equal(r.issues[0], 3);
	assert_int_equal(r.issues[1], 12);
	md_refs_release(&r);
	assert_int_equal(r.nmentions, 0);
	md_refs_release(NULL);
}

static void test_refs_cap(void **state)
{
	char md[8192] = "";
	for (int i = 0; i < 80; i++) {
		char one[32];
		snprintf(one, sizeof(one), "@user%d #%d ", i, i + 1);
		strcat(md, one);
	}
	struct md_refs r;
	markdown_refs(md, strlen(md), &r);
	assert_int_equal(r.nmentions, MD_MAX_REFS);
	assert_int_equal(r.nissues, MD_MAX_REFS);
	md_refs_release(&r);
}

static void test_bidi_shown(void **state)
{
	char *h = render("a \xe2\x80\xae b [x\xe2\x81\xa6](https://e.example/\xe2\x80\xae) "
			 "`\xe2\x80\x8f`\n",
			 NULL);
	assert_lacks(h, "\xe2\x80\xae");
	assert_lacks(h, "\xe2\x81\xa6");
	assert_lacks(h, "\xe2\x80\x8f");
	assert_contains(h, "a <span class=\"bidi\">[U+202E]</span> b");
	assert_contains(h, "x<span class=\"bidi\">[U+2066]</span></a>");
	assert_contains(h, "<code><span class=\"bidi\">[U+200F]</span></code>");
	/* in an attribute no markup can be: the replacement character */
	assert_lacks(h, "href=\"https://e.example/<span");
	free(h);
}

static void test_invalid_utf8(void **state)
{
	const char bad[] = "caf\xc3 \xff\xfe ok\n";
	char *h = markdown_render(bad, sizeof(bad) - 1, NULL);
	assert_contains(h, "ok");
	assert_contains(h, "\xef\xbf\xbd"); /* U+FFFD */
	free(h);
}

static void test_pathological(void **state)
{
	/* deeply nested structures and long delimiter runs must finish */
	size_t n = 60000;
	char *md = malloc(n + 1);
	const char *patterns[] = { "[", "*a", "> ", "`", "|", "<a " };
	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		size_t k = strlen(patterns[p]), i = 0;
		while (i + k <= n) {
			memcpy(md + i, patterns[p], k);
			i += k;
		}
		md[i] = '\0';
		char *h = markdown_render(md, i, &repo_links);
		assert_non_null(h);
		free(h);
	}
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_tasklist),
		cmocka_unit_test(test_strikethrough_autolink),
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_raw_html_removed),
		cmocka_unit_test(test_dangerous_links),
		cmocka_unit_test(test_text_escaped),
		cmocka_unit_test(test_mention_links),
		cmocka_unit_test(test_issue_links),
		cmocka_unit_test(test_refs_not_in_code),
		cmocka_unit_test(test_existence_callbacks),
		cmocka_unit_test(test_batch_resolve),
		cmocka_unit_test(test_mention_xss),
		cmocka_unit_test(test_refs_scan),
		cmocka_unit_test(test_refs_cap),
		cmocka_unit_test(test_bidi_shown),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_pathological),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
