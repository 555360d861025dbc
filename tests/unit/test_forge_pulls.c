/* test_forge_pulls.c — the merge engine (forge/pulls.h: pull_merge)
 * against a real throwaway PostgreSQL and a real bare repository on disk:
 * what a merge writes (the ref, the rows, the outbox in order), its
 * compare-and-swap when the base is taken, its undo when recording fails,
 * and the guards that leave everything as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>

#include "base/config.h"
#include "forge/pulls.h"
#include "git/store.h"
#include "pgtest.h"

/* One repository alice/proj: main with a.txt, topic one commit ahead
 * with b.txt, and pull request #1 of topic into main opened by alice. */
struct fx {
	int64_t alice, rita, rid;
	struct auth alice_who, rita_who;
	const struct repo *repo;
	const char *path; /* the bare repository on disk */
	git_oid main_tip, topic_tip;
};

static void commit_file(git_repository *repo, const char *ref, const git_oid *parent,
			const char *file, const char *text, git_oid *out)
{
	git_index *idx = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	git_signature *sig = NULL;
	git_oid blob, tree_id;
	assert_int_equal(git_repository_index(&idx, repo), 0);
	if (parent) {
		git_tree *pt = NULL;
		assert_int_equal(git_commit_lookup(&pc, repo, parent), 0);
		assert_int_equal(git_commit_tree(&pt, pc), 0);
		assert_int_equal(git_index_read_tree(idx, pt), 0);
		git_tree_free(pt);
	}
	assert_int_equal(git_blob_create_from_buffer(&blob, repo, text, strlen(text)), 0);
	git_index_entry e = { .mode = GIT_FILEMODE_BLOB, .id = blob, .path = file };
	assert_int_equal(git_index_add(idx, &e), 0);
	assert_int_equal(git_index_write_tree(&tree_id, idx), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tree_id), 0);
	assert_int_equal(git_signature_new(&sig, "alice", "alice@example.com", 1700000000, 0), 0);
	const git_commit *parents[] = { pc };
	assert_int_equal(git_commit_create(out, repo, ref, sig, sig, NULL, file, tree, pc ? 1 : 0,
					   parents),
			 0);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(pc);
	git_index_free(idx);
}

static void fx_setup(struct pgtest *t, struct fx *x)
{
	char buf[GIT_OID_HEXSZ + 1];
	git_repository *repo = NULL;
	x->alice = pgtest_user(t, "alice", false);
	x->rita = pgtest_user(t, "rita", false);
	x->rid = pgtest_repo(t, x->alice, "proj", false);
	pgtest_collaborator(t, x->rid, x->rita, "read");
	x->alice_who = pgtest_who(x->alice, "alice");
	x->rita_who = pgtest_who(x->rita, "rita");
	x->path = repo_store_path(t->arena, x->rid);
	assert_int_equal(git_repository_init(&repo, x->path, 1), 0);
	commit_file(repo, "refs/heads/main", NULL, "a.txt", "one\n", &x->main_tip);
	commit_file(repo, "refs/heads/topic", &x->main_tip, "b.txt", "two\n", &x->topic_tip);
	git_repository_free(repo);
	pgtest_sql(t, "INSERT INTO branches (repo_id, name, commit_sha) VALUES ($1, 'main', $2)",
		   arena_int(t->arena, x->rid), git_oid_tostr(buf, sizeof(buf), &x->main_tip));
	pgtest_sql(t, "INSERT INTO branches (repo_id, name, commit_sha) VALUES ($1, 'topic', $2)",
		   arena_int(t->arena, x->rid), git_oid_tostr(buf, sizeof(buf), &x->topic_tip));
	x->repo = pgtest_repo_load(t, &x->alice_who, "alice", "proj");
	struct forge f = pgtest_forge(t, &x->alice_who);
	struct pull_new in = { .title = "add b", .body = "", .head = "topic", .base = "main" };
	json_t *pr = NULL;
	assert_int_equal(pull_create(&pr, &f, x->repo, &in), 0);
	assert_int_equal(json_integer_value(json_object_get(pr, "number")), 1);
	json_decref(pr);
}

/* oid as hex, copied into the arena (git_oid_tostr_s's buffer is reused
 * by the next call, in this thread and in the code under test). */
static const char *hex(struct pgtest *t, const git_oid *oid)
{
	char buf[GIT_OID_HEXSZ + 1];
	return arena_strdup(t->arena, git_oid_tostr(buf, sizeof(buf), oid));
}

/* The tip of main on disk, as hex (arena). */
static const char *main_on_disk(struct pgtest *t, const struct fx *x)
{
	git_repository *repo = NULL;
	git_oid oid;
	assert_int_equal(git_repository_open_bare(&repo, x->path), 0);
	assert_int_equal(git_reference_name_to_id(&oid, repo, "refs/heads/main"), 0);
	git_repository_free(repo);
	return hex(t, &oid);
}

/* Nothing of a merge happened: main where it was, the pull request open
 * and not merged, no event after event id `after`. */
static void assert_untouched(struct pgtest *t, const struct fx *x, long long after)
{
	assert_string_equal(main_on_disk(t, x), hex(t, &x->main_tip));
	assert_string_equal(pgtest_str(t, "SELECT state FROM issues WHERE number = 1"), "open");
	assert_string_equal(pgtest_str(t, "SELECT merged::text FROM pull_requests"), "false");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE id > $1",
				    arena_int(t->arena, after)),
			 0);
	assert_string_equal(pgtest_str(t, "SELECT commit_sha FROM branches WHERE name = 'main'"),
			    hex(t, &x->main_tip));
}

static long long last_event(struct pgtest *t)
{
	return pgtest_int(t, "SELECT coalesce(max(id), 0) FROM events");
}

static void test_merge_records_as_a_push(void **state)
{
	struct pgtest *t = *state;
	struct fx x;
	fx_setup(t, &x);
	long long before = last_event(t);
	struct forge f = pgtest_forge(t, &x.alice_who);
	struct pull_merge_opts o = { .sha = hex(t, &x.topic_tip) };
	struct pull_merge_result res;
	assert_int_equal(pull_merge(&res, &f, x.repo, "1", &o), 0);
	assert_string_equal(res.method, "merge");
	assert_int_equal(res.number, 1);
	/* the ref on disk, and a merge commit of both tips */
	assert_string_equal(main_on_disk(t, &x), res.sha);
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_oid tip;
	assert_int_equal(git_repository_open_bare(&repo, x.path), 0);
	assert_int_equal(git_oid_fromstr(&tip, res.sha), 0);
	assert_int_equal(git_commit_lookup(&c, repo, &tip), 0);
	assert_int_equal(git_commit_parentcount(c), 2);
	assert_true(git_oid_equal(git_commit_parent_id(c, 0), &x.main_tip));
	assert_true(git_oid_equal(git_commit_parent_id(c, 1), &x.topic_tip));
	git_commit_free(c);
	git_repository_free(repo);
	/* the rows */
	assert_string_equal(pgtest_str(t, "SELECT merged::text || ' ' || merge_method || ' ' || "
					  "merge_commit_sha FROM pull_requests"),
			    arena_printf(t->arena, "true merge %s", res.sha));
	assert_string_equal(pgtest_str(t, "SELECT state || ' ' || closed_by FROM issues "
					  "WHERE number = 1 AND closed_at IS NOT NULL"),
			    arena_printf(t->arena, "closed %lld", (long long)x.alice));
	assert_string_equal(pgtest_str(t, "SELECT commit_sha FROM branches WHERE name = 'main'"),
			    res.sha);
	/* the outbox: the push of main, then the pull request merged */
	assert_string_equal(pgtest_str(t,
				       "SELECT string_agg(type || ':' || coalesce(payload->>'action', "
				       "payload->>'ref'), ',' ORDER BY id) FROM events WHERE id > $1",
				       arena_int(t->arena, before)),
			    "push:refs/heads/main,pull_request:merged");
	assert_string_equal(pgtest_str(t, "SELECT payload->>'before' || ' ' || "
					  "(payload->>'after') FROM events WHERE type = 'push'"),
			    arena_printf(t->arena, "%s %s", hex(t, &x.main_tip), res.sha));
	/* the merged commits keep who pushed them: the merger, here */
	assert_true(pgtest_int(t, "SELECT count(*) FROM push_commits WHERE sha = $1", res.sha) >= 1);
	/* merged once: a second merge is refused and changes nothing */
	long long after = last_event(t);
	f = pgtest_forge(t, &x.alice_who);
	assert_int_not_equal(pull_merge(&res, &f, x.repo, "1", &(struct pull_merge_opts){ 0 }), 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE id > $1",
				    arena_int(t->arena, after)),
			 0);
}

/* The base's ref lock is held (a push moving it at that moment): the
 * compare-and-swap refuses and nothing is recorded. */
static void test_merge_cas_base_taken(void **state)
{
	struct pgtest *t = *state;
	struct fx x;
	fx_setup(t, &x);
	long long before = last_event(t);
	const char *lock = arena_printf(t->arena, "%s/refs/heads/main.lock", x.path);
	FILE *lf = fopen(lock, "w");
	assert_non_null(lf);
	fclose(lf);
	struct forge f = pgtest_forge(t, &x.alice_who);
	struct pull_merge_result res;
	int rc = pull_merge(&res, &f, x.repo, "1", &(struct pull_merge_opts){ 0 });
	assert_int_equal(rc, ERR_CONFLICT);
	assert_string_equal(t->err.slug, "base_moved");
	assert_string_equal(t->err.msg, "branch 'main' moved, try again");
	remove(lock);
	assert_untouched(t, &x, before);
	/* with the lock gone the same merge goes through */
	f = pgtest_forge(t, &x.alice_who);
	assert_int_equal(pull_merge(&res, &f, x.repo, "1", &(struct pull_merge_opts){ 0 }), 0);
	assert_string_equal(main_on_disk(t, &x), res.sha);
}

/* Recording fails after the base moved: the transaction rolls back and
 * the base is put back where it was. */
static void test_merge_undo_when_recording_fails(void **state)
{
	struct pgtest *t = *state;
	struct fx x;
	fx_setup(t, &x);
	pgtest_sql(t, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
		      "$$ BEGIN RAISE EXCEPTION 'refused by the test: %', NEW.type; END $$");
	pgtest_sql(t, "CREATE TRIGGER refuse BEFORE INSERT ON events "
		      "FOR EACH ROW EXECUTE FUNCTION refuse()");
	long long before = last_event(t);
	struct forge f = pgtest_forge(t, &x.alice_who);
	struct pull_merge_result res;
	assert_int_equal(pull_merge(&res, &f, x.repo, "1", &(struct pull_merge_opts){ 0 }),
			 ERR_INTERNAL);
	assert_untouched(t, &x, before);
}

/* The guards: a head that moved since the caller looked, a reader, a bad
 * method; each refused with the API's code and message, nothing written. */
static void test_merge_guards(void **state)
{
	struct pgtest *t = *state;
	struct fx x;
	fx_setup(t, &x);
	long long before = last_event(t);
	struct pull_merge_result res;
	struct forge f = pgtest_forge(t, &x.alice_who);
	struct pull_merge_opts moved = { .sha = hex(t, &x.main_tip) };
	assert_int_equal(pull_merge(&res, &f, x.repo, "1", &moved), ERR_CONFLICT);
	assert_string_equal(t->err.slug, "head_moved");
	f = pgtest_forge(t, &x.alice_who);
	assert_int_equal(pull_merge(&res, &f, x.repo, "1",
				    &(struct pull_merge_opts){ .method = "octopus" }),
			 ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_method");
	const struct repo *as_rita = pgtest_repo_load(t, &x.rita_who, "alice", "proj");
	f = pgtest_forge(t, &x.rita_who);
	assert_int_equal(pull_merge(&res, &f, as_rita, "1", &(struct pull_merge_opts){ 0 }),
			 ERR_PERM);
	f = pgtest_forge(t, &x.alice_who);
	assert_int_equal(pull_merge(&res, &f, x.repo, "2", &(struct pull_merge_opts){ 0 }),
			 ERR_NOTFOUND);
	assert_string_equal(t->err.msg, "pull request 'alice/proj#2' not found");
	assert_untouched(t, &x, before);
}

int main(void)
{
	git_libgit2_init();
	const struct CMUnitTest tests[] = {
		PGTEST(test_merge_records_as_a_push),
		PGTEST(test_merge_cas_base_taken),
		PGTEST(test_merge_undo_when_recording_fails),
		PGTEST(test_merge_guards),
	};
	int rc = cmocka_run_group_tests(tests, pgtest_start, pgtest_stop);
	git_libgit2_shutdown();
	return rc;
}
