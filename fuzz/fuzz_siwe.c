/* fuzz_siwe.c — libFuzzer target for the EIP-4361 parser: any bytes in,
 * either a clean rejection with a slug and message or a message whose
 * fields hold up (and survive siwe_check). */
// fuzz-sources: src/auth/siwe.c src/auth/eth.c src/auth/keccak.c src/base/arena.c src/base/buf.c src/base/err.c src/base/util.c
// fuzz-options: -max_len=20000
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/siwe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct siwe_msg m;
	struct err e = { 0 };
	/* An exact-size copy, so reading one byte past len is caught. */
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	int rc = siwe_parse(&m, a, text, size, &e);
	if (rc < 0) {
		if (rc != ERR_INVALID || !e.slug[0] || !e.msg[0] || strchr(e.msg, '\n'))
			abort();
	} else {
		if (size > SIWE_MAX_LEN || !m.domain || !m.address || !m.uri || !m.nonce ||
		    !m.issued_at || strlen(m.address) != 42 || strlen(m.nonce) < 8 ||
		    (m.nresources && !m.resources))
			abort();
		for (size_t i = 0; i < m.nresources; i++)
			if (!m.resources[i] || !strchr(m.resources[i], ':'))
				abort();
		err_clear(&e);
		rc = siwe_check(&m, m.domain, NULL, m.issued_at_unix, 60, &e);
		if (rc != 0 && rc != ERR_AUTH)
			abort();
	}
	free(text);
	arena_free(a);
	return 0;
}
