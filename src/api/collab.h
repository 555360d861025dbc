/* collab.h — what the issue, comment, label, milestone, reaction, pull
 * request and review handlers share at the edge: title and body fields,
 * comment loading and cursor pagination. The rules they call are in
 * forge/issues.h. */
#ifndef PLUE_COLLAB_H
#define PLUE_COLLAB_H

#include "db/db.h"
#include "forge/issues.h"
#include "http/http.h"

#define COLLAB_BODY_MAX ISSUE_BODY_MAX
#define COLLAB_TITLE_MAX ISSUE_TITLE_MAX
#define COLLAB_PAGE_DEFAULT 30
#define COLLAB_PAGE_MAX 100

/* ---- request helpers ---- */

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

/* JSON body fields: a title (trimmed, 1..COLLAB_TITLE_MAX characters, no
 * control characters) and a Markdown body (at most COLLAB_BODY_MAX
 * characters: ERR_TOOLARGE). A missing optional field leaves *out alone;
 * required bodies must not be blank. */
int collab_title_field(struct req *r, const char *field, bool required, const char **out);
int collab_body_field(struct req *r, const char *field, bool required, const char **out);

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

#endif
