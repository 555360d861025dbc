/* common.c — helpers shared by the API handlers: repository loading,
 * validation of names, refs and paths, JSON field access. */
#include "api/api.h"
#include "auth/auth.h"
#include "base/config.h"
#include "base/util.h"
#include "db/db.h"
#include "git/store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *i64s(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

json_t *repo_json(const struct req *r, const struct repo *p)
{
	const char *base = cfg.public_url ? cfg.public_url : "";
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:s}", "id", (json_int_t)p->id, "owner",
			 p->owner, "name", p->name, "full_name",
			 arena_printf(r->arena, "%s/%s", p->owner, p->name), "description",
			 p->description, "private", p->is_private, "issues_open_to_readers",
			 p->issues_open, "default_branch",
			 p->default_branch, "clone_url",
			 arena_printf(r->arena, "%s/%s/%s.git", base, p->owner, p->name),
			 "created_at", p->created_at ? p->created_at : "");
}

void api_content_headers(struct resp *w)
{
	resp_header(w, "X-Content-Type-Options", "nosniff");
	resp_header(w, "Content-Security-Policy", "default-src 'none'; sandbox");
}

int json_str_field(struct req *r, const char *field, bool required, size_t maxlen,
		   const char **out)
{
	json_t *v = json_object_get(r->json, field);
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(&r->err, ERR_INVALID, "missing_field", "field '%s' is required",
				       field);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' must be a string",
			       field);
	if (json_string_length(v) > maxlen)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' is longer than %zu characters", field, maxlen);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' contains NUL",
			       field);
	*out = json_string_value(v);
	return 0;
}

int json_bool_field(struct req *r, const char *field, bool *out)
{
	json_t *v = json_object_get(r->json, field);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' must be true or false",
			       field);
	*out = json_is_true(v);
	return 0;
}

static const char *reserved[] = {
	"api", "repos", "users", "user", "health", "auth", "runs", "sessions", "internal",
	"static", "assets", "login", "logout", "register", "settings", "new", "admin",
	"explore", "notifications", "plue", NULL,
};

static int validate_name(struct err *e, const char *what, const char *name, bool check_reserved)
{
	size_t n = strlen(name);
	if (n == 0 || n > 100)
		return err_set(e, ERR_INVALID, "invalid_name", "%s must be 1 to 100 characters", what);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return err_set(e, ERR_INVALID, "invalid_name",
				       "%s '%.100s' may contain only letters, digits, '-', '_' and '.'",
				       what, name);
	}
	if (name[0] == '.' || name[0] == '-')
		return err_set(e, ERR_INVALID, "invalid_name", "%s '%.100s' may not start with '%c'",
			       what, name, name[0]);
	if (strstr(name, ".."))
		return err_set(e, ERR_INVALID, "invalid_name", "%s '%.100s' may not contain '..'",
			       what, name);
	if ((n >= 4 && !strcasecmp(name + n - 4, ".git")) ||
	    (n >= 5 && !strcasecmp(name + n - 5, ".lock")))
		return err_set(e, ERR_INVALID, "invalid_name", "%s '%.100s' may not end in '%s'", what,
			       name, strrchr(name, '.'));
	if (check_reserved)
		for (const char **p = reserved; *p; p++)
			if (!strcasecmp(*p, name))
				return err_set(e, ERR_INVALID, "invalid_name", "%s '%s' is reserved",
					       what, name);
	return 0;
}

int validate_repo_name(struct err *e, const char *name)
{
	return validate_name(e, "repository name", name, false);
}

int validate_username(struct err *e, const char *name)
{
	return validate_name(e, "username", name, true);
}

bool refname_valid(const char *ref)
{
	size_t n = strlen(ref);
	if (n == 0 || n > 1000 || strncmp(ref, "refs/", 5))
		return false;
	if (ref[n - 1] == '/' || ref[n - 1] == '.' || strstr(ref, "..") || strstr(ref, "@{") ||
	    strstr(ref, "//") || !strcmp(ref, "@"))
		return false;
	const char *seg = ref;
	for (const char *p = ref;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '/' || c == '\0') {
			size_t len = (size_t)(p - seg);
			if (len == 0 || seg[0] == '.' ||
			    (len >= 5 && !strncmp(p - 5, ".lock", 5)))
				return false;
			if (!c)
				break;
			seg = p + 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' ||
		    c == '*' || c == '[' || c == '\\')
			return false;
	}
	return true;
}

const char *path_normalise(struct arena *a, const char *path)
{
	size_t n = strlen(path);
	if (n > 4096)
		return NULL;
	while (n && path[n - 1] == '/') /* a trailing slash names the same tree */
		n--;
	if (n == 0)
		return "";
	if (path[0] == '/')
		return NULL;
	const char *seg = path;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || path[i] == '/') {
			size_t len = (size_t)(path + i - seg);
			if (len == 0 || (len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return NULL;
			seg = path + i + 1;
		}
	}
	return arena_strndup(a, path, n);
}
