/* siwe.h — Sign-In with Ethereum (EIP-4361) messages: a strict parser for
 * the message grammar and the checks a server applies to a parsed message
 * (domain, URI, validity window, address checksum). The signature itself is
 * checked with eth_personal_recover (auth/eth.h). */
#ifndef PLUE_SIWE_H
#define PLUE_SIWE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

/* Messages longer than this are rejected before parsing. */
#define SIWE_MAX_LEN 16384

/* A parsed message. Every string is NUL-terminated and owned by the arena
 * passed to siwe_parse; optional fields are NULL (times 0) when absent. */
struct siwe_msg {
	const char *domain, *address, *statement /* NULL if absent */, *uri, *version, *nonce,
		*issued_at, *expiration_time, *not_before, *request_id /* NULLs if absent */;
	int64_t chain_id;
	int64_t issued_at_unix, expiration_unix /* 0 if absent */, not_before_unix;
	const char **resources;
	size_t nresources;
	const char *scheme /* optional scheme prefix of the domain line, NULL */;
};

/* Parses text (len bytes, need not be NUL-terminated) by the EIP-4361
 * grammar: fields in their exact order, LF line ends only, nothing after
 * the last field. Times are RFC 3339 (fractional seconds and offsets
 * allowed) and are also converted to unix seconds. Returns 0, or
 * ERR_INVALID with slug "siwe_malformed" (message naming the line or field)
 * or "siwe_bad_version" for a version other than "1"; inputs over
 * SIWE_MAX_LEN bytes are "siwe_malformed" too. */
int siwe_parse(struct siwe_msg *out, struct arena *a, const char *text, size_t len, struct err *e);

/* Checks a parsed message against this server at time now (unix seconds),
 * allowing skew_seconds of clock difference. expected_domain is host[:port];
 * expected_uri_prefix may be NULL. Returns 0, or ERR_AUTH with slug
 * "siwe_domain_mismatch" (domain differs byte for byte, or a "scheme://"
 * on the first line is not the expected URI prefix's scheme, or not
 * http/https when no prefix is given), "siwe_bad_uri" (URI scheme not
 * http/https, or URI not starting with the prefix), "siwe_expired" (now -
 * skew >= expiration), "siwe_not_yet_valid" (now + skew < not-before, or
 * issued-at more than skew in the future) or "siwe_bad_address" (address
 * not EIP-55 checksummed). The signature is not checked here. */
int siwe_check(const struct siwe_msg *m, const char *expected_domain,
	       const char *expected_uri_prefix, int64_t now, int skew_seconds, struct err *e);

#endif
