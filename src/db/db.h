/* db.h — PostgreSQL access: parameterised queries bound to an arena, the
 * worker pool that owns the connections, migrations, the embedded cluster.
 * SQL text is always a string literal; values are always parameters. */
#ifndef PLUE_DB_H
#define PLUE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "base/arena.h"
#include "base/err.h"

/* The connection string every new connection uses. */
void db_set_conninfo(const char *conninfo);
const char *db_conninfo(void);
/* Opens a new connection; NULL with e set on failure. Caller PQfinish()es. */
PGconn *db_connect(struct err *e);
/* A background thread's own connection, kept open: returns c while it is
 * good; otherwise closes it (c may be NULL), opens a new one and, when
 * listen is not NULL, runs that LISTEN statement on it (SQL text, a
 * literal). NULL when that fails, logged as "who: message": the caller
 * waits and calls again. Either way c is consumed. */
PGconn *db_reconnect(PGconn *c, const char *listen, const char *who);
/* A listening thread's notifications: reads what c's socket holds and hands
 * every notification libpq has queued to fn (NULL: drops them) — those read
 * just now and those an earlier query on c read off the socket, which a
 * poll of the socket no longer shows. Call it before polling the socket
 * (poll only when it returned 0) and after. Returns how many, or -1 when
 * the connection is lost. */
int db_notifies(PGconn *c, void (*fn)(void *ctx, PGnotify *n), void *ctx);

/* Runs sql with n text parameters (NULL entries are SQL NULL). The result
 * is cleared when the arena is freed. Returns NULL with e set on failure:
 * unique violation → ERR_EXISTS, foreign key → ERR_NOTFOUND,
 * serialization failure → ERR_CONFLICT, the rest → ERR_INTERNAL (logged). */
PGresult *db_query(PGconn *c, struct arena *a, struct err *e, const char *sql, int n,
		   const char *const *params);
#define db_qv(c, a, e, sql, ...)                                                                   \
	db_query(c, a, e, sql, (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *)),    \
		 (const char *[]){ __VA_ARGS__ })

/* SQL: a timestamptz column as the one timestamp format of every JSON
 * response, RFC 3339 in UTC to the second ("2026-01-02T03:04:05Z"). */
#define SQL_TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* SQL: a timestamptz as integer microseconds since the epoch (cursor key)
 * and back. */
#define SQL_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define SQL_FROM_US(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"

/* Transactions: 0 or an ERR_* with e set. db_rollback never fails. */
int db_begin(PGconn *c, struct err *e);
int db_commit(PGconn *c, struct err *e);
void db_rollback(PGconn *c);

/* The value at (row, col), or NULL when SQL NULL or out of range. */
const char *db_val(const PGresult *res, int row, int col);
long long db_int(const PGresult *res, int row, int col);
bool db_bool(const PGresult *res, int row, int col);
/* Does the database answer (SELECT 1)? Failures are logged as any query's. */
bool db_ping(PGconn *c);

/* ---- worker pool (workers.c) ---- */
typedef void (*work_fn)(void *arg, PGconn *db);
/* Starts n workers, each owning one connection (opened lazily, reopened
 * when broken). */
void workers_start(int n);
/* Queues fn(arg, conn) on a worker. */
void workers_submit(work_fn fn, void *arg);
/* Runs fn on a worker and waits for it. */
void workers_run(work_fn fn, void *arg);
void workers_stop(void);

/* ---- migrations (migrate.c) ---- */
/* Applies the embedded db/migrations/NNNN_name.sql files not yet recorded, each in its own
 * transaction, under an advisory lock. Returns 0 or ERR_INTERNAL. */
int db_migrate(PGconn *c, struct err *e);

/* ---- embedded cluster (embedded.c) ---- */
/* Creates (initdb) and starts the private cluster under dir, socket only;
 * when running as root it runs as run_as. Fills *conninfo (caller frees). */
int pg_embedded_start(const char *dir, const char *run_as, char **conninfo, struct err *e);
/* Stops it (fast shutdown); safe to call when not started. */
void pg_embedded_stop(void);

#endif
