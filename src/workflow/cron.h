/* cron.h — five-field cron expressions for `on: schedule`, always in UTC. */
#ifndef PLUE_WORKFLOW_CRON_H
#define PLUE_WORKFLOW_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

/* A parsed cron expression: one bit per allowed value of each field. */
struct cron {
	uint64_t minute; /* bits 0..59 */
	uint32_t hour;   /* bits 0..23 */
	uint32_t dom;    /* bits 1..31 */
	uint16_t month;  /* bits 1..12 */
	uint8_t dow;     /* bits 0..6, Sunday = 0 (7 is accepted as Sunday) */
	bool dom_any;    /* the day-of-month field was "*" (or "*" with a step) */
	bool dow_any;    /* the day-of-week field was "*" (or "*" with a step) */
};

/* Parses "minute hour day-of-month month day-of-week": each field is "*",
 * a value, a range "a-b", any of those with a step "/n", or a comma list of
 * them. Months accept jan..dec and days sun..sat (case-insensitive). As in
 * Vixie cron, when both day fields are restricted a day matches if either
 * does. Returns 0, or ERR_INVALID with a message such as
 * "cron field 'hour' value '25' is out of range 0-23". */
int cron_parse(struct cron *out, const char *text, struct err *e);

/* True when the minute containing t (UTC, seconds ignored) matches. */
bool cron_matches(const struct cron *c, time_t t);

/* The first minute strictly after t that matches, or -1 when none does
 * within five years (e.g. "0 0 31 2 *"). */
time_t cron_next(const struct cron *c, time_t t);

#endif
