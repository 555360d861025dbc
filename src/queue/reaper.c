/* reaper.c — finds runners that stopped heartbeating (killed, hung, lost)
 * and deals with what they held: the workload goes back to the queue for
 * one more attempt, or fails with a reason that says what happened. Runs
 * every few seconds on its own connection.
 *
 * Replicas: every `plue serve` runs a reaper; a pass runs only while it
 * holds the advisory lock REAPER_LOCK (tried, not waited for: the replica
 * that has it does the pass), and each workload is reaped under its row
 * lock with its status and runner re-checked, so even two passes at once
 * retry a workload once. Heartbeats are rows, so a runner registered with
 * any replica is judged alike. */
#include "queue/queue.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "queue/runs.h"

#include <stdio.h>
#include <string.h>

#define REAP_EVERY_S 5
#define REAPER_LOCK "727005" /* pg_try_advisory_lock key: one pass at a time */

static struct bg_thread thread;

/* One workload of a dead runner, in its own transaction. cause says what
 * happened to the runner, for the stream and the reason ("runner 5
 * stopped responding (no heartbeat for 30 s)", "pod p of runner 5 was
 * evicted"). */
static void reap_workload(PGconn *c, int64_t wid, int64_t stream_id, int64_t runner_id,
			  const char *cause)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	struct stream_tx t;
	bool committed = false;
	stream_tx_begin(&t, stream_id);
	if (db_begin(c, &e))
		goto done;
	PGresult *res = db_qv(c, a, &e,
			      "SELECT attempt, max_attempts, cancel, type, coalesce(job_id, 0), status FROM "
			      "workloads WHERE id = $1 AND runner_id = $2 AND status IN ('claimed', "
			      "'running') FOR UPDATE",
			      arena_int(a, wid), arena_int(a, runner_id));
	if (!res || PQntuples(res) != 1)
		goto rollback;
	int attempt = (int)db_int(res, 0, 0), max = (int)db_int(res, 0, 1);
	bool cancel = db_bool(res, 0, 2);
	bool workflow = !strcmp(db_val(res, 0, 3), "workflow");
	int64_t job_id = db_int(res, 0, 4);
	if (!strcmp(db_val(res, 0, 5), "claimed") && !cancel) {
		/* the runner died before it started (its claim reply was lost, or it
		 * was killed while parked): nothing ran, so no attempt is spent */
		if (!db_qv(c, a, &e,
			   "UPDATE workloads SET status = 'waiting', runner_id = NULL, task_token_hash = "
			   "NULL, claimed_at = NULL WHERE id = $1",
			   arena_int(a, wid)) ||
		    (workflow && job_id && runs_job_requeued(c, a, &e, job_id)) ||
		    queue_notify(c, a, &e))
			goto rollback;
		log_warn("workload %lld: runner %lld died before starting it (%s); queued again",
			 (long long)wid, (long long)runner_id, cause);
	} else if (attempt < max && !cancel) {
		const char *msg = arena_printf(a, "%s; retrying as attempt %d of %d", cause,
					       attempt + 1, max);
		json_t *p = json_pack("{s:s,s:I,s:i}", "message", msg, "workload_id",
				      (json_int_t)wid, "attempt", attempt + 1);
		if (job_id)
			json_object_set_new(p, "job_id", json_integer((json_int_t)job_id));
		if (!db_qv(c, a, &e,
			   "UPDATE workloads SET status = 'waiting', attempt = attempt + 1, runner_id = "
			   "NULL, task_token_hash = NULL, claimed_at = NULL WHERE id = $1",
			   arena_int(a, wid)) ||
		    stream_append1(&t, c, a, &e, 0, "error", p) ||
		    (workflow && job_id && runs_job_requeued(c, a, &e, job_id)) ||
		    queue_notify(c, a, &e))
			goto rollback;
		log_warn("workload %lld: %s", (long long)wid, msg);
	} else {
		const char *msg = cancel ? arena_printf(a, "%s while cancelling", cause)
					 : arena_printf(a, "%s during attempt %d of %d; giving up",
							cause, attempt, max);
		if (stream_append1(&t, c, a, &e, 0, "error",
				   json_pack("{s:s,s:I}", "message", msg, "workload_id",
					     (json_int_t)wid)) ||
		    workload_finish(&t, c, a, &e, wid, cancel ? "cancelled" : "error", -1, msg))
			goto rollback;
		log_warn("workload %lld: %s", (long long)wid, msg);
	}
	if (db_commit(c, &e))
		goto done;
	committed = true;
	goto done;
rollback:
	if (e.code)
		log_error("reaper: workload %lld: %s", (long long)wid, e.msg);
	db_rollback(c);
done:
	stream_tx_end(&t, committed);
	arena_free(a);
}

/* When this server started, by the database's clock: a runner's silence
 * counts only from then, so a server that was down longer than
 * RUNNER_DEAD_S does not declare every runner dead before they could
 * heartbeat again (they keep working through a restart and give up on
 * their own after RUNNER_DEAD_S without an answer). */
static char started[64];

static void reap(PGconn *c)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	if (!started[0]) {
		PGresult *now = db_query(c, a, &e, "SELECT now()::text", 0, NULL);
		if (!now || PQntuples(now) != 1)
			goto done;
		snprintf(started, sizeof(started), "%s", db_val(now, 0, 0));
	}
	PGresult *lk = db_query(c, a, &e, "SELECT pg_try_advisory_lock(" REAPER_LOCK ")", 0, NULL);
	if (!lk || !db_bool(lk, 0, 0))
		goto done; /* another replica's pass */
	PGresult *dead = db_qv(c, a, &e,
			       "UPDATE runners SET status = 'dead' WHERE status <> 'dead' AND "
			       "greatest(last_heartbeat, $2::timestamptz) < now() - "
			       "make_interval(secs => $1::int) RETURNING id",
			       arena_int(a, RUNNER_DEAD_S), started);
	if (dead)
		for (int i = 0; i < PQntuples(dead); i++)
			log_warn("runner %s stopped responding; declared dead", db_val(dead, i, 0));
	PGresult *held = db_query(c, a, &e,
				  "SELECT w.id, w.stream_id, w.runner_id FROM workloads w JOIN runners "
				  "r ON r.id = w.runner_id WHERE w.status IN ('claimed', 'running') "
				  "AND r.status = 'dead' ORDER BY w.id",
				  0, NULL);
	if (held)
		for (int i = 0; i < PQntuples(held); i++) {
			int64_t rid = db_int(held, i, 2);
			char cause[128];
			snprintf(cause, sizeof(cause),
				 "runner %lld stopped responding (no heartbeat for %d s)",
				 (long long)rid, RUNNER_DEAD_S);
			reap_workload(c, db_int(held, i, 0), db_int(held, i, 1), rid, cause);
		}
	db_query(c, a, &e,
		 "DELETE FROM runners WHERE status = 'dead' AND last_heartbeat < now() - interval "
		 "'1 day'",
		 0, NULL);
	db_query(c, a, NULL, "SELECT pg_advisory_unlock(" REAPER_LOCK ")", 0, NULL);
done:
	arena_free(a);
}

int reaper_runner_lost(PGconn *c, int64_t runner_id, const char *cause, struct err *e)
{
	struct arena *a = arena_new();
	int n = -1;
	const char *rid = arena_int(a, runner_id);
	if (!db_qv(c, a, e, "UPDATE runners SET status = 'dead' WHERE id = $1 AND status <> 'dead'",
		   rid))
		goto done;
	PGresult *held = db_qv(c, a, e,
			       "SELECT id, stream_id FROM workloads WHERE runner_id = $1 AND status IN "
			       "('claimed', 'running') ORDER BY id",
			       rid);
	if (!held)
		goto done;
	n = PQntuples(held);
	for (int i = 0; i < n; i++)
		reap_workload(c, db_int(held, i, 0), db_int(held, i, 1), runner_id, cause);
done:
	arena_free(a);
	return n;
}

static void reaper_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	while (!bg_stopping(t)) {
		if ((c = db_reconnect(c, NULL, "reaper")))
			reap(c);
		bg_wait(t, REAP_EVERY_S * 1000);
	}
	if (c)
		PQfinish(c);
}

void reaper_start(void)
{
	started[0] = '\0';
	if (bg_start(&thread, "reaper", reaper_main, NULL))
		log_error("cannot start the reaper thread");
}

void reaper_stop(void)
{
	bg_stop(&thread);
}
