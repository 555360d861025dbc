/* comments.h — comments on issues and pull requests: loading one, its API
 * JSON, listing an issue's, posting, editing (marked edited) and deleting.
 * Posting and editing record mentions and #N cross-references and write
 * the outbox event (issue.comment, issue.comment.edited,
 * issue.comment.deleted) in the same transaction. The acting user is
 * f->who; strings are arena-owned. */
#ifndef PLUE_FORGE_COMMENTS_H
#define PLUE_FORGE_COMMENTS_H

#include "forge/issues.h"

/* A comment of a repository, as comment_load returns it. */
struct comment {
	int64_t id;
	int64_t issue_id;
	int64_t issue_number;
	int64_t author_id;  /* 0 once the author's account is gone */
	const char *author; /* username, NULL once the account is gone */
	const char *body;
	PGresult *res;      /* the full row, for comment_json */
};

/* Loads comment `id` (the URL text) of repo. lock: FOR NO KEY UPDATE
 * inside the caller's transaction. No authorization. ERR_NOTFOUND
 * "comment N not found in 'o/r'" when absent or not a number. */
int comment_load(struct comment *out, struct forge *f, const struct repo *repo, const char *id,
		 bool lock);

/* A loaded comment as API JSON ({id, issue_number, author, body,
 * body_html, created_at, updated_at, edited, edited_at, reactions, url,
 * html_url}); a new reference. */
json_t *comment_json(struct forge *f, const struct repo *repo, const struct comment *c);

/* Comment `id` of repo as API JSON into *out (new reference). Needs read
 * access. 0 or ERR_*. */
int comment_read(json_t **out, struct forge *f, const struct repo *repo, const char *id);

/* One page of the comments of issue `is`, oldest first; the next
 * cursor's key is the creation time in microseconds. Needs read access.
 * 0 or ERR_*. */
int comments_list(struct page *out, struct forge *f, const struct repo *repo,
		  const struct issue *is, int limit, const struct cursor *after);

/* Posts body (required, forge_body_check) on issue `number` of repo as
 * f->who, who must be able to take part (forge_can_participate). In one
 * transaction: the row, the issue's updated_at, mentions, references and
 * issue.comment. *out: the new comment's API JSON (new reference). 0 or
 * ERR_*. */
int comment_create(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		   const char *body);

/* Replaces the body of comment `id`: its author (while readers may take
 * part) or a writer may (forge_require_author). The same body again is
 * not an edit (nothing written, not marked edited). In one transaction:
 * the row (edited_at), mentions and references new in the body, and
 * issue.comment.edited with changes.body.from. *out: the comment's API
 * JSON after. 0 or ERR_*. */
int comment_update(json_t **out, struct forge *f, const struct repo *repo, const char *id,
		   const char *body);

/* Deletes comment `id` (who may: as comment_update) and writes
 * issue.comment.deleted, in one transaction. 0 or ERR_*. */
int comment_delete(struct forge *f, const struct repo *repo, const char *id);

#endif
