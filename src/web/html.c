/* html.c — the context escapers every page writes through (web/html.h). */
#include "web/html.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

void html_lit(struct buf *b, const char *literal)
{
	buf_adds(b, literal);
}

/* The length of the valid UTF-8 sequence at s (n bytes left), and its code
 * point in *cp; 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static bool is_bidi(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
	       cp == 0x200f || cp == 0x061c;
}

/* How a bidi control is written: a visible marker (markup allowed), a
 * character reference (the value must round-trip), or U+FFFD (shown to
 * people where no markup can be). */
enum bidi_mode { BIDI_MARK, BIDI_REF, BIDI_REPLACE };

static void escape(struct buf *b, const char *str, size_t n, enum bidi_mode mode)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0; /* bytes [run, i) are copied as they are */
	while (i < n) {
		unsigned char c = s[i];
		const char *rep = NULL;
		size_t len = 1;
		char tmp[48];
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n') {
				rep = "\xef\xbf\xbd";
			} else if (c >= 0x80) {
				uint32_t cp;
				len = utf8_seq(s + i, n - i, &cp);
				if (!len) {
					len = 1;
					rep = "\xef\xbf\xbd";
				} else if (is_bidi(cp)) {
					if (mode == BIDI_REF)
						snprintf(tmp, sizeof(tmp), "&#x%04X;", (unsigned)cp);
					else if (mode == BIDI_MARK)
						snprintf(tmp, sizeof(tmp),
							 "<span class=\"bidi\">[U+%04X]</span>",
							 (unsigned)cp);
					else
						snprintf(tmp, sizeof(tmp), "\xef\xbf\xbd");
					rep = tmp;
				}
			}
		}
		if (rep) {
			buf_add(b, str + run, i - run);
			buf_adds(b, rep);
			run = i + len;
		}
		i += len;
	}
	buf_add(b, str + run, n - run);
}

void html_txtn(struct buf *b, const char *s, size_t n)
{
	escape(b, s, n, BIDI_MARK);
}

void html_txt(struct buf *b, const char *s)
{
	if (s)
		escape(b, s, strlen(s), BIDI_MARK);
}

void html_txtf(struct buf *b, const char *fmt, ...)
{
	struct buf t = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&t, fmt, ap);
	va_end(ap);
	escape(b, t.ptr, t.len, BIDI_MARK);
	buf_release(&t);
}

void html_attr(struct buf *b, const char *s)
{
	if (s)
		escape(b, s, strlen(s), BIDI_REF);
}

void html_textarea(struct buf *b, const char *s)
{
	html_attr(b, s);
}

void html_plain(struct buf *b, const char *s)
{
	if (s)
		escape(b, s, strlen(s), BIDI_REPLACE);
}

static void pct(struct buf *b, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) || (*keep && strchr(keep, *p))) {
			buf_addch(b, *p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

void html_path(struct buf *b, const char *s, int keep_slash)
{
	pct(b, s, keep_slash ? "/" : "");
}

void html_query(struct buf *b, const char *s)
{
	pct(b, s, "");
}

void html_url(struct buf *b, const char *url)
{
	if (url && (!strncasecmp(url, "https://", 8) || !strncasecmp(url, "http://", 7) ||
		    (url[0] == '/' && url[1] != '/' && url[1] != '\\')))
		html_attr(b, url);
	else
		buf_addch(b, '#');
}
