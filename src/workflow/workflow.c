/* workflow.c — parsing a workflow file (libyaml's document API) into the
 * model of workflow.h, with every error reported as FILE:LINE:COL, and
 * freeing it. Matching, inputs and matrices live in match.c and matrix.c. */
#include "workflow/workflow.h"
#include "llm/tools.h"

#include "base/buf.h"
#include "base/util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_YAML_DEPTH 64
#define MAX_JSON_DEPTH 64
#define MAX_MATRIX 256
#define MAX_JOBS 256
#define MAX_INPUTS 100
#define MAX_TIMEOUT_MIN (7 * 24 * 60)

struct parse {
	const char *file;
	yaml_document_t doc;
	struct err *e;
	struct workflow *w;
	yaml_node_t **needs_nodes; /* per job: its `needs` value, for messages */
};

/* A key a mapping may hold; filled by map_keys. */
struct key {
	const char *name;
	yaml_node_t *key, *val;
};

/* Keys of GitHub Actions that Plue recognises but does not support. */
static const char *const unsupported[] = { "uses",        "with",      "shell",   "id",
					   "services",    "container", "outputs", "defaults",
					   "environment", "run-name",  "secrets", NULL };

static const char *const event_names[WF_EV_COUNT] = {
	[WF_EV_PUSH] = "push",
	[WF_EV_PULL_REQUEST] = "pull_request",
	[WF_EV_PULL_REQUEST_REVIEW] = "pull_request.review",
	[WF_EV_ISSUE_OPENED] = "issue.opened",
	[WF_EV_ISSUE_COMMENT] = "issue.comment",
	[WF_EV_MENTION] = "mention",
	[WF_EV_CHAT] = "chat",
	[WF_EV_WORKFLOW_DISPATCH] = "workflow_dispatch",
	[WF_EV_SCHEDULE] = "schedule",
};

static const struct {
	const char *name;
	enum wf_event_type type;
} event_aliases[] = {
	{ "issue_comment", WF_EV_ISSUE_COMMENT },
	{ "pull_request_review", WF_EV_PULL_REQUEST_REVIEW },
	{ "issues", WF_EV_ISSUE_OPENED },
	{ "user_prompt", WF_EV_CHAT },
	{ "manual", WF_EV_WORKFLOW_DISPATCH },
};

const char *wf_event_name(enum wf_event_type t)
{
	return (unsigned)t < WF_EV_COUNT ? event_names[t] : "unknown";
}

int wf_event_type_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < WF_EV_COUNT; i++)
		if (!strcmp(name, event_names[i]))
			return i;
	for (size_t i = 0; i < sizeof(event_aliases) / sizeof(event_aliases[0]); i++)
		if (!strcmp(name, event_aliases[i].name))
			return (int)event_aliases[i].type;
	return -1;
}

/* ---- errors and node helpers ------------------------------------------- */

static int perr(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	size_t line = n ? n->start_mark.line + 1 : 1, col = n ? n->start_mark.column + 1 : 1;
	return err_set(p->e, ERR_INVALID, "workflow_invalid", "%s:%zu:%zu: %s", p->file, line, col,
		       what);
}

static yaml_node_t *node_at(struct parse *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* A plain null: empty, "~" or null. */
static bool is_null(const yaml_node_t *n)
{
	if (!is_plain(n))
		return false;
	const char *s = sval(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a map";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	return is_null(n) ? "empty" : "a scalar";
}

/* Reads a string value (any non-null scalar). */
static int get_str(struct parse *p, const yaml_node_t *n, char **out, const char *what)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return perr(p, n, "'%s' must be a string, not %s", what, node_kind(n));
	if (strlen(sval(n)) != n->data.scalar.length)
		return perr(p, n, "'%s' contains a NUL byte", what);
	free(*out);
	*out = xstrdup(sval(n));
	return 0;
}

static int bool_parse(const yaml_node_t *n, bool *out)
{
	if (!is_plain(n))
		return -1;
	const char *s = sval(n);
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		*out = false;
	else
		return -1;
	return 0;
}

static int get_bool(struct parse *p, const yaml_node_t *n, bool *out, const char *what)
{
	if (bool_parse(n, out))
		return perr(p, n, "'%s' must be true or false", what);
	return 0;
}

/* A plain scalar that is a YAML 1.2 number (decimal, 0x, 0o, exponent). */
static int num_parse(const yaml_node_t *n, double *out, bool *integral)
{
	if (!is_plain(n))
		return -1;
	const char *s = sval(n);
	char *end;
	const char *d = s + (*s == '-' || *s == '+');
	if (!isdigit((unsigned char)*d) && !(*d == '.' && isdigit((unsigned char)d[1])))
		return -1;
	if (d[0] == '0' && (d[1] == 'o' || d[1] == 'O')) {
		long long v = strtoll(d + 2, &end, 8);
		if (end == d + 2 || *end)
			return -1;
		*out = (double)(*s == '-' ? -v : v);
		*integral = true;
		return 0;
	}
	*out = strtod(s, &end);
	if (*end || end == s || !isfinite(*out))
		return -1;
	*integral = *out == floor(*out) && fabs(*out) < 9007199254740992.0;
	return 0;
}

static int get_num(struct parse *p, const yaml_node_t *n, double *out, const char *what)
{
	bool integral;
	if (num_parse(n, out, &integral))
		return perr(p, n, "'%s' must be a number", what);
	return 0;
}

static int get_int(struct parse *p, const yaml_node_t *n, int *out, int min, int max,
		   const char *what)
{
	double d;
	if (get_num(p, n, &d, what))
		return ERR_INVALID;
	if (d != floor(d) || d < min || d > max)
		return perr(p, n, "'%s' must be a whole number from %d to %d", what, min, max);
	*out = (int)d;
	return 0;
}

/* timeout-minutes: a positive number of minutes, fractions allowed. */
static int get_timeout(struct parse *p, const yaml_node_t *n, int *out_sec, const char *what)
{
	double d;
	if (get_num(p, n, &d, what))
		return ERR_INVALID;
	if (!(d > 0) || d > MAX_TIMEOUT_MIN)
		return perr(p, n, "'%s' must be more than 0 and at most %d", what, MAX_TIMEOUT_MIN);
	*out_sec = (int)ceil(d * 60);
	return 0;
}

static void strlist_free(struct wf_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void strlist_add(struct wf_strlist *l, const char *s)
{
	l->v = xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	l->v[l->n++] = xstrdup(s);
}

/* A string or a list of strings. */
static int get_strlist(struct parse *p, const yaml_node_t *n, struct wf_strlist *out,
		       const char *what)
{
	strlist_free(out);
	out->set = true;
	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		strlist_add(out, sval(n));
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return perr(p, n, "'%s' must be a string or a list of strings", what);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *x = node_at(p, *it);
		if (x->type != YAML_SCALAR_NODE || is_null(x))
			return perr(p, x, "'%s' must be a list of strings", what);
		strlist_add(out, sval(x));
	}
	return 0;
}

/* Checks the ${{ }} expressions in s (or s as a bare condition). */
static int check_expr(struct parse *p, const yaml_node_t *n, const char *s, bool bare)
{
	struct err sub = { 0 };
	size_t off = 0;
	if (!s || (!bare && !strstr(s, "${{")))
		return 0;
	if (!expr_check(s, bare, &off, &sub))
		return 0;
	/* in a one-line plain scalar the offset maps straight to a column */
	yaml_node_t at = *n;
	if (is_plain(n) && n->start_mark.line == n->end_mark.line)
		at.start_mark.column += off;
	return perr(p, &at, "%s", sub.msg);
}

/* Reads a string that may contain expressions. */
static int get_text(struct parse *p, const yaml_node_t *n, char **out, const char *what)
{
	if (get_str(p, n, out, what))
		return ERR_INVALID;
	return check_expr(p, n, *out, false);
}

static int get_cond(struct parse *p, const yaml_node_t *n, char **out)
{
	bool b;
	if (!bool_parse(n, &b)) { /* if: true / if: false */
		free(*out);
		*out = xstrdup(b ? "true" : "false");
		return 0;
	}
	if (get_str(p, n, out, "if"))
		return ERR_INVALID;
	return check_expr(p, n, *out, true);
}

/* Walks a mapping: every key must be a scalar named in keys (filled with
 * its nodes) and appear once. where names the mapping in messages. */
static int map_keys(struct parse *p, const yaml_node_t *n, const char *where, struct key *keys,
		    size_t nkeys)
{
	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "%s must be a map, not %s", where, node_kind(n));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		if (k->type != YAML_SCALAR_NODE)
			return perr(p, k, "keys in %s must be strings", where);
		size_t i;
		for (i = 0; i < nkeys; i++)
			if (!strcmp(sval(k), keys[i].name))
				break;
		if (i == nkeys) {
			for (size_t j = 0; unsupported[j]; j++)
				if (!strcmp(sval(k), unsupported[j]))
					return perr(p, k, "'%s' is not supported in %s", sval(k),
						    where);
			return perr(p, k, "unknown key '%.64s' in %s", sval(k), where);
		}
		if (keys[i].key)
			return perr(p, k, "duplicate key '%s' in %s", sval(k), where);
		keys[i].key = k;
		keys[i].val = v;
	}
	return 0;
}

static struct key *key_find(struct key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i].name, name))
			return keys[i].val ? &keys[i] : NULL;
	return NULL;
}

#define KEY(keys, name) key_find(keys, sizeof(keys) / sizeof(keys[0]), name)
#define NKEYS(keys) (sizeof(keys) / sizeof(keys[0]))

/* Converts a node to JSON, resolving plain scalars (null, booleans,
 * numbers) as YAML 1.2's core schema does. */
static json_t *node_json(struct parse *p, const yaml_node_t *n, int depth)
{
	if (depth > MAX_JSON_DEPTH) {
		perr(p, n, "value is nested too deeply");
		return NULL;
	}
	if (n->type == YAML_SCALAR_NODE) {
		bool b, integral;
		double d;
		if (is_null(n))
			return json_null();
		if (!bool_parse(n, &b))
			return json_boolean(b);
		if (!num_parse(n, &d, &integral))
			return integral ? json_integer((json_int_t)d) : json_real(d);
		json_t *s = json_stringn(sval(n), n->data.scalar.length);
		if (!s)
			perr(p, n, "string is not valid UTF-8");
		return s;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++) {
			json_t *x = node_json(p, node_at(p, *it), depth + 1);
			if (!x) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, x);
		}
		return a;
	}
	json_t *o = json_object();
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(p, pr->key);
		if (k->type != YAML_SCALAR_NODE) {
			perr(p, k, "keys must be strings");
			json_decref(o);
			return NULL;
		}
		json_t *x = node_json(p, node_at(p, pr->value), depth + 1);
		if (!x || json_object_set_new(o, sval(k), x)) {
			if (x)
				perr(p, k, "key is not valid UTF-8");
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static bool name_ok(const char *s, bool dash)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && !(dash && *s == '-'))
			return false;
	return true;
}

/* An env map: NAME: value, values kept as written. */
static int get_env(struct parse *p, const yaml_node_t *n, struct wf_env *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "'env' must be a map of names to values, not %s", node_kind(n));
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	json_t *seen = json_object(); /* a hashed set: env maps can be long */
	int rc = 0;
	out->v = xcalloc(count ? count : 1, sizeof(*out->v));
	for (size_t i = 0; i < count && !rc; i++) {
		yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		if (k->type != YAML_SCALAR_NODE || !name_ok(sval(k), false))
			rc = perr(p, k, "env name '%.64s' is not valid (letters, digits and '_')",
				  k->type == YAML_SCALAR_NODE ? sval(k) : "");
		else if (json_object_get(seen, sval(k)))
			rc = perr(p, k, "duplicate key '%s' in env", sval(k));
		else if (v->type != YAML_SCALAR_NODE)
			rc = perr(p, v, "env value of '%s' must be a string, not %s", sval(k),
				  node_kind(v));
		else if (strlen(sval(v)) != v->data.scalar.length)
			rc = perr(p, v, "env value of '%s' contains a NUL byte", sval(k));
		if (rc)
			break;
		json_object_set_new(seen, sval(k), json_true());
		out->v[out->n].key = xstrdup(sval(k));
		out->v[out->n].value = xstrdup(is_null(v) ? "" : sval(v));
		out->n++;
		rc = check_expr(p, v, sval(v), false);
	}
	json_decref(seen);
	return rc;
}

static void env_free(struct wf_env *env)
{
	for (size_t i = 0; i < env->n; i++) {
		free(env->v[i].key);
		free(env->v[i].value);
	}
	free(env->v);
	memset(env, 0, sizeof(*env));
}

/* ---- permissions ------------------------------------------------------- */

static int get_perm_level(struct parse *p, const yaml_node_t *n, enum wf_perm *out, const char *what)
{
	const char *s = n->type == YAML_SCALAR_NODE ? sval(n) : "";
	if (!strcmp(s, "read"))
		*out = WF_PERM_READ;
	else if (!strcmp(s, "write"))
		*out = WF_PERM_WRITE;
	else if (!strcmp(s, "none"))
		*out = WF_PERM_NONE;
	else
		return perr(p, n, "permission '%s' must be read, write or none", what);
	return 0;
}

static int get_permissions(struct parse *p, const yaml_node_t *n, struct wf_permissions *out)
{
	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		enum wf_perm lvl;
		if (!strcmp(sval(n), "read-all"))
			lvl = WF_PERM_READ;
		else if (!strcmp(sval(n), "write-all"))
			lvl = WF_PERM_WRITE;
		else
			return perr(p, n, "'permissions' must be read-all, write-all or a map");
		out->contents = out->issues = out->pull_requests = out->statuses = lvl;
		out->network = false;
		return 0;
	}
	struct key keys[] = {
		{ "contents" }, { "issues" }, { "pull-requests" }, { "statuses" }, { "network" }
	};
	if (map_keys(p, n, "'permissions'", keys, NKEYS(keys)))
		return ERR_INVALID;
	memset(out, 0, sizeof(*out));
	enum wf_perm *lv[] = { &out->contents, &out->issues, &out->pull_requests, &out->statuses };
	for (size_t i = 0; i < 4; i++)
		if (keys[i].val && get_perm_level(p, keys[i].val, lv[i], keys[i].name))
			return ERR_INVALID;
	if (keys[4].val && get_bool(p, keys[4].val, &out->network, "network"))
		return ERR_INVALID;
	return 0;
}

/* ---- triggers ---------------------------------------------------------- */

enum filter_bit {
	F_BRANCHES = 1 << 0,
	F_BRANCHES_IGNORE = 1 << 1,
	F_TAGS = 1 << 2,
	F_TAGS_IGNORE = 1 << 3,
	F_PATHS = 1 << 4,
	F_PATHS_IGNORE = 1 << 5,
	F_TYPES = 1 << 6,
	F_CONTAINS = 1 << 7,
	F_USER = 1 << 8,
	F_INPUTS = 1 << 9,
};

static const char *const filter_names[] = { "branches", "branches-ignore", "tags",  "tags-ignore",
					    "paths",    "paths-ignore",    "types", "contains",
					    "user",     "inputs",          NULL };
#define NFILTERS 10

static const unsigned filters_allowed[WF_EV_COUNT] = {
	[WF_EV_PUSH] = F_BRANCHES | F_BRANCHES_IGNORE | F_TAGS | F_TAGS_IGNORE | F_PATHS |
		       F_PATHS_IGNORE,
	[WF_EV_PULL_REQUEST] = F_TYPES | F_BRANCHES | F_BRANCHES_IGNORE,
	[WF_EV_PULL_REQUEST_REVIEW] = F_TYPES,
	[WF_EV_ISSUE_OPENED] = F_TYPES,
	[WF_EV_ISSUE_COMMENT] = F_CONTAINS | F_TYPES,
	[WF_EV_MENTION] = F_USER,
	[WF_EV_CHAT] = 0,
	[WF_EV_WORKFLOW_DISPATCH] = F_INPUTS,
	[WF_EV_SCHEDULE] = 0,
};

/* The activity types each event knows (NULL-terminated), the first
 * default_n of them being the default set. */
static const char *const pr_types[] = { "opened", "synchronize", "reopened", "closed",
					"merged", "edited",      NULL };
static const char *const review_types[] = { "submitted", "edited", "dismissed", NULL };
static const char *const issue_types[] = { "opened", NULL };
static const char *const comment_types[] = { "created", NULL };

static const char *const *types_known(enum wf_event_type t, size_t *default_n)
{
	switch (t) {
	case WF_EV_PULL_REQUEST: *default_n = 3; return pr_types;
	case WF_EV_PULL_REQUEST_REVIEW: *default_n = 1; return review_types;
	case WF_EV_ISSUE_OPENED: *default_n = 1; return issue_types;
	case WF_EV_ISSUE_COMMENT: *default_n = 1; return comment_types;
	default: *default_n = 0; return NULL;
	}
}

static void list_known(char *buf, size_t n, const char *const *names, unsigned mask)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; names[i]; i++) {
		if (mask && !(mask & (1u << i)))
			continue;
		buf_addf(&b, "%s%s", b.len ? ", " : "", names[i]);
	}
	snprintf(buf, n, "%s", b.len ? b.ptr : "nothing");
	buf_release(&b);
}

static int parse_inputs(struct parse *p, struct wf_trigger *t, const yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "'inputs' must be a map of input names, not %s", node_kind(n));
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > MAX_INPUTS)
		return perr(p, n, "more than %d inputs", MAX_INPUTS);
	t->inputs = xcalloc(count ? count : 1, sizeof(*t->inputs));
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		if (k->type != YAML_SCALAR_NODE || !name_ok(sval(k), true))
			return perr(p, k, "input name '%.64s' is not valid",
				    k->type == YAML_SCALAR_NODE ? sval(k) : "");
		for (size_t i = 0; i < t->ninputs; i++)
			if (!strcmp(t->inputs[i].name, sval(k)))
				return perr(p, k, "duplicate input '%s'", sval(k));
		struct wf_input *in = &t->inputs[t->ninputs++];
		in->name = xstrdup(sval(k));
		if (is_null(v))
			continue;
		char where[96];
		snprintf(where, sizeof(where), "input '%s'", in->name);
		struct key keys[] = {
			{ "description" }, { "type" }, { "required" }, { "default" }, { "options" }
		};
		if (map_keys(p, v, where, keys, NKEYS(keys)))
			return ERR_INVALID;
		if (keys[0].val && get_str(p, keys[0].val, &in->description, "description"))
			return ERR_INVALID;
		if (keys[1].val) {
			static const char *const tn[] = { "string", "choice", "boolean", "number",
							  NULL };
			const char *s = keys[1].val->type == YAML_SCALAR_NODE ? sval(keys[1].val)
									      : "";
			size_t i;
			for (i = 0; tn[i]; i++)
				if (!strcmp(s, tn[i]))
					break;
			if (!tn[i])
				return perr(p, keys[1].val,
					    "input type '%.32s' is not one of string, choice, "
					    "boolean, number",
					    s);
			in->type = (enum wf_input_type)i;
		}
		if (keys[2].val && get_bool(p, keys[2].val, &in->required, "required"))
			return ERR_INVALID;
		if (keys[4].val) {
			if (in->type != WF_INPUT_CHOICE)
				return perr(p, keys[4].key,
					    "'options' is only for inputs of type choice");
			if (get_strlist(p, keys[4].val, &in->options, "options"))
				return ERR_INVALID;
		}
		if (in->type == WF_INPUT_CHOICE && in->options.n == 0)
			return perr(p, keys[4].val ? keys[4].val : k,
				    "choice input '%s' needs a non-empty 'options' list", in->name);
		if (keys[3].val) {
			yaml_node_t *d = keys[3].val;
			bool b, integral;
			double num;
			switch (in->type) {
			case WF_INPUT_BOOLEAN:
				if (bool_parse(d, &b))
					return perr(p, d,
						    "default of boolean input '%s' must be true or false",
						    in->name);
				in->def = json_boolean(b);
				break;
			case WF_INPUT_NUMBER:
				if (num_parse(d, &num, &integral))
					return perr(p, d,
						    "default of number input '%s' must be a number",
						    in->name);
				in->def = integral ? json_integer((json_int_t)num) : json_real(num);
				break;
			default:
				if (d->type != YAML_SCALAR_NODE)
					return perr(p, d, "default of input '%s' must be a string",
						    in->name);
				in->def = json_string(sval(d));
				if (!in->def)
					return perr(p, d, "string is not valid UTF-8");
				if (in->type == WF_INPUT_CHOICE) {
					size_t i;
					for (i = 0; i < in->options.n; i++)
						if (!strcmp(in->options.v[i], sval(d)))
							break;
					if (i == in->options.n)
						return perr(p, d,
							    "default '%.64s' of input '%s' is not one of its options",
							    sval(d), in->name);
				}
				break;
			}
		}
	}
	return 0;
}

static int parse_cron_entry(struct parse *p, struct wf_trigger *t, const yaml_node_t *x)
{
	struct key keys[] = { { "cron" } };
	if (map_keys(p, x, "a schedule entry", keys, 1))
		return ERR_INVALID;
	if (!keys[0].val)
		return perr(p, x, "a schedule entry needs 'cron'");
	struct wf_cron *c = &t->crons[t->ncrons++];
	struct err sub = { 0 };
	if (get_str(p, keys[0].val, &c->text, "cron"))
		return ERR_INVALID;
	if (cron_parse(&c->cron, c->text, &sub))
		return perr(p, keys[0].val, "%s", sub.msg);
	return 0;
}

static int parse_schedule(struct parse *p, struct wf_trigger *t, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE) { /* a single {cron: ...} */
		t->crons = xcalloc(1, sizeof(*t->crons));
		return parse_cron_entry(p, t, n);
	}
	if (n->type != YAML_SEQUENCE_NODE ||
	    n->data.sequence.items.top == n->data.sequence.items.start)
		return perr(p, n, "'schedule' must be a list of {cron: \"...\"} entries");
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	t->crons = xcalloc(count, sizeof(*t->crons));
	for (size_t i = 0; i < count; i++)
		if (parse_cron_entry(p, t, node_at(p, n->data.sequence.items.start[i])))
			return ERR_INVALID;
	return 0;
}

/* Parses one event: key is its name, val its filters (or NULL). */
static int parse_trigger(struct parse *p, const yaml_node_t *key, const yaml_node_t *val)
{
	struct workflow *w = p->w;
	if (key->type != YAML_SCALAR_NODE)
		return perr(p, key, "an event name must be a string");
	const char *name = sval(key);
	int type = wf_event_type_parse(name);
	if (type < 0)
		return perr(p, key, "unknown event '%.64s'", name);
	for (size_t i = 0; i < w->ntriggers; i++)
		if (w->triggers[i].type == (enum wf_event_type)type)
			return perr(p, key, "event '%s' is listed twice", event_names[type]);
	w->triggers = xrealloc(w->triggers, sizeof(*w->triggers) * (w->ntriggers + 1));
	struct wf_trigger *t = &w->triggers[w->ntriggers++];
	memset(t, 0, sizeof(*t));
	t->type = (enum wf_event_type)type;
	t->line = (int)key->start_mark.line + 1;
	t->col = (int)key->start_mark.column + 1;
	if (type == WF_EV_MENTION)
		t->user = xstrdup("plue");

	if (type == WF_EV_SCHEDULE) {
		if (!val || is_null(val))
			return perr(p, key, "'schedule' needs a list of {cron: \"...\"} entries");
		if (parse_schedule(p, t, val))
			return ERR_INVALID;
	} else if (val && !is_null(val)) {
		char where[64];
		snprintf(where, sizeof(where), "event '%s'", name);
		if (val->type != YAML_MAPPING_NODE)
			return perr(p, val, "the filters of %s must be a map, not %s", where,
				    node_kind(val));
		for (yaml_node_pair_t *pr = val->data.mapping.pairs.start;
		     pr < val->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
			const char *kn = k->type == YAML_SCALAR_NODE ? sval(k) : "";
			size_t f;
			for (f = 0; f < NFILTERS; f++)
				if (!strcmp(kn, filter_names[f]))
					break;
			if (f == NFILTERS || !(filters_allowed[type] & (1u << f))) {
				char known[160];
				list_known(known, sizeof(known), filter_names, filters_allowed[type]);
				if (!filters_allowed[type])
					return perr(p, k, "event '%s' takes no filters, not '%.64s'",
						    name, kn);
				return perr(p, k, "event '%s' does not take '%.64s' (it takes %s)",
					    name, kn, known);
			}
			struct wf_strlist *lists[] = { &t->branches, &t->branches_ignore,
						       &t->tags,     &t->tags_ignore,
						       &t->paths,    &t->paths_ignore,
						       &t->types };
			if (f < 7) {
				if (lists[f]->set)
					return perr(p, k, "duplicate key '%s' in %s", kn, where);
				if (get_strlist(p, v, lists[f], kn))
					return ERR_INVALID;
				for (size_t i = 0; i < lists[f]->n; i++)
					if (!*lists[f]->v[i])
						return perr(p, v, "'%s' has an empty pattern", kn);
				/* foo and foo-ignore exclude each other */
				if (f < 6 && lists[f ^ 1]->set)
					return perr(p, k, "'%s' and '%s' cannot be used together",
						    filter_names[f & ~1u], filter_names[f | 1u]);
			} else if (f == 7) {
				if (t->contains)
					return perr(p, k, "duplicate key 'contains' in %s", where);
				if (get_str(p, v, &t->contains, "contains"))
					return ERR_INVALID;
			} else if (f == 8) {
				if (get_str(p, v, &t->user, "user"))
					return ERR_INVALID;
				if (t->user[0] == '@')
					memmove(t->user, t->user + 1, strlen(t->user));
				if (!*t->user)
					return perr(p, v, "'user' must name a user");
			} else {
				if (t->inputs)
					return perr(p, k, "duplicate key 'inputs' in %s", where);
				if (parse_inputs(p, t, v))
					return ERR_INVALID;
			}
		}
	}
	/* activity types: check the given ones, else fill in the defaults */
	size_t default_n;
	const char *const *known = types_known(t->type, &default_n);
	if (t->types.set) {
		yaml_node_t *tv = NULL;
		for (yaml_node_pair_t *pr = val->data.mapping.pairs.start;
		     pr < val->data.mapping.pairs.top; pr++)
			if (!strcmp(sval(node_at(p, pr->key)), "types"))
				tv = node_at(p, pr->value);
		for (size_t i = 0; i < t->types.n; i++) {
			size_t j;
			for (j = 0; known[j]; j++)
				if (!strcmp(t->types.v[i], known[j]))
					break;
			if (!known[j]) {
				char list[128];
				list_known(list, sizeof(list), known, 0);
				yaml_node_t *at = tv;
				if (tv->type == YAML_SEQUENCE_NODE)
					at = node_at(p, tv->data.sequence.items.start[i]);
				return perr(p, at, "unknown %s type '%.32s' (known: %s)", name,
					    t->types.v[i], list);
			}
		}
	} else {
		for (size_t i = 0; i < default_n; i++)
			strlist_add(&t->types, known[i]);
	}
	return 0;
}

static int parse_on(struct parse *p, const yaml_node_t *n)
{
	if (n->type == YAML_SCALAR_NODE) {
		if (is_null(n))
			return perr(p, n, "'on' must name at least one event");
		return parse_trigger(p, n, NULL);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		if (n->data.sequence.items.top == n->data.sequence.items.start)
			return perr(p, n, "'on' must name at least one event");
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			if (parse_trigger(p, node_at(p, *it), NULL))
				return ERR_INVALID;
		return 0;
	}
	if (n->data.mapping.pairs.top == n->data.mapping.pairs.start)
		return perr(p, n, "'on' must name at least one event");
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++)
		if (parse_trigger(p, node_at(p, pr->key), node_at(p, pr->value)))
			return ERR_INVALID;
	return 0;
}

/* ---- jobs -------------------------------------------------------------- */

static int parse_step(struct parse *p, struct wf_step *s, const yaml_node_t *n, const char *where)
{
	struct key keys[] = { { "name" },
			      { "run" },
			      { "env" },
			      { "working-directory" },
			      { "timeout-minutes" },
			      { "continue-on-error" },
			      { "if" } };
	s->line = (int)n->start_mark.line + 1;
	s->col = (int)n->start_mark.column + 1;
	if (map_keys(p, n, where, keys, NKEYS(keys)))
		return ERR_INVALID;
	struct key *k;
	if ((k = KEY(keys, "name")) && get_text(p, k->val, &s->name, "name"))
		return ERR_INVALID;
	if (!(k = KEY(keys, "run")))
		return perr(p, n, "%s needs 'run'", where);
	if (get_text(p, k->val, &s->run, "run"))
		return ERR_INVALID;
	if ((k = KEY(keys, "env")) && get_env(p, k->val, &s->env))
		return ERR_INVALID;
	if ((k = KEY(keys, "working-directory"))) {
		if (get_text(p, k->val, &s->working_directory, "working-directory"))
			return ERR_INVALID;
		if (s->working_directory[0] == '/')
			return perr(p, k->val,
				    "'working-directory' must be relative to the workspace");
	}
	if ((k = KEY(keys, "timeout-minutes")) &&
	    get_timeout(p, k->val, &s->timeout_sec, "timeout-minutes"))
		return ERR_INVALID;
	if ((k = KEY(keys, "continue-on-error")) &&
	    get_bool(p, k->val, &s->continue_on_error, "continue-on-error"))
		return ERR_INVALID;
	if ((k = KEY(keys, "if")) && get_cond(p, k->val, &s->if_expr))
		return ERR_INVALID;
	return 0;
}

static int parse_matrix(struct parse *p, struct wf_job *j, const yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "'matrix' must be a map of keys to lists of values, not %s",
			    node_kind(n));
	json_t *m = json_object();
	j->matrix = m;
	size_t product = 1, nkeys = 0;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		if (k->type != YAML_SCALAR_NODE || !name_ok(sval(k), true))
			return perr(p, k, "matrix key '%.64s' is not valid",
				    k->type == YAML_SCALAR_NODE ? sval(k) : "");
		if (json_object_get(m, sval(k)))
			return perr(p, k, "duplicate key '%s' in matrix", sval(k));
		bool inex = !strcmp(sval(k), "include") || !strcmp(sval(k), "exclude");
		if (v->type != YAML_SEQUENCE_NODE)
			return perr(p, v,
				    inex ? "matrix '%s' must be a list of maps"
					 : "matrix key '%s' must be a list of values",
				    sval(k));
		json_t *arr = node_json(p, v, 0);
		if (!arr)
			return ERR_INVALID;
		json_object_set_new(m, sval(k), arr);
		if (inex) {
			size_t i;
			json_t *x;
			json_array_foreach(arr, i, x) if (!json_is_object(x) || !json_object_size(x)) return perr(
				p, node_at(p, v->data.sequence.items.start[i]),
				"matrix '%s' entries must be non-empty maps", sval(k));
			continue;
		}
		if (!json_array_size(arr))
			return perr(p, v, "matrix key '%s' has no values", sval(k));
		nkeys++;
		product *= json_array_size(arr);
		if (product > MAX_MATRIX)
			return perr(p, v, "matrix has more than %d combinations", MAX_MATRIX);
	}
	json_t *inc = json_object_get(m, "include"), *exc = json_object_get(m, "exclude");
	if (!nkeys && !json_array_size(inc))
		return perr(p, n, "matrix has no values");
	if (exc) {
		yaml_node_t *ex = NULL;
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++)
			if (!strcmp(sval(node_at(p, pr->key)), "exclude"))
				ex = node_at(p, pr->value);
		size_t i;
		json_t *x;
		json_array_foreach(exc, i, x)
		{
			const char *key;
			json_t *val;
			json_object_foreach(
				x, key,
				val) if (!strcmp(key, "include") || !strcmp(key, "exclude") ||
					 !json_object_get(
						 m,
						 key)) return perr(p,
								   node_at(p,
									   ex->data.sequence.items
										   .start[i]),
								   "matrix exclude names unknown key '%.64s'",
								   key);
		}
	}
	return 0;
}

static int parse_strategy(struct parse *p, struct wf_job *j, const yaml_node_t *n)
{
	struct key keys[] = { { "matrix" }, { "fail-fast" }, { "max-parallel" } };
	if (map_keys(p, n, "'strategy'", keys, NKEYS(keys)))
		return ERR_INVALID;
	if (!keys[0].val)
		return perr(p, n, "'strategy' needs 'matrix'");
	if (parse_matrix(p, j, keys[0].val))
		return ERR_INVALID;
	struct wf_instance *v;
	size_t nv;
	struct err sub = { 0 };
	if (workflow_job_expand(&v, &nv, j, NULL, &sub))
		return perr(p, keys[0].val, "%s", sub.msg);
	wf_instances_free(v, nv);
	if (keys[1].val && get_bool(p, keys[1].val, &j->fail_fast, "fail-fast"))
		return ERR_INVALID;
	if (keys[2].val && get_int(p, keys[2].val, &j->max_parallel, 1, MAX_MATRIX, "max-parallel"))
		return ERR_INVALID;
	return 0;
}

static int parse_job(struct parse *p, struct wf_job *j, const yaml_node_t *key,
		     const yaml_node_t *n, yaml_node_t **needs_node)
{
	char where[96];
	snprintf(where, sizeof(where), "job '%s'", j->id);
	struct key keys[] = { { "name" }, { "runs-on" },         { "needs" },
			      { "if" },   { "timeout-minutes" }, { "continue-on-error" },
			      { "env" },  { "strategy" },        { "permissions" },
			      { "steps" } };
	j->line = (int)key->start_mark.line + 1;
	j->col = (int)key->start_mark.column + 1;
	j->timeout_sec = 360 * 60;
	j->fail_fast = true;
	j->runs_on = xstrdup("sandbox");
	j->permissions = p->w->permissions;
	if (map_keys(p, n, where, keys, NKEYS(keys)))
		return ERR_INVALID;
	struct key *k;
	if ((k = KEY(keys, "name")) && get_text(p, k->val, &j->name, "name"))
		return ERR_INVALID;
	if ((k = KEY(keys, "runs-on"))) {
		if (get_str(p, k->val, &j->runs_on, "runs-on"))
			return ERR_INVALID;
		if (strcmp(j->runs_on, "sandbox"))
			return perr(p, k->val, "runs-on '%.64s' is not available (use 'sandbox')",
				    j->runs_on);
	}
	if ((k = KEY(keys, "needs"))) {
		if (get_strlist(p, k->val, &j->needs, "needs"))
			return ERR_INVALID;
		*needs_node = k->val;
	}
	if ((k = KEY(keys, "if")) && get_cond(p, k->val, &j->if_expr))
		return ERR_INVALID;
	if ((k = KEY(keys, "timeout-minutes")) &&
	    get_timeout(p, k->val, &j->timeout_sec, "timeout-minutes"))
		return ERR_INVALID;
	if ((k = KEY(keys, "continue-on-error")) &&
	    get_bool(p, k->val, &j->continue_on_error, "continue-on-error"))
		return ERR_INVALID;
	if ((k = KEY(keys, "env")) && get_env(p, k->val, &j->env))
		return ERR_INVALID;
	if ((k = KEY(keys, "strategy")) && parse_strategy(p, j, k->val))
		return ERR_INVALID;
	if ((k = KEY(keys, "permissions"))) {
		j->has_permissions = true;
		if (get_permissions(p, k->val, &j->permissions))
			return ERR_INVALID;
	}
	if (!(k = KEY(keys, "steps")))
		return perr(p, key, "job '%s' needs 'steps'", j->id);
	if (k->val->type != YAML_SEQUENCE_NODE ||
	    k->val->data.sequence.items.top == k->val->data.sequence.items.start)
		return perr(p, k->val, "'steps' must be a non-empty list");
	size_t count = (size_t)(k->val->data.sequence.items.top - k->val->data.sequence.items.start);
	j->steps = xcalloc(count, sizeof(*j->steps));
	for (size_t i = 0; i < count; i++) {
		char swhere[128];
		snprintf(swhere, sizeof(swhere), "step %zu of job '%s'", i + 1, j->id);
		j->nsteps++;
		if (parse_step(p, &j->steps[i], node_at(p, k->val->data.sequence.items.start[i]),
			       swhere))
			return ERR_INVALID;
	}
	return 0;
}

/* Depth-first search for a cycle through needs; colour 0 white, 1 on the
 * stack, 2 done. Returns 0 or the error. */
static int cycle_find(struct parse *p, size_t **adj, size_t *nadj, int *colour, size_t *stack,
		      size_t depth, size_t u)
{
	struct workflow *w = p->w;
	colour[u] = 1;
	stack[depth] = u;
	for (size_t i = 0; i < nadj[u]; i++) {
		size_t v = adj[u][i];
		if (colour[v] == 1) {
			struct buf b = BUF_INIT;
			size_t from = 0;
			while (stack[from] != v)
				from++;
			for (size_t s = from; s <= depth; s++)
				buf_addf(&b, "%s -> ", w->jobs[stack[s]].id);
			buf_adds(&b, w->jobs[v].id);
			int rc = perr(p, p->needs_nodes[u], "needs form a cycle: %s", b.ptr);
			buf_release(&b);
			return rc;
		}
		if (colour[v] == 0 && cycle_find(p, adj, nadj, colour, stack, depth + 1, v))
			return ERR_INVALID;
	}
	colour[u] = 2;
	return 0;
}

static int check_needs(struct parse *p)
{
	struct workflow *w = p->w;
	size_t n = w->njobs;
	size_t **adj = xcalloc(n, sizeof(*adj));
	size_t *nadj = xcalloc(n, sizeof(*nadj));
	int *colour = xcalloc(n, sizeof(*colour));
	size_t *stack = xcalloc(n + 1, sizeof(*stack));
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		struct wf_job *j = &w->jobs[i];
		adj[i] = xcalloc(j->needs.n + 1, sizeof(**adj));
		for (size_t k = 0; k < j->needs.n && !rc; k++) {
			size_t t;
			for (t = 0; t < n; t++)
				if (!strcmp(w->jobs[t].id, j->needs.v[k]))
					break;
			if (t == n) {
				yaml_node_t *at = p->needs_nodes[i];
				if (at->type == YAML_SEQUENCE_NODE)
					at = node_at(p, at->data.sequence.items.start[k]);
				rc = perr(p, at, "job '%s' needs unknown job '%.64s'", j->id,
					  j->needs.v[k]);
				break;
			}
			for (size_t d = 0; d < nadj[i]; d++)
				if (adj[i][d] == t)
					t = n;
			if (t < n)
				adj[i][nadj[i]++] = t;
		}
	}
	for (size_t i = 0; i < n && !rc; i++)
		if (colour[i] == 0)
			rc = cycle_find(p, adj, nadj, colour, stack, 0, i);
	for (size_t i = 0; i < n; i++)
		free(adj[i]);
	free(adj);
	free(nadj);
	free(colour);
	free(stack);
	return rc;
}

static int parse_jobs(struct parse *p, const yaml_node_t *n)
{
	struct workflow *w = p->w;
	if (n->type != YAML_MAPPING_NODE)
		return perr(p, n, "'jobs' must be a map of job ids to jobs, not %s", node_kind(n));
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (!count)
		return perr(p, n, "'jobs' is empty");
	if (count > MAX_JOBS)
		return perr(p, n, "more than %d jobs", MAX_JOBS);
	w->jobs = xcalloc(count, sizeof(*w->jobs));
	p->needs_nodes = xcalloc(count, sizeof(*p->needs_nodes));
	for (size_t i = 0; i < count; i++) {
		yaml_node_pair_t *pr = &n->data.mapping.pairs.start[i];
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
		if (k->type != YAML_SCALAR_NODE || !name_ok(sval(k), true))
			return perr(p, k,
				    "job id '%.64s' is not valid (a letter or '_', then letters, "
				    "digits, '-' or '_')",
				    k->type == YAML_SCALAR_NODE ? sval(k) : "");
		for (size_t t = 0; t < w->njobs; t++)
			if (!strcmp(w->jobs[t].id, sval(k)))
				return perr(p, k, "duplicate job '%s'", sval(k));
		struct wf_job *j = &w->jobs[w->njobs++];
		j->id = xstrdup(sval(k));
		if (parse_job(p, j, k, v, &p->needs_nodes[i]))
			return ERR_INVALID;
	}
	return check_needs(p);
}

/* ---- agent, concurrency, top level ------------------------------------- */

static int parse_agent(struct parse *p, const yaml_node_t *n)
{
	struct wf_agent *a = &p->w->agent;
	struct key keys[] = { { "model" }, { "system" },    { "prompt" },
			      { "tools" }, { "max_turns" }, { "timeout" } };
	if (map_keys(p, n, "'agent'", keys, NKEYS(keys)))
		return ERR_INVALID;
	if (!keys[0].val)
		return perr(p, n, "'agent' needs 'model'");
	if (get_str(p, keys[0].val, &a->model, "model"))
		return ERR_INVALID;
	if (keys[1].val && get_text(p, keys[1].val, &a->system, "system"))
		return ERR_INVALID;
	if (keys[2].val && get_text(p, keys[2].val, &a->prompt, "prompt"))
		return ERR_INVALID;
	if (keys[3].val && get_strlist(p, keys[3].val, &a->tools, "tools"))
		return ERR_INVALID;
	for (size_t i = 0; i < a->tools.n; i++) {
		if (!tool_spec(a->tools.v[i]))
			return perr(p, keys[3].val, "unknown tool '%.64s' in 'tools'", a->tools.v[i]);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a->tools.v[j], a->tools.v[i]))
				return perr(p, keys[3].val, "tool '%.64s' is listed twice",
					    a->tools.v[i]);
	}
	if (keys[4].val && get_int(p, keys[4].val, &a->max_turns, 1, 1000, "max_turns"))
		return ERR_INVALID;
	if (keys[5].val && get_int(p, keys[5].val, &a->timeout_sec, 1, 86400, "timeout"))
		return ERR_INVALID;
	return 0;
}

static int parse_concurrency(struct parse *p, const yaml_node_t *n)
{
	struct wf_concurrency *c = &p->w->concurrency;
	if (n->type == YAML_SCALAR_NODE)
		return get_text(p, n, &c->group, "concurrency");
	struct key keys[] = { { "group" }, { "cancel-in-progress" } };
	if (map_keys(p, n, "'concurrency'", keys, NKEYS(keys)))
		return ERR_INVALID;
	if (!keys[0].val)
		return perr(p, n, "'concurrency' needs 'group'");
	if (get_text(p, keys[0].val, &c->group, "group"))
		return ERR_INVALID;
	if (keys[1].val && get_bool(p, keys[1].val, &c->cancel_in_progress, "cancel-in-progress"))
		return ERR_INVALID;
	return 0;
}

/* The base name of file without directory and .yml/.yaml. */
static char *default_name(const char *file)
{
	const char *b = strrchr(file, '/');
	b = b ? b + 1 : file;
	size_t n = strlen(b);
	if (n > 5 && !strcmp(b + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(b + n - 4, ".yml"))
		n -= 4;
	return xstrndup(b, n);
}

static int parse_root(struct parse *p, const yaml_node_t *root)
{
	struct workflow *w = p->w;
	struct key keys[] = { { "name" },        { "on" },          { "mode" }, { "env" },
			      { "concurrency" }, { "permissions" }, { "jobs" }, { "agent" } };
	if (root->type != YAML_MAPPING_NODE)
		return perr(p, root, "a workflow must be a map (name, on, jobs, ...), not %s",
			    node_kind(root));
	if (map_keys(p, root, "the workflow", keys, NKEYS(keys)))
		return ERR_INVALID;
	struct key *k;
	if ((k = KEY(keys, "name")) && get_str(p, k->val, &w->name, "name"))
		return ERR_INVALID;
	if (!w->name)
		w->name = default_name(p->file);
	if ((k = KEY(keys, "mode"))) {
		const char *m = k->val->type == YAML_SCALAR_NODE ? sval(k->val) : "";
		if (!strcmp(m, "scripted"))
			w->mode = WF_MODE_SCRIPTED;
		else if (!strcmp(m, "agent"))
			w->mode = WF_MODE_AGENT;
		else
			return perr(p, k->val, "unknown mode '%.32s' (use scripted or agent)", m);
	}
	w->permissions.contents = WF_PERM_READ;
	if ((k = KEY(keys, "permissions")) && get_permissions(p, k->val, &w->permissions))
		return ERR_INVALID;
	if ((k = KEY(keys, "env")) && get_env(p, k->val, &w->env))
		return ERR_INVALID;
	if ((k = KEY(keys, "concurrency")) && parse_concurrency(p, k->val))
		return ERR_INVALID;
	if (!(k = KEY(keys, "on")))
		return perr(p, root, "the workflow needs 'on' (the events that start it)");
	if (parse_on(p, k->val))
		return ERR_INVALID;
	w->agent.max_turns = 20;
	w->agent.timeout_sec = 600;
	if (w->mode == WF_MODE_AGENT) {
		if ((k = KEY(keys, "jobs")))
			return perr(p, k->key, "'jobs' is not used in agent mode (see 'agent')");
		if (!(k = KEY(keys, "agent")))
			return perr(p, root, "mode: agent needs an 'agent' section");
		return parse_agent(p, k->val);
	}
	if ((k = KEY(keys, "agent")))
		return perr(p, k->key, "'agent' needs mode: agent");
	if (!(k = KEY(keys, "jobs")))
		return perr(p, root, "the workflow needs 'jobs'");
	return parse_jobs(p, k->val);
}

/* The explicit tag of a node event, or NULL. */
static const char *event_tag(const yaml_event_t *ev)
{
	const yaml_char_t *t = NULL;
	if (ev->type == YAML_SCALAR_EVENT)
		t = ev->data.scalar.tag;
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		t = ev->data.sequence_start.tag;
	else if (ev->type == YAML_MAPPING_START_EVENT)
		t = ev->data.mapping_start.tag;
	return (const char *)t;
}

/* Scans the event stream once: reports syntax errors with their position,
 * rejects aliases (a self-referencing alias would make the document a
 * cycle), local tags (`if: !cancelled()` is a tag, not a negation),
 * nesting deeper than MAX_YAML_DEPTH and more than one document. */
static int prescan(struct parse *p, const char *yaml, size_t len, bool *empty)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc = 0, docs = 0, depth = 0;
	const char *tag;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			struct yaml_node_s fake = { 0 };
			fake.start_mark = parser.problem_mark;
			if (parser.error == YAML_READER_ERROR) {
				/* encoding errors carry a byte offset, not a mark */
				size_t off = parser.problem_offset < len ? parser.problem_offset
									 : len;
				fake.start_mark.line = fake.start_mark.column = 0;
				for (size_t i = 0; i < off; i++) {
					if (yaml[i] == '\n') {
						fake.start_mark.line++;
						fake.start_mark.column = 0;
					} else if (((unsigned char)yaml[i] & 0xc0) != 0x80) {
						fake.start_mark.column++;
					}
				}
			}
			rc = perr(p, &fake, "yaml syntax error: %s%s%s",
				  parser.problem ? parser.problem : "unknown problem",
				  parser.context ? " " : "", parser.context ? parser.context : "");
			break;
		}
		yaml_event_type_t type = ev.type;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT)
			depth--;
		if (depth > MAX_YAML_DEPTH) {
			/* also bounds libyaml's scanner, whose cost grows with depth */
			struct yaml_node_s fake = { 0 };
			fake.start_mark = ev.start_mark;
			rc = perr(p, &fake, "yaml is nested more than %d levels deep",
				  MAX_YAML_DEPTH);
		} else if ((tag = event_tag(&ev)) && strncmp(tag, "tag:yaml.org,2002:", 18)) {
			struct yaml_node_s fake = { 0 };
			fake.start_mark = ev.start_mark;
			rc = perr(p, &fake,
				  "'%.40s' is read as a yaml tag; quote a value that starts with '!' "
				  "(or write ${{ !... }})",
				  tag);
		} else if (type == YAML_ALIAS_EVENT) {
			struct yaml_node_s fake = { 0 };
			fake.start_mark = ev.start_mark;
			rc = perr(p, &fake, "yaml aliases (*name) are not supported");
		} else if (type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			struct yaml_node_s fake = { 0 };
			fake.start_mark = ev.start_mark;
			rc = perr(p, &fake, "a workflow file holds one yaml document, not several");
		}
		yaml_event_delete(&ev);
		if (rc || type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&parser);
	*empty = docs == 0;
	return rc;
}

int workflow_parse(struct workflow **out, const char *file, const char *yaml, size_t len,
		   struct err *e)
{
	struct parse p = { .file = file, .e = e };
	yaml_parser_t parser;
	bool empty, loaded = false;
	int rc;
	*out = NULL;
	p.w = xcalloc(1, sizeof(*p.w));
	p.w->file = xstrdup(file);
	rc = prescan(&p, yaml, len, &empty);
	if (rc)
		goto done;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	loaded = yaml_parser_load(&parser, &p.doc);
	yaml_parser_delete(&parser);
	if (!loaded) {
		rc = perr(&p, NULL, "yaml could not be loaded");
		goto done;
	}
	yaml_node_t *root = yaml_document_get_root_node(&p.doc);
	if (empty || !root || is_null(root)) {
		rc = perr(&p, NULL, "workflow file is empty");
		goto done;
	}
	rc = parse_root(&p, root);
done:
	if (loaded)
		yaml_document_delete(&p.doc);
	free(p.needs_nodes);
	if (rc) {
		workflow_free(p.w);
		return ERR_INVALID;
	}
	*out = p.w;
	return 0;
}

/* ---- freeing and small accessors --------------------------------------- */

static void step_free(struct wf_step *s)
{
	free(s->name);
	free(s->run);
	env_free(&s->env);
	free(s->working_directory);
	free(s->if_expr);
}

static void job_free(struct wf_job *j)
{
	free(j->id);
	free(j->name);
	free(j->runs_on);
	strlist_free(&j->needs);
	free(j->if_expr);
	env_free(&j->env);
	json_decref(j->matrix);
	for (size_t i = 0; i < j->nsteps; i++)
		step_free(&j->steps[i]);
	free(j->steps);
}

static void trigger_free(struct wf_trigger *t)
{
	struct wf_strlist *lists[] = { &t->branches, &t->branches_ignore, &t->tags, &t->tags_ignore,
				       &t->paths,    &t->paths_ignore,    &t->types };
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		strlist_free(lists[i]);
	free(t->contains);
	free(t->user);
	for (size_t i = 0; i < t->ninputs; i++) {
		free(t->inputs[i].name);
		free(t->inputs[i].description);
		json_decref(t->inputs[i].def);
		strlist_free(&t->inputs[i].options);
	}
	free(t->inputs);
	for (size_t i = 0; i < t->ncrons; i++)
		free(t->crons[i].text);
	free(t->crons);
}

void workflow_free(struct workflow *w)
{
	if (!w)
		return;
	free(w->file);
	free(w->name);
	for (size_t i = 0; i < w->ntriggers; i++)
		trigger_free(&w->triggers[i]);
	free(w->triggers);
	env_free(&w->env);
	free(w->concurrency.group);
	for (size_t i = 0; i < w->njobs; i++)
		job_free(&w->jobs[i]);
	free(w->jobs);
	free(w->agent.model);
	free(w->agent.system);
	free(w->agent.prompt);
	strlist_free(&w->agent.tools);
	free(w);
}

const struct wf_trigger *workflow_trigger(const struct workflow *w, enum wf_event_type t)
{
	for (size_t i = 0; i < w->ntriggers; i++)
		if (w->triggers[i].type == t)
			return &w->triggers[i];
	return NULL;
}

const char *wf_step_name(const struct wf_step *s, char *buf, size_t n)
{
	if (s->name)
		return s->name;
	const char *r = s->run ? s->run : "";
	while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
		r++;
	size_t len = strcspn(r, "\n");
	while (len && isspace((unsigned char)r[len - 1]))
		len--;
	if (len > 60)
		len = 60;
	snprintf(buf, n, "%.*s", (int)len, r);
	return buf;
}
