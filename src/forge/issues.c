/* issues.c — issue rows, their numbers and timeline, mentions and
 * cross-references, Markdown bodies, event payload pieces, and who may
 * take part (see issues.h). */
#include "forge/issues.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/util.h"
#include "web/markdown.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *forge_url(struct arena *a, const char *path)
{
	return arena_printf(a, "%s%s", cfg.public_url ? cfg.public_url : "", path);
}

/* ---- rows and events ---- */

int issue_insert(struct issue *out, struct forge *f, int64_t repo_id, const char *title,
		 const char *body, bool is_pull)
{
	const char *rid = arena_int(f->arena, (long long)repo_id);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO repo_counters (repo_id, last_issue) VALUES ($1, 1) "
			      "ON CONFLICT (repo_id) DO UPDATE SET last_issue = "
			      "repo_counters.last_issue + 1 RETURNING last_issue",
			      rid);
	if (!res)
		return f->err->code;
	const char *number = arena_strdup(f->arena, db_val(res, 0, 0));
	res = db_qv(f->db, f->arena, f->err,
		    "INSERT INTO issues (repo_id, number, is_pull, title, body, author_id) "
		    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
		    rid, number, is_pull ? "true" : "false", title, body,
		    arena_id(f->arena, (long long)f->who->user_id));
	if (!res)
		return f->err->code;
	*out = (struct issue){
		.id = db_int(res, 0, 0),
		.number = strtoll(number, NULL, 10),
		.title = arena_strdup(f->arena, title),
		.body = arena_strdup(f->arena, body),
		.state = "open",
		.is_pull = is_pull,
		.author_id = f->who->user_id,
	};
	return 0;
}

int issue_event_add(struct forge *f, int64_t repo_id, int64_t issue_id, const char *type,
		    json_t *data)
{
	char *text = json_dumps(data ? data : json_object(), JSON_COMPACT);
	if (data)
		json_decref(data);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "INSERT INTO issue_events (issue_id, repo_id, actor_id, type, data) "
			      "VALUES ($1, $2, $3, $4, $5::jsonb)",
			      arena_int(f->arena, (long long)issue_id),
			      arena_int(f->arena, (long long)repo_id),
			      arena_id(f->arena, (long long)f->who->user_id), type,
			      text ? text : "{}");
	free(text);
	return res ? 0 : f->err->code;
}

json_t *repo_payload(const struct repo *repo)
{
	return json_pack("{s:s,s:s,s:s++,s:b}", "owner", repo->owner, "name", repo->name,
			 "full_name", repo->owner, "/", repo->name, "private", repo->is_private);
}

json_t *issue_payload(const struct repo *repo, const struct issue *is)
{
	char path[600];
	snprintf(path, sizeof(path), "/%s/%s/issues/%lld", repo->owner, repo->name,
		 (long long)is->number);
	char *api = xasprintf("%s/api%s", cfg.public_url ? cfg.public_url : "", path);
	char *html = xasprintf("%s%s", cfg.public_url ? cfg.public_url : "", path);
	json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:b,s:s,s:s}", "number", (json_int_t)is->number,
			      "title", is->title ? is->title : "", "body", is->body ? is->body : "",
			      "state", is->state ? is->state : "open", "author",
			      is->author ? is->author : "ghost", "pull_request", is->is_pull, "url",
			      api, "html_url", html);
	free(api);
	free(html);
	return j;
}

int repo_event(struct forge *f, const struct repo *repo, const char *type, const char *action,
	       json_t *fields)
{
	json_t *p = fields ? fields : json_object();
	json_object_set_new(p, "action", json_string(action));
	json_object_set_new(p, "repository", repo_payload(repo));
	json_object_set_new(p, "sender",
			    f->who->username ? json_string(f->who->username) : json_null());
	return forge_event(NULL, f, repo->id, type, p);
}

/* The columns of struct issue (alias i, the author u) and their row. */
#define ISSUE_ROW_SQL                                                                              \
	"SELECT i.id, i.number, i.title, i.body, i.state, i.is_pull, coalesce(i.author_id, 0), "   \
	"  coalesce(u.username, 'ghost'), coalesce(i.milestone_id, 0) "                            \
	"FROM issues i LEFT JOIN users u ON u.id = i.author_id "

static struct issue issue_row(PGresult *res)
{
	return (struct issue){
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
}

/* The issue row and its author by id, for payloads. */
static int issue_by_id(struct issue *out, struct forge *f, int64_t id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err, ISSUE_ROW_SQL "WHERE i.id = $1",
			      arena_int(f->arena, (long long)id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue %lld not found", (long long)id);
	*out = issue_row(res);
	return 0;
}

/* User name (ignoring case) with what authz_user_may needs of them for
 * repo: id, username, is_admin, collaborator role text ('' for none).
 * No row when there is no such user; NULL on a database error. */
static PGresult *user_with_role(struct forge *f, const struct repo *repo, const char *name)
{
	return db_qv(f->db, f->arena, f->err,
		     "SELECT u.id, u.username, u.is_admin, coalesce(c.role, '') "
		     "FROM users u LEFT JOIN collaborators c ON c.repo_id = $2 "
		     "  AND c.user_id = u.id WHERE lower(u.username) = lower($1)",
		     name, arena_int(f->arena, (long long)repo->id));
}

int mentions_record(struct forge *f, const struct repo *repo, int64_t issue_id, int64_t comment_id,
		    const char *body)
{
	struct md_refs refs;
	int rc = 0;
	markdown_refs(body ? body : "", body ? strlen(body) : 0, &refs);
	if (!refs.nmentions)
		goto done;
	struct issue is;
	if ((rc = issue_by_id(&is, f, issue_id)))
		goto done;
	for (size_t i = 0; i < refs.nmentions; i++) {
		PGresult *u = user_with_role(f, repo, refs.mentions[i]);
		if (!u) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(u) != 1)
			continue; /* not a user: just text */
		int64_t uid = db_int(u, 0, 0);
		if (uid == f->who->user_id ||
		    !authz_user_may(repo, uid, db_bool(u, 0, 2), db_val(u, 0, 3), ACT_READ))
			continue;
		PGresult *m = db_qv(f->db, f->arena, f->err,
				    "INSERT INTO mentions (user_id, repo_id, issue_id, comment_id, by_id) "
				    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
				    arena_int(f->arena, (long long)uid),
				    arena_int(f->arena, (long long)repo->id),
				    arena_int(f->arena, (long long)issue_id),
				    arena_id(f->arena, (long long)comment_id),
				    arena_id(f->arena, (long long)f->who->user_id));
		if (!m) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(m) == 0)
			continue; /* mentioned in this body before */
		json_t *p = json_pack("{s:s,s:s,s:s,s:o}", "user", db_val(u, 0, 1), "where",
				      comment_id   ? "comment"
				      : is.is_pull ? "pull_request"
						   : "issue",
				      "body", body, "issue", issue_payload(repo, &is));
		if (comment_id) {
			const char *path = arena_printf(f->arena, "/%s/%s/issues/%lld#comment-%lld",
							repo->owner, repo->name,
							(long long)is.number, (long long)comment_id);
			json_object_set_new(p, "comment",
					    json_pack("{s:I,s:s,s:s}", "id", (json_int_t)comment_id,
						      "body", body, "html_url",
						      forge_url(f->arena, path)));
		}
		if ((rc = repo_event(f, repo, "mention", "mentioned", p)))
			goto done;
	}
done:
	md_refs_release(&refs);
	return rc;
}

int issue_refs_record(struct forge *f, const struct repo *repo, int64_t source_issue_id,
		      int64_t comment_id, const char *commit_sha, const char *body)
{
	struct md_refs refs;
	int rc = 0;
	markdown_refs(body ? body : "", body ? strlen(body) : 0, &refs);
	if (!refs.nissues)
		goto done;
	struct issue src = { 0 };
	if (source_issue_id && (rc = issue_by_id(&src, f, source_issue_id)))
		goto done;
	for (size_t i = 0; i < refs.nissues; i++) {
		PGresult *t = db_qv(f->db, f->arena, f->err,
				    "SELECT id FROM issues WHERE repo_id = $1 AND number = $2",
				    arena_int(f->arena, (long long)repo->id),
				    arena_int(f->arena, refs.issues[i]));
		if (!t) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(t) != 1 || db_int(t, 0, 0) == source_issue_id)
			continue;
		const char *target = db_val(t, 0, 0);
		const char *src_num = source_issue_id ? arena_int(f->arena, (long long)src.number)
						      : NULL;
		const char *cid = arena_id(f->arena, (long long)comment_id);
		PGresult *seen = db_qv(f->db, f->arena, f->err,
				       "SELECT 1 FROM issue_events WHERE issue_id = $1 AND type = "
				       "'referenced' AND data->'source'->>'number' IS NOT DISTINCT FROM $2 "
				       "AND data->>'comment_id' IS NOT DISTINCT FROM $3 "
				       "AND data->>'commit' IS NOT DISTINCT FROM $4",
				       target, src_num, cid, commit_sha);
		if (!seen) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(seen))
			continue;
		json_t *data = json_object();
		if (source_issue_id)
			json_object_set_new(data, "source",
					    json_pack("{s:I,s:s,s:b}", "number",
						      (json_int_t)src.number, "title", src.title,
						      "pull_request", src.is_pull));
		if (comment_id)
			json_object_set_new(data, "comment_id", json_integer((json_int_t)comment_id));
		if (commit_sha)
			json_object_set_new(data, "commit", json_string(commit_sha));
		if ((rc = issue_event_add(f, repo->id, strtoll(target, NULL, 10), "referenced", data)))
			goto done;
	}
done:
	md_refs_release(&refs);
	return rc;
}

/* ---- loading and JSON ---- */

int issue_get(struct issue *out, struct forge *f, const struct repo *repo, const char *number,
	      bool lock)
{
	int64_t n;
	if (parse_i64(number, 1, INT64_MAX, &n))
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue '%s/%s#%.40s' not found",
			       repo->owner, repo->name, number);
	const char *rid = arena_int(f->arena, (long long)repo->id),
		   *ns = arena_int(f->arena, (long long)n);
#define ISSUE_LOAD_SQL ISSUE_ROW_SQL "WHERE i.repo_id = $1 AND i.number = $2"
	PGresult *res = lock ? db_qv(f->db, f->arena, f->err,
				     ISSUE_LOAD_SQL " FOR NO KEY UPDATE OF i", rid, ns)
			     : db_qv(f->db, f->arena, f->err, ISSUE_LOAD_SQL, rid, ns);
#undef ISSUE_LOAD_SQL
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue '%s/%s#%lld' not found",
			       repo->owner, repo->name, (long long)n);
	*out = issue_row(res);
	return 0;
}

int issue_state_set(struct forge *f, int64_t issue_id, const char *state)
{
	const char *id = arena_int(f->arena, (long long)issue_id);
	PGresult *res =
		strcmp(state, "closed")
			? db_qv(f->db, f->arena, f->err,
				"UPDATE issues SET state = 'open', closed_by = NULL, closed_at = NULL, "
				"updated_at = now() WHERE id = $1",
				id)
			: db_qv(f->db, f->arena, f->err,
				"UPDATE issues SET state = 'closed', closed_by = $2, closed_at = now(), "
				"updated_at = now() WHERE id = $1",
				id, arena_id(f->arena, (long long)f->who->user_id));
	return res ? 0 : f->err->code;
}

static json_t *json_text(const char *s, const char *fallback)
{
	json_t *j = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
	return j ? j : json_loads(fallback, JSON_DECODE_ANY, NULL);
}

const char *const reaction_names[] = { "+1",    "-1",     "laugh", "hooray", "confused",
				       "heart", "rocket", "eyes",  NULL };

bool reaction_valid(const char *s)
{
	for (const char *const *p = reaction_names; *p; p++)
		if (!strcmp(*p, s))
			return true;
	return false;
}

json_t *reactions_json(const char *counts)
{
	json_t *c = json_text(counts, "{}"), *out = json_object();
	json_int_t total = 0;
	json_object_set_new(out, "total_count", json_integer(0));
	for (const char *const *p = reaction_names; *p; p++) {
		json_int_t n = json_integer_value(json_object_get(c, *p));
		total += n;
		json_object_set_new(out, *p, json_integer(n));
	}
	json_object_set_new(out, "total_count", json_integer(total));
	json_decref(c);
	return out;
}

/* issue_row_json, with body_html only when html (rendering the Markdown
 * is the costly part of a row). */
static json_t *row_json(struct forge *f, const struct repo *repo, PGresult *res, int row, bool html)
{
	long long number = db_int(res, row, ISSUE_COL_NUMBER);
	const char *path = arena_printf(f->arena, "/%s/%s/issues/%lld", repo->owner, repo->name,
					number);
	const char *body = db_val(res, row, ISSUE_COL_BODY);
	const char *author = db_val(res, row, ISSUE_COL_AUTHOR);
	json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:b,s:I,s:s,s:s,s:s,s:s}", "id",
			      (json_int_t)db_int(res, row, ISSUE_COL_ID), "number",
			      (json_int_t)number, "title", db_val(res, row, ISSUE_COL_TITLE), "body",
			      body, "body_html", html ? forge_html(f, repo, body) : json_null(),
			      "state", db_val(res, row, ISSUE_COL_STATE), "author",
			      author ? author : "ghost", "pull_request",
			      db_bool(res, row, ISSUE_COL_IS_PULL), "comments",
			      (json_int_t)db_int(res, row, ISSUE_COL_COMMENTS), "created_at",
			      db_val(res, row, ISSUE_COL_CREATED_AT), "updated_at",
			      db_val(res, row, ISSUE_COL_UPDATED_AT), "url",
			      forge_url(f->arena, arena_printf(f->arena, "/api%s", path)),
			      "html_url", forge_url(f->arena, path));
	const char *closed_by = db_val(res, row, ISSUE_COL_CLOSED_BY);
	const char *closed_at = db_val(res, row, ISSUE_COL_CLOSED_AT);
	json_object_set_new(j, "closed_by", closed_by ? json_string(closed_by) : json_null());
	json_object_set_new(j, "closed_at", closed_at ? json_string(closed_at) : json_null());
	json_object_set_new(j, "labels", json_text(db_val(res, row, ISSUE_COL_LABELS), "[]"));
	json_object_set_new(j, "assignees", json_text(db_val(res, row, ISSUE_COL_ASSIGNEES), "[]"));
	json_object_set_new(j, "milestone", json_text(db_val(res, row, ISSUE_COL_MILESTONE), "null"));
	json_object_set_new(j, "reactions", reactions_json(db_val(res, row, ISSUE_COL_REACTIONS)));
	if (!html)
		json_object_del(j, "body_html");
	return j;
}

json_t *issue_row_json(struct forge *f, const struct repo *repo, PGresult *res, int row)
{
	return row_json(f, repo, res, row, true);
}

int issue_json_get(json_t **out, struct forge *f, const struct repo *repo, int64_t issue_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " ISSUE_COLUMNS " FROM " ISSUE_FROM " WHERE i.id = $1",
			      arena_int(f->arena, (long long)issue_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue %lld not found",
			       (long long)issue_id);
	*out = issue_row_json(f, repo, res, 0);
	return 0;
}

/* ---- Markdown ---- */

/* Which of a body's references exist: two queries whatever their number.
 * Mention names hold only [A-Za-z0-9._-], so the array literal needs no
 * escaping. */
/* What link_resolve needs. */
struct link_ctx {
	struct forge *f;
	const struct repo *repo;
};

static void link_resolve(void *ctx, const struct md_refs *refs, bool *user_ok, bool *issue_ok)
{
	const struct link_ctx *lc = ctx;
	struct forge *f = lc->f;
	const struct repo *repo = lc->repo;
	struct buf b = BUF_INIT;
	if (refs->nmentions) {
		buf_addch(&b, '{');
		for (size_t i = 0; i < refs->nmentions; i++)
			buf_addf(&b, "%s\"%s\"", i ? "," : "", refs->mentions[i]);
		buf_addch(&b, '}');
		PGresult *res = db_qv(f->db, f->arena, NULL,
				      "SELECT lower(username) FROM users WHERE lower(username) = "
				      "ANY(SELECT lower(x) FROM unnest($1::text[]) x)",
				      b.ptr);
		for (int k = 0; res && k < PQntuples(res); k++)
			for (size_t i = 0; i < refs->nmentions; i++)
				if (!strcasecmp(refs->mentions[i], db_val(res, k, 0)))
					user_ok[i] = true;
	}
	if (refs->nissues && repo) {
		buf_reset(&b);
		buf_addch(&b, '{');
		for (size_t i = 0; i < refs->nissues; i++)
			buf_addf(&b, "%s%lld", i ? "," : "", refs->issues[i]);
		buf_addch(&b, '}');
		PGresult *res = db_qv(f->db, f->arena, NULL,
				      "SELECT number FROM issues WHERE repo_id = $1 AND "
				      "number = ANY($2::bigint[])",
				      arena_int(f->arena, (long long)repo->id), b.ptr);
		for (int k = 0; res && k < PQntuples(res); k++)
			for (size_t i = 0; i < refs->nissues; i++)
				if (refs->issues[i] == db_int(res, k, 0))
					issue_ok[i] = true;
	}
	buf_release(&b);
}

json_t *forge_html(struct forge *f, const struct repo *repo, const char *body)
{
	if (!body || !*body)
		return json_string("");
	struct link_ctx lc = { f, repo };
	struct md_links links = {
		.base = cfg.public_url ? cfg.public_url : "",
		.owner = repo ? repo->owner : NULL,
		.repo = repo ? repo->name : NULL,
		.resolve = f->db ? link_resolve : NULL,
		.ctx = &lc,
	};
	char *html = markdown_render(body, strlen(body), &links);
	json_t *j = json_string(html);
	free(html);
	return j ? j : json_string("");
}

/* ---- permissions ---- */

bool forge_is_writer(struct forge *f, const struct repo *repo)
{
	struct err scratch = { 0 };
	return repo && authz_repo(f->who, repo, ACT_WRITE, &scratch) == 0;
}

int forge_require_writer(struct forge *f, const struct repo *repo, const char *what)
{
	struct err scratch = { 0 };
	int rc = authz_repo(f->who, repo, ACT_WRITE, &scratch);
	if (!rc)
		return 0;
	if (scratch.code != ERR_PERM)
		return err_set(f->err, scratch.code, scratch.slug[0] ? scratch.slug : NULL, "%s",
			       scratch.msg);
	return err_set(f->err, ERR_PERM, NULL,
		       "write access to repository '%s/%s' is required to %s", repo->owner,
		       repo->name, what);
}

int forge_can_participate(struct forge *f, const struct repo *repo)
{
	int rc = authz_repo(f->who, repo, ACT_READ, f->err);
	if (rc)
		return rc;
	if (!f->who->user_id)
		return err_set(f->err, ERR_AUTH, NULL, "authentication required");
	if (repo->issues_open || forge_is_writer(f, repo))
		return 0;
	return err_set(f->err, ERR_PERM, "issues_restricted",
		       "only writers may open issues, comment or react in repository '%s/%s'",
		       repo->owner, repo->name);
}

int forge_require_author(struct forge *f, const struct repo *repo, int64_t author_id,
			 const char *fmt, ...)
{
	if (forge_is_writer(f, repo))
		return 0;
	if (f->who->user_id && author_id == f->who->user_id)
		return forge_can_participate(f, repo);
	char msg[sizeof(f->err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(f->err, ERR_PERM, NULL, "%s", msg);
}

int user_find(int64_t *id, const char **canonical, struct forge *f, const char *name)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, username FROM users WHERE lower(username) = lower($1)",
			      name);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_INVALID, "unknown_user", "user '%.100s' does not exist",
			       name);
	*id = db_int(res, 0, 0);
	if (canonical)
		*canonical = db_val(res, 0, 1);
	return 0;
}

/* ---- input rules ---- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int forge_title_check(const char **out, struct forge *f, const char *field, const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return err_set(f->err, ERR_INVALID, "invalid_field", "field '%s' must not be empty",
			       field);
	char *t = arena_strndup(f->arena, s, n);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return err_set(f->err, ERR_INVALID, "invalid_field",
				       "field '%s' must not contain control characters", field);
	if (utf8_chars(t) > ISSUE_TITLE_MAX)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field '%s' is longer than %d characters", field, ISSUE_TITLE_MAX);
	*out = t;
	return 0;
}

int forge_body_check(struct forge *f, const char *field, const char *s, bool required)
{
	if (utf8_chars(s) > ISSUE_BODY_MAX)
		return err_set(f->err, ERR_TOOLARGE, NULL,
			       "field '%s' is longer than %d characters", field, ISSUE_BODY_MAX);
	if (required) {
		const char *p = s;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return err_set(f->err, ERR_INVALID, "invalid_field",
				       "field '%s' must not be empty", field);
	}
	return 0;
}

int forge_state_check(struct forge *f, const char *state)
{
	if (!strcmp(state, "open") || !strcmp(state, "closed"))
		return 0;
	return err_set(f->err, ERR_INVALID, "invalid_state",
		       "state '%s' is not one of open, closed", state);
}

/* ---- labels, assignees, milestone of an issue ---- */

/* A label, assignee or milestone named in a request, resolved to its row. */
struct named {
	int64_t id;
	const char *name;
	const char *color; /* labels */
	long long number;  /* milestones */
};

struct named_list {
	struct named *v;
	size_t n;
};

/* The sets of a request resolved to rows. */
struct sets_resolved {
	struct named_list labels, assignees;
	struct named milestone; /* id 0: none */
};

static bool named_has(const struct named_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return true;
	return false;
}

/* At most max names, each at most 200 bytes. */
static int names_check(struct forge *f, const char *field, const char *const *v, size_t n, size_t max)
{
	if (n > max)
		return err_set(f->err, ERR_INVALID, "invalid_field",
			       "field '%s' has more than %zu entries", field, max);
	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]) > 200)
			return err_set(f->err, ERR_INVALID, "invalid_field",
				       "field '%s' must be an array of strings", field);
	return 0;
}

static int label_find(struct named *out, struct forge *f, const struct repo *repo, const char *name)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT id, name, color FROM labels WHERE repo_id = $1 AND "
			      "lower(name) = lower($2)",
			      arena_int(f->arena, (long long)repo->id), name);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_INVALID, "unknown_label",
			       "label '%.100s' does not exist", name);
	*out = (struct named){ db_int(res, 0, 0), db_val(res, 0, 1), db_val(res, 0, 2), 0 };
	return 0;
}

/* A user who can read the repository, by name. */
static int assignee_find(struct named *out, struct forge *f, const struct repo *repo,
			 const char *name)
{
	PGresult *u = user_with_role(f, repo, name);
	if (!u)
		return f->err->code;
	if (PQntuples(u) != 1)
		return err_set(f->err, ERR_INVALID, "unknown_user", "user '%.100s' does not exist",
			       name);
	if (!authz_user_may(repo, db_int(u, 0, 0), db_bool(u, 0, 2), db_val(u, 0, 3), ACT_READ))
		return err_set(f->err, ERR_INVALID, "invalid_assignee",
			       "user '%s' cannot be assigned: they cannot read '%s/%s'",
			       db_val(u, 0, 1), repo->owner, repo->name);
	*out = (struct named){ db_int(u, 0, 0), db_val(u, 0, 1), NULL, 0 };
	return 0;
}

/* Names of field (labels, assignees) → rows through find, in order,
 * without duplicates; at most max. */
static int names_resolve(struct named_list *out, struct forge *f, const struct repo *repo,
			 const char *field, size_t max, const char *const *names, size_t n,
			 int (*find)(struct named *, struct forge *, const struct repo *,
				     const char *))
{
	int rc;
	if ((rc = names_check(f, field, names, n, max)))
		return rc;
	out->v = arena_alloc(f->arena, (n + 1) * sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct named one;
		if ((rc = find(&one, f, repo, names[i])))
			return rc;
		if (!named_has(out, one.id))
			out->v[out->n++] = one;
	}
	return 0;
}

/* A milestone number → its row. */
static int milestone_resolve(struct named *out, struct forge *f, const struct repo *repo,
			     int64_t number)
{
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT id, title, number FROM milestones WHERE repo_id = $1 AND number = $2",
		arena_int(f->arena, (long long)repo->id), arena_int(f->arena, (long long)number));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_INVALID, "unknown_milestone",
			       "milestone %lld does not exist", (long long)number);
	*out = (struct named){ db_int(res, 0, 0), db_val(res, 0, 1), NULL, db_int(res, 0, 2) };
	return 0;
}

/* Checks who may set what and resolves the names, in the order labels,
 * assignees, milestone. */
static int sets_resolve(struct sets_resolved *out, struct forge *f, const struct repo *repo,
			const struct issue_sets *in)
{
	int rc;
	memset(out, 0, sizeof(*out));
	if (in->has_labels && ((rc = forge_require_writer(f, repo, "set labels")) ||
			       (rc = names_resolve(&out->labels, f, repo, "labels", ISSUE_LABELS_MAX,
						   in->labels, in->nlabels, label_find))))
		return rc;
	if (in->has_assignees &&
	    ((rc = forge_require_writer(f, repo, "assign users")) ||
	     (rc = names_resolve(&out->assignees, f, repo, "assignees", ISSUE_ASSIGNEES_MAX,
				 in->assignees, in->nassignees, assignee_find))))
		return rc;
	if (in->has_milestone &&
	    ((rc = forge_require_writer(f, repo, "set milestones")) ||
	     (!in->milestone_none &&
	      (rc = milestone_resolve(&out->milestone, f, repo, in->milestone)))))
		return rc;
	return 0;
}

/* An outbox event about an issue: extra (stolen; NULL: none) with the
 * issue added, by repo_event. */
static int issue_outbox(struct forge *f, const struct repo *repo, const struct issue *is,
			const char *type, const char *action, json_t *extra)
{
	json_t *p = extra ? extra : json_object();
	json_object_set_new(p, "issue", issue_payload(repo, is));
	return repo_event(f, repo, type, action, p);
}

/* A timeline row and its issue.KIND outbox event together. Steals data. */
static int issue_change(struct forge *f, const struct repo *repo, const struct issue *is,
			const char *kind, json_t *data)
{
	int rc = issue_event_add(f, repo->id, is->id, kind, json_incref(data));
	if (!rc)
		rc = issue_outbox(f, repo, is, arena_printf(f->arena, "issue.%s", kind), kind,
				  json_incref(data));
	json_decref(data);
	return rc;
}

/* One of an issue's sets (its labels, its assignees): how its members are
 * read, removed and added, and what each change writes to the timeline. */
struct set_kind {
	const char *list_sql;        /* $1 issue id → member id, name, color (or NULL) */
	const char *remove_sql;      /* $1 issue id, $2 member id */
	const char *add_sql;         /* $1 issue id, $2 member id; a row when it was added */
	const char *added, *removed; /* timeline kinds */
	json_t *(*payload)(const char *name, const char *color);
};

static json_t *label_change(const char *name, const char *color)
{
	return json_pack("{s:{s:s,s:s}}", "label", "name", name, "color", color);
}

static json_t *assignee_change(const char *name, const char *color)
{
	(void)color;
	return json_pack("{s:s}", "assignee", name);
}

static const struct set_kind set_labels = {
	"SELECT l.id, l.name, l.color FROM issue_labels il JOIN labels l "
	"ON l.id = il.label_id WHERE il.issue_id = $1",
	"DELETE FROM issue_labels WHERE issue_id = $1 AND label_id = $2",
	"INSERT INTO issue_labels (issue_id, label_id) VALUES ($1, $2) "
	"ON CONFLICT DO NOTHING RETURNING label_id",
	"labeled",
	"unlabeled",
	label_change,
};

static const struct set_kind set_assignees = {
	"SELECT u.id, u.username, NULL FROM issue_assignees a JOIN users u "
	"ON u.id = a.user_id WHERE a.issue_id = $1",
	"DELETE FROM issue_assignees WHERE issue_id = $1 AND user_id = $2",
	"INSERT INTO issue_assignees (issue_id, user_id) VALUES ($1, $2) "
	"ON CONFLICT DO NOTHING RETURNING user_id",
	"assigned",
	"unassigned",
	assignee_change,
};

/* Makes the set k of issue is exactly want: removals first, then
 * additions, a timeline row and event for each. */
static int set_apply(struct forge *f, const struct repo *repo, const struct issue *is,
		     const struct set_kind *k, const struct named_list *want)
{
	const char *iid = arena_int(f->arena, (long long)is->id);
	PGresult *cur = db_query(f->db, f->arena, f->err, k->list_sql, 1, &iid);
	if (!cur)
		return f->err->code;
	int rc = 0;
	for (int i = 0; i < PQntuples(cur) && !rc; i++) {
		if (named_has(want, db_int(cur, i, 0)))
			continue;
		if (!db_qv(f->db, f->arena, f->err, k->remove_sql, iid, db_val(cur, i, 0)))
			return f->err->code;
		rc = issue_change(f, repo, is, k->removed,
				  k->payload(db_val(cur, i, 1), db_val(cur, i, 2)));
	}
	for (size_t n = 0; n < want->n && !rc; n++) {
		PGresult *ins = db_qv(f->db, f->arena, f->err, k->add_sql, iid,
				      arena_int(f->arena, (long long)want->v[n].id));
		if (!ins)
			return f->err->code;
		if (PQntuples(ins))
			rc = issue_change(f, repo, is, k->added,
					  k->payload(want->v[n].name, want->v[n].color));
	}
	return rc;
}

static int milestone_apply(struct forge *f, const struct repo *repo, const struct issue *is,
			   const struct named *want)
{
	if (is->milestone_id == want->id)
		return 0;
	int rc = 0;
	if (is->milestone_id) {
		PGresult *old = db_qv(f->db, f->arena, f->err,
				      "SELECT number, title FROM milestones WHERE id = $1",
				      arena_int(f->arena, (long long)is->milestone_id));
		if (!old)
			return f->err->code;
		if (PQntuples(old) == 1)
			rc = issue_change(f, repo, is, "demilestoned",
					  json_pack("{s:{s:I,s:s}}", "milestone", "number",
						    (json_int_t)db_int(old, 0, 0), "title",
						    db_val(old, 0, 1)));
	}
	if (!rc &&
	    !db_qv(f->db, f->arena, f->err, "UPDATE issues SET milestone_id = $2 WHERE id = $1",
		   arena_int(f->arena, (long long)is->id), arena_id(f->arena, (long long)want->id)))
		return f->err->code;
	if (!rc && want->id)
		rc = issue_change(f, repo, is, "milestoned",
				  json_pack("{s:{s:I,s:s}}", "milestone", "number",
					    (json_int_t)want->number, "title", want->name));
	return rc;
}

static int sets_apply(struct forge *f, const struct repo *repo, const struct issue *is,
		      const struct issue_sets *in, const struct sets_resolved *s)
{
	int rc = 0;
	if (in->has_labels)
		rc = set_apply(f, repo, is, &set_labels, &s->labels);
	if (!rc && in->has_assignees)
		rc = set_apply(f, repo, is, &set_assignees, &s->assignees);
	if (!rc && in->has_milestone)
		rc = milestone_apply(f, repo, is, &s->milestone);
	return rc;
}

/* ---- issues ---- */

int issue_create(struct issue *out, struct forge *f, const struct repo *repo, const char *title,
		 const char *body, const struct issue_sets *sets)
{
	static const struct issue_sets none = { 0 };
	struct sets_resolved resolved;
	struct issue is;
	int rc;
	if (!body)
		body = "";
	if (!sets)
		sets = &none;
	if ((rc = forge_can_participate(f, repo)) ||
	    (rc = forge_title_check(&title, f, "title", title ? title : "")) ||
	    (rc = forge_body_check(f, "body", body, false)) ||
	    (rc = sets_resolve(&resolved, f, repo, sets)))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = issue_insert(&is, f, repo->id, title, body, false)))
		goto done;
	is.author = f->who->username;
	if ((rc = sets_apply(f, repo, &is, sets, &resolved)) ||
	    (rc = mentions_record(f, repo, is.id, 0, body)) ||
	    (rc = issue_refs_record(f, repo, is.id, 0, NULL, body)) ||
	    (rc = issue_outbox(f, repo, &is, "issue.opened", "opened",
			       json_pack("{s:s}", "body", body))))
		goto done;
	rc = db_commit(f->db, f->err);
done:
	if (rc)
		db_rollback(f->db);
	else
		*out = is;
	return rc;
}

int issue_edit(json_t **out, struct forge *f, const struct repo *repo, struct issue *is,
	       const char *title, const char *body)
{
	const char *iid = arena_int(f->arena, (long long)is->id);
	json_t *changes = json_object();
	int rc = 0;
	if (title && strcmp(title, is->title)) {
		if (!db_qv(f->db, f->arena, f->err, "UPDATE issues SET title = $2 WHERE id = $1",
			   iid, title)) {
			rc = f->err->code;
			goto done;
		}
		json_object_set_new(changes, "title", json_pack("{s:s}", "from", is->title));
		if ((rc = issue_event_add(f, repo->id, is->id, "renamed",
					  json_pack("{s:s,s:s}", "from", is->title, "to", title))))
			goto done;
		is->title = title;
	}
	if (body && strcmp(body, is->body)) {
		if (!db_qv(f->db, f->arena, f->err, "UPDATE issues SET body = $2 WHERE id = $1",
			   iid, body)) {
			rc = f->err->code;
			goto done;
		}
		json_object_set_new(changes, "body", json_pack("{s:s}", "from", is->body));
		is->body = body;
		if ((rc = mentions_record(f, repo, is->id, 0, body)) ||
		    (rc = issue_refs_record(f, repo, is->id, 0, NULL, body)))
			goto done;
	}
done:
	if (rc)
		json_decref(changes);
	else
		*out = changes;
	return rc;
}

int issue_update(struct issue *out, struct forge *f, const struct repo *repo, const char *number,
		 const struct issue_update *in)
{
	const char *title = in->title, *body = in->body, *state = in->state;
	struct sets_resolved resolved;
	json_t *changes = NULL;
	struct issue is;
	int rc;
	if ((title && (rc = forge_title_check(&title, f, "title", title))) ||
	    (body && (rc = forge_body_check(f, "body", body, false))) ||
	    (state && (rc = forge_state_check(f, state))))
		return rc;
	if ((rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = issue_get(&is, f, repo, number, true)))
		goto done;
	/* authors edit, close and reopen their own issues, when the
	 * repository lets readers take part at all */
	if ((rc = forge_require_author(f, repo, is.author_id,
				       "only the author or a writer may %s issue '%s/%s#%lld'",
				       state && !title && !body ? "close or reopen" : "edit",
				       repo->owner, repo->name, (long long)is.number)))
		goto done;
	if (state && is.is_pull && strcmp(state, is.state)) {
		/* merging, and what a merged pull request may do, are the pulls
		 * endpoint's rules */
		rc = err_set(f->err, ERR_INVALID, "pull_request",
			     "issue '%s/%s#%lld' is a pull request: close or reopen it with "
			     "PATCH /api/%s/%s/pulls/%lld",
			     repo->owner, repo->name, (long long)is.number, repo->owner, repo->name,
			     (long long)is.number);
		goto done;
	}
	if ((rc = sets_resolve(&resolved, f, repo, &in->sets)) ||
	    (rc = issue_edit(&changes, f, repo, &is, title, body)))
		goto done;
	if (json_object_size(changes) && (rc = issue_outbox(f, repo, &is, "issue.edited", "edited",
							    json_pack("{s:O}", "changes", changes))))
		goto done;
	if (state && strcmp(state, is.state)) {
		bool closing = !strcmp(state, "closed");
		if ((rc = issue_state_set(f, is.id, state)))
			goto done;
		is.state = state;
		if ((rc = issue_change(f, repo, &is, closing ? "closed" : "reopened", json_object())))
			goto done;
	}
	if ((rc = sets_apply(f, repo, &is, &in->sets, &resolved)))
		goto done;
	if (!db_qv(f->db, f->arena, f->err, "UPDATE issues SET updated_at = now() WHERE id = $1",
		   arena_int(f->arena, (long long)is.id))) {
		rc = f->err->code;
		goto done;
	}
	rc = db_commit(f->db, f->err);
done:
	json_decref(changes);
	if (rc)
		db_rollback(f->db);
	else
		*out = is;
	return rc;
}

int issue_read(json_t **out, struct forge *f, const struct repo *repo, const char *number)
{
	struct issue is;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (rc = issue_get(&is, f, repo, number, false)))
		return rc;
	return issue_json_get(out, f, repo, is.id);
}

/* ---- listing ---- */

/* The filters of a list, $1..$10 (the cursor's $9 and $10 on col). */
#define ISSUE_WHERE(col, cmp)                                                                           \
	" WHERE i.repo_id = $1 "                                                                        \
	"AND ($2::text IS NULL OR i.state = $2) "                                                       \
	"AND ($3::bigint[] IS NULL OR (SELECT count(*) FROM issue_labels il "                           \
	"  WHERE il.issue_id = i.id AND il.label_id = ANY($3::bigint[])) = cardinality($3::bigint[])) " \
	"AND ($4::bigint IS NULL "                                                                      \
	"  OR ($4 = 0 AND NOT EXISTS (SELECT 1 FROM issue_assignees a WHERE a.issue_id = i.id)) "       \
	"  OR ($4 = -1 AND EXISTS (SELECT 1 FROM issue_assignees a WHERE a.issue_id = i.id)) "          \
	"  OR EXISTS (SELECT 1 FROM issue_assignees a WHERE a.issue_id = i.id AND a.user_id = $4)) "    \
	"AND ($5::bigint IS NULL OR i.author_id = $5) "                                                 \
	"AND ($6::bigint IS NULL OR ($6 = 0 AND i.milestone_id IS NULL) "                               \
	"  OR ($6 = -1 AND i.milestone_id IS NOT NULL) OR i.milestone_id = $6) "                        \
	"AND ($7::text IS NULL OR i.title ILIKE $7 OR i.body ILIKE $7) "                                \
	"AND ($8::boolean IS NULL OR i.is_pull = $8) "                                                  \
	"AND ($9::bigint IS NULL OR (i." col ", i.id) " cmp                                             \
	" (" SQL_FROM_US("$9") ", $10::bigint)) "

#define ISSUE_LIST_SQL(col, cmp, dir)                                                              \
	"SELECT " ISSUE_COLUMNS " FROM " ISSUE_FROM ISSUE_WHERE(col, cmp) "ORDER BY i." col        \
									  " " dir ", i.id " dir    \
									  " LIMIT $11"

static const char *const issue_list_sql[2][2] = {
	{ ISSUE_LIST_SQL("created_at", "<", "DESC"), ISSUE_LIST_SQL("created_at", ">", "ASC") },
	{ ISSUE_LIST_SQL("updated_at", "<", "DESC"), ISSUE_LIST_SQL("updated_at", ">", "ASC") },
};

int issue_filter_parse(struct issue_filter *out, struct forge *f, const struct issue_query *in)
{
	const char *state = in->state, *sort = in->sort, *dir = in->direction, *type = in->type;
	memset(out, 0, sizeof(*out));
	if (!state || !strcmp(state, "open"))
		out->state = "open";
	else if (!strcmp(state, "all"))
		out->state = NULL;
	else if (!strcmp(state, "closed"))
		out->state = "closed";
	else
		return err_set(f->err, ERR_INVALID, "invalid_filter",
			       "state '%.20s' is not one of open, closed, all", state);
	if (sort && !strcmp(sort, "updated"))
		out->sort = ISSUE_SORT_UPDATED;
	else if (sort && strcmp(sort, "created"))
		return err_set(f->err, ERR_INVALID, "invalid_filter",
			       "sort '%.20s' is not one of created, updated", sort);
	if (dir && !strcmp(dir, "asc"))
		out->asc = true;
	else if (dir && strcmp(dir, "desc"))
		return err_set(f->err, ERR_INVALID, "invalid_filter",
			       "direction '%.20s' is not one of asc, desc", dir);
	if (type && !strcmp(type, "issues"))
		out->is_pull = "false";
	else if (type && !strcmp(type, "pulls"))
		out->is_pull = "true";
	else if (type && strcmp(type, "all"))
		return err_set(f->err, ERR_INVALID, "invalid_filter",
			       "type '%.20s' is not one of issues, pulls, all", type);
	if (in->q && strlen(in->q) > 256)
		return err_set(f->err, ERR_INVALID, "invalid_filter",
			       "q is longer than 256 characters");
	out->labels = in->labels;
	out->assignee = in->assignee;
	out->author = in->author;
	out->milestone = in->milestone;
	out->q = in->q;
	return 0;
}

/* "%text%" for ILIKE with %, _ and \ taken literally. */
static const char *like_pattern(struct arena *a, const char *q)
{
	char *out = arena_alloc(a, 2 * strlen(q) + 3), *p = out;
	*p++ = '%';
	for (; *q; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*p++ = '\\';
		*p++ = *q;
	}
	*p++ = '%';
	*p = '\0';
	return out;
}

/* "a,b" → a bigint[] literal of their ids (NULL when no name is given). */
static int labels_filter(const char **out, struct forge *f, const struct repo *repo, const char *csv)
{
	struct buf b = BUF_INIT;
	int rc = 0, count = 0;
	buf_addch(&b, '{');
	for (const char *p = csv; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (n) {
			struct named l;
			if (++count > ISSUE_LABELS_MAX) {
				rc = err_set(f->err, ERR_INVALID, "invalid_filter",
					     "at most %d labels may be given", ISSUE_LABELS_MAX);
				goto done;
			}
			if ((rc = label_find(&l, f, repo, arena_strndup(f->arena, p, n))))
				goto done;
			buf_addf(&b, "%s%lld", b.len > 1 ? "," : "", (long long)l.id);
		}
		if (!end)
			break;
		p = end + 1;
	}
	buf_addch(&b, '}');
	*out = count ? arena_strdup(f->arena, b.ptr) : NULL;
done:
	buf_release(&b);
	return rc;
}

/* "none" → "0" (no assignee, no milestone), "*" → "-1" (any); false for
 * other text. */
static bool filter_special(const char **out, const char *v)
{
	if (!strcmp(v, "none"))
		*out = "0";
	else if (!strcmp(v, "*"))
		*out = "-1";
	else
		return false;
	return true;
}

/* A username → the user's id (NULL or "": not given); special: "none"
 * and "*" too (filter_special). */
static int user_filter(const char **out, struct forge *f, const char *v, bool special)
{
	if (!v || !*v || (special && filter_special(out, v)))
		return 0;
	int64_t id;
	int rc = user_find(&id, NULL, f, v);
	if (!rc)
		*out = arena_int(f->arena, (long long)id);
	return rc;
}

/* milestone: "none", "*" (filter_special), else the id of the milestone
 * of that number or title. */
static int milestone_filter(const char **out, struct forge *f, const struct repo *repo, const char *v)
{
	if (!v || !*v || filter_special(out, v))
		return 0;
	int64_t n;
	bool numeric = !parse_i64(v, 1, INT64_MAX, &n);
	const char *rid = arena_int(f->arena, (long long)repo->id);
	PGresult *res = numeric ? db_qv(f->db, f->arena, f->err,
					"SELECT id FROM milestones WHERE repo_id = $1 AND number = $2",
					rid, v)
				: db_qv(f->db, f->arena, f->err,
					"SELECT id FROM milestones WHERE repo_id = $1 AND "
					"lower(title) = lower($2)",
					rid, v);
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_INVALID, "unknown_milestone",
			       "milestone '%.100s' does not exist", v);
	*out = arena_strdup(f->arena, db_val(res, 0, 0));
	return 0;
}

/* The query parameters $1..$8 of filter (ISSUE_WHERE), the names
 * resolved to ids. */
static int list_params(const char **params, struct forge *f, const struct repo *repo,
		       const struct issue_filter *filter)
{
	const char *labels = NULL, *assignee = NULL, *author_id = NULL, *milestone = NULL;
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)) ||
	    (filter->labels && (rc = labels_filter(&labels, f, repo, filter->labels))) ||
	    (rc = user_filter(&assignee, f, filter->assignee, true)) ||
	    (rc = user_filter(&author_id, f, filter->author, false)) ||
	    (rc = milestone_filter(&milestone, f, repo, filter->milestone)))
		return rc;
	params[0] = arena_int(f->arena, (long long)repo->id);
	params[1] = filter->state;
	params[2] = labels;
	params[3] = assignee;
	params[4] = author_id;
	params[5] = milestone;
	params[6] = filter->q && *filter->q ? like_pattern(f->arena, filter->q) : NULL;
	params[7] = filter->is_pull;
	return 0;
}

int issue_list(struct page *out, struct forge *f, const struct repo *repo,
	       const struct issue_filter *filter, int limit, const struct cursor *after)
{
	const char *params[11] = { 0 };
	int rc;
	if ((rc = list_params(params, f, repo, filter)))
		return rc;
	int by_updated = filter->sort == ISSUE_SORT_UPDATED;
	params[8] = after->set ? arena_int(f->arena, after->key) : NULL;
	params[9] = after->set ? arena_int(f->arena, after->id) : NULL;
	params[10] = arena_int(f->arena, limit + 1);
	PGresult *res = db_query(f->db, f->arena, f->err, issue_list_sql[by_updated][filter->asc],
				 11, params);
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	memset(out, 0, sizeof(*out));
	out->items = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(out->items, row_json(f, repo, res, i, !filter->no_html));
	if (n > limit)
		out->next = (struct cursor){
			true,
			db_int(res, limit - 1,
			       by_updated ? ISSUE_COL_UPDATED_US : ISSUE_COL_CREATED_US),
			db_int(res, limit - 1, ISSUE_COL_ID),
		};
	return 0;
}

int issue_count(int64_t *open, int64_t *closed, struct forge *f, const struct repo *repo,
		const struct issue_filter *filter)
{
	const char *params[10] = { 0 };
	struct issue_filter any = *filter;
	any.state = NULL;
	int rc;
	if ((rc = list_params(params, f, repo, &any)))
		return rc;
	PGresult *res = db_query(
		f->db, f->arena, f->err,
		"SELECT count(*) FILTER (WHERE i.state = 'open'), "
		"count(*) FILTER (WHERE i.state = 'closed') FROM issues i" ISSUE_WHERE("created_at",
										       "<"),
		10, params);
	if (!res)
		return f->err->code;
	*open = db_int(res, 0, 0);
	*closed = db_int(res, 0, 1);
	return 0;
}

/* ---- the timeline ---- */

/* Columns of the timeline query, in order. */
enum timeline_col {
	TL_KIND,
	TL_ID,
	TL_ACTOR,
	TL_TYPE,
	TL_BODY,
	TL_DATA,
	TL_CREATED_AT,
	TL_UPDATED_AT,
	TL_EDITED_AT,
	TL_CREATED_US,
	TL_ORDER,
};

int issue_timeline(struct page *out, struct forge *f, const struct repo *repo,
		   const struct issue *is, int limit, const struct cursor *after)
{
	int rc;
	if ((rc = authz_repo(f->who, repo, ACT_READ, f->err)))
		return rc;
	/* comments and events in time order; within one instant, by
	 * 2 * id + kind (a stable total order the cursor can resume from) */
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT t.kind, t.id, t.actor, t.type, t.body, t.data::text, " SQL_TS("t.created_at")
		", " SQL_TS("t.updated_at")
		", " SQL_TS("t.edited_at")
		", " SQL_US("t.created_at")
		", t.id * 2 + t.kind FROM ("
		"  SELECT 0 AS kind, c.id, u.username AS actor, 'commented' AS type, c.body, "
		"    NULL::jsonb AS data, c.created_at, c.updated_at, c.edited_at "
		"  FROM comments c LEFT JOIN users u ON u.id = c.author_id WHERE c.issue_id = $1 "
		"  UNION ALL "
		"  SELECT 1, e.id, u.username, e.type, NULL, e.data, e.created_at, NULL, NULL "
		"  FROM issue_events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.issue_id = $1"
		") t WHERE ($2::bigint IS NULL OR (t.created_at, t.id * 2 + t.kind) > "
		"(" SQL_FROM_US("$2")
		", $3::bigint)) "
		"ORDER BY t.created_at, t.id * 2 + t.kind LIMIT $4",
		arena_int(f->arena, (long long)is->id),
		after->set ? arena_int(f->arena, after->key) : NULL,
		after->set ? arena_int(f->arena, after->id) : NULL, arena_int(f->arena, limit + 1));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	memset(out, 0, sizeof(*out));
	out->items = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		const char *actor = db_val(res, i, TL_ACTOR);
		json_t *item = json_pack("{s:s,s:I,s:s,s:s}", "event", db_val(res, i, TL_TYPE),
					 "id", (json_int_t)db_int(res, i, TL_ID), "actor",
					 actor ? actor : "ghost", "created_at",
					 db_val(res, i, TL_CREATED_AT));
		if (db_int(res, i, TL_KIND) == 0) {
			const char *body = db_val(res, i, TL_BODY),
				   *edited = db_val(res, i, TL_EDITED_AT);
			json_object_set_new(item, "body", json_string(body));
			json_object_set_new(item, "body_html", forge_html(f, repo, body));
			json_object_set_new(item, "updated_at",
					    json_string(db_val(res, i, TL_UPDATED_AT)));
			json_object_set_new(item, "edited", json_boolean(edited != NULL));
			json_object_set_new(item, "edited_at",
					    edited ? json_string(edited) : json_null());
		} else {
			json_t *data = json_loads(db_val(res, i, TL_DATA), 0, NULL);
			if (json_is_object(data))
				json_object_update_missing(item, data);
			json_decref(data);
		}
		json_array_append_new(out->items, item);
	}
	if (n > limit)
		out->next = (struct cursor){ true, db_int(res, limit - 1, TL_CREATED_US),
					     db_int(res, limit - 1, TL_ORDER) };
	return 0;
}

/* ---- the caller's mentions ---- */

/* Columns of the mentions query, in order. */
enum mention_col {
	MN_ID,
	MN_OWNER,
	MN_REPO,
	MN_NUMBER,
	MN_TITLE,
	MN_IS_PULL,
	MN_COMMENT_ID,
	MN_BY,
	MN_CREATED_AT,
};

int mentions_list(struct page *out, struct forge *f, int limit, const struct cursor *after)
{
	if (!f->who->user_id)
		return err_set(f->err, ERR_AUTH, NULL, "authentication required");
	/* a token without repo:read sees public repositories only */
	bool see_private = f->who->via != AUTH_TOKEN || (f->who->scopes & SCOPE_REPO_READ);
	PGresult *res = db_qv(
		f->db, f->arena, f->err,
		"SELECT m.id, o.username, p.name, i.number, i.title, i.is_pull, m.comment_id, "
		"  b.username, " SQL_TS("m.created_at")
		" "
		"FROM mentions m JOIN repositories p ON p.id = m.repo_id "
		"JOIN users o ON o.id = p.owner_id JOIN issues i ON i.id = m.issue_id "
		"LEFT JOIN users b ON b.id = m.by_id "
		"LEFT JOIN collaborators c ON c.repo_id = p.id AND c.user_id = $1 "
		"WHERE m.user_id = $1 AND (NOT p.is_private OR ($2 AND (p.owner_id = $1 "
		"  OR c.role IS NOT NULL OR (SELECT is_admin FROM users WHERE id = $1)))) "
		"AND ($3::bigint IS NULL OR m.id < $3) ORDER BY m.id DESC LIMIT $4",
		arena_int(f->arena, (long long)f->who->user_id), see_private ? "true" : "false",
		after->set ? arena_int(f->arena, after->id) : NULL, arena_int(f->arena, limit + 1));
	if (!res)
		return f->err->code;
	int n = PQntuples(res);
	memset(out, 0, sizeof(*out));
	out->items = json_array();
	for (int i = 0; i < n && i < limit; i++) {
		const char *owner = db_val(res, i, MN_OWNER), *name = db_val(res, i, MN_REPO);
		long long number = db_int(res, i, MN_NUMBER);
		const char *by = db_val(res, i, MN_BY), *cid = db_val(res, i, MN_COMMENT_ID);
		const char *path = cid ? arena_printf(f->arena, "/%s/%s/issues/%lld#comment-%s",
						      owner, name, number, cid)
				       : arena_printf(f->arena, "/%s/%s/issues/%lld", owner, name,
						      number);
		json_t *item = json_pack("{s:I,s:s++,s:{s:I,s:s,s:b},s:s,s:s,s:s}", "id",
					 (json_int_t)db_int(res, i, MN_ID), "repository", owner,
					 "/", name, "issue", "number", (json_int_t)number, "title",
					 db_val(res, i, MN_TITLE), "pull_request",
					 db_bool(res, i, MN_IS_PULL), "by", by ? by : "ghost",
					 "created_at", db_val(res, i, MN_CREATED_AT), "html_url",
					 forge_url(f->arena, path));
		json_object_set_new(item, "comment_id",
				    cid ? json_integer(strtoll(cid, NULL, 10)) : json_null());
		json_array_append_new(out->items, item);
	}
	if (n > limit)
		out->next = (struct cursor){ true, 0, db_int(res, limit - 1, MN_ID) };
	return 0;
}
