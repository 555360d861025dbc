/* collab.h — what the issue, comment, label, milestone and reaction
 * handlers share, and what pull requests and reviews build on: issue rows
 * and their numbers, the event outbox, mentions, cross-references,
 * Markdown bodies, permission rules and cursor pagination.
 *
 * A pull request is an issue row with is_pull = true (same number space,
 * comments, labels, assignees, milestone, reactions and timeline) plus a
 * pull_requests row keyed by issues.id. Functions taking a PGconn run
 * inside the caller's transaction and never commit. */
#ifndef PLUE_COLLAB_H
#define PLUE_COLLAB_H

#include "http/http.h"

#define COLLAB_BODY_MAX 65536  /* characters in an issue, comment or review body */
#define COLLAB_TITLE_MAX 256   /* characters in a title */
#define COLLAB_PAGE_DEFAULT 30
#define COLLAB_PAGE_MAX 100

/* An issue (or pull request) row; strings are arena-owned. */
struct issue {
	int64_t id;
	int64_t number;
	const char *title;
	const char *body;
	const char *state;     /* "open" or "closed" */
	bool is_pull;
	int64_t author_id;     /* 0 once the author's account is gone */
	const char *author;    /* username, "ghost" once the account is gone */
	int64_t milestone_id;  /* 0: none */
};

/* ---- rows and events (inside the caller's transaction) ---- */

/* Writes an `events` outbox row (repo_id, type, actor_id 0 = none,
 * payload) and NOTIFY plue_events, which PostgreSQL delivers at commit.
 * Steals payload. 0 or ERR_*. */
int collab_event(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, const char *type,
		 int64_t actor_id, json_t *payload);

/* Takes the next number of repo_id's issue/pull request sequence and
 * inserts the issue row (open, created now). The counter row stays locked
 * until the transaction ends, so concurrent creators get 1..N with no
 * gaps or duplicates (a rollback gives the number back). title and body
 * must already be validated. Fills *out (arena strings; author is not
 * set). 0 or ERR_*. */
int issue_insert(PGconn *db, struct arena *a, struct err *e, int64_t repo_id, int64_t author_id,
		 const char *title, const char *body, bool is_pull, struct issue *out);

/* Records the @mentions in body (an issue's or pull request's own body
 * when comment_id is 0, else that comment's; review bodies pass the id of
 * the comment row they are stored as, or 0). For each distinct existing
 * user, other than actor_id, who can read repo: a mentions row and a
 * `mention` event with payload {action, user, where ("issue", "pull_request"
 * or "comment"), body, issue, comment?, repository, sender}. A user
 * already mentioned in the same (issue, comment) is not recorded again, so
 * calling this again after an edit records only new mentions. At most
 * MD_MAX_REFS names per body are considered. 0 or ERR_*. */
int mentions_record(PGconn *db, struct arena *a, struct err *e, const struct repo *repo,
		    int64_t issue_id, int64_t comment_id, int64_t actor_id, const char *body);

/* Records a `referenced` timeline event on every other issue or pull
 * request of repo that body (of issue source_issue_id, or of its comment
 * comment_id when not 0) names as #N, once per (source, comment, target).
 * commit_sha, when not NULL, names a commit as the source instead (for
 * pushes; source_issue_id may then be 0). 0 or ERR_*. */
int issue_refs_record(PGconn *db, struct arena *a, struct err *e, const struct repo *repo,
		      int64_t source_issue_id, int64_t comment_id, const char *commit_sha,
		      int64_t actor_id, const char *body);

/* Adds a timeline row for issue_id (type as in issue_events; data is
 * stolen, NULL for {}). 0 or ERR_*. */
int issue_event_add(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
		    int64_t issue_id, int64_t actor_id, const char *type, json_t *data);

/* ---- request helpers ---- */

/* Loads issue (or pull request) `number` (the URL text) of r->repo.
 * lock: FOR NO KEY UPDATE, inside the caller's transaction. ERR_NOTFOUND
 * "issue 'o/r#N' not found" when absent or not a number. */
int issue_load(struct req *r, const char *number, bool lock, struct issue *out);

/* A comment of r->repo, loaded by comment_load. */
struct comment {
	int64_t id;
	int64_t issue_id;
	int64_t author_id;   /* 0 once the author's account is gone */
	const char *body;
	PGresult *res;       /* the full row (comments.c's columns) */
};
/* Loads comment `id` (the URL text) of r->repo. lock: FOR NO KEY UPDATE
 * inside the caller's transaction. ERR_NOTFOUND "comment N not found in
 * 'o/r'" when absent or not a number. */
int comment_load(struct req *r, const char *id, bool lock, struct comment *out);

/* The full API JSON of an issue (labels, assignees, milestone, comment
 * count, reactions, body_html) into *out, a new reference. 0 or ERR_*. */
int issue_json_get(struct req *r, int64_t issue_id, json_t **out);

/* The columns and FROM clause of the issue JSON query (alias i); a row
 * of it becomes API JSON with issue_row_json. */
#define ISSUE_COLUMNS                                                                          \
	"i.id, i.number, i.title, i.body, i.state, i.is_pull, au.username, cb.username, "      \
	SQL_TS("i.closed_at") ", " SQL_TS("i.created_at") ", " SQL_TS("i.updated_at") ", "    \
	"(SELECT json_agg(json_build_object('name', l.name, 'color', l.color, 'description', " \
	"  l.description) ORDER BY lower(l.name)) FROM issue_labels il "                       \
	"  JOIN labels l ON l.id = il.label_id WHERE il.issue_id = i.id), "                    \
	"(SELECT json_agg(u.username ORDER BY lower(u.username)) FROM issue_assignees ia "     \
	"  JOIN users u ON u.id = ia.user_id WHERE ia.issue_id = i.id), "                      \
	"(SELECT json_build_object('number', m.number, 'title', m.title, 'state', m.state, "   \
	"  'due_on', m.due_on) FROM milestones m WHERE m.id = i.milestone_id), "               \
	"(SELECT count(*) FROM comments c WHERE c.issue_id = i.id), "                          \
	"(SELECT json_object_agg(x.content, x.n) FROM (SELECT content, count(*) AS n "         \
	"  FROM reactions WHERE issue_id = i.id GROUP BY content) x), "                        \
	SQL_US("i.created_at") ", " SQL_US("i.updated_at")
#define ISSUE_FROM                                                                   \
	"issues i LEFT JOIN users au ON au.id = i.author_id "                        \
	"LEFT JOIN users cb ON cb.id = i.closed_by"
/* Column indexes of the cursor keys in ISSUE_COLUMNS. */
#define ISSUE_COL_CREATED_US 16
#define ISSUE_COL_UPDATED_US 17
/* One row of an ISSUE_COLUMNS query of r->repo as API JSON (new reference). */
json_t *issue_row_json(struct req *r, PGresult *res, int row);

/* {"total_count": n, "+1": n, ...} from a JSON object text of counts per
 * content (NULL: none). A new reference. */
json_t *collab_reactions_json(const char *counts);
/* The reaction contents, NULL-terminated; true when s is one of them. */
extern const char *const collab_reaction_names[];
bool collab_reaction_valid(const char *s);

/* Payload pieces for events: the issue {number, title, body, state,
 * author, pull_request, url, html_url}, the repository {owner, name,
 * full_name, private} — new references. */
json_t *collab_issue_payload(const struct repo *repo, const struct issue *is);
json_t *collab_repo_payload(const struct repo *repo);

/* Body as rendered Markdown, with @user and #N links for r->repo (only
 * existing users and issues are linked); a new JSON string. */
json_t *collab_html(struct req *r, const char *body);

/* May the caller open issues, comment and react? Readers may unless the
 * repository turned that off (issues_open_to_readers); writers always.
 * 0, or ERR_PERM / ERR_AUTH with r->err set. */
int collab_can_participate(struct req *r);
/* May the caller change an issue, pull request or comment that author_id
 * wrote? Writers may. Its author may while readers may take part
 * (collab_can_participate: else 403 issues_restricted), so an author who
 * is only a reader cannot edit, close or reopen once the repository
 * closes issues to readers. Anyone else: ERR_PERM with the message fmt
 * (printf arguments follow). 0 or ERR_* with r->err set. */
int collab_require_author(struct req *r, int64_t author_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Is the caller a writer of r->repo (authz_repo ACT_WRITE)? */
bool collab_is_writer(struct req *r);
/* 0 when the caller writes to r->repo, else ERR_PERM (or ERR_AUTH) with
 * "write access to repository 'o/r' is required to WHAT". */
int collab_require_writer(struct req *r, const char *what);

/* JSON body fields: a title (trimmed, 1..COLLAB_TITLE_MAX characters, no
 * control characters) and a Markdown body (at most COLLAB_BODY_MAX
 * characters: ERR_TOOLARGE). A missing optional field leaves *out alone;
 * required bodies must not be blank. */
int collab_title_field(struct req *r, const char *field, bool required, const char **out);
int collab_body_field(struct req *r, const char *field, bool required, const char **out);

/* A user by name (case-insensitive): id and canonical spelling. 0, or
 * ERR_INVALID slug "unknown_user" "user 'x' does not exist". */
int collab_user_find(struct req *r, const char *name, int64_t *id, const char **canonical);

/* ---- cursor pagination ---- */

/* ?limit= into *out (default COLLAB_PAGE_DEFAULT, 1..max) and ?cursor=
 * decoded into the fields of *cur. tag names the ordering the cursor
 * belongs to ("created:desc"); a cursor of another ordering, or one that
 * does not parse, is ERR_INVALID "invalid_cursor". */
struct cursor {
	bool set;
	long long key;   /* the sort key: microseconds since the epoch, or an id */
	long long id;    /* tie-break */
};
int collab_page(struct req *r, const char *tag, int max, int *limit, struct cursor *cur);
/* Sets the Link (rel="next") and X-Next-Cursor headers for the page after
 * (key, id). */
void collab_next_page(struct req *r, struct resp *w, const char *tag, long long key,
		      long long id);

/* The public URL of a path ("/o/r/issues/1"): PLUE_PUBLIC_URL + path. */
const char *collab_url(struct arena *a, const char *path);

/* SQL: a timestamptz column as ISO 8601 UTC text. */
#define SQL_TS(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* SQL: a timestamptz as integer microseconds since the epoch (cursor key)
 * and back. */
#define SQL_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define SQL_FROM_US(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"

#endif
