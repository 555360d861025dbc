/* test_forge.c — the domain (src/forge/) against a real throwaway
 * PostgreSQL (pgtest.h): the outbox and its NOTIFY, issue numbers under
 * concurrent creators, closing and reopening, loading issues and
 * repositories, mentions, and who may take part or write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "auth/auth.h"
#include "forge/forge.h"
#include "forge/issues.h"
#include "forge/users.h"
#include "pgtest.h"

/* ---- helpers ---- */

/* The next notification on c within ms milliseconds, or NULL (PQfreemem
 * it). */
static PGnotify *notify_wait(PGconn *c, int ms)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		assert_int_equal(PQconsumeInput(c), 1);
		PGnotify *n = PQnotifies(c);
		if (n)
			return n;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int left = ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
				      (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return NULL;
		struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
		poll(&p, 1, left);
	}
}

/* A connection listening on plue_events. */
static PGconn *listener(struct pgtest *t)
{
	PGconn *c = pgtest_connect(t);
	PGresult *r = PQexec(c, "LISTEN plue_events");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	return c;
}

/* alice (owner) with her repository alice/proj, public or private. */
struct world {
	int64_t alice, rid;
	struct auth as_alice;
	const struct repo *repo;
};

static void world_make(struct world *w, struct pgtest *t, bool is_private)
{
	w->alice = pgtest_user(t, "alice", false);
	w->rid = pgtest_repo(t, w->alice, "proj", is_private);
	w->as_alice = pgtest_who(w->alice, "alice");
	w->repo = pgtest_repo_load(t, &w->as_alice, "alice", "proj");
}

/* An issue of w's repository written by who, committed. */
static struct issue issue_make(struct pgtest *t, const struct world *w, const struct auth *who,
			       const char *title, const char *body)
{
	struct forge f = pgtest_forge(t, who);
	struct issue is;
	assert_int_equal(issue_insert(&is, &f, w->rid, title, body, false), 0);
	return is;
}

/* ---- the outbox ---- */

static void test_event_row(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	struct forge f = pgtest_forge(t, &w.as_alice);
	int64_t id = 0;
	assert_int_equal(forge_event(&id, &f, w.rid, "push",
				     json_pack("{s:s,s:i}", "ref", "refs/heads/main", "n", 3)),
			 0);
	assert_true(id > 0);
	PGresult *r = pgtest_sql(t,
				 "SELECT repo_id, type, actor_id, payload->>'ref', payload->>'n', "
				 "  dispatched_at IS NULL FROM events WHERE id = $1",
				 ID(id));
	assert_int_equal(PQntuples(r), 1);
	assert_int_equal(db_int(r, 0, 0), w.rid);
	assert_string_equal(db_val(r, 0, 1), "push");
	assert_int_equal(db_int(r, 0, 2), w.alice);
	assert_string_equal(db_val(r, 0, 3), "refs/heads/main");
	assert_string_equal(db_val(r, 0, 4), "3");
	assert_true(db_bool(r, 0, 5));

	/* no actor when nobody is signed in (a schedule, a system job); the
	 * id is optional */
	struct auth anon = pgtest_who(0, NULL);
	f = pgtest_forge(t, &anon);
	assert_int_equal(forge_event(NULL, &f, w.rid, "schedule", json_object()), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE type = 'schedule' "
				       "AND actor_id IS NULL AND payload = '{}'::jsonb"),
			 1);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events"), 2);
}

static void test_event_notify_at_commit(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	PGconn *l = listener(t);
	struct forge f = pgtest_forge(t, &w.as_alice);

	assert_int_equal(db_begin(t->db, &t->err), 0);
	int64_t id = 0;
	assert_int_equal(forge_event(&id, &f, w.rid, "issues", json_object()), 0);
	/* the row exists only inside the transaction, and nobody is told yet */
	PGnotify *n = notify_wait(l, 300);
	assert_null(n);
	assert_int_equal(db_commit(t->db, &t->err), 0);

	n = notify_wait(l, 5000);
	assert_non_null(n);
	assert_string_equal(n->relname, "plue_events");
	assert_string_equal(n->extra, ID(id));
	PQfreemem(n);
	assert_null(notify_wait(l, 100)); /* one event, one notification */
	PQfinish(l);
}

static void test_event_rollback_tells_nobody(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	PGconn *l = listener(t);
	struct forge f = pgtest_forge(t, &w.as_alice);

	assert_int_equal(db_begin(t->db, &t->err), 0);
	int64_t undone = 0, kept = 0;
	assert_int_equal(forge_event(&undone, &f, w.rid, "push", json_object()), 0);
	db_rollback(t->db);
	/* outside a transaction: its own, committed at once */
	assert_int_equal(forge_event(&kept, &f, w.rid, "push", json_object()), 0);
	assert_true(kept != undone);

	PGnotify *n = notify_wait(l, 5000);
	assert_non_null(n);
	assert_string_equal(n->extra, ID(kept)); /* the first and only one */
	PQfreemem(n);
	assert_null(notify_wait(l, 200));
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE id = $1", ID(undone)), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events"), 1);
	PQfinish(l);
}

/* ---- issue rows ---- */

static void test_issue_insert_numbers(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	int64_t other = pgtest_repo(t, w.alice, "other", false);
	struct forge f = pgtest_forge(t, &w.as_alice);

	struct issue is;
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(issue_insert(&is, &f, w.rid, "title", "body", i == 2), 0);
		assert_int_equal(is.number, i);
	}
	assert_true(is.id > 0);
	assert_string_equal(is.title, "title");
	assert_string_equal(is.body, "body");
	assert_string_equal(is.state, "open");
	assert_false(is.is_pull);
	assert_int_equal(is.author_id, w.alice);
	/* pull requests share the number space; every repository has its own */
	assert_int_equal(issue_insert(&is, &f, other, "t", "", true), 0);
	assert_int_equal(is.number, 1);
	assert_int_equal(pgtest_int(t, "SELECT number FROM issues WHERE repo_id = $1 AND is_pull",
				    ID(w.rid)),
			 2);
	PGresult *r = pgtest_sql(t, "SELECT author_id, state, title FROM issues WHERE id = $1",
				 ID(is.id));
	assert_int_equal(db_int(r, 0, 0), w.alice);
	assert_string_equal(db_val(r, 0, 1), "open");
	assert_string_equal(db_val(r, 0, 2), "t");
}

#define CREATORS 6

/* One creator: its own connection and transaction. The first holds its
 * number (and the counter's lock) a while, then rolls back. */
struct creator {
	int index;
	int64_t rid, user_id;
	pthread_barrier_t *go;
	int rc;
	int64_t number;
	char title[32];
	char msg[256];
};

static void *creator_run(void *arg)
{
	struct creator *c = arg;
	struct err e = { 0 };
	struct arena *a = arena_new();
	struct auth who = pgtest_who(c->user_id, "alice");
	PGconn *db = db_connect(&e);
	struct forge f = { .db = db, .arena = a, .err = &e, .who = &who };
	struct issue is = { 0 };
	snprintf(c->title, sizeof(c->title), "creator %d", c->index);
	c->rc = db ? 0 : e.code;
	if (c->index == 0) {
		if (!c->rc && !(c->rc = db_begin(db, &e)) &&
		    !(c->rc = issue_insert(&is, &f, c->rid, c->title, "", false)))
			c->number = is.number;
		pthread_barrier_wait(c->go); /* the others now queue behind our lock */
		if (!c->rc)
			usleep(300 * 1000);
	} else {
		pthread_barrier_wait(c->go);
		if (!c->rc && !(c->rc = db_begin(db, &e)) &&
		    !(c->rc = issue_insert(&is, &f, c->rid, c->title, "", false))) {
			c->number = is.number;
			usleep(20 * 1000); /* hold the counter a while */
			c->rc = db_commit(db, &e);
		}
	}
	if (db) {
		if (c->index == 0 || c->rc)
			db_rollback(db); /* the first creator gives its number back */
		PQfinish(db);
	}
	snprintf(c->msg, sizeof(c->msg), "%s", e.msg);
	arena_free(a);
	return NULL;
}

static void test_issue_insert_concurrent(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, CREATORS);
	struct creator cs[CREATORS];
	pthread_t th[CREATORS];
	for (int i = 0; i < CREATORS; i++) {
		cs[i] = (struct creator){ .index = i, .rid = w.rid, .user_id = w.alice, .go = &go };
		assert_int_equal(pthread_create(&th[i], NULL, creator_run, &cs[i]), 0);
	}
	for (int i = 0; i < CREATORS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);

	bool seen[CREATORS] = { false };
	for (int i = 0; i < CREATORS; i++) {
		if (cs[i].rc)
			fail_msg("creator %d: %s", i, cs[i].msg);
		assert_true(cs[i].number >= 1 && cs[i].number < CREATORS);
		if (i == 0)
			continue;
		assert_false(seen[cs[i].number]); /* no duplicates */
		seen[cs[i].number] = true;
	}
	/* the rolled-back creator took 1 first; it was given back and reused,
	 * so the committed numbers are 1..N-1 without a gap */
	assert_int_equal(cs[0].number, 1);
	for (int n = 1; n < CREATORS; n++)
		assert_true(seen[n]);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM issues WHERE repo_id = $1", ID(w.rid)),
			 CREATORS - 1);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM issues WHERE title = 'creator 0'"), 0);
	assert_int_equal(pgtest_int(t, "SELECT max(number) FROM issues WHERE repo_id = $1",
				    ID(w.rid)),
			 CREATORS - 1);
	struct issue next = issue_make(t, &w, &w.as_alice, "next", "");
	assert_int_equal(next.number, CREATORS);
}

static void test_issue_state_set(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	int64_t bob = pgtest_user(t, "bob", false);
	pgtest_collaborator(t, w.rid, bob, "write");
	struct auth as_bob = pgtest_who(bob, "bob");
	struct issue is = issue_make(t, &w, &w.as_alice, "bug", "");
	pgtest_sql(t, "UPDATE issues SET updated_at = now() - interval '1 day' WHERE id = $1",
		   ID(is.id));

	struct forge f = pgtest_forge(t, &as_bob);
	assert_int_equal(issue_state_set(&f, is.id, "closed"), 0);
	PGresult *r = pgtest_sql(t,
				 "SELECT state, closed_by, closed_at IS NOT NULL, "
				 "  updated_at > now() - interval '1 hour', "
				 "  closed_at > now() - interval '1 hour' FROM issues WHERE id = $1",
				 ID(is.id));
	assert_string_equal(db_val(r, 0, 0), "closed");
	assert_int_equal(db_int(r, 0, 1), bob);
	assert_true(db_bool(r, 0, 2));
	assert_true(db_bool(r, 0, 3));
	assert_true(db_bool(r, 0, 4));
	struct issue got;
	assert_int_equal(issue_get(&got, &f, w.repo, "1", false), 0);
	assert_string_equal(got.state, "closed");

	pgtest_sql(t, "UPDATE issues SET updated_at = now() - interval '1 day' WHERE id = $1",
		   ID(is.id));
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(issue_state_set(&f, is.id, "open"), 0);
	r = pgtest_sql(t,
		       "SELECT state, closed_by IS NULL, closed_at IS NULL, "
		       "  updated_at > now() - interval '1 hour' FROM issues WHERE id = $1",
		       ID(is.id));
	assert_string_equal(db_val(r, 0, 0), "open");
	assert_true(db_bool(r, 0, 1));
	assert_true(db_bool(r, 0, 2));
	assert_true(db_bool(r, 0, 3));
	/* the timeline row and the event are the caller's */
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM issue_events"), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events"), 0);
}

static void test_issue_get(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	int64_t bob = pgtest_user(t, "bob", false);
	struct auth as_bob = pgtest_who(bob, "bob");
	struct issue made = issue_make(t, &w, &as_bob, "crash on start", "steps: run it");

	struct forge f = pgtest_forge(t, &w.as_alice);
	struct issue is;
	assert_int_equal(issue_get(&is, &f, w.repo, "1", false), 0);
	assert_int_equal(is.id, made.id);
	assert_int_equal(is.number, 1);
	assert_string_equal(is.title, "crash on start");
	assert_string_equal(is.body, "steps: run it");
	assert_string_equal(is.state, "open");
	assert_false(is.is_pull);
	assert_int_equal(is.author_id, bob);
	assert_string_equal(is.author, "bob");
	assert_int_equal(is.milestone_id, 0);

	static const struct {
		const char *number, *msg;
	} missing[] = {
		{ "2", "issue 'alice/proj#2' not found" },
		{ "0", "issue 'alice/proj#0' not found" },
		{ "-1", "issue 'alice/proj#-1' not found" },
		{ "abc", "issue 'alice/proj#abc' not found" },
		{ "1x", "issue 'alice/proj#1x' not found" },
		{ "", "issue 'alice/proj#' not found" },
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		f = pgtest_forge(t, &w.as_alice);
		assert_int_equal(issue_get(&is, &f, w.repo, missing[i].number, false), ERR_NOTFOUND);
		assert_string_equal(t->err.slug, "not_found");
		assert_string_equal(t->err.msg, missing[i].msg);
	}

	/* another repository's issue 1 is not this one's */
	pgtest_repo(t, w.alice, "other", false);
	const struct repo *orepo = pgtest_repo_load(t, &w.as_alice, "alice", "other");
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(issue_get(&is, &f, orepo, "1", false), ERR_NOTFOUND);
	assert_string_equal(t->err.msg, "issue 'alice/other#1' not found");

	/* the author's account is gone: ghost */
	pgtest_sql(t, "DELETE FROM users WHERE id = $1", ID(bob));
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(issue_get(&is, &f, w.repo, "1", false), 0);
	assert_int_equal(is.author_id, 0);
	assert_string_equal(is.author, "ghost");
}

/* Can another connection lock issue id right now? */
static bool lockable(struct pgtest *t, PGconn *other, int64_t id)
{
	const char *p[1] = { ID(id) };
	PGresult *r = PQexecParams(other,
				   "SELECT 1 FROM issues WHERE id = $1 FOR NO KEY UPDATE NOWAIT", 1,
				   NULL, p, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "55P03");
	PQclear(r);
	return ok;
}

static void test_issue_get_lock(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	struct issue made = issue_make(t, &w, &w.as_alice, "t", "");
	PGconn *other = pgtest_connect(t);
	struct forge f = pgtest_forge(t, &w.as_alice);
	struct issue is;

	assert_int_equal(db_begin(t->db, &t->err), 0);
	assert_int_equal(issue_get(&is, &f, w.repo, "1", false), 0);
	assert_true(lockable(t, other, made.id));
	assert_int_equal(issue_get(&is, &f, w.repo, "1", true), 0);
	assert_int_equal(is.id, made.id);
	assert_false(lockable(t, other, made.id)); /* held to the end of our transaction */
	db_rollback(t->db);
	assert_true(lockable(t, other, made.id));
	PQfinish(other);
}

/* ---- mentions ---- */

/* The users mentioned in issue_id (comment_id 0: its body), by name,
 * comma-separated in name order. */
static const char *mentioned(struct pgtest *t, int64_t issue_id, int64_t comment_id)
{
	return pgtest_str(t,
			  "SELECT coalesce(string_agg(u.username, ',' ORDER BY u.username), '') "
			  "FROM mentions m JOIN users u ON u.id = m.user_id "
			  "WHERE m.issue_id = $1 AND m.comment_id IS NOT DISTINCT FROM $2",
			  ID(issue_id), arena_id(t->arena, (long long)comment_id));
}

/* The users of the mention events, comma-separated in name order. */
static const char *mention_events(struct pgtest *t)
{
	return pgtest_str(t, "SELECT coalesce(string_agg(payload->>'user', ',' "
			     "  ORDER BY payload->>'user'), '') FROM events WHERE type = 'mention'");
}

static void test_mentions_private(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, true);
	int64_t bob = pgtest_user(t, "bob", false);   /* reads */
	pgtest_user(t, "carol", false);               /* a stranger: cannot read */
	pgtest_user(t, "dave", true);                 /* a site admin: reads everything */
	int64_t erin = pgtest_user(t, "erin", false); /* writes */
	pgtest_collaborator(t, w.rid, bob, "read");
	pgtest_collaborator(t, w.rid, erin, "write");
	const char *body = "cc @bob @carol @dave @alice @nobody and @BOB again";
	struct issue is = issue_make(t, &w, &w.as_alice, "t", body);

	struct forge f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(mentions_record(&f, w.repo, is.id, 0, body), 0);
	assert_string_equal(mentioned(t, is.id, 0), "bob,dave");
	assert_string_equal(mention_events(t), "bob,dave");
	PGresult *r = pgtest_sql(t,
				 "SELECT repo_id, actor_id, payload->>'action', payload->>'where', "
				 "  payload->>'sender', payload->'issue'->>'number', "
				 "  payload->'repository'->>'full_name', payload->>'body', "
				 "  payload ? 'comment' FROM events WHERE payload->>'user' = 'bob'");
	assert_int_equal(PQntuples(r), 1);
	assert_int_equal(db_int(r, 0, 0), w.rid);
	assert_int_equal(db_int(r, 0, 1), w.alice);
	assert_string_equal(db_val(r, 0, 2), "mentioned");
	assert_string_equal(db_val(r, 0, 3), "issue");
	assert_string_equal(db_val(r, 0, 4), "alice");
	assert_string_equal(db_val(r, 0, 5), "1");
	assert_string_equal(db_val(r, 0, 6), "alice/proj");
	assert_string_equal(db_val(r, 0, 7), body);
	assert_false(db_bool(r, 0, 8));
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM mentions WHERE by_id = $1 AND "
				    "repo_id = $2",
				    ID(w.alice), ID(w.rid)),
			 2);

	/* the same body again (an edit that changed nothing): nobody twice */
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(mentions_record(&f, w.repo, is.id, 0, body), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM mentions"), 2);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events"), 2);

	/* an edit that adds erin: only erin is new */
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(mentions_record(&f, w.repo, is.id, 0, "@bob @erin"), 0);
	assert_string_equal(mentioned(t, is.id, 0), "bob,dave,erin");
	assert_string_equal(mention_events(t), "bob,dave,erin");

	/* erin writes a comment naming bob, herself and alice: bob and alice
	 * are mentioned in that comment, erin is not */
	int64_t cid = pgtest_int(t,
				 "INSERT INTO comments (issue_id, repo_id, author_id, body) "
				 "VALUES ($1, $2, $3, 'x') RETURNING id",
				 ID(is.id), ID(w.rid), ID(erin));
	struct auth as_erin = pgtest_who(erin, "erin");
	f = pgtest_forge(t, &as_erin);
	assert_int_equal(mentions_record(&f, w.repo, is.id, cid, "@bob @erin @alice"), 0);
	assert_string_equal(mentioned(t, is.id, cid), "alice,bob");
	r = pgtest_sql(t, "SELECT payload->>'where', payload->'comment'->>'id', payload->>'sender', "
			  "  actor_id FROM events WHERE payload->>'user' = 'alice'");
	assert_int_equal(PQntuples(r), 1);
	assert_string_equal(db_val(r, 0, 0), "comment");
	assert_int_equal(db_int(r, 0, 1), cid);
	assert_string_equal(db_val(r, 0, 2), "erin");
	assert_int_equal(db_int(r, 0, 3), erin);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE type = 'mention'"), 5);
}

static void test_mentions_public(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, false);
	pgtest_user(t, "carol", false); /* a stranger reads a public repository */
	int64_t bob = pgtest_user(t, "bob", false);
	struct auth as_bob = pgtest_who(bob, "bob");
	const char *body = "@carol @alice @bob";
	struct issue is = issue_make(t, &w, &as_bob, "t", body);
	pgtest_sql(t, "UPDATE issues SET is_pull = true WHERE id = $1", ID(is.id));

	struct forge f = pgtest_forge(t, &as_bob);
	assert_int_equal(mentions_record(&f, w.repo, is.id, 0, body), 0);
	assert_string_equal(mentioned(t, is.id, 0), "alice,carol");
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM events WHERE type = 'mention' AND "
				    "payload->>'where' = 'pull_request' AND actor_id = $1",
				    ID(bob)),
			 2);
	/* a body without mentions records nothing */
	f = pgtest_forge(t, &as_bob);
	assert_int_equal(mentions_record(&f, w.repo, is.id, 0, "no one here, mail a@b.c"), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM mentions"), 2);
}

/* ---- repositories ---- */

static void test_repo_load(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, true);
	int64_t bob = pgtest_user(t, "bob", false);
	int64_t carol = pgtest_user(t, "carol", false);
	int64_t dave = pgtest_user(t, "dave", false);
	pgtest_collaborator(t, w.rid, bob, "write");
	pgtest_collaborator(t, w.rid, dave, "read");
	int64_t other = pgtest_repo(t, w.alice, "other", false);
	struct auth as_bob = pgtest_who(bob, "bob"), as_carol = pgtest_who(carol, "carol"),
		    as_dave = pgtest_who(dave, "dave"), anon = pgtest_who(0, NULL);

	/* the row, found whatever the case of the names */
	const struct repo *r = pgtest_repo_load(t, &w.as_alice, "ALICE", "Proj");
	assert_int_equal(r->id, w.rid);
	assert_int_equal(r->owner_id, w.alice);
	assert_string_equal(r->owner, "alice");
	assert_string_equal(r->name, "proj");
	assert_string_equal(r->description, "");
	assert_string_equal(r->default_branch, "main");
	assert_true(r->is_private);
	assert_true(r->issues_open);
	assert_int_equal(strlen(r->created_at), 20); /* 2026-01-02T03:04:05Z */
	assert_int_equal(r->created_at[10], 'T');
	assert_int_equal(r->created_at[19], 'Z');
	assert_string_equal(r->disk_path, arena_printf(t->arena, "%s/repos/%lld.git",
						       pgtest_cluster.dir, (long long)w.rid));
	struct err e = { 0 };
	assert_int_equal(authz_repo(&w.as_alice, r, ACT_ADMIN, &e), 0); /* the owner */

	/* the caller's collaborator role, of this repository only */
	assert_int_equal(pgtest_repo_load(t, &as_bob, "alice", "proj")->role, ROLE_WRITE);
	assert_int_equal(pgtest_repo_load(t, &as_dave, "alice", "proj")->role, ROLE_READ);
	assert_int_equal(pgtest_repo_load(t, &as_bob, "alice", "other")->role, ROLE_NONE);
	assert_int_equal(pgtest_repo_load(t, &as_bob, "alice", "other")->id, other);
	assert_int_equal(pgtest_repo_load(t, &anon, "alice", "proj")->role, ROLE_NONE);

	/* no authorization in repo_load: a stranger gets the row, with no
	 * role, and authz_repo then hides it */
	r = pgtest_repo_load(t, &as_carol, "alice", "proj");
	assert_int_equal(r->role, ROLE_NONE);
	err_clear(&e);
	assert_int_equal(authz_repo(&as_carol, r, ACT_READ, &e), ERR_NOTFOUND);
	assert_string_equal(e.msg, "repository 'alice/proj' not found");
	err_clear(&e);
	assert_int_equal(authz_repo(&as_dave, pgtest_repo_load(t, &as_dave, "alice", "proj"),
				    ACT_WRITE, &e),
			 ERR_PERM);

	static const struct {
		const char *owner, *name, *msg;
	} missing[] = {
		{ "alice", "nope", "repository 'alice/nope' not found" },
		{ "nobody", "proj", "repository 'nobody/proj' not found" },
		{ "bob", "proj", "repository 'bob/proj' not found" },
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		struct forge f = pgtest_forge(t, &w.as_alice);
		struct repo *p = NULL;
		assert_int_equal(repo_load(&p, &f, missing[i].owner, missing[i].name), ERR_NOTFOUND);
		assert_null(p);
		assert_string_equal(t->err.slug, "not_found");
		assert_string_equal(t->err.msg, missing[i].msg);
	}
}

/* ---- who may take part, who may write ---- */

struct cast {
	struct world w;
	struct auth bob, carol, erin, root, anon, erin_ro;
};

/* alice/proj with bob reading, erin writing, carol a stranger, root a
 * site admin; erin_ro is erin through a token limited to repo:read. */
static void cast_make(struct cast *c, struct pgtest *t, bool is_private)
{
	world_make(&c->w, t, is_private);
	int64_t bob = pgtest_user(t, "bob", false), carol = pgtest_user(t, "carol", false),
		erin = pgtest_user(t, "erin", false), root = pgtest_user(t, "root", true);
	pgtest_collaborator(t, c->w.rid, bob, "read");
	pgtest_collaborator(t, c->w.rid, erin, "write");
	c->bob = pgtest_who(bob, "bob");
	c->carol = pgtest_who(carol, "carol");
	c->erin = pgtest_who(erin, "erin");
	c->root = pgtest_who(root, "root");
	c->root.is_admin = true;
	c->anon = pgtest_who(0, NULL);
	c->erin_ro = pgtest_who(erin, "erin");
	c->erin_ro.via = AUTH_TOKEN;
	c->erin_ro.scopes = SCOPE_REPO_READ;
}

/* forge_can_participate as who on alice/proj loaded for who; the slug
 * and message of a refusal are in t->err. */
static int participate(struct pgtest *t, const struct auth *who)
{
	const struct repo *r = pgtest_repo_load(t, who, "alice", "proj");
	struct forge f = pgtest_forge(t, who);
	return forge_can_participate(&f, r);
}

static void test_can_participate(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);

	/* issues open to readers: every signed-in reader takes part */
	assert_int_equal(participate(t, &c.w.as_alice), 0);
	assert_int_equal(participate(t, &c.bob), 0);
	assert_int_equal(participate(t, &c.carol), 0);
	assert_int_equal(participate(t, &c.erin_ro), 0);
	assert_int_equal(participate(t, &c.anon), ERR_AUTH);
	assert_string_equal(t->err.msg, "authentication required");

	/* closed to readers: writers only */
	pgtest_sql(t, "UPDATE repositories SET issues_open_to_readers = false WHERE id = $1",
		   ID(c.w.rid));
	assert_int_equal(participate(t, &c.w.as_alice), 0);
	assert_int_equal(participate(t, &c.erin), 0);
	assert_int_equal(participate(t, &c.root), 0);
	const struct auth *refused[] = { &c.bob, &c.carol, &c.erin_ro };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(participate(t, refused[i]), ERR_PERM);
		assert_string_equal(t->err.slug, "issues_restricted");
		assert_string_equal(t->err.msg, "only writers may open issues, comment or react in "
						"repository 'alice/proj'");
	}
	assert_int_equal(participate(t, &c.anon), ERR_AUTH);
	assert_string_equal(t->err.msg, "authentication required");
}

/* forge_require_writer and forge_is_writer as who on alice/proj. */
static int require_writer(struct pgtest *t, const struct auth *who, bool *is_writer)
{
	const struct repo *r = pgtest_repo_load(t, who, "alice", "proj");
	struct forge f = pgtest_forge(t, who);
	*is_writer = forge_is_writer(&f, r);
	assert_int_equal(t->err.code, 0); /* asking leaves no error behind */
	return forge_require_writer(&f, r, "close issues");
}

static void test_require_writer(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	bool w;

	const struct auth *writers[] = { &c.w.as_alice, &c.erin, &c.root };
	for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		assert_int_equal(require_writer(t, writers[i], &w), 0);
		assert_true(w);
		assert_int_equal(t->err.code, 0);
	}

	/* readers, and a writer whose token may only read */
	const struct auth *readers[] = { &c.bob, &c.erin_ro };
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		assert_int_equal(require_writer(t, readers[i], &w), ERR_PERM);
		assert_false(w);
		assert_string_equal(t->err.slug, "forbidden");
		assert_string_equal(t->err.msg, "write access to repository 'alice/proj' is "
						"required to close issues");
	}

	/* who cannot read a private repository does not learn it exists */
	assert_int_equal(require_writer(t, &c.carol, &w), ERR_NOTFOUND);
	assert_false(w);
	assert_string_equal(t->err.msg, "repository 'alice/proj' not found");
	assert_int_equal(require_writer(t, &c.anon, &w), ERR_NOTFOUND);
	assert_string_equal(t->err.msg, "repository 'alice/proj' not found");

	/* public: anyone reads, strangers are refused, anonymous must sign in */
	pgtest_sql(t, "UPDATE repositories SET is_private = false WHERE id = $1", ID(c.w.rid));
	assert_int_equal(require_writer(t, &c.carol, &w), ERR_PERM);
	assert_string_equal(t->err.msg, "write access to repository 'alice/proj' is required to "
					"close issues");
	assert_int_equal(require_writer(t, &c.anon, &w), ERR_AUTH);
	assert_false(w);
	assert_string_equal(t->err.slug, "unauthorized");
	assert_string_equal(t->err.msg, "sign in to change repository 'alice/proj'");
}

/* An agent's task token carries the task's limits and its actor's
 * authority, whichever is less; user_auth_load is the actor's identity
 * for its tools. */
static void test_agent_authority(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t, true);
	int64_t dave = pgtest_user(t, "dave", false);
	pgtest_collaborator(t, w.rid, dave, "read");
	pgtest_repo(t, w.alice, "other", true);
	const struct repo *r = w.repo;
	const struct repo *other = pgtest_repo_load(t, &w.as_alice, "alice", "other");
	struct auth alices = { .via = AUTH_TASK,
			       .scopes = SCOPE_REPO_READ | SCOPE_REPO_WRITE,
			       .task_repo_id = w.rid,
			       .task_areas = AREA_CONTENTS,
			       .task_agent = true,
			       .task_actor_id = w.alice,
			       .task_actor_role = "" };
	struct err e = { 0 };
	/* the owner's agent pushes and reads its own repository only */
	assert_int_equal(authz_repo_area(&alices, r, ACT_WRITE, AREA_CONTENTS, &e), 0);
	assert_int_equal(authz_repo(&alices, r, ACT_READ, &e), 0);
	assert_int_equal(authz_repo(&alices, other, ACT_READ, &e), ERR_NOTFOUND);
	assert_string_equal(e.msg, "repository 'alice/other' not found");
	err_clear(&e);
	/* never more than the task: no contents area, no push; no admin */
	struct auth ro = alices;
	ro.task_areas = 0;
	assert_int_equal(authz_repo_area(&ro, r, ACT_WRITE, AREA_CONTENTS, &e), ERR_PERM);
	err_clear(&e);
	assert_int_equal(authz_repo(&alices, r, ACT_ADMIN, &e), ERR_PERM);
	err_clear(&e);
	/* never more than the actor: a reader's agent reads, does not push */
	struct auth daves = alices;
	daves.task_actor_id = dave;
	daves.task_actor_role = "read";
	assert_int_equal(authz_repo(&daves, r, ACT_READ, &e), 0);
	assert_int_equal(authz_repo_area(&daves, r, ACT_WRITE, AREA_CONTENTS, &e), ERR_PERM);
	assert_string_equal(e.msg, "this agent acts for a user without write access to "
				   "repository 'alice/proj'");
	err_clear(&e);
	/* an actor whose account is gone: not even the private repository */
	struct auth gone = alices;
	gone.task_actor_id = 0;
	assert_int_equal(authz_repo(&gone, r, ACT_READ, &e), ERR_NOTFOUND);
	err_clear(&e);
	/* a workflow's task token is what it was: no actor to ask */
	struct auth flow = gone;
	flow.task_agent = false;
	assert_int_equal(authz_repo_area(&flow, r, ACT_WRITE, AREA_CONTENTS, &e), 0);

	struct forge f = pgtest_forge(t, &w.as_alice);
	struct auth who;
	assert_int_equal(user_auth_load(&who, &f, dave), 0);
	assert_int_equal(who.via, AUTH_SESSION);
	assert_int_equal(who.user_id, dave);
	assert_string_equal(who.username, "dave");
	assert_false(who.is_admin);
	assert_int_equal(who.scopes, SCOPE_ALL);
	assert_err(t, user_auth_load(&who, &f, dave + 1000), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "user %lld not found", (long long)dave + 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		PGTEST(test_event_row),
		PGTEST(test_event_notify_at_commit),
		PGTEST(test_event_rollback_tells_nobody),
		PGTEST(test_issue_insert_numbers),
		PGTEST(test_issue_insert_concurrent),
		PGTEST(test_issue_state_set),
		PGTEST(test_issue_get),
		PGTEST(test_issue_get_lock),
		PGTEST(test_mentions_private),
		PGTEST(test_mentions_public),
		PGTEST(test_repo_load),
		PGTEST(test_can_participate),
		PGTEST(test_require_writer),
		PGTEST(test_agent_authority),
	};
	return cmocka_run_group_tests(tests, pgtest_start, pgtest_stop);
}
