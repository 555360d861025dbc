/* eth.h — Ethereum addresses (EIP-55 checksums) and EIP-191 personal_sign
 * signature recovery with libsecp256k1. */
#ifndef PLUE_ETH_H
#define PLUE_ETH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* The EIP-55 mixed-case checksummed form of addr: "0x" + 40 hex digits,
 * NUL-terminated, into out. */
void eth_address_checksum(char out[43], const unsigned char addr[20]);

/* Parses s, "0x" followed by exactly 40 hex digits, into out. With
 * require_checksum the letters' case must be exactly the EIP-55 checksum
 * (all-lowercase and all-uppercase forms are rejected too). Returns 0, or
 * ERR_AUTH with slug "siwe_bad_address" and a message quoting s. */
int eth_address_parse(unsigned char out[20], const char *s, bool require_checksum, struct err *e);

/* Recovers the address that signed msg (len bytes) with EIP-191
 * personal_sign: keccak256("\x19Ethereum Signed Message:\n" + decimal len +
 * msg). sig_hex is "0x" + 130 hex digits (r || s || v) with v in
 * {27, 28, 0, 1}. High-s signatures are rejected (EIP-2: every wallet
 * produces low-s, and accepting both halves would make signatures
 * malleable). Returns 0 with addr_out set, or ERR_AUTH with slug
 * "siwe_bad_signature" for a malformed, truncated or unrecoverable
 * signature. Whether addr_out is the expected signer is the caller's check. */
int eth_personal_recover(unsigned char addr_out[20], const void *msg, size_t len,
			 const char *sig_hex, struct err *e);

#endif
