/* browse_parts.h — the pieces the browsing pages share (web/browse.c,
 * web/commits.c): URLs of a repository's objects, ref-or-SHA resolution of
 * the :sha capture, the caching of SHA pages, and small formatting. Not
 * for other areas: their pages link to these by URL. */
#ifndef PLUE_WEB_BROWSE_PARTS_H
#define PLUE_WEB_BROWSE_PARTS_H

#include <git2.h>
#include <stdbool.h>

#include "base/arena.h"
#include "base/buf.h"
#include "http/http.h"
#include "web/web.h"

#define BROWSE_REF_TTL_S 5 /* seconds of caching for pages that name a branch */

/* User input fit to quote in an error message (objects_subject), in a. */
const char *browse_subject(struct arena *a, const char *s);
/* The 40 hex digits of id, in a. */
const char *browse_oid_hex(struct arena *a, const git_oid *id);
/* The calling thread's handle on r->repo (objects_repo_open; the caller
 * must not free it). 0, or ERR_NOTFOUND "repository 'o/r' not found". */
int browse_repo_git(struct req *r, git_repository **out);

/* "/owner/repo/KIND/SHA[/PATH]" escaped (PATH NULL or "": none); KIND is
 * our literal ("tree", "blob", "raw", "commits", "commit"). */
void browse_url(struct buf *b, const struct repo *rp, const char *kind, const char *sha,
		const char *path);

/* The commit's first line (git's %s), never NULL. */
const char *browse_summary(git_commit *c);
/* The signature's time as page_time shows it. */
void browse_sig_time(struct view *p, const git_signature *s);

/* ETag `what` (plus the reader's id when signed in: the navigation names
 * them) and a year of caching: public for anonymous readers of a public
 * repository, private otherwise (page_end). Call before page_end. */
void browse_immutable(struct req *r, struct resp *w, const char *what);
/* 16 hex digits of the SHA-256 of s, in a: a query value in an ETag. */
const char *browse_digest(struct arena *a, const char *s);

/* The commit and path a KIND page names. When :sha is a full object id,
 * *hex (lowercase) and *path (normalised *path capture; ERR_INVALID
 * "invalid path 'P'") are set and *redirected is false. Otherwise :sha
 * and the *path capture are a ref and a path: the longest prefix of
 * ":sha/ *path" that names a branch or tag (objects_ref_resolve, a branch
 * winning) is the ref, and the response is a 302 to the SHA URL with the
 * rest as path and the query kept, cached for BROWSE_REF_TTL_S
 * (*redirected true). ERR_NOTFOUND "no branch or tag named 'X' in 'o/r'"
 * when no prefix does. */
int browse_target(struct req *r, struct resp *w, git_repository *repo, const char *kind,
		  const char **hex, const char **path, bool *redirected);

#endif
