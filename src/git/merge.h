/* merge.h — the git side of pull requests, through libgit2: how a head
 * branch relates to its base (merge base, ahead/behind, would it merge
 * cleanly and which paths conflict), the pull request's diff and the lines
 * a review comment may be anchored to, carrying a comment's line across a
 * later push, the three merge methods (merge commit, squash, rebase), and
 * the compare-and-swap update of the base branch.
 *
 * Nothing here touches the database. Every function takes the calling
 * thread's repository handle (objects_repo_open) and frees what it looked
 * up before it returns; strings it hands back live on the arena. */
#ifndef PLUE_MERGE_H
#define PLUE_MERGE_H

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

/* Conflicting paths reported at most (the rest are counted). */
#define MERGE_CONFLICTS_MAX 100

/* How head relates to base. */
struct merge_state {
	git_oid merge_base;
	bool has_merge_base;    /* false: unrelated histories */
	size_t ahead;           /* commits on head not on base */
	size_t behind;          /* commits on base not on head */
	bool clean;             /* head merges into base without conflicts */
	const char **conflicts; /* when !clean: conflicting paths (arena), sorted */
	size_t nconflicts;      /* how many are listed (at most MERGE_CONFLICTS_MAX) */
	size_t nconflicts_total;
};

/* Fills *out for merging head into base: merge base, ahead/behind and,
 * when trial is set, a trial merge of the trees in memory (nothing is
 * written; without it clean is left false). Unrelated histories are
 * reported as not clean with no paths. 0 or ERR_NOTFOUND (a commit is
 * missing) / ERR_INTERNAL. */
int merge_state_get(struct merge_state *out, struct arena *a, git_repository *repo,
		    const git_oid *base, const git_oid *head, bool trial, struct err *e);

/* The diff a pull request shows: the merge base's tree against head's
 * tree (what head adds, whatever moved on base since), with rename
 * detection. The caller frees *out with git_diff_free. */
int merge_diff(git_diff **out, git_repository *repo, const git_oid *merge_base, const git_oid *head,
	       struct err *e);

/* Where a review comment may go: line `line` of path on the given side of
 * diff (left: the old file's line numbers, a context or deleted line;
 * right: the new file's, a context or added line) must be inside one of
 * the file's hunks. On success *hunk_out receives the hunk's text up to
 * and including that line (arena, at most 4 KiB, valid UTF-8 not
 * guaranteed) and *old_path_out the file's path on the left side (it
 * differs from path for a rename). ERR_INVALID with a message naming the
 * path and line otherwise. */
int merge_diff_line_check(git_diff *diff, struct arena *a, const char *path, bool left, int line,
			  const char **hunk_out, const char **old_path_out, struct err *e);

/* Follows line `line` of path from commit `from` to commit `to` (a later
 * push): *out_line receives its number in `to`, or 0 when the line itself
 * was changed or removed, or the file is gone (the comment is outdated).
 * from == to leaves the line as it is. 0 or ERR_*. */
int merge_line_follow(int *out_line, git_repository *repo, const git_oid *from, const git_oid *to,
		      const char *path, int line, struct err *e);

/* The commits a pull request brings, oldest first (topological), at most
 * max; *total receives how many there are. Each out[i] is a commit the
 * caller frees with git_commit_free; the array lives on the arena. */
int merge_commits_list(git_commit ***out, size_t *n, size_t *total, struct arena *a,
		       git_repository *repo, const git_oid *base, const git_oid *head, size_t max,
		       struct err *e);

enum merge_method { MERGE_METHOD_MERGE, MERGE_METHOD_SQUASH, MERGE_METHOD_REBASE };

/* Parses "merge", "squash", "rebase"; -1 for anything else. */
int merge_method_parse(const char *s);
const char *merge_method_name(enum merge_method m);

struct merge_job {
	enum merge_method method;
	git_oid base;                   /* the base tip the merge builds on */
	git_oid head;                   /* the head tip being merged */
	const char *message;            /* merge and squash: the new commit's message */
	const git_signature *author;    /* merge and squash commits' author */
	const git_signature *committer; /* every new commit's committer */
};

/* Builds the merge described by job and writes its objects (nothing moves
 * any ref): a merge commit with parents (base, head); a squash commit with
 * parent base and the merged tree; or head's commits replayed one by one
 * onto base, oldest first, keeping each one's author and message (a commit
 * whose change is already in base is dropped, as git rebase does).
 * *tip receives the commit base should move to. Conflicts: ERR_CONFLICT
 * slug "merge_conflict" with the paths in the message and in
 * *conflicts / *nconflicts (arena; may be NULL). A rebase of a head whose
 * commits include a merge commit: ERR_CONFLICT slug "not_rebaseable".
 * Nothing to merge (head already in base): ERR_CONFLICT slug
 * "nothing_to_merge". */
int merge_build(git_oid *tip, struct arena *a, git_repository *repo, const struct merge_job *job,
		const char ***conflicts, size_t *nconflicts, struct err *e);

/* Moves ref (a full name) from expected to tip, atomically: git's ref
 * lock is held while the current value is compared, so a push that moved
 * the ref meanwhile (or holds its lock) makes this fail with ERR_CONFLICT
 * slug "base_moved" "branch 'NAME' moved, try again" and changes nothing.
 * 0 or ERR_*. */
int merge_ref_cas(git_repository *repo, const char *ref, const git_oid *expected,
		  const git_oid *tip, const char *log_message, struct err *e);

#endif
