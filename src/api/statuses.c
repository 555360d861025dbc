/* statuses.c — commit statuses: CI (and anyone with write access) reports
 * the state of a commit under a context; readers see each commit's history
 * of statuses and the combined state (newest per context). Pull requests
 * show their head's combined status. */
#include "api/api.h"
#include "api/collab.h"
#include "api/pulls.h"
#include "base/util.h"
#include "db/db.h"
#include "git/objects.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONTEXT_MAX 255
#define DESCRIPTION_MAX 1000
#define URL_MAX 2000
#define LIST_DEFAULT 30
#define LIST_MAX 100


static const char *const states[] = { "pending", "success", "failure", "error", NULL };

static bool state_valid(const char *s)
{
	for (const char *const *p = states; *p; p++)
		if (!strcmp(*p, s))
			return true;
	return false;
}

static const char *sha_lower(struct arena *a, const char *sha)
{
	char *s = arena_strdup(a, sha);
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

int commit_status_set(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		      const char *sha, const char *state, const char *context,
		      const char *description, const char *target_url, int64_t creator_id)
{
	if (!sha || !is_sha1_hex(sha))
		return err_set(e, ERR_INVALID, "invalid_sha", "'%.64s' is not a commit sha",
			       sha ? sha : "");
	if (!state || !state_valid(state))
		return err_set(e, ERR_INVALID, "invalid_state",
			       "state '%.40s' is not one of pending, success, failure, error",
			       state ? state : "");
	if (!context || !*context)
		context = "default";
	if (strlen(context) > CONTEXT_MAX)
		return err_set(e, ERR_INVALID, "invalid_field",
			       "field 'context' is longer than %d characters", CONTEXT_MAX);
	if (description && strlen(description) > DESCRIPTION_MAX)
		return err_set(e, ERR_INVALID, "invalid_field",
			       "field 'description' is longer than %d characters", DESCRIPTION_MAX);
	if (target_url && !*target_url)
		target_url = NULL;
	if (target_url && (strlen(target_url) > URL_MAX ||
			   (strncasecmp(target_url, "http://", 7) &&
			    strncasecmp(target_url, "https://", 8)) ||
			   strpbrk(target_url, " \t\r\n\"<>")))
		return err_set(e, ERR_INVALID, "invalid_url",
			       "target_url '%.100s' is not an http or https URL", target_url);
	sha = sha_lower(a, sha);
	const char *rid = arena_printf(a, "%lld", (long long)repo_id);
	const char *uid = creator_id ? arena_printf(a, "%lld", (long long)creator_id) : NULL;
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO commit_statuses (repo_id, sha, state, context, description, "
			      "target_url, creator_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
			      rid, sha, state, context, description ? description : "", target_url,
			      uid);
	if (!res)
		return e->code;
	/* the outbox event, with the notification that wakes the dispatcher (a
	 * status set by a finishing job must not wait for the next scan) */
	struct auth who = { .user_id = creator_id };
	struct forge f = { .db = db, .arena = a, .err = e, .who = &who };
	return forge_event(NULL, &f, repo_id, "status",
			    json_pack("{s:I,s:s,s:s,s:s,s:s,s:s?}", "id",
				      (json_int_t)db_int(res, 0, 0), "sha", sha, "state", state,
				      "context", context, "description",
				      description ? description : "", "target_url", target_url));
}

/* Columns every status query selects, in status_json's order. */
#define STATUS_COLS                                                                           \
	"s.id, s.sha, s.state, s.context, s.description, s.target_url, u.username, " SQL_TS(      \
		"s.created_at")

static json_t *status_json(const PGresult *res, int i)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s}", "id", (json_int_t)db_int(res, i, 0),
			 "sha", db_val(res, i, 1), "state", db_val(res, i, 2), "context",
			 db_val(res, i, 3), "description", db_val(res, i, 4), "target_url",
			 db_val(res, i, 5), "creator", db_val(res, i, 6), "created_at",
			 db_val(res, i, 7));
}

int commit_status_combined(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			   const char *sha, json_t **out)
{
	sha = sha_lower(a, sha);
	PGresult *res = db_qv(db, a, e,
			      "SELECT * FROM (SELECT DISTINCT ON (s.context) " STATUS_COLS
			      " FROM commit_statuses s LEFT JOIN users u ON u.id = s.creator_id "
			      "WHERE s.repo_id = $1 AND s.sha = $2 ORDER BY s.context, s.id DESC) t "
			      "ORDER BY 4",
			      arena_printf(a, "%lld", (long long)repo_id), sha);
	if (!res)
		return e->code;
	bool failure = false, error = false, pending = PQntuples(res) == 0;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		const char *st = db_val(res, i, 2);
		failure |= !strcmp(st, "failure");
		error |= !strcmp(st, "error");
		pending |= !strcmp(st, "pending");
		json_array_append_new(arr, status_json(res, i));
	}
	const char *state = failure ? "failure" : error ? "error" : pending ? "pending" : "success";
	*out = json_pack("{s:s,s:s,s:I,s:o}", "state", state, "sha", sha, "total_count",
			 (json_int_t)PQntuples(res), "statuses", arr);
	return 0;
}

/* :sha as a commit of the repository (lowercased). */
static int sha_commit_param(struct req *r, const char **out)
{
	const char *sha = req_param(r, "sha");
	if (!sha || !is_sha1_hex(sha))
		return err_set(&r->err, ERR_INVALID, "invalid_sha", "'%.64s' is not a commit sha",
			       sha ? sha : "");
	sha = sha_lower(r->arena, sha);
	git_repository *repo;
	git_commit *c = NULL;
	struct err ge = { 0 };
	int rc = objects_repo_open(&repo, r->repo->disk_path, &ge);
	if (!rc)
		rc = objects_commit_lookup(&c, repo, sha, &ge);
	git_commit_free(c);
	if (rc == ERR_NOTFOUND)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "commit '%s' not found in '%s/%s'", sha,
			       r->repo->owner, r->repo->name);
	if (rc) {
		r->err = ge;
		return rc;
	}
	*out = sha;
	return 0;
}

int h_status_create(struct req *r, struct resp *w)
{
	const char *sha, *state = NULL, *context = NULL, *desc = NULL, *url = NULL;
	int rc;
	if ((rc = json_str_field(r, "state", true, 20, &state)) ||
	    (rc = json_str_field(r, "context", false, CONTEXT_MAX, &context)) ||
	    (rc = json_str_field(r, "description", false, DESCRIPTION_MAX, &desc)) ||
	    (rc = json_str_field(r, "target_url", false, URL_MAX, &url)))
		return rc;
	if ((rc = sha_commit_param(r, &sha)))
		return rc;
	if ((rc = db_begin(r->db, &r->err)))
		return rc;
	if ((rc = commit_status_set(r->db, r->arena, &r->err, r->repo->id, sha, state, context,
				    desc, url, r->auth.user_id))) {
		db_rollback(r->db);
		return rc;
	}
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " STATUS_COLS " FROM commit_statuses s "
			      "LEFT JOIN users u ON u.id = s.creator_id "
			      "WHERE s.repo_id = $1 AND s.sha = $2 ORDER BY s.id DESC LIMIT 1",
			      i64s(r->arena, (long long)r->repo->id), sha);
	if (!res || db_commit(r->db, &r->err)) {
		db_rollback(r->db);
		return r->err.code;
	}
	resp_json(w, 201, status_json(res, 0));
	return 0;
}

int h_status_list(struct req *r, struct resp *w)
{
	const char *sha, *q = req_query(r, "limit");
	int64_t limit = LIST_DEFAULT;
	int rc;
	if (q && parse_i64(q, 1, LIST_MAX, &limit))
		return err_set(&r->err, ERR_INVALID, "invalid_limit",
			       "limit '%.20s' must be a number from 1 to %d", q, LIST_MAX);
	if ((rc = sha_commit_param(r, &sha)))
		return rc;
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " STATUS_COLS " FROM commit_statuses s "
			      "LEFT JOIN users u ON u.id = s.creator_id "
			      "WHERE s.repo_id = $1 AND s.sha = $2 ORDER BY s.id DESC LIMIT $3",
			      i64s(r->arena, (long long)r->repo->id), sha,
			      i64s(r->arena, (long long)limit));
	if (!res)
		return r->err.code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, status_json(res, i));
	resp_json(w, 200, arr);
	resp_no_cache(r, w);
	return 0;
}

int h_status_combined(struct req *r, struct resp *w)
{
	const char *sha;
	json_t *o = NULL;
	int rc;
	if ((rc = sha_commit_param(r, &sha)) ||
	    (rc = commit_status_combined(r->db, r->arena, &r->err, r->repo->id, sha, &o)))
		return rc;
	resp_json(w, 200, o);
	resp_no_cache(r, w);
	return 0;
}
