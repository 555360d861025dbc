/* authz.c — credentials and the one authorization decision (auth.h). */
#include "auth/auth.h"
#include "auth/session.h"
#include "base/util.h"
#include "db/db.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{ "repo:read", SCOPE_REPO_READ },
	{ "repo:write", SCOPE_REPO_WRITE },
	{ "user", SCOPE_USER },
	{ "admin", SCOPE_ADMIN },
};
#define NSCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

static unsigned imply(unsigned m)
{
	if (m & SCOPE_ADMIN)
		m |= SCOPE_ALL;
	if (m & SCOPE_REPO_WRITE)
		m |= SCOPE_REPO_READ;
	return m;
}

static int scope_one(const char *s, size_t n, unsigned *m, struct err *e)
{
	for (size_t i = 0; i < NSCOPES; i++)
		if (strlen(scope_names[i].name) == n && !strncmp(scope_names[i].name, s, n)) {
			*m |= scope_names[i].bit;
			return 0;
		}
	return err_set(e, ERR_INVALID, "invalid_scope",
		       "unknown scope '%.*s' (use repo:read, repo:write, user, admin)",
		       (int)(n > 40 ? 40 : n), s);
}

int scopes_parse(const char *csv, unsigned *out, struct err *e)
{
	unsigned m = 0;
	const char *p = csv;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n && scope_one(p, n, &m, e))
			return e->code;
		p = end ? end + 1 : NULL;
	}
	if (!m)
		return err_set(e, ERR_INVALID, "invalid_scope", "a token needs at least one scope");
	*out = imply(m);
	return 0;
}

int scopes_parse_json(json_t *arr, unsigned *out, struct err *e)
{
	if (!json_is_array(arr))
		return err_set(e, ERR_INVALID, "invalid_scope", "scopes must be an array of strings");
	unsigned m = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return err_set(e, ERR_INVALID, "invalid_scope", "scopes must be strings");
		if (scope_one(json_string_value(v), json_string_length(v), &m, e))
			return e->code;
	}
	if (!m)
		return err_set(e, ERR_INVALID, "invalid_scope", "a token needs at least one scope");
	*out = imply(m);
	return 0;
}

const char *scopes_pg_array(struct arena *a, unsigned mask)
{
	struct buf b = BUF_INIT;
	buf_addch(&b, '{');
	for (size_t i = 0; i < NSCOPES; i++)
		if (mask & scope_names[i].bit)
			buf_addf(&b, "%s\"%s\"", b.len > 1 ? "," : "", scope_names[i].name);
	buf_addch(&b, '}');
	const char *s = arena_strdup(a, b.ptr);
	buf_release(&b);
	return s;
}

unsigned scopes_from_pg(const char *arr)
{
	unsigned m = 0;
	for (size_t i = 0; arr && i < NSCOPES; i++) {
		const char *n = scope_names[i].name;
		const char *p = arr;
		while ((p = strstr(p, n))) {
			char before = p == arr ? '{' : p[-1];
			char after = p[strlen(n)];
			if ((before == '{' || before == ',' || before == '"') &&
			    (after == '}' || after == ',' || after == '"')) {
				m |= scope_names[i].bit;
				break;
			}
			p++;
		}
	}
	return imply(m);
}

json_t *scopes_json(unsigned mask)
{
	json_t *a = json_array();
	for (size_t i = 0; i < NSCOPES; i++)
		if (mask & scope_names[i].bit)
			json_array_append_new(a, json_string(scope_names[i].name));
	return a;
}

const char *scope_name(unsigned mask)
{
	for (size_t i = NSCOPES; i-- > 0;)
		if (mask & scope_names[i].bit)
			return scope_names[i].name;
	return "repo:read";
}

int token_create(PGconn *db, struct arena *a, struct err *e, int64_t user_id, const char *name,
		 unsigned scopes, const char *expires_at, const char **secret, int64_t *id)
{
	char *tok = random_token("plue_", 20);
	char hash[65];
	sha256_hex(hash, tok, strlen(tok));
	const char *sec = arena_strdup(a, tok);
	free(tok);
	char uid[24];
	snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO access_tokens (user_id, name, token_hash, scopes, expires_at) "
			      "VALUES ($1, $2, $3, $4::text[], $5::timestamptz) RETURNING id",
			      uid, name, hash, scopes_pg_array(a, scopes), expires_at);
	if (!res)
		return e->code;
	*secret = sec;
	if (id)
		*id = db_int(res, 0, 0);
	return 0;
}

/* Extracts the token from the Authorization header; NULL if none. */
static const char *bearer(struct req *r)
{
	const char *h = req_header(r, "Authorization");
	if (!h)
		return NULL;
	if (!strncasecmp(h, "Bearer ", 7))
		return h + 7;
	if (!strncasecmp(h, "token ", 6))
		return h + 6;
	if (!strncasecmp(h, "Basic ", 6)) {
		const char *b64 = h + 6;
		size_t n = strlen(b64);
		if (n > 1024)
			return "";
		unsigned char *out = arena_alloc(r->arena, n + 4);
		int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
		if (len < 0)
			return "";
		/* EVP_DecodeBlock counts padding bytes as data */
		while (n && b64[n - 1] == '=') {
			len--;
			n--;
		}
		out[len] = '\0';
		char *colon = strchr((char *)out, ':');
		/* the user name is ignored: the token says who this is */
		return colon ? colon + 1 : "";
	}
	return "";
}

int auth_resolve(struct req *r)
{
	memset(&r->auth, 0, sizeof(r->auth));
	const char *tok = bearer(r);
	if (!tok) {
		/* a browser: the session cookie, when there is one */
		const char *cookie = req_cookie(r, SESSION_COOKIE);
		return cookie ? session_resolve(r, cookie) : 0;
	}
	while (*tok == ' ')
		tok++;
	if (!*tok || strlen(tok) > 200)
		return err_set(&r->err, ERR_AUTH, "invalid_token", "invalid or expired token");
	char hash[65];
	sha256_hex(hash, tok, strlen(tok));
	if (!strncmp(tok, "plue_task_", 10)) {
		/* a runner's task token: one repository, read (write when the
		 * workflow asked for it), alive while its workload runs */
		PGresult *tr = db_qv(
			r->db, r->arena, &r->err,
			"SELECT w.repo_id, w.may_write, "
			"  coalesce(w.spec->'permissions'->>'issues' = 'write', false), "
			"  coalesce(w.spec->'permissions'->>'pull_requests' = 'write', false), "
			"  coalesce(w.spec->'permissions'->>'statuses' = 'write', false), "
			"  w.type = 'agent', coalesce(u.id, 0), coalesce(u.is_admin, false), "
			"  coalesce(c.role, '') "
			"FROM workloads w LEFT JOIN users u ON u.id = w.actor_id "
			"LEFT JOIN collaborators c ON c.repo_id = w.repo_id "
			"  AND c.user_id = w.actor_id "
			"WHERE w.task_token_hash = $1 "
			"AND w.status IN ('claimed', 'running') AND w.repo_id IS NOT NULL",
			hash);
		if (!tr)
			return r->err.code;
		if (PQntuples(tr) != 1)
			return err_set(&r->err, ERR_AUTH, "invalid_token",
				       "invalid or expired token");
		r->auth.via = AUTH_TASK;
		r->auth.task_repo_id = db_int(tr, 0, 0);
		r->auth.task_areas = (db_bool(tr, 0, 1) ? AREA_CONTENTS : 0) |
				     (db_bool(tr, 0, 2) ? AREA_ISSUES : 0) |
				     (db_bool(tr, 0, 3) ? AREA_PULLS : 0) |
				     (db_bool(tr, 0, 4) ? AREA_STATUSES : 0);
		r->auth.task_agent = db_bool(tr, 0, 5);
		r->auth.task_actor_id = db_int(tr, 0, 6);
		r->auth.task_actor_admin = db_bool(tr, 0, 7);
		r->auth.task_actor_role = arena_strdup(r->arena, db_val(tr, 0, 8));
		r->auth.scopes = SCOPE_REPO_READ | (r->auth.task_areas ? SCOPE_REPO_WRITE : 0);
		return 0;
	}
	PGresult *res = db_qv(
		r->db, r->arena, &r->err,
		"SELECT t.id, t.user_id, u.username, u.is_admin, t.scopes, "
		"  (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute') "
		"FROM access_tokens t JOIN users u ON u.id = t.user_id "
		"WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > now())",
		hash);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_AUTH, "invalid_token", "invalid or expired token");
	r->auth.via = AUTH_TOKEN;
	r->auth.token_id = db_int(res, 0, 0);
	r->auth.user_id = db_int(res, 0, 1);
	r->auth.username = arena_strdup(r->arena, db_val(res, 0, 2));
	r->auth.is_admin = db_bool(res, 0, 3);
	r->auth.scopes = scopes_from_pg(db_val(res, 0, 4));
	if (!(r->auth.scopes & SCOPE_ADMIN))
		r->auth.is_admin = false; /* a token never does more than its scopes */
	if (db_bool(res, 0, 5))           /* last use is kept to the minute */
		db_qv(r->db, r->arena, NULL,
		      "UPDATE access_tokens SET last_used_at = now() WHERE id = $1",
		      db_val(res, 0, 0));
	return 0;
}

/* The permission of a job that grants an area, for messages. */
static const char *area_permission(unsigned area)
{
	return area & AREA_CONTENTS ? "contents: write"
	       : area & AREA_ISSUES ? "issues: write"
	       : area & AREA_PULLS  ? "pull_requests: write"
				    : "statuses: write";
}

/* A task token: its own repository, read, and writes in the areas its
 * job's permissions grant; nothing else. */
static int authz_task(const struct auth *a, const struct repo *repo, enum repo_action act,
		      unsigned areas, struct err *e)
{
	if (a->task_repo_id != repo->id && repo->is_private)
		return err_set(e, ERR_NOTFOUND, NULL, "repository '%s/%s' not found", repo->owner,
			       repo->name);
	if (act == ACT_READ)
		return 0;
	if (a->task_repo_id != repo->id || act == ACT_ADMIN || !areas)
		return err_set(e, ERR_PERM, NULL,
			       "a task token may only push and write what its job's permissions "
			       "grant in repository '%s/%s'",
			       repo->owner, repo->name);
	unsigned missing = areas & ~a->task_areas;
	if (missing)
		return err_set(e, ERR_PERM, "insufficient_scope",
			       "this task token lacks the %s permission", area_permission(missing));
	return 0;
}

/* An agent's task token: the task's limits, and in its own repository
 * no more than its actor may (a reader's agent cannot push). */
static int authz_agent(const struct auth *a, const struct repo *repo, enum repo_action act,
		       unsigned areas, struct err *e)
{
	int rc = authz_task(a, repo, act, areas, e);
	if (rc || a->task_repo_id != repo->id)
		return rc;
	if (authz_user_may(repo, a->task_actor_id, a->task_actor_admin, a->task_actor_role, act))
		return 0;
	if (act == ACT_READ)
		return err_set(e, ERR_NOTFOUND, NULL, "repository '%s/%s' not found", repo->owner,
			       repo->name);
	return err_set(e, ERR_PERM, NULL,
		       "this agent acts for a user without %s access to repository '%s/%s'",
		       act == ACT_WRITE ? "write" : "admin", repo->owner, repo->name);
}

int authz_repo(const struct auth *a, const struct repo *repo, enum repo_action act, struct err *e)
{
	return authz_repo_area(a, repo, act, 0, e);
}

int authz_repo_area(const struct auth *a, const struct repo *repo, enum repo_action act,
		    unsigned areas, struct err *e)
{
	enum repo_role role = ROLE_NONE;
	unsigned scopes = a->via == AUTH_TOKEN ? a->scopes : SCOPE_ALL;
	if (a->via == AUTH_TASK)
		return a->task_agent ? authz_agent(a, repo, act, areas, e)
				     : authz_task(a, repo, act, areas, e);
	if (a->user_id) {
		if (a->is_admin)
			role = ROLE_ADMIN;
		else if (a->user_id == repo->owner_id)
			role = ROLE_ADMIN;
		else
			role = repo->role;
	}
	bool can_read = !repo->is_private || (role >= ROLE_READ && (scopes & SCOPE_REPO_READ));
	if (!can_read)
		return err_set(e, ERR_NOTFOUND, NULL, "repository '%s/%s' not found", repo->owner,
			       repo->name);
	if (act == ACT_READ)
		return 0;
	if (!a->user_id)
		return err_set(e, ERR_AUTH, NULL, "sign in to change repository '%s/%s'",
			       repo->owner, repo->name);
	enum repo_role need = act == ACT_WRITE ? ROLE_WRITE : ROLE_ADMIN;
	if (role < need)
		return err_set(e, ERR_PERM, NULL, "%s access to repository '%s/%s' is required",
			       act == ACT_WRITE ? "write" : "admin", repo->owner, repo->name);
	if (!(scopes & SCOPE_REPO_WRITE))
		return err_set(e, ERR_PERM, "insufficient_scope",
			       "this token lacks the repo:write scope");
	return 0;
}

enum repo_role repo_role_parse(const char *text)
{
	return !strcmp(text, "admin")   ? ROLE_ADMIN
	       : !strcmp(text, "write") ? ROLE_WRITE
	       : !strcmp(text, "read")  ? ROLE_READ
					: ROLE_NONE;
}

bool authz_user_may(const struct repo *repo, int64_t user_id, bool is_admin, const char *role,
		    enum repo_action act)
{
	struct auth who = {
		.via = AUTH_SESSION, .user_id = user_id, .is_admin = is_admin, .scopes = SCOPE_ALL
	};
	struct repo rp = *repo;
	rp.role = repo_role_parse(role);
	struct err scratch = { 0 };
	return authz_repo(&who, &rp, act, &scratch) == 0;
}
