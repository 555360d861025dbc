/* test_keccak.c — Keccak-256 known-answer vectors: the empty string, short
 * input, and lengths around the 136-byte rate (one, two and three blocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/keccak.h"
#include "base/util.h"

static void check(const void *data, size_t len, const char *want_hex)
{
	unsigned char h[32];
	char hex[65];

	keccak256(h, data, len);
	hex_encode(hex, h, 32);
	assert_string_equal(hex, want_hex);
}

static void check_repeat(char c, size_t n, const char *want_hex)
{
	char buf[512];

	assert_true(n <= sizeof(buf));
	memset(buf, c, n);
	check(buf, n, want_hex);
}

static void test_empty(void **state)
{
	check("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	check(NULL, 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
}

static void test_abc(void **state)
{
	check("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

/* Not SHA3-256: that would give a7ffc6f8bf1ed766... for the empty string. */
static void test_not_sha3(void **state)
{
	unsigned char h[32];
	char hex[65];

	keccak256(h, "", 0);
	hex_encode(hex, h, 32);
	assert_string_not_equal(hex,
				"a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

/* 135 bytes: both padding bits land in the block's last byte (0x81). */
static void test_rate_minus_one(void **state)
{
	check_repeat('a', 135, "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
}

/* 136 bytes: a full block, then a block holding only padding. */
static void test_rate(void **state)
{
	check_repeat('a', 136, "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
}

static void test_rate_plus_one(void **state)
{
	check_repeat('a', 137, "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
}

static void test_two_hundred_bytes(void **state)
{
	unsigned char buf[200];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	check(buf, sizeof(buf), "bfb0aa97863e797943cf7c33bb7e880bb4543f3d2703c0923c6901c2af57b890");
}

static void test_two_full_blocks(void **state)
{
	check_repeat('a', 272, "cf7fcd4f705ee749930d19ca84561a9bf62516bd90a471545fa2f49fdc7e63c8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_abc),
		cmocka_unit_test(test_not_sha3),
		cmocka_unit_test(test_rate_minus_one),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_rate_plus_one),
		cmocka_unit_test(test_two_hundred_bytes),
		cmocka_unit_test(test_two_full_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
