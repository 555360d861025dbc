/* migrate.c — applies db/migrations/NNNN_name.sql (compiled into the
 * binary by the Makefile) in order, each in its own transaction, recording
 * the applied set in schema_migrations. */
#include "db/db.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

struct migration {
	const char *name;
	const char *sql;
};
extern const struct migration plue_migrations[]; /* generated; {NULL,NULL}-terminated */

int db_migrate(PGconn *c, struct err *e)
{
	int rc = 0;
	PGresult *r = PQexec(c, "SELECT pg_advisory_lock(7270001);"
				"CREATE TABLE IF NOT EXISTS schema_migrations ("
				" version text PRIMARY KEY,"
				" applied_at timestamptz NOT NULL DEFAULT now())");
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = err_set(e, ERR_INTERNAL, "migrate", "cannot prepare migrations: %s",
			     PQerrorMessage(c));
		PQclear(r);
		goto done;
	}
	PQclear(r);
	for (const struct migration *m = plue_migrations; m->name; m++) {
		const char *p[1] = { m->name };
		r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
				 p, NULL, NULL, 0);
		bool applied = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		PQclear(r);
		if (applied)
			continue;
		log_info("applying migration %s", m->name);
		r = PQexec(c, "BEGIN");
		PQclear(r);
		r = PQexec(c, m->sql);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
			  PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok) {
			rc = err_set(e, ERR_INTERNAL, "migrate", "migration '%s' failed: %s",
				     m->name, PQerrorMessage(c));
			PQclear(r);
			r = PQexec(c, "ROLLBACK");
			PQclear(r);
			goto done;
		}
		PQclear(r);
		r = PQexecParams(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL,
				 p, NULL, NULL, 0);
		PQclear(r);
		r = PQexec(c, "COMMIT");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = err_set(e, ERR_INTERNAL, "migrate", "cannot commit migration '%s': %s",
				     m->name, PQerrorMessage(c));
		PQclear(r);
		if (rc)
			goto done;
	}
done:
	r = PQexec(c, "SELECT pg_advisory_unlock(7270001)");
	PQclear(r);
	return rc;
}
