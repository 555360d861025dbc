/* password.h — password hashing with argon2id (libsodium's crypto_pwhash
 * string format, which carries its own salt and cost parameters) and the
 * rules a new password must meet. */
#ifndef PLUE_PASSWORD_H
#define PLUE_PASSWORD_H

#include <stdbool.h>

#include "base/err.h"

/* Room for an encoded hash, NUL included (crypto_pwhash_STRBYTES). */
#define PASSWORD_HASH_MAX 128
#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 1024

/* Checks the rules for a new password: PASSWORD_MIN_LEN to PASSWORD_MAX_LEN
 * bytes, no NUL or control characters. Returns 0 or ERR_INVALID (slug
 * "weak_password" or "invalid_password"). The password is never quoted. */
int password_validate(const char *pw, struct err *e);

/* Hashes pw with argon2id at libsodium's interactive cost into out.
 * Returns 0, or ERR_INTERNAL when memory for the hash cannot be had. */
int password_hash(char out[PASSWORD_HASH_MAX], const char *pw, struct err *e);

/* Does pw match the encoded hash? Compares in constant time (libsodium).
 * A NULL hash (an account without a password) still spends the time of a
 * real verification against a dummy hash and returns false, so the answer
 * time does not tell which accounts exist or have passwords. */
bool password_verify(const char *hash, const char *pw);

#endif
