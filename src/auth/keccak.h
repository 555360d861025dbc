/* keccak.h — Keccak-256 as Ethereum uses it (original Keccak padding, not
 * SHA3-256), built on nettle's Keccak-f[1600] permutation. */
#ifndef PLUE_KECCAK_H
#define PLUE_KECCAK_H

#include <stddef.h>

/* Keccak-256 of len bytes at data into out. The padding byte is 0x01
 * (pre-standard Keccak), so the result differs from SHA3-256: the empty
 * string hashes to c5d24601...5d85a470. data may be NULL when len is 0. */
void keccak256(unsigned char out[32], const void *data, size_t len);

#endif
