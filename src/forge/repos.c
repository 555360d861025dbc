/* repos.c — repositories: loading one with the caller's role, creating,
 * changing, deleting and listing them, their collaborators, and the
 * visibility hint the anonymous fast path reads. */
#include "forge/forge.h"
#include "auth/auth.h"
#include "base/cache.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/issues.h"
#include "forge/names.h"
#include "forge/users.h"
#include "git/store.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a repository row with the caller's role (aliases r, u
 * for the owner, c for the caller's collaborator row), in the one order
 * enum repo_col names. */
#define REPO_COLUMNS                                                                               \
	"r.id, r.owner_id, u.username, r.name, r.description, r.default_branch, "                  \
	"r.is_private, " SQL_TS("r.created_at") ", coalesce(c.role, ''), "                         \
						"r.issues_open_to_readers"
enum repo_col {
	REPO_COL_ID,
	REPO_COL_OWNER_ID,
	REPO_COL_OWNER,
	REPO_COL_NAME,
	REPO_COL_DESCRIPTION,
	REPO_COL_DEFAULT_BRANCH,
	REPO_COL_PRIVATE,
	REPO_COL_CREATED_AT,
	REPO_COL_ROLE,
	REPO_COL_ISSUES_OPEN,
};

static struct repo *repo_from_row(struct forge *f, const PGresult *res, int row)
{
	struct repo *p = arena_alloc(f->arena, sizeof(*p));
	p->id = db_int(res, row, REPO_COL_ID);
	p->owner_id = db_int(res, row, REPO_COL_OWNER_ID);
	p->owner = arena_strdup(f->arena, db_val(res, row, REPO_COL_OWNER));
	p->name = arena_strdup(f->arena, db_val(res, row, REPO_COL_NAME));
	p->description = arena_strdup(f->arena, db_val(res, row, REPO_COL_DESCRIPTION));
	p->default_branch = arena_strdup(f->arena, db_val(res, row, REPO_COL_DEFAULT_BRANCH));
	p->is_private = db_bool(res, row, REPO_COL_PRIVATE);
	p->created_at = arena_strdup(f->arena, db_val(res, row, REPO_COL_CREATED_AT));
	p->role = repo_role_parse(db_val(res, row, REPO_COL_ROLE));
	p->issues_open = db_bool(res, row, REPO_COL_ISSUES_OPEN);
	p->disk_path = repo_store_path(f->arena, p->id);
	return p;
}

int repo_load(struct repo **out, struct forge *f, const char *owner, const char *name)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " REPO_COLUMNS " "
			      "FROM repositories r JOIN users u ON u.id = r.owner_id "
			      "LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $3 "
			      "WHERE lower(u.username) = lower($1) AND lower(r.name) = lower($2)",
			      owner, name, arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "repository '%.100s/%.100s' not found",
			       owner, name);
	*out = repo_from_row(f, res, 0);
	return 0;
}

/* "refs/heads/BRANCH" must be a valid ref. */
static int branch_check(struct forge *f, const char *branch)
{
	if (!refname_valid(arena_printf(f->arena, "refs/heads/%s", branch)))
		return err_set(f->err, ERR_INVALID, "invalid_branch",
			       "default_branch '%.100s' is not a valid branch name", branch);
	return 0;
}

int repo_create(struct repo **out, struct forge *f, const char *name, const char *description,
		const char *default_branch, bool is_private)
{
	const char *desc = description ? description : "";
	const char *branch = default_branch ? default_branch : "main";
	int64_t id = 0;
	int rc;
	if ((rc = user_require(f, SCOPE_REPO_WRITE)) || (rc = validate_repo_name(f->err, name)) ||
	    (rc = branch_check(f, branch)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO repositories (owner_id, name, description, is_private, "
			      "default_branch) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			      arena_int(f->arena, (long long)f->who->user_id), name, desc,
			      is_private ? "true" : "false", branch);
	if (!res) {
		if (f->err->code == ERR_EXISTS) {
			err_clear(f->err);
			err_set(f->err, ERR_EXISTS, NULL, "repository '%s/%s' already exists",
				f->who->username, name);
		}
		rc = f->err->code;
		goto fail;
	}
	id = db_int(res, 0, 0);
	if ((rc = repo_store_create(id, branch, f->err)))
		goto fail;
	if ((rc = db_commit(f->db, f->err))) {
		repo_store_delete(id, NULL);
		return rc;
	}
	if ((rc = repo_load(out, f, f->who->username, name)))
		return rc;
	log_info("repository %s/%s created (id %lld)", (*out)->owner, (*out)->name, (long long)id);
	return 0;
fail:
	db_rollback(f->db);
	return rc;
}

int repo_update(struct forge *f, struct repo *repo, const struct repo_update *in)
{
	const char *desc = in->description ? in->description : repo->description;
	const char *branch = in->default_branch ? in->default_branch : repo->default_branch;
	bool priv = in->is_private ? *in->is_private : repo->is_private;
	bool issues_open = in->issues_open ? *in->issues_open : repo->issues_open;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) || (rc = branch_check(f, branch)))
		return rc;
	if (!db_qv(f->db, f->arena, f->err,
		   "UPDATE repositories SET description = $2, default_branch = $3, is_private = $4, "
		   "issues_open_to_readers = $5, updated_at = now() WHERE id = $1",
		   arena_int(f->arena, (long long)repo->id), desc, branch, priv ? "true" : "false",
		   issues_open ? "true" : "false"))
		return f->err->code;
	/* every replica forgets the visibility hint before the answer
	 * (queue/relay.h) */
	if (priv != repo->is_private) {
		char token[17];
		if ((rc = repo_hint_publish(f, repo->owner, repo->name, token)))
			return rc;
		repo_hint_await(f, token);
	}
	repo->description = desc;
	repo->default_branch = branch;
	repo->is_private = priv;
	repo->issues_open = issues_open;
	return 0;
}

int repo_delete(struct forge *f, const struct repo *repo)
{
	int rc;
	char token[17] = "";
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)) || (rc = db_begin(f->db, f->err)))
		return rc;
	if (!db_qv(f->db, f->arena, f->err, "DELETE FROM repositories WHERE id = $1",
		   arena_int(f->arena, (long long)repo->id))) {
		rc = f->err->code;
		goto fail;
	}
	/* the directory goes first: if it cannot, the row stays */
	if ((rc = repo_store_delete(repo->id, f->err)))
		goto fail;
	/* delivered at COMMIT to every replica (queue/relay.h) */
	if ((rc = repo_hint_publish(f, repo->owner, repo->name, token)))
		goto fail;
	if ((rc = db_commit(f->db, f->err)))
		return rc;
	repo_hint_forget(repo->owner, repo->name);
	repo_hint_await(f, token);
	log_info("repository %s/%s deleted", repo->owner, repo->name);
	return 0;
fail:
	db_rollback(f->db);
	return rc;
}

int repo_list(struct repo_list *out, struct forge *f, const char *owner)
{
	int64_t owner_id;
	int rc;
	if ((rc = user_id_find(&owner_id, f, owner)))
		return rc;
	/* private repositories are listed only to those who can read them */
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT " REPO_COLUMNS " "
		"FROM repositories r JOIN users u ON u.id = r.owner_id "
		"LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $2 "
		"WHERE r.owner_id = $1 AND (NOT r.is_private OR r.owner_id = $2 OR c.role IS NOT NULL "
		"  OR $3) ORDER BY lower(r.name)",
		arena_int(f->arena, (long long)owner_id),
		arena_int(f->arena, (long long)f->who->user_id),
		f->who->is_admin ? "true" : "false");
	if (!res)
		return f->err->code;
	bool token_no_read = f->who->via == AUTH_TOKEN && !(f->who->scopes & SCOPE_REPO_READ);
	int n = PQntuples(res);
	out->items = arena_alloc(f->arena, sizeof(*out->items) * (size_t)(n ? n : 1));
	out->n = 0;
	for (int i = 0; i < n; i++) {
		struct repo *p = repo_from_row(f, res, i);
		if (p->is_private && token_no_read)
			continue;
		out->items[out->n++] = p;
	}
	return 0;
}

/* A token without repo:read sees public repositories only. */
static bool sees_private(const struct forge *f)
{
	return f->who->via != AUTH_TOKEN || (f->who->scopes & SCOPE_REPO_READ);
}

static int repo_rows(struct repo_list *out, struct forge *f, PGresult *res, int limit)
{
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	out->items = arena_alloc(f->arena, sizeof(*out->items) * (size_t)(n ? n : 1));
	out->n = 0;
	for (int i = 0; i < n && i < limit; i++)
		out->items[out->n++] = repo_from_row(f, res, i);
	return 0;
}

int repo_list_member(struct repo_list *out, struct forge *f, int limit)
{
	int rc;
	if ((rc = user_require(f, 0)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " REPO_COLUMNS " "
			      "FROM repositories r JOIN users u ON u.id = r.owner_id "
			      "LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $1 "
			      "WHERE (r.owner_id = $1 OR c.role IS NOT NULL) AND (NOT r.is_private OR $2) "
			      "ORDER BY r.updated_at DESC, r.id DESC LIMIT $3",
			      arena_int(f->arena, (long long)f->who->user_id),
			      sees_private(f) ? "true" : "false", arena_int(f->arena, limit));
	return repo_rows(out, f, res, limit);
}

int repo_list_public(struct repo_list *out, struct cursor *next, struct forge *f, int limit,
		     const struct cursor *after)
{
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT " REPO_COLUMNS ", (extract(epoch FROM r.updated_at) * 1000000)::bigint "
		"FROM repositories r JOIN users u ON u.id = r.owner_id "
		"LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $1 "
		"WHERE NOT r.is_private AND ($2::bigint IS NULL OR "
		"  ((extract(epoch FROM r.updated_at) * 1000000)::bigint, r.id) < ($2, $3)) "
		"ORDER BY (extract(epoch FROM r.updated_at) * 1000000)::bigint DESC, r.id DESC "
		"LIMIT $4",
		arena_int(f->arena, (long long)f->who->user_id),
		after && after->set ? arena_int(f->arena, after->key) : NULL,
		after && after->set ? arena_int(f->arena, after->id) : NULL,
		arena_int(f->arena, limit + 1));
	int rc = repo_rows(out, f, res, limit);
	if (rc)
		return rc;
	*next = (struct cursor){ 0 };
	if (PQntuples(res) > limit)
		*next = (struct cursor){ true, db_int(res, limit - 1, REPO_COL_ISSUES_OPEN + 1),
					 db_int(res, limit - 1, REPO_COL_ID) };
	return 0;
}

int repo_branch_names(const char ***out, size_t *n, struct forge *f, const struct repo *repo,
		      int limit)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT name FROM branches WHERE repo_id = $1 ORDER BY name LIMIT $2",
			      arena_int(f->arena, (long long)repo->id), arena_int(f->arena, limit));
	if (!res)
		return f->err->code;
	int rows = PQntuples(res);
	const char **v = arena_alloc(f->arena, sizeof(*v) * (size_t)(rows + 1));
	for (int i = 0; i < rows; i++)
		v[i] = arena_strdup(f->arena, db_val(res, i, 0));
	v[rows] = NULL;
	*out = v;
	*n = (size_t)rows;
	return 0;
}

json_t *repo_json(struct forge *f, const struct repo *p)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s,s:s}", "id", (json_int_t)p->id,
			 "owner", p->owner, "name", p->name, "full_name",
			 arena_printf(f->arena, "%s/%s", p->owner, p->name), "description",
			 p->description, "private", p->is_private, "issues_open_to_readers",
			 p->issues_open, "default_branch", p->default_branch, "clone_url",
			 forge_url(f->arena, arena_printf(f->arena, "/%s/%s.git", p->owner, p->name)),
			 "created_at", p->created_at ? p->created_at : "");
}

/* ---- collaborators ---- */

int repo_collab_list(json_t **out, struct forge *f, const struct repo *repo)
{
	/* who may do what is for those who can push, as on GitHub: readers
	 * of a public repository do not learn its writers and admins. Listing
	 * is a read: a writer's repo:read token may list. */
	struct auth au = *f->who;
	if (au.via == AUTH_TOKEN)
		au.scopes |= SCOPE_REPO_WRITE;
	struct err scratch = { 0 };
	int rc = authz_repo(&au, repo, ACT_WRITE, &scratch);
	if (rc == ERR_AUTH)
		return err_set(f->err, ERR_AUTH, NULL,
			       "sign in to list the collaborators of repository '%s/%s'",
			       repo->owner, repo->name);
	if (rc == ERR_PERM && f->who->via != AUTH_TASK && !strcmp(scratch.slug, "forbidden"))
		return err_set(f->err, ERR_PERM, NULL,
			       "push access to repository '%s/%s' is required to list its "
			       "collaborators",
			       repo->owner, repo->name);
	if (rc) {
		*f->err = scratch;
		return rc;
	}
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT u.username, c.role FROM collaborators c JOIN users u ON u.id = "
			      "c.user_id WHERE c.repo_id = $1 ORDER BY lower(u.username)",
			      arena_int(f->arena, (long long)repo->id));
	if (!res)
		return f->err->code;
	json_t *arr = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "username", db_val(res, i, 0),
						     "role", db_val(res, i, 1)));
	*out = arr;
	return 0;
}

int repo_collab_put(const char **out, struct forge *f, const struct repo *repo, const char *user,
		    const char *role)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	if (strcmp(role, "read") && strcmp(role, "write") && strcmp(role, "admin"))
		return err_set(f->err, ERR_INVALID, "invalid_role",
			       "role '%s' is not one of read, write, admin", role);
	PGresult *u = db_qv(f->db, f->arena, f->err,
			    "SELECT id, username FROM users WHERE lower(username) = lower($1)",
			    user);
	if (!u)
		return f->err->code;
	if (PQntuples(u) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "user '%.100s' not found", user);
	if (db_int(u, 0, 0) == repo->owner_id)
		return err_set(f->err, ERR_INVALID, "invalid_collaborator",
			       "'%s' owns the repository", db_val(u, 0, 1));
	if (!db_qv(f->db, f->arena, f->err,
		   "INSERT INTO collaborators (repo_id, user_id, role) VALUES ($1, $2, $3) "
		   "ON CONFLICT (repo_id, user_id) DO UPDATE SET role = EXCLUDED.role",
		   arena_int(f->arena, (long long)repo->id), db_val(u, 0, 0), role))
		return f->err->code;
	*out = db_val(u, 0, 1);
	return 0;
}

int repo_collab_delete(struct forge *f, const struct repo *repo, const char *user)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_ADMIN, f->err)))
		return rc;
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "DELETE FROM collaborators c USING users u WHERE c.user_id = u.id AND "
			      "c.repo_id = $1 AND lower(u.username) = lower($2) RETURNING c.user_id",
			      arena_int(f->arena, (long long)repo->id), user);
	if (!res)
		return f->err->code;
	if (PQntuples(res) == 0)
		return err_set(f->err, ERR_NOTFOUND, NULL,
			       "'%.100s' is not a collaborator on '%s/%s'", user, repo->owner,
			       repo->name);
	return 0;
}

/* "h:owner/name", lowercased (names are case-insensitive). */
static void hint_key(char out[512], const char *owner, const char *name)
{
	snprintf(out, 512, "h:%s/%s", owner, name);
	for (char *q = out; *q; q++)
		*q = (char)tolower((unsigned char)*q);
}

/* Hints are believed only while every change through another replica
 * reaches this one (queue/relay.c listens); each time that starts again
 * the epoch moves, so what was remembered before is forgotten. */
static atomic_bool hints_trusted = true;
static atomic_uint hints_epoch;
/* Moves at every forget: a hint read from the database before a forget
 * is not kept (a peer's change committed meanwhile). */
static atomic_uint hints_gen;

unsigned repo_hint_gen(void)
{
	return atomic_load(&hints_gen);
}

void repo_hints_forget_all(void)
{
	atomic_fetch_add(&hints_gen, 1);
	atomic_fetch_add(&hints_epoch, 1);
}

void repo_hints_trust(bool trusted)
{
	if (trusted)
		atomic_fetch_add(&hints_epoch, 1);
	atomic_store(&hints_trusted, trusted);
}

void repo_hint_put(const char *owner, const char *name, int64_t id, bool is_private, int ttl_ms,
		   unsigned gen)
{
	char key[512], val[64];
	hint_key(key, owner, name);
	int n = snprintf(val, sizeof(val), "%lld %d %u", (long long)id, is_private,
			 atomic_load(&hints_epoch));
	cache_put(key, val, (size_t)n, NULL, NULL, NULL, ttl_ms);
	/* a forget since the read (even one racing with this put) wins: it
	 * moves the generation before it drops */
	if (atomic_load(&hints_gen) != gen)
		cache_drop(key);
}

bool repo_hint_get(const char *owner, const char *name, int64_t *id, bool *is_private)
{
	char key[512];
	if (!atomic_load(&hints_trusted))
		return false;
	hint_key(key, owner, name);
	const struct cache_entry *e = cache_get(key);
	if (!e)
		return false;
	long long v = 0;
	int priv = 1;
	unsigned epoch = 0;
	bool ok = sscanf(e->data, "%lld %d %u", &v, &priv, &epoch) == 3 &&
		  epoch == atomic_load(&hints_epoch);
	cache_unref(e);
	*id = v;
	*is_private = priv != 0;
	return ok;
}

static const struct repo_hint_sync *hint_sync;

void repo_hint_set_sync(const struct repo_hint_sync *sync)
{
	hint_sync = sync;
}

int repo_hint_publish(struct forge *f, const char *owner, const char *name, char token[17])
{
	char *tok = random_token("", 8);
	snprintf(token, 17, "%s", tok);
	free(tok);
	if (hint_sync)
		hint_sync->expect(token);
	if (!db_qv(f->db, f->arena, f->err, "SELECT pg_notify('plue_repo', $1)",
		   owner ? arena_printf(f->arena, "%s %s/%s", token, owner, name)
			 : arena_printf(f->arena, "%s *", token)))
		return f->err->code;
	if (owner)
		repo_hint_forget(owner, name);
	else
		repo_hints_forget_all();
	return 0;
}

void repo_hint_await(struct forge *f, const char *token)
{
	if (hint_sync && token[0])
		hint_sync->await(f->db, token);
}

void repo_hint_forget(const char *owner, const char *name)
{
	char key[512];
	hint_key(key, owner, name);
	atomic_fetch_add(&hints_gen, 1);
	cache_drop(key);
}
