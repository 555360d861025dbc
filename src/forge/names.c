/* names.c — the rules for names: repositories, users, emails, refs and
 * paths (forge/names.h). */
#include "forge/names.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *reserved[] = {
	"api",      "repos",    "users",  "user",    "health",        "auth",   "runs",
	"sessions", "internal", "static", "assets",  "login",         "logout", "register",
	"settings", "new",      "admin",  "explore", "notifications", "plue",   NULL,
};

static int validate_name(struct err *e, const char *what, const char *name, bool check_reserved)
{
	size_t n = strlen(name);
	if (n == 0 || n > 100)
		return err_set(e, ERR_INVALID, "invalid_name", "%s must be 1 to 100 characters",
			       what);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return err_set(e, ERR_INVALID, "invalid_name",
				       "%s '%.100s' may contain only letters, digits, '-', '_' and '.'",
				       what, name);
	}
	if (name[0] == '.' || name[0] == '-')
		return err_set(e, ERR_INVALID, "invalid_name",
			       "%s '%.100s' may not start with '%c'", what, name, name[0]);
	if (strstr(name, ".."))
		return err_set(e, ERR_INVALID, "invalid_name", "%s '%.100s' may not contain '..'",
			       what, name);
	if ((n >= 4 && !strcasecmp(name + n - 4, ".git")) ||
	    (n >= 5 && !strcasecmp(name + n - 5, ".lock")))
		return err_set(e, ERR_INVALID, "invalid_name", "%s '%.100s' may not end in '%s'",
			       what, name, strrchr(name, '.'));
	if (check_reserved)
		for (const char **p = reserved; *p; p++)
			if (!strcasecmp(*p, name))
				return err_set(e, ERR_INVALID, "invalid_name",
					       "%s '%s' is reserved", what, name);
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
			if (len == 0 || seg[0] == '.' || (len >= 5 && !strncmp(p - 5, ".lock", 5)))
				return false;
			if (!c)
				break;
			seg = p + 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' ||
		    c == '?' || c == '*' || c == '[' || c == '\\')
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

/* "0x" followed by 40 hex digits, in any case. */
static bool looks_like_address(const char *s)
{
	if (strncasecmp(s, "0x", 2) || strlen(s) != 42)
		return false;
	for (const char *p = s + 2; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

int validate_account_name(struct err *e, const char *name, const char *own_address)
{
	int rc = validate_username(e, name);
	if (rc)
		return rc;
	/* such names belong to the wallet with that address: its first
	 * sign-in creates the account under it */
	if (looks_like_address(name) && !(own_address && !strcasecmp(name, own_address)))
		return err_set(e, ERR_INVALID, "invalid_name",
			       "username '%s' is reserved for the Ethereum account of that address",
			       name);
	return 0;
}

int validate_email(struct err *e, const char *email)
{
	const char *at = strchr(email, '@');
	size_t n = strlen(email);
	bool ok = n <= 254 && at && at != email && at[1] && !strchr(at + 1, '@') &&
		  strchr(at + 1, '.') && at[strlen(at) - 1] != '.';
	for (const char *p = email; ok && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == ',')
			ok = false;
	if (!ok)
		return err_set(e, ERR_INVALID, "invalid_email",
			       "email '%.100s' is not a valid address", email);
	return 0;
}
