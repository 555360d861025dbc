/* sshkey.c — OpenSSH public key parsing and fingerprints (sshkey.h). The
 * wire format (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) is a sequence of
 * uint32-length-prefixed strings and mpints. */
#include "auth/sshkey.h"
#include "base/util.h"

#include <ctype.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

struct reader {
	const unsigned char *p;
	size_t n;
};

/* The next length-prefixed string; false when the blob ends too soon. */
static bool read_string(struct reader *rd, const unsigned char **s, size_t *len)
{
	if (rd->n < 4)
		return false;
	uint32_t l = (uint32_t)rd->p[0] << 24 | (uint32_t)rd->p[1] << 16 | (uint32_t)rd->p[2] << 8 |
		     rd->p[3];
	if (l > rd->n - 4)
		return false;
	*s = rd->p + 4;
	*len = l;
	rd->p += 4 + (size_t)l;
	rd->n -= 4 + (size_t)l;
	return true;
}

static bool str_is(const unsigned char *s, size_t len, const char *want)
{
	return len == strlen(want) && !memcmp(s, want, len);
}

static const struct {
	const char *type;
	const char *curve; /* ecdsa only */
	int nid;
	unsigned bits;
} key_types[] = {
	{ "ssh-ed25519", NULL, 0, 256 },
	{ "ecdsa-sha2-nistp256", "nistp256", NID_X9_62_prime256v1, 256 },
	{ "ecdsa-sha2-nistp384", "nistp384", NID_secp384r1, 384 },
	{ "ecdsa-sha2-nistp521", "nistp521", NID_secp521r1, 521 },
	{ "ssh-rsa", NULL, 0, 0 },
};
#define NTYPES (sizeof(key_types) / sizeof(key_types[0]))

static int bad(struct err *e, const char *msg)
{
	return err_set(e, ERR_INVALID, "invalid_key", "%s", msg);
}

static int check_ecdsa(int nid, unsigned bits, const char *curve, struct reader *rd, struct err *e)
{
	const unsigned char *name, *q;
	size_t nlen, qlen;
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	int rc = 0;
	if (!read_string(rd, &name, &nlen) || !read_string(rd, &q, &qlen)) {
		rc = bad(e, "ecdsa key data is truncated");
		goto done;
	}
	if (!str_is(name, nlen, curve)) {
		rc = err_set(e, ERR_INVALID, "invalid_key",
			     "ecdsa curve '%.*s' does not match key type 'ecdsa-sha2-%s'",
			     (int)(nlen > 32 ? 32 : nlen), (const char *)name, curve);
		goto done;
	}
	size_t field = (bits + 7) / 8;
	if (qlen != 1 + 2 * field || q[0] != 0x04) {
		rc = err_set(e, ERR_INVALID, "invalid_key",
			     "ecdsa point is not an uncompressed %s point", curve);
		goto done;
	}
	g = EC_GROUP_new_by_curve_name(nid);
	pt = g ? EC_POINT_new(g) : NULL;
	if (!pt)
		die("cannot allocate an EC point");
	if (EC_POINT_oct2point(g, pt, q, qlen, NULL) != 1 || EC_POINT_is_at_infinity(g, pt) ||
	    EC_POINT_is_on_curve(g, pt, NULL) != 1) {
		rc = err_set(e, ERR_INVALID, "invalid_key", "ecdsa point is not on curve %s", curve);
		goto done;
	}
done:
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return rc;
}

/* Validates an mpint as a positive integer; *bits receives its size. */
static bool mpint_positive(const unsigned char *s, size_t len, unsigned *bits)
{
	if (len == 0 || (s[0] & 0x80))
		return false; /* zero or negative */
	if (s[0] == 0 && (len == 1 || !(s[1] & 0x80)))
		return false; /* a leading zero that the encoding does not need */
	while (len && *s == 0) {
		s++;
		len--;
	}
	unsigned top = 0;
	for (unsigned char c = s[0]; c; c >>= 1)
		top++;
	*bits = (unsigned)(len - 1) * 8 + top;
	return true;
}

static int check_rsa(struct reader *rd, unsigned *bits_out, struct err *e)
{
	const unsigned char *ev, *nv;
	size_t elen, nlen;
	unsigned ebits, nbits;
	if (!read_string(rd, &ev, &elen) || !read_string(rd, &nv, &nlen))
		return bad(e, "rsa key data is truncated");
	if (!mpint_positive(ev, elen, &ebits) || ebits > 64 || !(ev[elen - 1] & 1) || (ebits < 2))
		return bad(e, "rsa public exponent is invalid");
	if (!mpint_positive(nv, nlen, &nbits) || !(nv[nlen - 1] & 1))
		return bad(e, "rsa modulus is invalid");
	if (nbits < RSA_MIN_BITS)
		return err_set(e, ERR_INVALID, "invalid_key",
			       "rsa key has %u bits; at least %d are required", nbits, RSA_MIN_BITS);
	if (nbits > RSA_MAX_BITS)
		return err_set(e, ERR_INVALID, "invalid_key",
			       "rsa key has %u bits; at most %d are allowed", nbits, RSA_MAX_BITS);
	*bits_out = nbits;
	return 0;
}

void sshkey_fingerprint(char out[SSHKEY_FINGERPRINT_LEN], const unsigned char *blob, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(blob, len, md);
	memcpy(out, "SHA256:", 7);
	sodium_bin2base64(out + 7, SSHKEY_FINGERPRINT_LEN - 7, md, sizeof(md),
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

int sshkey_parse(struct sshkey *out, struct arena *a, const char *text, struct err *e)
{
	size_t n = strlen(text);
	if (n > SSHKEY_MAX_LEN)
		return err_set(e, ERR_INVALID, "invalid_key", "key is longer than %d bytes",
			       SSHKEY_MAX_LEN);
	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	while (n && isspace((unsigned char)*text)) {
		text++;
		n--;
	}
	if (!n)
		return bad(e, "key is empty");
	if (!strncmp(text, "-----BEGIN", 10))
		return bad(e,
			   "this is a private key or a PEM file; paste the public key (the .pub file)");
	if (memchr(text, '\n', n) || memchr(text, '\r', n))
		return bad(e, "key must be a single line: one key per request");

	/* TYPE SP BASE64 [SP COMMENT] */
	size_t tlen = strcspn(text, " \t");
	if (tlen == n)
		return bad(e, "key must be 'TYPE BASE64 [COMMENT]', as in a .pub file");
	const char *b64 = text + tlen;
	while (*b64 == ' ' || *b64 == '\t')
		b64++;
	size_t blen = strcspn(b64, " \t");
	const char *comment = b64 + blen;
	while (*comment == ' ' || *comment == '\t')
		comment++;
	size_t clen = n - (size_t)(comment - text);

	size_t ti;
	for (ti = 0; ti < NTYPES; ti++)
		if (strlen(key_types[ti].type) == tlen && !strncmp(key_types[ti].type, text, tlen))
			break;
	if (ti == NTYPES)
		return err_set(e, ERR_INVALID, "invalid_key",
			       "unsupported key type '%.*s' (use ssh-ed25519, "
			       "ecdsa-sha2-nistp256/384/521 or ssh-rsa)",
			       (int)(tlen > 40 ? 40 : tlen), text);

	if (sodium_init() < 0)
		die("cannot initialise libsodium");
	unsigned char *blob = arena_alloc(a, blen + 1);
	size_t len = 0;
	if (!blen || sodium_base642bin(blob, blen, b64, blen, NULL, &len, NULL,
				       sodium_base64_VARIANT_ORIGINAL))
		return bad(e, "key data is not valid base64");

	struct reader rd = { blob, len };
	const unsigned char *wtype;
	size_t wlen;
	if (!read_string(&rd, &wtype, &wlen))
		return bad(e, "key data is truncated");
	if (!str_is(wtype, wlen, key_types[ti].type))
		return err_set(e, ERR_INVALID, "invalid_key",
			       "key type '%s' does not match the key data's type",
			       key_types[ti].type);

	unsigned bits = key_types[ti].bits;
	int rc;
	if (!strcmp(key_types[ti].type, "ssh-ed25519")) {
		const unsigned char *pk;
		size_t pklen;
		if (!read_string(&rd, &pk, &pklen))
			return bad(e, "ed25519 key data is truncated");
		if (pklen != 32)
			return err_set(e, ERR_INVALID, "invalid_key",
				       "ed25519 key must be 32 bytes, not %zu", pklen);
	} else if (key_types[ti].curve) {
		if ((rc = check_ecdsa(key_types[ti].nid, bits, key_types[ti].curve, &rd, e)))
			return rc;
	} else if ((rc = check_rsa(&rd, &bits, e))) {
		return rc;
	}
	if (rd.n)
		return bad(e, "key data has trailing bytes");

	out->type = key_types[ti].type;
	out->bits = bits;
	sshkey_fingerprint(out->fingerprint, blob, len);
	size_t enc = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *canon = arena_alloc(a, strlen(out->type) + 1 + enc);
	size_t tl = strlen(out->type);
	memcpy(canon, out->type, tl);
	canon[tl] = ' ';
	sodium_bin2base64(canon + tl + 1, enc, blob, len, sodium_base64_VARIANT_ORIGINAL);
	out->public_key = canon;
	out->comment = arena_strndup(a, comment, clen);
	return 0;
}
