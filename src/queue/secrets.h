/* secrets.h — repository secrets at rest: sealed with libsodium's
 * crypto_secretbox under a key derived from the server key, opened only
 * to hand a claimed workload the secrets its steps refer to, and masked
 * out of everything a runner sends and the server stores for a run. */
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
void secret_seal(struct arena *a, int64_t repo_id, const char *name, const char *value, size_t len,
		 const char **nonce_hex, const char **cipher_hex);

/* Decrypts a sealed value; *out is NUL-terminated (arena). Returns 0 or
 * ERR_INTERNAL when the row does not open (wrong key, damaged). */
int secret_open(struct arena *a, struct err *e, int64_t repo_id, const char *name,
		const char *nonce_hex, const char *cipher_hex, const char **out);

/* Loads the named secrets of repo_id (names: a JSON array of strings, may
 * be NULL or empty) into *out, a new object name → value. Names with no
 * secret are absent. */
int secrets_load(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, json_t *names,
		 json_t **out);

/* ---- masking ----
 *
 * A secret_mask is the set of strings to hide, built once from secret
 * values and applied to every string that leaves a runner or that the
 * server stores for a run. For each value it holds:
 *   - the value itself, and the value trimmed of surrounding white space,
 *     when at least SECRET_MASK_MIN_VALUE bytes;
 *   - for a multi-line value, each of its lines trimmed of surrounding
 *     white space, when at least SECRET_MASK_MIN_LINE characters (shorter
 *     lines, such as a lone "}", would shred every log);
 *   - the JSON-escaped form of each of these, once and twice (what
 *     toJSON() and toJSON(toJSON()) print inside the quotes), where it
 *     differs. No expression function emits any other encoding.
 * Every occurrence becomes "***"; occurrences that overlap (a value that
 * contains another, a line inside its whole value) become one "***", so
 * no part of either shows. A mask is immutable once built: any thread
 * may apply it. */
#define SECRET_MASK_MIN_VALUE 3
#define SECRET_MASK_MIN_LINE 4

struct secret_mask;

/* Builds the mask of secrets (an object name → value; non-string and
 * empty values are ignored). secrets may be NULL. Never NULL; free with
 * secret_mask_free. */
struct secret_mask *secret_mask_new(json_t *secrets);
/* Frees m (NULL is fine). */
void secret_mask_free(struct secret_mask *m);
/* True when m hides nothing (no usable value). */
bool secret_mask_empty(const struct secret_mask *m);
/* Returns a malloc'd copy of s with every occurrence of m's strings
 * replaced by "***", or NULL when nothing matched (s is then clean). m
 * may be NULL. */
char *secret_mask_apply(const struct secret_mask *m, const char *s);
/* Masks in place every string inside j: j itself, the values of objects
 * and the elements of arrays, recursively (keys are left alone). Returns
 * how many strings changed. m and j may be NULL. */
int secret_mask_json(const struct secret_mask *m, json_t *j);

/* Builds the mask of the secrets a workload or job spec names (its
 * "secret_names") in repo_id, into *out (owned by the arena a). A spec
 * that names none gives an empty mask without touching the database. */
int secret_mask_load(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, json_t *spec,
		     struct secret_mask **out);

/* One-shot secret_mask_apply with a mask built from secrets and freed:
 * for a single string. Returns a malloc'd string or NULL (unchanged). */
char *secrets_mask(json_t *secrets, const char *line);

#endif
