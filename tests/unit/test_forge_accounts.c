/* test_forge_accounts.c — the domain's repositories, collaborators and
 * accounts (forge/forge.h, forge/users.h) against a real throwaway
 * PostgreSQL: the rules each front door gets alike, called without HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <git2.h>
#include <sodium.h>

#include "auth/auth.h"
#include "base/config.h"
#include "forge/forge.h"
#include "forge/users.h"
#include "pgtest.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWaf/xGfrxpc4faIt/xY6E7qh7oGeJW+z/TLbL+81Ct"

static PGconn *db;
static struct arena *A;
static struct err E;
static struct forge F;
static int64_t alice, bob, carol;

/* The domain as who: a fresh error slot each call. */
static struct forge *as(const struct auth *who)
{
	err_clear(&E);
	F = (struct forge){ .db = db, .arena = A, .err = &E, .who = who };
	return &F;
}

static struct auth session_of(int64_t id, const char *name)
{
	return (struct auth){
		.via = AUTH_SESSION, .user_id = id, .username = name, .scopes = SCOPE_ALL
	};
}

static struct auth token_of(int64_t id, const char *name, unsigned scopes, int64_t token_id)
{
	return (struct auth){ .via = AUTH_TOKEN,
			      .user_id = id,
			      .username = name,
			      .scopes = scopes,
			      .token_id = token_id };
}

static const struct auth anonymous = { .via = AUTH_NONE };
static const struct auth site_admin = { .is_admin = true, .scopes = SCOPE_ALL };

static void expect(int rc, int code, const char *slug, const char *msg)
{
	assert_int_equal(rc, code);
	if (slug)
		assert_string_equal(E.slug, slug);
	if (msg)
		assert_string_equal(E.msg, msg);
}

/* owner/name as who sees it (with who's role). */
static struct repo *load(const struct auth *who, const char *owner, const char *name)
{
	struct repo *p;
	assert_int_equal(repo_load(&p, as(who), owner, name), 0);
	return p;
}

static int setup(void **state)
{
	struct err e = { 0 };
	/* one database for the suite: the tests build on the accounts made here */
	if (pgtest_start(state) || !(db = db_connect(&e)) || sodium_init() < 0)
		return -1;
	git_libgit2_init();
	memcpy(cfg.server_key, "0123456789abcdef0123456789abcde", 32);
	A = arena_new();
	struct auth nobody = session_of(0, NULL);
	expect(user_create(&alice, as(&nobody), "alice", false), ERR_PERM, NULL,
	       "only a site administrator may create users");
	if (user_create(&alice, as(&site_admin), "alice", false) ||
	    user_create(&bob, as(&site_admin), "bob", false) ||
	    user_create(&carol, as(&site_admin), "carol", false))
		return -1;
	expect(user_create(&carol, as(&site_admin), "carol", false), ERR_EXISTS, NULL,
	       "user 'carol' already exists");
	return 0;
}

static int teardown(void **state)
{
	arena_free(A);
	PQfinish(db);
	pgtest_stop(state);
	git_libgit2_shutdown();
	return 0;
}

/* ---- repositories ---- */

static void test_repo_create(void **state)
{
	struct auth a = session_of(alice, "alice");
	struct auth ro = token_of(alice, "alice", SCOPE_REPO_READ, 0);
	struct repo *p;
	expect(repo_create(&p, as(&anonymous), "x", NULL, NULL, false), ERR_AUTH, NULL,
	       "authentication required");
	expect(repo_create(&p, as(&ro), "x", NULL, NULL, false), ERR_PERM, "insufficient_scope",
	       "this token lacks the repo:write scope");
	expect(repo_create(&p, as(&a), ".x", NULL, NULL, false), ERR_INVALID, "invalid_name",
	       "repository name '.x' may not start with '.'");
	expect(repo_create(&p, as(&a), "x", NULL, "a..b", false), ERR_INVALID, "invalid_branch",
	       "default_branch 'a..b' is not a valid branch name");
	assert_int_equal(repo_create(&p, as(&a), "proj", NULL, NULL, true), 0);
	assert_string_equal(p->owner, "alice");
	assert_string_equal(p->name, "proj");
	assert_string_equal(p->description, "");
	assert_string_equal(p->default_branch, "main");
	assert_true(p->is_private);
	assert_int_equal(access(p->disk_path, F_OK), 0);
	/* the row and the directory go together: a duplicate leaves the
	 * first one's directory alone */
	expect(repo_create(&p, as(&a), "proj", "again", NULL, false), ERR_EXISTS, NULL,
	       "repository 'alice/proj' already exists");
	assert_int_equal(access(load(&a, "alice", "proj")->disk_path, F_OK), 0);
}

static void test_repo_list_visibility(void **state)
{
	struct auth a = session_of(alice, "alice"), b = session_of(bob, "bob");
	struct auth b_none = token_of(bob, "bob", SCOPE_USER, 0);
	struct repo *p;
	struct repo_list l;
	assert_int_equal(repo_create(&p, as(&a), "vis-pub", NULL, NULL, false), 0);
	assert_int_equal(repo_create(&p, as(&a), "vis-priv", NULL, NULL, true), 0);
	expect(repo_list(&l, as(&b), "nobody"), ERR_NOTFOUND, NULL, "user 'nobody' not found");

	size_t all;
	assert_int_equal(repo_list(&l, as(&a), "ALICE"), 0);
	all = l.n;
	assert_int_equal(repo_list(&l, as(&b), "alice"), 0);
	for (size_t i = 0; i < l.n; i++)
		assert_false(l.items[i]->is_private);
	size_t public_n = l.n;
	assert_true(public_n < all);
	assert_int_equal(repo_list(&l, as(&anonymous), "alice"), 0);
	assert_int_equal(l.n, public_n);
	/* a collaborator sees the private one; through a token without
	 * repo:read, not */
	const char *canon;
	assert_int_equal(repo_collab_put(&canon, as(&a), load(&a, "alice", "vis-priv"), "bob",
					 "read"),
			 0);
	assert_int_equal(repo_list(&l, as(&b), "alice"), 0);
	assert_int_equal(l.n, public_n + 1);
	assert_int_equal(repo_list(&l, as(&b_none), "alice"), 0);
	assert_int_equal(l.n, public_n);
	/* ordered by name, whatever the case */
	assert_int_equal(repo_list(&l, as(&a), "alice"), 0);
	for (size_t i = 1; i < l.n; i++)
		assert_true(strcasecmp(l.items[i - 1]->name, l.items[i]->name) < 0);
}

static void test_repo_update_delete(void **state)
{
	struct auth a = session_of(alice, "alice"), b = session_of(bob, "bob");
	struct repo *p;
	const char *canon;
	assert_int_equal(repo_create(&p, as(&a), "upd", "old", NULL, false), 0);
	assert_int_equal(repo_collab_put(&canon, as(&a), p, "bob", "write"), 0);

	bool yes = true;
	struct repo_update in = { .description = "new", .is_private = &yes };
	expect(repo_update(as(&b), load(&b, "alice", "upd"), &in), ERR_PERM, NULL,
	       "admin access to repository 'alice/upd' is required");
	struct repo_update bad = { .default_branch = "x y" };
	expect(repo_update(as(&a), load(&a, "alice", "upd"), &bad), ERR_INVALID, "invalid_branch",
	       NULL);
	p = load(&a, "alice", "upd");
	assert_int_equal(repo_update(as(&a), p, &in), 0);
	assert_string_equal(p->description, "new");
	assert_true(p->is_private);
	p = load(&a, "alice", "upd");
	assert_string_equal(p->description, "new");
	assert_true(p->is_private);
	assert_string_equal(p->default_branch, "main");
	assert_true(p->issues_open); /* unchanged: the default */

	expect(repo_delete(as(&b), load(&b, "alice", "upd")), ERR_PERM, NULL,
	       "admin access to repository 'alice/upd' is required");
	const char *dir = p->disk_path;
	assert_int_equal(repo_delete(as(&a), p), 0);
	struct repo *gone;
	expect(repo_load(&gone, as(&a), "alice", "upd"), ERR_NOTFOUND, NULL,
	       "repository 'alice/upd' not found");
	assert_int_equal(access(dir, F_OK), -1);
}

static void test_collaborators(void **state)
{
	struct auth a = session_of(alice, "alice"), b = session_of(bob, "bob"),
		    c = session_of(carol, "carol");
	struct auth b_read = token_of(bob, "bob", SCOPE_REPO_READ, 0);
	struct repo *p;
	const char *canon;
	assert_int_equal(repo_create(&p, as(&a), "team", NULL, NULL, false), 0);
	expect(repo_collab_put(&canon, as(&a), p, "bob", "owner"), ERR_INVALID, "invalid_role",
	       "role 'owner' is not one of read, write, admin");
	expect(repo_collab_put(&canon, as(&a), p, "dave", "read"), ERR_NOTFOUND, NULL,
	       "user 'dave' not found");
	expect(repo_collab_put(&canon, as(&a), p, "Alice", "read"), ERR_INVALID,
	       "invalid_collaborator", "'alice' owns the repository");
	assert_int_equal(repo_collab_put(&canon, as(&a), p, "BOB", "write"), 0);
	assert_string_equal(canon, "bob");
	assert_int_equal(repo_collab_put(&canon, as(&a), p, "carol", "read"), 0);
	/* only an admin gives roles */
	expect(repo_collab_put(&canon, as(&b), load(&b, "alice", "team"), "carol", "admin"),
	       ERR_PERM, NULL, "admin access to repository 'alice/team' is required");

	json_t *list;
	expect(repo_collab_list(&list, as(&anonymous), load(&anonymous, "alice", "team")), ERR_AUTH,
	       NULL, "sign in to list the collaborators of repository 'alice/team'");
	expect(repo_collab_list(&list, as(&c), load(&c, "alice", "team")), ERR_PERM, NULL,
	       "push access to repository 'alice/team' is required to list its collaborators");
	/* listing is a read: a writer's repo:read token may */
	assert_int_equal(repo_collab_list(&list, as(&b_read), load(&b_read, "alice", "team")), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "username")),
			    "bob");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "role")),
			    "read");
	json_decref(list);

	expect(repo_collab_delete(as(&a), p, "dave"), ERR_NOTFOUND, NULL,
	       "'dave' is not a collaborator on 'alice/team'");
	assert_int_equal(repo_collab_delete(as(&a), p, "Carol"), 0);
	expect(repo_collab_delete(as(&a), p, "carol"), ERR_NOTFOUND, NULL, NULL);
}

static void test_repo_json(void **state)
{
	struct auth a = session_of(alice, "alice");
	struct repo *p;
	cfg.public_url = "https://forge.example";
	assert_int_equal(repo_create(&p, as(&a), "js", "d", "trunk", false), 0);
	json_t *j = repo_json(as(&a), p);
	assert_string_equal(json_string_value(json_object_get(j, "full_name")), "alice/js");
	assert_string_equal(json_string_value(json_object_get(j, "clone_url")),
			    "https://forge.example/alice/js.git");
	assert_string_equal(json_string_value(json_object_get(j, "default_branch")), "trunk");
	assert_int_equal(strlen(json_string_value(json_object_get(j, "created_at"))), 20);
	json_decref(j);
	cfg.public_url = NULL;
}

/* ---- accounts ---- */

static void test_register_login(void **state)
{
	struct user_client cl = { .ip = "192.0.2.1", .user_agent = "test" };
	struct user_signin s;
	int retry = 0;
	assert_int_equal(user_register_throttle(&retry, as(&anonymous), &cl), 0);
	expect(user_register(&s, as(&anonymous), "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
			     "a long passphrase", NULL, &cl),
	       ERR_INVALID, "invalid_name", NULL);
	expect(user_register(&s, as(&anonymous), "erin", "short", NULL, &cl), ERR_INVALID, NULL,
	       NULL);
	expect(user_register(&s, as(&anonymous), "erin", "a long passphrase", "no-at", &cl),
	       ERR_INVALID, "invalid_email", NULL);
	assert_int_equal(user_register(&s, as(&anonymous), "erin", "a long passphrase", "", &cl), 0);
	assert_true(s.created);
	assert_true(s.user_id > 0);
	assert_non_null(s.session.jwt);
	assert_string_equal(s.session.csrf, session_csrf_token(A, s.session.id));
	int64_t erin = s.user_id;
	expect(user_register(&s, as(&anonymous), "ERIN", "a long passphrase", NULL, &cl),
	       ERR_EXISTS, "username_taken", NULL);

	expect(user_login(&s, as(&anonymous), "erin", "wrong password", &cl), ERR_AUTH,
	       "invalid_credentials", "incorrect username or password");
	expect(user_login(&s, as(&anonymous), "nobody", "a long passphrase", &cl), ERR_AUTH,
	       "invalid_credentials", "incorrect username or password");
	assert_int_equal(user_login(&s, as(&anonymous), "Erin", "a long passphrase", &cl), 0);
	assert_int_equal(s.user_id, erin);
	assert_false(s.created);

	/* ten failures per account and address, then a wait; another address
	 * is not affected */
	struct user_client other = { .ip = "192.0.2.2" };
	for (int i = 0; i < 10; i++)
		expect(user_login(&s, as(&anonymous), "erin", "guess", &other), ERR_AUTH, NULL, NULL);
	expect(user_login(&s, as(&anonymous), "erin", "a long passphrase", &other), ERR_RATELIMIT,
	       "rate_limited", NULL);
	assert_true(s.retry_after > 0);
	assert_non_null(strstr(E.msg, "too many failed sign-ins for this account from this address"));
	assert_int_equal(user_login(&s, as(&anonymous), "erin", "a long passphrase", &cl), 0);
}

static void test_signout(void **state)
{
	struct user_client cl = { .ip = "192.0.2.3" };
	struct user_signin s;
	assert_int_equal(user_login(&s, as(&anonymous), "erin", "a long passphrase", &cl), 0);
	struct auth tok = token_of(s.user_id, "erin", SCOPE_ALL, 1);
	expect(user_signout(as(&tok)), ERR_INVALID, "not_a_session", NULL);
	struct auth sess = session_of(s.user_id, "erin");
	sess.token_id = s.session.id;
	assert_int_equal(user_signout(as(&sess)), 0);
	int n = -1;
	assert_int_equal(user_signout_all(&n, as(&sess)), 0);
	assert_true(n >= 1);
	assert_int_equal(user_signout_all(&n, as(&sess)), 0);
	assert_int_equal(n, 0);
}

static void test_user_update(void **state)
{
	struct auth c = session_of(carol, "carol");
	json_t *u;
	struct user_update taken = { .username = "Alice" };
	expect(user_update(&u, as(&c), &taken), ERR_EXISTS, "username_taken", NULL);
	struct user_update bad = { .email = "a b@c.d" };
	expect(user_update(&u, as(&c), &bad), ERR_INVALID, "invalid_email", NULL);
	struct user_update ok = { .email = "carol@example.com" };
	assert_int_equal(user_update(&u, as(&c), &ok), 0);
	assert_string_equal(json_string_value(json_object_get(u, "username")), "carol");
	assert_string_equal(json_string_value(json_object_get(u, "email")), "carol@example.com");
	assert_false(json_is_true(json_object_get(u, "has_password")));
	json_decref(u);
	struct user_update none = { .email = "" };
	assert_int_equal(user_update(&u, as(&c), &none), 0);
	assert_true(json_is_null(json_object_get(u, "email")));
	json_decref(u);
}

static void test_tokens(void **state)
{
	struct auth b = session_of(bob, "bob");
	json_t *t, *list;
	expect(user_token_create(&t, as(&b), "", SCOPE_USER, NULL), ERR_INVALID, "invalid_field",
	       "field 'name' may not be empty");
	expect(user_token_create(&t, as(&b), "x", SCOPE_USER, "2001-01-01"), ERR_INVALID,
	       "invalid_field", "expires_at '2001-01-01' is in the past");
	expect(user_token_create(&t, as(&b), "x", SCOPE_USER, "soon"), ERR_INVALID, "invalid_field",
	       "expires_at 'soon' is not an RFC 3339 time or a date");
	assert_int_equal(user_token_create(&t, as(&b), "parent", SCOPE_REPO_READ | SCOPE_USER,
					   "2099-01-01"),
			 0);
	assert_string_equal(json_string_value(json_object_get(t, "expires_at")),
			    "2099-01-01T00:00:00Z");
	assert_true(!strncmp(json_string_value(json_object_get(t, "token")), "plue_", 5));
	int64_t parent = json_integer_value(json_object_get(t, "id"));
	json_decref(t);

	/* a token mints nothing stronger or longer-lived than itself */
	struct auth pt = token_of(bob, "bob", SCOPE_REPO_READ | SCOPE_USER, parent);
	expect(user_token_create(&t, as(&pt), "child", SCOPE_REPO_READ | SCOPE_REPO_WRITE, NULL),
	       ERR_PERM, "insufficient_scope",
	       "this token lacks the repo:write scope it would grant");
	expect(user_token_create(&t, as(&pt), "child", SCOPE_REPO_READ, "2100-01-01"), ERR_INVALID,
	       "invalid_field",
	       "expires_at '2100-01-01' is later than this token's own expiry '2099-01-01T00:00:00Z'");
	assert_int_equal(user_token_create(&t, as(&pt), "child", SCOPE_REPO_READ, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(t, "expires_at")),
			    "2099-01-01T00:00:00Z");
	int64_t child = json_integer_value(json_object_get(t, "id"));
	json_decref(t);

	struct auth no_user = token_of(bob, "bob", SCOPE_REPO_READ, parent);
	expect(user_token_list(&list, as(&no_user)), ERR_PERM, "insufficient_scope",
	       "this token lacks the user scope");
	assert_int_equal(user_token_list(&list, as(&b)), 0);
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);

	expect(user_token_delete(as(&b), "abc"), ERR_NOTFOUND, NULL, "token 'abc' not found");
	struct auth c = session_of(carol, "carol");
	const char *cid = arena_int(A, child);
	expect(user_token_delete(as(&c), cid), ERR_NOTFOUND, NULL, NULL);
	assert_int_equal(user_token_delete(as(&b), cid), 0);
	expect(user_token_delete(as(&b), cid), ERR_NOTFOUND, NULL, NULL);
}

static void test_keys(void **state)
{
	struct auth b = session_of(bob, "bob"), c = session_of(carol, "carol");
	json_t *k, *list;
	expect(user_key_create(&k, as(&b), "ssh-dss AAAA", NULL), ERR_INVALID, "invalid_key", NULL);
	assert_int_equal(user_key_create(&k, as(&b), ED25519 " laptop@home", NULL), 0);
	assert_string_equal(json_string_value(json_object_get(k, "name")), "laptop@home");
	assert_string_equal(json_string_value(json_object_get(k, "fingerprint")),
			    "SHA256:1eDOONT2oMkSabiZAClStCicwBGUXkW57d8kBCoNrmE");
	const char *id = arena_int(A, json_integer_value(json_object_get(k, "id")));
	json_decref(k);
	expect(user_key_create(&k, as(&c), ED25519, "mine"), ERR_EXISTS, "key_exists",
	       "key 'SHA256:1eDOONT2oMkSabiZAClStCicwBGUXkW57d8kBCoNrmE' is already in use");
	assert_int_equal(user_key_list(&list, as(&b)), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	expect(user_key_delete(as(&c), id), ERR_NOTFOUND, NULL, NULL);
	assert_int_equal(user_key_delete(as(&b), id), 0);
	assert_int_equal(user_key_list(&list, as(&b)), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repo_create),
		cmocka_unit_test(test_repo_list_visibility),
		cmocka_unit_test(test_repo_update_delete),
		cmocka_unit_test(test_collaborators),
		cmocka_unit_test(test_repo_json),
		cmocka_unit_test(test_register_login),
		cmocka_unit_test(test_signout),
		cmocka_unit_test(test_user_update),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
