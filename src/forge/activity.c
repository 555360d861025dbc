/* activity.c — a person's recent activity and open work across the
 * repositories they take part in (forge/activity.h). */
#include "forge/activity.h"
#include "auth/auth.h"
#include "db/db.h"
#include "forge/users.h"

#include <stdlib.h>
#include <string.h>

/* How many of one's repositories (the most recently updated) the
 * activity list reads. */
#define ACTIVITY_REPOS 100

/* How many of one person's newest events their profile's activity reads
 * (before leaving out what the viewer may not see). */
#define ACTIVITY_SCAN 1000

/* clang-format off */
/* The kinds of events an activity list shows (alias e). */
#define ACTIVITY_KINDS \
	"e.type IN ('push', 'issue.opened', 'issue.closed', 'issue.reopened', " \
	"  'issue.comment', 'pull_request', 'pull_request.review') " \
	"AND (e.type <> 'pull_request' OR e.payload->>'action' IN " \
	"  ('opened', 'closed', 'reopened', 'merged')) "

/* The columns of an activity query (as activity_col) from event e,
 * repository m (owner, name) and actor a. */
#define ACTIVITY_COLUMNS \
	"e.id, e.type, e.payload->>'action', m.owner, m.name, a.username, " \
	SQL_TS("e.created_at") ", e.payload->>'ref', " \
	"coalesce(e.payload->>'deleted', 'false') = 'true', " \
	"coalesce(e.payload->'issue'->>'number', e.payload->'pull_request'->>'number'), " \
	"coalesce(e.payload->'issue'->>'title', e.payload->'pull_request'->>'title'), " \
	"e.type LIKE 'pull_request%' OR " \
	"  coalesce(e.payload->'issue'->>'pull_request', 'false') = 'true' "
/* clang-format on */

/* A token without repo:read sees public repositories only. */
static const char *sees_private(const struct forge *f)
{
	return f->who->via != AUTH_TOKEN || (f->who->scopes & SCOPE_REPO_READ) ? "true" : "false";
}

/* Columns of the activity query, in order. */
enum activity_col {
	AC_ID,
	AC_TYPE,
	AC_ACTION,
	AC_OWNER,
	AC_REPO,
	AC_ACTOR,
	AC_CREATED_AT,
	AC_REF,
	AC_DELETED,
	AC_NUMBER,
	AC_TITLE,
	AC_IS_PULL,
};

static const char *opt_dup(struct arena *a, const PGresult *res, int row, int col)
{
	const char *v = db_val(res, row, col);
	return v ? arena_strdup(a, v) : NULL;
}

/* The rows of an activity query (its columns as activity_col) into out. */
static void activity_rows(struct activity_list *out, struct forge *f, const PGresult *res)
{
	int n = PQntuples(res);
	out->items = arena_alloc(f->arena, sizeof(*out->items) * (size_t)(n ? n : 1));
	out->n = (size_t)n;
	for (int i = 0; i < n; i++) {
		const char *num = db_val(res, i, AC_NUMBER);
		out->items[i] = (struct activity){
			.id = db_int(res, i, AC_ID),
			.type = opt_dup(f->arena, res, i, AC_TYPE),
			.action = opt_dup(f->arena, res, i, AC_ACTION),
			.owner = opt_dup(f->arena, res, i, AC_OWNER),
			.repo = opt_dup(f->arena, res, i, AC_REPO),
			.actor = opt_dup(f->arena, res, i, AC_ACTOR),
			.created_at = opt_dup(f->arena, res, i, AC_CREATED_AT),
			.ref = opt_dup(f->arena, res, i, AC_REF),
			.deleted = db_bool(res, i, AC_DELETED),
			.number = num ? strtoll(num, NULL, 10) : 0,
			.title = opt_dup(f->arena, res, i, AC_TITLE),
			.is_pull = db_bool(res, i, AC_IS_PULL),
		};
	}
}

int activity_list(struct activity_list *out, struct forge *f, int limit)
{
	int rc;
	if ((rc = user_require(f, 0)))
		return rc;
	/* the repositories first (owned or collaborated on: all readable;
	 * the ACTIVITY_REPOS most recently updated), then the newest events
	 * of each through events_repo (repo_id, id), merged: bounded however
	 * large the outbox grows */
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"WITH mine AS (SELECT r.id, u.username AS owner, r.name "
		"  FROM repositories r JOIN users u ON u.id = r.owner_id "
		"  LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $1 "
		"  WHERE (r.owner_id = $1 OR c.role IS NOT NULL) AND (NOT r.is_private OR $2) "
		"  ORDER BY r.updated_at DESC LIMIT $4) "
		"SELECT " ACTIVITY_COLUMNS
		"FROM mine m CROSS JOIN LATERAL (SELECT * FROM events e WHERE e.repo_id = m.id "
		"  AND " ACTIVITY_KINDS "ORDER BY e.id DESC LIMIT $3) e "
		"LEFT JOIN users a ON a.id = e.actor_id ORDER BY e.id DESC LIMIT $3",
		arena_int(f->arena, (long long)f->who->user_id), sees_private(f),
		arena_int(f->arena, limit), arena_int(f->arena, ACTIVITY_REPOS));
	if (!res)
		return f->err->code;
	activity_rows(out, f, res);
	return 0;
}

int activity_of_user(struct activity_list *out, struct forge *f, int64_t user_id, int limit)
{
	/* the user's newest events through events_actor (actor_id, id),
	 * then those in repositories f->who may read */
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT " ACTIVITY_COLUMNS
		"FROM (SELECT * FROM events e WHERE e.actor_id = $1 AND " ACTIVITY_KINDS
		"  ORDER BY e.id DESC LIMIT $6) e "
		"JOIN (SELECT r.id, o.username AS owner, r.name, r.owner_id, r.is_private "
		"  FROM repositories r JOIN users o ON o.id = r.owner_id) m ON m.id = e.repo_id "
		"LEFT JOIN collaborators c ON c.repo_id = m.id AND c.user_id = $2 "
		"LEFT JOIN users a ON a.id = e.actor_id "
		"WHERE NOT m.is_private OR ($3 AND (m.owner_id = $2 OR c.role IS NOT NULL OR $4)) "
		"ORDER BY e.id DESC LIMIT $5",
		arena_int(f->arena, (long long)user_id),
		arena_int(f->arena, (long long)f->who->user_id), sees_private(f),
		f->who->is_admin ? "true" : "false", arena_int(f->arena, limit),
		arena_int(f->arena, ACTIVITY_SCAN));
	if (!res)
		return f->err->code;
	activity_rows(out, f, res);
	return 0;
}

int activity_issues_authored(struct activity_issues *out, struct forge *f, int limit)
{
	enum { OWNER, REPO, NUMBER, TITLE, IS_PULL, UPDATED_AT };
	int rc;
	if ((rc = user_require(f, 0)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT u.username, r.name, i.number, i.title, i.is_pull, " SQL_TS(
				      "i.updated_at")
			      " FROM issues i JOIN repositories r ON r.id = i.repo_id "
			      "JOIN users u ON u.id = r.owner_id "
			      "LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $1 "
			      "WHERE i.author_id = $1 AND i.state = 'open' AND (NOT r.is_private OR ($2 AND "
			      "  (r.owner_id = $1 OR c.role IS NOT NULL OR $3))) "
			      "ORDER BY i.updated_at DESC, i.id DESC LIMIT $4",
			      arena_int(f->arena, (long long)f->who->user_id), sees_private(f),
			      f->who->is_admin ? "true" : "false", arena_int(f->arena, limit));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	out->items = arena_alloc(f->arena, sizeof(*out->items) * (size_t)(n ? n : 1));
	out->n = (size_t)n;
	for (int i = 0; i < n; i++)
		out->items[i] = (struct activity_issue){
			.owner = opt_dup(f->arena, res, i, OWNER),
			.repo = opt_dup(f->arena, res, i, REPO),
			.number = db_int(res, i, NUMBER),
			.title = opt_dup(f->arena, res, i, TITLE),
			.is_pull = db_bool(res, i, IS_PULL),
			.updated_at = opt_dup(f->arena, res, i, UPDATED_AT),
		};
	return 0;
}
