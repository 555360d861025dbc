/* db.c — parameterised queries and transactions over libpq. */
#include "db/db.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static char *conninfo;

void db_set_conninfo(const char *ci)
{
	free(conninfo);
	conninfo = xstrdup(ci);
}

const char *db_conninfo(void)
{
	return conninfo ? conninfo : "";
}

PGconn *db_connect(struct err *e)
{
	PGconn *c = PQconnectdb(db_conninfo());
	if (PQstatus(c) != CONNECTION_OK) {
		err_set(e, ERR_UNAVAILABLE, "database_unavailable",
			"cannot connect to the database: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'");
	PQclear(r);
	return c;
}

PGconn *db_reconnect(PGconn *c, const char *listen, const char *who)
{
	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	if (c)
		PQfinish(c);
	struct err e = { 0 };
	c = db_connect(&e);
	if (!c) {
		log_error("%s: %s", who, e.msg);
		return NULL;
	}
	if (listen) {
		PGresult *r = PQexec(c, listen);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		if (!ok) {
			log_error("%s: LISTEN failed: %s", who, PQerrorMessage(c));
			PQfinish(c);
			return NULL;
		}
	}
	return c;
}

int db_notifies(PGconn *c, void (*fn)(void *ctx, PGnotify *n), void *ctx)
{
	if (!PQconsumeInput(c))
		return -1;
	int k = 0;
	PGnotify *n;
	while ((n = PQnotifies(c))) {
		if (fn)
			fn(ctx, n);
		PQfreemem(n);
		k++;
	}
	return k;
}

static void clear_result(void *p)
{
	PQclear(p);
}

PGresult *db_query(PGconn *c, struct arena *a, struct err *e, const char *sql, int n,
		   const char *const *params)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (a)
			arena_defer(a, clear_result, res);
		return res;
	}
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	bool conflict = state && (!strcmp(state, "40001") || !strcmp(state, "40P01"));
	bool constraint = state && (!strcmp(state, "23505") || !strcmp(state, "23503") ||
				    !strcmp(state, "22P02"));
	metrics_count(&metric_db_query_errors,
		      (const char *[]){ conflict     ? "conflict"
					: constraint ? "constraint"
						     : "other" },
		      1);
	if (state && !strcmp(state, "23505")) {
		err_set(e, ERR_EXISTS, NULL, "already exists");
	} else if (state && !strcmp(state, "23503")) {
		err_set(e, ERR_NOTFOUND, NULL, "a referenced row does not exist");
	} else if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01"))) {
		err_set(e, ERR_CONFLICT, NULL, "concurrent update, try again");
	} else if (state && !strcmp(state, "22P02")) {
		err_set(e, ERR_INVALID, NULL, "invalid value");
	} else {
		log_error("database error %s: %s", state ? state : "(none)",
			  detail ? detail : PQerrorMessage(c));
		err_set(e, ERR_INTERNAL, "database_error", "database error");
	}
	PQclear(res);
	return NULL;
}

static int simple(PGconn *c, struct err *e, const char *sql)
{
	return db_query(c, NULL, e, sql, 0, NULL) ? 0 : (e && e->code ? e->code : ERR_INTERNAL);
}

int db_begin(PGconn *c, struct err *e)
{
	PGresult *r = db_query(c, NULL, e, "BEGIN", 0, NULL);
	if (!r)
		return e && e->code ? e->code : ERR_INTERNAL;
	PQclear(r);
	return 0;
}

int db_commit(PGconn *c, struct err *e)
{
	PGresult *r = db_query(c, NULL, e, "COMMIT", 0, NULL);
	if (!r)
		return e && e->code ? e->code : ERR_INTERNAL;
	PQclear(r);
	return 0;
}

void db_rollback(PGconn *c)
{
	PGresult *r = PQexec(c, "ROLLBACK");
	PQclear(r);
	(void)simple;
}

const char *db_val(const PGresult *res, int row, int col)
{
	if (!res || row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

long long db_int(const PGresult *res, int row, int col)
{
	const char *v = db_val(res, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}

bool db_bool(const PGresult *res, int row, int col)
{
	const char *v = db_val(res, row, col);
	return v && v[0] == 't';
}

bool db_ping(PGconn *c)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	bool ok = db_query(c, a, &e, "SELECT 1", 0, NULL) != NULL;
	arena_free(a);
	return ok;
}
