/* scheduler.c — `on: schedule`. Once a minute (UTC) it fires the cron
 * entries of workflow_schedules (the default branch's workflows, kept by
 * the dispatcher) that match the minute: one `schedule` event per entry,
 * written in the transaction that records the minute as fired. A minute
 * is therefore fired once even across restarts, and minutes that passed
 * while the server was down are not replayed: only the current minute is
 * ever looked at.
 *
 * Replicas: every `plue serve` runs this thread and wakes for the same
 * minute. The UPDATE that records the minute is the claim: it row-locks
 * the schedule and re-reads last_fired after a concurrent transaction
 * commits (READ COMMITTED), so the second replica's UPDATE matches no row
 * and fires nothing — one `schedule` event per entry and minute. */
#include "queue/dispatcher.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/forge.h"
#include "workflow/cron.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static struct bg_thread thread;

static void fire(PGconn *c, time_t minute)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	const char *m = arena_int(a, minute);
	PGresult *res = db_qv(c, a, &e,
			      "SELECT repo_id, workflow_path, cron FROM workflow_schedules WHERE "
			      "last_fired IS NULL OR last_fired < to_timestamp($1)",
			      m);
	for (int i = 0; res && i < PQntuples(res); i++) {
		struct cron cr;
		struct err ce = { 0 };
		if (cron_parse(&cr, db_val(res, i, 2), &ce) || !cron_matches(&cr, minute))
			continue;
		if (db_begin(c, &e))
			break;
		PGresult *u = db_qv(c, a, &e,
				    "UPDATE workflow_schedules SET last_fired = to_timestamp($4) WHERE "
				    "repo_id = $1 AND workflow_path = $2 AND cron = $3 AND (last_fired "
				    "IS NULL OR last_fired < to_timestamp($4)) RETURNING 1",
				    db_val(res, i, 0), db_val(res, i, 1), db_val(res, i, 2), m);
		if (!u || PQntuples(u) != 1) {
			db_rollback(c);
			continue;
		}
		/* the workflow runs at the default branch's tip of this minute */
		PGresult *tip = db_qv(c, a, &e,
				      "SELECT r.default_branch, b.commit_sha, " SQL_TS(
					      "to_timestamp($2)")
				      " FROM repositories r LEFT JOIN branches b ON b.repo_id = r.id "
				      "AND b.name = r.default_branch WHERE r.id = $1",
				      db_val(res, i, 0), m);
		struct forge f = { .db = c, .arena = a, .err = &e, .who = &(struct auth){ 0 } };
		if (!tip || PQntuples(tip) != 1 ||
		    forge_event(NULL, &f, db_int(res, i, 0), "schedule",
				json_pack("{s:s,s:s,s:s+,s:s?,s:s}", "workflow", db_val(res, i, 1),
					  "cron", db_val(res, i, 2), "ref", "refs/heads/",
					  db_val(tip, 0, 0), "sha", db_val(tip, 0, 1),
					  "scheduled_at", db_val(tip, 0, 2))) ||
		    db_commit(c, &e)) {
			db_rollback(c);
			log_error("scheduler: %s", e.msg[0] ? e.msg : "repository gone");
			continue;
		}
		log_info("schedule: %s '%s' fired for repository %s", db_val(res, i, 1),
			 db_val(res, i, 2), db_val(res, i, 0));
	}
	arena_free(a);
}

/* Milliseconds from now until the wall-clock second at (rounded up). */
static int ms_until(time_t at)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int)((int64_t)at * 1000 - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000));
}

static void scheduler_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	time_t last = 0;
	while (!bg_stopping(t)) {
		time_t now = time(NULL);
		time_t minute = now - now % 60;
		if (minute != last) {
			if ((c = db_reconnect(c, NULL, "scheduler"))) {
				fire(c, minute);
				last = minute;
			}
		}
		/* wake a second into the next minute */
		bg_wait(t, ms_until(c ? minute + 61 : time(NULL) + 5));
	}
	if (c)
		PQfinish(c);
}

int scheduler_start(void)
{
	return bg_start(&thread, "scheduler", scheduler_main, NULL);
}

void scheduler_stop(void)
{
	bg_stop(&thread);
}
