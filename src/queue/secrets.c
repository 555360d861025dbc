/* secrets.c — sealing, opening, loading and masking repository secrets
 * (see secrets.h). The key is derived from the server key with
 * crypto_kdf, so the server key itself never seals data. */
#include "queue/secrets.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/util.h"
#include "db/db.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void derive_key(unsigned char key[crypto_secretbox_KEYBYTES], int64_t repo_id,
		       const char *name)
{
	if (sodium_init() < 0)
		die("libsodium cannot start");
	unsigned char master[crypto_kdf_KEYBYTES];
	memcpy(master, cfg.server_key, sizeof(master));
	unsigned char sub[crypto_generichash_KEYBYTES];
	crypto_kdf_derive_from_key(sub, sizeof(sub), 1, "plue_sec", master);
	/* bind the repository and the name into the key */
	crypto_generichash_state st;
	crypto_generichash_init(&st, sub, sizeof(sub), crypto_secretbox_KEYBYTES);
	char idbuf[32];
	int n = snprintf(idbuf, sizeof(idbuf), "%lld:", (long long)repo_id);
	crypto_generichash_update(&st, (const unsigned char *)idbuf, (size_t)n);
	crypto_generichash_update(&st, (const unsigned char *)name, strlen(name));
	crypto_generichash_final(&st, key, crypto_secretbox_KEYBYTES);
	sodium_memzero(master, sizeof(master));
	sodium_memzero(sub, sizeof(sub));
}

void secret_seal(struct arena *a, int64_t repo_id, const char *name, const char *value,
		 size_t len, const char **nonce_hex, const char **cipher_hex)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char nonce[crypto_secretbox_NONCEBYTES];
	derive_key(key, repo_id, name);
	randombytes_buf(nonce, sizeof(nonce));
	size_t clen = len + crypto_secretbox_MACBYTES;
	unsigned char *c = xmalloc(clen);
	crypto_secretbox_easy(c, (const unsigned char *)value, len, nonce, key);
	char *nh = arena_alloc(a, sizeof(nonce) * 2 + 1);
	hex_encode(nh, nonce, sizeof(nonce));
	char *ch = arena_alloc(a, clen * 2 + 1);
	hex_encode(ch, c, clen);
	free(c);
	sodium_memzero(key, sizeof(key));
	*nonce_hex = nh;
	*cipher_hex = ch;
}

int secret_open(struct arena *a, struct err *e, int64_t repo_id, const char *name,
		const char *nonce_hex, const char *cipher_hex, const char **out)
{
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char nonce[crypto_secretbox_NONCEBYTES];
	size_t chl = strlen(cipher_hex);
	if (strlen(nonce_hex) != sizeof(nonce) * 2 || hex_decode(nonce, nonce_hex, sizeof(nonce)) ||
	    chl % 2 || chl / 2 < crypto_secretbox_MACBYTES)
		return err_set(e, ERR_INTERNAL, "secret_damaged", "secret '%.100s' is damaged", name);
	size_t clen = chl / 2;
	unsigned char *c = xmalloc(clen);
	int rc = 0;
	char *plain = arena_alloc(a, clen - crypto_secretbox_MACBYTES + 1);
	if (hex_decode(c, cipher_hex, clen)) {
		rc = err_set(e, ERR_INTERNAL, "secret_damaged", "secret '%.100s' is damaged", name);
		goto done;
	}
	derive_key(key, repo_id, name);
	if (crypto_secretbox_open_easy((unsigned char *)plain, c, clen, nonce, key)) {
		rc = err_set(e, ERR_INTERNAL, "secret_damaged",
			     "secret '%.100s' does not open with this server's key", name);
		goto done;
	}
	plain[clen - crypto_secretbox_MACBYTES] = '\0';
	*out = plain;
done:
	sodium_memzero(key, sizeof(key));
	free(c);
	return rc;
}

bool secret_name_valid(const char *n)
{
	if (!n || !*n || strlen(n) > 100 || (*n >= '0' && *n <= '9'))
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int secrets_load(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, json_t *names,
		 json_t **out)
{
	*out = json_object();
	if (!json_array_size(names))
		return 0;
	struct buf b = BUF_INIT;
	buf_addch(&b, '{');
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		/* only names a secret can have reach the array literal */
		const char *n = json_string_value(v);
		if (!secret_name_valid(n))
			continue;
		buf_addf(&b, "%s\"%s\"", b.len > 1 ? "," : "", n);
	}
	buf_addch(&b, '}');
	PGresult *res = db_qv(db, a, e,
			      "SELECT name, nonce, ciphertext FROM secrets WHERE repo_id = $1 AND "
			      "name = ANY($2::text[])",
			      arena_printf(a, "%lld", (long long)repo_id), arena_strdup(a, b.ptr));
	buf_release(&b);
	if (!res) {
		json_decref(*out);
		*out = NULL;
		return e->code;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *val;
		if (secret_open(a, e, repo_id, db_val(res, r, 0), db_val(res, r, 1), db_val(res, r, 2),
				&val)) {
			json_decref(*out);
			*out = NULL;
			return e->code;
		}
		json_object_set_new(*out, db_val(res, r, 0), json_string(val));
	}
	return 0;
}

char *secrets_mask(json_t *secrets, const char *line)
{
	if (!json_object_size(secrets))
		return NULL;
	char *cur = NULL;
	const char *key;
	json_t *v;
	json_object_foreach(secrets, key, v)
	{
		const char *val = json_string_value(v);
		size_t vl = val ? strlen(val) : 0;
		if (vl < 3)
			continue;
		const char *src = cur ? cur : line;
		if (!strstr(src, val))
			continue;
		struct buf b = BUF_INIT;
		const char *p = src, *hit;
		while ((hit = strstr(p, val))) {
			buf_add(&b, p, (size_t)(hit - p));
			buf_adds(&b, "***");
			p = hit + vl;
		}
		buf_adds(&b, p);
		free(cur);
		cur = buf_detach(&b, NULL);
	}
	return cur;
}
