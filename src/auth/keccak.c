/* keccak.c — Keccak-256 sponge (rate 136 bytes, padding 0x01 ... 0x80)
 * around nettle's Keccak-f[1600] permutation. Only the absorb/squeeze glue
 * lives here; the permutation is nettle's. */
#include "auth/keccak.h"

#include <nettle/sha3.h>
#include <stdint.h>
#include <string.h>

#define KECCAK256_RATE 136 /* 1600 - 2 * 256 bits, in bytes */

/* The state's lanes are little-endian 64-bit words: byte i of the
 * 200-byte state is byte (i % 8) of lane i / 8. */
static void state_xor_byte(struct sha3_state *st, size_t i, unsigned char b)
{
	st->a[i / 8] ^= (uint64_t)b << (8 * (i % 8));
}

void keccak256(unsigned char out[32], const void *data, size_t len)
{
	const unsigned char *p = data;
	struct sha3_state st;
	memset(&st, 0, sizeof(st));

	while (len >= KECCAK256_RATE) {
		for (size_t i = 0; i < KECCAK256_RATE; i++)
			state_xor_byte(&st, i, p[i]);
		sha3_permute(&st);
		p += KECCAK256_RATE;
		len -= KECCAK256_RATE;
	}
	for (size_t i = 0; i < len; i++)
		state_xor_byte(&st, i, p[i]);
	/* Original Keccak multi-rate padding: 0x01 after the data, 0x80 in the
	 * last byte of the block (the same byte when len == rate - 1). SHA3
	 * would use 0x06 here. */
	state_xor_byte(&st, len, 0x01);
	state_xor_byte(&st, KECCAK256_RATE - 1, 0x80);
	sha3_permute(&st);

	for (size_t i = 0; i < 32; i++)
		out[i] = (unsigned char)(st.a[i / 8] >> (8 * (i % 8)));
}
