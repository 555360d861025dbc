/* issues.h — issues and what pull requests build on: issue rows and their
 * numbers, the timeline, mentions, cross-references, Markdown bodies, the
 * event payload pieces, and who may take part.
 *
 * A pull request is an issue row with is_pull = true (same number space,
 * comments, labels, assignees, milestone, reactions and timeline) plus a
 * pull_requests row keyed by issues.id. The acting user is always f->who.
 * The row and timeline functions below run inside the caller's
 * transaction and never commit; issue_create and issue_update (what the
 * API, pages and agent tools call) check who may, and run and commit
 * their own. Comments, labels, milestones and reactions have their own
 * headers beside this one. */
#ifndef PLUE_FORGE_ISSUES_H
#define PLUE_FORGE_ISSUES_H

#include "db/db.h"
#include "forge/forge.h"

#define ISSUE_BODY_MAX 65536 /* characters in an issue, comment or review body */
#define ISSUE_TITLE_MAX 256  /* characters in a title */

/* An issue (or pull request) row; strings are arena-owned. */
struct issue {
	int64_t id;
	int64_t number;
	const char *title;
	const char *body;
	const char *state;    /* "open" or "closed" */
	bool is_pull;
	int64_t author_id;    /* 0 once the author's account is gone */
	const char *author;   /* username, "ghost" once the account is gone */
	int64_t milestone_id; /* 0: none */
};

/* ---- rows and the timeline (inside the caller's transaction) ---- */

/* Takes the next number of repo_id's issue/pull request sequence and
 * inserts the issue row (open, created now, written by f->who). The
 * counter row stays locked until the transaction ends, so concurrent
 * creators get 1..N with no gaps or duplicates (a rollback gives the
 * number back). title and body must already be validated. Fills *out
 * (arena strings; author is not set). 0 or ERR_*. */
int issue_insert(struct issue *out, struct forge *f, int64_t repo_id, const char *title,
		 const char *body, bool is_pull);

/* Loads issue (or pull request) `number` (the URL text) of repo. lock: FOR
 * NO KEY UPDATE, inside the caller's transaction. ERR_NOTFOUND "issue
 * 'o/r#N' not found" when absent or not a number. */
int issue_get(struct issue *out, struct forge *f, const struct repo *repo, const char *number,
	      bool lock);

/* Opens or closes issue_id (state "open" or "closed"): closing records
 * f->who and the time as closed_by/closed_at, reopening clears them; the
 * row's updated_at moves. The timeline row and the event are the caller's
 * (they differ: closed, reopened, merged). 0 or ERR_*. */
int issue_state_set(struct forge *f, int64_t issue_id, const char *state);

/* Adds a timeline row for issue_id by f->who (type as in issue_events;
 * data is stolen, NULL for {}). 0 or ERR_*. */
int issue_event_add(struct forge *f, int64_t repo_id, int64_t issue_id, const char *type,
		    json_t *data);

/* Records the @mentions in body (an issue's or pull request's own body
 * when comment_id is 0, else that comment's; review bodies pass the id of
 * the comment row they are stored as, or 0). For each distinct existing
 * user, other than f->who, who can read repo: a mentions row and a
 * `mention` event with payload {action, user, where ("issue",
 * "pull_request" or "comment"), body, issue, comment?, repository,
 * sender}. A user already mentioned in the same (issue, comment) is not
 * recorded again, so calling this again after an edit records only new
 * mentions. At most MD_MAX_REFS names per body are considered. 0 or ERR_*. */
int mentions_record(struct forge *f, const struct repo *repo, int64_t issue_id, int64_t comment_id,
		    const char *body);

/* Records a `referenced` timeline event on every other issue or pull
 * request of repo that body (of issue source_issue_id, or of its comment
 * comment_id when not 0) names as #N, once per (source, comment, target).
 * commit_sha, when not NULL, names a commit as the source instead (for
 * pushes; source_issue_id may then be 0). 0 or ERR_*. */
int issue_refs_record(struct forge *f, const struct repo *repo, int64_t source_issue_id,
		      int64_t comment_id, const char *commit_sha, const char *body);

/* ---- JSON ---- */

/* The full API JSON of an issue of repo (labels, assignees, milestone,
 * comment count, reactions, body_html) into *out, a new reference. 0 or
 * ERR_*. */
int issue_json_get(json_t **out, struct forge *f, const struct repo *repo, int64_t issue_id);

/* The columns and FROM clause of the issue JSON query (alias i); a row
 * of it becomes API JSON with issue_row_json. */
#define ISSUE_COLUMNS                                                                                                                                    \
	"i.id, i.number, i.title, i.body, i.state, i.is_pull, au.username, cb.username, " SQL_TS("i.closed_at") ", " SQL_TS("i.created_at") ", " SQL_TS( \
		"i.updated_at") ", "                                                                                                                     \
				"(SELECT json_agg(json_build_object('name', l.name, 'color', l.color, 'description', "                                   \
				"  l.description) ORDER BY lower(l.name)) FROM issue_labels il "                                                         \
				"  JOIN labels l ON l.id = il.label_id WHERE il.issue_id = i.id), "                                                      \
				"(SELECT json_agg(u.username ORDER BY lower(u.username)) FROM issue_assignees ia "                                       \
				"  JOIN users u ON u.id = ia.user_id WHERE ia.issue_id = i.id), "                                                        \
				"(SELECT json_build_object('number', m.number, 'title', m.title, 'state', m.state, "                                     \
				"  'due_on', m.due_on) FROM milestones m WHERE m.id = i.milestone_id), "                                                 \
				"(SELECT count(*) FROM comments c WHERE c.issue_id = i.id), "                                                            \
				"(SELECT json_object_agg(x.content, x.n) FROM (SELECT content, count(*) AS n "                                           \
				"  FROM reactions WHERE issue_id = i.id GROUP BY content) x), " SQL_US(                                                  \
					"i.created_at") ", " SQL_US("i.updated_at")
#define ISSUE_FROM                                                                                 \
	"issues i LEFT JOIN users au ON au.id = i.author_id "                                      \
	"LEFT JOIN users cb ON cb.id = i.closed_by"
/* Column indexes of ISSUE_COLUMNS, in their one declared order. */
enum issue_col {
	ISSUE_COL_ID,
	ISSUE_COL_NUMBER,
	ISSUE_COL_TITLE,
	ISSUE_COL_BODY,
	ISSUE_COL_STATE,
	ISSUE_COL_IS_PULL,
	ISSUE_COL_AUTHOR,
	ISSUE_COL_CLOSED_BY,
	ISSUE_COL_CLOSED_AT,
	ISSUE_COL_CREATED_AT,
	ISSUE_COL_UPDATED_AT,
	ISSUE_COL_LABELS,
	ISSUE_COL_ASSIGNEES,
	ISSUE_COL_MILESTONE,
	ISSUE_COL_COMMENTS,
	ISSUE_COL_REACTIONS,
	ISSUE_COL_CREATED_US,
	ISSUE_COL_UPDATED_US,
};
/* One row of an ISSUE_COLUMNS query of repo as API JSON (new reference). */
json_t *issue_row_json(struct forge *f, const struct repo *repo, PGresult *res, int row);

/* {"total_count": n, "+1": n, ...} from a JSON object text of counts per
 * content (NULL: none). A new reference. */
json_t *reactions_json(const char *counts);
/* The reaction contents, NULL-terminated; true when s is one of them. */
extern const char *const reaction_names[];
bool reaction_valid(const char *s);

/* Payload pieces for events: the issue {number, title, body, state,
 * author, pull_request, url, html_url}, the repository {owner, name,
 * full_name, private} — new references. */
json_t *issue_payload(const struct repo *repo, const struct issue *is);
json_t *repo_payload(const struct repo *repo);
/* Records event type of repo (forge_event) made by f->who: the payload is
 * fields (stolen; NULL: none) with action, repository (repo_payload) and
 * sender (f->who's username, null when anonymous) added. 0 or ERR_*. */
int repo_event(struct forge *f, const struct repo *repo, const char *type, const char *action,
	       json_t *fields);

/* Body as rendered Markdown, with @user and #N links for repo (NULL: no
 * issue links; only existing users and issues are linked); a new JSON
 * string. */
json_t *forge_html(struct forge *f, const struct repo *repo, const char *body);

/* The public URL of a path ("/o/r/issues/1"): PLUE_PUBLIC_URL + path. */
const char *forge_url(struct arena *a, const char *path);

/* ---- who may take part ---- */

/* May f->who open issues, comment and react in repo? Those who can read
 * it (else ERR_NOTFOUND, as authz_repo) may unless the repository turned
 * that off (issues_open_to_readers); writers always. 0, or ERR_PERM
 * "issues_restricted" / ERR_AUTH. */
int forge_can_participate(struct forge *f, const struct repo *repo);
/* May f->who change an issue, pull request or comment that author_id
 * wrote? Writers may. Its author may while readers may take part
 * (forge_can_participate: else 403 issues_restricted), so an author who
 * is only a reader cannot edit, close or reopen once the repository
 * closes issues to readers. Anyone else: ERR_PERM with the message fmt
 * (printf arguments follow). */
int forge_require_author(struct forge *f, const struct repo *repo, int64_t author_id,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Is f->who a writer of repo (authz_repo ACT_WRITE)? */
bool forge_is_writer(struct forge *f, const struct repo *repo);
/* 0 when f->who writes to repo, else ERR_PERM (or ERR_AUTH) with "write
 * access to repository 'o/r' is required to WHAT". */
int forge_require_writer(struct forge *f, const struct repo *repo, const char *what);

/* A user by name (case-insensitive): id and canonical spelling (may be
 * NULL). 0, or ERR_INVALID "unknown_user" "user 'x' does not exist". */
int user_find(int64_t *id, const char **canonical, struct forge *f, const char *name);

/* ---- input rules (pure: no database) ---- */

/* A title: trimmed, 1..ISSUE_TITLE_MAX characters, no control characters.
 * *out is the trimmed copy (arena). field names the input in messages
 * ("title"). 0 or ERR_INVALID "invalid_field". */
int forge_title_check(const char **out, struct forge *f, const char *field, const char *s);
/* A Markdown body: at most ISSUE_BODY_MAX characters (ERR_TOOLARGE);
 * required: not blank (ERR_INVALID "invalid_field"). */
int forge_body_check(struct forge *f, const char *field, const char *s, bool required);
/* state is "open" or "closed": 0, or ERR_INVALID "invalid_state" "state
 * 'x' is not one of open, closed". */
int forge_state_check(struct forge *f, const char *state);

/* ---- pages ---- */

/* A position in a list: the sort key of the last item shown
 * (microseconds since the epoch, or an id) and its id as tie-break. */
struct cursor {
	bool set; /* false: from the start / no further page */
	long long key;
	long long id;
};
/* One page of a list: items (a JSON array, a new reference the caller
 * owns) and, when more follow, the cursor of the next page. */
struct page {
	json_t *items;
	struct cursor next;
};

/* ---- issues: create, read, change, list ---- */

/* The labels, assignees and milestone a request sets (has_*: given at
 * all). labels are names (ignoring case), assignees usernames; at most
 * ISSUE_LABELS_MAX and ISSUE_ASSIGNEES_MAX, each at most 200 bytes.
 * milestone_none clears the milestone, else milestone is its number.
 * Setting any of them needs write access. */
#define ISSUE_LABELS_MAX 100
#define ISSUE_ASSIGNEES_MAX 10
struct issue_sets {
	bool has_labels, has_assignees, has_milestone;
	const char *const *labels;
	size_t nlabels;
	const char *const *assignees;
	size_t nassignees;
	bool milestone_none;
	int64_t milestone;
};

/* Opens an issue of repo written by f->who: f->who must be able to take
 * part (forge_can_participate); title and body are checked
 * (forge_title_check, forge_body_check); sets (may be NULL) need write
 * access and must name existing labels, users who can read repo and an
 * existing milestone. In one transaction of its own: the row with the
 * next number, the labeled/assigned/milestoned timeline rows and their
 * issue.* events, mentions, #N references, and issue.opened. Fills *out
 * (arena strings). 0 or ERR_* (nothing written). */
int issue_create(struct issue *out, struct forge *f, const struct repo *repo, const char *title,
		 const char *body, const struct issue_sets *sets);

/* What an edit changes; NULL / has_* false: unchanged. */
struct issue_update {
	const char *title;
	const char *body;
	const char *state; /* "open" or "closed" */
	struct issue_sets sets;
};
/* Changes issue `number` (the URL text) of repo, in one transaction of
 * its own: its author or a writer (forge_require_author) may change the
 * title, body and state; labels, assignees and the milestone need write
 * access. A pull request's state is changed through the pull request
 * (ERR_INVALID "pull_request"). Writes the renamed / closed / reopened /
 * labeled... timeline rows with their issue.* events, issue.edited when
 * the title or body changed, mentions and references of a new body.
 * Fills *out with the issue as it is after. 0 or ERR_* (nothing written). */
int issue_update(struct issue *out, struct forge *f, const struct repo *repo, const char *number,
		 const struct issue_update *in);

/* The title and body edit of an issue or pull request `is` (loaded and
 * locked by the caller; title / body NULL or equal: unchanged), inside
 * the caller's transaction, without checking who may: a new title writes
 * the `renamed` timeline row; a new body records its mentions and #N
 * references. *out is the changes object of the edited event
 * ({title?: {from}, body?: {from}}, a new reference; empty when nothing
 * changed); *is takes the new values. 0 or ERR_*. */
int issue_edit(json_t **out, struct forge *f, const struct repo *repo, struct issue *is,
	       const char *title, const char *body);

/* Issue (or pull request) `number` of repo as API JSON (issue_json_get)
 * into *out, a new reference. Needs read access. 0 or ERR_*. */
int issue_read(json_t **out, struct forge *f, const struct repo *repo, const char *number);

/* A list's filters as a user typed them (URL query, a form, a tool
 * call); NULL: not given. */
struct issue_query {
	const char *state;     /* open (default), closed, all */
	const char *labels;    /* "a,b": carrying all of them */
	const char *assignee;  /* a username, "none" or "*" */
	const char *author;    /* a username */
	const char *milestone; /* a number, a title, "none" or "*" */
	const char *q;         /* text in the title or body */
	const char *type;      /* all (default), issues, pulls */
	const char *sort;      /* created (default), updated */
	const char *direction; /* desc (default), asc */
};
enum issue_sort { ISSUE_SORT_CREATED, ISSUE_SORT_UPDATED };
/* The filters checked: the choices typed, the names still text. */
struct issue_filter {
	const char *state;   /* "open", "closed", NULL: both */
	const char *is_pull; /* "true", "false", NULL: both */
	enum issue_sort sort;
	bool asc;
	const char *labels, *assignee, *author, *milestone, *q; /* NULL or "": any */
	bool no_html; /* issue_list leaves body_html out (a list showing no bodies) */
};
/* Checks a query's choices (state, sort, direction, type, the length of
 * q) into *out. 0 or ERR_INVALID "invalid_filter". */
int issue_filter_parse(struct issue_filter *out, struct forge *f, const struct issue_query *in);
/* One page (at most limit, after *after) of repo's issues and pull
 * requests matching filter, in its order; the next cursor's key is the
 * created or updated time in microseconds. Labels, users and the
 * milestone named must exist (ERR_INVALID unknown_label, unknown_user,
 * unknown_milestone). Needs read access. 0 or ERR_*. */
int issue_list(struct page *out, struct forge *f, const struct repo *repo,
	       const struct issue_filter *filter, int limit, const struct cursor *after);

/* How many of repo's issues and pull requests match filter, ignoring
 * its state: *open and *closed (the counts of a list's state tabs).
 * Names as issue_list. Needs read access. 0 or ERR_*. */
int issue_count(int64_t *open, int64_t *closed, struct forge *f, const struct repo *repo,
		const struct issue_filter *filter);

/* One page of the timeline of issue `is` of repo: its comments and
 * timeline rows in time order, as API JSON items ({event, id, actor,
 * created_at, ...}). Needs read access. 0 or ERR_*. */
int issue_timeline(struct page *out, struct forge *f, const struct repo *repo,
		   const struct issue *is, int limit, const struct cursor *after);

/* One page of where f->who was mentioned, newest first, leaving out
 * repositories f->who can no longer read and, for a token without
 * repo:read, private ones. The cursor's id is the mention's. ERR_AUTH when
 * anonymous. 0 or ERR_*. */
int mentions_list(struct page *out, struct forge *f, int limit, const struct cursor *after);

#endif
