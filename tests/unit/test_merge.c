/* test_merge.c — the git side of pull requests on a scratch repository
 * built with libgit2: where review comments may be anchored, how a
 * comment's line follows later commits (or becomes outdated), trial
 * merges with their conflicting paths, the three merge methods and the
 * compare-and-swap of a branch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/util.h"
#include "git/merge.h"

struct fx {
	char dir[64];
	git_repository *repo;
	git_signature *sig;
	struct arena *a;
};

/* The lines "line 1".."line n", one per line; the caller frees. */
static char *lines(int n)
{
	struct buf b = BUF_INIT;
	for (int i = 1; i <= n; i++)
		buf_addf(&b, "line %d\n", i);
	return buf_detach(&b, NULL);
}

/* A commit of one file f.txt (and optionally g.txt) on parent (NULL: root). */
static void commit_files(struct fx *f, git_oid *out, const git_oid *parent, const char *ftxt,
			 const char *gtxt)
{
	git_treebuilder *tb;
	git_oid blob, tree;
	assert_int_equal(git_treebuilder_new(&tb, f->repo, NULL), 0);
	if (ftxt) {
		assert_int_equal(git_blob_create_from_buffer(&blob, f->repo, ftxt, strlen(ftxt)), 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, "f.txt", &blob, GIT_FILEMODE_BLOB),
				 0);
	}
	if (gtxt) {
		assert_int_equal(git_blob_create_from_buffer(&blob, f->repo, gtxt, strlen(gtxt)), 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, "g.txt", &blob, GIT_FILEMODE_BLOB),
				 0);
	}
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	git_treebuilder_free(tb);
	git_tree *t;
	assert_int_equal(git_tree_lookup(&t, f->repo, &tree), 0);
	git_commit *p = NULL;
	if (parent)
		assert_int_equal(git_commit_lookup(&p, f->repo, parent), 0);
	const git_commit *parents[1] = { p };
	assert_int_equal(git_commit_create(out, f->repo, NULL, f->sig, f->sig, NULL, "c\n", t,
					   p ? 1 : 0, parents),
			 0);
	git_commit_free(p);
	git_tree_free(t);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	git_libgit2_init();
	snprintf(f->dir, sizeof(f->dir), "/tmp/plue-test-merge.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(git_repository_init(&f->repo, f->dir, 1), 0);
	assert_int_equal(git_signature_new(&f->sig, "T", "t@example.com", 1700000000, 0), 0);
	f->a = arena_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	git_signature_free(f->sig);
	git_repository_free(f->repo);
	arena_free(f->a);
	char *argv[] = { "rm", "-rf", f->dir, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	free(f);
	git_libgit2_shutdown();
	return 0;
}

/* follow line `line` of f.txt from a commit with `from` to one with `to`. */
static int follow(struct fx *f, const char *from, const char *to, int line)
{
	git_oid a, b;
	struct err e = { 0 };
	int out = -1;
	commit_files(f, &a, NULL, from, NULL);
	commit_files(f, &b, &a, to, NULL);
	assert_int_equal(merge_line_follow(&out, f->repo, &a, &b, "f.txt", line, &e), 0);
	return out;
}

static void test_follow(void **state)
{
	struct fx *f = *state;
	char *base = lines(10);
	/* unchanged file: same line */
	assert_int_equal(follow(f, base, base, 5), 5);
	/* two lines inserted above: shifted down */
	assert_int_equal(follow(f, base,
				"x\ny\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\n"
				"line 7\nline 8\nline 9\nline 10\n",
				5),
			 7);
	/* the line itself rewritten: outdated */
	assert_int_equal(follow(f, base,
				"line 1\nline 2\nline 3\nline 4\nLINE 5\nline 6\nline 7\n"
				"line 8\nline 9\nline 10\n",
				5),
			 0);
	/* the line deleted: outdated; the next one moves up */
	const char *del = "line 1\nline 2\nline 3\nline 4\nline 6\nline 7\nline 8\nline 9\nline 10\n";
	assert_int_equal(follow(f, base, del, 5), 0);
	assert_int_equal(follow(f, base, del, 6), 5);
	/* a change below leaves it alone; an insertion right after it too */
	assert_int_equal(follow(f, base,
				"line 1\nline 2\nline 3\nline 4\nline 5\nnew\nline 6\n"
				"line 7\nline 8\nline 9\nline 10\n",
				5),
			 5);
	/* an insertion right before it moves it */
	assert_int_equal(follow(f, base,
				"line 1\nline 2\nline 3\nline 4\nnew\nline 5\nline 6\n"
				"line 7\nline 8\nline 9\nline 10\n",
				5),
			 6);
	free(base);
}

static void test_follow_file_gone(void **state)
{
	struct fx *f = *state;
	git_oid a, b;
	struct err e = { 0 };
	int out = -1;
	char *base = lines(3);
	commit_files(f, &a, NULL, base, "g\n");
	commit_files(f, &b, &a, NULL, "g\n");
	assert_int_equal(merge_line_follow(&out, f->repo, &a, &b, "f.txt", 2, &e), 0);
	assert_int_equal(out, 0);
	/* same commit: nothing to do */
	assert_int_equal(merge_line_follow(&out, f->repo, &a, &a, "f.txt", 2, &e), 0);
	assert_int_equal(out, 2);
	free(base);
}

static void test_line_check(void **state)
{
	struct fx *f = *state;
	git_oid a, b;
	git_diff *d = NULL;
	struct err e = { 0 };
	const char *hunk = NULL, *old_path = NULL;
	char *base = lines(20);
	commit_files(f, &a, NULL, base, NULL);
	commit_files(f, &b, &a,
		     "line 1\nline 2\nline 3\nline 4\nline five\nline 6\nline 7\nline 8\nline 9\n"
		     "line 10\nline 11\nline 12\nline 13\nline 14\nline 15\nline 16\nline 17\n"
		     "line 18\nline 19\nline 20\n",
		     NULL);
	assert_int_equal(merge_diff(&d, f->repo, &a, &b, &e), 0);
	/* right side: the added line and context lines of the hunk */
	assert_int_equal(merge_diff_line_check(d, f->a, "f.txt", false, 5, &hunk, &old_path, &e), 0);
	assert_string_equal(hunk, "@@ -2,7 +2,7 @@ line 1\n line 2\n line 3\n line 4\n-line 5\n"
				  "+line five\n");
	assert_string_equal(old_path, "f.txt");
	assert_int_equal(merge_diff_line_check(d, f->a, "f.txt", false, 8, &hunk, &old_path, &e), 0);
	/* left side: the removed line */
	assert_int_equal(merge_diff_line_check(d, f->a, "f.txt", true, 5, &hunk, &old_path, &e), 0);
	assert_string_equal(hunk, "@@ -2,7 +2,7 @@ line 1\n line 2\n line 3\n line 4\n-line 5\n");
	/* outside the hunk */
	assert_int_equal(merge_diff_line_check(d, f->a, "f.txt", false, 15, &hunk, &old_path, &e),
			 ERR_INVALID);
	assert_string_equal(e.msg, "line 15 of 'f.txt' is not part of the diff on the right side");
	err_clear(&e);
	assert_int_equal(merge_diff_line_check(d, f->a, "nope.txt", false, 1, &hunk, &old_path, &e),
			 ERR_INVALID);
	assert_string_equal(e.msg, "path 'nope.txt' is not changed by this pull request");
	git_diff_free(d);
	free(base);
}

static void test_state_and_build(void **state)
{
	struct fx *f = *state;
	git_oid root, ours, theirs, clash, tip;
	struct merge_state ms;
	struct err e = { 0 };
	char *base = lines(5);
	commit_files(f, &root, NULL, base, NULL);
	commit_files(f, &ours, &root, base, "ours\n");
	commit_files(f, &theirs, &root, "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n", NULL);
	commit_files(f, &clash, &root, base, "theirs\n");

	assert_int_equal(merge_state_get(&ms, f->a, f->repo, &ours, &theirs, true, &e), 0);
	assert_true(ms.has_merge_base);
	assert_true(ms.clean);
	assert_int_equal(ms.ahead, 1);
	assert_int_equal(ms.behind, 1);
	assert_true(git_oid_equal(&ms.merge_base, &root));

	assert_int_equal(merge_state_get(&ms, f->a, f->repo, &ours, &clash, true, &e), 0);
	assert_false(ms.clean);
	assert_int_equal(ms.nconflicts, 1);
	assert_string_equal(ms.conflicts[0], "g.txt");

	struct merge_job job = { .message = "m\n", .author = f->sig, .committer = f->sig };
	const char **paths = NULL;
	size_t np = 0;
	git_commit *c;
	for (int m = MERGE_METHOD_MERGE; m <= MERGE_METHOD_REBASE; m++) {
		job.method = (enum merge_method)m;
		git_oid_cpy(&job.base, &ours);
		git_oid_cpy(&job.head, &theirs);
		assert_int_equal(merge_build(&tip, f->a, f->repo, &job, &paths, &np, &e), 0);
		assert_int_equal(git_commit_lookup(&c, f->repo, &tip), 0);
		assert_int_equal(git_commit_parentcount(c), m == MERGE_METHOD_MERGE ? 2 : 1);
		assert_true(git_oid_equal(git_commit_parent_id(c, 0), &ours));
		git_commit_free(c);

		git_oid_cpy(&job.head, &clash);
		assert_int_equal(merge_build(&tip, f->a, f->repo, &job, &paths, &np, &e),
				 ERR_CONFLICT);
		assert_string_equal(e.slug, "merge_conflict");
		assert_int_equal(np, 1);
		assert_string_equal(paths[0], "g.txt");
		err_clear(&e);
	}
	/* head already in base */
	job.method = MERGE_METHOD_MERGE;
	git_oid_cpy(&job.base, &ours);
	git_oid_cpy(&job.head, &root);
	assert_int_equal(merge_build(&tip, f->a, f->repo, &job, NULL, NULL, &e), ERR_CONFLICT);
	assert_string_equal(e.slug, "nothing_to_merge");
	free(base);
}

static void test_cas(void **state)
{
	struct fx *f = *state;
	git_oid a, b, c;
	git_reference *ref;
	struct err e = { 0 };
	char *base = lines(2);
	commit_files(f, &a, NULL, base, NULL);
	commit_files(f, &b, &a, base, "b\n");
	commit_files(f, &c, &a, base, "c\n");
	assert_int_equal(git_reference_create(&ref, f->repo, "refs/heads/main", &a, 0, NULL), 0);
	git_reference_free(ref);
	assert_int_equal(merge_ref_cas(f->repo, "refs/heads/main", &a, &b, "test", &e), 0);
	/* someone moved it: the second swap from a refuses */
	assert_int_equal(merge_ref_cas(f->repo, "refs/heads/main", &a, &c, "test", &e), ERR_CONFLICT);
	assert_string_equal(e.slug, "base_moved");
	assert_string_equal(e.msg, "branch 'main' moved, try again");
	git_oid now;
	assert_int_equal(git_reference_name_to_id(&now, f->repo, "refs/heads/main"), 0);
	assert_true(git_oid_equal(&now, &b));
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_file_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_and_build, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
