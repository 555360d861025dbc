/* testdb.h — a throwaway PostgreSQL for a unit test suite: a private
 * cluster in a temporary directory (or PLUE_DATABASE_URL when set), with
 * the migrations applied, started by the suite's setup and removed by its
 * teardown. Header-only: each unit test is one translation unit. */
#ifndef PLUE_TESTDB_H
#define PLUE_TESTDB_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"

static char testdb_dir[] = "/tmp/plue-testdb.XXXXXX";
static bool testdb_embedded;

/* Starts the database and connects to it: the connection into *out
 * (the caller's until testdb_stop). 0, or -1 with a message on stderr. */
static int testdb_start(PGconn **out)
{
	struct err e = { 0 };
	const char *url = getenv("PLUE_DATABASE_URL");
	if (url && *url) {
		db_set_conninfo(url);
	} else {
		char *ci = NULL;
		if (!mkdtemp(testdb_dir) || chmod(testdb_dir, 0755) ||
		    pg_embedded_start(testdb_dir, "plue", &ci, &e)) {
			fprintf(stderr, "cannot start PostgreSQL: %s\n", e.msg);
			return -1;
		}
		testdb_embedded = true;
		db_set_conninfo(ci);
		free(ci);
	}
	PGconn *db = db_connect(&e);
	if (!db || db_migrate(db, &e)) {
		fprintf(stderr, "database: %s\n", e.msg);
		if (db)
			PQfinish(db);
		return -1;
	}
	*out = db;
	return 0;
}

/* Removes a directory tree (rm -rf, by argv). */
static void testdb_rm_tree(const char *dir)
{
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };
	pid_t p = fork();
	if (p == 0) {
		execvp("rm", argv);
		_exit(127);
	}
	waitpid(p, NULL, 0);
}

/* Closes db (may be NULL) and stops and removes the private cluster. */
static void testdb_stop(PGconn *db)
{
	if (db)
		PQfinish(db);
	if (testdb_embedded) {
		pg_embedded_stop();
		testdb_rm_tree(testdb_dir);
	}
}

#endif
