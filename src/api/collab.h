/* collab.h — what the issue, comment, label, milestone, reaction, pull
 * request and review handlers share at the edge: title and body fields
 * and cursor pagination. The rules they call are in forge/issues.h. */
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

/* JSON body fields: a title and a Markdown body, by the rules of
 * forge_title_check and forge_body_check (forge/issues.h). A missing
 * optional field leaves *out alone; required bodies must not be blank. */
int collab_title_field(struct req *r, const char *field, bool required, const char **out);
int collab_body_field(struct req *r, const char *field, bool required, const char **out);

/* ---- cursor pagination ---- */

/* ?limit= into *out (default COLLAB_PAGE_DEFAULT, 1..max) and ?cursor=
 * decoded into the fields of *cur (struct cursor: forge/issues.h). tag
 * names the ordering the cursor belongs to ("created:desc"); a cursor of
 * another ordering, or one that does not parse, is ERR_INVALID
 * "invalid_cursor". */
int collab_page(struct req *r, const char *tag, int max, int *limit, struct cursor *cur);
/* The ?cursor= text of the page after c in the ordering tag (arena). */
const char *collab_cursor(struct req *r, const char *tag, const struct cursor *c);
/* Sets the Link (rel="next") and X-Next-Cursor headers for the page after
 * (key, id). */
void collab_next_page(struct req *r, struct resp *w, const char *tag, long long key, long long id);
/* Answers 200 with a domain page's items (stolen): the next page's
 * headers when there is one, then resp_no_cache. */
void collab_page_respond(struct req *r, struct resp *w, const char *tag, struct page *pg);

#endif
