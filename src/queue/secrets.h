/* secrets.h — repository secrets at rest: sealed with libsodium's
 * crypto_secretbox under a key derived from the server key, opened only
 * to hand a claimed workload the secrets its steps refer to, and masked
 * out of log lines. */
#ifndef PLUE_QUEUE_SECRETS_H
#define PLUE_QUEUE_SECRETS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

/* Longest secret value accepted, bytes. */
#define SECRET_MAX_VALUE (48 * 1024)

/* A secret name: 1-100 of [A-Za-z0-9_], not starting with a digit. */
bool secret_name_valid(const char *name);

/* Encrypts value (len bytes) for repo_id/name (bound in as associated
 * context so a row cannot be moved to another repository or name). Fills
 * *nonce_hex and *cipher_hex (arena). */
void secret_seal(struct arena *a, int64_t repo_id, const char *name, const char *value,
		 size_t len, const char **nonce_hex, const char **cipher_hex);

/* Decrypts a sealed value; *out is NUL-terminated (arena). Returns 0 or
 * ERR_INTERNAL when the row does not open (wrong key, damaged). */
int secret_open(struct arena *a, struct err *e, int64_t repo_id, const char *name,
		const char *nonce_hex, const char *cipher_hex, const char **out);

/* Loads the named secrets of repo_id (names: a JSON array of strings, may
 * be NULL or empty) into *out, a new object name → value. Names with no
 * secret are absent. */
int secrets_load(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, json_t *names,
		 json_t **out);

/* Replaces every occurrence of each value of secrets (an object name →
 * value) in line with "***". Returns a malloc'd string, or NULL when
 * nothing matched (line is then unchanged). Values shorter than 3 bytes
 * are not masked (they would shred every line). */
char *secrets_mask(json_t *secrets, const char *line);

#endif
