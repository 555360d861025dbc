/* html.h — every byte of a page goes through one of these, chosen by the
 * context it lands in (cgit's html.c is the model). Anything read from git,
 * the database or the request is hostile: names, paths, messages, file
 * contents. Raw output (html_lit) is reserved for string literals of our
 * own. All functions append to b and never fail. */
#ifndef PLUE_WEB_HTML_H
#define PLUE_WEB_HTML_H

#include <stddef.h>

#include "base/buf.h"

/* Our own markup, a string literal. */
void html_lit(struct buf *b, const char *literal);
/* Element text: & < > " ' escaped; invalid UTF-8 becomes U+FFFD; the
 * Unicode bidirectional controls (U+202A..U+202E, U+2066..U+2069, and the
 * marks U+200E/U+200F/U+061C) are shown as a visible <span class="bidi">
 * naming them instead of reordering what follows (the "Trojan Source"
 * attack); other C0 controls but tab and newline become U+FFFD. */
void html_txt(struct buf *b, const char *s);
void html_txtn(struct buf *b, const char *s, size_t n);
/* html_txt of a printf-formatted string (the format is ours, the
 * arguments may be hostile). */
void html_txtf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An attribute value inside double quotes: like html_txt, but bidi
 * controls are written as character references (&#x202E;): no markup is
 * possible there, and a form field's value round-trips unchanged. */
void html_attr(struct buf *b, const char *s);
/* The initial value of a <textarea>: escaped as an attribute, so what was
 * stored comes back unchanged when the form is sent (html_txt's bidi
 * marker would be sent back as text). */
void html_textarea(struct buf *b, const char *s);
/* Text shown to people in an element that holds no markup (<title>,
 * <option>, SVG <text>): like html_txt, but bidi controls become U+FFFD. */
void html_plain(struct buf *b, const char *s);
/* One URL path segment or a path of segments: every byte outside
 * [A-Za-z0-9-._~/] percent-encoded ('/' kept when keep_slash), so the
 * result is safe in an attribute and can never form a scheme. */
void html_path(struct buf *b, const char *s, int keep_slash);
/* A query-string value: every byte outside [A-Za-z0-9-._~] encoded. */
void html_query(struct buf *b, const char *s);
/* A link target we did not write ourselves (a repository's website, a
 * profile URL): only http:, https: and site-relative paths are kept, the
 * rest becomes "#"; then html_attr. */
void html_url(struct buf *b, const char *url);

#endif
