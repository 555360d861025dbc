/* issues.c — issue rows, their numbers and timeline, mentions and
 * cross-references, Markdown bodies, event payload pieces, and who may
 * take part (see issues.h). */
#include "forge/issues.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/util.h"
#include "web/markdown.h"

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
			      arena_int(f->arena, (long long)issue_id), arena_int(f->arena, (long long)repo_id),
			      arena_id(f->arena, (long long)f->who->user_id), type, text ? text : "{}");
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
static int issue_by_id(struct issue *out, struct forge *f, int64_t id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT i.id, i.number, i.title, i.body, i.state, i.is_pull, "
			      "  coalesce(i.author_id, 0), coalesce(u.username, 'ghost'), "
			      "  coalesce(i.milestone_id, 0) "
			      "FROM issues i LEFT JOIN users u ON u.id = i.author_id WHERE i.id = $1",
			      arena_int(f->arena, (long long)id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue %lld not found", (long long)id);
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

static const char *username_of(struct forge *f, int64_t id)
{
	if (!id)
		return NULL;
	PGresult *res = db_qv(f->db, f->arena, NULL, "SELECT username FROM users WHERE id = $1",
			      arena_int(f->arena, (long long)id));
	return res && PQntuples(res) == 1 ? db_val(res, 0, 0) : NULL;
}

/* Can user (id, admin flag, collaborator role text) read repo? */
static bool user_can_read(const struct repo *repo, int64_t user_id, bool is_admin,
			  const char *role)
{
	return authz_user_may(repo, user_id, is_admin, role, ACT_READ);
}

int mentions_record(struct forge *f, const struct repo *repo, int64_t issue_id,
		    int64_t comment_id, const char *body)
{
	struct md_refs refs;
	int rc = 0;
	markdown_refs(body ? body : "", body ? strlen(body) : 0, &refs);
	if (!refs.nmentions)
		goto done;
	struct issue is;
	if ((rc = issue_by_id(&is, f, issue_id)))
		goto done;
	const char *sender = username_of(f, f->who->user_id);
	for (size_t i = 0; i < refs.nmentions; i++) {
		PGresult *u = db_qv(f->db, f->arena, f->err,
				    "SELECT u.id, u.username, u.is_admin, coalesce(c.role, '') "
				    "FROM users u LEFT JOIN collaborators c ON c.repo_id = $2 "
				    "  AND c.user_id = u.id WHERE lower(u.username) = lower($1)",
				    refs.mentions[i], arena_int(f->arena, (long long)repo->id));
		if (!u) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(u) != 1)
			continue; /* not a user: just text */
		int64_t uid = db_int(u, 0, 0);
		if (uid == f->who->user_id || !user_can_read(repo, uid, db_bool(u, 0, 2), db_val(u, 0, 3)))
			continue;
		PGresult *m = db_qv(f->db, f->arena, f->err,
				    "INSERT INTO mentions (user_id, repo_id, issue_id, comment_id, by_id) "
				    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
				    arena_int(f->arena, (long long)uid), arena_int(f->arena, (long long)repo->id),
				    arena_int(f->arena, (long long)issue_id), arena_id(f->arena, (long long)comment_id),
				    arena_id(f->arena, (long long)f->who->user_id));
		if (!m) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(m) == 0)
			continue; /* mentioned in this body before */
		json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s?}", "action", "mentioned",
				      "user", db_val(u, 0, 1), "where",
				      comment_id ? "comment" : is.is_pull ? "pull_request" : "issue",
				      "body", body, "issue", issue_payload(repo, &is),
				      "repository", repo_payload(repo), "sender", sender);
		if (comment_id) {
			const char *path = arena_printf(f->arena, "/%s/%s/issues/%lld#comment-%lld",
							repo->owner, repo->name, (long long)is.number,
							(long long)comment_id);
			json_object_set_new(p, "comment",
					    json_pack("{s:I,s:s,s:s}", "id", (json_int_t)comment_id,
						      "body", body, "html_url", forge_url(f->arena, path)));
		}
		if ((rc = forge_event(NULL, f, repo->id, "mention", p)))
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
				    arena_int(f->arena, (long long)repo->id), arena_int(f->arena, refs.issues[i]));
		if (!t) {
			rc = f->err->code;
			goto done;
		}
		if (PQntuples(t) != 1 || db_int(t, 0, 0) == source_issue_id)
			continue;
		const char *target = db_val(t, 0, 0);
		const char *src_num = source_issue_id ? arena_int(f->arena, (long long)src.number) : NULL;
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
					    json_pack("{s:I,s:s,s:b}", "number", (json_int_t)src.number,
						      "title", src.title, "pull_request", src.is_pull));
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
	const char *rid = arena_int(f->arena, (long long)repo->id), *ns = arena_int(f->arena, (long long)n);
#define ISSUE_LOAD_SQL                                                                     \
	"SELECT i.id, i.number, i.title, i.body, i.state, i.is_pull, coalesce(i.author_id, 0), " \
	"  coalesce(u.username, 'ghost'), coalesce(i.milestone_id, 0) "                     \
	"FROM issues i LEFT JOIN users u ON u.id = i.author_id "                             \
	"WHERE i.repo_id = $1 AND i.number = $2"
	PGresult *res = lock ? db_qv(f->db, f->arena, f->err, ISSUE_LOAD_SQL " FOR NO KEY UPDATE OF i",
				     rid, ns)
			     : db_qv(f->db, f->arena, f->err, ISSUE_LOAD_SQL, rid, ns);
#undef ISSUE_LOAD_SQL
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue '%s/%s#%lld' not found",
			       repo->owner, repo->name, (long long)n);
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

const char *const reaction_names[] = { "+1",    "-1",    "laugh",  "hooray", "confused",
					       "heart", "rocket", "eyes",   NULL };

bool reaction_valid(const char *s)
{
	for (const char *const *p = reaction_names; *p; p++)
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
	for (const char *const *p = reaction_names; *p; p++) {
		json_int_t n = json_integer_value(json_object_get(c, *p));
		total += n;
		json_object_set_new(out, *p, json_integer(n));
	}
	json_object_set_new(out, "total_count", json_integer(total));
	json_decref(c);
	return out;
}

json_t *reactions_json(const char *counts)
{
	return reactions_summary(counts);
}

json_t *issue_row_json(struct forge *f, const struct repo *repo, PGresult *res, int row)
{
	long long number = db_int(res, row, ISSUE_COL_NUMBER);
	const char *path = arena_printf(f->arena, "/%s/%s/issues/%lld", repo->owner, repo->name,
					number);
	const char *body = db_val(res, row, ISSUE_COL_BODY);
	const char *author = db_val(res, row, ISSUE_COL_AUTHOR);
	json_t *j = json_pack(
		"{s:I,s:I,s:s,s:s,s:o,s:s,s:s,s:b,s:I,s:s,s:s,s:s,s:s}", "id",
		(json_int_t)db_int(res, row, ISSUE_COL_ID), "number", (json_int_t)number, "title",
		db_val(res, row, ISSUE_COL_TITLE), "body", body, "body_html",
		forge_html(f, repo, body), "state", db_val(res, row, ISSUE_COL_STATE), "author",
		author ? author : "ghost", "pull_request", db_bool(res, row, ISSUE_COL_IS_PULL),
		"comments", (json_int_t)db_int(res, row, ISSUE_COL_COMMENTS), "created_at",
		db_val(res, row, ISSUE_COL_CREATED_AT), "updated_at",
		db_val(res, row, ISSUE_COL_UPDATED_AT), "url",
		forge_url(f->arena, arena_printf(f->arena, "/api%s", path)), "html_url",
		forge_url(f->arena, path));
	const char *closed_by = db_val(res, row, ISSUE_COL_CLOSED_BY);
	const char *closed_at = db_val(res, row, ISSUE_COL_CLOSED_AT);
	json_object_set_new(j, "closed_by", closed_by ? json_string(closed_by) : json_null());
	json_object_set_new(j, "closed_at", closed_at ? json_string(closed_at) : json_null());
	json_object_set_new(j, "labels", json_text(db_val(res, row, ISSUE_COL_LABELS), "[]"));
	json_object_set_new(j, "assignees",
			    json_text(db_val(res, row, ISSUE_COL_ASSIGNEES), "[]"));
	json_object_set_new(j, "milestone",
			    json_text(db_val(res, row, ISSUE_COL_MILESTONE), "null"));
	json_object_set_new(j, "reactions",
			    reactions_summary(db_val(res, row, ISSUE_COL_REACTIONS)));
	return j;
}

int issue_json_get(json_t **out, struct forge *f, const struct repo *repo, int64_t issue_id)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT " ISSUE_COLUMNS " FROM " ISSUE_FROM " WHERE i.id = $1",
			      arena_int(f->arena, (long long)issue_id));
	if (!res)
		return f->err->code;
	if (PQntuples(res) != 1)
		return err_set(f->err, ERR_NOTFOUND, NULL, "issue %lld not found", (long long)issue_id);
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
	return err_set(f->err, ERR_PERM, NULL, "write access to repository '%s/%s' is required to %s",
		       repo->owner, repo->name, what);
}

int forge_can_participate(struct forge *f, const struct repo *repo)
{
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
			      "SELECT id, username FROM users WHERE lower(username) = lower($1)", name);
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

