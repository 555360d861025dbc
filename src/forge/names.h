/* names.h — the forge's rules for the names it is given: repository names,
 * usernames (and the wallet names reserved for their addresses), email
 * addresses, git ref names and repository paths. Pure functions, no
 * database: the domain checks its inputs with them, and the API and the
 * pages may check a form field early with the same answer. */
#ifndef PLUE_FORGE_NAMES_H
#define PLUE_FORGE_NAMES_H

#include <stdbool.h>

#include "base/arena.h"
#include "base/err.h"

/* Name rules: 1-100 of [A-Za-z0-9._-], not starting with '.' or '-', not
 * ending in ".git" or ".lock", no "..". Usernames may also not be one of
 * the words the URL space reserves ("api", "admin", "settings"...). 0, or
 * ERR_INVALID with slug "invalid_name" and a message quoting the name. */
int validate_repo_name(struct err *e, const char *name);
int validate_username(struct err *e, const char *name);

/* validate_username plus: a name of the form 0x + 40 hex digits belongs to
 * the wallet of that address and is accepted only as own_address (may be
 * NULL). 0 or ERR_INVALID. */
int validate_account_name(struct err *e, const char *name, const char *own_address);

/* A plausible email address (one '@', a dotted domain, no spaces), at most
 * 254 bytes. 0 or ERR_INVALID with slug "invalid_email". */
int validate_email(struct err *e, const char *email);

/* git's check-ref-format rules for a full ref name ("refs/heads/x"). */
bool refname_valid(const char *ref);

/* A repository-relative path: not absolute, no "..", ".", empty segments
 * or NUL; returns the normalised path (arena) or NULL. "" is the root. */
const char *path_normalise(struct arena *a, const char *path);

#endif
