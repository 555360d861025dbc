/* objects.h — read access to git objects through libgit2: per-thread
 * repository handles, lookups that speak the project's error convention,
 * and the pure helpers the browsing API needs (git's tree order, content
 * sniffing, dates).
 *
 * libgit2 objects are never shared between threads: every handle comes from
 * the calling thread's own small cache, and objects looked up through it
 * must be freed on that thread before the handler returns (not on the
 * request arena, whose cleanups may run on another thread). */
#ifndef PLUE_OBJECTS_H
#define PLUE_OBJECTS_H

#include <git2.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Handles cached per thread (least recently used goes first). */
#define OBJECTS_HANDLES 8

/* Borrows the calling thread's handle on the bare repository at path,
 * opening it on first use. Each call checks the repository's
 * objects/pack directory: when packs were added or removed (a push, a gc)
 * the handle is reopened, and when the directory has vanished (a deleted
 * repository) the handle is dropped and ERR_NOTFOUND returned with the
 * message "repository not found on disk" (the path never reaches a client).
 * The handle stays valid until this thread opens the same path again or
 * OBJECTS_HANDLES other paths; the caller must not free it. The first call
 * also caps the pack files libgit2 keeps open, across all handles, at 128.
 * Returns 0 or ERR_NOTFOUND / ERR_INTERNAL. */
int objects_repo_open(git_repository **out, const char *path, struct err *e);

/* Frees the calling thread's cached handles. Worker threads do this by
 * themselves when they exit; the main thread (tests, CLI) calls it. */
void objects_thread_release(void);

/* Translates a failed libgit2 call (rc < 0) at the boundary:
 * GIT_ENOTFOUND → ERR_NOTFOUND, GIT_EINVALIDSPEC / GIT_EAMBIGUOUS /
 * GIT_EINVALID → ERR_INVALID, each with the caller's message (fmt); anything
 * else → ERR_INTERNAL "cannot read the repository", with libgit2's own
 * message logged rather than shown. Returns the ERR_* code. */
int objects_error(struct err *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Messages from this module quote what they are about with
 * objects_subject, so a hostile path cannot put bytes that are not UTF-8
 * into an error.
 *
 * Looks up the commit named by hex (exactly 40 hex digits; the caller
 * checked). ERR_NOTFOUND "commit 'HEX' not found" when absent, or
 * "'HEX' is a tree, not a commit" (blob, tag) when the object has another
 * type. The caller frees *out with git_commit_free. */
int objects_commit_lookup(git_commit **out, git_repository *repo, const char *hex, struct err *e);

/* The entry at path (normalised, non-empty) in commit's tree; ERR_NOTFOUND
 * "path 'PATH' not found in commit 'HEX'". The caller frees *out with
 * git_tree_entry_free. */
int objects_entry_bypath(git_tree_entry **out, git_commit *commit, const char *path, struct err *e);

/* Resolves a ref name the way git rev-parse does, except that a branch
 * wins over a tag of the same name: "HEAD"; a full name ("refs/..."); else
 * refs/NAME, refs/heads/NAME, refs/tags/NAME, the first that exists. The
 * caller checked the name's syntax. On success *out is the commit the ref
 * peels to and full (when not NULL) receives the full name of the ref it
 * resolved to. ERR_NOTFOUND "ref 'NAME' not found" (an unborn HEAD too)
 * or "ref 'NAME' does not point to a commit". */
int objects_ref_resolve(git_oid *out, struct buf *full, git_repository *repo, const char *name,
			struct err *e);

/* A ref and the commit it peels to. */
struct objects_ref {
	char *name; /* without the listed prefix ("main", "v1.0") */
	git_oid commit;
};

/* The refs whose full names start with prefix ("refs/heads/",
 * "refs/tags/") and peel to a commit (others are skipped), sorted by name
 * as bytes, into a malloc'd *out of *n entries; free with
 * objects_refs_free. 0 or ERR_* with e set. */
int objects_refs_list(struct objects_ref **out, size_t *n, git_repository *repo, const char *prefix,
		      struct err *e);
void objects_refs_free(struct objects_ref *v, size_t n);

/* The changes a commit made: the diff of commit's tree against its first
 * parent's (a root commit's against the empty tree), with renames found.
 * The caller frees *out with git_diff_free. 0 or ERR_* with e set. */
int objects_commit_diff(git_diff **out, git_commit *commit, struct err *e);

/* Commits one history page may examine when a path filter skips most of
 * them: past this the page ends short and its cursor continues the walk. */
#define OBJECTS_LOG_SCAN_MAX 10000

/* One page of a history walk (objects_log). */
struct objects_log {
	git_oid *ids; /* malloc'd, n commits, newest first */
	size_t n;
	bool more;    /* the walk goes on at next */
	git_oid next;
};

/* A page of the history of start as `git log` lists it (commit time
 * order): at most limit commits, beginning at cursor (a full hex id the
 * caller checked, or NULL for start itself). With path (normalised,
 * non-empty; NULL or "": none) only the commits that change it are listed:
 * those whose entry at path (its id and mode, or its absence) differs
 * from that of every parent, as git log -- PATH without parent rewriting.
 * ERR_INVALID "invalid_cursor" "cursor 'C' is not in the history of
 * commit 'START'" when the walk never meets the cursor. Release *out
 * with objects_log_release. */
int objects_log(struct objects_log *out, git_repository *repo, const git_oid *start,
		const char *cursor, const char *path, size_t limit, struct err *e);
void objects_log_release(struct objects_log *l);

/* git's tree order: names compare as bytes, a tree's name as if it ended
 * in '/'. Returns <0, 0 or >0 like memcmp. */
int objects_tree_cmp(const char *a, size_t alen, bool a_tree, const char *b, size_t blen,
		     bool b_tree);

/* True when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates
 * or code points above U+10FFFF). NUL bytes are valid UTF-8. */
bool objects_utf8_valid(const char *s, size_t len);

/* Length of the well-formed UTF-8 sequence at s (at most n > 0 bytes), or
 * 0 when none starts there. */
size_t objects_utf8_seq(const char *s, size_t n);

/* Appends s[0..len) to b as valid UTF-8: each byte that does not start a
 * well-formed sequence becomes U+FFFD. */
void objects_utf8_lossy(struct buf *b, const char *s, size_t len);

/* Appends s fit to quote in a one-line message: lossy UTF-8, control
 * characters as '?', cut at a character boundary after max bytes with
 * "..." appended. */
void objects_subject(struct buf *b, const char *s, size_t max);

/* The Content-Type to serve a blob's bytes with: image/png, image/jpeg,
 * image/gif or image/webp when the magic bytes say so; "text/plain;
 * charset=utf-8" for valid UTF-8 without NUL (an empty blob included);
 * application/octet-stream otherwise. Never a type a browser executes or
 * renders as a document (no HTML, SVG, XML, JavaScript). Returns a static
 * string. */
const char *objects_content_type(const char *data, size_t len);

/* ---- JSON of git data (shared by the browsing and pull request APIs) ---- */

/* A JSON string of len bytes read from git: valid UTF-8 passes through,
 * each invalid byte becomes U+FFFD; NULL becomes null. New reference. */
json_t *objects_json_str(const char *s, size_t len);

/* A commit as API JSON: {sha, tree, parents, author, committer, message,
 * summary}, each signature {name, email, date}. New reference. */
json_t *objects_commit_json(git_commit *c);

/* A delta's status as the API names it: added, deleted, modified, renamed,
 * copied or type_changed. A static string. */
const char *objects_delta_status(git_delta_t s);

/* Patch text kept per file by objects_diff_file_json. */
#define OBJECTS_PATCH_FILE_MAX (256 * 1024)

/* Delta idx of diff as API JSON into *out (new reference): {path,
 * old_path (renames and copies, else null), status (added, deleted,
 * modified, renamed, copied, type_changed), additions, deletions, binary,
 * patch (unified diff text, null for binary files), truncated}. *budget is
 * the patch text still allowed for the whole answer and is decreased; a
 * patch longer than the budget or OBJECTS_PATCH_FILE_MAX is cut at a line
 * end and marked truncated (the counts stay exact). The file's counts are
 * added to *adds and *dels. 0 or ERR_* with e set. */
int objects_diff_file_json(git_diff *diff, size_t idx, size_t *budget, json_t **out, size_t *adds,
			   size_t *dels, struct err *e);

/* Formats a git signature time as RFC 3339 in the signer's own offset,
 * like `git log --format=%aI` ("2024-05-01T12:00:00+02:00"). out must hold
 * 32 bytes. */
void objects_time_rfc3339(char out[32], const git_time *t);

#endif
