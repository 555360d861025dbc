/* glob.c — glob matching for workflow filters. The pattern is compiled
 * into a small token list and run as an NFA over the subject, so matching
 * costs O(pattern × subject) whatever the number of stars (no
 * backtracking blow-up on hostile patterns). */
#include "workflow/glob.h"

#include "base/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind {
	T_LIT,         /* one literal byte */
	T_ANY,         /* ? : one byte other than '/' */
	T_CLASS,       /* [...] : one byte of the set, never '/' */
	T_STAR,        /* * : any run without '/' */
	T_DSTAR,       /* ** : any run */
	T_DSTAR_OPEN,  /* ** then / : nothing, or any run ending in '/' ... */
	T_DSTAR_INNER, /* ... which this second token consumes */
};

struct tok {
	enum tok_kind kind;
	unsigned char c;
	uint8_t set[32]; /* T_CLASS: bit per byte */
};

/* Parses a [...] class starting at p (on '['); returns the byte after ']'
 * or NULL when the class is not terminated (then '[' is literal). */
static const char *class_parse(struct tok *t, const char *p)
{
	const char *q = p + 1;
	bool neg = false;
	memset(t->set, 0, sizeof(t->set));
	if (*q == '!' || *q == '^') {
		neg = true;
		q++;
	}
	bool first = true;
	while (*q && (*q != ']' || first)) {
		if (*q == '\\' && q[1])
			q++;
		unsigned char lo = (unsigned char)*q, hi = lo;
		if (q[1] == '-' && q[2] && q[2] != ']') {
			q += 2;
			if (*q == '\\' && q[1])
				q++;
			hi = (unsigned char)*q;
		}
		for (unsigned c = lo; c <= hi; c++)
			t->set[c >> 3] |= (uint8_t)(1u << (c & 7));
		q++;
		first = false;
	}
	if (*q != ']')
		return NULL;
	if (neg)
		for (size_t i = 0; i < sizeof(t->set); i++)
			t->set[i] = (uint8_t)~t->set[i];
	t->set['/' >> 3] &= (uint8_t)~(1u << ('/' & 7));
	t->kind = T_CLASS;
	return q + 1;
}

static size_t compile(struct tok *toks, const char *p)
{
	size_t n = 0;
	const char *q;
	while (*p) {
		struct tok *t = &toks[n++];
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '/') {
				t->kind = T_DSTAR_OPEN;
				toks[n++].kind = T_DSTAR_INNER;
				p++;
			} else {
				t->kind = T_DSTAR;
			}
		} else if (*p == '*') {
			t->kind = T_STAR;
			p++;
		} else if (*p == '?') {
			t->kind = T_ANY;
			p++;
		} else if (*p == '[' && (q = class_parse(t, p)) != NULL) {
			p = q;
		} else {
			t->kind = T_LIT;
			t->c = (unsigned char)*p;
			if (*p == '\\' && p[1])
				t->c = (unsigned char)*++p;
			p++;
		}
	}
	return n;
}

/* Adds state i and everything reachable from it without input. */
static void closure(const struct tok *toks, size_t n, bool *set, size_t i)
{
	while (i <= n && !set[i]) {
		set[i] = true;
		if (i == n)
			break;
		enum tok_kind k = toks[i].kind;
		if (k == T_STAR || k == T_DSTAR) {
			i++;
		} else if (k == T_DSTAR_OPEN) {
			set[i + 1] = true; /* the inner state has no empty moves */
			i += 2;
		} else {
			break;
		}
	}
}

bool glob_match(const char *pattern, const char *s)
{
	size_t plen = strlen(pattern);
	struct tok *toks = xcalloc(plen + 1, sizeof(*toks));
	bool *cur = xcalloc(plen + 2, 1), *next = xcalloc(plen + 2, 1);
	size_t n = compile(toks, pattern);
	closure(toks, n, cur, 0);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		memset(next, 0, n + 1);
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (!cur[i])
				continue;
			const struct tok *t = &toks[i];
			switch (t->kind) {
			case T_LIT:
				if (*c == t->c)
					closure(toks, n, next, i + 1);
				break;
			case T_ANY:
				if (*c != '/')
					closure(toks, n, next, i + 1);
				break;
			case T_CLASS:
				if (t->set[*c >> 3] & (1u << (*c & 7)))
					closure(toks, n, next, i + 1);
				break;
			case T_STAR:
				if (*c != '/')
					closure(toks, n, next, i);
				break;
			case T_DSTAR: closure(toks, n, next, i); break;
			case T_DSTAR_OPEN: break;
			case T_DSTAR_INNER:
				closure(toks, n, next, i);
				if (*c == '/')
					closure(toks, n, next, i + 1);
				break;
			}
		}
		for (size_t i = 0; i <= n; i++)
			any |= next[i];
		bool *tmp = cur;
		cur = next;
		next = tmp;
		if (!any)
			break;
	}
	bool ok = cur[n];
	free(toks);
	free(cur);
	free(next);
	return ok;
}

bool glob_filter(const char *const *patterns, size_t n, const char *s)
{
	bool included = false;
	for (size_t i = 0; i < n; i++) {
		const char *p = patterns[i];
		bool neg = p[0] == '!';
		if (glob_match(neg ? p + 1 : p, s))
			included = !neg;
	}
	return included;
}
