/* merge.c — the git side of pull requests (see merge.h): merge bases,
 * trial merges, the pull request diff and its comment anchors, following a
 * line across pushes, the merge methods and the compare-and-swap of the
 * base branch. libgit2 objects are freed before each function returns. */
#include "git/merge.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "git/objects.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HUNK_TEXT_MAX 4096

static const char *oid_short(struct arena *a, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), id);
	return arena_strndup(a, hex, 12);
}

static int commit_get(git_commit **out, git_repository *repo, const git_oid *id, struct err *e)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof(hex), id);
	return objects_commit_lookup(out, repo, hex, e);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The conflicting paths of a merged index, sorted and unique. */
static int conflicts_collect(git_index *idx, struct arena *a, const char ***paths, size_t *n,
			     size_t *total, struct err *e)
{
	git_index_conflict_iterator *it = NULL;
	const git_index_entry *anc, *ours, *theirs;
	size_t cap = 16, cnt = 0, all = 0;
	const char **v = arena_alloc(a, cap * sizeof(*v));
	int grc = git_index_conflict_iterator_new(&it, idx);
	if (grc < 0)
		return objects_error(e, grc, "cannot list the merge conflicts");
	while ((grc = git_index_conflict_next(&anc, &ours, &theirs, it)) == 0) {
		const char *p = ours ? ours->path : theirs ? theirs->path : anc->path;
		all++;
		if (cnt == MERGE_CONFLICTS_MAX)
			continue;
		if (cnt == cap) {
			const char **nv = arena_alloc(a, 2 * cap * sizeof(*nv));
			memcpy(nv, v, cap * sizeof(*v));
			v = nv;
			cap *= 2;
		}
		v[cnt++] = arena_strdup(a, p);
	}
	git_index_conflict_iterator_free(it);
	if (grc != GIT_ITEROVER)
		return objects_error(e, grc, "cannot list the merge conflicts");
	qsort(v, cnt, sizeof(*v), str_cmp);
	size_t u = 0;
	for (size_t i = 0; i < cnt; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	*paths = v;
	*n = u;
	if (total)
		*total = all - (cnt - u);
	return 0;
}

static void merge_opts_init(git_merge_options *o)
{
	git_merge_options_init(o, GIT_MERGE_OPTIONS_VERSION);
	o->flags = GIT_MERGE_FIND_RENAMES;
}

int merge_state_get(struct merge_state *out, struct arena *a, git_repository *repo,
		    const git_oid *base, const git_oid *head, bool trial, struct err *e)
{
	git_commit *bc = NULL, *hc = NULL;
	git_index *idx = NULL;
	int rc = 0, grc;
	memset(out, 0, sizeof(*out));
	if ((rc = commit_get(&bc, repo, base, e)) || (rc = commit_get(&hc, repo, head, e)))
		goto done;
	grc = git_merge_base(&out->merge_base, repo, base, head);
	if (grc == GIT_ENOTFOUND) {
		out->clean = false; /* unrelated histories do not merge here */
		goto done;
	}
	if (grc < 0) {
		rc = objects_error(e, grc, "cannot find the merge base");
		goto done;
	}
	out->has_merge_base = true;
	if ((grc = git_graph_ahead_behind(&out->ahead, &out->behind, repo, head, base)) < 0) {
		rc = objects_error(e, grc, "cannot count commits");
		goto done;
	}
	if (!trial)
		goto done;
	if (out->ahead == 0 || out->behind == 0) {
		out->clean = true; /* nothing to merge, or a fast-forward */
		goto done;
	}
	git_merge_options mo;
	merge_opts_init(&mo);
	if ((grc = git_merge_commits(&idx, repo, bc, hc, &mo)) < 0) {
		rc = objects_error(e, grc, "cannot merge");
		goto done;
	}
	out->clean = !git_index_has_conflicts(idx);
	if (!out->clean)
		rc = conflicts_collect(idx, a, &out->conflicts, &out->nconflicts,
				       &out->nconflicts_total, e);
done:
	git_index_free(idx);
	git_commit_free(bc);
	git_commit_free(hc);
	return rc;
}

static int commit_tree(git_tree **out, git_repository *repo, const git_oid *id, struct err *e)
{
	git_commit *c = NULL;
	int rc = commit_get(&c, repo, id, e);
	if (rc)
		return rc;
	int grc = git_commit_tree(out, c);
	git_commit_free(c);
	if (grc < 0)
		return objects_error(e, grc, "tree of commit '%s' not found", git_oid_tostr_s(id));
	return 0;
}

int merge_diff(git_diff **out, git_repository *repo, const git_oid *merge_base, const git_oid *head,
	       struct err *e)
{
	git_tree *old = NULL, *new = NULL;
	git_diff *diff = NULL;
	int rc, grc;
	if ((rc = commit_tree(&old, repo, merge_base, e)) || (rc = commit_tree(&new, repo, head, e)))
		goto done;
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	git_diff_find_options fopts = GIT_DIFF_FIND_OPTIONS_INIT;
	fopts.flags = GIT_DIFF_FIND_RENAMES;
	if ((grc = git_diff_tree_to_tree(&diff, repo, old, new, &dopts)) < 0 ||
	    (grc = git_diff_find_similar(diff, &fopts)) < 0) {
		rc = objects_error(e, grc, "cannot compute the diff");
		goto done;
	}
	*out = diff;
	diff = NULL;
done:
	git_diff_free(diff);
	git_tree_free(old);
	git_tree_free(new);
	return rc;
}

/* The delta of diff showing path: a deleted file by its old path, any other
 * by its new path. SIZE_MAX when absent. */
static size_t delta_find(git_diff *diff, const char *path)
{
	size_t n = git_diff_num_deltas(diff);
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *p = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
		if (p && !strcmp(p, path))
			return i;
	}
	return SIZE_MAX;
}

int merge_diff_line_check(git_diff *diff, struct arena *a, const char *path, bool left, int line,
			  const char **hunk_out, const char **old_path_out, struct err *e)
{
	git_patch *patch = NULL;
	struct buf text = BUF_INIT;
	int rc = 0, grc;
	const char *side = left ? "left" : "right";
	size_t idx = delta_find(diff, path);
	if (idx == SIZE_MAX)
		return err_set(e, ERR_INVALID, "invalid_comment",
			       "path '%.200s' is not changed by this pull request", path);
	if ((grc = git_patch_from_diff(&patch, diff, idx)) < 0)
		return objects_error(e, grc, "cannot compute the diff");
	const git_diff_delta *d = git_diff_get_delta(diff, idx);
	if (!patch || (d->flags & GIT_DIFF_FLAG_BINARY)) {
		rc = err_set(e, ERR_INVALID, "invalid_comment",
			     "'%.200s' is a binary file: comments need a line", path);
		goto done;
	}
	bool found = false;
	size_t nh = git_patch_num_hunks(patch);
	for (size_t h = 0; h < nh && !found; h++) {
		const git_diff_hunk *hk;
		size_t nl;
		if ((grc = git_patch_get_hunk(&hk, &nl, patch, h)) < 0) {
			rc = objects_error(e, grc, "cannot read the diff");
			goto done;
		}
		buf_reset(&text);
		buf_add(&text, hk->header, hk->header_len);
		for (size_t l = 0; l < nl; l++) {
			const git_diff_line *dl;
			if ((grc = git_patch_get_line_in_hunk(&dl, patch, h, l)) < 0) {
				rc = objects_error(e, grc, "cannot read the diff");
				goto done;
			}
			char o = dl->origin;
			if (o != GIT_DIFF_LINE_CONTEXT && o != GIT_DIFF_LINE_ADDITION &&
			    o != GIT_DIFF_LINE_DELETION)
				continue;
			buf_addch(&text, o);
			buf_add(&text, dl->content, dl->content_len);
			if (dl->content_len && dl->content[dl->content_len - 1] != '\n')
				buf_addch(&text, '\n');
			bool hit = left ? (o != GIT_DIFF_LINE_ADDITION && dl->old_lineno == line)
					: (o != GIT_DIFF_LINE_DELETION && dl->new_lineno == line);
			if (hit) {
				found = true;
				break;
			}
		}
	}
	if (!found) {
		rc = err_set(e, ERR_INVALID, "invalid_comment",
			     "line %d of '%.200s' is not part of the diff on the %s side", line,
			     path, side);
		goto done;
	}
	/* keep the end of the hunk text: the lines nearest the comment */
	size_t off = text.len > HUNK_TEXT_MAX ? text.len - HUNK_TEXT_MAX : 0;
	if (off) {
		const char *nl = memchr(text.ptr + off, '\n', text.len - off);
		off = nl ? (size_t)(nl - text.ptr) + 1 : off;
	}
	*hunk_out = arena_strndup(a, text.ptr + off, text.len - off);
	*old_path_out = arena_strdup(a, d->old_file.path ? d->old_file.path : path);
done:
	buf_release(&text);
	git_patch_free(patch);
	return rc;
}

int merge_line_follow(int *out_line, git_repository *repo, const git_oid *from, const git_oid *to,
		      const char *path, int line, struct err *e)
{
	git_tree *old = NULL, *new = NULL;
	git_diff *diff = NULL;
	git_patch *patch = NULL;
	int rc, grc;
	*out_line = line;
	if (git_oid_equal(from, to))
		return 0;
	if ((rc = commit_tree(&old, repo, from, e)) || (rc = commit_tree(&new, repo, to, e)))
		goto done;
	git_diff_options dopts = GIT_DIFF_OPTIONS_INIT;
	char *spec[1] = { (char *)path };
	dopts.pathspec.strings = spec;
	dopts.pathspec.count = 1;
	dopts.flags = GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	dopts.context_lines = 0; /* each hunk is exactly one changed region */
	if ((grc = git_diff_tree_to_tree(&diff, repo, old, new, &dopts)) < 0) {
		rc = objects_error(e, grc, "cannot compute the diff");
		goto done;
	}
	if (git_diff_num_deltas(diff) == 0)
		goto done; /* the file did not change */
	const git_diff_delta *d = git_diff_get_delta(diff, 0);
	if (d->status != GIT_DELTA_MODIFIED) {
		*out_line = 0;
		goto done;
	}
	if ((grc = git_patch_from_diff(&patch, diff, 0)) < 0) {
		rc = objects_error(e, grc, "cannot compute the diff");
		goto done;
	}
	if (!patch || (d->flags & GIT_DIFF_FLAG_BINARY)) {
		*out_line = 0;
		goto done;
	}
	long shift = 0;
	size_t nh = git_patch_num_hunks(patch);
	for (size_t h = 0; h < nh; h++) {
		const git_diff_hunk *hk;
		size_t nl;
		if ((grc = git_patch_get_hunk(&hk, &nl, patch, h)) < 0) {
			rc = objects_error(e, grc, "cannot read the diff");
			goto done;
		}
		/* "-s,0" inserts after old line s; "-s,n" replaces s..s+n-1 */
		if (hk->old_lines > 0 && line >= hk->old_start &&
		    line < hk->old_start + hk->old_lines) {
			*out_line = 0;
			goto done;
		}
		bool before = hk->old_lines > 0 ? hk->old_start + hk->old_lines - 1 < line
						: hk->old_start < line;
		if (!before)
			break;
		shift += (long)hk->new_lines - (long)hk->old_lines;
	}
	*out_line = (int)(line + shift);
done:
	git_patch_free(patch);
	git_diff_free(diff);
	git_tree_free(old);
	git_tree_free(new);
	return rc;
}

int merge_commits_list(git_commit ***out, size_t *n, size_t *total, struct arena *a,
		       git_repository *repo, const git_oid *base, const git_oid *head, size_t max,
		       struct err *e)
{
	git_revwalk *walk = NULL;
	git_oid id;
	size_t cap = 16, cnt = 0, all = 0;
	git_commit **v = xcalloc(cap, sizeof(*v));
	int rc = 0, grc;
	if ((grc = git_revwalk_new(&walk, repo)) < 0 ||
	    (grc = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0 ||
	    (grc = git_revwalk_push(walk, head)) < 0 || (grc = git_revwalk_hide(walk, base)) < 0) {
		rc = objects_error(e, grc, "cannot walk the history");
		goto done;
	}
	while ((grc = git_revwalk_next(&id, walk)) == 0) {
		all++;
		if (cnt == max)
			continue;
		if (cnt == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		if ((grc = git_commit_lookup(&v[cnt], repo, &id)) < 0) {
			rc = objects_error(e, grc, "commit '%s' not found", git_oid_tostr_s(&id));
			goto done;
		}
		cnt++;
	}
	if (grc != GIT_ITEROVER) {
		rc = objects_error(e, grc, "cannot walk the history");
		goto done;
	}
done:
	git_revwalk_free(walk);
	if (rc) {
		for (size_t i = 0; i < cnt; i++)
			git_commit_free(v[i]);
		free(v);
		return rc;
	}
	*out = arena_alloc(a, (cnt + 1) * sizeof(**out));
	memcpy(*out, v, cnt * sizeof(*v));
	free(v);
	*n = cnt;
	if (total)
		*total = all;
	return 0;
}

int merge_method_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "merge"))
		return MERGE_METHOD_MERGE;
	if (!strcmp(s, "squash"))
		return MERGE_METHOD_SQUASH;
	if (!strcmp(s, "rebase"))
		return MERGE_METHOD_REBASE;
	return -1;
}

const char *merge_method_name(enum merge_method m)
{
	switch (m) {
	case MERGE_METHOD_SQUASH: return "squash";
	case MERGE_METHOD_REBASE: return "rebase";
	default: return "merge";
	}
}

/* ERR_CONFLICT naming the conflicting paths of idx. */
static int conflict_error(git_index *idx, struct arena *a, const char *what,
			  const char ***conflicts, size_t *nconflicts, struct err *e)
{
	const char **paths = NULL;
	size_t n = 0, total = 0;
	int rc = conflicts_collect(idx, a, &paths, &n, &total, e);
	if (rc)
		return rc;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n && b.len < 160; i++)
		buf_addf(&b, "%s'%.100s'", i ? ", " : "", paths[i]);
	if (n && b.len >= 160 && total > 1)
		buf_addf(&b, " and more (%zu paths)", total);
	rc = err_set(e, ERR_CONFLICT, "merge_conflict", "%s conflicts in %s", what, b.ptr);
	buf_release(&b);
	if (conflicts)
		*conflicts = paths;
	if (nconflicts)
		*nconflicts = n;
	return rc;
}

/* Writes idx as a tree and commits it with the given parents. */
static int commit_index(git_oid *out, git_repository *repo, git_index *idx,
			const git_signature *author, const git_signature *committer,
			const char *encoding, const char *message, size_t nparents,
			const git_commit **parents, struct err *e)
{
	git_oid tree_id;
	git_tree *tree = NULL;
	int grc;
	if ((grc = git_index_write_tree_to(&tree_id, idx, repo)) < 0 ||
	    (grc = git_tree_lookup(&tree, repo, &tree_id)) < 0 ||
	    (grc = git_commit_create(out, repo, NULL, author, committer, encoding, message, tree,
				     nparents, parents)) < 0) {
		git_tree_free(tree);
		const git_error *ge = git_error_last();
		log_error("cannot write merge result: %s", ge ? ge->message : "unknown error");
		return err_set(e, ERR_INTERNAL, "git_error", "cannot write the merge result");
	}
	git_tree_free(tree);
	return 0;
}

static int build_rebase(git_oid *tip, struct arena *a, git_repository *repo,
			const struct merge_job *job, git_commit *base, const char ***conflicts,
			size_t *nconflicts, struct err *e)
{
	git_commit **commits = NULL, *onto = NULL;
	size_t n = 0;
	int rc;
	if ((rc = merge_commits_list(&commits, &n, NULL, a, repo, &job->base, &job->head, SIZE_MAX,
				     e)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if (git_commit_parentcount(commits[i]) > 1) {
			rc = err_set(e, ERR_CONFLICT, "not_rebaseable",
				     "commit '%s' is a merge commit and cannot be rebased; use the "
				     "merge or squash method",
				     oid_short(a, git_commit_id(commits[i])));
			goto done;
		}
	git_merge_options mo;
	merge_opts_init(&mo);
	if (git_commit_dup(&onto, base) < 0) {
		rc = err_set(e, ERR_INTERNAL, NULL, "cannot copy a commit");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		git_commit *c = commits[i];
		git_index *idx = NULL;
		int grc = git_cherrypick_commit(&idx, repo, c, onto, 0, &mo);
		if (grc < 0) {
			rc = objects_error(e, grc, "cannot replay commit '%s'",
					   oid_short(a, git_commit_id(c)));
			goto done;
		}
		if (git_index_has_conflicts(idx)) {
			rc = conflict_error(idx, a,
					    arena_printf(a, "replaying commit '%s'",
							 oid_short(a, git_commit_id(c))),
					    conflicts, nconflicts, e);
			git_index_free(idx);
			goto done;
		}
		git_oid tree_id;
		if ((grc = git_index_write_tree_to(&tree_id, idx, repo)) < 0) {
			git_index_free(idx);
			rc = objects_error(e, grc, "cannot write a tree");
			goto done;
		}
		/* a commit whose change base already has becomes empty: drop it;
		 * one that was empty from the start is kept */
		bool was_empty = false;
		git_commit *parent = NULL;
		if (git_commit_parentcount(c) == 1 && git_commit_parent(&parent, c, 0) == 0) {
			was_empty = git_oid_equal(git_commit_tree_id(c), git_commit_tree_id(parent));
			git_commit_free(parent);
		}
		if (!was_empty && git_oid_equal(&tree_id, git_commit_tree_id(onto))) {
			git_index_free(idx);
			continue;
		}
		git_oid new_id;
		const git_commit *parents[1] = { onto };
		rc = commit_index(&new_id, repo, idx, git_commit_author(c), job->committer,
				  git_commit_message_encoding(c), git_commit_message(c), 1, parents,
				  e);
		git_index_free(idx);
		if (rc)
			goto done;
		git_commit_free(onto);
		onto = NULL;
		if ((grc = git_commit_lookup(&onto, repo, &new_id)) < 0) {
			rc = objects_error(e, grc, "cannot read the replayed commit");
			goto done;
		}
	}
	if (git_oid_equal(git_commit_id(onto), &job->base)) {
		rc = err_set(e, ERR_CONFLICT, "nothing_to_merge",
			     "every commit of the pull request is already in the base branch");
		goto done;
	}
	git_oid_cpy(tip, git_commit_id(onto));
done:
	git_commit_free(onto);
	for (size_t i = 0; i < n; i++)
		git_commit_free(commits[i]);
	return rc;
}

int merge_build(git_oid *tip, struct arena *a, git_repository *repo, const struct merge_job *job,
		const char ***conflicts, size_t *nconflicts, struct err *e)
{
	git_commit *bc = NULL, *hc = NULL;
	git_index *idx = NULL;
	int rc, grc;
	if (conflicts)
		*conflicts = NULL;
	if (nconflicts)
		*nconflicts = 0;
	if ((rc = commit_get(&bc, repo, &job->base, e)) ||
	    (rc = commit_get(&hc, repo, &job->head, e)))
		goto done;
	if (git_oid_equal(&job->base, &job->head) ||
	    git_graph_descendant_of(repo, &job->base, &job->head) == 1) {
		rc = err_set(e, ERR_CONFLICT, "nothing_to_merge",
			     "the base branch already contains every commit of the pull request");
		goto done;
	}
	if (job->method == MERGE_METHOD_REBASE) {
		rc = build_rebase(tip, a, repo, job, bc, conflicts, nconflicts, e);
		goto done;
	}
	git_merge_options mo;
	merge_opts_init(&mo);
	if ((grc = git_merge_commits(&idx, repo, bc, hc, &mo)) < 0) {
		rc = objects_error(e, grc, "cannot merge");
		goto done;
	}
	if (git_index_has_conflicts(idx)) {
		rc = conflict_error(idx, a, "merge", conflicts, nconflicts, e);
		goto done;
	}
	const git_commit *parents[2] = { bc, hc };
	size_t np = job->method == MERGE_METHOD_SQUASH ? 1 : 2;
	rc = commit_index(tip, repo, idx, job->author, job->committer, NULL, job->message, np,
			  parents, e);
done:
	git_index_free(idx);
	git_commit_free(bc);
	git_commit_free(hc);
	return rc;
}

int merge_ref_cas(git_repository *repo, const char *ref, const git_oid *expected,
		  const git_oid *tip, const char *log_message, struct err *e)
{
	git_reference *out = NULL;
	const char *name = !strncmp(ref, "refs/heads/", 11) ? ref + 11 : ref;
	int grc = git_reference_create_matching(&out, repo, ref, tip, 1, expected, log_message);
	git_reference_free(out);
	if (grc == GIT_EMODIFIED || grc == GIT_ELOCKED || grc == GIT_ENOTFOUND)
		return err_set(e, ERR_CONFLICT, "base_moved", "branch '%.200s' moved, try again",
			       name);
	if (grc < 0) {
		const git_error *ge = git_error_last();
		log_error("cannot update %s: %s", ref, ge ? ge->message : "unknown error");
		return err_set(e, ERR_INTERNAL, "git_error", "cannot update branch '%.200s'", name);
	}
	return 0;
}
