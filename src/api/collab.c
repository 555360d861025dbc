/* collab.c — what the issue, comment, label, milestone, reaction, pull
 * request and review handlers share at the edge: title and body fields
 * and cursor pagination. The rules are in forge/. */
#include "api/collab.h"
#include "api/api.h"
#include "base/buf.h"
#include "base/util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

/* ---- fields ---- */

int collab_title_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *s = NULL;
	int rc = json_str_field(r, field, required, SIZE_MAX, &s);
	if (rc || !s)
		return rc;
	return forge_title_check(out, FORGE(r), field, s);
}

int collab_body_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *s = NULL;
	int rc = json_str_field(r, field, required, SIZE_MAX, &s);
	if (rc || !s)
		return rc;
	if ((rc = forge_body_check(FORGE(r), field, s, required)))
		return rc;
	*out = s;
	return 0;
}

/* ---- cursors: base64url of "TAG|KEY|ID" ---- */

static const char *cursor_encode(struct arena *a, const char *tag, long long key, long long id)
{
	char plain[160];
	int n = snprintf(plain, sizeof(plain), "%s|%lld|%lld", tag, key, id);
	char *out = arena_alloc(a, 4 * ((size_t)n + 2) / 3 + 4);
	int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain, n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static int cursor_decode(struct arena *a, const char *tag, const char *s, struct cursor *cur)
{
	size_t n = strlen(s);
	if (n == 0 || n > 200)
		return -1;
	char *b64 = arena_alloc(a, n + 4);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum((unsigned char)c))
			return -1;
		b64[i] = c;
	}
	while (n % 4)
		b64[n++] = '=';
	unsigned char *plain = arena_alloc(a, n);
	int len = EVP_DecodeBlock(plain, (unsigned char *)b64, (int)n);
	if (len < 0)
		return -1;
	plain[len] = '\0'; /* padding decodes to trailing NULs, which end the string */
	size_t tl = strlen(tag);
	if (strncmp((char *)plain, tag, tl) || plain[tl] != '|')
		return -1;
	char *p = (char *)plain + tl + 1, *end;
	long long key = strtoll(p, &end, 10);
	if (end == p || *end != '|')
		return -1;
	p = end + 1;
	long long id = strtoll(p, &end, 10);
	if (end == p || *end)
		return -1;
	*cur = (struct cursor){ true, key, id };
	return 0;
}

int collab_page(struct req *r, const char *tag, int max, int *limit, struct cursor *cur)
{
	const char *l = req_query(r, "limit"), *c = req_query(r, "cursor");
	int64_t v = COLLAB_PAGE_DEFAULT < max ? COLLAB_PAGE_DEFAULT : max;
	if (l && parse_i64(l, 1, max, &v))
		return err_set(&r->err, ERR_INVALID, "invalid_limit",
			       "limit '%.20s' is not a number from 1 to %d", l, max);
	*limit = (int)v;
	memset(cur, 0, sizeof(*cur));
	if (c && *c && cursor_decode(r->arena, tag, c, cur))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor",
			       "cursor '%.40s' is not valid for this list", c);
	return 0;
}

const char *collab_cursor(struct req *r, const char *tag, const struct cursor *c)
{
	return cursor_encode(r->arena, tag, c->key, c->id);
}

void collab_next_page(struct req *r, struct resp *w, const char *tag, long long key, long long id)
{
	const char *c = cursor_encode(r->arena, tag, key, id);
	struct buf b = BUF_INIT;
	/* the same path and query, with cursor replaced */
	const char *q = strchr(r->path, '?');
	buf_add(&b, r->path, q ? (size_t)(q - r->path) : strlen(r->path));
	char sep = '?';
	for (size_t i = 0; i < r->nquery; i++) {
		if (!strcmp(r->query[i].name, "cursor"))
			continue;
		buf_addch(&b, sep);
		sep = '&';
		for (const char *p = r->query[i].name; *p; p++)
			buf_addf(&b,
				 isalnum((unsigned char)*p) || strchr("-_.~", *p) ? "%c" : "%%%02X",
				 (unsigned char)*p);
		buf_addch(&b, '=');
		for (const char *p = r->query[i].value; *p; p++)
			buf_addf(&b,
				 isalnum((unsigned char)*p) || strchr("-_.~", *p) ? "%c" : "%%%02X",
				 (unsigned char)*p);
	}
	buf_addf(&b, "%ccursor=%s", sep, c);
	resp_header(w, "Link",
		    arena_printf(r->arena, "<%s>; rel=\"next\"", forge_url(r->arena, b.ptr)));
	resp_header(w, "X-Next-Cursor", c);
	buf_release(&b);
}

void collab_page_respond(struct req *r, struct resp *w, const char *tag, struct page *pg)
{
	if (pg->next.set)
		collab_next_page(r, w, tag, pg->next.key, pg->next.id);
	resp_json(w, 200, pg->items);
	pg->items = NULL;
	resp_no_cache(r, w);
}
