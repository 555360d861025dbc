/* err.c — error recording and the single code → HTTP status map. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *slug, const char *fmt, ...)
{
	if (!e || e->code)
		return code;
	e->code = code;
	snprintf(e->slug, sizeof(e->slug), "%s", slug ? slug : err_default_slug(code));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* one line, always */
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return code;
}

void err_clear(struct err *e)
{
	memset(e, 0, sizeof(*e));
}

static const struct {
	int code, status;
	const char *slug;
} map[] = {
	{ ERR_NOTFOUND, 404, "not_found" },      { ERR_EXISTS, 409, "already_exists" },
	{ ERR_INVALID, 400, "invalid" },         { ERR_AUTH, 401, "unauthorized" },
	{ ERR_PERM, 403, "forbidden" },          { ERR_CONFLICT, 409, "conflict" },
	{ ERR_INTERNAL, 500, "internal" },       { ERR_TOOLARGE, 413, "too_large" },
	{ ERR_RATELIMIT, 429, "rate_limited" },  { ERR_METHOD, 405, "method_not_allowed" },
	{ ERR_UNAVAILABLE, 503, "unavailable" },
};

const char *err_default_slug(int code)
{
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].code == code)
			return map[i].slug;
	return "internal";
}

int err_http_status(int code)
{
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].code == code)
			return map[i].status;
	return 500;
}
