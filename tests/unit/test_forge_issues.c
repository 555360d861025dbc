/* test_forge_issues.c — the issue domain (forge/issues.h, comments.h,
 * labels.h, milestones.h, reactions.h) against a real throwaway
 * PostgreSQL started once for the suite: numbering, the one update with
 * its timeline rows and outbox events, who may change what (and that a
 * refusal writes nothing), labels and their deletion, comments with
 * mentions, reactions, and cursor pagination. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/config.h"
#include "db/db.h"
#include "forge/comments.h"
#include "forge/issues.h"
#include "forge/labels.h"
#include "forge/milestones.h"
#include "forge/reactions.h"
#include "pgtest.h"

static PGconn *db;
static struct arena *a;
static struct err e;
static struct auth alice, olly, rita; /* owner, outsider, read collaborator */
static struct repo *pub;

/* A scalar of a query without parameters, as text (arena). */
static const char *sql1(const char *q)
{
	PGresult *res = db_query(db, a, &e, q, 0, NULL);
	assert_non_null(res);
	return db_val(res, 0, 0);
}

static long long sqln(const char *q)
{
	return strtoll(sql1(q), NULL, 10);
}

static struct forge as(const struct auth *who)
{
	err_clear(&e);
	return (struct forge){ .db = db, .arena = a, .err = &e, .who = who };
}

static struct auth user(const char *name)
{
	PGresult *res = db_qv(db, a, &e, "INSERT INTO users (username) VALUES ($1) RETURNING id",
			      name);
	assert_non_null(res);
	return (struct auth){ .via = AUTH_SESSION,
			      .user_id = db_int(res, 0, 0),
			      .username = arena_strdup(a, name),
			      .scopes = SCOPE_ALL };
}

static int suite_setup(void **state)
{
	/* one database for the suite: the tests build on these fixtures */
	if (pgtest_start(state) || !(db = db_connect(&e)))
		return -1;
	a = arena_new();
	alice = user("alice");
	olly = user("olly");
	rita = user("rita");
	db_qv(db, a, &e, "INSERT INTO repositories (owner_id, name) VALUES ($1, 'pub')",
	      arena_int(a, alice.user_id));
	db_qv(db, a, &e,
	      "INSERT INTO collaborators (repo_id, user_id, role) "
	      "SELECT id, $1, 'read' FROM repositories WHERE name = 'pub'",
	      arena_int(a, rita.user_id));
	struct forge f = as(&alice);
	return repo_load(&pub, &f, "alice", "pub");
}

static int suite_teardown(void **state)
{
	if (db)
		PQfinish(db);
	arena_free(a);
	return pgtest_stop(state);
}

static void test_create_numbers_and_events(void **state)
{
	(void)state;
	struct forge f = as(&olly);
	struct issue one, two;
	long long ev = sqln("SELECT count(*) FROM events WHERE type = 'issue.opened'");
	assert_int_equal(issue_create(&one, &f, pub, "  First  ", "hello @rita", NULL), 0);
	assert_int_equal(issue_create(&two, &f, pub, "Second", NULL, NULL), 0);
	assert_int_equal(one.number + 1, two.number);
	assert_string_equal(one.title, "First");
	assert_int_equal(sqln("SELECT count(*) FROM events WHERE type = 'issue.opened'"), ev + 2);
	assert_int_equal(sqln("SELECT count(*) FROM mentions m JOIN users u ON u.id = m.user_id "
			      "WHERE u.username = 'rita'"),
			 1);
	assert_string_equal(sql1("SELECT string_agg(payload->>'sender', ',') FROM events "
				 "WHERE type = 'mention' AND payload->>'user' = 'rita'"),
			    "olly");
	/* a refusal writes nothing and uses up no number */
	struct issue x;
	assert_int_equal(issue_create(&x, &f, pub, "", "", NULL), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_field");
	struct issue_sets sets = { .has_labels = true };
	f = as(&olly);
	assert_int_equal(issue_create(&x, &f, pub, "labelled", "", &sets), ERR_PERM);
	assert_string_equal(e.msg,
			    "write access to repository 'alice/pub' is required to set labels");
	f = as(&olly);
	assert_int_equal(issue_create(&x, &f, pub, "Third", "", NULL), 0);
	assert_int_equal(x.number, two.number + 1);
}

static void test_update_state_and_timeline(void **state)
{
	(void)state;
	struct forge f = as(&alice);
	struct issue is, after;
	assert_int_equal(issue_create(&is, &f, pub, "To close", "", NULL), 0);
	const char *n = arena_int(a, is.number);
	/* a reader who is not the author may not close it */
	f = as(&rita);
	struct issue_update close = { .state = "closed" };
	assert_int_equal(issue_update(&after, &f, pub, n, &close), ERR_PERM);
	assert_non_null(strstr(e.msg, "may close or reopen issue 'alice/pub#"));
	f = as(&alice);
	struct issue_update up = { .title = "Closed now", .state = "closed" };
	assert_int_equal(issue_update(&after, &f, pub, n, &up), 0);
	assert_string_equal(after.state, "closed");
	assert_string_equal(after.title, "Closed now");
	PGresult *res = db_qv(db, a, &e,
			      "SELECT string_agg(type, ',' ORDER BY id) FROM issue_events "
			      "WHERE issue_id = $1",
			      arena_int(a, is.id));
	assert_string_equal(db_val(res, 0, 0), "renamed,closed");
	res = db_qv(db, a, &e,
		    "SELECT count(*) FROM events WHERE type IN ('issue.edited', 'issue.closed') "
		    "AND (payload->'issue'->>'number')::bigint = $1",
		    n);
	assert_int_equal(db_int(res, 0, 0), 2);
	res = db_qv(db, a, &e, "SELECT closed_by = $2 FROM issues WHERE id = $1",
		    arena_int(a, is.id), arena_int(a, alice.user_id));
	assert_true(db_bool(res, 0, 0));
	/* the timeline shows both */
	struct page pg;
	struct cursor none = { 0 };
	f = as(&olly);
	assert_int_equal(issue_timeline(&pg, &f, pub, &is, 10, &none), 0);
	assert_int_equal(json_array_size(pg.items), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(pg.items, 0), "event")),
			    "renamed");
	json_decref(pg.items);
}

static void test_labels(void **state)
{
	(void)state;
	struct forge f = as(&alice);
	json_t *j;
	struct label_fields bug = { .name = " bug ", .color = "#D73A4A" };
	assert_int_equal(label_create(&j, &f, pub, &bug), 0);
	assert_string_equal(json_string_value(json_object_get(j, "color")), "d73a4a");
	json_decref(j);
	f = as(&alice);
	assert_int_equal(label_create(&j, &f, pub, &(struct label_fields){ .name = "BUG" }),
			 ERR_EXISTS);
	assert_string_equal(e.msg, "label 'BUG' already exists in 'alice/pub'");
	f = as(&rita);
	assert_int_equal(label_delete(&f, pub, "bug"), ERR_PERM);
	/* label an issue, then delete the label: the event names the issue */
	const char *names[] = { "Bug" };
	struct issue_sets sets = { .has_labels = true, .labels = names, .nlabels = 1 };
	struct issue is;
	f = as(&alice);
	assert_int_equal(issue_create(&is, &f, pub, "Labelled", "", &sets), 0);
	f = as(&alice);
	assert_int_equal(label_delete(&f, pub, "bug"), 0);
	assert_int_equal(sqln("SELECT count(*) FROM labels WHERE lower(name) = 'bug'"), 0);
	PGresult *res = db_qv(db, a, &e,
			      "SELECT payload->'issues'->>0 FROM events WHERE type = 'label.deleted'");
	assert_int_equal(strtoll(db_val(res, 0, 0), NULL, 10), is.number);
	assert_string_equal(sql1("SELECT concat_ws(' ', payload->>'action', "
				 "payload->'repository'->>'full_name', payload->>'sender', "
				 "payload->'label'->>'name') FROM events WHERE type = 'label.deleted'"),
			    "deleted alice/pub alice bug");
}

static void test_comments_and_reactions(void **state)
{
	(void)state;
	struct forge f = as(&alice);
	struct issue is;
	json_t *c, *r;
	bool created;
	assert_int_equal(issue_create(&is, &f, pub, "Discuss", "", NULL), 0);
	const char *n = arena_int(a, is.number);
	f = as(&olly);
	assert_int_equal(comment_create(&c, &f, pub, n, "ping @alice"), 0);
	const char *id = arena_int(a, json_integer_value(json_object_get(c, "id")));
	json_decref(c);
	/* the same body again is not an edit; someone else's comment is not
	 * a reader's to edit */
	f = as(&olly);
	assert_int_equal(comment_update(&c, &f, pub, id, "ping @alice"), 0);
	assert_false(json_boolean_value(json_object_get(c, "edited")));
	json_decref(c);
	f = as(&rita);
	assert_int_equal(comment_update(&c, &f, pub, id, "hijack"), ERR_PERM);
	f = as(&rita);
	assert_int_equal(reaction_add(&r, &created, &f, pub, NULL, id, "heart"), 0);
	assert_true(created);
	json_decref(r);
	f = as(&rita);
	assert_int_equal(reaction_add(&r, &created, &f, pub, NULL, id, "heart"), 0);
	assert_false(created);
	json_decref(r);
	f = as(&rita);
	assert_int_equal(reaction_add(&r, &created, &f, pub, n, NULL, "thumbsup"), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_reaction");
	/* the reactions of a page of comments, in one query: counts for all,
	 * the viewer's own, nothing for a comment without any or of
	 * another issue */
	f = as(&olly);
	struct issue other;
	assert_int_equal(issue_create(&other, &f, pub, "Elsewhere", "", NULL), 0);
	assert_int_equal(comment_create(&c, &f, pub, arena_int(a, other.number), "quiet"), 0);
	int64_t quiet = json_integer_value(json_object_get(c, "id"));
	json_decref(c);
	f = as(&olly);
	assert_int_equal(reaction_add(&r, &created, &f, pub, NULL, id, "heart"), 0);
	json_decref(r);
	f = as(&olly);
	assert_int_equal(reaction_add(&r, &created, &f, pub, NULL, id, "rocket"), 0);
	json_decref(r);
	int64_t ids[] = { strtoll(id, NULL, 10), quiet };
	f = as(&rita);
	assert_int_equal(reactions_of_comments(&r, &f, pub, &is, ids, 2), 0);
	assert_int_equal(json_object_size(r), 1);
	json_t *one = json_object_get(r, id);
	json_t *counts = json_object_get(one, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts, "heart")), 2);
	assert_int_equal(json_integer_value(json_object_get(counts, "rocket")), 1);
	assert_int_equal(json_integer_value(json_object_get(counts, "total_count")), 3);
	assert_int_equal(json_array_size(json_object_get(one, "mine")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(one, "mine"), 0)),
			    "heart");
	json_decref(r);
	struct auth anon = { 0 };
	f = as(&anon);
	assert_int_equal(reactions_of_comments(&r, &f, pub, &is, ids, 2), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, id), "mine")), 0);
	json_decref(r);
	/* the comment of another issue is not this one's */
	f = as(&rita);
	assert_int_equal(reactions_of_comments(&r, &f, pub, &other, ids, 1), 0);
	assert_int_equal(json_object_size(r), 0);
	json_decref(r);
	f = as(&olly);
	assert_int_equal(comment_delete(&f, pub, id), 0);
	assert_int_equal(sqln(arena_printf(a, "SELECT count(*) FROM comments WHERE id = %s", id)), 0);
	assert_int_equal(sqln("SELECT count(*) FROM events WHERE type LIKE 'issue.comment%'"), 3);
	assert_int_equal(sqln("SELECT count(*) FROM events WHERE type = 'reaction.created'"), 3);
}

static void test_list_pages(void **state)
{
	(void)state;
	struct forge f = as(&alice);
	struct issue_filter filter;
	struct issue_query q = { .state = "all", .direction = "asc" };
	assert_int_equal(issue_filter_parse(&filter, &f, &q), 0);
	long long total = sqln("SELECT count(*) FROM issues");
	struct cursor cur = { 0 };
	long long seen = 0, last = 0;
	do {
		struct page pg;
		f = as(&alice);
		assert_int_equal(issue_list(&pg, &f, pub, &filter, 2, &cur), 0);
		for (size_t i = 0; i < json_array_size(pg.items); i++) {
			long long number = json_integer_value(
				json_object_get(json_array_get(pg.items, i), "number"));
			assert_true(number > last);
			last = number;
			seen++;
		}
		json_decref(pg.items);
		cur = pg.next;
	} while (cur.set);
	assert_int_equal(seen, total);
	f = as(&alice);
	q = (struct issue_query){ .sort = "votes" };
	assert_int_equal(issue_filter_parse(&filter, &f, &q), ERR_INVALID);
	assert_string_equal(e.msg, "sort 'votes' is not one of created, updated");
}

static void test_milestones(void **state)
{
	(void)state;
	struct forge f = as(&alice);
	json_t *j;
	struct milestone_fields m = { .title = "v1", .due_set = true, .due = "2027-02-30" };
	assert_int_equal(milestone_create(&j, &f, pub, &m), ERR_INVALID);
	assert_string_equal(e.slug, "invalid_date");
	f = as(&alice);
	m.due = "2027-03-01T10:00:00Z";
	assert_int_equal(milestone_create(&j, &f, pub, &m), 0);
	assert_string_equal(json_string_value(json_object_get(j, "due_on")), "2027-03-01");
	json_decref(j);
	f = as(&alice);
	assert_int_equal(milestone_update(&j, &f, pub, "1",
					  &(struct milestone_fields){ .state = "closed" }),
			 0);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "closed");
	assert_true(json_is_string(json_object_get(j, "closed_at")));
	json_decref(j);
	assert_int_equal(sqln("SELECT count(*) FROM events WHERE type = 'milestone.closed'"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_numbers_and_events),
		cmocka_unit_test(test_update_state_and_timeline),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_comments_and_reactions),
		cmocka_unit_test(test_list_pages),
		cmocka_unit_test(test_milestones),
	};
	return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
