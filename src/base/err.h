/* err.h — the one error convention: negative class codes plus a message. */
#ifndef PLUE_ERR_H
#define PLUE_ERR_H

/* Functions that can fail return 0 or one of these. Codes pass up
 * unchanged; http/response.c maps them to statuses in one place. */
enum {
	ERR_NOTFOUND = -1,     /* 404 not_found */
	ERR_EXISTS = -2,       /* 409 already_exists */
	ERR_INVALID = -3,      /* 400 invalid */
	ERR_AUTH = -4,         /* 401 unauthorized */
	ERR_PERM = -5,         /* 403 forbidden */
	ERR_CONFLICT = -6,     /* 409 conflict */
	ERR_INTERNAL = -7,     /* 500 internal */
	ERR_TOOLARGE = -8,     /* 413 too_large */
	ERR_RATELIMIT = -9,    /* 429 rate_limited */
	ERR_METHOD = -10,      /* 405 method_not_allowed */
	ERR_UNAVAILABLE = -11, /* 503 unavailable */
};

struct err {
	int code;      /* one of ERR_*, 0 when unset */
	char slug[48]; /* machine code for clients, e.g. "invalid_name" */
	char msg[256]; /* lowercase, one line, subject quoted */
};

/* Records an error and returns code. slug may be NULL for the class's
 * default ("not_found", "invalid", ...). Never overwrites an error already
 * set, so the first (most specific) failure wins. */
int err_set(struct err *e, int code, const char *slug, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Clears e. */
void err_clear(struct err *e);
/* The default slug and HTTP status of a class code. */
const char *err_default_slug(int code);
int err_http_status(int code);

#endif
