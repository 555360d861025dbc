/* test_siwe.c — the EIP-4361 parser (accepted forms, every class of
 * malformed input with its slug), siwe_check, and one message built and
 * signed by the `siwe` and `ethers` npm packages verified end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/eth.h"
#include "auth/siwe.h"
#include "base/arena.h"

#define ADDR "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
#define HEADER "localhost:4000 wants you to sign in with your Ethereum account:\n" ADDR "\n\n"
#define FIELDS                                                                                     \
	"URI: http://localhost:4000/login\n"                                                       \
	"Version: 1\n"                                                                             \
	"Chain ID: 1\n"                                                                            \
	"Nonce: abcdef0123456789\n"                                                                \
	"Issued At: 2024-05-01T12:00:00.000Z"

/* 2024-05-01T12:00:00Z */
#define T0 1714564800

/* Made by `new SiweMessage({...}).prepareMessage()` (siwe 3.0.0) and
 * signed with ethers 6 `wallet.signMessage` by the key whose address is
 * ADDR. */
static const char ethers_msg[] =
	"localhost:4000 wants you to sign in with your Ethereum account:\n"
	"0x2c7536E3605D9C16a7a3D7b1898e529396a65c23\n\nSign in to Plue.\n\n"
	"URI: http://localhost:4000\nVersion: 1\nChain ID: 137\nNonce: Xk3vQ9pLm2Rt7WzA\n"
	"Issued At: 2024-05-01T12:00:00.000Z\nExpiration Time: 2024-05-01T12:10:00.000Z\n"
	"Resources:\n- https://localhost:4000/terms";
static const char ethers_sig[] = "0x92e96ff2a010c78694cbf77578f9e16ca905e3448f2a25f3272a0270d7606db2"
				 "096df7ae037baa2b4b314d8c978f2a32b19763c7bd0827104260175b6cd6275d1c";

static struct arena *arena;

static int setup(void **state)
{
	arena = arena_new();
	return 0;
}

static int teardown(void **state)
{
	arena_free(arena);
	return 0;
}

static void parse_ok(struct siwe_msg *m, const char *text)
{
	struct err e = { 0 };
	int rc = siwe_parse(m, arena, text, strlen(text), &e);
	if (rc != 0)
		fail_msg("siwe_parse failed: %s: %s", e.slug, e.msg);
}

/* Parsing text fails with ERR_INVALID, slug, and a message containing
 * msg_part. */
static void parse_bad_n(const char *text, size_t len, const char *slug, const char *msg_part)
{
	struct siwe_msg m;
	struct err e = { 0 };

	assert_int_equal(siwe_parse(&m, arena, text, len, &e), ERR_INVALID);
	assert_string_equal(e.slug, slug);
	if (!strstr(e.msg, msg_part))
		fail_msg("message '%s' lacks '%s'", e.msg, msg_part);
	assert_null(m.domain);
}

static void parse_bad(const char *text, const char *slug, const char *msg_part)
{
	parse_bad_n(text, strlen(text), slug, msg_part);
}

/* ---- accepted messages ---- */

static void test_minimal(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, HEADER "\n" FIELDS);
	assert_null(m.scheme);
	assert_string_equal(m.domain, "localhost:4000");
	assert_string_equal(m.address, ADDR);
	assert_null(m.statement);
	assert_string_equal(m.uri, "http://localhost:4000/login");
	assert_string_equal(m.version, "1");
	assert_int_equal(m.chain_id, 1);
	assert_string_equal(m.nonce, "abcdef0123456789");
	assert_string_equal(m.issued_at, "2024-05-01T12:00:00.000Z");
	assert_int_equal(m.issued_at_unix, T0);
	assert_null(m.expiration_time);
	assert_int_equal(m.expiration_unix, 0);
	assert_null(m.not_before);
	assert_null(m.request_id);
	assert_int_equal(m.nresources, 0);
}

static void test_statement(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, HEADER "I accept the Terms of Service: https://x.org/tos (v2) #1!\n\n" FIELDS);
	assert_string_equal(m.statement, "I accept the Terms of Service: https://x.org/tos (v2) #1!");
	assert_string_equal(m.nonce, "abcdef0123456789");
}

/* siwe writes statement "" as an empty line between the two blank ones. */
static void test_empty_statement(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, HEADER "\n\n" FIELDS);
	assert_non_null(m.statement);
	assert_string_equal(m.statement, "");
}

static void test_all_optional_fields(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, "https://localhost:4000 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\nSign in.\n\n" FIELDS "\n"
		     "Expiration Time: 2024-05-01T12:10:00Z\n"
		     "Not Before: 2024-05-01T13:00:00+02:00\n"
		     "Request ID: req-1:a@b%20c\n"
		     "Resources:\n"
		     "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
		     "- https://example.com/my-web2-claim.json?x=1#frag\n"
		     "- urn:isbn:0451450523");
	assert_string_equal(m.scheme, "https");
	assert_string_equal(m.domain, "localhost:4000");
	assert_string_equal(m.statement, "Sign in.");
	assert_string_equal(m.expiration_time, "2024-05-01T12:10:00Z");
	assert_int_equal(m.expiration_unix, T0 + 600);
	assert_string_equal(m.not_before, "2024-05-01T13:00:00+02:00");
	assert_int_equal(m.not_before_unix, T0 - 3600);
	assert_string_equal(m.request_id, "req-1:a@b%20c");
	assert_int_equal(m.nresources, 3);
	assert_string_equal(m.resources[0],
			    "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/");
	assert_string_equal(m.resources[1], "https://example.com/my-web2-claim.json?x=1#frag");
	assert_string_equal(m.resources[2], "urn:isbn:0451450523");
}

/* Each optional field on its own, and an empty resource list. */
static void test_optional_fields_alone(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, HEADER "\n" FIELDS "\nNot Before: 2024-05-01T12:00:00Z");
	assert_null(m.expiration_time);
	assert_int_equal(m.not_before_unix, T0);
	parse_ok(&m, HEADER "\n" FIELDS "\nRequest ID: ");
	assert_string_equal(m.request_id, "");
	parse_ok(&m, HEADER "\n" FIELDS "\nResources:");
	assert_int_equal(m.nresources, 0);
	parse_ok(&m, HEADER "\n" FIELDS "\nExpiration Time: 2024-05-01T12:10:00Z\nResources:\n"
			    "- https://a.example/");
	assert_int_equal(m.nresources, 1);
	assert_int_equal(m.expiration_unix, T0 + 600);
}

static void test_domains_and_uris(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, "user:pw@[::1]:8080 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\n\nURI: https://[2001:db8::7]/a/b?c=d\nVersion: 1\nChain ID: 10\n"
		     "Nonce: 12345678\nIssued At: 2024-05-01T12:00:00Z");
	assert_string_equal(m.domain, "user:pw@[::1]:8080");
	assert_string_equal(m.uri, "https://[2001:db8::7]/a/b?c=d");
	parse_ok(&m, "127.0.0.1 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\n\nURI: did:pkh:eip155:1:" ADDR "\nVersion: 1\nChain ID: 10\n"
		     "Nonce: 12345678\nIssued At: 2024-05-01T12:00:00Z");
	assert_string_equal(m.domain, "127.0.0.1");
	assert_string_equal(m.uri, "did:pkh:eip155:1:" ADDR);
}

static void test_datetimes(void **state)
{
	static const struct {
		const char *dt;
		int64_t unix_time;
	} cases[] = {
		{ "2024-05-01T12:00:00Z", T0 },         { "2024-05-01T12:00:00.999999999Z", T0 },
		{ "2024-05-01t12:00:00z", T0 },         { "2024-05-01T14:30:00+02:30", T0 },
		{ "2024-05-01T07:00:00-05:00", T0 },    { "2000-02-29T23:59:59Z", 951868799 },
		{ "1969-12-31T23:59:59Z", -1 },         { "1970-01-01T00:00:00Z", 0 },
		{ "2016-12-31T23:59:60Z", 1483228800 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char text[512];
		struct siwe_msg m;
		snprintf(text, sizeof(text),
			 HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nNonce: 12345678\n"
				"Issued At: %s",
			 cases[i].dt);
		parse_ok(&m, text);
		assert_int_equal(m.issued_at_unix, cases[i].unix_time);
	}
}

static void test_large_chain_id(void **state)
{
	struct siwe_msg m;

	parse_ok(&m, HEADER "\nURI: http://a\nVersion: 1\nChain ID: 9223372036854775807\n"
			    "Nonce: 12345678\nIssued At: 2024-05-01T12:00:00Z");
	assert_true(m.chain_id == INT64_MAX);
}

/* Not NUL-terminated: the parser stops at len. */
static void test_length_delimited(void **state)
{
	const char text[] = HEADER "\n" FIELDS "GARBAGE";
	struct siwe_msg m;
	struct err e = { 0 };

	assert_int_equal(siwe_parse(&m, arena, text, strlen(text) - 7, &e), 0);
	assert_string_equal(m.issued_at, "2024-05-01T12:00:00.000Z");
}

/* ---- malformed messages ---- */

static void test_bad_header(void **state)
{
	parse_bad("", "siwe_malformed", "empty");
	parse_bad("localhost wants you to sign in with your ethereum account:\n" ADDR
		  "\n\n\n" FIELDS,
		  "siwe_malformed", "line 1");
	parse_bad(" wants you to sign in with your Ethereum account:\n" ADDR "\n\n\n" FIELDS,
		  "siwe_malformed", "domain");
	parse_bad("local host wants you to sign in with your Ethereum account:\n" ADDR
		  "\n\n\n" FIELDS,
		  "siwe_malformed", "domain");
	parse_bad("localhost:80a wants you to sign in with your Ethereum account:\n" ADDR
		  "\n\n\n" FIELDS,
		  "siwe_malformed", "domain");
	parse_bad("[::zz] wants you to sign in with your Ethereum account:\n" ADDR "\n\n\n" FIELDS,
		  "siwe_malformed", "domain");
	parse_bad("1http://localhost wants you to sign in with your Ethereum account:\n" ADDR
		  "\n\n\n" FIELDS,
		  "siwe_malformed", "scheme");
	parse_bad("localhost/path wants you to sign in with your Ethereum account:\n" ADDR
		  "\n\n\n" FIELDS,
		  "siwe_malformed", "domain");
}

static void test_bad_address(void **state)
{
	parse_bad("a wants you to sign in with your Ethereum account:\n"
		  "0x2c7536E3605D9C16a7a3D7b1898e529396a65c2\n\n\n" FIELDS,
		  "siwe_malformed", "line 2: address");
	parse_bad("a wants you to sign in with your Ethereum account:\n"
		  "0x2c7536E3605D9C16a7a3D7b1898e529396a65c2g\n\n\n" FIELDS,
		  "siwe_malformed", "line 2: address");
	parse_bad("a wants you to sign in with your Ethereum account:\n"
		  "2c7536E3605D9C16a7a3D7b1898e529396a65c2300\n\n\n" FIELDS,
		  "siwe_malformed", "line 2: address");
	parse_bad("a wants you to sign in with your Ethereum account:", "siwe_malformed",
		  "ends before the address");
}

static void test_missing_lines(void **state)
{
	/* no blank line after the address */
	parse_bad("a wants you to sign in with your Ethereum account:\n" ADDR "\n" FIELDS,
		  "siwe_malformed", "line 3: expected an empty line after the address");
	/* a statement without the blank line after it */
	parse_bad(HEADER "Hello\n" FIELDS, "siwe_malformed",
		  "line 5: expected an empty line after the statement");
	parse_bad(HEADER
		  "\nVersion: 1\nChain ID: 1\nNonce: 12345678\nIssued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 5: expected 'URI: '");
	parse_bad(HEADER
		  "\nURI: http://a\nChain ID: 1\nNonce: 12345678\nIssued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 6: expected 'Version: '");
	parse_bad(HEADER
		  "\nURI: http://a\nVersion: 1\nNonce: 12345678\nIssued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 7: expected 'Chain ID: '");
	parse_bad(HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nIssued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 8: expected 'Nonce: '");
	parse_bad(HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nNonce: 12345678",
		  "siwe_malformed", "ends before the 'Issued At' line");
	parse_bad(HEADER, "siwe_malformed", "ends before the 'URI' line");
}

static void test_wrong_order(void **state)
{
	parse_bad(HEADER "\nVersion: 1\nURI: http://a\nChain ID: 1\nNonce: 12345678\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "expected 'URI: '");
	parse_bad(HEADER "\n" FIELDS "\nNot Before: 2024-05-01T12:00:00Z\n"
			 "Expiration Time: 2024-05-01T12:10:00Z",
		  "siwe_malformed", "line 11: 'Expiration Time' is out of order");
	parse_bad(HEADER "\n" FIELDS "\nResources:\n- http://a\nRequest ID: x", "siwe_malformed",
		  "line 12: 'Request ID' is out of order");
	parse_bad(HEADER "\n" FIELDS "\nRequest ID: a\nRequest ID: b", "siwe_malformed",
		  "'Request ID' is out of order or repeated");
}

static void test_bad_version(void **state)
{
	parse_bad(HEADER "\nURI: http://a\nVersion: 2\nChain ID: 1\nNonce: 12345678\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_bad_version", "version '2' is not supported");
	parse_bad(HEADER "\nURI: http://a\nVersion: 1.0\nChain ID: 1\nNonce: 12345678\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_bad_version", "'1.0'");
	parse_bad(HEADER "\nURI: http://a\nVersion: \nChain ID: 1\nNonce: 12345678\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_bad_version", "version ''");
}

static void test_bad_chain_id(void **state)
{
	static const char *ids[] = { "",
				     "abc",
				     "-1",
				     "1.5",
				     " 1",
				     "0x1",
				     "9223372036854775808",
				     "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 HEADER "\nURI: http://a\nVersion: 1\nChain ID: %s\nNonce: 12345678\n"
				"Issued At: 2024-05-01T12:00:00Z",
			 ids[i]);
		parse_bad(text, "siwe_malformed", "line 7: chain id");
	}
}

static void test_bad_nonce(void **state)
{
	parse_bad(HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nNonce: 1234567\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 8: nonce must be at least 8");
	parse_bad(HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nNonce: 1234-5678\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 8: nonce may hold only letters and digits");
	parse_bad(HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nNonce: \n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "nonce");
}

static void test_bad_times(void **state)
{
	static const char *bad[] = {
		"2024-05-01",
		"2024-05-01 12:00:00Z",
		"2024-05-01T12:00:00",
		"2024-05-01T12:00Z",
		"2024-13-01T12:00:00Z",
		"2024-00-01T12:00:00Z",
		"2023-02-29T12:00:00Z",
		"2024-04-31T12:00:00Z",
		"2024-05-01T24:00:00Z",
		"2024-05-01T12:60:00Z",
		"2024-05-01T12:00:61Z",
		"2024-05-01T12:00:00.Z",
		"2024-05-01T12:00:00+0200",
		"2024-05-01T12:00:00+24:00",
		"2024-05-01T12:00:00ZZ",
		"24-05-01T12:00:00Z",
		"yesterday",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 HEADER "\nURI: http://a\nVersion: 1\nChain ID: 1\nNonce: 12345678\n"
				"Issued At: %s",
			 bad[i]);
		parse_bad(text, "siwe_malformed", "line 9: 'Issued At' is not an RFC 3339 date-time");
	}
	parse_bad(HEADER "\n" FIELDS "\nExpiration Time: soon", "siwe_malformed",
		  "line 10: 'Expiration Time' is not an RFC 3339");
	parse_bad(HEADER "\n" FIELDS "\nNot Before: 2024-05-01T12:00:00", "siwe_malformed",
		  "line 10: 'Not Before' is not an RFC 3339");
}

static void test_bad_uris(void **state)
{
	static const char *bad[] = { "",
				     "localhost",
				     "/login",
				     "1http://a",
				     "http://a b",
				     "http://[::1/",
				     "http://a:b/",
				     "http://a/%zz",
				     "http://a/<x>",
				     "http://a/?q#f#g" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 HEADER "\nURI: %s\nVersion: 1\nChain ID: 1\nNonce: 12345678\n"
				"Issued At: 2024-05-01T12:00:00Z",
			 bad[i]);
		parse_bad(text, "siwe_malformed", "line 5: uri is not an absolute RFC 3986 URI");
	}
	parse_bad(HEADER "\n" FIELDS "\nResources:\n- http://ok\n- not a uri", "siwe_malformed",
		  "line 12: resource is not an absolute RFC 3986 URI");
	parse_bad(HEADER "\n" FIELDS "\nResources:\n-http://a", "siwe_malformed",
		  "line 11: unexpected text after the last field");
}

static void test_bad_statement(void **state)
{
	parse_bad(HEADER "Say \"hi\"\n\n" FIELDS, "siwe_malformed", "line 4: statement");
	parse_bad(HEADER "tab\there\n\n" FIELDS, "siwe_malformed", "line 4: statement");
	parse_bad(HEADER "caf\xc3\xa9\n\n" FIELDS, "siwe_malformed", "line 4: statement");
	/* A statement line that is not followed by a blank line is caught
	 * even when the next line looks like a field. */
	parse_bad(HEADER "Line one\nLine two\n\n" FIELDS, "siwe_malformed", "line 5");
}

static void test_bad_request_id(void **state)
{
	parse_bad(HEADER "\n" FIELDS "\nRequest ID: a b", "siwe_malformed", "line 10: request id");
	parse_bad(HEADER "\n" FIELDS "\nRequest ID: a/b", "siwe_malformed", "line 10: request id");
}

static void test_trailing_garbage(void **state)
{
	parse_bad(HEADER "\n" FIELDS "\n", "siwe_malformed",
		  "line 10: unexpected text after the last field");
	parse_bad(HEADER "\n" FIELDS "\n\n", "siwe_malformed", "line 10: unexpected text");
	parse_bad(HEADER "\n" FIELDS "\nHello", "siwe_malformed",
		  "line 10: unexpected text after the last field (got 'Hello')");
	parse_bad(HEADER "\n" FIELDS "x", "siwe_malformed", "'Issued At' is not an RFC 3339");
	parse_bad(HEADER "\n" FIELDS "\nResources:\n- http://a\n", "siwe_malformed",
		  "line 12: unexpected text");
	/* an embedded NUL ends nothing: it is just a bad byte */
	const char nul[] = HEADER "\n" FIELDS "\0\nhidden";
	parse_bad_n(nul, sizeof(nul) - 1, "siwe_malformed", "'Issued At' is not an RFC 3339");
}

static void test_crlf(void **state)
{
	parse_bad("localhost:4000 wants you to sign in with your Ethereum account:\r\n" ADDR
		  "\r\n\r\n\r\n" FIELDS,
		  "siwe_malformed", "line 1: contains a carriage return");
	parse_bad(HEADER "\nURI: http://a\r\nVersion: 1\nChain ID: 1\nNonce: 12345678\n"
			 "Issued At: 2024-05-01T12:00:00Z",
		  "siwe_malformed", "line 5: contains a carriage return");
}

static void test_oversized(void **state)
{
	/* A valid message padded with resources to just over the limit. */
	size_t cap = SIWE_MAX_LEN + 64;
	char *text = malloc(cap);
	size_t n = (size_t)snprintf(text, cap, "%s", HEADER "\n" FIELDS "\nResources:");

	while (n + 20 < SIWE_MAX_LEN)
		n += (size_t)snprintf(text + n, cap - n, "\n- http://a.example");
	struct siwe_msg m;
	struct err e = { 0 };
	assert_int_equal(siwe_parse(&m, arena, text, n, &e), 0);
	assert_true(m.nresources > 500);
	while (n <= SIWE_MAX_LEN)
		n += (size_t)snprintf(text + n, cap - n, "\n- http://b");
	parse_bad_n(text, n, "siwe_malformed", "more than the 16384 allowed");
	free(text);
}

/* Error messages quote hostile input without control characters. */
static void test_error_quotes_sanitized(void **state)
{
	struct siwe_msg m;
	struct err e = { 0 };
	const char text[] = HEADER "\nURI: http://a\nVersion: \x01\xff'\nChain ID: 1";

	assert_int_equal(siwe_parse(&m, arena, text, sizeof(text) - 1, &e), ERR_INVALID);
	assert_string_equal(e.msg, "siwe message line 6: version '?\?\?' is not supported (only 1)");
}

/* ---- siwe_check ---- */

static void check_parsed(const char *text, const char *domain, const char *prefix, int64_t now,
			 int want, const char *slug)
{
	struct siwe_msg m;
	struct err e = { 0 };

	parse_ok(&m, text);
	assert_int_equal(siwe_check(&m, domain, prefix, now, 60, &e), want);
	if (slug)
		assert_string_equal(e.slug, slug);
}

static void test_check_ok(void **state)
{
	check_parsed(HEADER "\n" FIELDS, "localhost:4000", "http://localhost:4000", T0, 0, NULL);
	check_parsed(HEADER "\n" FIELDS, "localhost:4000", NULL, T0 + 86400, 0, NULL);
	/* within the skew allowance */
	check_parsed(HEADER "\n" FIELDS, "localhost:4000", NULL, T0 - 60, 0, NULL);
	check_parsed(HEADER "\n" FIELDS "\nExpiration Time: 2024-05-01T12:10:00Z\n"
			    "Not Before: 2024-05-01T12:05:00Z",
		     "localhost:4000", NULL, T0 + 300 - 60, 0, NULL);
	check_parsed(HEADER "\n" FIELDS "\nExpiration Time: 2024-05-01T12:10:00Z", "localhost:4000",
		     NULL, T0 + 600 + 59, 0, NULL);
}

static void test_check_domain(void **state)
{
	check_parsed(HEADER "\n" FIELDS, "localhost:4001", NULL, T0, ERR_AUTH,
		     "siwe_domain_mismatch");
	check_parsed(HEADER "\n" FIELDS, "localhost", NULL, T0, ERR_AUTH, "siwe_domain_mismatch");
	check_parsed("evil@localhost:4000 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\n\n" FIELDS,
		     "localhost:4000", NULL, T0, ERR_AUTH, "siwe_domain_mismatch");
	/* a scheme on the domain line must match the server's */
	check_parsed("https://localhost:4000 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\n\n" FIELDS,
		     "localhost:4000", "http://localhost:4000/", T0, ERR_AUTH,
		     "siwe_domain_mismatch");
	check_parsed("http://localhost:4000 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\n\n" FIELDS,
		     "localhost:4000", "http://localhost:4000/", T0, 0, NULL);
	check_parsed("ftp://localhost:4000 wants you to sign in with your Ethereum account:\n" ADDR
		     "\n\n\n" FIELDS,
		     "localhost:4000", NULL, T0, ERR_AUTH, "siwe_domain_mismatch");
}

static void test_check_uri(void **state)
{
	const char *ftp = HEADER "\nURI: ftp://localhost:4000/\nVersion: 1\nChain ID: 1\n"
				 "Nonce: 12345678\nIssued At: 2024-05-01T12:00:00Z";
	check_parsed(ftp, "localhost:4000", NULL, T0, ERR_AUTH, "siwe_bad_uri");
	/* a URI in its own right (scheme "localhost"), but not a web one */
	check_parsed(HEADER "\nURI: localhost:4000/login\nVersion: 1\nChain ID: 1\n"
			    "Nonce: 12345678\nIssued At: 2024-05-01T12:00:00Z",
		     "localhost:4000", NULL, T0, ERR_AUTH, "siwe_bad_uri");
	check_parsed(HEADER "\n" FIELDS, "localhost:4000", "https://localhost:4000", T0, ERR_AUTH,
		     "siwe_bad_uri");
	check_parsed(HEADER "\n" FIELDS, "localhost:4000", "http://localhost:4000/other", T0,
		     ERR_AUTH, "siwe_bad_uri");
}

static void test_check_times(void **state)
{
	const char *exp = HEADER "\n" FIELDS "\nExpiration Time: 2024-05-01T12:10:00Z";
	const char *nbf = HEADER "\n" FIELDS "\nNot Before: 2024-05-01T12:05:00Z";

	check_parsed(exp, "localhost:4000", NULL, T0 + 600 + 60, ERR_AUTH, "siwe_expired");
	check_parsed(exp, "localhost:4000", NULL, T0 + 86400, ERR_AUTH, "siwe_expired");
	check_parsed(nbf, "localhost:4000", NULL, T0 + 300 - 61, ERR_AUTH, "siwe_not_yet_valid");
	/* issued more than the skew in the future */
	check_parsed(HEADER "\n" FIELDS, "localhost:4000", NULL, T0 - 61, ERR_AUTH,
		     "siwe_not_yet_valid");
	/* an expiration at the epoch is present, not absent */
	check_parsed(HEADER "\n" FIELDS "\nExpiration Time: 1970-01-01T00:00:00Z", "localhost:4000",
		     NULL, T0, ERR_AUTH, "siwe_expired");
}

static void test_check_address(void **state)
{
	check_parsed("localhost:4000 wants you to sign in with your Ethereum account:\n"
		     "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23\n\n\n" FIELDS,
		     "localhost:4000", NULL, T0, ERR_AUTH, "siwe_bad_address");
	check_parsed("localhost:4000 wants you to sign in with your Ethereum account:\n"
		     "0x2C7536E3605D9C16A7A3D7B1898E529396A65C23\n\n\n" FIELDS,
		     "localhost:4000", NULL, T0, ERR_AUTH, "siwe_bad_address");
}

/* ---- end to end with a dapp-made message ---- */

static void test_ethers_message(void **state)
{
	struct siwe_msg m;
	struct err e = { 0 };
	unsigned char signer[20];
	char got[43];

	parse_ok(&m, ethers_msg);
	assert_int_equal(m.chain_id, 137);
	assert_string_equal(m.statement, "Sign in to Plue.");
	assert_int_equal(m.nresources, 1);
	assert_string_equal(m.resources[0], "https://localhost:4000/terms");
	assert_int_equal(siwe_check(&m, "localhost:4000", "http://localhost:4000", T0 + 30, 60, &e),
			 0);
	assert_int_equal(eth_personal_recover(signer, ethers_msg, strlen(ethers_msg), ethers_sig, &e),
			 0);
	eth_address_checksum(got, signer);
	assert_string_equal(got, m.address);

	/* the same signature over an edited message names someone else */
	char edited[sizeof(ethers_msg)];
	memcpy(edited, ethers_msg, sizeof(ethers_msg));
	*strstr(edited, "137") = '2';
	parse_ok(&m, edited);
	assert_int_equal(eth_personal_recover(signer, edited, strlen(edited), ethers_sig, &e), 0);
	eth_address_checksum(got, signer);
	assert_string_not_equal(got, m.address);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_statement),
		cmocka_unit_test(test_empty_statement),
		cmocka_unit_test(test_all_optional_fields),
		cmocka_unit_test(test_optional_fields_alone),
		cmocka_unit_test(test_domains_and_uris),
		cmocka_unit_test(test_datetimes),
		cmocka_unit_test(test_large_chain_id),
		cmocka_unit_test(test_length_delimited),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_missing_lines),
		cmocka_unit_test(test_wrong_order),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_bad_chain_id),
		cmocka_unit_test(test_bad_nonce),
		cmocka_unit_test(test_bad_times),
		cmocka_unit_test(test_bad_uris),
		cmocka_unit_test(test_bad_statement),
		cmocka_unit_test(test_bad_request_id),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_error_quotes_sanitized),
		cmocka_unit_test(test_check_ok),
		cmocka_unit_test(test_check_domain),
		cmocka_unit_test(test_check_uri),
		cmocka_unit_test(test_check_times),
		cmocka_unit_test(test_check_address),
		cmocka_unit_test(test_ethers_message),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
