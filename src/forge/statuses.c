/* statuses.c — commit statuses: recording one (with its event), listing
 * a commit's history and combining the newest per context. */
#include "forge/statuses.h"
#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"
#include "git/objects.h"

#include <string.h>
#include <strings.h>

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

int commit_status_set(int64_t *out, struct forge *f, int64_t repo_id, const char *sha,
		      const struct status_input *in)
{
	const char *state = in->state, *context = in->context, *description = in->description,
		   *target_url = in->target_url;
	if (!sha || !is_sha1_hex(sha))
		return err_set(f->err, ERR_INVALID, "invalid_sha", "'%.64s' is not a commit sha",
			       sha ? sha : "");
	if (!state || !state_valid(state))
		return err_set(f->err, ERR_INVALID, "invalid_state",
			       "state '%.40s' is not one of pending, success, failure, error",
			       state ? state : "");
	if (!context || !*context)
		context = "default";
	if (strlen(context) > STATUS_CONTEXT_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'context' is longer than %d characters", STATUS_CONTEXT_MAX);
	if (description && strlen(description) > STATUS_DESCRIPTION_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field 'description' is longer than %d characters",
			       STATUS_DESCRIPTION_MAX);
	if (target_url && !*target_url)
		target_url = NULL;
	if (target_url &&
	    (strlen(target_url) > STATUS_URL_MAX ||
	     (strncasecmp(target_url, "http://", 7) && strncasecmp(target_url, "https://", 8)) ||
	     strpbrk(target_url, " \t\r\n\"<>")))
		return err_set(f->err, ERR_INVALID, "invalid_url",
			       "target_url '%.100s' is not an http or https URL", target_url);
	sha = sha_lower(f->arena, sha);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO commit_statuses (repo_id, sha, state, context, description, "
			      "target_url, creator_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
			      arena_int(f->arena, (long long)repo_id), sha, state, context,
			      description ? description : "", target_url,
			      arena_id(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	int64_t id = db_int(res, 0, 0);
	if (out)
		*out = id;
	/* the outbox event wakes the dispatcher at commit (a status set by a
	 * finishing job must not wait for the next scan) */
	return forge_event(NULL, f, repo_id, "status",
			   json_pack("{s:I,s:s,s:s,s:s,s:s,s:s?}", "id", (json_int_t)id, "sha", sha,
				     "state", state, "context", context, "description",
				     description ? description : "", "target_url", target_url));
}

/* Columns every status query selects, in their one declared order. */
#define STATUS_COLS                                                                                \
	"s.id, s.sha, s.state, s.context, s.description, s.target_url, u.username, " SQL_TS(       \
		"s.created_at")
#define STATUS_FROM "commit_statuses s LEFT JOIN users u ON u.id = s.creator_id"
enum status_col {
	STATUS_COL_ID,
	STATUS_COL_SHA,
	STATUS_COL_STATE,
	STATUS_COL_CONTEXT,
	STATUS_COL_DESCRIPTION,
	STATUS_COL_TARGET_URL,
	STATUS_COL_CREATOR,
	STATUS_COL_CREATED_AT,
};

static json_t *status_json(const PGresult *res, int i)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s}", "id",
			 (json_int_t)db_int(res, i, STATUS_COL_ID), "sha",
			 db_val(res, i, STATUS_COL_SHA), "state", db_val(res, i, STATUS_COL_STATE),
			 "context", db_val(res, i, STATUS_COL_CONTEXT), "description",
			 db_val(res, i, STATUS_COL_DESCRIPTION), "target_url",
			 db_val(res, i, STATUS_COL_TARGET_URL), "creator",
			 db_val(res, i, STATUS_COL_CREATOR), "created_at",
			 db_val(res, i, STATUS_COL_CREATED_AT));
}

int commit_status_combined(json_t **out, struct forge *f, int64_t repo_id, const char *sha)
{
	sha = sha_lower(f->arena, sha);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT * FROM (SELECT DISTINCT ON (s.context) " STATUS_COLS
			      " FROM " STATUS_FROM " WHERE s.repo_id = $1 AND s.sha = $2 "
			      "ORDER BY s.context, s.id DESC) t ORDER BY 4",
			      arena_int(f->arena, (long long)repo_id), sha);
	if (!res)
		return f->err->code;
	bool failure = false, error = false, pending = PQntuples(res) == 0;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		const char *st = db_val(res, i, STATUS_COL_STATE);
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

/* sha as a commit of repo, lowercased into *out. */
static int commit_check(const char **out, struct forge *f, const struct repo *repo, const char *sha)
{
	if (!sha || !is_sha1_hex(sha))
		return err_set(f->err, ERR_INVALID, "invalid_sha", "'%.64s' is not a commit sha",
			       sha ? sha : "");
	sha = sha_lower(f->arena, sha);
	git_repository *grepo;
	git_commit *c = NULL;
	struct err ge = { 0 };
	int rc = objects_repo_open(&grepo, repo->disk_path, &ge);
	if (!rc)
		rc = objects_commit_lookup(&c, grepo, sha, &ge);
	git_commit_free(c);
	if (rc == ERR_NOTFOUND)
		return err_set(f->err, ERR_NOTFOUND, NULL, "commit '%s' not found in '%s/%s'", sha,
			       repo->owner, repo->name);
	if (rc) {
		*f->err = ge;
		return rc;
	}
	*out = sha;
	return 0;
}

int commit_status_create(json_t **out, struct forge *f, const struct repo *repo, const char *sha,
			 const struct status_input *in)
{
	int rc;
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_STATUSES, f->err)) ||
	    (rc = commit_check(&sha, f, repo, sha)) || (rc = db_begin(f->db, f->err)))
		return rc;
	int64_t id;
	PGresult *res = NULL;
	if ((rc = commit_status_set(&id, f, repo->id, sha, in)))
		goto fail;
	res = db_qv(f->db, f->arena, f->err,
		    "SELECT " STATUS_COLS " FROM " STATUS_FROM " WHERE s.id = $1",
		    arena_int(f->arena, (long long)id));
	if (!res || (rc = db_commit(f->db, f->err))) {
		rc = f->err->code;
		goto fail;
	}
	*out = status_json(res, 0);
	return 0;
fail:
	db_rollback(f->db);
	return rc;
}

int commit_status_list(json_t **out, struct forge *f, const struct repo *repo, const char *sha,
		       int limit)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = commit_check(&sha, f, repo, sha)))
		return rc;
	if (limit < 1 || limit > STATUS_LIST_MAX)
		limit = STATUS_LIST_DEFAULT;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " STATUS_COLS " FROM " STATUS_FROM
			      " WHERE s.repo_id = $1 AND s.sha = $2 ORDER BY s.id DESC LIMIT $3",
			      arena_int(f->arena, (long long)repo->id), sha,
			      arena_int(f->arena, limit));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, status_json(res, i));
	*out = arr;
	return 0;
}

int commit_status_combined_get(json_t **out, struct forge *f, const struct repo *repo,
			       const char *sha)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = commit_check(&sha, f, repo, sha)))
		return rc;
	return commit_status_combined(out, f, repo->id, sha);
}
