/* expr.c — the ${{ }} expression language: a lexer, a recursive-descent
 * parser into a small tree (allocated on an arena), and an evaluator over
 * jansson values with GitHub Actions' loose comparison rules. */
#include "workflow/expr.h"

#include "base/arena.h"
#include "base/buf.h"
#include "base/util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 128 /* tree depth: bounds the evaluator's recursion */
#define MAX_ARGS 64

/* the tokens and functions, packed by hand as tables */
/* clang-format off */
enum tok {
	TK_EOF, TK_NUM, TK_STR, TK_IDENT, TK_DOT, TK_LBRACK, TK_RBRACK, TK_LPAREN, TK_RPAREN,
	TK_COMMA, TK_NOT, TK_LT, TK_LE, TK_GT, TK_GE, TK_EQ, TK_NE, TK_AND, TK_OR, TK_STAR,
};

enum ctx_id { CTX_EVENT, CTX_REPO, CTX_INPUTS, CTX_ENV, CTX_MATRIX, CTX_NEEDS, CTX_SECRETS };
static const char *const ctx_names[] = { "event", "repo", "inputs", "env",
					 "matrix", "needs", "secrets" };
#define NCTX (sizeof(ctx_names) / sizeof(ctx_names[0]))

enum fn_id {
	FN_CONTAINS, FN_STARTSWITH, FN_ENDSWITH, FN_FORMAT, FN_JOIN, FN_TOJSON, FN_FROMJSON,
	FN_SUCCESS, FN_FAILURE, FN_ALWAYS, FN_CANCELLED,
};
static const struct {
	const char *name;
	size_t min, max;
} fns[] = {
	[FN_CONTAINS] = { "contains", 2, 2 },    [FN_STARTSWITH] = { "startsWith", 2, 2 },
	[FN_ENDSWITH] = { "endsWith", 2, 2 },    [FN_FORMAT] = { "format", 1, MAX_ARGS },
	[FN_JOIN] = { "join", 1, 2 },            [FN_TOJSON] = { "toJSON", 1, 1 },
	[FN_FROMJSON] = { "fromJSON", 1, 1 },    [FN_SUCCESS] = { "success", 0, 0 },
	[FN_FAILURE] = { "failure", 0, 0 },      [FN_ALWAYS] = { "always", 0, 0 },
	[FN_CANCELLED] = { "cancelled", 0, 0 },
};
#define NFNS (sizeof(fns) / sizeof(fns[0]))
/* clang-format on */

enum node_kind { N_LIT, N_CTX, N_PROP, N_INDEX, N_STAR, N_NOT, N_CMP, N_AND, N_OR, N_CALL };

struct node {
	enum node_kind kind;
	int op;           /* N_CMP: the token; N_CTX: enum ctx_id; N_CALL: enum fn_id */
	bool filter;      /* value comes from an object filter (a.*): access maps over it */
	int depth;
	json_t *lit;      /* N_LIT (owned by the arena) */
	const char *name; /* N_PROP */
	struct node *a, *b;
	struct node **args;
	size_t nargs;
};

struct parser {
	struct arena *arena;
	const char *src;      /* the expression, NUL-terminated */
	size_t pos;           /* lexer position */
	enum tok tok;         /* current token */
	size_t tok_pos;
	const char *tok_text; /* TK_IDENT / TK_STR: arena copy */
	double tok_num;
	int nesting;
	size_t err_pos;
	struct err *e;
};

/* ---- helpers ----------------------------------------------------------- */

static json_t *num_new(double d)
{
	if (d == floor(d) && fabs(d) < 9007199254740992.0)
		return json_integer((json_int_t)d);
	json_t *v = json_real(d);
	return v ? v : json_null(); /* NaN and infinities have no JSON form */
}

static int fail(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p->err_pos = at;
	return err_set(p->e, ERR_INVALID, NULL, "expression '%.80s': %s", p->src, what);
}

static void json_decref_cb(void *v)
{
	json_decref(v);
}

static struct node *node_new(struct parser *p, enum node_kind kind)
{
	struct node *n = arena_alloc(p->arena, sizeof(*n));
	n->kind = kind;
	n->depth = 1;
	return n;
}

/* Sets n's depth from its children; fails when the tree grows too deep. */
static int node_seal(struct parser *p, struct node *n)
{
	int d = 0;
	if (n->a && n->a->depth > d)
		d = n->a->depth;
	if (n->b && n->b->depth > d)
		d = n->b->depth;
	for (size_t i = 0; i < n->nargs; i++)
		if (n->args[i]->depth > d)
			d = n->args[i]->depth;
	n->depth = d + 1;
	if (n->depth > MAX_DEPTH)
		return fail(p, p->tok_pos, "%s", "expression is nested too deeply");
	return 0;
}

/* ---- lexer ------------------------------------------------------------- */

static bool ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

static int lex(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
		i++;
	p->tok_pos = i;
	char c = s[i];
	if (!c) {
		p->tok = TK_EOF;
	} else if (isdigit((unsigned char)c) ||
		   (c == '-' && (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.'))) {
		char *end;
		p->tok_num = strtod(s + i, &end);
		if (end == s + i || ident_char((unsigned char)*end) || *end == '.')
			return fail(p, i, "%s", "malformed number");
		p->tok = TK_NUM;
		i = (size_t)(end - s) - 1;
	} else if (c == '\'') {
		struct buf b = BUF_INIT;
		size_t j = i + 1;
		for (;;) {
			if (!s[j]) {
				buf_release(&b);
				return fail(p, i, "%s", "unterminated string");
			}
			if (s[j] == '\'') {
				if (s[j + 1] != '\'')
					break;
				j++;
			}
			buf_addch(&b, s[j]);
			j++;
		}
		p->tok_text = arena_strndup(p->arena, b.ptr, b.len);
		buf_release(&b);
		p->tok = TK_STR;
		i = j;
	} else if (ident_start((unsigned char)c)) {
		size_t j = i;
		while (ident_char((unsigned char)s[j]))
			j++;
		p->tok_text = arena_strndup(p->arena, s + i, j - i);
		p->tok = TK_IDENT;
		i = j - 1;
	} else {
		char d = s[i + 1];
		switch (c) {
		case '.': p->tok = TK_DOT; break;
		case '[': p->tok = TK_LBRACK; break;
		case ']': p->tok = TK_RBRACK; break;
		case '(': p->tok = TK_LPAREN; break;
		case ')': p->tok = TK_RPAREN; break;
		case ',': p->tok = TK_COMMA; break;
		case '*': p->tok = TK_STAR; break;
		case '<': p->tok = d == '=' ? (i++, TK_LE) : TK_LT; break;
		case '>': p->tok = d == '=' ? (i++, TK_GE) : TK_GT; break;
		case '!': p->tok = d == '=' ? (i++, TK_NE) : TK_NOT; break;
		case '=':
			if (d != '=')
				return fail(p, i, "%s", "'=' is not an operator (use '==')");
			p->tok = TK_EQ;
			i++;
			break;
		case '&':
			if (d != '&')
				return fail(p, i, "%s", "'&' is not an operator (use '&&')");
			p->tok = TK_AND;
			i++;
			break;
		case '|':
			if (d != '|')
				return fail(p, i, "%s", "'|' is not an operator (use '||')");
			p->tok = TK_OR;
			i++;
			break;
		default: {
			char ch[2] = { c, 0 };
			return fail(p, i, "unexpected character '%s'", ch);
		}
		}
	}
	p->pos = p->tok ? i + 1 : i;
	return 0;
}

/* Fails with "unexpected X" for the current token. */
static int unexpected(struct parser *p)
{
	if (p->tok == TK_EOF)
		return fail(p, p->tok_pos, "%s", "unexpected end of expression");
	char text[24];
	size_t n = p->pos - p->tok_pos;
	if (n > sizeof(text) - 1)
		n = sizeof(text) - 1;
	memcpy(text, p->src + p->tok_pos, n);
	text[n] = 0;
	return fail(p, p->tok_pos, "unexpected '%s'", text);
}

/* ---- parser ------------------------------------------------------------ */

static int parse_or(struct parser *p, struct node **out);

static int parse_primary(struct parser *p, struct node **out)
{
	struct node *n;
	switch (p->tok) {
	case TK_NUM:
		n = node_new(p, N_LIT);
		n->lit = num_new(p->tok_num);
		arena_defer(p->arena, json_decref_cb, n->lit);
		break;
	case TK_STR:
		n = node_new(p, N_LIT);
		n->lit = json_string(p->tok_text);
		if (!n->lit)
			return fail(p, p->tok_pos, "%s", "string is not valid UTF-8");
		arena_defer(p->arena, json_decref_cb, n->lit);
		break;
	case TK_LPAREN:
		if (lex(p) || parse_or(p, &n))
			return ERR_INVALID;
		if (p->tok != TK_RPAREN)
			return p->tok == TK_EOF ? fail(p, p->tok_pos, "%s", "missing ')'")
						: unexpected(p);
		break;
	case TK_IDENT: {
		const char *name = p->tok_text;
		size_t at = p->tok_pos;
		if (!strcmp(name, "true") || !strcmp(name, "false") || !strcmp(name, "null")) {
			n = node_new(p, N_LIT);
			n->lit = name[0] == 't'   ? json_true()
				 : name[0] == 'f' ? json_false()
						  : json_null();
			break;
		}
		if (lex(p))
			return ERR_INVALID;
		if (p->tok == TK_LPAREN) {
			size_t f;
			for (f = 0; f < NFNS; f++)
				if (!strcasecmp(name, fns[f].name))
					break;
			if (f == NFNS)
				return fail(p, at, "unknown function '%s'", name);
			n = node_new(p, N_CALL);
			n->op = (int)f;
			struct node *args[MAX_ARGS];
			if (lex(p))
				return ERR_INVALID;
			while (p->tok != TK_RPAREN) {
				if (n->nargs == MAX_ARGS)
					return fail(p, p->tok_pos, "%s", "too many arguments");
				if (parse_or(p, &args[n->nargs]))
					return ERR_INVALID;
				n->nargs++;
				if (p->tok == TK_COMMA) {
					if (lex(p))
						return ERR_INVALID;
					if (p->tok == TK_RPAREN)
						return unexpected(p);
				} else if (p->tok != TK_RPAREN) {
					return unexpected(p);
				}
			}
			if (n->nargs < fns[f].min || n->nargs > fns[f].max) {
				char what[96];
				if (fns[f].min == fns[f].max)
					snprintf(what, sizeof(what), "%s() takes %zu argument%s",
						 fns[f].name, fns[f].min,
						 fns[f].min == 1 ? "" : "s");
				else if (fns[f].max == MAX_ARGS)
					snprintf(what, sizeof(what),
						 "%s() takes at least %zu argument%s", fns[f].name,
						 fns[f].min, fns[f].min == 1 ? "" : "s");
				else
					snprintf(what, sizeof(what),
						 "%s() takes %zu to %zu arguments", fns[f].name,
						 fns[f].min, fns[f].max);
				return fail(p, at, "%s", what);
			}
			n->args = arena_alloc(p->arena, sizeof(*n->args) * (n->nargs + 1));
			memcpy(n->args, args, sizeof(*n->args) * n->nargs);
			break;
		}
		size_t c;
		for (c = 0; c < NCTX; c++)
			if (!strcasecmp(name, ctx_names[c]))
				break;
		if (c == NCTX)
			return fail(p, at,
				    "unknown name '%.40s' (contexts: event, repo, inputs, env, matrix, "
				    "needs, secrets)",
				    name);
		n = node_new(p, N_CTX);
		n->op = (int)c;
		*out = n;
		return node_seal(p, n); /* already past the name */
	}
	default: return unexpected(p);
	}
	*out = n;
	if (node_seal(p, n))
		return ERR_INVALID;
	return lex(p);
}

static int parse_postfix(struct parser *p, struct node **out)
{
	struct node *n;
	if (parse_primary(p, &n))
		return ERR_INVALID;
	for (;;) {
		struct node *m;
		if (p->tok == TK_DOT) {
			if (lex(p))
				return ERR_INVALID;
			if (p->tok == TK_STAR) {
				m = node_new(p, N_STAR);
			} else if (p->tok == TK_IDENT) {
				m = node_new(p, N_PROP);
				m->name = p->tok_text;
			} else {
				return unexpected(p);
			}
			m->a = n;
			m->filter = n->filter || m->kind == N_STAR;
			if (lex(p))
				return ERR_INVALID;
		} else if (p->tok == TK_LBRACK) {
			m = node_new(p, N_INDEX);
			m->a = n;
			m->filter = n->filter;
			if (lex(p) || parse_or(p, &m->b))
				return ERR_INVALID;
			if (p->tok != TK_RBRACK)
				return p->tok == TK_EOF ? fail(p, p->tok_pos, "%s", "missing ']'")
							: unexpected(p);
			if (lex(p))
				return ERR_INVALID;
		} else {
			break;
		}
		if (node_seal(p, m))
			return ERR_INVALID;
		n = m;
	}
	*out = n;
	return 0;
}

static int parse_unary(struct parser *p, struct node **out)
{
	if (p->tok != TK_NOT)
		return parse_postfix(p, out);
	if (++p->nesting > MAX_DEPTH)
		return fail(p, p->tok_pos, "%s", "expression is nested too deeply");
	struct node *n = node_new(p, N_NOT);
	if (lex(p) || parse_unary(p, &n->a) || node_seal(p, n))
		return ERR_INVALID;
	p->nesting--;
	*out = n;
	return 0;
}

/* One left-associative binary level: ops lists its tokens, next parses
 * the level below. */
static int parse_binary(struct parser *p, struct node **out, const enum tok *ops, size_t nops,
			enum node_kind kind, int (*next)(struct parser *, struct node **))
{
	struct node *n;
	if (next(p, &n))
		return ERR_INVALID;
	for (;;) {
		size_t i;
		for (i = 0; i < nops; i++)
			if (p->tok == ops[i])
				break;
		if (i == nops)
			break;
		struct node *m = node_new(p, kind);
		m->op = p->tok;
		m->a = n;
		if (lex(p) || next(p, &m->b) || node_seal(p, m))
			return ERR_INVALID;
		n = m;
	}
	*out = n;
	return 0;
}

static int parse_cmp(struct parser *p, struct node **out)
{
	static const enum tok ops[] = { TK_LT, TK_LE, TK_GT, TK_GE };
	return parse_binary(p, out, ops, 4, N_CMP, parse_unary);
}

static int parse_eq(struct parser *p, struct node **out)
{
	static const enum tok ops[] = { TK_EQ, TK_NE };
	return parse_binary(p, out, ops, 2, N_CMP, parse_cmp);
}

static int parse_and(struct parser *p, struct node **out)
{
	static const enum tok ops[] = { TK_AND };
	return parse_binary(p, out, ops, 1, N_AND, parse_eq);
}

static int parse_or(struct parser *p, struct node **out)
{
	static const enum tok ops[] = { TK_OR };
	if (++p->nesting > MAX_DEPTH)
		return fail(p, p->tok_pos, "%s", "expression is nested too deeply");
	int rc = parse_binary(p, out, ops, 1, N_OR, parse_and);
	p->nesting--;
	return rc;
}

/* Parses the bare expression [src, src+len) into *out on arena a. The
 * text is trimmed and copied; *srcp (when not NULL) gets the copy, which
 * messages quote. *err_pos gets the offset of a syntax error in src. */
static int expr_parse(struct node **out, struct arena *a, const char *src, size_t len,
		      const char **srcp, size_t *err_pos, struct err *e)
{
	size_t lead = 0;
	while (lead < len && isspace((unsigned char)src[lead]))
		lead++;
	while (len > lead && isspace((unsigned char)src[len - 1]))
		len--;
	struct parser p = { .arena = a, .src = arena_strndup(a, src + lead, len - lead), .e = e };
	int rc;
	if (srcp)
		*srcp = p.src;
	if (memchr(src, 0, len)) {
		rc = fail(&p, 0, "%s", "expression contains a NUL byte");
		goto done;
	}
	rc = lex(&p);
	if (!rc && p.tok == TK_EOF)
		rc = fail(&p, 0, "%s", "empty expression");
	if (!rc)
		rc = parse_or(&p, out);
	if (!rc && p.tok != TK_EOF)
		rc = unexpected(&p);
done:
	if (rc && err_pos)
		*err_pos = lead + p.err_pos;
	return rc;
}

/* ---- ${{ }} scanning --------------------------------------------------- */

/* Given s just after "${{", returns the offset of the closing "}}" (not
 * inside a 'string'), or -1. */
static long close_find(const char *s)
{
	bool quoted = false;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\'')
			quoted = !quoted;
		else if (!quoted && s[i] == '}' && s[i + 1] == '}')
			return (long)i;
	}
	return -1;
}

/* If the trimmed s is exactly one "${{ … }}", sets [*start, *end) to the
 * inside; else to the trimmed s. */
static void unwrap(const char *s, size_t *start, size_t *end)
{
	size_t a = 0, b = strlen(s);
	while (a < b && isspace((unsigned char)s[a]))
		a++;
	while (b > a && isspace((unsigned char)s[b - 1]))
		b--;
	*start = a;
	*end = b;
	if (b - a >= 5 && !strncmp(s + a, "${{", 3)) {
		long c = close_find(s + a + 3);
		if (c >= 0 && a + 3 + (size_t)c + 2 == b) {
			*start = a + 3;
			*end = a + 3 + (size_t)c;
		}
	}
}

/* ---- evaluation -------------------------------------------------------- */

static bool is_num(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v);
}

static double to_num(const json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return 0;
	if (json_is_true(v))
		return 1;
	if (is_num(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			return 0;
		const char *t = s + (*s == '-' || *s == '+');
		if (!isdigit((unsigned char)*t) && *t != '.')
			return NAN; /* no "inf", "nan" */
		char *end;
		double d = strtod(s, &end);
		while (isspace((unsigned char)*end))
			end++;
		return *end ? NAN : d;
	}
	return NAN;
}

/* The broad kind used by comparisons: numbers are one kind, booleans one. */
static int kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL: return 1;
	case JSON_TRUE:
	case JSON_FALSE: return 2;
	case JSON_STRING: return 3;
	case JSON_NULL: return 4;
	case JSON_ARRAY: return 5;
	case JSON_OBJECT: return 6;
	}
	return 0;
}

static bool loose_eq(const json_t *a, const json_t *b)
{
	int ka = kind_of(a), kb = kind_of(b);
	if (ka == kb) {
		switch (ka) {
		case 1: return json_number_value(a) == json_number_value(b);
		case 2: return json_typeof(a) == json_typeof(b);
		case 3: return !strcasecmp(json_string_value(a), json_string_value(b));
		case 4: return true;
		default: return a == b;
		}
	}
	double x = to_num(a), y = to_num(b);
	return x == y; /* NaN compares false */
}

/* Ordering for < <= > >=; returns false for incomparable operands. */
static bool loose_cmp(const json_t *a, const json_t *b, enum tok op)
{
	double r;
	if (json_is_string(a) && json_is_string(b)) {
		r = strcasecmp(json_string_value(a), json_string_value(b));
	} else {
		double x = to_num(a), y = to_num(b);
		if (isnan(x) || isnan(y))
			return false;
		r = x < y ? -1 : x > y ? 1 : 0;
	}
	switch (op) {
	case TK_LT: return r < 0;
	case TK_LE: return r <= 0;
	case TK_GT: return r > 0;
	default: return r >= 0;
	}
}

bool expr_truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE: return false;
	case JSON_TRUE: return true;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0 && !isnan(json_real_value(v));
	case JSON_STRING: return json_string_length(v) > 0;
	default: return true;
	}
}

char *expr_string(const json_t *v)
{
	if (!v)
		return xstrdup("");
	switch (json_typeof(v)) {
	case JSON_NULL: return xstrdup("");
	case JSON_TRUE: return xstrdup("true");
	case JSON_FALSE: return xstrdup("false");
	case JSON_INTEGER: return xasprintf("%lld", (long long)json_integer_value(v));
	case JSON_REAL: {
		double d = json_real_value(v);
		if (d == floor(d) && fabs(d) < 1e15)
			return xasprintf("%.0f", d);
		return xasprintf("%.15g", d);
	}
	case JSON_STRING: return xstrndup(json_string_value(v), json_string_length(v));
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		return s ? s : xstrdup("");
	}
	}
}

/* Property name lookup: exact, then case-insensitive. Borrowed or NULL. */
static json_t *prop_get(const json_t *obj, const char *name)
{
	if (!json_is_object(obj))
		return NULL;
	json_t *v = json_object_get(obj, name);
	if (v)
		return v;
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)obj, k, x) if (!strcasecmp(k, name)) return x;
	return NULL;
}

static json_t *index_get(const json_t *base, const json_t *idx)
{
	if (json_is_array(base) && is_num(idx)) {
		double d = json_number_value(idx);
		if (d >= 0 && d < (double)json_array_size(base) && d == floor(d))
			return json_array_get(base, (size_t)d);
		return NULL;
	}
	if (json_is_object(base) && json_is_string(idx))
		return prop_get(base, json_string_value(idx));
	return NULL;
}

/* Appends the values of an object filter step over x to arr. */
static void star_add(json_t *arr, const json_t *x)
{
	if (json_is_object(x)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)x, k, v) json_array_append(arr, v);
	} else if (json_is_array(x)) {
		json_array_extend(arr, (json_t *)x);
	}
}

struct eval {
	const struct expr_ctx *ctx;
	const char *src;
	struct err *e;
	bool failed;
};

static json_t *eval(struct eval *ev, const struct node *n);

/* A runtime error. It quotes the expression's source (the workflow's
 * text), never a value the evaluation produced: that may be a secret, and
 * a cut quote of one would slip past masking. */
static int rt_fail(struct eval *ev, const char *what)
{
	ev->failed = true;
	return err_set(ev->e, ERR_INVALID, NULL, "expression '%.80s': %s", ev->src, what);
}

static json_t *call(struct eval *ev, const struct node *n)
{
	json_t *args[MAX_ARGS] = { 0 };
	json_t *r = NULL;
	char *s0 = NULL, *s1 = NULL;
	enum fn_id f = (enum fn_id)n->op;
	switch (f) {
	case FN_SUCCESS: return json_boolean(ev->ctx->status == EXPR_STATUS_SUCCESS);
	case FN_FAILURE: return json_boolean(ev->ctx->status == EXPR_STATUS_FAILURE);
	case FN_CANCELLED: return json_boolean(ev->ctx->status == EXPR_STATUS_CANCELLED);
	case FN_ALWAYS: return json_true();
	default: break;
	}
	for (size_t i = 0; i < n->nargs; i++)
		if (!(args[i] = eval(ev, n->args[i])))
			goto done;
	switch (f) {
	case FN_CONTAINS:
		if (json_is_array(args[0])) {
			bool found = false;
			size_t i;
			json_t *x;
			json_array_foreach(args[0], i, x) if (loose_eq(x, args[1])) found = true;
			r = json_boolean(found);
		} else {
			s0 = expr_string(args[0]);
			s1 = expr_string(args[1]);
			r = json_boolean(strcasestr(s0, s1) != NULL);
		}
		break;
	case FN_STARTSWITH:
	case FN_ENDSWITH: {
		s0 = expr_string(args[0]);
		s1 = expr_string(args[1]);
		size_t l0 = strlen(s0), l1 = strlen(s1);
		bool ok = l1 <= l0 && !strncasecmp(f == FN_STARTSWITH ? s0 : s0 + l0 - l1, s1, l1);
		r = json_boolean(ok);
		break;
	}
	case FN_FORMAT: {
		struct buf b = BUF_INIT;
		s0 = expr_string(args[0]);
		for (const char *p = s0; *p; p++) {
			if (p[0] == '{' && p[1] == '{') {
				buf_addch(&b, '{');
				p++;
			} else if (p[0] == '}' && p[1] == '}') {
				buf_addch(&b, '}');
				p++;
			} else if (*p == '{') {
				char *end;
				long k = strtol(p + 1, &end, 10);
				if (end == p + 1 || *end != '}' || !isdigit((unsigned char)p[1])) {
					buf_release(&b);
					rt_fail(ev, "format() has a malformed placeholder");
					goto done;
				}
				if (k < 0 || (size_t)k + 1 >= n->nargs) {
					buf_release(&b);
					rt_fail(ev, "format() placeholder has no argument");
					goto done;
				}
				char *v = expr_string(args[k + 1]);
				buf_adds(&b, v);
				free(v);
				p = end;
			} else if (*p == '}') {
				buf_release(&b);
				rt_fail(ev, "format() has an unmatched '}'");
				goto done;
			} else {
				buf_addch(&b, *p);
			}
		}
		r = json_stringn(b.ptr, b.len);
		buf_release(&b);
		break;
	}
	case FN_JOIN: {
		s1 = n->nargs > 1 ? expr_string(args[1]) : xstrdup(",");
		if (!json_is_array(args[0])) {
			s0 = expr_string(args[0]);
			r = json_string(s0);
			break;
		}
		struct buf b = BUF_INIT;
		size_t i;
		json_t *x;
		json_array_foreach(args[0], i, x)
		{
			if (i)
				buf_adds(&b, s1);
			char *v = expr_string(x);
			buf_adds(&b, v);
			free(v);
		}
		r = json_stringn(b.ptr, b.len);
		buf_release(&b);
		break;
	}
	case FN_TOJSON:
		s0 = json_dumps(args[0], JSON_ENCODE_ANY | JSON_INDENT(2));
		r = json_string(s0 ? s0 : "null");
		break;
	case FN_FROMJSON: {
		s0 = expr_string(args[0]);
		json_error_t je;
		r = json_loads(s0, JSON_DECODE_ANY, &je);
		if (!r) {
			/* jansson's text quotes the input, which may be a secret:
			 * say only where it went wrong */
			char what[160];
			snprintf(what, sizeof(what),
				 "fromJSON() input is not valid JSON (at offset %d)", je.position);
			rt_fail(ev, what);
		}
		break;
	}
	default: break;
	}
	if (!r && !ev->failed)
		r = json_null(); /* e.g. json_string of invalid UTF-8 */
done:
	for (size_t i = 0; i < n->nargs; i++)
		json_decref(args[i]);
	free(s0);
	free(s1);
	return r;
}

/* Returns a new reference, or NULL with ev->e set. */
static json_t *eval(struct eval *ev, const struct node *n)
{
	json_t *a = NULL, *b = NULL, *r = NULL;
	switch (n->kind) {
	case N_LIT: return json_incref(n->lit);
	case N_CTX: {
		json_t *const v[NCTX] = { ev->ctx->event,  ev->ctx->repo,   ev->ctx->inputs,
					  ev->ctx->env,    ev->ctx->matrix, ev->ctx->needs,
					  ev->ctx->secrets };
		return v[n->op] ? json_incref(v[n->op]) : json_object();
	}
	case N_PROP:
		if (!(a = eval(ev, n->a)))
			return NULL;
		if (n->a->filter) {
			r = json_array();
			size_t i;
			json_t *x;
			json_array_foreach(a, i, x)
			{
				json_t *v = prop_get(x, n->name);
				if (v && !json_is_null(v))
					json_array_append(r, v);
			}
		} else {
			r = prop_get(a, n->name);
			r = r ? json_incref(r) : json_null();
		}
		break;
	case N_INDEX:
		if (!(a = eval(ev, n->a)) || !(b = eval(ev, n->b)))
			break;
		if (n->a->filter) {
			r = json_array();
			size_t i;
			json_t *x;
			json_array_foreach(a, i, x)
			{
				json_t *v = index_get(x, b);
				if (v && !json_is_null(v))
					json_array_append(r, v);
			}
		} else {
			r = index_get(a, b);
			r = r ? json_incref(r) : json_null();
		}
		break;
	case N_STAR:
		if (!(a = eval(ev, n->a)))
			return NULL;
		r = json_array();
		if (n->a->filter) {
			size_t i;
			json_t *x;
			json_array_foreach(a, i, x) star_add(r, x);
		} else {
			star_add(r, a);
		}
		break;
	case N_NOT:
		if (!(a = eval(ev, n->a)))
			return NULL;
		r = json_boolean(!expr_truthy(a));
		break;
	case N_CMP:
		if (!(a = eval(ev, n->a)) || !(b = eval(ev, n->b)))
			break;
		if (n->op == TK_EQ)
			r = json_boolean(loose_eq(a, b));
		else if (n->op == TK_NE)
			r = json_boolean(!loose_eq(a, b));
		else
			r = json_boolean(loose_cmp(a, b, (enum tok)n->op));
		break;
	case N_AND:
	case N_OR:
		if (!(a = eval(ev, n->a)))
			return NULL;
		if (expr_truthy(a) == (n->kind == N_OR))
			return a;
		json_decref(a);
		return eval(ev, n->b);
	case N_CALL: return call(ev, n);
	}
	json_decref(a);
	json_decref(b);
	return r;
}

static bool uses_status(const struct node *n)
{
	if (!n)
		return false;
	if (n->kind == N_CALL && n->op >= FN_SUCCESS)
		return true;
	for (size_t i = 0; i < n->nargs; i++)
		if (uses_status(n->args[i]))
			return true;
	return uses_status(n->a) || uses_status(n->b);
}

/* ---- public ------------------------------------------------------------ */

static const struct expr_ctx empty_ctx;

int expr_eval(json_t **out, const char *expr, const struct expr_ctx *ctx, struct err *e)
{
	struct arena *a = arena_new();
	struct node *n;
	size_t s, t;
	*out = NULL;
	unwrap(expr, &s, &t);
	const char *src;
	int rc = expr_parse(&n, a, expr + s, t - s, &src, NULL, e);
	if (!rc) {
		struct eval ev = { ctx ? ctx : &empty_ctx, src, e };
		*out = eval(&ev, n);
		if (!*out)
			rc = ERR_INVALID;
	}
	arena_free(a);
	return rc;
}

int expr_condition(bool *out, const char *cond, const struct expr_ctx *ctx, struct err *e)
{
	struct arena *a = arena_new();
	struct node *n;
	size_t s, t;
	int rc = 0;
	if (!ctx)
		ctx = &empty_ctx;
	*out = ctx->status == EXPR_STATUS_SUCCESS;
	if (!cond)
		goto done;
	unwrap(cond, &s, &t);
	if (s == t)
		goto done;
	const char *src;
	rc = expr_parse(&n, a, cond + s, t - s, &src, NULL, e);
	if (rc)
		goto done;
	bool status = uses_status(n);
	if (!status && ctx->status != EXPR_STATUS_SUCCESS) {
		*out = false; /* the implied success() && … */
		goto done;
	}
	struct eval ev = { ctx, src, e };
	json_t *v = eval(&ev, n);
	if (!v) {
		rc = ERR_INVALID;
		goto done;
	}
	*out = expr_truthy(v);
	json_decref(v);
done:
	arena_free(a);
	return rc;
}

/* The loop of expr_interpolate and expr_interpolate_vars: with vars NULL
 * each value is pasted into the text, else the text gets a reference to a
 * variable that holds it. */
static int interpolate(char **out, json_t *vars, const char *prefix, const char *text,
		       const struct expr_ctx *ctx, struct err *e)
{
	struct buf b = BUF_INIT;
	struct arena *a = arena_new();
	int rc = 0;
	const char *p = text;
	*out = NULL;
	for (;;) {
		const char *open = strstr(p, "${{");
		if (!open) {
			buf_adds(&b, p);
			break;
		}
		buf_add(&b, p, (size_t)(open - p));
		long c = close_find(open + 3);
		if (c < 0) {
			rc = err_set(e, ERR_INVALID, NULL, "unclosed '${{' in '%.80s'", text);
			goto done;
		}
		struct node *n;
		const char *src;
		rc = expr_parse(&n, a, open + 3, (size_t)c, &src, NULL, e);
		if (rc)
			goto done;
		struct eval ev = { ctx ? ctx : &empty_ctx, src, e };
		json_t *v = eval(&ev, n);
		if (!v) {
			rc = ERR_INVALID;
			goto done;
		}
		char *s = expr_string(v);
		if (vars) {
			char name[64];
			snprintf(name, sizeof(name), "%s%zu", prefix, json_object_size(vars) + 1);
			json_object_set_new(vars, name, json_string(s));
			buf_addf(&b, "${%s}", name);
		} else {
			buf_adds(&b, s);
		}
		free(s);
		json_decref(v);
		p = open + 3 + c + 2;
	}
	*out = buf_detach(&b, NULL);
done:
	buf_release(&b);
	arena_free(a);
	return rc;
}

int expr_interpolate(char **out, const char *text, const struct expr_ctx *ctx, struct err *e)
{
	return interpolate(out, NULL, NULL, text, ctx, e);
}

int expr_interpolate_vars(char **out, json_t *vars, const char *prefix, const char *text,
			  const struct expr_ctx *ctx, struct err *e)
{
	return interpolate(out, vars, prefix, text, ctx, e);
}

int expr_check(const char *text, bool bare, size_t *offset, struct err *e)
{
	struct arena *a = arena_new();
	struct node *n;
	size_t pos = 0;
	int rc = 0;
	if (bare) {
		size_t s, t;
		unwrap(text, &s, &t);
		if (s == t)
			goto done;
		rc = expr_parse(&n, a, text + s, t - s, NULL, &pos, e);
		pos += s;
		goto done;
	}
	for (const char *p = text; (p = strstr(p, "${{")) != NULL;) {
		long c = close_find(p + 3);
		pos = (size_t)(p - text);
		if (c < 0) {
			rc = err_set(e, ERR_INVALID, NULL, "unclosed '${{' in '%.80s'", text);
			goto done;
		}
		size_t inner = 0;
		rc = expr_parse(&n, a, p + 3, (size_t)c, NULL, &inner, e);
		if (rc) {
			pos += 3 + inner;
			goto done;
		}
		p += 3 + c + 2;
	}
done:
	if (rc && offset)
		*offset = pos;
	arena_free(a);
	return rc;
}

static void names_add(json_t *names, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(names, i, x) if (!strcasecmp(json_string_value(x), name)) return;
	json_array_append_new(names, json_string(name));
}

/* Walks a tree for secrets references; returns true on a dynamic use. */
static bool refs_walk(json_t *names, const struct node *n)
{
	if (!n)
		return false;
	bool dyn = false;
	if ((n->kind == N_PROP || n->kind == N_INDEX) && n->a->kind == N_CTX &&
	    n->a->op == CTX_SECRETS) {
		if (n->kind == N_PROP)
			names_add(names, n->name);
		else if (n->b->kind == N_LIT && json_is_string(n->b->lit))
			names_add(names, json_string_value(n->b->lit));
		else
			dyn = true;
		return refs_walk(names, n->b) || dyn;
	}
	if (n->kind == N_CTX && n->op == CTX_SECRETS)
		return true;
	for (size_t i = 0; i < n->nargs; i++)
		dyn |= refs_walk(names, n->args[i]);
	dyn |= refs_walk(names, n->a);
	dyn |= refs_walk(names, n->b);
	return dyn;
}

bool expr_secret_refs(json_t *names, const char *text, bool bare)
{
	struct arena *a = arena_new();
	struct node *n;
	bool dyn = false;
	if (!text)
		goto done;
	if (bare) {
		size_t s, t;
		unwrap(text, &s, &t);
		if (s < t && !expr_parse(&n, a, text + s, t - s, NULL, NULL, NULL))
			dyn = refs_walk(names, n);
		goto done;
	}
	for (const char *p = text; (p = strstr(p, "${{")) != NULL;) {
		long c = close_find(p + 3);
		if (c < 0)
			break;
		if (!expr_parse(&n, a, p + 3, (size_t)c, NULL, NULL, NULL))
			dyn |= refs_walk(names, n);
		p += 3 + c + 2;
	}
done:
	arena_free(a);
	return dyn;
}
