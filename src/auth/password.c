/* password.c — argon2id password hashes through libsodium (password.h). */
#include "auth/password.h"
#include "base/log.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "hash buffer size");

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWORD_HASH_MAX];

static void dummy_init(void)
{
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(dummy_hash, "plue-dummy-password", strlen("plue-dummy-password"),
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0';
}

int password_validate(const char *pw, struct err *e)
{
	size_t n = strlen(pw);
	if (n < PASSWORD_MIN_LEN)
		return err_set(e, ERR_INVALID, "weak_password",
			       "password must be at least %d characters", PASSWORD_MIN_LEN);
	if (n > PASSWORD_MAX_LEN)
		return err_set(e, ERR_INVALID, "invalid_password",
			       "password must be at most %d characters", PASSWORD_MAX_LEN);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			return err_set(e, ERR_INVALID, "invalid_password",
				       "password may not contain control characters");
	return 0;
}

int password_hash(char out[PASSWORD_HASH_MAX], const char *pw, struct err *e)
{
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		log_error("argon2id hashing failed (out of memory?)");
		return err_set(e, ERR_INTERNAL, NULL, "cannot hash the password");
	}
	return 0;
}

bool password_verify(const char *hash, const char *pw)
{
	if (!hash || !*hash) {
		pthread_once(&dummy_once, dummy_init);
		if (dummy_hash[0]) {
			int spent = crypto_pwhash_str_verify(dummy_hash, pw, strlen(pw));
			(void)spent; /* the dummy never names an account */
		}
		return false;
	}
	if (sodium_init() < 0)
		return false;
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}
