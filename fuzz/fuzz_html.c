/* fuzz_html.c — libFuzzer target for the page escapers (web/html.h): for
 * any input, html_txt and html_attr produce valid UTF-8 in which no byte of
 * the input can open a tag, end an attribute or start an entity, and the
 * URL escapers produce only their safe alphabet. */
// fuzz-sources: src/web/html.c src/base/buf.c src/base/util.c src/base/arena.c src/base/err.c
// fuzz-options: -max_len=4096
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 (what html.c considers valid: no overlongs, surrogates or
 * code points past U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/* Outside the markup html.c itself adds (the bidi span), no '<', '>',
 * '"' or '\'' and every '&' starts one of the entities it writes. */
static void check_text(const struct buf *b, int attr)
{
	const char *span = "<span class=\"bidi\">[U+";
	for (size_t i = 0; i < b->len; i++) {
		char c = b->ptr[i];
		if (!attr && c == '<' && !strncmp(b->ptr + i, span, strlen(span))) {
			const char *end = strstr(b->ptr + i, "]</span>");
			if (!end)
				abort();
			i = (size_t)(end - b->ptr) + strlen("]</span>") - 1;
			continue;
		}
		if (c == '<' || c == '>' || c == '"' || c == '\'')
			abort();
		if (c == '&' && strncmp(b->ptr + i, "&amp;", 5) && strncmp(b->ptr + i, "&lt;", 4) &&
		    strncmp(b->ptr + i, "&gt;", 4) && strncmp(b->ptr + i, "&quot;", 6) &&
		    strncmp(b->ptr + i, "&#39;", 5) && !(attr && !strncmp(b->ptr + i, "&#x", 3)))
			abort();
	}
	if (!utf8_ok((const unsigned char *)b->ptr, b->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct buf b = BUF_INIT;
	html_txtn(&b, s, size);
	check_text(&b, 0);
	buf_reset(&b);
	html_attr(&b, s);
	check_text(&b, 1);
	buf_reset(&b);
	html_path(&b, s, 1);
	for (size_t i = 0; i < b.len; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/%",
			    b.ptr[i]))
			abort();
	buf_reset(&b);
	html_url(&b, s);
	if (strcmp(b.ptr, "#") && strncasecmp(b.ptr, "http://", 7) && strncasecmp(b.ptr, "https://", 8) &&
	    b.ptr[0] != '/')
		abort();
	buf_release(&b);
	free(s);
	return 0;
}
