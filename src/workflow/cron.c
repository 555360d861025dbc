/* cron.c — parsing and matching five-field cron expressions (UTC). */
#include "workflow/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names for min, min+1, ... or NULL */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
					   "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL },          { "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },    { "month", 1, 12, month_names },
	{ "day-of-week", 0, 7, day_names }, /* 7 is Sunday too */
};

/* Reads a number or a name at *p into *v; returns 0 or -1. */
static int value_parse(const struct field *f, const char **p, int *v)
{
	const char *s = *p;
	if (isdigit((unsigned char)*s)) {
		long n = 0;
		while (isdigit((unsigned char)*s) && n < 1000)
			n = n * 10 + (*s++ - '0');
		if (isdigit((unsigned char)*s))
			return -1;
		*v = (int)n;
		*p = s;
		return 0;
	}
	if (f->names && isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) &&
	    isalpha((unsigned char)s[2]) && !isalpha((unsigned char)s[3])) {
		for (int i = 0; f->names[i]; i++) {
			if (!strncasecmp(s, f->names[i], 3)) {
				*v = f->min + i;
				*p = s + 3;
				return 0;
			}
		}
	}
	return -1;
}

/* Parses one field's text [s, end) into a bit set. */
static int field_parse(uint64_t *bits, bool *any, const struct field *f, const char *s,
		       const char *end, struct err *e)
{
	int len = (int)(end - s);
	*bits = 0;
	*any = (*s == '*');
	while (s < end) {
		const char *item = s;
		int lo, hi, step = 1;
		if (*s == '*') {
			lo = f->min;
			hi = f->max == 7 ? 6 : f->max;
			s++;
		} else {
			if (value_parse(f, &s, &lo))
				goto bad;
			hi = lo;
			if (*s == '-') {
				s++;
				if (value_parse(f, &s, &hi))
					goto bad;
			}
			if (lo < f->min || lo > f->max || hi < f->min || hi > f->max)
				return err_set(e, ERR_INVALID, NULL,
					       "cron field '%s' value '%.*s' is out of range %d-%d",
					       f->name, len, end - len, f->min, f->max);
			if (hi < lo)
				return err_set(e, ERR_INVALID, NULL,
					       "cron field '%s' range '%.*s' runs backwards",
					       f->name, len, end - len);
		}
		if (*s == '/') {
			s++;
			if (!isdigit((unsigned char)*s))
				goto bad;
			if (value_parse(&fields[0], &s, &step) || step < 1)
				goto bad;
			if (lo == hi && item[0] != '*')
				hi = f->max == 7 ? 6 : f->max; /* "a/n" means a-max/n */
		}
		if (s < end && *s != ',')
			goto bad;
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ull << (f->max == 7 && v == 7 ? 0 : v);
		if (s < end)
			s++;
		if (s == end && s[-1] == ',')
			goto bad;
	}
	return 0;
bad:
	return err_set(e, ERR_INVALID, NULL, "cron field '%s' is not valid: '%.*s'", f->name, len,
		       end - len);
}

int cron_parse(struct cron *out, const char *text, struct err *e)
{
	memset(out, 0, sizeof(*out));
	const char *p = text;
	uint64_t bits[5];
	bool any[5];
	int i;
	for (i = 0; i < 5; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (field_parse(&bits[i], &any[i], &fields[i], start, p, e))
			return ERR_INVALID;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (i < 5 || *p)
		return err_set(e, ERR_INVALID, NULL,
			       "cron expression '%.64s' must have five fields: minute hour "
			       "day-of-month month day-of-week",
			       text);
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)bits[4];
	out->dom_any = any[2];
	out->dow_any = any[4];
	return 0;
}

static bool day_matches(const struct cron *c, const struct tm *tm)
{
	bool dom = c->dom & (1u << tm->tm_mday);
	bool dow = c->dow & (1u << tm->tm_wday);
	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

bool cron_matches(const struct cron *c, time_t t)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return false;
	return (c->minute & (1ull << tm.tm_min)) && (c->hour & (1u << tm.tm_hour)) &&
	       (c->month & (1u << (tm.tm_mon + 1))) && day_matches(c, &tm);
}

time_t cron_next(const struct cron *c, time_t t)
{
	time_t limit = t + (time_t)5 * 366 * 86400;
	t = t - (t % 60 + 60) % 60 + 60;
	while (t <= limit) {
		struct tm tm;
		if (!gmtime_r(&t, &tm))
			return -1;
		if (!(c->month & (1u << (tm.tm_mon + 1)))) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = timegm(&tm);
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = timegm(&tm);
		} else if (!(c->hour & (1u << tm.tm_hour))) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
			t = timegm(&tm);
		} else if (!(c->minute & (1ull << tm.tm_min))) {
			t += 60;
		} else {
			return t;
		}
	}
	return -1;
}
