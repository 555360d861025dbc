/* test_forge_activity.c — what a home page, a profile page and the
 * settings pages read (forge/activity.h, repo_list_member,
 * repo_list_public, repo_branch_names, user_session_list) against a
 * real throwaway PostgreSQL: each returns only what its caller may read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "forge/activity.h"
#include "forge/forge.h"
#include "forge/issues.h"
#include "forge/users.h"
#include "pgtest.h"

/* An outbox row of repo_id by actor_id (0: none). */
static void event(struct pgtest *t, int64_t repo_id, int64_t actor_id, const char *type,
		  const char *payload)
{
	pgtest_sql(t,
		   "INSERT INTO events (repo_id, type, actor_id, payload) VALUES ($1, $2, $3, "
		   "$4::jsonb)",
		   arena_int(t->arena, (long long)repo_id), type,
		   actor_id ? arena_int(t->arena, (long long)actor_id) : NULL, payload);
}

static bool listed(const struct repo_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i]->name, name))
			return true;
	return false;
}

static void test_member_and_public_lists(void **state)
{
	struct pgtest *t = *state;
	int64_t alice = pgtest_user(t, "alice", false), bob = pgtest_user(t, "bob", false);
	pgtest_repo(t, alice, "open", false);
	pgtest_repo(t, alice, "hidden", true);
	int64_t shared = pgtest_repo(t, bob, "shared", true);
	pgtest_repo(t, bob, "bobs", true);
	pgtest_collaborator(t, shared, alice, "read");
	struct auth a = pgtest_who(alice, "alice"), anon = pgtest_who(0, NULL);
	struct repo_list l;

	struct forge f = pgtest_forge(t, &a);
	assert_int_equal(repo_list_member(&l, &f, 10), 0);
	assert_int_equal(l.n, 3);
	assert_true(listed(&l, "open") && listed(&l, "hidden") && listed(&l, "shared"));
	assert_false(listed(&l, "bobs"));

	/* a token without repo:read: public ones only */
	struct auth tok = a;
	tok.via = AUTH_TOKEN;
	tok.scopes = SCOPE_USER;
	f = pgtest_forge(t, &tok);
	assert_int_equal(repo_list_member(&l, &f, 10), 0);
	assert_int_equal(l.n, 1);
	assert_true(listed(&l, "open"));

	f = pgtest_forge(t, &anon);
	assert_int_equal(repo_list_member(&l, &f, 10), ERR_AUTH);

	/* public: what anyone sees, a page at a time */
	pgtest_repo(t, bob, "open2", false);
	pgtest_sql(t, "UPDATE repositories SET updated_at = now() - interval '1 hour' WHERE name = "
		      "'open'");
	struct cursor next, after = { 0 };
	f = pgtest_forge(t, &anon);
	assert_int_equal(repo_list_public(&l, &next, &f, 1, &after), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->name, "open2");
	assert_true(next.set);
	assert_int_equal(repo_list_public(&l, &next, &f, 1, &next), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->name, "open");
	assert_false(next.set);
}

static void test_activity_is_of_readable_repositories(void **state)
{
	struct pgtest *t = *state;
	int64_t alice = pgtest_user(t, "alice", false), bob = pgtest_user(t, "bob", false);
	int64_t mine = pgtest_repo(t, alice, "mine", true);
	int64_t other = pgtest_repo(t, bob, "other", false);
	int64_t shared = pgtest_repo(t, bob, "shared", true);
	pgtest_collaborator(t, shared, alice, "write");
	event(t, mine, alice, "push", "{\"ref\":\"refs/heads/main\",\"deleted\":false}");
	event(t, other, bob, "push", "{\"ref\":\"refs/heads/main\"}");
	event(t, shared, bob, "issue.opened",
	      "{\"action\":\"opened\",\"issue\":{\"number\":7,\"title\":\"t\","
	      "\"pull_request\":false}}");
	event(t, shared, bob, "pull_request", "{\"action\":\"synchronize\"}");
	event(t, shared, bob, "status", "{}");
	struct auth a = pgtest_who(alice, "alice");
	struct forge f = pgtest_forge(t, &a);
	struct activity_list l;
	assert_int_equal(activity_list(&l, &f, 10), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].type, "issue.opened");
	assert_string_equal(l.items[0].owner, "bob");
	assert_int_equal(l.items[0].number, 7);
	assert_false(l.items[0].is_pull);
	assert_string_equal(l.items[1].type, "push");
	assert_string_equal(l.items[1].ref, "refs/heads/main");
	assert_string_equal(l.items[1].actor, "alice");
	assert_int_equal(activity_list(&l, &f, 1), 0);
	assert_int_equal(l.n, 1);

	/* no longer a collaborator: the shared repository's events go */
	pgtest_sql(t, "DELETE FROM collaborators");
	assert_int_equal(activity_list(&l, &f, 10), 0);
	assert_int_equal(l.n, 1);
}

static void test_activity_of_one_user(void **state)
{
	struct pgtest *t = *state;
	int64_t alice = pgtest_user(t, "alice", false), bob = pgtest_user(t, "bob", false),
		carol = pgtest_user(t, "carol", false);
	int64_t pub = pgtest_repo(t, bob, "pub", false);
	int64_t priv = pgtest_repo(t, bob, "priv", true);
	pgtest_collaborator(t, priv, carol, "read");
	event(t, pub, bob, "push", "{\"ref\":\"refs/heads/main\"}");
	event(t, priv, bob, "issue.opened",
	      "{\"action\":\"opened\",\"issue\":{\"number\":3,\"title\":\"hidden\","
	      "\"pull_request\":false}}");
	event(t, pub, alice, "push", "{\"ref\":\"refs/heads/other\"}");
	event(t, pub, bob, "status", "{}");
	struct activity_list l;
	/* anonymous and an outsider: bob's public push only */
	struct auth anon = pgtest_who(0, NULL), a = pgtest_who(alice, "alice");
	struct forge f = pgtest_forge(t, &anon);
	assert_int_equal(activity_of_user(&l, &f, bob, 10), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].type, "push");
	assert_string_equal(l.items[0].actor, "bob");
	assert_string_equal(l.items[0].owner, "bob");
	assert_string_equal(l.items[0].repo, "pub");
	f = pgtest_forge(t, &a);
	assert_int_equal(activity_of_user(&l, &f, bob, 10), 0);
	assert_int_equal(l.n, 1);
	/* a collaborator sees the private one too, newest first */
	struct auth c = pgtest_who(carol, "carol");
	f = pgtest_forge(t, &c);
	assert_int_equal(activity_of_user(&l, &f, bob, 10), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].type, "issue.opened");
	assert_int_equal(l.items[0].number, 3);
	assert_int_equal(activity_of_user(&l, &f, bob, 1), 0);
	assert_int_equal(l.n, 1);
	/* ... but not with a token without repo:read */
	struct auth tok = c;
	tok.via = AUTH_TOKEN;
	tok.scopes = SCOPE_USER;
	f = pgtest_forge(t, &tok);
	assert_int_equal(activity_of_user(&l, &f, bob, 10), 0);
	assert_int_equal(l.n, 1);
	/* and the owner sees theirs */
	struct auth b = pgtest_who(bob, "bob");
	f = pgtest_forge(t, &b);
	assert_int_equal(activity_of_user(&l, &f, bob, 10), 0);
	assert_int_equal(l.n, 2);
}

static void test_issues_authored_where_readable(void **state)
{
	struct pgtest *t = *state;
	int64_t alice = pgtest_user(t, "alice", false), bob = pgtest_user(t, "bob", false);
	int64_t pub = pgtest_repo(t, bob, "pub", false), priv = pgtest_repo(t, bob, "priv", true);
	const char *ins = "INSERT INTO issues (repo_id, number, title, author_id, state) VALUES ($1, "
			  "$2, $3, $4, $5)";
	pgtest_sql(t, ins, arena_int(t->arena, pub), "1", "open one", arena_int(t->arena, alice),
		   "open");
	pgtest_sql(t, ins, arena_int(t->arena, pub), "2", "closed one", arena_int(t->arena, alice),
		   "closed");
	pgtest_sql(t, ins, arena_int(t->arena, priv), "1", "lost one", arena_int(t->arena, alice),
		   "open");
	struct auth a = pgtest_who(alice, "alice");
	struct forge f = pgtest_forge(t, &a);
	struct activity_issues l;
	assert_int_equal(activity_issues_authored(&l, &f, 10), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].title, "open one");
	pgtest_collaborator(t, priv, alice, "read");
	assert_int_equal(activity_issues_authored(&l, &f, 10), 0);
	assert_int_equal(l.n, 2);
}

static void test_branch_names_and_sessions(void **state)
{
	struct pgtest *t = *state;
	int64_t alice = pgtest_user(t, "alice", false), bob = pgtest_user(t, "bob", false);
	int64_t rid = pgtest_repo(t, alice, "proj", true);
	pgtest_branch_row(t, rid, "main", "0123456789012345678901234567890123456789");
	pgtest_branch_row(t, rid, "dev", "0123456789012345678901234567890123456789");
	struct auth a = pgtest_who(alice, "alice"), b = pgtest_who(bob, "bob");
	const struct repo *as_alice = pgtest_repo_load(t, &a, "alice", "proj");
	const struct repo *as_bob = pgtest_repo_load(t, &b, "alice", "proj");
	struct forge f = pgtest_forge(t, &a);
	const char **names;
	size_t n;
	assert_int_equal(repo_branch_names(&names, &n, &f, as_alice, 10), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "dev");
	assert_string_equal(names[1], "main");
	assert_null(names[2]);
	f = pgtest_forge(t, &b);
	assert_int_equal(repo_branch_names(&names, &n, &f, as_bob, 10), ERR_NOTFOUND);

	pgtest_sql(t,
		   "INSERT INTO auth_sessions (user_id, method, expires_at, user_agent) VALUES "
		   "($1, 'password', now() + interval '1 day', 'ua1'), "
		   "($1, 'siwe', now() + interval '1 day', 'ua2'), "
		   "($1, 'password', now() - interval '1 day', 'expired'), "
		   "($2, 'password', now() + interval '1 day', 'bobs')",
		   arena_int(t->arena, alice), arena_int(t->arena, bob));
	a.token_id = pgtest_int(t, "SELECT id FROM auth_sessions WHERE user_agent = 'ua2'");
	f = pgtest_forge(t, &a);
	json_t *s;
	assert_int_equal(user_session_list(&s, &f), 0);
	assert_int_equal(json_array_size(s), 2);
	size_t i;
	json_t *v;
	int current = 0;
	json_array_foreach(s, i, v)
	{
		assert_string_not_equal(json_string_value(json_object_get(v, "user_agent")), "bobs");
		current += json_is_true(json_object_get(v, "current"));
	}
	assert_int_equal(current, 1);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		PGTEST(test_member_and_public_lists),
		PGTEST(test_activity_is_of_readable_repositories),
		PGTEST(test_activity_of_one_user),
		PGTEST(test_issues_authored_where_readable),
		PGTEST(test_branch_names_and_sessions),
	};
	return cmocka_run_group_tests(tests, pgtest_start, pgtest_stop);
}
