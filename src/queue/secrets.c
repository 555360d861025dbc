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

void secret_seal(struct arena *a, int64_t repo_id, const char *name, const char *value, size_t len,
		 const char **nonce_hex, const char **cipher_hex)
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
			      arena_int(a, repo_id), arena_strdup(a, b.ptr));
	buf_release(&b);
	if (!res) {
		json_decref(*out);
		*out = NULL;
		return e->code;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *val;
		if (secret_open(a, e, repo_id, db_val(res, r, 0), db_val(res, r, 1),
				db_val(res, r, 2), &val)) {
			json_decref(*out);
			*out = NULL;
			return e->code;
		}
		json_object_set_new(*out, db_val(res, r, 0), json_string(val));
	}
	return 0;
}

/* ---- masking ---- */

/* Needles are chained by a hash of their first MASK_KEY bytes (every
 * needle is at least that long), each chain longest first: at a position
 * of a string only the needles that can start there are compared, and the
 * first that matches is the longest. */
#define MASK_KEY 3
#define MASK_BUCKETS 4096

struct secret_mask {
	size_t n;
	char **needle;
	size_t *len;
	int32_t *next;              /* chain: the next (shorter or equal) needle */
	int32_t head[MASK_BUCKETS]; /* -1: no needle starts with such bytes */
};

struct needles {
	char **v;
	size_t *len;
	size_t n, cap;
};

static unsigned mask_hash(const unsigned char *p)
{
	return ((unsigned)p[0] * 31u * 31u + (unsigned)p[1] * 31u + (unsigned)p[2]) % MASK_BUCKETS;
}

static void needle_push(struct needles *nd, const char *p, size_t len)
{
	if (len < MASK_KEY)
		return;
	if (nd->n == nd->cap) {
		nd->cap = nd->cap ? nd->cap * 2 : 16;
		nd->v = xrealloc(nd->v, nd->cap * sizeof(*nd->v));
		nd->len = xrealloc(nd->len, nd->cap * sizeof(*nd->len));
	}
	nd->v[nd->n] = xmalloc(len + 1);
	memcpy(nd->v[nd->n], p, len);
	nd->v[nd->n][len] = '\0';
	nd->len[nd->n] = len;
	nd->n++;
}

/* The JSON-escaped form of p (as jansson prints a string, without the
 * quotes), malloc'd, or NULL when it would be the same as p. */
static char *json_escaped(const char *p, size_t len, size_t *outlen)
{
	json_t *j = json_stringn(p, len);
	char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!d)
		return NULL;
	size_t dl = strlen(d);
	if (dl < 2 || dl - 2 == len) { /* nothing was escaped */
		free(d);
		return NULL;
	}
	memmove(d, d + 1, dl - 2);
	d[dl - 2] = '\0';
	*outlen = dl - 2;
	return d;
}

/* p and its JSON-escaped forms (once and twice). */
static void needle_add(struct needles *nd, const char *p, size_t len)
{
	needle_push(nd, p, len);
	size_t l1, l2;
	char *e1 = json_escaped(p, len, &l1);
	if (!e1)
		return;
	needle_push(nd, e1, l1);
	char *e2 = json_escaped(e1, l1, &l2);
	if (e2)
		needle_push(nd, e2, l2);
	free(e2);
	free(e1);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Narrows [*p, *p + *len) to its part without surrounding white space. */
static void trim(const char **p, size_t *len)
{
	while (*len && is_space(**p))
		(*p)++, (*len)--;
	while (*len && is_space((*p)[*len - 1]))
		(*len)--;
}

/* UTF-8 characters in p (bytes that do not continue a character). */
static size_t utf8_chars(const char *p, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)p[i] & 0xc0) != 0x80;
	return n;
}

static void value_add(struct needles *nd, const char *v, size_t vl)
{
	if (vl >= SECRET_MASK_MIN_VALUE)
		needle_add(nd, v, vl);
	const char *t = v;
	size_t tl = vl;
	trim(&t, &tl);
	if (tl != vl && tl >= SECRET_MASK_MIN_VALUE)
		needle_add(nd, t, tl);
	if (!memchr(t, '\n', tl) && !memchr(t, '\r', tl))
		return;
	/* a multi-line value (a PEM key) is printed line by line as often as
	 * whole: each line long enough to mean something is a secret too */
	const char *end = t + tl;
	for (const char *p = t; p < end;) {
		size_t ll = strcspn(p, "\r\n");
		if (ll > (size_t)(end - p))
			ll = (size_t)(end - p);
		const char *lp = p;
		size_t lt = ll;
		trim(&lp, &lt);
		if (utf8_chars(lp, lt) >= SECRET_MASK_MIN_LINE)
			needle_add(nd, lp, lt);
		p += ll;
		while (p < end && (*p == '\r' || *p == '\n'))
			p++;
	}
}

static int needle_cmp(const void *a, const void *b, void *arg)
{
	const size_t *len = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return len[x] != len[y] ? (len[x] < len[y] ? 1 : -1) : (x > y) - (x < y);
}

struct secret_mask *secret_mask_new(json_t *secrets)
{
	struct needles nd = { 0 };
	const char *key;
	json_t *v;
	json_object_foreach(secrets, key, v)
	{
		if (json_is_string(v))
			value_add(&nd, json_string_value(v), json_string_length(v));
	}
	struct secret_mask *m = xcalloc(1, sizeof(*m));
	for (size_t b = 0; b < MASK_BUCKETS; b++)
		m->head[b] = -1;
	if (!nd.n)
		return m;
	/* longest first, each string once */
	size_t *ord = xcalloc(nd.n, sizeof(*ord));
	for (size_t i = 0; i < nd.n; i++)
		ord[i] = i;
	qsort_r(ord, nd.n, sizeof(*ord), needle_cmp, nd.len);
	m->needle = xcalloc(nd.n, sizeof(*m->needle));
	m->len = xcalloc(nd.n, sizeof(*m->len));
	m->next = xcalloc(nd.n, sizeof(*m->next));
	for (size_t i = 0; i < nd.n; i++) {
		size_t k = ord[i];
		bool dup = false;
		for (size_t j = m->n; j-- > 0 && m->len[j] == nd.len[k] && !dup;)
			dup = !memcmp(m->needle[j], nd.v[k], nd.len[k]);
		if (dup) {
			free(nd.v[k]);
			continue;
		}
		m->needle[m->n] = nd.v[k];
		m->len[m->n] = nd.len[k];
		m->n++;
	}
	/* chains in index order, which is longest first */
	for (size_t i = m->n; i-- > 0;) {
		unsigned h = mask_hash((const unsigned char *)m->needle[i]);
		m->next[i] = m->head[h];
		m->head[h] = (int32_t)i;
	}
	free(ord);
	free(nd.v);
	free(nd.len);
	return m;
}

void secret_mask_free(struct secret_mask *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		sodium_memzero(m->needle[i], m->len[i]);
		free(m->needle[i]);
	}
	free(m->needle);
	free(m->len);
	free(m->next);
	free(m);
}

bool secret_mask_empty(const struct secret_mask *m)
{
	return !m || !m->n;
}

char *secret_mask_apply(const struct secret_mask *m, const char *s)
{
	if (secret_mask_empty(m) || !s)
		return NULL;
	size_t len = strlen(s);
	struct buf out = BUF_INIT;
	bool any = false;
	size_t copied = 0, cov_start = 0, cov_end = 0; /* the hidden span being grown */
	for (size_t i = 0; i + MASK_KEY <= len; i++) {
		size_t hit = 0;
		for (int32_t k = m->head[mask_hash((const unsigned char *)s + i)]; k >= 0;
		     k = m->next[k]) {
			if (m->len[k] <= len - i && !memcmp(s + i, m->needle[k], m->len[k])) {
				hit = m->len[k];
				break;
			}
		}
		if (!hit)
			continue;
		if (any && i < cov_end) {
			/* overlaps the span: one *** for both */
			if (i + hit > cov_end)
				cov_end = i + hit;
			continue;
		}
		if (any) {
			buf_add(&out, s + copied, cov_start - copied);
			buf_adds(&out, "***");
			copied = cov_end;
		}
		any = true;
		cov_start = i;
		cov_end = i + hit;
	}
	if (!any)
		return NULL;
	buf_add(&out, s + copied, cov_start - copied);
	buf_adds(&out, "***");
	buf_adds(&out, s + cov_end);
	return buf_detach(&out, NULL);
}

int secret_mask_json(const struct secret_mask *m, json_t *j)
{
	if (secret_mask_empty(m) || !j)
		return 0;
	int n = 0;
	if (json_is_string(j)) {
		char *s = secret_mask_apply(m, json_string_value(j));
		if (s) {
			json_string_set(j, s);
			free(s);
			n++;
		}
	} else if (json_is_object(j)) {
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) n += secret_mask_json(m, v);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) n += secret_mask_json(m, v);
	}
	return n;
}

static void mask_free_cb(void *m)
{
	secret_mask_free(m);
}

int secret_mask_load(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, json_t *spec,
		     struct secret_mask **out)
{
	json_t *secrets = NULL;
	json_t *names = json_object_get(spec, "secret_names");
	*out = NULL;
	if (json_array_size(names)) {
		int rc = secrets_load(db, a, e, repo_id, names, &secrets);
		if (rc)
			return rc;
	}
	*out = secret_mask_new(secrets);
	json_decref(secrets);
	arena_defer(a, mask_free_cb, *out);
	return 0;
}

char *secrets_mask(json_t *secrets, const char *line)
{
	struct secret_mask *m = secret_mask_new(secrets);
	char *r = secret_mask_apply(m, line);
	secret_mask_free(m);
	return r;
}
