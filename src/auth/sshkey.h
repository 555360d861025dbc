/* sshkey.h — OpenSSH public keys ("TYPE BASE64 [COMMENT]", as in a .pub
 * file or authorized_keys line) parsed from their wire format, checked,
 * and fingerprinted the way `ssh-keygen -l` prints them. */
#ifndef PLUE_SSHKEY_H
#define PLUE_SSHKEY_H

#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

/* Longest key line accepted (a 16384-bit RSA key is about 2.8 KB). */
#define SSHKEY_MAX_LEN 16384
/* "SHA256:" + 43 base64 characters + NUL. */
#define SSHKEY_FINGERPRINT_LEN 51

struct sshkey {
	const char *type; /* "ssh-ed25519", "ecdsa-sha2-nistp256|384|521", "ssh-rsa" (static) */
	unsigned bits;    /* 256 for ed25519, the curve's size, the RSA modulus's bits */
	char fingerprint[SSHKEY_FINGERPRINT_LEN];
	const char *public_key; /* canonical "TYPE BASE64", no comment (arena) */
	const char *comment;    /* "" when absent (arena) */
};

/* Parses one public key line. The wire blob is read field by field: its
 * type string must equal the line's type; ssh-ed25519 holds a 32-byte key;
 * ecdsa-sha2-nistpN names curve nistpN and holds an uncompressed point on
 * that curve (checked with OpenSSL); ssh-rsa holds e and a modulus of 2048
 * to 16384 bits; nothing may follow the last field. Other types (ssh-dss,
 * security-key types), private keys and authorized_keys options are
 * refused. Returns 0 with *out filled, or ERR_INVALID with slug
 * "invalid_key" and a message saying what is wrong. */
int sshkey_parse(struct sshkey *out, struct arena *a, const char *text, struct err *e);

/* "SHA256:" + unpadded base64 of SHA-256(blob) into out. */
void sshkey_fingerprint(char out[SSHKEY_FINGERPRINT_LEN], const unsigned char *blob, size_t len);

#endif
