/* markdown.c — cmark-gfm rendering with raw HTML disabled, and the
 * @mention / #123 scanner that both the renderer (to make links) and the
 * API (to record mentions and cross-references) use. References are taken
 * from text nodes of the parsed document only, so code spans, code blocks,
 * raw HTML and existing links never yield one. */
#include "web/markdown.h"
#include "base/util.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MD_OPTIONS (CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_GITHUB_PRE_LANG)
#define MD_MAX_LINKS 500 /* reference links made in one body */
#define USERNAME_MAX 100

static const char *const extension_names[] = { "table", "tasklist", "autolink", "strikethrough",
					       "tagfilter" };

static pthread_once_t registered = PTHREAD_ONCE_INIT;

static void register_extensions(void)
{
	cmark_gfm_core_extensions_ensure_registered();
}

/* cmark-gfm 0.29.0.gfm.6 has two super-linear paths that a 64 KiB body
 * can reach: the autolink extension rescans the rest of a word for every
 * "www." or "@" in it ("www._" repeated takes seconds), and the table
 * extension pads every short row to the header's width (a 1000-column
 * header over thousands of one-cell rows allocates gigabytes). Both are
 * estimated here in linear time; a body over budget is rendered without
 * that one extension (its autolinks or tables stay plain text). */
#define AUTOLINK_BUDGET 8000000ULL /* characters rescanned */
#define TABLE_BUDGET 200000ULL     /* cells allocated */

static bool autolink_too_costly(const char *md, size_t len)
{
	unsigned long long cost = 0, triggers = 0;
	size_t run_start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || isspace((unsigned char)md[i]) || md[i] == '<') {
			cost += triggers * (i - run_start);
			triggers = 0;
			run_start = i + 1;
		} else if (md[i] == '@' || ((md[i] | 0x20) == 'w' && len - i >= 4 &&
					    !strncasecmp(md + i, "www.", 4))) {
			triggers++;
		}
	}
	return cost > AUTOLINK_BUDGET;
}

/* Is this line (possibly inside quotes or list items) a table delimiter
 * row? Returns its column count, or 0. */
static size_t delimiter_columns(const char *s, size_t n)
{
	size_t pipes = 0, dashes = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '|')
			pipes++;
		else if (s[i] == '-')
			dashes++;
		else if (!strchr(" \t>:*+.)0123456789", s[i]))
			return 0;
	}
	return pipes && dashes ? pipes + 1 : 0;
}

static bool table_too_costly(const char *md, size_t len)
{
	unsigned long long cost = 0, cols = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(md + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - md) : len, n = end - i;
		bool blank = true;
		for (size_t k = i; k < end; k++)
			if (!isspace((unsigned char)md[k]) && md[k] != '>')
				blank = false;
		if (blank) {
			cols = 0;
		} else {
			size_t c = delimiter_columns(md + i, n);
			if (c)
				cols = c > cols ? c : cols;
			else
				cost += cols; /* a body row: padded to the widest header above */
		}
		i = end + 1;
	}
	return cost > TABLE_BUDGET;
}

/* A parser with the GFM extensions attached; the document is returned in
 * *doc. Both are freed by the caller (the document first). */
static cmark_parser *parse(const char *md, size_t len, cmark_node **doc)
{
	pthread_once(&registered, register_extensions);
	cmark_parser *p = cmark_parser_new(MD_OPTIONS);
	if (!p)
		die("markdown: cannot create a parser");
	bool no_autolink = autolink_too_costly(md, len), no_table = table_too_costly(md, len);
	for (size_t i = 0; i < sizeof(extension_names) / sizeof(extension_names[0]); i++) {
		if ((no_autolink && !strcmp(extension_names[i], "autolink")) ||
		    (no_table && !strcmp(extension_names[i], "table")))
			continue;
		cmark_syntax_extension *ext = cmark_find_syntax_extension(extension_names[i]);
		if (!ext)
			die("markdown: extension '%s' is missing", extension_names[i]);
		cmark_parser_attach_syntax_extension(p, ext);
	}
	cmark_parser_feed(p, md, len);
	*doc = cmark_parser_finish(p);
	if (!*doc)
		die("markdown: cannot parse");
	/* emphasis delimiters split text into several nodes ("@a_b" would be
	 * "@a", "_", "b"); references are read from whole runs */
	cmark_consolidate_text_nodes(*doc);
	return p;
}

/* Text nodes that may hold references: not inside a link or image. */
struct text_nodes {
	cmark_node **v;
	size_t n, cap;
};

static bool inside_link(cmark_node *n)
{
	for (cmark_node *p = cmark_node_parent(n); p; p = cmark_node_parent(p)) {
		cmark_node_type t = cmark_node_get_type(p);
		if (t == CMARK_NODE_LINK || t == CMARK_NODE_IMAGE)
			return true;
	}
	return false;
}

static void text_nodes_collect(cmark_node *doc, struct text_nodes *out)
{
	cmark_iter *it = cmark_iter_new(doc);
	cmark_event_type ev;
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		if (ev != CMARK_EVENT_ENTER || cmark_node_get_type(n) != CMARK_NODE_TEXT)
			continue;
		if (inside_link(n))
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 32;
			out->v = xrealloc(out->v, out->cap * sizeof(*out->v));
		}
		out->v[out->n++] = n;
	}
	cmark_iter_free(it);
}

/* ---- the reference scanner ---- */

enum ref_kind { REF_MENTION, REF_ISSUE };

struct ref {
	enum ref_kind kind;
	size_t start, len; /* the whole "@name" or "#12" */
	size_t name_len;   /* mention: length of name (after the '@') */
	long long number;  /* issue */
};

/* May a reference start after character c? Not inside words, e-mail
 * addresses, paths or entities. */
static bool ref_boundary(unsigned char c)
{
	return !isalnum(c) && !strchr("_@#/.-&`+=", c);
}

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* Finds the next reference in s[*pos..n); advances *pos past it. */
static bool ref_next(const char *s, size_t n, size_t *pos, struct ref *out)
{
	for (size_t i = *pos; i < n; i++) {
		char c = s[i];
		if ((c != '@' && c != '#') || (i > 0 && !ref_boundary((unsigned char)s[i - 1])))
			continue;
		size_t j = i + 1, k = j;
		if (c == '@') {
			if (j >= n || !isalnum((unsigned char)s[j]))
				continue;
			while (k < n && name_char((unsigned char)s[k]))
				k++;
			size_t end = k;
			while (end > j && s[end - 1] == '.') /* "thanks @bob." */
				end--;
			if (end - j > USERNAME_MAX || (k < n && s[k] == '@'))
				continue;
			*out = (struct ref){ REF_MENTION, i, end - i, end - j, 0 };
			*pos = end;
			return true;
		}
		while (k < n && isdigit((unsigned char)s[k]))
			k++;
		if (k == j || k - j > 15 || (k < n && (isalnum((unsigned char)s[k]) || s[k] == '_')))
			continue;
		long long num = strtoll(s + j, NULL, 10);
		if (num <= 0)
			continue;
		*out = (struct ref){ REF_ISSUE, i, k - i, 0, num };
		*pos = k;
		return true;
	}
	*pos = n;
	return false;
}

static long mention_index(const struct md_refs *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->nmentions; i++)
		if (strlen(r->mentions[i]) == len && !strncasecmp(r->mentions[i], name, len))
			return (long)i;
	return -1;
}

static long issue_index(const struct md_refs *r, long long num)
{
	for (size_t i = 0; i < r->nissues; i++)
		if (r->issues[i] == num)
			return (long)i;
	return -1;
}

static void refs_from_nodes(const struct text_nodes *tn, struct md_refs *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < tn->n; i++) {
		const char *lit = cmark_node_get_literal(tn->v[i]);
		size_t n = lit ? strlen(lit) : 0, pos = 0;
		struct ref ref;
		while (ref_next(lit, n, &pos, &ref)) {
			if (ref.kind == REF_MENTION) {
				const char *name = lit + ref.start + 1;
				if (out->nmentions < MD_MAX_REFS &&
				    mention_index(out, name, ref.name_len) < 0)
					out->mentions[out->nmentions++] = xstrndup(name,
										   ref.name_len);
			} else if (out->nissues < MD_MAX_REFS && issue_index(out, ref.number) < 0) {
				out->issues[out->nissues++] = ref.number;
			}
		}
	}
}

void markdown_refs(const char *md, size_t len, struct md_refs *out)
{
	cmark_node *doc;
	cmark_parser *p = parse(md, len, &doc);
	struct text_nodes tn = { 0 };
	text_nodes_collect(doc, &tn);
	refs_from_nodes(&tn, out);
	free(tn.v);
	cmark_node_free(doc);
	cmark_parser_free(p);
}

void md_refs_release(struct md_refs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nmentions; i++)
		free(r->mentions[i]);
	memset(r, 0, sizeof(*r));
}

/* ---- rendering ---- */

struct linker {
	const struct md_links *links;
	struct md_refs refs;
	bool user_ok[MD_MAX_REFS];
	bool issue_ok[MD_MAX_REFS];
	size_t made;
};

/* The link target for a reference, or NULL when it stays text. Caller frees. */
static char *ref_url(struct linker *lk, const char *lit, const struct ref *ref)
{
	const struct md_links *l = lk->links;
	const char *base = l->base ? l->base : "";
	if (lk->made >= MD_MAX_LINKS)
		return NULL;
	if (ref->kind == REF_MENTION) {
		long i = mention_index(&lk->refs, lit + ref->start + 1, ref->name_len);
		if (i < 0 || !lk->user_ok[i])
			return NULL;
		return xasprintf("%s/%.*s", base, (int)ref->name_len, lit + ref->start + 1);
	}
	if (!l->owner || !l->repo)
		return NULL;
	long i = issue_index(&lk->refs, ref->number);
	if (i < 0 || !lk->issue_ok[i])
		return NULL;
	return xasprintf("%s/%s/%s/issues/%lld", base, l->owner, l->repo, ref->number);
}

static cmark_node *text_node(const char *s, size_t len)
{
	cmark_node *t = cmark_node_new(CMARK_NODE_TEXT);
	char *dup = xstrndup(s, len);
	cmark_node_set_literal(t, dup);
	free(dup);
	return t;
}

/* Splits one text node around its references, inserting link nodes. */
static void link_text_node(struct linker *lk, cmark_node *node)
{
	const char *cur = cmark_node_get_literal(node);
	if (!cur)
		return;
	char *lit = xstrdup(cur);
	size_t n = strlen(lit), pos = 0, last = 0;
	struct ref ref;
	while (ref_next(lit, n, &pos, &ref)) {
		char *url = ref_url(lk, lit, &ref);
		if (!url)
			continue;
		if (ref.start > last)
			cmark_node_insert_before(node, text_node(lit + last, ref.start - last));
		cmark_node *link = cmark_node_new(CMARK_NODE_LINK);
		cmark_node_set_url(link, url);
		cmark_node_append_child(link, text_node(lit + ref.start, ref.len));
		cmark_node_insert_before(node, link);
		free(url);
		last = ref.start + ref.len;
		lk->made++;
	}
	if (last == n) {
		cmark_node_unlink(node);
		cmark_node_free(node);
	} else if (last > 0) {
		cmark_node_set_literal(node, lit + last);
	}
	free(lit);
}

/* The length of the Unicode bidirectional control at s (U+202A..U+202E,
 * U+2066..U+2069, U+200E, U+200F, U+061C: 2 or 3 bytes of UTF-8), or 0. */
static size_t bidi_len(const unsigned char *s, size_t n)
{
	if (n >= 2 && s[0] == 0xd8 && s[1] == 0x9c)
		return 2;
	if (n < 3 || s[0] != 0xe2)
		return 0;
	if (s[1] == 0x80 && ((s[2] >= 0xaa && s[2] <= 0xae) || s[2] == 0x8e || s[2] == 0x8f))
		return 3;
	if (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

/* The rendered HTML with every bidirectional control shown instead of
 * applied, as html_txt does (the "Trojan Source" attack): a visible
 * <span class="bidi"> naming it in text, U+FFFD inside a tag (an
 * attribute). cmark escapes '<' in text, so a '<' always opens a tag.
 * Consumes html; returns a malloc'd string. */
static char *bidi_shown(char *html)
{
	size_t n = strlen(html), extra = 0;
	const unsigned char *s = (const unsigned char *)html;
	for (size_t i = 0; i < n; i++)
		if (bidi_len(s + i, n - i))
			extra += 40;
	if (!extra)
		return html;
	char *out = malloc(n + extra + 1), *o = out;
	if (!out)
		die("markdown: out of memory");
	bool in_tag = false;
	for (size_t i = 0; i < n;) {
		size_t bl = bidi_len(s + i, n - i);
		if (!bl) {
			if (s[i] == '<')
				in_tag = true;
			else if (s[i] == '>')
				in_tag = false;
			*o++ = (char)s[i++];
			continue;
		}
		unsigned cp = bl == 2 ? 0x061c
				      : (unsigned)(((s[i] & 0x0f) << 12) |
						   ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f));
		o += in_tag ? sprintf(o, "\xef\xbf\xbd")
			    : sprintf(o, "<span class=\"bidi\">[U+%04X]</span>", cp);
		i += bl;
	}
	*o = '\0';
	free(html);
	return out;
}

char *markdown_render(const char *md, size_t len, const struct md_links *links)
{
	cmark_node *doc;
	cmark_parser *p = parse(md ? md : "", md ? len : 0, &doc);
	if (links) {
		struct linker lk = { .links = links };
		struct text_nodes tn = { 0 };
		text_nodes_collect(doc, &tn);
		refs_from_nodes(&tn, &lk.refs);
		if (links->resolve) {
			links->resolve(links->ctx, &lk.refs, lk.user_ok, lk.issue_ok);
			if (!links->owner || !links->repo)
				memset(lk.issue_ok, 0, sizeof(lk.issue_ok));
		} else {
			for (size_t i = 0; i < lk.refs.nmentions; i++)
				lk.user_ok[i] = !links->user_exists ||
						links->user_exists(links->ctx, lk.refs.mentions[i]);
			for (size_t i = 0; i < lk.refs.nissues; i++)
				lk.issue_ok[i] = links->owner && links->repo &&
						 (!links->issue_exists ||
						  links->issue_exists(links->ctx, lk.refs.issues[i]));
		}
		for (size_t i = 0; i < tn.n; i++)
			link_text_node(&lk, tn.v[i]);
		free(tn.v);
		md_refs_release(&lk.refs);
	}
	/* no CMARK_OPT_UNSAFE: raw HTML is replaced by a comment and
	 * javascript:, vbscript:, file: and data: links are emptied */
	char *html = cmark_render_html(doc, MD_OPTIONS, cmark_parser_get_syntax_extensions(p));
	cmark_node_free(doc);
	cmark_parser_free(p);
	if (!html)
		die("markdown: cannot render");
	return bidi_shown(html);
}
