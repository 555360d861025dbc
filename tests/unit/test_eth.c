/* test_eth.c — EIP-55 checksums (the EIP's own vectors), address parsing,
 * and personal_sign recovery of signatures made once with ethers v6 from a
 * fixed private key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/eth.h"
#include "base/util.h"

/* The wallet of private key 0x4c0883a6...3f362318. */
#define SIGNER "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
/* ethers: wallet.signMessage("hello plue") — v = 28. */
#define SIG_HELLO                                                                                  \
	"0x99d8e86b0a9d138d2981247ad819f242f9edcf03b2241d155eefcaafeb492ae6"                       \
	"36784ec0dee37d01d5633cced25f36d2c5eb3fb558cb341335c3497cd8c0bba7"                         \
	"1c"
/* ethers: wallet.signMessage("") — v = 27. */
#define SIG_EMPTY                                                                                  \
	"0x8a68b4e66cd2b575338e16069d7b65f6f67c7ceae8945dccf8cb7bdb06278d93"                       \
	"3dd9c888f3444ca4698464079a067ad3cfffe96d493b8ecf56885169d0fdfe7d"                         \
	"1b"
/* SIG_HELLO with s replaced by n - s and v flipped: the malleable twin,
 * which recovers the same key but is not canonical (EIP-2). */
#define SIG_HELLO_HIGH_S                                                                           \
	"0x99d8e86b0a9d138d2981247ad819f242f9edcf03b2241d155eefcaafeb492ae6"                       \
	"c987b13f211c82fe2a9cc3312da0c92bf4c39d31567d6c288a0f150ff775859a"                         \
	"1b"
/* Another key (0x0123...cdef) signing "hello plue". */
#define OTHER_SIGNER "0xFCAd0B19bB29D4674531d6f115237E16AfCE377c"
#define SIG_OTHER                                                                                  \
	"0xaaa2acc0a5e080e3d287460674058aab811026cfe1348874aab2ef06d8f18357"                       \
	"6daaa69e5d81871f8eee65ee735f644d9b41c47278906ce3ccb6455ffe985fff"                         \
	"1c"

static const char *eip55_vectors[] = {
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	/* all caps and all lower, from the EIP's list */
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
};

static void test_checksum_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(eip55_vectors) / sizeof(*eip55_vectors); i++) {
		const char *v = eip55_vectors[i];
		unsigned char addr[20];
		char out[43];
		struct err e = { 0 };

		assert_int_equal(hex_decode(addr, v + 2, 20), 0);
		eth_address_checksum(out, addr);
		assert_string_equal(out, v);
		assert_int_equal(eth_address_parse(addr, v, true, &e), 0);
	}
}

static void expect_bad_address(const char *s, bool require_checksum)
{
	unsigned char addr[20];
	struct err e = { 0 };

	assert_int_equal(eth_address_parse(addr, s, require_checksum, &e), ERR_AUTH);
	assert_string_equal(e.slug, "siwe_bad_address");
	assert_non_null(strstr(e.msg, "address"));
}

static void test_parse_rejects_bad_checksums(void **state)
{
	/* one letter's case flipped */
	expect_bad_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", true);
	expect_bad_address("0xfb6916095ca1df60bB79Ce92cE3Ea74c37c5d359", true);
	/* all-lowercase and all-uppercase forms of a mixed-case address */
	expect_bad_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", true);
	expect_bad_address("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", true);
}

static void test_parse_without_checksum(void **state)
{
	unsigned char a[20], b[20];
	struct err e = { 0 };

	assert_int_equal(eth_address_parse(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", false,
					   &e),
			 0);
	assert_int_equal(eth_address_parse(b, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", false,
					   &e),
			 0);
	assert_memory_equal(a, b, 20);
	assert_int_equal(a[0], 0x5a);
	assert_int_equal(a[19], 0xed);
}

static void test_parse_rejects_malformed(void **state)
{
	expect_bad_address("", false);
	expect_bad_address("0x", false);
	expect_bad_address("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", false);
	expect_bad_address("0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", false);
	expect_bad_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", false);
	expect_bad_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0", false);
	expect_bad_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", false);
	expect_bad_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA d", false);
}

static void expect_signer(const char *msg, const char *sig, const char *want)
{
	unsigned char addr[20];
	char got[43];
	struct err e = { 0 };

	assert_int_equal(eth_personal_recover(addr, msg, strlen(msg), sig, &e), 0);
	eth_address_checksum(got, addr);
	assert_string_equal(got, want);
}

static void expect_bad_signature(const char *msg, const char *sig, const char *msg_part)
{
	unsigned char addr[20];
	struct err e = { 0 };

	assert_int_equal(eth_personal_recover(addr, msg, strlen(msg), sig, &e), ERR_AUTH);
	assert_string_equal(e.slug, "siwe_bad_signature");
	assert_non_null(strstr(e.msg, msg_part));
}

static void test_recover_v27_v28(void **state)
{
	expect_signer("hello plue", SIG_HELLO, SIGNER); /* v = 28 */
	expect_signer("", SIG_EMPTY, SIGNER);           /* v = 27 */
	expect_signer("hello plue", SIG_OTHER, OTHER_SIGNER);
}

/* Some wallets and hardware signers give v as the bare recovery id. */
static void test_recover_v0_v1(void **state)
{
	char sig[133];

	strcpy(sig, SIG_HELLO);
	memcpy(sig + 130, "01", 2);
	expect_signer("hello plue", sig, SIGNER);
	strcpy(sig, SIG_EMPTY);
	memcpy(sig + 130, "00", 2);
	expect_signer("", sig, SIGNER);
}

static void test_recover_wrong_message(void **state)
{
	unsigned char addr[20];
	char got[43];
	struct err e = { 0 };

	/* A valid signature over other bytes recovers some other key. */
	assert_int_equal(eth_personal_recover(addr, "hello plue!", 11, SIG_HELLO, &e), 0);
	eth_address_checksum(got, addr);
	assert_string_not_equal(got, SIGNER);
}

static void test_recover_flipped_byte(void **state)
{
	char sig[133];
	unsigned char addr[20];
	char got[43];

	/* Flip a bit in r, then in s: either nothing can be recovered or a
	 * different address comes out; never the signer. */
	for (size_t pos = 2; pos < 130; pos += 7) {
		struct err e = { 0 };
		strcpy(sig, SIG_HELLO);
		sig[pos] = sig[pos] == '0' ? '1' : '0';
		int rc = eth_personal_recover(addr, "hello plue", 10, sig, &e);
		if (rc == 0) {
			eth_address_checksum(got, addr);
			assert_string_not_equal(got, SIGNER);
		} else {
			assert_int_equal(rc, ERR_AUTH);
			assert_string_equal(e.slug, "siwe_bad_signature");
		}
	}
}

static void test_recover_rejects_malformed(void **state)
{
	char sig[140];

	/* truncated by one byte, and by one digit */
	snprintf(sig, sizeof(sig), "%.130s", SIG_HELLO);
	expect_bad_signature("hello plue", sig, "expected 130");
	snprintf(sig, sizeof(sig), "%.131s", SIG_HELLO);
	expect_bad_signature("hello plue", sig, "expected 130");
	/* one byte too many */
	snprintf(sig, sizeof(sig), "%s00", SIG_HELLO);
	expect_bad_signature("hello plue", sig, "expected 130");
	expect_bad_signature("hello plue", "", "0x");
	expect_bad_signature("hello plue", "0x", "expected 130");
	expect_bad_signature("hello plue", SIG_HELLO + 2, "0x");
	/* not hex */
	strcpy(sig, SIG_HELLO);
	sig[40] = 'z';
	expect_bad_signature("hello plue", sig, "hexadecimal");
	/* v outside {0, 1, 27, 28} */
	strcpy(sig, SIG_HELLO);
	memcpy(sig + 130, "1d", 2);
	expect_bad_signature("hello plue", sig, "v=29");
	memcpy(sig + 130, "25", 2); /* EIP-155 style 37 */
	expect_bad_signature("hello plue", sig, "v=37");
	/* r = 0 and s = 0 */
	snprintf(sig, sizeof(sig), "0x%0128d1b", 0);
	expect_bad_signature("hello plue", sig, "signature");
	/* s >= n */
	snprintf(sig, sizeof(sig), "0x%.64s%s1b", SIG_HELLO + 2,
		 "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
	expect_bad_signature("hello plue", sig, "out of range");
}

static void test_recover_rejects_high_s(void **state)
{
	expect_bad_signature("hello plue", SIG_HELLO_HIGH_S, "lower half");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_vectors),
		cmocka_unit_test(test_parse_rejects_bad_checksums),
		cmocka_unit_test(test_parse_without_checksum),
		cmocka_unit_test(test_parse_rejects_malformed),
		cmocka_unit_test(test_recover_v27_v28),
		cmocka_unit_test(test_recover_v0_v1),
		cmocka_unit_test(test_recover_wrong_message),
		cmocka_unit_test(test_recover_flipped_byte),
		cmocka_unit_test(test_recover_rejects_malformed),
		cmocka_unit_test(test_recover_rejects_high_s),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
