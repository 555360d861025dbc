/* reviews.h — reviews of pull requests: submit one (approve, request
 * changes or comment) with inline comments anchored to (path, commit,
 * side, line) of the pull request's diff, and list reviews and inline
 * comments. Comments on lines a later push changed are marked outdated
 * by pulls_on_push (forge/pulls.h), never deleted. */
#ifndef PLUE_FORGE_REVIEWS_H
#define PLUE_FORGE_REVIEWS_H

#include "forge/forge.h"

#define REVIEW_COMMENTS_MAX 100 /* inline comments per review */
#define REVIEW_LIST_MAX 1000    /* reviews or comments listed */

/* An inline comment as the caller read it; the checks are the domain's.
 * path: normalised, NULL when it was not a file path; line: 0 when it
 * was not a number; side: "LEFT" or "RIGHT" in any case, NULL when it
 * was not a string; body: NULL when it was not a string (body_len its
 * length in characters). */
struct review_comment_input {
	const char *path;
	int64_t line;
	const char *side;
	const char *body;
	size_t body_len;
};

/* A review: event APPROVE, REQUEST_CHANGES or COMMENT (any case); body
 * (may be ""; required to request changes, and for a comment without
 * inline comments); commit, when set, the head the reviewer saw. */
struct review_input {
	const char *event;
	const char *body;
	const char *commit;
	const struct review_comment_input *comments;
	size_t ncomments;
};

/* Submits a review of pull request `number` of repo by f->who. A verdict
 * (approve, request changes) needs write access, is not the author's
 * (ERR_PERM own_pull_request) and needs an open pull request
 * (ERR_CONFLICT pull_closed); a comment review needs only that f->who may
 * take part. Every inline comment must sit on a line of the diff (merge
 * base to head): ERR_INVALID invalid_comment / the line check's slug,
 * "comments[i]: ...". The review, its comments, mentions, the `reviewed`
 * timeline row and a `pull_request.review` "submitted" event are written
 * in one transaction. *out: the review as API JSON {id, author, state,
 * body, body_html, commit_sha, submitted_at, comments, inline_comments}. */
int review_create(json_t **out, struct forge *f, const struct repo *repo, const char *number,
		  const struct review_input *in);

/* The reviews (without their inline comments) / the inline comments of
 * pull request `number` of repo, oldest first, at most REVIEW_LIST_MAX,
 * as a JSON array. 0 or ERR_*. */
int review_list(json_t **out, struct forge *f, const struct repo *repo, const char *number);
int review_comments_list(json_t **out, struct forge *f, const struct repo *repo, const char *number);

#endif
