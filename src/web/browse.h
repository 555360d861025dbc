/* browse.h — the repository browsing pages (web/browse.c, web/commits.c): the overview,
 * trees, blobs and raw files, the history, one commit with its diff, the
 * branches and the tags.
 *
 * URLs that name a full commit id (/tree/SHA/..., /blob/SHA/...,
 * /raw/SHA/..., /commits/SHA, /commit/SHA) are immutable: ETag and a year
 * of caching, kept in the object cache for anonymous readers
 * (ROUTE_CACHE). A ref in place of SHA answers 302 to the SHA URL, cached
 * for seconds. A ref may contain slashes, so /tree/feature/x/src is split
 * the way GitHub does: the longest prefix of "feature/x/src" that names a
 * branch or tag (a branch winning over a tag of the same name) is the ref,
 * the rest is the path. The overview and the ref lists name branches and
 * are cached for seconds only. */
#ifndef PLUE_WEB_BROWSE_H
#define PLUE_WEB_BROWSE_H

#include "http/http.h"

/* GET /:owner/:repo — description, clone URLs, branch and tag switcher,
 * the last commit of the default branch, its root tree and README; how to
 * push to an empty repository. */
int web_repo_overview(struct req *r, struct resp *w);
/* GET /:owner/:repo/tree/:sha/ *path — a directory. */
int web_tree(struct req *r, struct resp *w);
/* GET /:owner/:repo/blob/:sha/ *path — a file: numbered lines (#L12),
 * images, binaries and large files described; Markdown rendered unless
 * ?plain=1. */
int web_blob(struct req *r, struct resp *w);
/* GET /:owner/:repo/raw/:sha/ *path — a file's bytes, served as the API
 * serves a blob (a type from the bytes only, a sandboxing policy). */
int web_raw(struct req *r, struct resp *w);
/* GET /:owner/:repo/commits/:sha?path=&cursor= — the history, a page at a
 * time, optionally of one path. */
int web_commits(struct req *r, struct resp *w);
/* GET /:owner/:repo/commit/:sha — a commit, its parents and its diff. */
int web_commit(struct req *r, struct resp *w);
/* GET /:owner/:repo/branches?after=, /:owner/:repo/tags?after= */
int web_branches(struct req *r, struct resp *w);
int web_tags(struct req *r, struct resp *w);

#endif
