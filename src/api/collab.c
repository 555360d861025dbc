/* collab.c — the pieces issues, comments, labels, milestones, reactions
 * (and later pull requests and reviews) share: issue numbering, the event
 * outbox, mentions and cross-references, Markdown bodies, who may do
 * what, body validation and cursor pagination. See collab.h. */
#include "api/collab.h"
#include "api/api.h"
#include "auth/auth.h"
#include "base/config.h"
#include "base/util.h"
#include "db/db.h"
#include "web/markdown.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *num(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

/* NULL for 0, so optional foreign keys become SQL NULL. */
static const char *num_or_null(struct arena *a, long long v)
{
	return v ? num(a, v) : NULL;
}

const char *collab_url(struct arena *a, const char *path)
{
	return arena_printf(a, "%s%s", cfg.public_url ? cfg.public_url : "", path);
}

/* ---- rows and events ---- */

int collab_event(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, const char *type,
		 int64_t actor_id, json_t *payload)
{
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!text)
		return err_set(e, ERR_INTERNAL, NULL, "cannot encode the '%s' event", type);
	PGresult *res = db_qv(db, a, e,
			      "WITH ev AS (INSERT INTO events (repo_id, type, actor_id, payload) "
			      "  VALUES ($1, $2, $3, $4::jsonb) RETURNING id) "
			      "SELECT pg_notify('plue_events', id::text) FROM ev",
			      num(a, (long long)repo_id), type, num_or_null(a, (long long)actor_id),
			      text);
	free(text);
	return res ? 0 : e->code;
}

int issue_insert(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, int64_t author_id,
		 const char *title, const char *body, bool is_pull, struct issue *out)
{
	const char *rid = num(a, (long long)repo_id);
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO repo_counters (repo_id, last_issue) VALUES ($1, 1) "
			      "ON CONFLICT (repo_id) DO UPDATE SET last_issue = "
			      "repo_counters.last_issue + 1 RETURNING last_issue",
			      rid);
	if (!res)
		return e->code;
	const char *number = arena_strdup(a, db_val(res, 0, 0));
	res = db_qv(db, a, e,
		    "INSERT INTO issues (repo_id, number, is_pull, title, body, author_id) "
		    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
		    rid, number, is_pull ? "true" : "false", title, body,
		    num_or_null(a, (long long)author_id));
	if (!res)
		return e->code;
	*out = (struct issue){
		.id = db_int(res, 0, 0),
		.number = strtoll(number, NULL, 10),
		.title = arena_strdup(a, title),
		.body = arena_strdup(a, body),
		.state = "open",
		.is_pull = is_pull,
		.author_id = author_id,
	};
	return 0;
}

int issue_event_add(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		    int64_t issue_id, int64_t actor_id, const char *type, json_t *data)
{
	char *text = json_dumps(data ? data : json_object(), JSON_COMPACT);
	if (data)
		json_decref(data);
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO issue_events (issue_id, repo_id, actor_id, type, data) "
			      "VALUES ($1, $2, $3, $4, $5::jsonb)",
			      num(a, (long long)issue_id), num(a, (long long)repo_id),
			      num_or_null(a, (long long)actor_id), type, text ? text : "{}");
	free(text);
	return res ? 0 : e->code;
}

json_t *collab_repo_payload(const struct repo *repo)
{
	return json_pack("{s:s,s:s,s:s++,s:b}", "owner", repo->owner, "name", repo->name,
			 "full_name", repo->owner, "/", repo->name, "private", repo->is_private);
}

json_t *collab_issue_payload(const struct repo *repo, const struct issue *is)
{
	char path[600];
	snprintf(path, sizeof(path), "/%s/%s/issues/%lld", repo->owner, repo->name,
		 (long long)is->number);
	char *api = xasprintf("%s/api%s", cfg.public_url ? cfg.public_url : "", path);
	char *html = xasprintf("%s%s", cfg.public_url ? cfg.public_url : "", path);
	json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "number",
			      (json_int_t)is->number, "title", is->title ? is->title : "", "body",
			      is->body ? is->body : "", "state", is->state ? is->state : "open",
			      "author", is->author ? is->author : "ghost", "pull_request",
			      is->is_pull, "url", api, "html_url", html);
	free(api);
	free(html);
	return j;
}

/* The issue row and its author by id, for payloads. */
static int issue_by_id(PGconn *db, struct arena *a, struct err *e, int64_t id, struct issue *out)
{
	PGresult *res = db_qv(db, a, e,
			      "SELECT i.id, i.number, i.title, i.body, i.state, i.is_pull, "
			      "  coalesce(i.author_id, 0), coalesce(u.username, 'ghost'), "
			      "  coalesce(i.milestone_id, 0) "
			      "FROM issues i LEFT JOIN users u ON u.id = i.author_id WHERE i.id = $1",
			      num(a, (long long)id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return err_set(e, ERR_NOTFOUND, NULL, "issue %lld not found", (long long)id);
	*out = (struct issue){
		.id = db_int(res, 0, 0),
		.number = db_int(res, 0, 1),
		.title = db_val(res, 0, 2),
		.body = db_val(res, 0, 3),
		.state = db_val(res, 0, 4),
		.is_pull = db_bool(res, 0, 5),
		.author_id = db_int(res, 0, 6),
		.author = db_val(res, 0, 7),
		.milestone_id = db_int(res, 0, 8),
	};
	return 0;
}

static const char *username_of(PGconn *db, struct arena *a, int64_t id)
{
	if (!id)
		return NULL;
	PGresult *res = db_qv(db, a, NULL, "SELECT username FROM users WHERE id = $1",
			      num(a, (long long)id));
	return res && PQntuples(res) == 1 ? db_val(res, 0, 0) : NULL;
}

/* Can user (id, admin flag, collaborator role text) read repo? */
static bool user_can_read(const struct repo *repo, int64_t user_id, bool is_admin,
			  const char *role)
{
	return authz_user_may(repo, user_id, is_admin, role, ACT_READ);
}

int mentions_record(PGconn *db, struct arena *a, struct err *e, const struct repo *repo,
		    int64_t issue_id, int64_t comment_id, int64_t actor_id, const char *body)
{
	struct md_refs refs;
	int rc = 0;
	markdown_refs(body ? body : "", body ? strlen(body) : 0, &refs);
	if (!refs.nmentions)
		goto done;
	struct issue is;
	if ((rc = issue_by_id(db, a, e, issue_id, &is)))
		goto done;
	const char *sender = username_of(db, a, actor_id);
	for (size_t i = 0; i < refs.nmentions; i++) {
		PGresult *u = db_qv(db, a, e,
				    "SELECT u.id, u.username, u.is_admin, coalesce(c.role, '') "
				    "FROM users u LEFT JOIN collaborators c ON c.repo_id = $2 "
				    "  AND c.user_id = u.id WHERE lower(u.username) = lower($1)",
				    refs.mentions[i], num(a, (long long)repo->id));
		if (!u) {
			rc = e->code;
			goto done;
		}
		if (PQntuples(u) != 1)
			continue; /* not a user: just text */
		int64_t uid = db_int(u, 0, 0);
		if (uid == actor_id || !user_can_read(repo, uid, db_bool(u, 0, 2), db_val(u, 0, 3)))
			continue;
		PGresult *m = db_qv(db, a, e,
				    "INSERT INTO mentions (user_id, repo_id, issue_id, comment_id, by_id) "
				    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
				    num(a, (long long)uid), num(a, (long long)repo->id),
				    num(a, (long long)issue_id), num_or_null(a, (long long)comment_id),
				    num_or_null(a, (long long)actor_id));
		if (!m) {
			rc = e->code;
			goto done;
		}
		if (PQntuples(m) == 0)
			continue; /* mentioned in this body before */
		json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s?}", "action", "mentioned",
				      "user", db_val(u, 0, 1), "where",
				      comment_id ? "comment" : is.is_pull ? "pull_request" : "issue",
				      "body", body, "issue", collab_issue_payload(repo, &is),
				      "repository", collab_repo_payload(repo), "sender", sender);
		if (comment_id) {
			const char *path = arena_printf(a, "/%s/%s/issues/%lld#comment-%lld",
							repo->owner, repo->name, (long long)is.number,
							(long long)comment_id);
			json_object_set_new(p, "comment",
					    json_pack("{s:I,s:s,s:s}", "id", (json_int_t)comment_id,
						      "body", body, "html_url", collab_url(a, path)));
		}
		if ((rc = collab_event(db, a, e, repo->id, "mention", actor_id, p)))
			goto done;
	}
done:
	md_refs_release(&refs);
	return rc;
}

int issue_refs_record(PGconn *db, struct arena *a, struct err *e, const struct repo *repo,
		      int64_t source_issue_id, int64_t comment_id, const char *commit_sha,
		      int64_t actor_id, const char *body)
{
	struct md_refs refs;
	int rc = 0;
	markdown_refs(body ? body : "", body ? strlen(body) : 0, &refs);
	if (!refs.nissues)
		goto done;
	struct issue src = { 0 };
	if (source_issue_id && (rc = issue_by_id(db, a, e, source_issue_id, &src)))
		goto done;
	for (size_t i = 0; i < refs.nissues; i++) {
		PGresult *t = db_qv(db, a, e,
				    "SELECT id FROM issues WHERE repo_id = $1 AND number = $2",
				    num(a, (long long)repo->id), num(a, refs.issues[i]));
		if (!t) {
			rc = e->code;
			goto done;
		}
		if (PQntuples(t) != 1 || db_int(t, 0, 0) == source_issue_id)
			continue;
		const char *target = db_val(t, 0, 0);
		const char *src_num = source_issue_id ? num(a, (long long)src.number) : NULL;
		const char *cid = num_or_null(a, (long long)comment_id);
		PGresult *seen = db_qv(db, a, e,
				       "SELECT 1 FROM issue_events WHERE issue_id = $1 AND type = "
				       "'referenced' AND data->'source'->>'number' IS NOT DISTINCT FROM $2 "
				       "AND data->>'comment_id' IS NOT DISTINCT FROM $3 "
				       "AND data->>'commit' IS NOT DISTINCT FROM $4",
				       target, src_num, cid, commit_sha);
		if (!seen) {
			rc = e->code;
			goto done;
		}
		if (PQntuples(seen))
			continue;
		json_t *data = json_object();
		if (source_issue_id)
			json_object_set_new(data, "source",
					    json_pack("{s:I,s:s,s:b}", "number", (json_int_t)src.number,
						      "title", src.title, "pull_request", src.is_pull));
		if (comment_id)
			json_object_set_new(data, "comment_id", json_integer((json_int_t)comment_id));
		if (commit_sha)
			json_object_set_new(data, "commit", json_string(commit_sha));
		if ((rc = issue_event_add(db, a, e, repo->id, strtoll(target, NULL, 10), actor_id,
					  "referenced", data)))
			goto done;
	}
done:
	md_refs_release(&refs);
	return rc;
}

/* ---- loading and JSON ---- */

int issue_load(struct req *r, const char *number, bool lock, struct issue *out)
{
	int64_t n;
	if (parse_i64(number, 1, INT64_MAX, &n))
		return err_set(&r->err, ERR_NOTFOUND, NULL, "issue '%s/%s#%.40s' not found",
			       r->repo->owner, r->repo->name, number);
	const char *rid = num(r->arena, (long long)r->repo->id), *ns = num(r->arena, (long long)n);
#define ISSUE_LOAD_SQL                                                                     \
	"SELECT i.id, i.number, i.title, i.body, i.state, i.is_pull, coalesce(i.author_id, 0), " \
	"  coalesce(u.username, 'ghost'), coalesce(i.milestone_id, 0) "                     \
	"FROM issues i LEFT JOIN users u ON u.id = i.author_id "                             \
	"WHERE i.repo_id = $1 AND i.number = $2"
	PGresult *res = lock ? db_qv(r->db, r->arena, &r->err, ISSUE_LOAD_SQL " FOR NO KEY UPDATE OF i",
				     rid, ns)
			     : db_qv(r->db, r->arena, &r->err, ISSUE_LOAD_SQL, rid, ns);
#undef ISSUE_LOAD_SQL
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "issue '%s/%s#%lld' not found",
			       r->repo->owner, r->repo->name, (long long)n);
	*out = (struct issue){
		.id = db_int(res, 0, 0),
		.number = db_int(res, 0, 1),
		.title = db_val(res, 0, 2),
		.body = db_val(res, 0, 3),
		.state = db_val(res, 0, 4),
		.is_pull = db_bool(res, 0, 5),
		.author_id = db_int(res, 0, 6),
		.author = db_val(res, 0, 7),
		.milestone_id = db_int(res, 0, 8),
	};
	return 0;
}

static json_t *json_text(const char *s, const char *fallback)
{
	json_t *j = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : json_loads(fallback, JSON_DECODE_ANY, NULL);
}

const char *const collab_reaction_names[] = { "+1",    "-1",    "laugh",  "hooray", "confused",
					       "heart", "rocket", "eyes",   NULL };

bool collab_reaction_valid(const char *s)
{
	for (const char *const *p = collab_reaction_names; *p; p++)
		if (!strcmp(*p, s))
			return true;
	return false;
}

/* {"total_count": n, "+1": n, ...} from a JSON object of counts. */
static json_t *reactions_summary(const char *counts)
{
	json_t *c = json_text(counts, "{}"), *out = json_object();
	json_int_t total = 0;
	json_object_set_new(out, "total_count", json_integer(0));
	for (const char *const *p = collab_reaction_names; *p; p++) {
		json_int_t n = json_integer_value(json_object_get(c, *p));
		total += n;
		json_object_set_new(out, *p, json_integer(n));
	}
	json_object_set_new(out, "total_count", json_integer(total));
	json_decref(c);
	return out;
}

json_t *collab_reactions_json(const char *counts)
{
	return reactions_summary(counts);
}

json_t *issue_row_json(struct req *r, PGresult *res, int row)
{
	long long number = db_int(res, row, 1);
	const char *path = arena_printf(r->arena, "/%s/%s/issues/%lld", r->repo->owner,
					r->repo->name, number);
	const char *body = db_val(res, row, 3);
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:b,s:I,s:s,s:s,s:s,s:s}",
			      "id", (json_int_t)db_int(res, row, 0), "number", (json_int_t)number,
			      "title", db_val(res, row, 2), "body", body, "body_html",
			      collab_html(r, body), "state", db_val(res, row, 4), "author",
			      db_val(res, row, 6) ? db_val(res, row, 6) : "ghost", "pull_request",
			      db_bool(res, row, 5), "comments", (json_int_t)db_int(res, row, 14),
			      "created_at", db_val(res, row, 9), "updated_at", db_val(res, row, 10),
			      "url", collab_url(r->arena, arena_printf(r->arena, "/api%s", path)),
			      "html_url", collab_url(r->arena, path));
	const char *closed_by = db_val(res, row, 7), *closed_at = db_val(res, row, 8);
	json_object_set_new(j, "closed_by", closed_by ? json_string(closed_by) : json_null());
	json_object_set_new(j, "closed_at", closed_at ? json_string(closed_at) : json_null());
	json_object_set_new(j, "labels", json_text(db_val(res, row, 11), "[]"));
	json_object_set_new(j, "assignees", json_text(db_val(res, row, 12), "[]"));
	json_object_set_new(j, "milestone", json_text(db_val(res, row, 13), "null"));
	json_object_set_new(j, "reactions", reactions_summary(db_val(res, row, 15)));
	return j;
}

int issue_json_get(struct req *r, int64_t issue_id, json_t **out)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT " ISSUE_COLUMNS " FROM " ISSUE_FROM " WHERE i.id = $1",
			      num(r->arena, (long long)issue_id));
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_NOTFOUND, NULL, "issue %lld not found", (long long)issue_id);
	*out = issue_row_json(r, res, 0);
	return 0;
}

/* ---- Markdown ---- */

/* Which of a body's references exist: two queries whatever their number.
 * Mention names hold only [A-Za-z0-9._-], so the array literal needs no
 * escaping. */
static void link_resolve(void *ctx, const struct md_refs *refs, bool *user_ok, bool *issue_ok)
{
	struct req *r = ctx;
	struct buf b = BUF_INIT;
	if (refs->nmentions) {
		buf_addch(&b, '{');
		for (size_t i = 0; i < refs->nmentions; i++)
			buf_addf(&b, "%s\"%s\"", i ? "," : "", refs->mentions[i]);
		buf_addch(&b, '}');
		PGresult *res = db_qv(r->db, r->arena, NULL,
				      "SELECT lower(username) FROM users WHERE lower(username) = "
				      "ANY(SELECT lower(x) FROM unnest($1::text[]) x)",
				      b.ptr);
		for (int k = 0; res && k < PQntuples(res); k++)
			for (size_t i = 0; i < refs->nmentions; i++)
				if (!strcasecmp(refs->mentions[i], db_val(res, k, 0)))
					user_ok[i] = true;
	}
	if (refs->nissues && r->repo) {
		buf_reset(&b);
		buf_addch(&b, '{');
		for (size_t i = 0; i < refs->nissues; i++)
			buf_addf(&b, "%s%lld", i ? "," : "", refs->issues[i]);
		buf_addch(&b, '}');
		PGresult *res = db_qv(r->db, r->arena, NULL,
				      "SELECT number FROM issues WHERE repo_id = $1 AND "
				      "number = ANY($2::bigint[])",
				      num(r->arena, (long long)r->repo->id), b.ptr);
		for (int k = 0; res && k < PQntuples(res); k++)
			for (size_t i = 0; i < refs->nissues; i++)
				if (refs->issues[i] == db_int(res, k, 0))
					issue_ok[i] = true;
	}
	buf_release(&b);
}

json_t *collab_html(struct req *r, const char *body)
{
	if (!body || !*body)
		return json_string("");
	struct md_links links = {
		.base = cfg.public_url ? cfg.public_url : "",
		.owner = r->repo ? r->repo->owner : NULL,
		.repo = r->repo ? r->repo->name : NULL,
		.resolve = r->db ? link_resolve : NULL,
		.ctx = r,
	};
	char *html = markdown_render(body, strlen(body), &links);
	json_t *j = json_string(html);
	free(html);
	return j ? j : json_string("");
}

/* ---- permissions ---- */

bool collab_is_writer(struct req *r)
{
	struct err scratch = { 0 };
	return r->repo && authz_repo(&r->auth, r->repo, ACT_WRITE, &scratch) == 0;
}

int collab_require_writer(struct req *r, const char *what)
{
	struct err scratch = { 0 };
	int rc = authz_repo(&r->auth, r->repo, ACT_WRITE, &scratch);
	if (!rc)
		return 0;
	if (scratch.code != ERR_PERM)
		return err_set(&r->err, scratch.code, scratch.slug[0] ? scratch.slug : NULL, "%s",
			       scratch.msg);
	return err_set(&r->err, ERR_PERM, NULL, "write access to repository '%s/%s' is required to %s",
		       r->repo->owner, r->repo->name, what);
}

int collab_can_participate(struct req *r)
{
	if (!r->auth.user_id)
		return err_set(&r->err, ERR_AUTH, NULL, "authentication required");
	if (r->repo->issues_open || collab_is_writer(r))
		return 0;
	return err_set(&r->err, ERR_PERM, "issues_restricted",
		       "only writers may open issues, comment or react in repository '%s/%s'",
		       r->repo->owner, r->repo->name);
}

int collab_require_author(struct req *r, int64_t author_id, const char *fmt, ...)
{
	if (collab_is_writer(r))
		return 0;
	if (r->auth.user_id && author_id == r->auth.user_id)
		return collab_can_participate(r);
	char msg[sizeof(r->err.msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(&r->err, ERR_PERM, NULL, "%s", msg);
}

/* ---- fields ---- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int collab_title_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *s = NULL;
	int rc = json_str_field(r, field, required, SIZE_MAX, &s);
	if (rc || !s)
		return rc;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return err_set(&r->err, ERR_INVALID, "invalid_field", "field '%s' must not be empty",
			       field);
	char *t = arena_strndup(r->arena, s, n);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field '%s' must not contain control characters", field);
	if (utf8_chars(t) > COLLAB_TITLE_MAX)
		return err_set(&r->err, ERR_INVALID, "invalid_field",
			       "field '%s' is longer than %d characters", field, COLLAB_TITLE_MAX);
	*out = t;
	return 0;
}

int collab_body_field(struct req *r, const char *field, bool required, const char **out)
{
	const char *s = NULL;
	int rc = json_str_field(r, field, required, SIZE_MAX, &s);
	if (rc || !s)
		return rc;
	if (utf8_chars(s) > COLLAB_BODY_MAX)
		return err_set(&r->err, ERR_TOOLARGE, NULL, "field '%s' is longer than %d characters",
			       field, COLLAB_BODY_MAX);
	if (required) {
		const char *p = s;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return err_set(&r->err, ERR_INVALID, "invalid_field",
				       "field '%s' must not be empty", field);
	}
	*out = s;
	return 0;
}

int collab_user_find(struct req *r, const char *name, int64_t *id, const char **canonical)
{
	PGresult *res = db_qv(r->db, r->arena, &r->err,
			      "SELECT id, username FROM users WHERE lower(username) = lower($1)", name);
	if (!res)
		return r->err.code;
	if (PQntuples(res) != 1)
		return err_set(&r->err, ERR_INVALID, "unknown_user", "user '%.100s' does not exist",
			       name);
	*id = db_int(res, 0, 0);
	if (canonical)
		*canonical = db_val(res, 0, 1);
	return 0;
}

/* ---- cursors: base64url of "TAG|KEY|ID" ---- */

static const char *cursor_encode(struct arena *a, const char *tag, long long key, long long id)
{
	char plain[160];
	int n = snprintf(plain, sizeof(plain), "%s|%lld|%lld", tag, key, id);
	char *out = arena_alloc(a, 4 * ((size_t)n + 2) / 3 + 4);
	int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain, n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static int cursor_decode(struct arena *a, const char *tag, const char *s, struct cursor *cur)
{
	size_t n = strlen(s);
	if (n == 0 || n > 200)
		return -1;
	char *b64 = arena_alloc(a, n + 4);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum((unsigned char)c))
			return -1;
		b64[i] = c;
	}
	while (n % 4)
		b64[n++] = '=';
	unsigned char *plain = arena_alloc(a, n);
	int len = EVP_DecodeBlock(plain, (unsigned char *)b64, (int)n);
	if (len < 0)
		return -1;
	plain[len] = '\0'; /* padding decodes to trailing NULs, which end the string */
	size_t tl = strlen(tag);
	if (strncmp((char *)plain, tag, tl) || plain[tl] != '|')
		return -1;
	char *p = (char *)plain + tl + 1, *end;
	long long key = strtoll(p, &end, 10);
	if (end == p || *end != '|')
		return -1;
	p = end + 1;
	long long id = strtoll(p, &end, 10);
	if (end == p || *end)
		return -1;
	*cur = (struct cursor){ true, key, id };
	return 0;
}

int collab_page(struct req *r, const char *tag, int max, int *limit, struct cursor *cur)
{
	const char *l = req_query(r, "limit"), *c = req_query(r, "cursor");
	int64_t v = COLLAB_PAGE_DEFAULT < max ? COLLAB_PAGE_DEFAULT : max;
	if (l && parse_i64(l, 1, max, &v))
		return err_set(&r->err, ERR_INVALID, "invalid_limit",
			       "limit '%.20s' is not a number from 1 to %d", l, max);
	*limit = (int)v;
	memset(cur, 0, sizeof(*cur));
	if (c && *c && cursor_decode(r->arena, tag, c, cur))
		return err_set(&r->err, ERR_INVALID, "invalid_cursor",
			       "cursor '%.40s' is not valid for this list", c);
	return 0;
}

void collab_next_page(struct req *r, struct resp *w, const char *tag, long long key,
		      long long id)
{
	const char *c = cursor_encode(r->arena, tag, key, id);
	struct buf b = BUF_INIT;
	/* the same path and query, with cursor replaced */
	const char *q = strchr(r->path, '?');
	buf_add(&b, r->path, q ? (size_t)(q - r->path) : strlen(r->path));
	char sep = '?';
	for (size_t i = 0; i < r->nquery; i++) {
		if (!strcmp(r->query[i].name, "cursor"))
			continue;
		buf_addch(&b, sep);
		sep = '&';
		for (const char *p = r->query[i].name; *p; p++)
			buf_addf(&b, isalnum((unsigned char)*p) || strchr("-_.~", *p) ? "%c" : "%%%02X",
				 (unsigned char)*p);
		buf_addch(&b, '=');
		for (const char *p = r->query[i].value; *p; p++)
			buf_addf(&b, isalnum((unsigned char)*p) || strchr("-_.~", *p) ? "%c" : "%%%02X",
				 (unsigned char)*p);
	}
	buf_addf(&b, "%ccursor=%s", sep, c);
	resp_header(w, "Link",
		    arena_printf(r->arena, "<%s>; rel=\"next\"", collab_url(r->arena, b.ptr)));
	resp_header(w, "X-Next-Cursor", c);
	buf_release(&b);
}
