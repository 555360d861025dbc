/* repos.c — repositories: loading one with the caller's role, and the
 * visibility hint the anonymous fast path reads. */
#include "forge/forge.h"
#include "auth/auth.h"
#include "base/cache.h"
#include "db/db.h"
#include "git/store.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int repo_load(struct repo **out, struct forge *f, const char *owner, const char *name)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT r.id, r.owner_id, u.username, r.name, r.description, "
			      "  r.default_branch, r.is_private, " SQL_TS("r.created_at") ", "
			      "  coalesce(c.role, ''), r.issues_open_to_readers "
			      "FROM repositories r JOIN users u ON u.id = r.owner_id "
			      "LEFT JOIN collaborators c ON c.repo_id = r.id AND c.user_id = $3 "
			      "WHERE lower(u.username) = lower($1) AND lower(r.name) = lower($2)",
			      owner, name, arena_int(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "repository '%.100s/%.100s' not found",
			       owner, name);
	struct repo *p = arena_alloc(f->arena, sizeof(*p));
	p->id = db_int(res, 0, 0);
	p->owner_id = db_int(res, 0, 1);
	p->owner = arena_strdup(f->arena, db_val(res, 0, 2));
	p->name = arena_strdup(f->arena, db_val(res, 0, 3));
	p->description = arena_strdup(f->arena, db_val(res, 0, 4));
	p->default_branch = arena_strdup(f->arena, db_val(res, 0, 5));
	p->is_private = db_bool(res, 0, 6);
	p->created_at = arena_strdup(f->arena, db_val(res, 0, 7));
	p->role = repo_role_parse(db_val(res, 0, 8));
	p->issues_open = db_bool(res, 0, 9);
	p->disk_path = repo_store_path(f->arena, p->id);
	*out = p;
	return 0;
}

/* "h:owner/name", lowercased (names are case-insensitive). */
static void hint_key(char out[512], const char *owner, const char *name)
{
	snprintf(out, 512, "h:%s/%s", owner, name);
	for (char *q = out; *q; q++)
		*q = (char)tolower((unsigned char)*q);
}

void repo_hint_put(const char *owner, const char *name, int64_t id, bool is_private, int ttl_ms)
{
	char key[512], val[64];
	hint_key(key, owner, name);
	int n = snprintf(val, sizeof(val), "%lld %d", (long long)id, is_private);
	cache_put(key, val, (size_t)n, NULL, NULL, NULL, ttl_ms);
}

bool repo_hint_get(const char *owner, const char *name, int64_t *id, bool *is_private)
{
	char key[512];
	hint_key(key, owner, name);
	const struct cache_entry *e = cache_get(key);
	if (!e)
		return false;
	long long v = 0;
	int priv = 1;
	bool ok = sscanf(e->data, "%lld %d", &v, &priv) == 2;
	cache_unref(e);
	*id = v;
	*is_private = priv != 0;
	return ok;
}

void repo_hint_forget(const char *owner, const char *name)
{
	char key[512];
	hint_key(key, owner, name);
	cache_drop(key);
}
