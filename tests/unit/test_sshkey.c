/* test_sshkey.c — the OpenSSH public key parser: keys made by ssh-keygen
 * with the fingerprints `ssh-keygen -lf` printed for them, and each way a
 * key can be malformed (wrong type, wrong curve, point off the curve, short
 * RSA modulus, truncated or trailing data, bad base64, private keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/sshkey.h"
#include "base/arena.h"
#include "base/buf.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWaf/xGfrxpc4faIt/xY6E7qh7oGeJW+z/TLbL+81Ct"
#define P256                                                                                       \
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBB/lrvJDNCqQ"     \
	"gyaKu47b+n6BLLiY9ZmByM+odO1Lo2H7PsXebR0oAa6kcaqS1JMfzkPYWCtg+aeeMTZMQTEAZ6U="
#define P384                                                                                       \
	"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBOpS/aDdtdjh"     \
	"TGSpUUzgZE+uQBu37I4iPlyA236JJPiEEA96l5OkiX3ZrxRi92CE/YTRgKBkOUHauV8Wu3zq2/xPad49IO4T"     \
	"Qz1rRZUAQMmn9mbePWn8bNMq0iFcu8p+2g=="
#define P521                                                                                       \
	"ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAFMgDhE85cA"     \
	"6QnUjgCJFj1S2AhI3w0DlsBNV1pdRRDTcS1alUJqK703qXUFeSWUz/uUM4oheWt7Ac1pv2IpWaL6dQEHc3cS"     \
	"leXKWq1qpCirqDn5BISn/5zzkvrLPTpx60lMC8K8U+eW5AVR7rVtcg+8VPElCSRo/W85dCV4Az/8rbF1uQ=="
#define RSA2048                                                                                    \
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCdCmqIvLD94cZn0fmEq0qwJHD8GCPneukQwSGpzSErrjZQ"     \
	"OBnFFODQ3hA7Lkk864qL/35NUe9LCJ02Re+C4zI5IbE2HAEPZunkAp3/90IWLW/E9dHZxBz57D7MOtxpRU63"     \
	"MV+hUYEIDSJfBZuPIMX3N65UR7UjyuZF/bF9J+DKlDeBLePcl6L+wbklbDYh96Atx2AwwKJPN632Hs9/8VTA"     \
	"Xi9DL/0rrKTL6bHdUJmETxmHmYqc0ZzyzBi8zTFpcRtFF64btnh4CKwll95o4YOY36xYGp34FPWTE6NewFVI"     \
	"HBXNQERqtUlhRSTgxiW3eNPTfLXfWEgLMIE6IagGIi1p"
#define RSA1024                                                                                    \
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCtF8yEKcaH2ui7Moa16Cbq2O/4DzUbBa2bbaaLZsB2ui63"     \
	"09oT7ueGveOnCpg2g/Pxc2a5dK5JXj9D75TBlkxR+iBDVsOhbJwkAt/1jjoxVOHHxqVFp0Td/S4GGsSDqPbU"     \
	"hQIbwRZ8x1WlVOdUG8n6bRZVIuQG+/1Ie4ObHraqIQ=="
#define DSA                                                                                        \
	"ssh-dss AAAAB3NzaC1kc3MAAACBAO1EPxghMR+fMglsuqllEUWg20vWDT/IOcXJWwwkwNx82KfrrX3x8v4X"     \
	"rb29voyvNXfma5MA7fgC3OitwDr05DRpTTWzwYqAT8sU3wGG1lef/avzRVl+H8x0QFrq5koewTphbFG6519L"

static struct arena *A;

static int setup(void **state)
{
	A = arena_new();
	return sodium_init() < 0;
}

static int teardown(void **state)
{
	arena_free(A);
	return 0;
}

/* Parses text and checks type, size and fingerprint. */
static void good(const char *text, const char *type, unsigned bits, const char *fp,
		 const char *comment)
{
	struct sshkey k;
	struct err e = { 0 };
	int rc = sshkey_parse(&k, A, text, &e);
	if (rc)
		fail_msg("rejected: %s", e.msg);
	assert_string_equal(k.type, type);
	assert_int_equal(k.bits, bits);
	assert_string_equal(k.fingerprint, fp);
	assert_string_equal(k.comment, comment);
}

/* Parses text and expects ERR_INVALID with msg_part in the message. */
static void bad(const char *text, const char *msg_part)
{
	struct sshkey k;
	struct err e = { 0 };
	assert_int_equal(sshkey_parse(&k, A, text, &e), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_key");
	if (!strstr(e.msg, msg_part))
		fail_msg("message '%s' lacks '%s'", e.msg, msg_part);
}

static void test_fingerprints_match_ssh_keygen(void **state)
{
	good(ED25519 " test-ed25519-0@plue", "ssh-ed25519", 256,
	     "SHA256:1eDOONT2oMkSabiZAClStCicwBGUXkW57d8kBCoNrmE", "test-ed25519-0@plue");
	good(P256, "ecdsa-sha2-nistp256", 256, "SHA256:3regai5ei8bMPEitd0+2k6/PcGbqwWA4RnyWKfjVOZ4",
	     "");
	good(P384 " a comment with spaces", "ecdsa-sha2-nistp384", 384,
	     "SHA256:u8guRNmje/xxGWOLggGTim0tewA41LCNTsmlCrhqke4", "a comment with spaces");
	good(P521, "ecdsa-sha2-nistp521", 521, "SHA256:Qa8GaMq8X9kFCwqEqA50CVnzHra7peGQUPi8t36au/o",
	     "");
	good(RSA2048 " me@host", "ssh-rsa", 2048,
	     "SHA256:dRWXsXP7qhOFJLL8zBKo+lwcQYmYvBys8gRv7fsuSrI", "me@host");
}

static void test_whitespace_and_canonical_form(void **state)
{
	struct sshkey k;
	struct err e = { 0 };
	assert_int_equal(sshkey_parse(&k, A, "  " ED25519 "\tcomment  \n", &e), 0);
	assert_string_equal(k.public_key, ED25519);
	assert_string_equal(k.comment, "comment");
}

/* Base64 of a blob built from length-prefixed strings. */
static const char *line(const char *type, const unsigned char *blob, size_t len)
{
	char *b64 = arena_alloc(A, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL));
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), blob,
			  len, sodium_base64_VARIANT_ORIGINAL);
	return arena_printf(A, "%s %s", type, b64);
}

static void put_string(struct buf *b, const void *s, size_t len)
{
	unsigned char l[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
			       (unsigned char)(len >> 8), (unsigned char)len };
	buf_add(b, l, 4);
	buf_add(b, s, len);
}

/* The decoded blob of a key line. */
static size_t blob_of(const char *text, unsigned char *out, size_t cap)
{
	const char *b64 = strchr(text, ' ') + 1;
	size_t len = 0;
	assert_int_equal(sodium_base642bin(out, cap, b64, strcspn(b64, " "), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	return len;
}

static void test_point_off_curve(void **state)
{
	unsigned char blob[512];
	size_t len = blob_of(P256, blob, sizeof(blob));
	blob[len - 1] ^= 0x01; /* the point's last y byte */
	bad(line("ecdsa-sha2-nistp256", blob, len), "not on curve nistp256");

	len = blob_of(P521, blob, sizeof(blob));
	blob[len - 5] ^= 0x40;
	bad(line("ecdsa-sha2-nistp521", blob, len), "not on curve nistp521");
}

static void test_curve_mismatch(void **state)
{
	unsigned char blob[512];
	size_t len = blob_of(P384, blob, sizeof(blob));
	/* a nistp384 key under the nistp256 type: the type string changes */
	struct buf b = BUF_INIT;
	put_string(&b, "ecdsa-sha2-nistp256", 19);
	buf_add(&b, blob + 4 + 19, len - 4 - 19);
	bad(line("ecdsa-sha2-nistp256", (unsigned char *)b.ptr, b.len),
	    "curve 'nistp384' does not match key type 'ecdsa-sha2-nistp256'");
	buf_release(&b);
}

static void test_compressed_or_infinite_point(void **state)
{
	unsigned char pt[33] = { 0x02 };
	struct buf b = BUF_INIT;
	put_string(&b, "ecdsa-sha2-nistp256", 19);
	put_string(&b, "nistp256", 8);
	put_string(&b, pt, sizeof(pt));
	bad(line("ecdsa-sha2-nistp256", (unsigned char *)b.ptr, b.len), "not an uncompressed");
	buf_reset(&b);
	unsigned char inf[1] = { 0 };
	put_string(&b, "ecdsa-sha2-nistp256", 19);
	put_string(&b, "nistp256", 8);
	put_string(&b, inf, 1);
	bad(line("ecdsa-sha2-nistp256", (unsigned char *)b.ptr, b.len), "not an uncompressed");
	buf_release(&b);
}

static void test_type_mismatch(void **state)
{
	unsigned char blob[512];
	size_t len = blob_of(ED25519, blob, sizeof(blob));
	bad(line("ssh-rsa", blob, len), "does not match the key data's type");
}

static void test_ed25519_lengths(void **state)
{
	unsigned char pk[33] = { 1 };
	struct buf b = BUF_INIT;
	put_string(&b, "ssh-ed25519", 11);
	put_string(&b, pk, 31);
	bad(line("ssh-ed25519", (unsigned char *)b.ptr, b.len), "must be 32 bytes, not 31");
	buf_reset(&b);
	put_string(&b, "ssh-ed25519", 11);
	put_string(&b, pk, 32);
	buf_addch(&b, 0);
	bad(line("ssh-ed25519", (unsigned char *)b.ptr, b.len), "trailing bytes");
	buf_reset(&b);
	put_string(&b, "ssh-ed25519", 11);
	buf_add(&b, "\0\0\0\x20xx", 6); /* says 32 bytes, holds 2 */
	bad(line("ssh-ed25519", (unsigned char *)b.ptr, b.len), "truncated");
	buf_release(&b);
}

static void test_rsa_rules(void **state)
{
	bad(RSA1024, "rsa key has 1024 bits; at least 2048 are required");
	unsigned char blob[1024];
	size_t len = blob_of(RSA2048, blob, sizeof(blob));
	/* an even public exponent */
	unsigned char even[1024];
	memcpy(even, blob, len);
	even[4 + 7 + 4 + 2] = 0x00; /* e = 0x010001 → 0x010000 */
	bad(line("ssh-rsa", even, len), "exponent is invalid");
	/* a negative modulus: drop the mpint's leading zero byte */
	struct buf b = BUF_INIT;
	put_string(&b, "ssh-rsa", 7);
	put_string(&b, "\x01\x00\x01", 3);
	size_t nlen = len - (4 + 7 + 4 + 3 + 4);
	put_string(&b, blob + len - nlen + 1, nlen - 1);
	bad(line("ssh-rsa", (unsigned char *)b.ptr, b.len), "modulus is invalid");
	buf_release(&b);
}

static void test_malformed_text(void **state)
{
	bad("", "key is empty");
	bad("   \n", "key is empty");
	bad("ssh-ed25519", "'TYPE BASE64 [COMMENT]'");
	bad("ssh-ed25519 !!!notbase64", "not valid base64");
	bad("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWaf/xGfrxpc4faIt/xY6E7qh7oGeJW+z/TLbL+81C",
	    "not valid base64");
	bad(DSA, "unsupported key type 'ssh-dss'");
	bad("sk-ssh-ed25519@openssh.com AAAA", "unsupported key type");
	bad("no-pty " ED25519, "unsupported key type 'no-pty'");
	bad("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n", "private key");
	bad(ED25519 "\n" P256, "single line");
	bad("ssh-ed25519 AAAA", "truncated");
	char big[SSHKEY_MAX_LEN + 10];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad(big, "longer than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprints_match_ssh_keygen),
		cmocka_unit_test(test_whitespace_and_canonical_form),
		cmocka_unit_test(test_point_off_curve),
		cmocka_unit_test(test_curve_mismatch),
		cmocka_unit_test(test_compressed_or_infinite_point),
		cmocka_unit_test(test_type_mismatch),
		cmocka_unit_test(test_ed25519_lengths),
		cmocka_unit_test(test_rsa_rules),
		cmocka_unit_test(test_malformed_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
