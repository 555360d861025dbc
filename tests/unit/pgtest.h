/* pgtest.h — a throwaway PostgreSQL for a unit test binary: one private
 * cluster per suite, a fresh migrated database per test, and fixture
 * helpers, so that domain functions (src/forge/) are tested against the
 * real schema and real transactions, nothing mocked.
 *
 * The cluster is the one `plue serve` embeds (db/embedded.c:
 * pg_embedded_start): initdb into a new temporary directory ($TMPDIR or
 * /tmp), postgres listening only on a Unix socket inside it, run as the
 * unprivileged `plue` system user when the test runs as root, fsync off.
 * The migrations are applied once to the database `plue`, which then is
 * the template every test's database is copied from (CREATE DATABASE ...
 * TEMPLATE, about 0.1 s a test), so tests never see each other's rows
 * and every test starts from the empty schema.
 * A suite costs about 2 s to start (initdb, postgres, migrations).
 * The cluster is stopped and the directory removed by the group teardown,
 * and by an atexit handler when the suite ends another way; a failing
 * assertion ends only its test (cmocka still runs the teardowns).
 *
 * Use:
 *
 *	static void test_x(void **state)
 *	{
 *		struct pgtest *t = *state;
 *		int64_t alice = pgtest_user(t, "alice", false);
 *		int64_t rid = pgtest_repo(t, alice, "proj", false);
 *		struct auth who = pgtest_who(alice, "alice");
 *		struct forge f = pgtest_forge(t, &who);
 *		...
 *		assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE repo_id = $1",
 *					    arena_int(t->arena, rid)), 1);
 *	}
 *	int main(void)
 *	{
 *		const struct CMUnitTest tests[] = { PGTEST(test_x) };
 *		return cmocka_run_group_tests(tests, pgtest_start, pgtest_stop);
 *	}
 *
 * Include it after <cmocka.h> (and its prerequisites). Everything here is
 * static: one test binary, one cluster. */
#ifndef PLUE_TESTS_PGTEST_H
#define PLUE_TESTS_PGTEST_H

#include <errno.h>
#include <ftw.h>
#include <git2.h>
#include <limits.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/identity.h"
#include "base/arena.h"
#include "base/config.h"
#include "base/err.h"
#include "base/log.h"
#include "db/db.h"
#include "forge/forge.h"
#include "git/objects.h"
#include "git/store.h"

/* One test's database. */
struct pgtest {
	PGconn *db;          /* autocommit connection to the test's own database (UTC) */
	struct arena *arena; /* freed after the test: results, strings */
	struct err err;      /* the error slot pgtest_forge hands out */
	char dbname[32];     /* "t1", "t2"...: db_conninfo() names it, so
				* db_connect() (or pgtest_connect) opens more
				* connections to it (threads, LISTEN) */
};

/* The suite's cluster. */
static struct {
	char dir[128]; /* the temporary directory: pg/, postgres.log, repos/ */
	PGconn *admin; /* to database postgres, for CREATE/DROP DATABASE */
	int ntests;
	bool started;
} pgtest_cluster;

/* rm -rf of the temporary directory (files belong to the plue user when
 * we are root, which root may remove). */
static inline int pgtest_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Stops the cluster and removes its directory; safe to call twice (the
 * group teardown and then atexit). */
static inline void pgtest_cleanup(void)
{
	if (pgtest_cluster.admin) {
		PQfinish(pgtest_cluster.admin);
		pgtest_cluster.admin = NULL;
	}
	if (pgtest_cluster.started) {
		pg_embedded_stop();
		pgtest_cluster.started = false;
	}
	if (pgtest_cluster.dir[0]) {
		nftw(pgtest_cluster.dir, pgtest_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		pgtest_cluster.dir[0] = '\0';
	}
}

/* cmocka group setup: starts the suite's cluster in a new temporary
 * directory, applies the migrations to the template database and sets
 * cfg.data_abs to the directory (so repository paths, repo->disk_path,
 * lie inside it: <dir>/repos/ID.git). Returns 0, or -1 with a message on
 * stderr (cmocka then skips the group). */
static inline int pgtest_start(void **state)
{
	(void)state;
	int rc = -1;
	char *conninfo = NULL;
	PGconn *c = NULL;
	struct err e = { 0 };
	const char *tmp = getenv("TMPDIR");

	log_set_level(LOG_WARN);
	setenv("PLUE_PG_FSYNC", "off", 1);
	atexit(pgtest_cleanup);
	snprintf(pgtest_cluster.dir, sizeof(pgtest_cluster.dir), "%s/plue-pgtest.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 60 ? tmp : "/tmp");
	if (!mkdtemp(pgtest_cluster.dir)) {
		fprintf(stderr, "pgtest: cannot create '%s': %s\n", pgtest_cluster.dir,
			strerror(errno));
		pgtest_cluster.dir[0] = '\0';
		goto done;
	}
	cfg.data_abs = pgtest_cluster.dir;
	if (pg_embedded_start(pgtest_cluster.dir, "plue", &conninfo, &e)) {
		fprintf(stderr, "pgtest: %s (log: %s/postgres.log)\n", e.msg, pgtest_cluster.dir);
		goto done;
	}
	pgtest_cluster.started = true;
	db_set_conninfo(conninfo);
	if (!(c = db_connect(&e)) || db_migrate(c, &e)) {
		fprintf(stderr, "pgtest: %s\n", e.msg);
		goto done;
	}
	char admin[256];
	snprintf(admin, sizeof(admin), "host=%s/pg dbname=postgres user=plue", pgtest_cluster.dir);
	pgtest_cluster.admin = PQconnectdb(admin);
	if (PQstatus(pgtest_cluster.admin) != CONNECTION_OK) {
		fprintf(stderr, "pgtest: %s", PQerrorMessage(pgtest_cluster.admin));
		goto done;
	}
	rc = 0;
done:
	if (c)
		PQfinish(c); /* a template must have no connections */
	free(conninfo);
	if (rc)
		pgtest_cleanup();
	return rc;
}

/* cmocka group teardown: stops the cluster and removes its directory. */
static inline int pgtest_stop(void **state)
{
	(void)state;
	pgtest_cleanup();
	return 0;
}

/* cmocka per-test setup: a new database copied from the migrated
 * template, an autocommit connection to it and an arena, as the struct
 * pgtest *state. db_conninfo() names the new database. */
static inline int pgtest_db_setup(void **state)
{
	struct pgtest *t = calloc(1, sizeof(*t));
	struct err e = { 0 };
	snprintf(t->dbname, sizeof(t->dbname), "t%d", ++pgtest_cluster.ntests);
	char sql[96];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE plue STRATEGY FILE_COPY", t->dbname);
	PGresult *r = PQexec(pgtest_cluster.admin, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		fprintf(stderr, "pgtest: %s", PQerrorMessage(pgtest_cluster.admin));
		free(t);
		return -1;
	}
	char ci[256];
	snprintf(ci, sizeof(ci), "host=%s/pg dbname=%s user=plue", pgtest_cluster.dir, t->dbname);
	db_set_conninfo(ci);
	if (!(t->db = db_connect(&e))) {
		fprintf(stderr, "pgtest: %s\n", e.msg);
		free(t);
		return -1;
	}
	t->arena = arena_new();
	*state = t;
	return 0;
}

/* cmocka per-test teardown: closes the connection, frees the arena and
 * drops the test's database (WITH FORCE: connections a failed test left
 * open do not keep it) and the repositories it wrote on disk. */
static inline int pgtest_db_teardown(void **state)
{
	struct pgtest *t = *state;
	if (!t)
		return 0;
	arena_free(t->arena);
	PQfinish(t->db);
	char sql[96];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->dbname);
	PGresult *r = PQexec(pgtest_cluster.admin, sql);
	PQclear(r);
	/* repositories on disk are numbered by the database: the next test's
	 * repository 1 must not find this one's, on disk or among the handles
	 * objects_repo_open keeps */
	char repos[PATH_MAX];
	snprintf(repos, sizeof(repos), "%s/repos", pgtest_cluster.dir);
	nftw(repos, pgtest_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	objects_thread_release();
	free(t);
	*state = NULL;
	return 0;
}

/* A test with a fresh database: an entry of the CMUnitTest array. */
#define PGTEST(f) cmocka_unit_test_setup_teardown(f, pgtest_db_setup, pgtest_db_teardown)

/* Another connection to the test's database (UTC, autocommit), for a
 * second transaction or a LISTEN. The caller PQfinish()es it; fails the
 * test when it cannot connect. A thread uses db_connect() instead (a
 * cmocka assertion must not fail outside the test's thread). */
static inline PGconn *pgtest_connect(struct pgtest *t)
{
	(void)t;
	struct err e = { 0 };
	PGconn *c = db_connect(&e);
	if (!c)
		fail_msg("pgtest: %s", e.msg);
	return c;
}

/* Runs sql with n parameters on t->db; the result lives in t->arena. A
 * query that fails fails the test at the caller's line. */
static inline PGresult *pgtest_query_at(struct pgtest *t, const char *file, int line,
					const char *sql, int n, const char *const *params)
{
	struct err e = { 0 };
	PGresult *res = db_query(t->db, t->arena, &e, sql, n, params);
	if (!res) {
		print_error("pgtest: %s: %s (%s)\n", sql, e.msg, PQerrorMessage(t->db));
		_fail(file, line);
	}
	return res;
}

/* The value of the one row, first column, or the test fails. */
static inline const char *pgtest_value_at(struct pgtest *t, const char *file, int line,
					  const char *sql, int n, const char *const *params)
{
	PGresult *res = pgtest_query_at(t, file, line, sql, n, params);
	if (PQntuples(res) != 1 || PQnfields(res) < 1) {
		print_error("pgtest: %s: %d rows, not one\n", sql, PQntuples(res));
		_fail(file, line);
	}
	return db_val(res, 0, 0);
}

/* The parameters of a query as an array and their count (behind a
 * leading NULL, so that a query may have none). */
#define PGTEST_PARAMS(...) (((const char *[]){ NULL, ##__VA_ARGS__ }) + 1)
#define PGTEST_NPARAMS(...)                                                                        \
	((int)(sizeof((const char *[]){ NULL, ##__VA_ARGS__ }) / sizeof(char *)) - 1)

/* pgtest_sql(t, sql, params...): runs sql (a literal, $n parameters as
 * text, NULL for SQL NULL) on t->db and returns the result (t->arena
 * owns it); fails the test if the query fails. */
#define pgtest_sql(t, sql, ...)                                                                    \
	pgtest_query_at((t), __FILE__, __LINE__, sql, PGTEST_NPARAMS(__VA_ARGS__),                 \
			PGTEST_PARAMS(__VA_ARGS__))
/* pgtest_str(t, sql, params...): the first column of the query's only row
 * (NULL when SQL NULL); fails the test unless exactly one row comes back. */
#define pgtest_str(t, sql, ...)                                                                    \
	pgtest_value_at((t), __FILE__, __LINE__, sql, PGTEST_NPARAMS(__VA_ARGS__),                 \
			PGTEST_PARAMS(__VA_ARGS__))
/* pgtest_int(t, sql, params...): the same as an integer (0 when NULL):
 * counts, ids. */
#define pgtest_int(t, sql, ...) strtoll(pgtest_str(t, sql, ##__VA_ARGS__) ?: "0", NULL, 10)

/* ID(v): the integer v as the text of a query parameter (t->arena); needs
 * the test's struct pgtest *t in scope. */
#define ID(v) arena_int(t->arena, (long long)(v))

/* assert_err(t, rc, code, slug, msg): a refusal, whole: the code returned
 * and the one in t->err, with its slug and message. */
#define assert_err(t, rc, want_code, want_slug, want_msg)                                          \
	do {                                                                                       \
		assert_int_equal((rc), (want_code));                                               \
		assert_int_equal((t)->err.code, (want_code));                                      \
		assert_string_equal((t)->err.slug, (want_slug));                                   \
		assert_string_equal((t)->err.msg, (want_msg));                                     \
	} while (0)

/* ---- fixtures (plain INSERTs: no domain rule runs) ---- */

/* A user named name (site admin or not); returns its id. */
static inline int64_t pgtest_user(struct pgtest *t, const char *name, bool is_admin)
{
	return pgtest_int(t, "INSERT INTO users (username, is_admin) VALUES ($1, $2) RETURNING id",
			  name, is_admin ? "true" : "false");
}

/* A repository of owner_id named name, public or private, issues open to
 * readers (the default); returns its id. */
static inline int64_t pgtest_repo(struct pgtest *t, int64_t owner_id, const char *name,
				  bool is_private)
{
	return pgtest_int(t,
			  "INSERT INTO repositories (owner_id, name, is_private) VALUES ($1, $2, $3) "
			  "RETURNING id",
			  arena_int(t->arena, (long long)owner_id), name,
			  is_private ? "true" : "false");
}

/* Makes user_id a collaborator of repo_id with role "read", "write" or
 * "admin". */
static inline void pgtest_collaborator(struct pgtest *t, int64_t repo_id, int64_t user_id,
				       const char *role)
{
	pgtest_sql(t, "INSERT INTO collaborators (repo_id, user_id, role) VALUES ($1, $2, $3)",
		   arena_int(t->arena, (long long)repo_id), arena_int(t->arena, (long long)user_id),
		   role);
}

/* The identity of a signed-in user (a browser session: every scope);
 * user_id 0 and name NULL: anonymous. Adjust .via/.scopes for tokens. */
static inline struct auth pgtest_who(int64_t user_id, const char *name)
{
	return (struct auth){
		.via = user_id ? AUTH_SESSION : AUTH_NONE,
		.user_id = user_id,
		.username = name,
		.scopes = user_id ? SCOPE_ALL : 0,
	};
}

/* A domain context acting as *who on t->db, with t->arena and t->err
 * (cleared: err_set never overwrites an error already set, so take a new
 * context, or err_clear(&t->err), before each call expected to fail). */
static inline struct forge pgtest_forge(struct pgtest *t, const struct auth *who)
{
	err_clear(&t->err);
	return (struct forge){ .db = t->db, .arena = t->arena, .err = &t->err, .who = who };
}

/* Loads owner/name as who sees it (repo_load), or fails the test. */
static inline const struct repo *pgtest_repo_load(struct pgtest *t, const struct auth *who,
						  const char *owner, const char *name)
{
	struct forge f = pgtest_forge(t, who);
	struct repo *r = NULL;
	if (repo_load(&r, &f, owner, name))
		fail_msg("pgtest: repo_load '%s/%s': %s", owner, name, t->err.msg);
	return r;
}

/* ---- repositories on disk (the suite calls git_libgit2_init) ---- */

/* Creates repository repo_id on disk as the server does
 * (repo_store_create: bare, HEAD -> refs/heads/main) and opens it; the
 * caller git_repository_free()s the handle. The test's teardown removes
 * the directory. */
static inline git_repository *pgtest_git(struct pgtest *t, int64_t repo_id)
{
	struct err e = { 0 };
	git_repository *g = NULL;
	if (repo_store_create(repo_id, "main", &e))
		fail_msg("pgtest: %s", e.msg);
	assert_int_equal(git_repository_open(&g, repo_store_path(t->arena, repo_id)), 0);
	return g;
}

/* A commit of the files of parent (NULL: none) changed by files (n
 * strings: path, text pairs; a path may name directories; text NULL
 * removes the path), with parents parent and parent2 (NULL: none), by
 * alice at time when; moves no ref. Returns its id (t->arena). */
static inline const char *pgtest_commit(struct pgtest *t, git_repository *g, const char *parent,
					const char *parent2, const char *const *files, size_t n,
					const char *msg, int64_t when)
{
	git_commit *parents[2] = { NULL, NULL };
	git_tree *tree = NULL;
	git_index *idx = NULL;
	git_signature *sig = NULL;
	git_oid oid, tree_id;
	size_t np = 0;
	const char *ps[2] = { parent, parent2 };
	for (size_t i = 0; i < 2; i++) {
		if (!ps[i])
			continue;
		assert_int_equal(git_oid_fromstr(&oid, ps[i]), 0);
		assert_int_equal(git_commit_lookup(&parents[np++], g, &oid), 0);
	}
	assert_int_equal(git_index_new(&idx), 0);
	if (np) {
		assert_int_equal(git_commit_tree(&tree, parents[0]), 0);
		assert_int_equal(git_index_read_tree(idx, tree), 0);
		git_tree_free(tree);
	}
	for (size_t i = 0; i < n; i += 2) {
		if (!files[i + 1]) {
			assert_int_equal(git_index_remove(idx, files[i], 0), 0);
			continue;
		}
		assert_int_equal(git_blob_create_from_buffer(&oid, g, files[i + 1],
							     strlen(files[i + 1])),
				 0);
		git_index_entry e = { .mode = GIT_FILEMODE_BLOB, .id = oid, .path = files[i] };
		assert_int_equal(git_index_add(idx, &e), 0);
	}
	assert_int_equal(git_index_write_tree_to(&tree_id, idx, g), 0);
	assert_int_equal(git_tree_lookup(&tree, g, &tree_id), 0);
	assert_int_equal(git_signature_new(&sig, "alice", "alice@example.com", when, 0), 0);
	assert_int_equal(git_commit_create(&oid, g, NULL, sig, sig, NULL, msg, tree, np,
					   (const git_commit **)parents),
			 0);
	for (size_t i = 0; i < np; i++)
		git_commit_free(parents[i]);
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	return arena_strdup(t->arena, git_oid_tostr_s(&oid));
}

/* Points refs/heads/branch at sha on disk only (the branches row is
 * pgtest_branch_row's, or the code under test's). */
static inline void pgtest_ref_set(git_repository *g, const char *branch, const char *sha)
{
	git_reference *r = NULL;
	git_oid oid;
	char name[300];
	snprintf(name, sizeof(name), "refs/heads/%s", branch);
	assert_int_equal(git_oid_fromstr(&oid, sha), 0);
	assert_int_equal(git_reference_create(&r, g, name, &oid, 1, NULL), 0);
	git_reference_free(r);
}

/* Writes (or moves) the branches row of repo_id's branch name to sha. */
static inline void pgtest_branch_row(struct pgtest *t, int64_t repo_id, const char *name,
				     const char *sha)
{
	pgtest_sql(t,
		   "INSERT INTO branches (repo_id, name, commit_sha) VALUES ($1, $2, $3) "
		   "ON CONFLICT (repo_id, name) DO UPDATE SET commit_sha = EXCLUDED.commit_sha",
		   ID(repo_id), name, sha);
}

#endif
