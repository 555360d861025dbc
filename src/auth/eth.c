/* eth.c — Ethereum addresses (EIP-55) and EIP-191 personal_sign recovery.
 * The curve arithmetic is libsecp256k1's recovery module; this file only
 * frames the message, decodes the signature and derives the address. */
#include "auth/eth.h"

#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/keccak.h"
#include "base/util.h"

#define PERSONAL_PREFIX                                                                            \
	"\x19"                                                                                     \
	"Ethereum Signed Message:\n"

void eth_address_checksum(char out[43], const unsigned char addr[20])
{
	char lower[41];
	unsigned char h[32];

	hex_encode(lower, addr, 20);
	keccak256(h, lower, 40);
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < 40; i++) {
		int nibble = i % 2 ? h[i / 2] & 0x0f : h[i / 2] >> 4;
		char c = lower[i];
		out[2 + i] = (c >= 'a' && nibble >= 8) ? (char)(c - 'a' + 'A') : c;
	}
	out[42] = '\0';
}

int eth_address_parse(unsigned char out[20], const char *s, bool require_checksum, struct err *e)
{
	char want[43];

	if (strncmp(s, "0x", 2) != 0 || strlen(s) != 42 || hex_decode(out, s + 2, 20) < 0)
		return err_set(e, ERR_AUTH, "siwe_bad_address",
			       "address '%.48s' is not 0x followed by 40 hex digits", s);
	if (!require_checksum)
		return 0;
	eth_address_checksum(want, out);
	if (strcmp(want, s) != 0)
		return err_set(e, ERR_AUTH, "siwe_bad_address",
			       "address '%s' is not in EIP-55 checksummed form (expected '%s')", s,
			       want);
	return 0;
}

static pthread_once_t selftest_once = PTHREAD_ONCE_INIT;

/* secp256k1_context_static suffices for recovery (no secret keys); the
 * library asks for one self test before it is relied on. */
static void secp_selftest(void)
{
	secp256k1_selftest();
}

/* The EIP-191 version 0x45 digest of msg. */
static void personal_hash(unsigned char out[32], const void *msg, size_t len)
{
	char lenstr[24];
	int n = snprintf(lenstr, sizeof(lenstr), "%zu", len);
	size_t plen = sizeof(PERSONAL_PREFIX) - 1;
	unsigned char *buf = xmalloc(plen + (size_t)n + len + 1);

	memcpy(buf, PERSONAL_PREFIX, plen);
	memcpy(buf + plen, lenstr, (size_t)n);
	if (len)
		memcpy(buf + plen + (size_t)n, msg, len);
	keccak256(out, buf, plen + (size_t)n + len);
	free(buf);
}

int eth_personal_recover(unsigned char addr_out[20], const void *msg, size_t len,
			 const char *sig_hex, struct err *e)
{
	const secp256k1_context *ctx = secp256k1_context_static;
	secp256k1_ecdsa_recoverable_signature rsig;
	secp256k1_ecdsa_signature plain;
	secp256k1_pubkey pub;
	unsigned char sig[65], digest[32], pubser[65], h[32];
	size_t publen = sizeof(pubser);
	int recid;

	pthread_once(&selftest_once, secp_selftest);

	if (!sig_hex || strncmp(sig_hex, "0x", 2) != 0)
		return err_set(e, ERR_AUTH, "siwe_bad_signature", "signature must start with 0x");
	size_t hexlen = strlen(sig_hex + 2);
	if (hexlen != 130)
		return err_set(e, ERR_AUTH, "siwe_bad_signature",
			       "signature has %zu hex digits, expected 130", hexlen);
	if (hex_decode(sig, sig_hex + 2, 65))
		return err_set(e, ERR_AUTH, "siwe_bad_signature", "signature is not hexadecimal");

	switch (sig[64]) {
	case 0:
	case 1: recid = sig[64]; break;
	case 27:
	case 28: recid = sig[64] - 27; break;
	default:
		return err_set(e, ERR_AUTH, "siwe_bad_signature",
			       "signature recovery byte v=%d is not 27, 28, 0 or 1", sig[64]);
	}

	if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, recid))
		return err_set(e, ERR_AUTH, "siwe_bad_signature", "signature r or s is out of range");
	/* EIP-2: only the low-s half is canonical. Wallets always produce it;
	 * accepting the other half would let anyone mint a second valid
	 * signature for the same message. */
	secp256k1_ecdsa_recoverable_signature_convert(ctx, &plain, &rsig);
	if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
		return err_set(e, ERR_AUTH, "siwe_bad_signature",
			       "signature s value is not in the lower half of the curve order");

	personal_hash(digest, msg, len);
	if (!secp256k1_ecdsa_recover(ctx, &pub, &rsig, digest))
		return err_set(e, ERR_AUTH, "siwe_bad_signature",
			       "no public key can be recovered from the signature");
	secp256k1_ec_pubkey_serialize(ctx, pubser, &publen, &pub, SECP256K1_EC_UNCOMPRESSED);
	keccak256(h, pubser + 1, 64);
	memcpy(addr_out, h + 12, 20);
	return 0;
}
