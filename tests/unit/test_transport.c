/* test_transport.c — the ref-update commands read from the first pkt-lines
 * a client sends to receive-pack (src/git/transport.c): whatever the split,
 * up to the flush, the pack after it ignored, malformed lines skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "git/transport.h"

#define A40 "1111111111111111111111111111111111111111"
#define B40 "2222222222222222222222222222222222222222"

/* One pkt-line: four hex digits of length, then s. */
static void pkt(struct buf *b, const char *s, size_t n)
{
	buf_addf(b, "%04zx", n + 4);
	buf_add(b, s, n);
}

static void pkts(struct buf *b, const char *s)
{
	pkt(b, s, strlen(s));
}

/* The commands of a push of n refs, then the flush and the start of a
 * pack. */
static void push_of(struct buf *b, int n)
{
	for (int i = 0; i < n; i++) {
		char line[128];
		int len = snprintf(line, sizeof(line), "%s %s refs/heads/b%d\n", A40, B40, i);
		pkt(b, line, (size_t)len);
	}
	buf_adds(b, "0000PACK");
}

static void test_any_split(void **state)
{
	(void)state;
	struct buf in = BUF_INIT;
	pkts(&in, "shallow " A40 "\n");
	char first[128];
	int n = snprintf(first, sizeof(first), "%s %s refs/heads/main", SHA1_ZERO, B40);
	memcpy(first + n, "\0report-status\n", 16);
	pkt(&in, first, (size_t)n + 15);
	pkts(&in, B40 " " SHA1_ZERO " refs/tags/v1\n");
	pkts(&in, "not a command at all, but long enough to look like one if unchecked....\n");
	pkts(&in, "zz" A40 " refs/heads/bad-old-sha-of-the-right-length-and-shape......\n");
	buf_adds(&in, "0000PACK0034" A40 " " B40 " refs/heads/after-the-flush\n");
	for (size_t step = 1; step <= in.len; step++) {
		struct git_push_cmds p;
		git_push_cmds_init(&p);
		for (size_t off = 0; off < in.len; off += step)
			git_push_cmds_feed(&p, in.ptr + off,
					   off + step <= in.len ? step : in.len - off);
		assert_true(p.done);
		assert_int_equal(p.n, 2);
		assert_string_equal(p.cmds[0].old_sha, SHA1_ZERO);
		assert_string_equal(p.cmds[0].new_sha, B40);
		assert_string_equal(p.cmds[0].ref, "refs/heads/main");
		assert_string_equal(p.cmds[1].old_sha, B40);
		assert_string_equal(p.cmds[1].new_sha, SHA1_ZERO);
		assert_string_equal(p.cmds[1].ref, "refs/tags/v1");
		git_push_cmds_release(&p);
	}
	buf_release(&in);
}

static void test_many(void **state)
{
	(void)state;
	/* every command kept, in order, however many the list grows to */
	struct buf in = BUF_INIT;
	push_of(&in, 1000);
	struct git_push_cmds p;
	git_push_cmds_init(&p);
	git_push_cmds_feed(&p, in.ptr, in.len);
	assert_true(p.done);
	assert_int_equal(p.n, 1000);
	assert_string_equal(p.cmds[0].ref, "refs/heads/b0");
	assert_string_equal(p.cmds[999].ref, "refs/heads/b999");
	git_push_cmds_release(&p);
	assert_int_equal(p.n, 0);
	buf_release(&in);

	/* at most 4096 are kept */
	push_of(&in, 5000);
	git_push_cmds_init(&p);
	git_push_cmds_feed(&p, in.ptr, in.len);
	assert_true(p.done);
	assert_int_equal(p.n, 4096);
	assert_string_equal(p.cmds[4095].ref, "refs/heads/b4095");
	git_push_cmds_release(&p);
	buf_release(&in);
}

static void test_not_pkt_lines(void **state)
{
	(void)state;
	/* what is not a pkt-line ends the list: receive-pack complains */
	static const char *const inputs[] = { "zzzz", "0003", "PACK\0\0\0\2" };
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct git_push_cmds p;
		git_push_cmds_init(&p);
		git_push_cmds_feed(&p, inputs[i], 4);
		assert_true(p.done);
		assert_int_equal(p.n, 0);
		git_push_cmds_release(&p);
	}
	/* an unfinished list waits for more */
	struct git_push_cmds p;
	git_push_cmds_init(&p);
	git_push_cmds_feed(&p, "0068" A40, 44);
	assert_false(p.done);
	assert_int_equal(p.n, 0);
	git_push_cmds_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_split),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_not_pkt_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
