/* siwe.c — Sign-In with Ethereum (EIP-4361): a strict, line-by-line parser
 * for the message grammar and the server-side checks of a parsed message.
 *
 * The grammar is the EIP's ABNF (with the optional "scheme://" prefix and
 * the empty statement that the reference parser accepts). Everything is
 * length-delimited: the input need not be NUL-terminated and may hold any
 * bytes, so every character class is checked explicitly. */
#include "auth/siwe.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/eth.h"

#define HEADER_SUFFIX " wants you to sign in with your Ethereum account:"
#define SLUG_MALFORMED "siwe_malformed"

/* A view of part of the input. */
struct span {
	const char *p;
	size_t n;
};

/* Walks the input one LF-terminated line at a time. After a final LF there
 * is one more, empty, line: that is how trailing newlines are caught. */
struct lines {
	const char *p, *end; /* p is NULL once the last line was taken */
	int lineno;          /* number of the line last taken, from 1 */
};

static bool line_next(struct lines *l, struct span *out)
{
	if (!l->p)
		return false;
	const char *lf = memchr(l->p, '\n', (size_t)(l->end - l->p));
	out->p = l->p;
	out->n = (size_t)((lf ? lf : l->end) - l->p);
	l->p = lf ? lf + 1 : NULL;
	l->lineno++;
	return true;
}

/* Looks at the next line without taking it. */
static bool line_peek(const struct lines *l, struct span *out)
{
	struct lines copy = *l;
	return line_next(&copy, out);
}

/* Copies at most 40 bytes of s into out for an error message, replacing
 * anything but printable ASCII: the input is hostile and messages end up
 * in JSON and logs. */
static const char *quote(char out[48], struct span s)
{
	size_t n = s.n > 40 ? 40 : s.n, i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		out[i] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	if (s.n > n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static bool starts_with(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

static struct span after(struct span s, size_t k)
{
	return (struct span){ s.p + k, s.n - k };
}

/* ---- character classes (RFC 3986 §2, RFC 5234) ---- */

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(int c)
{
	return c && strchr("!$&'()*+,;=", c) != NULL;
}

static bool is_gen_delim(int c)
{
	return c && strchr(":/?#[]@", c) != NULL;
}

/* Length of a percent-encoding at s[i] ("%" HEXDIG HEXDIG), or 0. */
static size_t pct_len(struct span s, size_t i)
{
	return (i + 2 < s.n && s.p[i] == '%' && is_hex((unsigned char)s.p[i + 1]) &&
		is_hex((unsigned char)s.p[i + 2]))
		       ? 3
		       : 0;
}

/* Do all of s's bytes belong to unreserved / pct-encoded / sub-delims, or
 * to the extra characters listed? */
static bool all_uchars(struct span s, const char *extra)
{
	for (size_t i = 0; i < s.n; i++) {
		int c = (unsigned char)s.p[i];
		size_t pl;
		if (is_unreserved(c) || is_sub_delim(c) || (c && strchr(extra, c)))
			continue;
		if ((pl = pct_len(s, i)) == 0)
			return false;
		i += pl - 1;
	}
	return true;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static bool scheme_valid(struct span s)
{
	if (s.n == 0 || !is_alpha((unsigned char)s.p[0]))
		return false;
	for (size_t i = 1; i < s.n; i++) {
		int c = (unsigned char)s.p[i];
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
			return false;
	}
	return true;
}

/* IP-literal = "[" ( IPv6address / IPvFuture ) "]", brackets excluded. */
static bool ip_literal_valid(struct span s)
{
	char tmp[64];
	unsigned char addr[16];

	if (s.n > 0 && (s.p[0] == 'v' || s.p[0] == 'V')) {
		size_t i = 1;
		while (i < s.n && is_hex((unsigned char)s.p[i]))
			i++;
		if (i == 1 || i >= s.n || s.p[i] != '.' || i + 1 == s.n)
			return false;
		for (i++; i < s.n; i++) {
			int c = (unsigned char)s.p[i];
			if (!is_unreserved(c) && !is_sub_delim(c) && c != ':')
				return false;
		}
		return true;
	}
	if (s.n == 0 || s.n >= sizeof(tmp))
		return false;
	memcpy(tmp, s.p, s.n);
	tmp[s.n] = '\0';
	return inet_pton(AF_INET6, tmp, addr) == 1;
}

/* authority = [ userinfo "@" ] host [ ":" port ]; the host must not be
 * empty (the grammar allows it, but no server is called ""). */
static bool authority_valid(struct span s)
{
	const char *at = memchr(s.p, '@', s.n);
	struct span host;

	if (at) {
		struct span ui = { s.p, (size_t)(at - s.p) };
		if (!all_uchars(ui, ":"))
			return false;
		s = (struct span){ at + 1, s.n - ui.n - 1 };
	}
	host = s;
	if (s.n > 0 && s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.n);
		if (!close || !ip_literal_valid((struct span){ s.p + 1, (size_t)(close - s.p - 1) }))
			return false;
		host.n = (size_t)(close - s.p + 1);
	} else {
		const char *colon = memchr(s.p, ':', s.n);
		if (colon)
			host.n = (size_t)(colon - s.p);
		if (host.n == 0 || !all_uchars(host, ""))
			return false;
	}
	s = after(s, host.n);
	if (s.n == 0)
		return true;
	if (s.p[0] != ':')
		return false;
	for (size_t i = 1; i < s.n; i++)
		if (!is_digit((unsigned char)s.p[i]))
			return false;
	return true;
}

/* URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ] (RFC 3986 §3:
 * an absolute URI, fragment allowed). The scheme's length goes to
 * scheme_len. */
static bool uri_valid(struct span s, size_t *scheme_len)
{
	const char *colon = memchr(s.p, ':', s.n);
	if (!colon || !scheme_valid((struct span){ s.p, (size_t)(colon - s.p) }))
		return false;
	*scheme_len = (size_t)(colon - s.p);
	s = after(s, *scheme_len + 1);

	/* hier-part ends at the first "?" or "#" */
	size_t hier = 0;
	while (hier < s.n && s.p[hier] != '?' && s.p[hier] != '#')
		hier++;
	struct span path = { s.p, hier };
	if (starts_with(path, "//")) {
		size_t a = 2;
		while (a < path.n && path.p[a] != '/')
			a++;
		if (!authority_valid((struct span){ path.p + 2, a - 2 }))
			return false;
		path = after(path, a);
	}
	/* path-abempty / path-absolute / path-rootless / path-empty: pchar
	 * and "/" ("//" at the start was taken as an authority above) */
	if (!all_uchars(path, ":@/"))
		return false;
	s = after(s, hier);
	if (s.n > 0 && s.p[0] == '?') {
		size_t q = 1;
		while (q < s.n && s.p[q] != '#')
			q++;
		if (!all_uchars((struct span){ s.p + 1, q - 1 }, ":@/?"))
			return false;
		s = after(s, q);
	}
	if (s.n > 0 && s.p[0] == '#')
		return all_uchars(after(s, 1), ":@/?");
	return s.n == 0;
}

/* statement = *( reserved / unreserved / " " ) */
static bool statement_valid(struct span s)
{
	for (size_t i = 0; i < s.n; i++) {
		int c = (unsigned char)s.p[i];
		if (!is_unreserved(c) && !is_sub_delim(c) && !is_gen_delim(c) && c != ' ')
			return false;
	}
	return true;
}

/* ---- RFC 3339 date-time ---- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

/* n decimal digits at s.p[i] as a number, or -1. */
static int digits(struct span s, size_t i, size_t n)
{
	int v = 0;
	if (i + n > s.n)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (!is_digit((unsigned char)s.p[i + k]))
			return -1;
		v = v * 10 + (s.p[i + k] - '0');
	}
	return v;
}

static bool char_at(struct span s, size_t i, char c)
{
	return i < s.n && s.p[i] == c;
}

/* date-time = full-date "T" partial-time time-offset, e.g.
 * 2024-05-01T12:00:00.123+02:00. Fractional seconds are truncated; a leap
 * second (:60) counts as the next second. */
static bool datetime_parse(struct span s, int64_t *out)
{
	int Y = digits(s, 0, 4), M = digits(s, 5, 2), D = digits(s, 8, 2);
	int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
	size_t i = 19;
	int64_t off = 0;

	if (Y < 0 || M < 1 || M > 12 || D < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 60 || !char_at(s, 4, '-') || !char_at(s, 7, '-') ||
	    !(char_at(s, 10, 'T') || char_at(s, 10, 't')) || !char_at(s, 13, ':') ||
	    !char_at(s, 16, ':') || D > days_in_month(Y, M))
		return false;
	if (char_at(s, i, '.')) {
		size_t start = ++i;
		while (i < s.n && is_digit((unsigned char)s.p[i]))
			i++;
		if (i == start)
			return false;
	}
	if (char_at(s, i, 'Z') || char_at(s, i, 'z')) {
		i++;
	} else if (char_at(s, i, '+') || char_at(s, i, '-')) {
		int oh = digits(s, i + 1, 2), om = digits(s, i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59 || !char_at(s, i + 3, ':'))
			return false;
		off = (oh * 60 + om) * 60;
		if (s.p[i] == '-')
			off = -off;
		i += 6;
	} else {
		return false;
	}
	if (i != s.n)
		return false;
	*out = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - off;
	return true;
}

/* ---- the message ---- */

struct parser {
	struct lines l;
	struct arena *a;
	struct err *e;
	struct span line; /* the line last taken */
};

static int malformed(struct parser *ps, const char *what)
{
	char q[48];
	return err_set(ps->e, ERR_INVALID, SLUG_MALFORMED, "siwe message line %d: %s (got '%s')",
		       ps->l.lineno, what, quote(q, ps->line));
}

/* Takes the next line, which must start with title; *value is the rest. */
static int field_line(struct parser *ps, const char *title, struct span *value)
{
	if (!line_next(&ps->l, &ps->line)) {
		return err_set(ps->e, ERR_INVALID, SLUG_MALFORMED,
			       "siwe message ends before the '%.*s' line", (int)strcspn(title, ":"),
			       title);
	}
	if (!starts_with(ps->line, title)) {
		char what[64];
		snprintf(what, sizeof(what), "expected '%s'", title);
		return malformed(ps, what);
	}
	*value = after(ps->line, strlen(title));
	return 0;
}

/* Takes the next line if it starts with title. */
static bool optional_line(struct parser *ps, const char *title, struct span *value)
{
	struct span next;
	if (!line_peek(&ps->l, &next) || !starts_with(next, title))
		return false;
	line_next(&ps->l, &ps->line);
	*value = after(ps->line, strlen(title));
	return true;
}

static int datetime_field(struct parser *ps, const char *title, const char **str, int64_t *unix_out,
			  bool optional)
{
	struct span v;
	int rc;

	if (optional) {
		if (!optional_line(ps, title, &v))
			return 0;
	} else if ((rc = field_line(ps, title, &v)) < 0) {
		return rc;
	}
	if (!datetime_parse(v, unix_out)) {
		char what[80];
		snprintf(what, sizeof(what), "'%.*s' is not an RFC 3339 date-time",
			 (int)strcspn(title, ":"), title);
		return malformed(ps, what);
	}
	*str = arena_strndup(ps->a, v.p, v.n);
	return 0;
}

/* Line 1: [ scheme "://" ] domain " wants you to sign in with your
 * Ethereum account:" */
static int parse_header(struct parser *ps, struct siwe_msg *m)
{
	size_t slen = strlen(HEADER_SUFFIX);
	struct span d;

	line_next(&ps->l, &ps->line);
	if (ps->line.n < slen || memcmp(ps->line.p + ps->line.n - slen, HEADER_SUFFIX, slen) != 0)
		return malformed(ps, "expected '<domain>" HEADER_SUFFIX "'");
	d = (struct span){ ps->line.p, ps->line.n - slen };
	for (size_t i = 0; i + 3 <= d.n; i++) {
		if (memcmp(d.p + i, "://", 3) != 0)
			continue;
		struct span scheme = { d.p, i };
		if (!scheme_valid(scheme))
			return malformed(ps, "invalid scheme before the domain");
		m->scheme = arena_strndup(ps->a, scheme.p, scheme.n);
		d = after(d, i + 3);
		break;
	}
	if (!authority_valid(d))
		return malformed(ps, "domain is not a valid RFC 3986 authority");
	m->domain = arena_strndup(ps->a, d.p, d.n);
	return 0;
}

/* Lines 2 to 5 or 6: address, blank, [statement], blank. An empty
 * statement line (three blank lines) is what the reference implementation
 * writes for statement ""; it is accepted as "". */
static int parse_address_statement(struct parser *ps, struct siwe_msg *m)
{
	struct span next;

	if (!line_next(&ps->l, &ps->line))
		return err_set(ps->e, ERR_INVALID, SLUG_MALFORMED,
			       "siwe message ends before the address line");
	if (ps->line.n != 42 || !starts_with(ps->line, "0x"))
		return malformed(ps, "address must be 0x followed by 40 hex digits");
	for (size_t i = 2; i < 42; i++)
		if (!is_hex((unsigned char)ps->line.p[i]))
			return malformed(ps, "address must be 0x followed by 40 hex digits");
	m->address = arena_strndup(ps->a, ps->line.p, ps->line.n);

	if (!line_next(&ps->l, &ps->line) || ps->line.n != 0)
		return malformed(ps, "expected an empty line after the address");
	if (!line_next(&ps->l, &ps->line))
		return err_set(ps->e, ERR_INVALID, SLUG_MALFORMED,
			       "siwe message ends before the 'URI' line");
	if (ps->line.n == 0) {
		/* no statement, or an empty one */
		if (line_peek(&ps->l, &next) && next.n == 0) {
			line_next(&ps->l, &ps->line);
			m->statement = "";
		}
		return 0;
	}
	if (!statement_valid(ps->line))
		return malformed(ps, "statement may hold only RFC 3986 reserved and unreserved "
				     "characters and spaces");
	m->statement = arena_strndup(ps->a, ps->line.p, ps->line.n);
	if (!line_next(&ps->l, &ps->line) || ps->line.n != 0)
		return malformed(ps, "expected an empty line after the statement");
	return 0;
}

static int parse_uri(struct parser *ps, struct span v, const char *field, const char **out)
{
	size_t scheme_len;
	if (!uri_valid(v, &scheme_len)) {
		char what[64];
		snprintf(what, sizeof(what), "%s is not an absolute RFC 3986 URI", field);
		return malformed(ps, what);
	}
	*out = arena_strndup(ps->a, v.p, v.n);
	return 0;
}

/* Names a line that is out of place for the error message. */
static const char *known_title(struct span s)
{
	static const char *titles[] = { "URI: ",        "Version: ",    "Chain ID: ",
					"Nonce: ",      "Issued At: ",  "Expiration Time: ",
					"Not Before: ", "Request ID: ", "Resources:" };
	for (size_t i = 0; i < sizeof(titles) / sizeof(*titles); i++)
		if (starts_with(s, titles[i]))
			return titles[i];
	return NULL;
}

static int parse_body(struct parser *ps, struct siwe_msg *m)
{
	struct span v;
	int rc;

	if ((rc = field_line(ps, "URI: ", &v)) < 0 || (rc = parse_uri(ps, v, "uri", &m->uri)) < 0)
		return rc;

	if ((rc = field_line(ps, "Version: ", &v)) < 0)
		return rc;
	if (v.n != 1 || v.p[0] != '1') {
		char q[48];
		return err_set(ps->e, ERR_INVALID, "siwe_bad_version",
			       "siwe message line %d: version '%s' is not supported (only 1)",
			       ps->l.lineno, quote(q, v));
	}
	m->version = "1";

	if ((rc = field_line(ps, "Chain ID: ", &v)) < 0)
		return rc;
	m->chain_id = 0;
	if (v.n == 0)
		return malformed(ps, "chain id must be a decimal number");
	for (size_t i = 0; i < v.n; i++) {
		if (!is_digit((unsigned char)v.p[i]))
			return malformed(ps, "chain id must be a decimal number");
		int d = v.p[i] - '0';
		if (m->chain_id > (INT64_MAX - d) / 10)
			return malformed(ps, "chain id is out of range");
		m->chain_id = m->chain_id * 10 + d;
	}

	if ((rc = field_line(ps, "Nonce: ", &v)) < 0)
		return rc;
	if (v.n < 8)
		return malformed(ps, "nonce must be at least 8 letters and digits");
	for (size_t i = 0; i < v.n; i++)
		if (!is_alpha((unsigned char)v.p[i]) && !is_digit((unsigned char)v.p[i]))
			return malformed(ps, "nonce may hold only letters and digits");
	m->nonce = arena_strndup(ps->a, v.p, v.n);

	if ((rc = datetime_field(ps, "Issued At: ", &m->issued_at, &m->issued_at_unix, false)) < 0 ||
	    (rc = datetime_field(ps, "Expiration Time: ", &m->expiration_time, &m->expiration_unix,
				 true)) < 0 ||
	    (rc = datetime_field(ps, "Not Before: ", &m->not_before, &m->not_before_unix, true)) < 0)
		return rc;

	if (optional_line(ps, "Request ID: ", &v)) {
		if (!all_uchars(v, ":@"))
			return malformed(ps, "request id may hold only RFC 3986 path characters");
		m->request_id = arena_strndup(ps->a, v.p, v.n);
	}

	struct span peek;
	if (line_peek(&ps->l, &peek) && peek.n == strlen("Resources:") &&
	    starts_with(peek, "Resources:")) {
		size_t n = 0;
		line_next(&ps->l, &ps->line);
		struct lines count = ps->l;
		while (line_next(&count, &peek) && starts_with(peek, "- "))
			n++;
		m->resources = arena_alloc(ps->a, (n ? n : 1) * sizeof(*m->resources));
		for (size_t k = 0; k < n; k++) {
			line_next(&ps->l, &ps->line);
			if ((rc = parse_uri(ps, after(ps->line, 2), "resource", &m->resources[k])) <
			    0)
				return rc;
		}
		m->nresources = n;
	}

	if (line_next(&ps->l, &ps->line)) {
		const char *t = known_title(ps->line);
		char what[80];
		if (t)
			snprintf(what, sizeof(what), "'%.*s' is out of order or repeated",
				 (int)strcspn(t, ":"), t);
		else
			snprintf(what, sizeof(what), "unexpected text after the last field");
		return malformed(ps, what);
	}
	return 0;
}

int siwe_parse(struct siwe_msg *out, struct arena *a, const char *text, size_t len, struct err *e)
{
	struct parser ps = { .l = { text, text + len, 0 }, .a = a, .e = e };
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > SIWE_MAX_LEN)
		return err_set(e, ERR_INVALID, SLUG_MALFORMED,
			       "siwe message is %zu bytes, more than the %d allowed", len,
			       SIWE_MAX_LEN);
	if (len == 0)
		return err_set(e, ERR_INVALID, SLUG_MALFORMED, "siwe message is empty");
	/* Lines end with LF alone. A CR would otherwise show up later as an
	 * odd character in whatever field it ends; say what it is. */
	const char *cr = memchr(text, '\r', len);
	if (cr) {
		int lineno = 1;
		for (const char *p = text; p < cr; p++)
			lineno += *p == '\n';
		return err_set(e, ERR_INVALID, SLUG_MALFORMED,
			       "siwe message line %d: contains a carriage return (lines must end "
			       "with LF alone)",
			       lineno);
	}

	if ((rc = parse_header(&ps, out)) < 0 || (rc = parse_address_statement(&ps, out)) < 0 ||
	    (rc = parse_body(&ps, out)) < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	return 0;
}

int siwe_check(const struct siwe_msg *m, const char *expected_domain,
	       const char *expected_uri_prefix, int64_t now, int skew_seconds, struct err *e)
{
	unsigned char addr[20];

	if (strcmp(m->domain, expected_domain) != 0)
		return err_set(e, ERR_AUTH, "siwe_domain_mismatch",
			       "siwe message is for domain '%.64s', not '%s'", m->domain,
			       expected_domain);
	/* A scheme on the domain line must be the one this server is reached
	 * by (the URI prefix's when given, else http or https). */
	if (m->scheme) {
		size_t n = strlen(m->scheme);
		bool ok = expected_uri_prefix
				  ? strncasecmp(expected_uri_prefix, m->scheme, n) == 0 &&
					    strncmp(expected_uri_prefix + n, "://", 3) == 0
				  : strcasecmp(m->scheme, "http") == 0 ||
					    strcasecmp(m->scheme, "https") == 0;
		if (!ok)
			return err_set(e, ERR_AUTH, "siwe_domain_mismatch",
				       "siwe message scheme '%.16s' does not match this server",
				       m->scheme);
	}
	if (strncasecmp(m->uri, "http://", 7) != 0 && strncasecmp(m->uri, "https://", 8) != 0)
		return err_set(e, ERR_AUTH, "siwe_bad_uri",
			       "siwe message uri '%.64s' is not http or https", m->uri);
	if (expected_uri_prefix &&
	    strncmp(m->uri, expected_uri_prefix, strlen(expected_uri_prefix)) != 0)
		return err_set(e, ERR_AUTH, "siwe_bad_uri",
			       "siwe message uri '%.64s' is not under '%s'", m->uri,
			       expected_uri_prefix);
	if (eth_address_parse(addr, m->address, true, e) < 0)
		return ERR_AUTH;
	if (m->expiration_time && now - skew_seconds >= m->expiration_unix)
		return err_set(e, ERR_AUTH, "siwe_expired", "siwe message expired at '%s'",
			       m->expiration_time);
	if (m->not_before && now + skew_seconds < m->not_before_unix)
		return err_set(e, ERR_AUTH, "siwe_not_yet_valid",
			       "siwe message is not valid before '%s'", m->not_before);
	if (now + skew_seconds < m->issued_at_unix)
		return err_set(e, ERR_AUTH, "siwe_not_yet_valid",
			       "siwe message is issued in the future at '%s'", m->issued_at);
	return 0;
}
