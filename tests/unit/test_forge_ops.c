/* test_forge_ops.c — the operations side of the domain (forge/runs.h,
 * secrets.h, hooks.h, maintenance.h) against a real throwaway PostgreSQL
 * (pgtest.h): who may do what (owner, admin, writer, reader, stranger,
 * anonymous, a read-only token, a workflow's task token — the answer the
 * API gives, since pages and agent tools call these without the HTTP
 * dispatcher's gate), validation and its order, secrets sealed at rest and
 * never shown, webhooks with their pings, deliveries and redeliveries, the
 * run list and its cursor, a run's stored log, cancelling and approving
 * runs, manual dispatch through the outbox, and a repository's
 * housekeeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <git2.h>

#include "auth/auth.h"
#include "base/util.h"
#include "forge/forge.h"
#include "forge/hooks.h"
#include "forge/maintenance.h"
#include "forge/runs.h"
#include "forge/secrets.h"
#include "queue/secrets.h"
#include "pgtest.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the cast ---- */

/* alice owns alice/proj; adam administers it, wendy writes, rita reads;
 * sam is a stranger, root a site administrator; alice_ro is alice through
 * a token limited to repo:read, task a workflow's task token of the
 * repository that may write every area. */
struct cast {
	int64_t rid;
	int64_t alice, adam, wendy, rita, sam, root;
	struct auth as_alice, as_adam, as_wendy, as_rita, as_sam, as_root, anon, alice_ro, task;
};

static void cast_make(struct cast *c, struct pgtest *t, bool is_private)
{
	c->alice = pgtest_user(t, "alice", false);
	c->adam = pgtest_user(t, "adam", false);
	c->wendy = pgtest_user(t, "wendy", false);
	c->rita = pgtest_user(t, "rita", false);
	c->sam = pgtest_user(t, "sam", false);
	c->root = pgtest_user(t, "root", true);
	c->rid = pgtest_repo(t, c->alice, "proj", is_private);
	pgtest_collaborator(t, c->rid, c->adam, "admin");
	pgtest_collaborator(t, c->rid, c->wendy, "write");
	pgtest_collaborator(t, c->rid, c->rita, "read");
	c->as_alice = pgtest_who(c->alice, "alice");
	c->as_adam = pgtest_who(c->adam, "adam");
	c->as_wendy = pgtest_who(c->wendy, "wendy");
	c->as_rita = pgtest_who(c->rita, "rita");
	c->as_sam = pgtest_who(c->sam, "sam");
	c->as_root = pgtest_who(c->root, "root");
	c->as_root.is_admin = true;
	c->anon = pgtest_who(0, NULL);
	c->alice_ro = pgtest_who(c->alice, "alice");
	c->alice_ro.via = AUTH_TOKEN;
	c->alice_ro.scopes = SCOPE_REPO_READ;
	c->task = (struct auth){ .via = AUTH_TASK,
				 .task_repo_id = c->rid,
				 .task_areas = AREA_CONTENTS | AREA_ISSUES | AREA_PULLS |
					       AREA_STATUSES };
}

/* alice/proj as who sees it (with who's role). */
static const struct repo *proj(struct pgtest *t, const struct auth *who)
{
	return pgtest_repo_load(t, who, "alice", "proj");
}

static void set_private(struct pgtest *t, const struct cast *c, bool is_private)
{
	pgtest_sql(t, "UPDATE repositories SET is_private = $2 WHERE id = $1", ID(c->rid),
		   is_private ? "true" : "false");
}

/* The string member key of object o (NULL when absent or not a string). */
static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* j as compact JSON with sorted keys (arena). */
static const char *jtext(struct pgtest *t, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	const char *r = arena_strdup(t->arena, s);
	free(s);
	return r;
}

/* One call of a domain function as who on repo; returns its code, the
 * refusal in t->err. */
typedef int (*call_fn)(struct pgtest *t, struct forge *f, const struct repo *repo, void *arg);

static int call_as(struct pgtest *t, const struct auth *who, call_fn fn, void *arg)
{
	const struct repo *r = proj(t, who);
	struct forge f = pgtest_forge(t, who);
	return fn(t, &f, r, arg);
}

static const char *const TASK_MSG = "a task token may only push and write what its job's "
				    "permissions grant in repository 'alice/proj'";

/* The answers of a function that needs the admin role on alice/proj, for
 * everybody else, private then public; no call writes anything (the
 * caller's check). */
static void admin_refusals(struct pgtest *t, struct cast *c, call_fn fn, void *arg)
{
	const char *admin = "admin access to repository 'alice/proj' is required";
	const char *hidden = "repository 'alice/proj' not found";
	set_private(t, c, true);
	assert_err(t, call_as(t, &c->as_wendy, fn, arg), ERR_PERM, "forbidden", admin);
	assert_err(t, call_as(t, &c->as_rita, fn, arg), ERR_PERM, "forbidden", admin);
	assert_err(t, call_as(t, &c->as_sam, fn, arg), ERR_NOTFOUND, "not_found", hidden);
	assert_err(t, call_as(t, &c->anon, fn, arg), ERR_NOTFOUND, "not_found", hidden);
	assert_err(t, call_as(t, &c->task, fn, arg), ERR_PERM, "forbidden", TASK_MSG);
	assert_err(t, call_as(t, &c->alice_ro, fn, arg), ERR_PERM, "insufficient_scope",
		   "this token lacks the repo:write scope");
	set_private(t, c, false);
	assert_err(t, call_as(t, &c->as_sam, fn, arg), ERR_PERM, "forbidden", admin);
	assert_err(t, call_as(t, &c->as_rita, fn, arg), ERR_PERM, "forbidden", admin);
	assert_err(t, call_as(t, &c->anon, fn, arg), ERR_AUTH, "unauthorized",
		   "sign in to change repository 'alice/proj'");
	assert_err(t, call_as(t, &c->task, fn, arg), ERR_PERM, "forbidden", TASK_MSG);
	set_private(t, c, true);
}

/* ---- secrets ---- */

static int call_secret_list(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	json_t *out = NULL;
	int rc = secret_list(&out, f, r);
	if (!rc)
		*(const char **)arg = jtext(t, out);
	json_decref(out);
	return rc;
}

static int call_secret_put(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	(void)t;
	const char *const *nv = arg;
	bool created = false;
	return secret_put(&created, f, r, nv[0], nv[1]);
}

static int call_secret_delete(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	(void)t;
	return secret_delete(f, r, arg);
}

static void test_secret_who(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	const char *nv[2] = { "DEPLOY_KEY", "hunter2-hunter2" };
	const char *listed = NULL;

	admin_refusals(t, &c, call_secret_put, nv);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM secrets"), 0);

	/* the owner, an admin collaborator and a site administrator may */
	assert_int_equal(call_as(t, &c.as_alice, call_secret_put, nv), 0);
	nv[0] = "ADAMS";
	assert_int_equal(call_as(t, &c.as_adam, call_secret_put, nv), 0);
	nv[0] = "ROOTS";
	assert_int_equal(call_as(t, &c.as_root, call_secret_put, nv), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM secrets WHERE repo_id = $1", ID(c.rid)),
			 3);

	admin_refusals(t, &c, call_secret_list, &listed);
	assert_null(listed);
	assert_int_equal(call_as(t, &c.as_adam, call_secret_list, &listed), 0);
	assert_non_null(strstr(listed, "\"name\":\"ADAMS\""));

	admin_refusals(t, &c, call_secret_delete, "ADAMS");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM secrets"), 3);
	assert_int_equal(call_as(t, &c.as_adam, call_secret_delete, "ADAMS"), 0);
	assert_int_equal(call_as(t, &c.as_root, call_secret_delete, "ROOTS"), 0);
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM secrets WHERE name IN ('ADAMS', 'ROOTS')"),
			 0);
}

/* The hex of s (arena). */
static const char *hex_of(struct pgtest *t, const char *s)
{
	size_t n = strlen(s);
	char *h = arena_alloc(t->arena, n * 2 + 1);
	hex_encode(h, (const unsigned char *)s, n);
	return h;
}

static void test_secret_sealed(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	int64_t other = pgtest_repo(t, c.alice, "other", false);
	const struct repo *r = proj(t, &c.as_alice);
	const char *value = "s3cr3t value, not for logs";
	bool created = false;

	struct forge f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, "TOKEN", value), 0);
	assert_true(created);
	PGresult *row = pgtest_sql(t,
				   "SELECT nonce, ciphertext, created_at = updated_at FROM secrets "
				   "WHERE repo_id = $1 AND name = 'TOKEN'",
				   ID(c.rid));
	assert_int_equal(PQntuples(row), 1);
	const char *nonce = db_val(row, 0, 0), *cipher = db_val(row, 0, 1);
	assert_true(db_bool(row, 0, 2));
	/* sealed: hex of a 24-byte nonce and of the value plus a 16-byte tag,
	 * neither the value nor its hex */
	assert_int_equal(strlen(nonce), 48);
	assert_int_equal(strlen(cipher), (strlen(value) + 16) * 2);
	assert_null(strstr(cipher, value));
	assert_null(strstr(cipher, hex_of(t, value)));
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM secrets WHERE ciphertext LIKE "
				    "'%' || $1 || '%' OR nonce LIKE '%' || $1 || '%'",
				    "s3cr3t"),
			 0);
	/* it opens with the server's key, for this repository and name only */
	const char *opened = NULL;
	struct err e = { 0 };
	assert_int_equal(secret_open(t->arena, &e, c.rid, "TOKEN", nonce, cipher, &opened), 0);
	assert_string_equal(opened, value);
	assert_int_equal(secret_open(t->arena, &e, other, "TOKEN", nonce, cipher, &opened),
			 ERR_INTERNAL);
	err_clear(&e);
	assert_int_equal(secret_open(t->arena, &e, c.rid, "OTHER", nonce, cipher, &opened),
			 ERR_INTERNAL);

	/* replacing: not created, a new nonce and ciphertext, updated_at moves */
	pgtest_sql(t, "UPDATE secrets SET created_at = now() - interval '1 day', updated_at = "
		      "now() - interval '1 day'");
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, "TOKEN", "second"), 0);
	assert_false(created);
	row = pgtest_sql(t,
			 "SELECT nonce, ciphertext, updated_at > created_at, "
			 "  updated_at > now() - interval '1 hour' FROM secrets WHERE name = 'TOKEN'");
	assert_int_equal(PQntuples(row), 1);
	assert_string_not_equal(db_val(row, 0, 0), nonce);
	assert_string_not_equal(db_val(row, 0, 1), cipher);
	assert_true(db_bool(row, 0, 2));
	assert_true(db_bool(row, 0, 3));
	assert_int_equal(secret_open(t->arena, &e, c.rid, "TOKEN", db_val(row, 0, 0),
				     db_val(row, 0, 1), &opened),
			 0);
	assert_string_equal(opened, "second");

	/* the list: names and times, by name, never a value */
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, "A_FIRST", value), 0);
	assert_true(created);
	pgtest_sql(t, "UPDATE secrets SET created_at = '2024-02-03 04:05:06.789+00', updated_at = "
		      "'2024-03-04 05:06:07+00' WHERE name = 'A_FIRST'");
	json_t *list = NULL;
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_list(&list, &f, r), 0);
	assert_int_equal(json_array_size(list), 2);
	json_t *first = json_array_get(list, 0);
	assert_string_equal(jtext(t, first), "{\"created_at\":\"2024-02-03T04:05:06Z\","
					     "\"name\":\"A_FIRST\","
					     "\"updated_at\":\"2024-03-04T05:06:07Z\"}");
	assert_string_equal(jstr(json_array_get(list, 1), "name"), "TOKEN");
	assert_int_equal(json_object_size(json_array_get(list, 1)), 3);
	const char *text = jtext(t, list);
	assert_null(strstr(text, value));
	assert_null(strstr(text, "second"));
	json_decref(list);

	/* another repository's secrets are its own */
	const struct repo *o = pgtest_repo_load(t, &c.as_alice, "alice", "other");
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_list(&list, &f, o), 0);
	assert_string_equal(jtext(t, list), "[]");
	json_decref(list);
}

static void test_secret_validation(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);
	const struct repo *r = proj(t, &c.as_alice);
	bool created = true;
	char long_name[102];
	memset(long_name, 'A', 101);
	long_name[101] = '\0';

	static const struct {
		const char *name, *msg;
	} bad[] = {
		{ "", "secret name '' must be 1 to 100 of letters, digits and '_', not starting "
		      "with a digit" },
		{ "1ABC", "secret name '1ABC' must be 1 to 100 of letters, digits and '_', not "
			  "starting with a digit" },
		{ "MY-KEY", "secret name 'MY-KEY' must be 1 to 100 of letters, digits and '_', not "
			    "starting with a digit" },
		{ "PLUE_TOKEN", "secret name 'PLUE_TOKEN' must not start with PLUE_" },
		{ "plue_x", "secret name 'plue_x' must not start with PLUE_" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct forge f = pgtest_forge(t, &c.as_alice);
		assert_err(t, secret_put(&created, &f, r, bad[i].name, "v"), ERR_INVALID,
			   "invalid_name", bad[i].msg);
		f = pgtest_forge(t, &c.as_alice);
		assert_err(t, secret_delete(&f, r, bad[i].name), ERR_INVALID, "invalid_name",
			   bad[i].msg);
		f = pgtest_forge(t, &c.as_alice);
		assert_err(t, secret_name_check(&f, bad[i].name), ERR_INVALID, "invalid_name",
			   bad[i].msg);
	}
	struct forge f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, long_name, "v"), ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_name");
	long_name[100] = '\0';
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, long_name, "v"), 0);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, "_x9", "v"), 0);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, "PLUEX", "v"), 0);

	/* an empty value; the name is judged first, and who asks before both */
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, secret_put(&created, &f, r, "EMPTY", ""), ERR_INVALID, "invalid_field",
		   "field 'value' must not be empty");
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, r, "1BAD", ""), ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_name");
	const struct repo *rw = proj(t, &c.as_wendy);
	f = pgtest_forge(t, &c.as_wendy);
	assert_err(t, secret_put(&created, &f, rw, "1BAD", ""), ERR_PERM, "forbidden",
		   "admin access to repository 'alice/proj' is required");
	f = pgtest_forge(t, &c.as_wendy);
	assert_int_equal(secret_delete(&f, rw, "1BAD"), ERR_PERM);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM secrets"), 3);

	/* deleting: the one named, of this repository only */
	int64_t other = pgtest_repo(t, c.alice, "other", false);
	const struct repo *o = pgtest_repo_load(t, &c.as_alice, "alice", "other");
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_put(&created, &f, o, "_x9", "v"), 0);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(secret_delete(&f, r, "_x9"), 0);
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM secrets WHERE name = '_x9' AND "
				    "repo_id = $1",
				    ID(other)),
			 1);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM secrets WHERE repo_id = $1", ID(c.rid)),
			 2);
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, secret_delete(&f, r, "_x9"), ERR_NOTFOUND, "not_found",
		   "secret '_x9' not found");
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, secret_delete(&f, r, "NOPE"), ERR_NOTFOUND, "not_found",
		   "secret 'NOPE' not found");
}

/* ---- webhooks ---- */

static int call_hook_create(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	json_t *out = NULL;
	int rc = hook_create(&out, f, r, arg);
	if (!rc)
		assert_true(jint(out, "id") > 0);
	(void)t;
	json_decref(out);
	return rc;
}

static int call_hook_list(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	json_t *out = NULL;
	int rc = hook_list(&out, f, r);
	if (!rc)
		*(size_t *)arg = json_array_size(out);
	(void)t;
	json_decref(out);
	return rc;
}

/* hook *arg: pinged, then deleted */
static int call_hook_ping(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	(void)t;
	return hook_ping(f, r, *(int64_t *)arg);
}

static int call_hook_delete(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	(void)t;
	return hook_delete(f, r, *(int64_t *)arg);
}

static int call_hook_update(struct pgtest *t, struct forge *f, const struct repo *r, void *arg)
{
	(void)t;
	json_t *out = NULL;
	struct hook_input in = { .url = "https://evil.example/", .active = -1 };
	int rc = hook_update(&out, f, r, *(int64_t *)arg, &in);
	json_decref(out);
	return rc;
}

static void test_hook_who(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	struct hook_input in = { .url = "https://example.com/hook", .active = -1 };
	size_t n = 99;

	admin_refusals(t, &c, call_hook_create, &in);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks"), 0);
	assert_int_equal(call_as(t, &c.as_alice, call_hook_create, &in), 0);
	assert_int_equal(call_as(t, &c.as_adam, call_hook_create, &in), 0);
	assert_int_equal(call_as(t, &c.as_root, call_hook_create, &in), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks WHERE repo_id = $1", ID(c.rid)),
			 3);
	/* created_by is who made it */
	assert_string_equal(pgtest_str(t, "SELECT string_agg(u.username, ',' ORDER BY h.id) FROM "
					  "webhooks h JOIN users u ON u.id = h.created_by"),
			    "alice,adam,root");

	admin_refusals(t, &c, call_hook_list, &n);
	assert_int_equal(n, 99);
	assert_int_equal(call_as(t, &c.as_adam, call_hook_list, &n), 0);
	assert_int_equal(n, 3);

	int64_t hid = pgtest_int(t, "SELECT min(id) FROM webhooks");
	long long deliveries = pgtest_int(t, "SELECT count(*) FROM webhook_deliveries");
	assert_int_equal(deliveries, 3); /* one ping each */
	admin_refusals(t, &c, call_hook_ping, &hid);
	admin_refusals(t, &c, call_hook_update, &hid);
	admin_refusals(t, &c, call_hook_delete, &hid);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries"), deliveries);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks WHERE url = "
				       "'https://example.com/hook'"),
			 3);
	assert_int_equal(call_as(t, &c.as_adam, call_hook_ping, &hid), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries"), deliveries + 1);
	assert_int_equal(call_as(t, &c.as_adam, call_hook_delete, &hid), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks"), 2);
}

static void test_hook_create(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);
	const struct repo *r = proj(t, &c.as_alice);
	struct forge f = pgtest_forge(t, &c.as_alice);
	json_t *h = NULL;

	/* the defaults: json, push, active, no secret; a ping is queued */
	struct hook_input in = { .url = "https://example.com/hook", .active = -1 };
	assert_int_equal(hook_create(&h, &f, r, &in), 0);
	int64_t id = jint(h, "id");
	const char *base = arena_printf(t->arena, "/api/alice/proj/hooks/%lld", (long long)id);
	assert_string_equal(jstr(h, "type"), "Repository");
	assert_string_equal(jstr(h, "url"), "https://example.com/hook");
	assert_string_equal(jstr(h, "content_type"), "json");
	assert_string_equal(jtext(t, json_object_get(h, "events")), "[\"push\"]");
	assert_true(json_is_true(json_object_get(h, "active")));
	assert_true(json_is_false(json_object_get(h, "has_secret")));
	assert_string_equal(jstr(h, "deliveries_url"), arena_printf(t->arena, "%s/deliveries", base));
	assert_string_equal(jstr(h, "ping_url"), arena_printf(t->arena, "%s/pings", base));
	assert_int_equal(strlen(jstr(h, "created_at")), 20);
	assert_int_equal(jstr(h, "created_at")[19], 'Z');
	json_t *last = json_object_get(h, "last_delivery");
	assert_true(json_is_object(last));
	assert_string_equal(jstr(last, "event"), "ping");
	assert_string_equal(jstr(last, "status"), "pending");
	PGresult *d = pgtest_sql(t,
				 "SELECT id, event, status, attempts, event_id IS NULL, "
				 "  (payload::jsonb)->>'hook_id', (payload::jsonb)->'hook'->'config'->>'url', "
				 "  (payload::jsonb)->>'zen' IS NOT NULL "
				 "FROM webhook_deliveries WHERE hook_id = $1",
				 ID(id));
	assert_int_equal(PQntuples(d), 1);
	assert_int_equal(jint(last, "id"), db_int(d, 0, 0));
	assert_string_equal(db_val(d, 0, 1), "ping");
	assert_string_equal(db_val(d, 0, 2), "pending");
	assert_int_equal(db_int(d, 0, 3), 0);
	assert_true(db_bool(d, 0, 4));
	assert_string_equal(db_val(d, 0, 5), ID(id));
	assert_string_equal(db_val(d, 0, 6), "https://example.com/hook");
	assert_true(db_bool(d, 0, 7));
	/* hook_get and hook_list show the same */
	json_t *g = NULL, *l = NULL;
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_get(&g, &f, r, id), 0);
	assert_string_equal(jtext(t, g), jtext(t, h));
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_list(&l, &f, r), 0);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jtext(t, json_array_get(l, 0)), jtext(t, h));
	json_decref(g);
	json_decref(l);
	json_decref(h);

	/* everything given: GitHub's content type name, events without
	 * repeats in the order given, inactive (no ping), a sealed secret */
	const char *events[] = { "issues", "push", "issues", "*" };
	in = (struct hook_input){ .url = "http://hooks.example.org:8080/x?y=1",
				  .content_type = "application/x-www-form-urlencoded",
				  .secret = "shared-hmac-key",
				  .events = events,
				  .nevents = NELEM(events),
				  .active = 0 };
	f = pgtest_forge(t, &c.as_adam);
	assert_int_equal(hook_create(&h, &f, proj(t, &c.as_adam), &in), 0);
	int64_t id2 = jint(h, "id");
	assert_true(id2 > id);
	assert_string_equal(jstr(h, "content_type"), "form");
	assert_string_equal(jtext(t, json_object_get(h, "events")), "[\"issues\",\"push\",\"*\"]");
	assert_true(json_is_false(json_object_get(h, "active")));
	assert_true(json_is_true(json_object_get(h, "has_secret")));
	assert_true(json_is_null(json_object_get(h, "last_delivery")));
	assert_null(strstr(jtext(t, h), "shared-hmac-key"));
	json_decref(h);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries WHERE hook_id = $1",
				    ID(id2)),
			 0);
	PGresult *s = pgtest_sql(t,
				 "SELECT secret_nonce, secret_cipher, content_type, "
				 "  array_to_string(events, ','), active FROM webhooks WHERE id = $1",
				 ID(id2));
	assert_string_equal(db_val(s, 0, 2), "form");
	assert_string_equal(db_val(s, 0, 3), "issues,push,*");
	assert_false(db_bool(s, 0, 4));
	assert_null(strstr(db_val(s, 0, 1), "shared-hmac-key"));
	assert_null(strstr(db_val(s, 0, 1), hex_of(t, "shared-hmac-key")));
	const char *opened = NULL;
	struct err e = { 0 };
	assert_int_equal(secret_open(t->arena, &e, c.rid, "webhook", db_val(s, 0, 0),
				     db_val(s, 0, 1), &opened),
			 0);
	assert_string_equal(opened, "shared-hmac-key");
}

static void test_hook_validation(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);
	const struct repo *r = proj(t, &c.as_alice);
	json_t *h = NULL;
	const char *good[] = { "push" }, *unknown[] = { "push", "deploy" };

	const struct {
		struct hook_input in;
		int code;
		const char *slug, *msg;
	} bad[] = {
		/* the url first, then the content type, then the events, and
		 * only then whether a url was given at all */
		{ { .url = "ftp://example.com/x", .content_type = "xml", .active = -1 },
		  ERR_INVALID,
		  "invalid_url",
		  "url 'ftp://example.com/x' must use http or https" },
		{ { .url = "example.com/x", .active = -1 },
		  ERR_INVALID,
		  "invalid_url",
		  "url 'example.com/x' is not an absolute http or https url with a host and no "
		  "fragment" },
		{ { .url = "http://127.0.0.1:9/x", .active = -1 },
		  ERR_INVALID,
		  "invalid_url",
		  "url 'http://127.0.0.1:9/x' points to a loopback address (127.0.0.1): refused "
		  "unless the operator allows it" },
		{ { .url = "http://169.254.169.254/latest", .active = -1 },
		  ERR_INVALID,
		  "invalid_url",
		  "url 'http://169.254.169.254/latest' points to the cloud metadata address "
		  "(169.254.169.254): refused unless the operator allows it" },
		{ { .content_type = "xml", .events = unknown, .nevents = 2, .active = -1 },
		  ERR_INVALID,
		  "invalid_field",
		  "field 'content_type' must be 'json' or 'form', not 'xml'" },
		{ { .url = "https://example.com/", .events = unknown, .nevents = 2, .active = -1 },
		  ERR_INVALID,
		  "invalid_events",
		  "unknown event 'deploy': one of push, pull_request, pull_request_review, issues, "
		  "issue_comment, workflow_run or '*'" },
		{ { .events = good, .nevents = 0, .active = -1 },
		  ERR_INVALID,
		  "invalid_events",
		  "field 'events' must be a non-empty array of event names" },
		{ { .events = good, .nevents = 1, .active = -1 },
		  ERR_INVALID,
		  "missing_field",
		  "field 'url' is required" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct forge f = pgtest_forge(t, &c.as_alice);
		h = NULL;
		assert_err(t, hook_create(&h, &f, r, &bad[i].in), bad[i].code, bad[i].slug,
			   bad[i].msg);
		assert_null(h);
	}
	/* who asks is judged before what is asked */
	const struct repo *rw = proj(t, &c.as_wendy);
	struct forge f = pgtest_forge(t, &c.as_wendy);
	assert_err(t, hook_create(&h, &f, rw, &bad[0].in), ERR_PERM, "forbidden",
		   "admin access to repository 'alice/proj' is required");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks"), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries"), 0);

	/* at most HOOK_MAX a repository, counted under the repository's lock;
	 * the refusal rolls back (no hook, no ping) */
	for (int i = 0; i < HOOK_MAX - 1; i++)
		pgtest_sql(t,
			   "INSERT INTO webhooks (repo_id, url, events) VALUES ($1, "
			   "'https://example.com/', '{push}')",
			   ID(c.rid));
	struct hook_input in = { .url = "https://example.com/last", .active = -1 };
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_create(&h, &f, r, &in), 0);
	json_decref(h);
	h = NULL;
	long long pings = pgtest_int(t, "SELECT count(*) FROM webhook_deliveries");
	assert_int_equal(pings, 1);
	f = pgtest_forge(t, &c.as_alice);
	in.url = "https://example.com/one-too-many";
	assert_err(t, hook_create(&h, &f, r, &in), ERR_CONFLICT, "too_many_hooks",
		   "repository 'alice/proj' already has 20 hooks");
	assert_null(h);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks WHERE repo_id = $1", ID(c.rid)),
			 HOOK_MAX);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries"), pings);
	assert_int_equal(PQtransactionStatus(t->db), PQTRANS_IDLE);
	/* the cap is per repository */
	pgtest_repo(t, c.alice, "other", false);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_create(&h, &f, pgtest_repo_load(t, &c.as_alice, "alice", "other"), &in),
			 0);
	json_decref(h);
}

static void test_hook_update_delete(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);
	const struct repo *r = proj(t, &c.as_alice);
	json_t *h = NULL;
	const char *ev[] = { "push" };
	struct hook_input in = { .url = "https://example.com/a",
				 .secret = "first-secret",
				 .events = ev,
				 .nevents = 1,
				 .active = 1 };
	struct forge f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_create(&h, &f, r, &in), 0);
	int64_t id = jint(h, "id");
	json_decref(h);
	const char *cipher = arena_strdup(
		t->arena, pgtest_str(t, "SELECT secret_cipher FROM webhooks WHERE id = $1", ID(id)));
	pgtest_sql(t, "UPDATE webhooks SET updated_at = now() - interval '1 day'");

	/* nothing given changes nothing but updated_at */
	struct hook_input none = { .active = -1 };
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_update(&h, &f, r, id, &none), 0);
	assert_string_equal(jstr(h, "url"), "https://example.com/a");
	assert_true(json_is_true(json_object_get(h, "active")));
	assert_true(json_is_true(json_object_get(h, "has_secret")));
	json_decref(h);
	assert_string_equal(pgtest_str(t, "SELECT secret_cipher FROM webhooks WHERE id = $1", ID(id)),
			    cipher);
	assert_true(pgtest_int(t,
			       "SELECT (updated_at > now() - interval '1 hour')::int FROM "
			       "webhooks WHERE id = $1",
			       ID(id)));

	/* each field given */
	const char *ev2[] = { "workflow_run", "pull_request" };
	struct hook_input up = { .url = "https://example.net/b",
				 .content_type = "application/json",
				 .events = ev2,
				 .nevents = 2,
				 .active = 0,
				 .secret = "" };
	f = pgtest_forge(t, &c.as_adam);
	assert_int_equal(hook_update(&h, &f, proj(t, &c.as_adam), id, &up), 0);
	assert_string_equal(jstr(h, "url"), "https://example.net/b");
	assert_string_equal(jstr(h, "content_type"), "json");
	assert_string_equal(jtext(t, json_object_get(h, "events")),
			    "[\"workflow_run\",\"pull_request\"]");
	assert_true(json_is_false(json_object_get(h, "active")));
	assert_true(json_is_false(json_object_get(h, "has_secret")));
	json_decref(h);
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM webhooks WHERE id = $1 AND "
				    "secret_cipher IS NULL AND secret_nonce IS NULL",
				    ID(id)),
			 1);
	/* a new secret, sealed anew */
	struct hook_input sec = { .secret = "second-secret", .active = 1 };
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_update(&h, &f, r, id, &sec), 0);
	assert_true(json_is_true(json_object_get(h, "has_secret")));
	assert_true(json_is_true(json_object_get(h, "active")));
	json_decref(h);
	PGresult *s = pgtest_sql(t, "SELECT secret_nonce, secret_cipher FROM webhooks WHERE id = $1",
				 ID(id));
	const char *opened = NULL;
	struct err e = { 0 };
	assert_int_equal(secret_open(t->arena, &e, c.rid, "webhook", db_val(s, 0, 0),
				     db_val(s, 0, 1), &opened),
			 0);
	assert_string_equal(opened, "second-secret");

	/* the order: who, then which hook, then what is asked */
	struct hook_input badurl = { .url = "gopher://x", .active = -1 };
	f = pgtest_forge(t, &c.as_rita);
	assert_err(t, hook_update(&h, &f, proj(t, &c.as_rita), 9999, &badurl), ERR_PERM,
		   "forbidden", "admin access to repository 'alice/proj' is required");
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_update(&h, &f, r, 9999, &badurl), ERR_NOTFOUND, "not_found",
		   "hook 9999 not found in 'alice/proj'");
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_update(&h, &f, r, id, &badurl), ERR_INVALID, "invalid_url",
		   "url 'gopher://x' must use http or https");
	struct hook_input noevents = { .events = ev, .nevents = 0, .active = -1 };
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_update(&h, &f, r, id, &noevents), ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_events");
	assert_string_equal(pgtest_str(t,
				       "SELECT url || ' ' || array_to_string(events, ',') FROM "
				       "webhooks WHERE id = $1",
				       ID(id)),
			    "https://example.net/b workflow_run,pull_request");

	/* another repository's hook is not found through this one */
	pgtest_repo(t, c.alice, "other", false);
	const struct repo *o = pgtest_repo_load(t, &c.as_alice, "alice", "other");
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_update(&h, &f, o, id, &none), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "hook %lld not found in 'alice/other'", (long long)id));
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_get(&h, &f, o, id), ERR_NOTFOUND);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_delete(&f, o, id), ERR_NOTFOUND);
	assert_string_equal(t->err.msg, arena_printf(t->arena, "hook %lld not found in 'alice/other'",
						     (long long)id));

	/* deleting takes the delivery log with it */
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_ping(&f, r, id), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries WHERE hook_id = $1",
				    ID(id)),
			 2);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_delete(&f, r, id), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhooks"), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries"), 0);
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_delete(&f, r, id), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "hook %lld not found in 'alice/proj'", (long long)id));
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_get(&h, &f, r, id), ERR_NOTFOUND);
}

static void test_hook_deliveries(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	const struct repo *r = proj(t, &c.as_alice);
	json_t *h = NULL, *list = NULL, *d = NULL;
	struct hook_input in = { .url = "https://example.com/h", .active = 0 };
	struct forge f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_create(&h, &f, r, &in), 0);
	int64_t id = jint(h, "id");
	json_decref(h);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_deliveries(&list, &f, r, id, INT64_MAX), 0);
	assert_string_equal(jtext(t, list), "[]"); /* inactive: no ping at creation */
	json_decref(list);

	/* a ping writes one pending delivery */
	f = pgtest_forge(t, &c.as_adam);
	assert_int_equal(hook_ping(&f, proj(t, &c.as_adam), id), 0);
	int64_t first = pgtest_int(t,
				   "SELECT id FROM webhook_deliveries WHERE hook_id = $1 AND "
				   "event = 'ping' AND status = 'pending' AND redelivery_of IS NULL",
				   ID(id));
	/* it was attempted: its log, as a delivery worker writes it */
	pgtest_sql(t,
		   "UPDATE webhook_deliveries SET status = 'delivered', attempts = 1, "
		   "  response_status = 204, duration_ms = 12, finished_at = "
		   "  '2025-01-02 03:04:05+00', created_at = '2025-01-02 03:04:04+00', "
		   "  request_headers = '{\"X-GitHub-Event\": \"ping\"}', request_body = 'pb', "
		   "  response_headers = '{\"Server\": \"t\"}', response_body = 'ok' WHERE id = $1",
		   ID(first));
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_delivery_get(&d, &f, r, id, first), 0);
	assert_int_equal(jint(d, "id"), first);
	assert_string_equal(jstr(d, "event"), "ping");
	assert_string_equal(jstr(d, "status"), "delivered");
	assert_int_equal(jint(d, "attempts"), 1);
	assert_int_equal(jint(d, "status_code"), 204);
	assert_int_equal(jint(d, "duration_ms"), 12);
	assert_true(json_is_false(json_object_get(d, "redelivery")));
	assert_string_equal(jstr(d, "created_at"), "2025-01-02T03:04:04Z");
	assert_string_equal(jstr(d, "delivered_at"), "2025-01-02T03:04:05Z");
	assert_true(json_is_null(json_object_get(d, "next_attempt_at"))); /* not pending */
	assert_int_equal(strlen(jstr(d, "guid")), 36);
	json_t *rq = json_object_get(d, "request"), *rs = json_object_get(d, "response");
	assert_string_equal(jtext(t, json_object_get(rq, "headers")),
			    "{\"X-GitHub-Event\":\"ping\"}");
	assert_string_equal(jstr(rq, "body"), "pb");
	assert_int_equal(jint(json_object_get(rq, "payload"), "hook_id"), id);
	assert_string_equal(jtext(t, json_object_get(rs, "headers")), "{\"Server\":\"t\"}");
	assert_string_equal(jstr(rs, "body"), "ok");
	const char *guid = arena_strdup(t->arena, jstr(d, "guid"));
	json_decref(d);

	/* redelivering: a new pending delivery of the same payload, a new
	 * guid, marked as a redelivery of the first */
	int64_t again = 0;
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_redeliver(&again, &f, r, id, first), 0);
	assert_true(again > first);
	PGresult *row = pgtest_sql(t,
				   "SELECT n.redelivery_of, n.status, n.attempts, n.payload = o.payload, "
				   "  n.event, n.guid <> o.guid, n.response_status IS NULL "
				   "FROM webhook_deliveries n, webhook_deliveries o "
				   "WHERE n.id = $1 AND o.id = $2",
				   ID(again), ID(first));
	assert_int_equal(db_int(row, 0, 0), first);
	assert_string_equal(db_val(row, 0, 1), "pending");
	assert_int_equal(db_int(row, 0, 2), 0);
	assert_true(db_bool(row, 0, 3));
	assert_string_equal(db_val(row, 0, 4), "ping");
	assert_true(db_bool(row, 0, 5));
	assert_true(db_bool(row, 0, 6));
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_delivery_get(&d, &f, r, id, again), 0);
	assert_true(json_is_true(json_object_get(d, "redelivery")));
	assert_string_not_equal(jstr(d, "guid"), guid);
	assert_true(json_is_string(json_object_get(d, "next_attempt_at")));
	json_decref(d);

	/* the log: newest first, a page below a cursor */
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_deliveries(&list, &f, r, id, INT64_MAX), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(jint(json_array_get(list, 0), "id"), again);
	assert_int_equal(jint(json_array_get(list, 1), "id"), first);
	assert_null(json_object_get(json_array_get(list, 0), "request"));
	json_decref(list);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_deliveries(&list, &f, r, id, again), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(jint(json_array_get(list, 0), "id"), first);
	json_decref(list);
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_deliveries(&list, &f, r, id, first), 0);
	assert_string_equal(jtext(t, list), "[]");
	json_decref(list);
	/* the hook shows its newest delivery */
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_get(&h, &f, r, id), 0);
	assert_int_equal(jint(json_object_get(h, "last_delivery"), "id"), again);
	json_decref(h);

	/* what is not there */
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_redeliver(&again, &f, r, id, 424242), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "delivery 424242 of hook %lld not found", (long long)id));
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_delivery_get(&d, &f, r, id, 424242), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "delivery 424242 of hook %lld not found", (long long)id));
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_ping(&f, r, 777), ERR_NOTFOUND, "not_found",
		   "hook 777 not found in 'alice/proj'");
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_deliveries(&list, &f, r, 777, INT64_MAX), ERR_NOTFOUND, "not_found",
		   "hook 777 not found in 'alice/proj'");
	/* another hook's delivery is not this hook's */
	in.url = "https://example.com/other";
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_create(&h, &f, r, &in), 0);
	int64_t id2 = jint(h, "id");
	json_decref(h);
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, hook_redeliver(&again, &f, r, id2, first), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "delivery %lld of hook %lld not found", (long long)first,
				(long long)id2));
	f = pgtest_forge(t, &c.as_alice);
	assert_int_equal(hook_delivery_get(&d, &f, r, id2, first), ERR_NOTFOUND);
	/* and a reader, a writer and a stranger see no log */
	f = pgtest_forge(t, &c.as_wendy);
	assert_err(t, hook_redeliver(&again, &f, proj(t, &c.as_wendy), id, first), ERR_PERM,
		   "forbidden", "admin access to repository 'alice/proj' is required");
	f = pgtest_forge(t, &c.as_rita);
	assert_int_equal(hook_delivery_get(&d, &f, proj(t, &c.as_rita), id, first), ERR_PERM);
	f = pgtest_forge(t, &c.as_sam);
	assert_err(t, hook_deliveries(&list, &f, proj(t, &c.as_sam), id, INT64_MAX), ERR_NOTFOUND,
		   "not_found", "repository 'alice/proj' not found");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM webhook_deliveries"), 2);
}

/* ---- runs ---- */

/* A run of repo_id (number, event type, status, trusted or not, started
 * by actor_id or nobody), with its own stream; returns its id. */
static int64_t run_make(struct pgtest *t, int64_t repo_id, int number, const char *event,
			const char *status, bool trusted, int64_t actor_id)
{
	int64_t stream = pgtest_int(t, "INSERT INTO streams (repo_id) VALUES ($1) RETURNING id",
				    ID(repo_id));
	return pgtest_int(t,
			  "INSERT INTO workflow_runs (repo_id, run_number, workflow_path, name, "
			  "  event_type, ref, commit_sha, actor_id, status, trusted, stream_id, "
			  "  created_at, started_at, finished_at) "
			  "VALUES ($1, $2, '.plue/workflows/ci.yaml', 'CI', $3, 'refs/heads/main', "
			  "  NULL, $4, $5, $6, $7, '2025-05-06 07:08:09+00', "
			  "  CASE WHEN $5 IN ('waiting', 'queued') THEN NULL ELSE "
			  "    '2025-05-06 07:08:10+00'::timestamptz END, "
			  "  CASE WHEN $5 IN ('success', 'failure', 'cancelled', 'skipped') THEN "
			  "    '2025-05-06 07:08:12.5+00'::timestamptz END) RETURNING id",
			  ID(repo_id), ID(number), event, arena_id(t->arena, actor_id), status,
			  trusted ? "true" : "false", ID(stream));
}

/* A job of run_id with no needs (status, name), one step; returns its id. */
static int64_t job_make(struct pgtest *t, int64_t run_id, const char *key, const char *status)
{
	return pgtest_int(t,
			  "INSERT INTO workflow_jobs (run_id, job_key, name, spec, status, steps) "
			  "VALUES ($1, $2, $2, '{\"steps\": [{\"run\": \"true\"}]}', $3, "
			  "  '[{\"name\": \"Checkout\", \"status\": \"pending\"}, "
			  "    {\"name\": \"step\", \"status\": \"pending\"}]') RETURNING id",
			  ID(run_id), key, status);
}

/* A workload of job_id in status (waiting, claimed, running). */
static int64_t workload_make(struct pgtest *t, int64_t repo_id, int64_t run_id, int64_t job_id,
			     const char *status)
{
	return pgtest_int(t,
			  "INSERT INTO workloads (type, job_id, repo_id, stream_id, status, spec) "
			  "SELECT 'workflow', $1, $2, stream_id, $4, '{}' FROM workflow_runs "
			  "WHERE id = $3 RETURNING id",
			  ID(job_id), ID(repo_id), ID(run_id), status);
}

/* The ids of a JSON array of objects, comma-separated. */
static const char *ids_of(struct pgtest *t, const json_t *arr)
{
	const char *s = "";
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		s = arena_printf(t->arena, "%s%s%lld", s, i ? "," : "", (long long)jint(v, "id"));
	return s;
}

/* run_list of alice/proj as who: the ids, or NULL and the refusal in
 * t->err. */
static const char *run_ids(struct pgtest *t, const struct auth *who, int64_t before, int64_t limit,
			   const char *event)
{
	const struct repo *r = proj(t, who);
	struct forge f = pgtest_forge(t, who);
	struct run_filter q = { .before = before, .limit = limit, .event = event };
	json_t *arr = NULL;
	if (run_list(&arr, &f, r, &q)) {
		assert_null(arr);
		return NULL;
	}
	const char *s = ids_of(t, arr);
	json_decref(arr);
	return s;
}

static void test_run_list(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	int64_t other = pgtest_repo(t, c.alice, "other", false);
	int64_t id[6];
	static const char *const ev[] = { "push", "push",         "workflow_dispatch",
					  "push", "pull_request", "push" };
	for (int i = 0; i < 6; i++) {
		id[i] = run_make(t, c.rid, i + 1, ev[i], i < 5 ? "success" : "running", true,
				 c.wendy);
		run_make(t, other, i + 1, "push", "success", true, 0); /* interleaved */
	}
	const char *all = arena_printf(t->arena, "%lld,%lld,%lld,%lld,%lld,%lld", (long long)id[5],
				       (long long)id[4], (long long)id[3], (long long)id[2],
				       (long long)id[1], (long long)id[0]);
	assert_string_equal(run_ids(t, &c.as_alice, INT64_MAX, 100, NULL), all);

	/* pages: newest first, ids below the cursor, at most limit */
	assert_string_equal(run_ids(t, &c.as_rita, INT64_MAX, 2, NULL),
			    arena_printf(t->arena, "%lld,%lld", (long long)id[5], (long long)id[4]));
	assert_string_equal(run_ids(t, &c.as_rita, id[4], 2, NULL),
			    arena_printf(t->arena, "%lld,%lld", (long long)id[3], (long long)id[2]));
	assert_string_equal(run_ids(t, &c.as_rita, id[2], 2, NULL),
			    arena_printf(t->arena, "%lld,%lld", (long long)id[1], (long long)id[0]));
	assert_string_equal(run_ids(t, &c.as_rita, id[0], 2, NULL), "");
	/* one event type */
	assert_string_equal(run_ids(t, &c.as_rita, INT64_MAX, 100, "push"),
			    arena_printf(t->arena, "%lld,%lld,%lld,%lld", (long long)id[5],
					 (long long)id[3], (long long)id[1], (long long)id[0]));
	assert_string_equal(run_ids(t, &c.as_rita, id[3], 1, "push"),
			    arena_printf(t->arena, "%lld", (long long)id[1]));
	assert_string_equal(run_ids(t, &c.as_rita, INT64_MAX, 100, "workflow_dispatch"),
			    arena_printf(t->arena, "%lld", (long long)id[2]));
	assert_string_equal(run_ids(t, &c.as_rita, INT64_MAX, 100, "schedule"), "");

	/* who may read: everybody who reads the repository, a task token of
	 * the repository and a read-only token too */
	assert_string_equal(run_ids(t, &c.task, INT64_MAX, 100, NULL), all);
	assert_string_equal(run_ids(t, &c.alice_ro, INT64_MAX, 100, NULL), all);
	assert_string_equal(run_ids(t, &c.as_root, INT64_MAX, 100, NULL), all);
	assert_null(run_ids(t, &c.as_sam, INT64_MAX, 100, NULL));
	assert_err(t, ERR_NOTFOUND, ERR_NOTFOUND, "not_found", "repository 'alice/proj' not found");
	assert_null(run_ids(t, &c.anon, INT64_MAX, 100, NULL));
	assert_err(t, ERR_NOTFOUND, ERR_NOTFOUND, "not_found", "repository 'alice/proj' not found");
	set_private(t, &c, false);
	assert_string_equal(run_ids(t, &c.anon, INT64_MAX, 100, NULL), all);
	assert_string_equal(run_ids(t, &c.as_sam, INT64_MAX, 100, NULL), all);

	/* a run as the list shows it */
	const struct repo *r = proj(t, &c.as_alice);
	struct forge f = pgtest_forge(t, &c.as_alice);
	struct run_filter q = { .before = id[5], .limit = 1 };
	json_t *arr = NULL;
	assert_int_equal(run_list(&arr, &f, r, &q), 0);
	json_t *run = json_array_get(arr, 0);
	assert_int_equal(jint(run, "id"), id[4]);
	assert_int_equal(jint(run, "number"), 5);
	assert_string_equal(jstr(run, "repository"), "alice/proj");
	assert_string_equal(jstr(run, "workflow"), "CI");
	assert_string_equal(jstr(run, "path"), ".plue/workflows/ci.yaml");
	assert_string_equal(jstr(run, "ref"), "refs/heads/main");
	assert_true(json_is_null(json_object_get(run, "sha")));
	assert_string_equal(jstr(run, "status"), "success");
	assert_string_equal(jstr(run, "created_at"), "2025-05-06T07:08:09Z");
	assert_string_equal(jstr(run, "started_at"), "2025-05-06T07:08:10Z");
	assert_string_equal(jstr(run, "finished_at"), "2025-05-06T07:08:12Z");
	assert_int_equal(jint(run, "duration_ms"), 2500);
	assert_string_equal(jtext(t, json_object_get(run, "event")),
			    "{\"id\":null,\"type\":\"pull_request\"}");
	assert_string_equal(jstr(run, "actor"), "wendy");
	assert_true(json_is_true(json_object_get(run, "trusted")));
	assert_true(json_is_null(json_object_get(run, "approved_by")));
	assert_true(json_is_false(json_object_get(run, "cancel_requested")));
	assert_null(json_object_get(run, "jobs"));
	json_decref(arr);
}

/* An event of run_id's stream (job_id, type, payload JSON text), in order. */
static void log_event(struct pgtest *t, int64_t run_id, int64_t seq, const char *type,
		      const char *payload)
{
	pgtest_sql(t,
		   "INSERT INTO workload_events (stream_id, stream_seq, type, payload) "
		   "SELECT stream_id, $2, $3, $4::jsonb FROM workflow_runs WHERE id = $1",
		   ID(run_id), ID(seq), type, payload);
}

static void test_run_log_text(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);
	int64_t run = run_make(t, c.rid, 1, "push", "success", true, c.alice);
	int64_t build = job_make(t, run, "build", "success");
	int64_t test = job_make(t, run, "test", "success");
	const char *b = ID(build), *te = ID(test);
	/* the jobs' lines interleaved in the stream, and an event of neither */
	log_event(t, run, 1, "step_start",
		  arena_printf(t->arena, "{\"job_id\": %s, \"name\": \"compile\"}", b));
	log_event(t, run, 2, "step_start", arena_printf(t->arena, "{\"job_id\": %s}", te));
	log_event(t, run, 3, "log",
		  arena_printf(t->arena, "{\"job_id\": %s, \"line\": \"cc -c x.c\"}", b));
	log_event(t, run, 4, "log",
		  arena_printf(t->arena, "{\"job_id\": %s, \"line\": \"ok 1\"}", te));
	log_event(t, run, 5, "job_end", arena_printf(t->arena, "{\"job_id\": %s}", b));
	log_event(t, run, 6, "log", arena_printf(t->arena, "{\"job_id\": %s}", b));

	struct run_ref ref;
	struct forge f = pgtest_forge(t, &c.anon);
	assert_int_equal(run_find(&ref, &f, run, ACT_READ), 0);
	struct buf out = BUF_INIT;
	assert_int_equal(run_log_text(&out, &f, &ref, 0), 0);
	assert_string_equal(out.ptr, "== build ==\n-- compile\ncc -c x.c\n\n"
				     "== test ==\n-- step\nok 1\n");
	buf_release(&out);
	/* one job */
	f = pgtest_forge(t, &c.anon);
	assert_int_equal(run_log_text(&out, &f, &ref, test), 0);
	assert_string_equal(out.ptr, "== test ==\n-- step\nok 1\n");
	buf_release(&out);
	/* a job of another run */
	int64_t other = run_make(t, c.rid, 2, "push", "success", true, c.alice);
	int64_t stray = job_make(t, other, "build", "success");
	f = pgtest_forge(t, &c.anon);
	assert_err(t, run_log_text(&out, &f, &ref, stray), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "job %lld not found in run %lld", (long long)stray,
				(long long)run));
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

/* run_cancel of run_id as who; the refusal in t->err. */
static int cancel_as(struct pgtest *t, const struct auth *who, int64_t run_id)
{
	struct forge f = pgtest_forge(t, who);
	return run_cancel(&f, run_id);
}

static void test_run_find_get(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	int64_t run = run_make(t, c.rid, 1, "push", "running", true, c.alice);
	int64_t job = job_make(t, run, "build", "running");
	job_make(t, run, "test", "pending");
	workload_make(t, c.rid, run, job, "running");

	struct run_ref ref = { 0 };
	struct forge f = pgtest_forge(t, &c.as_rita);
	assert_int_equal(run_find(&ref, &f, run, ACT_READ), 0);
	assert_int_equal(ref.id, run);
	assert_int_equal(ref.repo->id, c.rid);
	assert_int_equal(ref.repo->role, ROLE_READ);
	assert_int_equal(ref.stream_id,
			 pgtest_int(t, "SELECT stream_id FROM workflow_runs WHERE id = $1", ID(run)));
	json_t *j = NULL;
	f = pgtest_forge(t, &c.as_rita);
	assert_int_equal(run_get(&j, &f, &ref), 0);
	assert_int_equal(jint(j, "id"), run);
	assert_string_equal(jstr(j, "status"), "running");
	assert_true(json_is_null(json_object_get(j, "finished_at")));
	json_t *jobs = json_object_get(j, "jobs");
	assert_int_equal(json_array_size(jobs), 2);
	json_t *b = json_array_get(jobs, 0);
	assert_int_equal(jint(b, "id"), job);
	assert_string_equal(jstr(b, "key"), "build");
	assert_string_equal(jstr(b, "status"), "running");
	assert_int_equal(jint(b, "attempt"), 1);
	assert_string_equal(jtext(t, json_object_get(b, "needs")), "[]");
	assert_string_equal(jtext(t, json_object_get(b, "steps")),
			    "[{\"exit_code\":null,\"name\":\"Checkout\",\"status\":\"pending\"},"
			    "{\"exit_code\":null,\"name\":\"step\",\"status\":\"pending\"}]");
	assert_true(json_is_null(json_object_get(json_array_get(jobs, 1), "attempt")));
	json_decref(j);

	/* the run of a repository one cannot read does not exist; one that
	 * can read but not write is refused */
	const char *missing = arena_printf(t->arena, "run %lld not found", (long long)run);
	f = pgtest_forge(t, &c.as_sam);
	assert_err(t, run_find(&ref, &f, run, ACT_READ), ERR_NOTFOUND, "not_found", missing);
	f = pgtest_forge(t, &c.anon);
	assert_err(t, run_find(&ref, &f, run, ACT_READ), ERR_NOTFOUND, "not_found", missing);
	f = pgtest_forge(t, &c.as_alice);
	assert_err(t, run_find(&ref, &f, 987654, ACT_READ), ERR_NOTFOUND, "not_found",
		   "run 987654 not found");
	f = pgtest_forge(t, &c.as_rita);
	assert_err(t, run_find(&ref, &f, run, ACT_WRITE), ERR_PERM, "forbidden",
		   "write access to repository 'alice/proj' is required");
	f = pgtest_forge(t, &c.as_wendy);
	assert_int_equal(run_find(&ref, &f, run, ACT_WRITE), 0);
}

static void test_run_cancel(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	int64_t run = run_make(t, c.rid, 1, "push", "queued", true, c.alice);
	int64_t job = job_make(t, run, "build", "queued");
	int64_t wl = workload_make(t, c.rid, run, job, "waiting");
	const char *missing = arena_printf(t->arena, "run %lld not found", (long long)run);
	const char *unchanged = "queued f queued waiting";
#define RUN_STATE                                                                                    \
	pgtest_str(t,                                                                                \
		   "SELECT w.status || ' ' || (CASE WHEN w.cancel_requested THEN 't' ELSE 'f' END) " \
		   "  || ' ' || j.status || ' ' || l.status FROM workflow_runs w JOIN "              \
		   "  workflow_jobs j ON j.run_id = w.id JOIN workloads l ON l.job_id = j.id "       \
		   "WHERE w.id = $1",                                                                \
		   ID(run))

	/* refused: nothing changes */
	assert_err(t, cancel_as(t, &c.as_rita, run), ERR_PERM, "forbidden",
		   "write access to repository 'alice/proj' is required");
	assert_err(t, cancel_as(t, &c.as_sam, run), ERR_NOTFOUND, "not_found", missing);
	assert_err(t, cancel_as(t, &c.anon, run), ERR_NOTFOUND, "not_found", missing);
	assert_err(t, cancel_as(t, &c.alice_ro, run), ERR_PERM, "insufficient_scope",
		   "this token lacks the repo:write scope");
	assert_err(t, cancel_as(t, &c.task, run), ERR_PERM, "forbidden", TASK_MSG);
	assert_err(t, cancel_as(t, &c.as_wendy, 987654), ERR_NOTFOUND, "not_found",
		   "run 987654 not found");
	set_private(t, &c, false);
	assert_err(t, cancel_as(t, &c.anon, run), ERR_AUTH, "unauthorized",
		   "sign in to change repository 'alice/proj'");
	assert_err(t, cancel_as(t, &c.as_sam, run), ERR_PERM, "forbidden",
		   "write access to repository 'alice/proj' is required");
	assert_string_equal(RUN_STATE, unchanged);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM workflow_runs WHERE conclusion IS NOT "
				       "NULL"),
			 0);

	/* a writer cancels: the waiting workload ends at once, and with it
	 * the job and the run */
	assert_int_equal(cancel_as(t, &c.as_wendy, run), 0);
	assert_string_equal(RUN_STATE, "cancelled t cancelled done");
	PGresult *row = pgtest_sql(t,
				   "SELECT w.conclusion, w.finished_at IS NOT NULL, l.result, "
				   "  l.reason FROM workflow_runs w, workloads l "
				   "WHERE w.id = $1 AND l.id = $2",
				   ID(run), ID(wl));
	assert_string_equal(db_val(row, 0, 0), "cancelled by wendy");
	assert_true(db_bool(row, 0, 1));
	assert_string_equal(db_val(row, 0, 2), "cancelled");
	assert_string_equal(db_val(row, 0, 3), "the run was cancelled");
	assert_int_equal(PQtransactionStatus(t->db), PQTRANS_IDLE);

	/* a finished run cannot be cancelled */
	assert_err(t, cancel_as(t, &c.as_alice, run), ERR_CONFLICT, "run_finished",
		   arena_printf(t->arena, "run %lld has already finished (cancelled)",
				(long long)run));
	int64_t done = run_make(t, c.rid, 2, "push", "success", true, c.alice);
	assert_err(t, cancel_as(t, &c.as_adam, done), ERR_CONFLICT, "run_finished",
		   arena_printf(t->arena, "run %lld has already finished (success)",
				(long long)done));
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM workflow_runs WHERE id = $1 AND "
				    "status = 'success' AND NOT cancel_requested",
				    ID(done)),
			 1);

	/* a running workload is told, and the run ends when it reports */
	int64_t live = run_make(t, c.rid, 3, "push", "running", true, c.alice);
	int64_t lj = job_make(t, live, "build", "running");
	int64_t lw = workload_make(t, c.rid, live, lj, "running");
	assert_int_equal(cancel_as(t, &c.as_root, live), 0);
	row = pgtest_sql(t,
			 "SELECT w.status, w.cancel_requested, w.conclusion, l.status, l.cancel "
			 "FROM workflow_runs w, workloads l WHERE w.id = $1 AND l.id = $2",
			 ID(live), ID(lw));
	assert_string_equal(db_val(row, 0, 0), "running");
	assert_true(db_bool(row, 0, 1));
	assert_string_equal(db_val(row, 0, 2), "cancelled by root");
	assert_string_equal(db_val(row, 0, 3), "running");
	assert_true(db_bool(row, 0, 4));
	/* asking again changes nothing */
	assert_int_equal(cancel_as(t, &c.as_alice, live), 0);
	assert_string_equal(pgtest_str(t, "SELECT conclusion FROM workflow_runs WHERE id = $1",
				       ID(live)),
			    "cancelled by root");
#undef RUN_STATE
}

/* run_approve of run_id in alice/proj as who: *out the run's JSON, or
 * NULL and the refusal in t->err. */
static int approve_as(json_t **out, struct pgtest *t, const struct auth *who, int64_t run_id)
{
	const struct repo *r = proj(t, who);
	struct forge f = pgtest_forge(t, who);
	*out = NULL;
	return run_approve(out, &f, r, run_id);
}

static void test_run_approve(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, false);
	int64_t outsider = pgtest_user(t, "olly", false);
	int64_t run = run_make(t, c.rid, 1, "issues", "waiting", false, outsider);
	int64_t job = job_make(t, run, "build", "pending");
	json_t *j = NULL;

	/* who may not */
	assert_err(t, approve_as(&j, t, &c.as_rita, run), ERR_PERM, "forbidden",
		   "write access to repository 'alice/proj' is required");
	assert_err(t, approve_as(&j, t, &c.as_sam, run), ERR_PERM, "forbidden",
		   "write access to repository 'alice/proj' is required");
	assert_err(t, approve_as(&j, t, &c.anon, run), ERR_AUTH, "unauthorized",
		   "sign in to change repository 'alice/proj'");
	assert_err(t, approve_as(&j, t, &c.task, run), ERR_PERM, "forbidden", TASK_MSG);
	assert_err(t, approve_as(&j, t, &c.alice_ro, run), ERR_PERM, "insufficient_scope",
		   "this token lacks the repo:write scope");
	set_private(t, &c, true);
	assert_err(t, approve_as(&j, t, &c.as_sam, run), ERR_NOTFOUND, "not_found",
		   "repository 'alice/proj' not found");
	assert_null(j);
	/* a run of another repository is not found in this one */
	int64_t other = pgtest_repo(t, c.wendy, "mine", false);
	int64_t foreign = run_make(t, other, 1, "issues", "waiting", false, outsider);
	assert_err(t, approve_as(&j, t, &c.as_wendy, foreign), ERR_NOTFOUND, "not_found",
		   arena_printf(t->arena, "run %lld not found in 'alice/proj'", (long long)foreign));
	assert_string_equal(pgtest_str(t, "SELECT string_agg(status, ',' ORDER BY id) FROM "
					  "workflow_runs WHERE approved_by IS NULL"),
			    "waiting,waiting");
	assert_string_equal(pgtest_str(t, "SELECT status FROM workflow_jobs WHERE id = $1", ID(job)),
			    "pending");

	/* runs that need no approval */
	int64_t trusted = run_make(t, c.rid, 2, "push", "queued", true, c.wendy);
	assert_err(t, approve_as(&j, t, &c.as_wendy, trusted), ERR_CONFLICT, "run_trusted",
		   arena_printf(t->arena,
				"run %lld was started by someone with write access and needs no "
				"approval",
				(long long)trusted));
	int64_t plain = run_make(t, c.rid, 3, "issues", "queued", false, outsider);
	assert_err(t, approve_as(&j, t, &c.as_wendy, plain), ERR_CONFLICT, "approval_not_needed",
		   arena_printf(t->arena, "run %lld refers to no secrets and runs without approval",
				(long long)plain));
	int64_t ended = run_make(t, c.rid, 4, "issues", "failure", false, outsider);
	assert_err(t, approve_as(&j, t, &c.as_wendy, ended), ERR_CONFLICT, "run_finished",
		   arena_printf(t->arena, "run %lld has already finished (failure)",
				(long long)ended));
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM workflow_runs WHERE approved_by IS "
				       "NOT NULL"),
			 0);

	/* a writer approves: the run is queued and its first job starts */
	assert_int_equal(approve_as(&j, t, &c.as_wendy, run), 0);
	assert_int_equal(jint(j, "id"), run);
	assert_string_equal(jstr(j, "approved_by"), "wendy");
	assert_int_equal(strlen(jstr(j, "approved_at")), 20);
	assert_string_equal(jstr(j, "actor"), "olly");
	assert_true(json_is_false(json_object_get(j, "trusted")));
	assert_string_equal(jstr(j, "status"), "queued");
	assert_null(json_object_get(j, "jobs"));
	json_decref(j);
	PGresult *row = pgtest_sql(t,
				   "SELECT w.status, w.approved_by, w.approved_at > now() - interval "
				   "  '1 hour', j.status, (SELECT count(*) FROM workloads l WHERE "
				   "  l.job_id = j.id AND l.status = 'waiting') "
				   "FROM workflow_runs w JOIN workflow_jobs j ON j.run_id = w.id "
				   "WHERE w.id = $1",
				   ID(run));
	assert_string_equal(db_val(row, 0, 0), "queued");
	assert_int_equal(db_int(row, 0, 1), c.wendy);
	assert_true(db_bool(row, 0, 2));
	assert_string_equal(db_val(row, 0, 3), "queued");
	assert_int_equal(db_int(row, 0, 4), 1);
	assert_int_equal(PQtransactionStatus(t->db), PQTRANS_IDLE);

	/* once only */
	assert_err(t, approve_as(&j, t, &c.as_alice, run), ERR_CONFLICT, "already_approved",
		   arena_printf(t->arena, "run %lld was already approved by wendy", (long long)run));
	assert_int_equal(pgtest_int(t, "SELECT approved_by FROM workflow_runs WHERE id = $1",
				    ID(run)),
			 c.wendy);
}

/* ---- workflow_dispatch ---- */

/* Writes files (path, text pairs) as the one commit of branch main of
 * repository repo_id, a new repository on disk, and its row in branches;
 * returns the commit's id (arena). */
static const char *commit_files(struct pgtest *t, int64_t repo_id, const char *const *files, size_t n)
{
	git_repository *g = pgtest_git(t, repo_id);
	const char *sha = pgtest_commit(t, g, NULL, NULL, files, n, "workflows\n", 1700000000);
	pgtest_ref_set(g, "main", sha);
	git_repository_free(g);
	pgtest_branch_row(t, repo_id, "main", sha);
	return sha;
}

static const char DISPATCH_YAML[] = "on:\n"
				    "  workflow_dispatch:\n"
				    "    inputs:\n"
				    "      target: {type: choice, options: [staging, prod], default: staging}\n"
				    "      dry: {type: boolean, default: false}\n"
				    "      count: {type: number, required: true}\n"
				    "jobs:\n"
				    "  j:\n"
				    "    steps:\n"
				    "      - run: echo ${{ inputs.target }}\n";

static const char PUSH_YAML[] = "on: push\n"
				"jobs:\n"
				"  j:\n"
				"    steps:\n"
				"      - run: \"true\"\n";

/* run_dispatch of file on alice/proj as who with ref and inputs (JSON
 * text or NULL); *out the answer. */
static int dispatch_as(json_t **out, struct pgtest *t, const struct auth *who, const char *file,
		       const char *ref, const char *inputs)
{
	const struct repo *r = proj(t, who);
	struct forge f = pgtest_forge(t, who);
	json_t *in = inputs ? json_loads(inputs, 0, NULL) : NULL;
	if (inputs)
		assert_non_null(in);
	*out = NULL;
	int rc = run_dispatch(out, &f, r, file, ref, in);
	json_decref(in);
	return rc;
}

static void test_run_dispatch(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	const char *files[] = {
		".plue/workflows/dispatch.yaml",
		DISPATCH_YAML,
		".plue/workflows/push.yml",
		PUSH_YAML,
		"README.md",
		"hello\n",
	};
	const char *sha = commit_files(t, c.rid, files, NELEM(files));
	json_t *j = NULL;

	/* a writer starts it: one workflow_dispatch event in the outbox */
	assert_int_equal(dispatch_as(&j, t, &c.as_wendy, "dispatch.yaml", "main",
				     "{\"target\":\"prod\",\"dry\":\"true\",\"count\":3}"),
			 0);
	int64_t ev = pgtest_int(t, "SELECT id FROM events");
	assert_int_equal(jint(j, "event_id"), ev);
	assert_string_equal(jstr(j, "ref"), "refs/heads/main");
	assert_string_equal(jstr(j, "sha"), sha);
	assert_string_equal(jtext(t, json_object_get(j, "inputs")),
			    "{\"count\":3,\"dry\":true,\"target\":\"prod\"}");
	json_decref(j);
	PGresult *row = pgtest_sql(t,
				   "SELECT repo_id, type, actor_id, payload::text, dispatched_at IS NULL "
				   "FROM events WHERE id = $1",
				   ID(ev));
	assert_int_equal(db_int(row, 0, 0), c.rid);
	assert_string_equal(db_val(row, 0, 1), "workflow_dispatch");
	assert_int_equal(db_int(row, 0, 2), c.wendy);
	json_t *payload = json_loads(db_val(row, 0, 3), 0, NULL);
	assert_string_equal(jtext(t, payload),
			    arena_printf(t->arena,
					 "{\"actor\":\"wendy\",\"inputs\":{\"count\":3,\"dry\":true,"
					 "\"target\":\"prod\"},\"ref\":\"refs/heads/main\","
					 "\"sha\":\"%s\",\"workflow\":\".plue/workflows/"
					 "dispatch.yaml\"}",
					 sha));
	json_decref(payload);
	assert_true(db_bool(row, 0, 4));
	assert_int_equal(PQtransactionStatus(t->db), PQTRANS_IDLE);

	/* the default branch, a full ref name, defaults filled in */
	assert_int_equal(dispatch_as(&j, t, &c.as_alice, "dispatch.yaml", NULL, "{\"count\":\"7\"}"),
			 0);
	assert_string_equal(jtext(t, json_object_get(j, "inputs")),
			    "{\"count\":7,\"dry\":false,\"target\":\"staging\"}");
	json_decref(j);
	assert_int_equal(dispatch_as(&j, t, &c.as_adam, "dispatch.yaml", "refs/heads/main",
				     "{\"count\":1}"),
			 0);
	assert_string_equal(jstr(j, "ref"), "refs/heads/main");
	json_decref(j);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE type = "
				       "'workflow_dispatch'"),
			 3);
	assert_string_equal(pgtest_str(t, "SELECT string_agg(actor_id::text, ',' ORDER BY id) FROM "
					  "events"),
			    arena_printf(t->arena, "%lld,%lld,%lld", (long long)c.wendy,
					 (long long)c.alice, (long long)c.adam));

	/* refusals, each writing no event */
	static const struct {
		const char *file, *ref, *inputs;
		int code;
		const char *slug, *msg;
	} bad[] = {
		{ "README.md", NULL, NULL, ERR_INVALID, "invalid_workflow",
		  "'README.md' is not a workflow file name (NAME.yaml or NAME.yml)" },
		{ "../x.yaml", NULL, NULL, ERR_INVALID, "invalid_workflow",
		  "'../x.yaml' is not a workflow file name (NAME.yaml or NAME.yml)" },
		{ ".yaml", NULL, NULL, ERR_INVALID, "invalid_workflow",
		  "'.yaml' is not a workflow file name (NAME.yaml or NAME.yml)" },
		{ "dispatch.yaml", "refs/tags/v1", NULL, ERR_INVALID, "invalid_ref",
		  "ref 'refs/tags/v1' is not a branch" },
		{ "dispatch.yaml", "nobranch", NULL, ERR_NOTFOUND, "ref_not_found",
		  "branch 'nobranch' not found" },
		{ "nope.yaml", "main", NULL, ERR_NOTFOUND, "workflow_not_found",
		  "workflow 'nope.yaml' not found on branch 'main'" },
		{ "push.yml", "main", NULL, ERR_INVALID, "not_dispatchable",
		  "workflow 'push.yml' has no workflow_dispatch trigger" },
		{ "dispatch.yaml", "main", "{\"target\":\"moon\",\"count\":1}", ERR_INVALID,
		  "invalid_input", "input 'target' must be one of: staging, prod" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_err(t,
			   dispatch_as(&j, t, &c.as_wendy, bad[i].file, bad[i].ref, bad[i].inputs),
			   bad[i].code, bad[i].slug, bad[i].msg);
		assert_null(j);
	}
	assert_int_equal(dispatch_as(&j, t, &c.as_wendy, "dispatch.yaml", "main", "{}"), ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_input");
	assert_non_null(strstr(t->err.msg, "count"));

	/* who may not: checked before the file name */
	assert_err(t, dispatch_as(&j, t, &c.as_rita, "README.md", NULL, NULL), ERR_PERM,
		   "forbidden", "write access to repository 'alice/proj' is required");
	assert_err(t, dispatch_as(&j, t, &c.as_sam, "dispatch.yaml", NULL, "{\"count\":1}"),
		   ERR_NOTFOUND, "not_found", "repository 'alice/proj' not found");
	assert_err(t, dispatch_as(&j, t, &c.task, "dispatch.yaml", NULL, "{\"count\":1}"), ERR_PERM,
		   "forbidden", TASK_MSG);
	assert_err(t, dispatch_as(&j, t, &c.alice_ro, "dispatch.yaml", NULL, "{\"count\":1}"),
		   ERR_PERM, "insufficient_scope", "this token lacks the repo:write scope");
	set_private(t, &c, false);
	assert_err(t, dispatch_as(&j, t, &c.anon, "dispatch.yaml", NULL, "{\"count\":1}"), ERR_AUTH,
		   "unauthorized", "sign in to change repository 'alice/proj'");
	assert_err(t, dispatch_as(&j, t, &c.as_sam, "dispatch.yaml", NULL, "{\"count\":1}"),
		   ERR_PERM, "forbidden", "write access to repository 'alice/proj' is required");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events"), 3);
	assert_int_equal(PQtransactionStatus(t->db), PQTRANS_IDLE);
}

/* ---- housekeeping ---- */

static void test_maintenance(void **state)
{
	struct pgtest *t = *state;
	struct cast c;
	cast_make(&c, t, true);
	json_t *j = NULL;

	/* site administrators only, even the owner is refused */
	const struct auth *refused[] = { &c.as_alice, &c.as_adam, &c.as_wendy, &c.as_rita };
	for (size_t i = 0; i < NELEM(refused); i++) {
		struct forge f = pgtest_forge(t, refused[i]);
		assert_err(t, repo_maintenance_get(&j, &f, proj(t, refused[i])), ERR_PERM,
			   "admin_required",
			   "the maintenance of 'alice/proj' is shown to site administrators only");
		assert_null(j);
	}
	struct forge f = pgtest_forge(t, &c.as_sam);
	assert_err(t, repo_maintenance_get(&j, &f, proj(t, &c.as_sam)), ERR_NOTFOUND, "not_found",
		   "repository 'alice/proj' not found");
	f = pgtest_forge(t, &c.anon);
	assert_err(t, repo_maintenance_get(&j, &f, proj(t, &c.anon)), ERR_NOTFOUND, "not_found",
		   "repository 'alice/proj' not found");
	set_private(t, &c, false);
	f = pgtest_forge(t, &c.anon);
	assert_int_equal(repo_maintenance_get(&j, &f, proj(t, &c.anon)), ERR_PERM);
	assert_string_equal(t->err.slug, "admin_required");
	f = pgtest_forge(t, &c.task);
	assert_int_equal(repo_maintenance_get(&j, &f, proj(t, &c.task)), ERR_PERM);
	assert_string_equal(t->err.slug, "admin_required");

	/* never maintained: zeros, no last run (no directory on disk either) */
	f = pgtest_forge(t, &c.as_root);
	assert_int_equal(repo_maintenance_get(&j, &f, proj(t, &c.as_root)), 0);
	assert_string_equal(jtext(t, j),
			    "{\"current\":{\"bitmap\":false,\"commit_graph\":false,"
			    "\"cruft_packs\":0,\"loose_objects\":0,\"loose_refs\":0,"
			    "\"multi_pack_index\":false,\"pack_bytes\":0,\"packs\":0},"
			    "\"failures\":0,\"last_full_repack_at\":null,\"last_push_at\":null,"
			    "\"last_run\":null,\"pending_pushes\":0,\"repository\":\"alice/proj\","
			    "\"runs\":0}");
	json_decref(j);

	/* what is on disk now: a commit's three loose objects and its branch */
	const char *files[] = { "README.md", "hello\n" };
	commit_files(t, c.rid, files, NELEM(files));
	f = pgtest_forge(t, &c.as_root);
	assert_int_equal(repo_maintenance_get(&j, &f, proj(t, &c.as_root)), 0);
	assert_string_equal(jtext(t, json_object_get(j, "current")),
			    "{\"bitmap\":false,\"commit_graph\":false,\"cruft_packs\":0,"
			    "\"loose_objects\":3,\"loose_refs\":1,\"multi_pack_index\":false,"
			    "\"pack_bytes\":0,\"packs\":0}");
	json_decref(j);

	/* after a run and two pushes */
	pgtest_sql(t,
		   "INSERT INTO repo_maintenance (repo_id, pending_pushes, first_push_at, "
		   "  last_push_at, last_trigger, last_started_at, last_finished_at, last_status, "
		   "  last_tasks, last_duration_ms, last_before, last_after, last_full_at, runs, "
		   "  failures) VALUES ($1, 2, '2025-02-01 00:00:00+00', '2025-02-01 00:00:05+00', "
		   "  'push', '2025-01-31 10:00:00+00', '2025-01-31 10:00:01.25+00', 'ok', "
		   "  '{geometric,commit-graph}', 1250, '{\"packs\": 3}', '{\"packs\": 1}', "
		   "  '2025-01-01 00:00:00+00', 7, 1)",
		   ID(c.rid));
	f = pgtest_forge(t, &c.as_root);
	assert_int_equal(repo_maintenance_get(&j, &f, proj(t, &c.as_root)), 0);
	assert_int_equal(jint(j, "pending_pushes"), 2);
	assert_string_equal(jstr(j, "last_push_at"), "2025-02-01T00:00:05Z");
	assert_string_equal(jstr(j, "last_full_repack_at"), "2025-01-01T00:00:00Z");
	assert_int_equal(jint(j, "runs"), 7);
	assert_int_equal(jint(j, "failures"), 1);
	assert_string_equal(jstr(j, "repository"), "alice/proj");
	assert_string_equal(jtext(t, json_object_get(j, "last_run")),
			    "{\"after\":{\"packs\":1},\"before\":{\"packs\":3},\"duration_ms\":1250,"
			    "\"error\":null,\"finished_at\":\"2025-01-31T10:00:01Z\","
			    "\"started_at\":\"2025-01-31T10:00:00Z\",\"status\":\"ok\","
			    "\"tasks\":[\"geometric\",\"commit-graph\"],\"trigger\":\"push\"}");
	json_decref(j);
}

int main(void)
{
	git_libgit2_init();
	/* a fixed server key: secrets and hook secrets are sealed under it */
	for (size_t i = 0; i < sizeof(cfg.server_key); i++)
		cfg.server_key[i] = (unsigned char)(i * 7 + 1);
	const struct CMUnitTest tests[] = {
		PGTEST(test_secret_who),         PGTEST(test_secret_sealed),
		PGTEST(test_secret_validation),  PGTEST(test_hook_who),
		PGTEST(test_hook_create),        PGTEST(test_hook_validation),
		PGTEST(test_hook_update_delete), PGTEST(test_hook_deliveries),
		PGTEST(test_run_list),           PGTEST(test_run_find_get),
		PGTEST(test_run_log_text),       PGTEST(test_run_cancel),
		PGTEST(test_run_approve),        PGTEST(test_run_dispatch),
		PGTEST(test_maintenance),
	};
	int rc = cmocka_run_group_tests(tests, pgtest_start, pgtest_stop);
	git_libgit2_shutdown();
	return rc;
}
