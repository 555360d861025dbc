/* test_browse.c — the helpers behind the browsing API: git's tree order,
 * UTF-8 validation, blob content types, RFC 3339 dates, libgit2 error
 * translation, and the per-thread repository handles (reuse, pack
 * revalidation, a vanished directory) on a real repository; ref
 * resolution and listing, a commit's diff and paged, path-filtered
 * history on a small history built with libgit2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git/objects.h"

struct named {
	const char *name;
	bool tree;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	return objects_tree_cmp(x->name, strlen(x->name), x->tree, y->name, strlen(y->name), y->tree);
}

static void test_tree_order(void **state)
{
	(void)state;
	/* shuffled; git puts a tree where its name plus '/' sorts */
	struct named v[] = {
		{ "libz", false }, { "lib", true },    { "é", false },   { "lib.rs", false },
		{ "Lib", false },  { "lib-x", false }, { "a b", false }, { "a", true },
	};
	const char *want[] = { "Lib", "a b", "a", "lib-x", "lib.rs", "lib", "libz", "é" };
	size_t n = sizeof(v) / sizeof(v[0]);
	qsort(v, n, sizeof(v[0]), named_cmp);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].name, want[i]);

	assert_int_equal(objects_tree_cmp("x", 1, false, "x", 1, false), 0);
	assert_true(objects_tree_cmp("x", 1, true, "x", 1, false) > 0);
	assert_true(objects_tree_cmp("x", 1, true, "x.c", 3, false) > 0);
	assert_true(objects_tree_cmp("x", 1, true, "x0", 2, false) < 0);
	/* bytes compare unsigned */
	assert_true(objects_tree_cmp("\xc3", 1, false, "z", 1, false) > 0);
}

static void test_utf8(void **state)
{
	(void)state;
	const char *ok[] = { "",
			     "abc",
			     "h\xc3\xa9llo",
			     "\xe2\x82\xac",
			     "\xf0\x9d\x84\x9e",
			     "0123456789abcdef\xc3\xa9",
			     "\xf4\x8f\xbf\xbf",
			     NULL };
	for (const char **p = ok; *p; p++)
		assert_true(objects_utf8_valid(*p, strlen(*p)));
	assert_true(objects_utf8_valid("a\0b", 3));
	const char *bad[] = {
		"\xc0\x80",         /* overlong NUL */
		"\xe0\x80\x80",     /* overlong */
		"\xed\xa0\x80",     /* surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf5\x80\x80\x80",
		"\xe2\x82",
		"\x80",
		"abcdefghij\xff",
		"caf\xe9 latin-1",
		"0123456789abcdef\xc3",
		NULL,
	};
	for (const char **p = bad; *p; p++)
		assert_false(objects_utf8_valid(*p, strlen(*p)));
}

static void test_lossy_and_subject(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	objects_utf8_lossy(&b,
			   "a\xff"
			   "b\xe2\x82",
			   5);
	assert_string_equal(b.ptr, "a\xef\xbf\xbd"
				   "b\xef\xbf\xbd\xef\xbf\xbd");
	buf_reset(&b);
	objects_utf8_lossy(&b, "h\xc3\xa9", 3);
	assert_string_equal(b.ptr, "h\xc3\xa9");

	buf_reset(&b);
	objects_subject(&b, "x\ny\tz", 100);
	assert_string_equal(b.ptr, "x?y?z");
	char s[160];
	memset(s, 'a', 150);
	s[150] = '\0';
	buf_reset(&b);
	objects_subject(&b, s, 100);
	assert_int_equal(b.len, 103);
	assert_string_equal(b.ptr + 100, "...");
	/* never cut inside a character: 99 bytes, then a 2-byte one */
	memcpy(s + 99, "\xc3\xa9", 3);
	buf_reset(&b);
	objects_subject(&b, s, 100);
	assert_int_equal(b.len, 102);
	assert_string_equal(b.ptr + 99, "...");
	buf_release(&b);
}

static void test_content_type(void **state)
{
	(void)state;
	const char *text = "text/plain; charset=utf-8", *bin = "application/octet-stream";
	assert_string_equal(objects_content_type("\x89PNG\r\n\x1a\n\0\0", 10), "image/png");
	assert_string_equal(objects_content_type("\xff\xd8\xff\xe0", 4), "image/jpeg");
	assert_string_equal(objects_content_type("GIF89a..", 8), "image/gif");
	assert_string_equal(objects_content_type("RIFF\0\0\0\0WEBPVP8 ", 16), "image/webp");
	assert_string_equal(objects_content_type("", 0), text);
	assert_string_equal(objects_content_type("hello\n", 6), text);
	assert_string_equal(objects_content_type("<html><script>x</script>", 24), text);
	assert_string_equal(objects_content_type("<svg><script>x</script></svg>", 29), text);
	assert_string_equal(objects_content_type("GIF8", 4), text);
	assert_string_equal(objects_content_type("a\0b", 3), bin);
	assert_string_equal(objects_content_type("caf\xe9", 4), bin);
}

static void test_rfc3339(void **state)
{
	(void)state;
	char out[32];
	struct {
		git_time_t t;
		int off;
		const char *want;
	} v[] = {
		{ 0, 0, "1970-01-01T00:00:00+00:00" },
		{ 1710000000, 60, "2024-03-09T17:00:00+01:00" },
		{ 1710000000, -420, "2024-03-09T09:00:00-07:00" },
		{ 1710000000, 330, "2024-03-09T21:30:00+05:30" },
		{ 1710000000, -90, "2024-03-09T14:30:00-01:30" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		git_time t = { .time = v[i].t, .offset = v[i].off, .sign = v[i].off < 0 ? '-' : '+' };
		objects_time_rfc3339(out, &t);
		assert_string_equal(out, v[i].want);
	}
}

static void test_error(void **state)
{
	(void)state;
	struct err e = { 0 };
	assert_int_equal(objects_error(&e, GIT_ENOTFOUND, "commit '%s' not found", "abc"),
			 ERR_NOTFOUND);
	assert_string_equal(e.msg, "commit 'abc' not found");
	err_clear(&e);
	assert_int_equal(objects_error(&e, GIT_EINVALIDSPEC, "bad"), ERR_INVALID);
	err_clear(&e);
	assert_int_equal(objects_error(&e, GIT_ERROR, "never shown"), ERR_INTERNAL);
	assert_string_equal(e.msg, "cannot read the repository");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void hex_of(char out[GIT_OID_HEXSZ + 1], const git_oid *id)
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, id);
}

static void test_handles(void **state)
{
	(void)state;
	char dir[] = "/tmp/plue-test-browse.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], pack[300];
	snprintf(path, sizeof(path), "%s/r.git", dir);
	snprintf(pack, sizeof(pack), "%s/objects/pack/marker", path);

	/* a repository with one commit: README at the root */
	git_repository *init;
	assert_int_equal(git_repository_init(&init, path, 1), 0);
	git_oid blob, tree, commit;
	git_treebuilder *tb;
	git_tree *t;
	git_signature *sig;
	assert_int_equal(git_blob_create_from_buffer(&blob, init, "hi\n", 3), 0);
	assert_int_equal(git_treebuilder_new(&tb, init, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "README", &blob, GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_tree_lookup(&t, init, &tree), 0);
	assert_int_equal(git_signature_new(&sig, "T", "t@example.com", 1710000000, 60), 0);
	assert_int_equal(git_commit_create_v(&commit, init, "HEAD", sig, sig, NULL, "m\n", t, 0), 0);
	git_signature_free(sig);
	git_tree_free(t);
	git_repository_free(init);

	/* the same handle while nothing changes */
	struct err e = { 0 };
	git_repository *a, *b;
	assert_int_equal(objects_repo_open(&a, path, &e), 0);
	assert_int_equal(objects_repo_open(&b, path, &e), 0);
	assert_ptr_equal(a, b);

	char hex[GIT_OID_HEXSZ + 1], want[200];
	git_commit *c = NULL;
	hex_of(hex, &commit);
	assert_int_equal(objects_commit_lookup(&c, b, hex, &e), 0);
	git_tree_entry *te = NULL;
	assert_int_equal(objects_entry_bypath(&te, c, "README", &e), 0);
	assert_true(git_oid_equal(git_tree_entry_id(te), &blob));
	git_tree_entry_free(te);
	assert_int_equal(objects_entry_bypath(&te, c, "missing/x", &e), ERR_NOTFOUND);
	snprintf(want, sizeof(want), "path 'missing/x' not found in commit '%s'", hex);
	assert_string_equal(e.msg, want);
	git_commit_free(c);

	err_clear(&e);
	hex_of(hex, &tree);
	assert_int_equal(objects_commit_lookup(&c, b, hex, &e), ERR_NOTFOUND);
	snprintf(want, sizeof(want), "'%s' is a tree, not a commit", hex);
	assert_string_equal(e.msg, want);
	err_clear(&e);
	assert_int_equal(objects_commit_lookup(&c, b, "0000000000000000000000000000000000000000", &e),
			 ERR_NOTFOUND);
	assert_string_equal(e.msg, "commit '0000000000000000000000000000000000000000' not found");

	/* a change in objects/pack reopens; the handle still reads */
	FILE *f = fopen(pack, "w");
	assert_non_null(f);
	fclose(f);
	err_clear(&e);
	assert_int_equal(objects_repo_open(&a, path, &e), 0);
	hex_of(hex, &commit);
	assert_int_equal(objects_commit_lookup(&c, a, hex, &e), 0);
	git_commit_free(c);

	/* more repositories than slots: the oldest goes, all still open */
	for (int i = 0; i < OBJECTS_HANDLES + 2; i++) {
		char other[300];
		snprintf(other, sizeof(other), "%s/o%d.git", dir, i);
		assert_int_equal(git_repository_init(&init, other, 1), 0);
		git_repository_free(init);
		assert_int_equal(objects_repo_open(&b, other, &e), 0);
	}
	assert_int_equal(objects_repo_open(&a, path, &e), 0);

	/* a vanished repository is not found, and says nothing of the path */
	assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	err_clear(&e);
	assert_int_equal(objects_repo_open(&a, path, &e), ERR_NOTFOUND);
	assert_string_equal(e.msg, "repository not found on disk");
	objects_thread_release();
	objects_thread_release(); /* idempotent */
}

/* A commit on parent (NULL: a root) whose flat tree holds the n files
 * names[i] = contents[i], at time t. */
static git_oid commit_files(git_repository *repo, const git_oid *parent, int64_t t, size_t n,
			    const char *const *names, const char *const *contents)
{
	git_treebuilder *tb;
	git_oid blob, tree, out;
	git_tree *tr;
	git_signature *sig;
	git_commit *pc = NULL;
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(git_blob_create_from_buffer(&blob, repo, contents[i],
							     strlen(contents[i])),
				 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, names[i], &blob, GIT_FILEMODE_BLOB),
				 0);
	}
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	git_treebuilder_free(tb);
	assert_int_equal(git_tree_lookup(&tr, repo, &tree), 0);
	assert_int_equal(git_signature_new(&sig, "T", "t@example.com", t, 0), 0);
	if (parent)
		assert_int_equal(git_commit_lookup(&pc, repo, parent), 0);
	const git_commit *parents[1] = { pc };
	assert_int_equal(git_commit_create(&out, repo, NULL, sig, sig, NULL, "m\n", tr,
					   parent ? 1 : 0, parents),
			 0);
	git_commit_free(pc);
	git_signature_free(sig);
	git_tree_free(tr);
	return out;
}

static void set_ref(git_repository *repo, const char *name, const git_oid *id)
{
	git_reference *ref;
	assert_int_equal(git_reference_create(&ref, repo, name, id, 1, NULL), 0);
	git_reference_free(ref);
}

static void test_refs_and_history(void **state)
{
	(void)state;
	char dir[] = "/tmp/plue-test-history.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/r.git", dir);
	git_repository *repo;
	assert_int_equal(git_repository_init(&repo, path, 1), 0);
	const char *names[] = { "a.txt", "b.txt", "c.txt" };
	const char *v1[] = { "1\n", "1\n" }, *v2[] = { "2\n", "1\n" }, *v3[] = { "2\n", "2\n" },
		   *v4[] = { "2\n", "2\n", "c\n" };
	git_oid c1 = commit_files(repo, NULL, 1710000001, 2, names, v1);
	git_oid c2 = commit_files(repo, &c1, 1710000002, 2, names, v2);
	git_oid c3 = commit_files(repo, &c2, 1710000003, 2, names, v3);
	git_oid c4 = commit_files(repo, &c3, 1710000004, 3, names, v4);
	set_ref(repo, "refs/heads/main", &c4);
	set_ref(repo, "refs/heads/feature/x", &c2);
	set_ref(repo, "refs/tags/main", &c1); /* a tag named like a branch */
	set_ref(repo, "refs/tags/v1", &c1);

	/* refs: a branch wins over a tag of the same name */
	struct err e = { 0 };
	struct buf full = BUF_INIT;
	git_oid got;
	assert_int_equal(objects_ref_resolve(&got, &full, repo, "main", &e), 0);
	assert_true(git_oid_equal(&got, &c4));
	assert_string_equal(full.ptr, "refs/heads/main");
	assert_int_equal(objects_ref_resolve(&got, &full, repo, "refs/tags/main", &e), 0);
	assert_true(git_oid_equal(&got, &c1));
	assert_int_equal(objects_ref_resolve(&got, NULL, repo, "feature/x", &e), 0);
	assert_true(git_oid_equal(&got, &c2));
	assert_int_equal(objects_ref_resolve(&got, NULL, repo, "nope", &e), ERR_NOTFOUND);
	assert_string_equal(e.msg, "ref 'nope' not found");
	buf_release(&full);

	struct objects_ref *v;
	size_t n;
	assert_int_equal(objects_refs_list(&v, &n, repo, "refs/heads/", &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "feature/x");
	assert_string_equal(v[1].name, "main");
	assert_true(git_oid_equal(&v[1].commit, &c4));
	objects_refs_free(v, n);
	assert_int_equal(objects_refs_list(&v, &n, repo, "refs/tags/", &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "main");
	assert_string_equal(v[1].name, "v1");
	objects_refs_free(v, n);

	/* pages of two, then the rest from the cursor */
	struct objects_log log;
	char hex[GIT_OID_HEXSZ + 1], want[200];
	assert_int_equal(objects_log(&log, repo, &c4, NULL, NULL, 2, &e), 0);
	assert_int_equal(log.n, 2);
	assert_true(git_oid_equal(&log.ids[0], &c4) && git_oid_equal(&log.ids[1], &c3));
	assert_true(log.more && git_oid_equal(&log.next, &c2));
	objects_log_release(&log);
	hex_of(hex, &c2);
	assert_int_equal(objects_log(&log, repo, &c4, hex, NULL, 2, &e), 0);
	assert_int_equal(log.n, 2);
	assert_true(git_oid_equal(&log.ids[0], &c2) && git_oid_equal(&log.ids[1], &c1));
	assert_false(log.more);
	objects_log_release(&log);

	/* a path: only the commits that change it (the root adds it) */
	assert_int_equal(objects_log(&log, repo, &c4, NULL, "a.txt", 10, &e), 0);
	assert_int_equal(log.n, 2);
	assert_true(git_oid_equal(&log.ids[0], &c2) && git_oid_equal(&log.ids[1], &c1));
	objects_log_release(&log);
	assert_int_equal(objects_log(&log, repo, &c4, NULL, "c.txt", 10, &e), 0);
	assert_int_equal(log.n, 1);
	assert_true(git_oid_equal(&log.ids[0], &c4));
	objects_log_release(&log);
	assert_int_equal(objects_log(&log, repo, &c4, NULL, "missing", 10, &e), 0);
	assert_int_equal(log.n, 0);
	assert_false(log.more);
	objects_log_release(&log);

	/* a cursor the walk never meets */
	err_clear(&e);
	hex_of(hex, &c4);
	assert_int_equal(objects_log(&log, repo, &c2, hex, NULL, 10, &e), ERR_INVALID);
	char start[GIT_OID_HEXSZ + 1];
	hex_of(start, &c2);
	snprintf(want, sizeof(want), "cursor '%s' is not in the history of commit '%s'", hex, start);
	assert_string_equal(e.msg, want);
	assert_null(log.ids);

	/* a commit's diff: against its first parent, a root against nothing */
	git_commit *c;
	git_diff *diff;
	assert_int_equal(git_commit_lookup(&c, repo, &c2), 0);
	assert_int_equal(objects_commit_diff(&diff, c, &e), 0);
	assert_int_equal(git_diff_num_deltas(diff), 1);
	assert_string_equal(git_diff_get_delta(diff, 0)->new_file.path, "a.txt");
	git_diff_free(diff);
	git_commit_free(c);
	assert_int_equal(git_commit_lookup(&c, repo, &c1), 0);
	assert_int_equal(objects_commit_diff(&diff, c, &e), 0);
	assert_int_equal(git_diff_num_deltas(diff), 2);
	assert_int_equal(git_diff_get_delta(diff, 0)->status, GIT_DELTA_ADDED);
	git_diff_free(diff);
	git_commit_free(c);

	git_repository_free(repo);
	assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
	git_libgit2_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_order),        cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_lossy_and_subject), cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_rfc3339),           cmocka_unit_test(test_error),
		cmocka_unit_test(test_handles),           cmocka_unit_test(test_refs_and_history),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
