/* test_forge_pulls.c — pull requests and the merge engine (forge/pulls.h,
 * merge.c, push.h, reviews.h, statuses.h, protection.h) against a real
 * throwaway PostgreSQL (pgtest.h) and a real bare repository on disk:
 * merging by merge, squash and rebase (the base ref on disk, the rows,
 * the outbox, the pushers), the guards (head moved, conflicts, closed,
 * who may merge), the compare-and-swap and the undo path when recording
 * fails, a push followed by its pull requests, commit statuses and the
 * combined state, and branch protection blocking a merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <git2.h>

#include "auth/auth.h"
#include "base/util.h"
#include "forge/forge.h"
#include "forge/protection.h"
#include "forge/pulls.h"
#include "forge/push.h"
#include "forge/reviews.h"
#include "forge/statuses.h"
#include "git/objects.h"
#include "pgtest.h"

/* ---- the repository on disk ---- */

/* The tip of branch on disk as 40 hex (arena), "" when absent. */
static const char *ref_tip(struct pgtest *t, git_repository *g, const char *branch)
{
	git_oid oid;
	char name[300];
	snprintf(name, sizeof(name), "refs/heads/%s", branch);
	if (git_reference_name_to_id(&oid, g, name) < 0)
		return "";
	return arena_strdup(t->arena, git_oid_tostr_s(&oid));
}

/* Commit sha's parents as "p1" or "p1 p2" (arena). */
static const char *parents_of(struct pgtest *t, git_repository *g, const char *sha)
{
	git_commit *c = NULL;
	git_oid oid;
	assert_int_equal(git_oid_fromstr(&oid, sha), 0);
	assert_int_equal(git_commit_lookup(&c, g, &oid), 0);
	const char *s = "";
	for (unsigned i = 0; i < git_commit_parentcount(c); i++)
		s = arena_printf(t->arena, "%s%s%s", s, i ? " " : "",
				 git_oid_tostr_s(git_commit_parent_id(c, i)));
	git_commit_free(c);
	return s;
}

/* The text of path in commit sha (arena), NULL when absent. */
static const char *file_at(struct pgtest *t, git_repository *g, const char *sha, const char *path)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	git_oid oid;
	const char *s = NULL;
	assert_int_equal(git_oid_fromstr(&oid, sha), 0);
	assert_int_equal(git_commit_lookup(&c, g, &oid), 0);
	assert_int_equal(git_commit_tree(&tree, c), 0);
	if (!git_tree_entry_bypath(&e, tree, path)) {
		assert_int_equal(git_blob_lookup(&b, g, git_tree_entry_id(e)), 0);
		s = arena_strndup(t->arena, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	}
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(c);
	return s;
}

/* ---- the cast and the history ---- */

/* alice owns alice/proj; wendy and bob write, rita reads. On disk: c0
 * (a.txt, b.txt) on main, then c1 (b.txt changed) on main; feature from
 * c0: f1 (f.txt added), f2 (f.txt changed), pushed by wendy (push_commits
 * rows). Pull request #1 (by wendy) merges feature into main. */
struct world {
	int64_t rid, pull_id, opened_event;
	int64_t alice, wendy, bob, rita;
	struct auth as_alice, as_wendy, as_bob, as_rita;
	git_repository *g; /* the test's own handle: world_free */
	const char *c0, *c1, *f1, *f2;
};

static const struct repo *proj(struct pgtest *t, const struct auth *who)
{
	return pgtest_repo_load(t, who, "alice", "proj");
}

/* Opens pull request head → main as wendy; returns its number. */
static int64_t pull_open(struct pgtest *t, struct world *w, const char *head, const char *title)
{
	struct forge f = pgtest_forge(t, &w->as_wendy);
	json_t *j = NULL;
	struct pull_new in = { .title = title, .body = "please", .head = head, .base = "main" };
	int rc = pull_create(&j, &f, proj(t, &w->as_wendy), &in);
	if (rc)
		fail_msg("pull_create: %s", t->err.msg);
	int64_t number = json_integer_value(json_object_get(j, "number"));
	json_decref(j);
	return number;
}

static void world_make(struct world *w, struct pgtest *t)
{
	memset(w, 0, sizeof(*w));
	w->alice = pgtest_user(t, "alice", false);
	w->wendy = pgtest_user(t, "wendy", false);
	w->bob = pgtest_user(t, "bob", false);
	w->rita = pgtest_user(t, "rita", false);
	w->rid = pgtest_repo(t, w->alice, "proj", true);
	pgtest_collaborator(t, w->rid, w->wendy, "write");
	pgtest_collaborator(t, w->rid, w->bob, "write");
	pgtest_collaborator(t, w->rid, w->rita, "read");
	w->as_alice = pgtest_who(w->alice, "alice");
	w->as_wendy = pgtest_who(w->wendy, "wendy");
	w->as_bob = pgtest_who(w->bob, "bob");
	w->as_rita = pgtest_who(w->rita, "rita");

	w->g = pgtest_git(t, w->rid);
	const char *c0f[] = { "a.txt", "alpha\n", "b.txt", "bravo\n" };
	w->c0 = pgtest_commit(t, w->g, NULL, NULL, c0f, 4, "start\n", 1700000000);
	const char *c1f[] = { "b.txt", "bravo on main\n" };
	w->c1 = pgtest_commit(t, w->g, w->c0, NULL, c1f, 2, "main moves\n", 1700000100);
	const char *f1f[] = { "f.txt", "feature one\n" };
	w->f1 = pgtest_commit(t, w->g, w->c0, NULL, f1f, 2, "feature one\n", 1700000200);
	const char *f2f[] = { "f.txt", "feature two\n" };
	w->f2 = pgtest_commit(t, w->g, w->f1, NULL, f2f, 2, "feature two\n", 1700000300);
	pgtest_ref_set(w->g, "main", w->c1);
	pgtest_ref_set(w->g, "feature", w->f2);
	pgtest_branch_row(t, w->rid, "main", w->c1);
	pgtest_branch_row(t, w->rid, "feature", w->f2);
	const char *pushed[] = { w->c0, w->c1, w->f1, w->f2 };
	for (size_t i = 0; i < 4; i++)
		pgtest_sql(t,
			   "INSERT INTO push_commits (repo_id, sha, pusher_id) VALUES ($1, $2, $3)",
			   ID(w->rid), pushed[i], ID(i < 2 ? w->alice : w->wendy));

	assert_int_equal(pull_open(t, w, "feature", "Add the feature"), 1);
	w->pull_id = pgtest_int(t, "SELECT id FROM issues WHERE repo_id = $1 AND number = 1",
				ID(w->rid));
	w->opened_event = pgtest_int(t, "SELECT max(id) FROM events");
	assert_string_equal(pgtest_str(t, "SELECT payload->>'action' FROM events WHERE id = $1",
				       ID(w->opened_event)),
			    "opened");
}

static void world_free(struct world *w)
{
	git_repository_free(w->g);
}

/* Everything a merge may change, as one text to compare before/after. */
static const char *snapshot(struct pgtest *t, struct world *w)
{
	return arena_printf(
		t->arena, "main=%s feature=%s | %s | %s | %s | %s | %s", ref_tip(t, w->g, "main"),
		ref_tip(t, w->g, "feature"),
		pgtest_str(t,
			   "SELECT string_agg(name || ':' || commit_sha, ',' ORDER BY name) FROM branches"),
		pgtest_str(t,
			   "SELECT string_agg(i.number || ':' || i.state || ':' || coalesce(i.closed_by, 0)"
			   "  || ':' || p.merged || ':' || coalesce(p.merge_commit_sha, '') || ':' "
			   "  || p.head_sha || ':' || p.base_sha, ',' ORDER BY i.number) "
			   "FROM issues i JOIN pull_requests p ON p.issue_id = i.id"),
		pgtest_str(t, "SELECT count(*)::text FROM events"),
		pgtest_str(t, "SELECT count(*)::text FROM push_commits"),
		pgtest_str(t, "SELECT count(*)::text FROM issue_events"));
}

/* The outbox after the pull request was opened: "type:action:ref:before:after" per event. */
static const char *events_since(struct pgtest *t, int64_t after_id)
{
	return pgtest_str(
		t,
		"SELECT coalesce(string_agg(type || ':' || coalesce(payload->>'action', '') || ':' "
		"  || coalesce(payload->>'ref', '') || ':' || coalesce(payload->>'before', '') "
		"  || ':' || coalesce(payload->>'after', ''), ' ' ORDER BY id), '') "
		"FROM events WHERE id > $1",
		ID(after_id));
}

static int merge_as(struct pgtest *t, struct pull_merge_result *out, const struct auth *who,
		    const char *method, const char *sha)
{
	struct forge f = pgtest_forge(t, who);
	struct pull_merge_opts o = { .method = method, .sha = sha };
	return pull_merge(out, &f, proj(t, who), "1", &o);
}

/* ---- merging ---- */

/* What every successful merge of #1 by alice records; tip: the new base. */
static void assert_merged(struct pgtest *t, struct world *w, const struct pull_merge_result *r,
			  const char *method)
{
	assert_int_equal(r->number, 1);
	assert_string_equal(r->method, method);
	assert_true(is_sha1_hex(r->sha));
	assert_string_equal(ref_tip(t, w->g, "main"), r->sha);
	assert_string_equal(ref_tip(t, w->g, "feature"), w->f2);
	/* the tree: both sides' changes */
	assert_string_equal(file_at(t, w->g, r->sha, "b.txt"), "bravo on main\n");
	assert_string_equal(file_at(t, w->g, r->sha, "f.txt"), "feature two\n");
	/* the pull request */
	PGresult *p = pgtest_sql(
		t,
		"SELECT merged, merged_by, merge_commit_sha, merge_method, head_sha, "
		"  base_sha, merged_at IS NOT NULL FROM pull_requests WHERE issue_id = $1",
		ID(w->pull_id));
	assert_int_equal(PQntuples(p), 1);
	assert_string_equal(PQgetvalue(p, 0, 0), "t");
	assert_int_equal(strtoll(PQgetvalue(p, 0, 1), NULL, 10), w->alice);
	assert_string_equal(PQgetvalue(p, 0, 2), r->sha);
	assert_string_equal(PQgetvalue(p, 0, 3), method);
	assert_string_equal(PQgetvalue(p, 0, 4), w->f2);
	assert_string_equal(PQgetvalue(p, 0, 5), w->c1);
	assert_string_equal(PQgetvalue(p, 0, 6), "t");
	/* the issue, closed through the one state function */
	PGresult *i = pgtest_sql(t,
				 "SELECT state, closed_by, closed_at IS NOT NULL FROM issues "
				 "WHERE id = $1",
				 ID(w->pull_id));
	assert_string_equal(PQgetvalue(i, 0, 0), "closed");
	assert_int_equal(strtoll(PQgetvalue(i, 0, 1), NULL, 10), w->alice);
	assert_string_equal(PQgetvalue(i, 0, 2), "t");
	assert_int_equal(pgtest_int(t,
				    "SELECT count(*) FROM issue_events WHERE issue_id = $1 "
				    "AND type = 'merged'",
				    ID(w->pull_id)),
			 1);
	/* the branch row */
	assert_string_equal(pgtest_str(t, "SELECT commit_sha FROM branches WHERE name = 'main'"),
			    r->sha);
	/* the outbox: the push of the base, then the pull request merged */
	assert_string_equal(events_since(t, w->opened_event),
			    arena_printf(t->arena,
					 "push::refs/heads/main:%s:%s pull_request:merged:::", w->c1,
					 r->sha));
	PGresult *ev = pgtest_sql(t,
				  "SELECT payload->>'pusher', payload->'pull_request'->>'merge_commit_sha', "
				  "  actor_id FROM events WHERE id > $1 ORDER BY id",
				  ID(w->opened_event));
	assert_string_equal(PQgetvalue(ev, 0, 0), "alice");
	assert_string_equal(PQgetvalue(ev, 1, 1), r->sha);
	/* merged into the repository's updated time, noted for housekeeping */
	assert_int_equal(pgtest_int(t,
				    "SELECT pending_pushes FROM repo_maintenance WHERE repo_id = $1",
				    ID(w->rid)),
			 1);
}

/* The pushers of the commits sha brought (not c1's): "sha:pushers" lines. */
static const char *pushers_of(struct pgtest *t, const char *sha)
{
	return pgtest_str(t,
			  "SELECT coalesce(string_agg(u.username, ',' ORDER BY u.username), '') "
			  "FROM push_commits pc JOIN users u ON u.id = pc.pusher_id WHERE pc.sha = $1",
			  sha);
}

static void test_merge_merge(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	struct pull_merge_result r;
	assert_int_equal(merge_as(t, &r, &w.as_alice, NULL, w.f2), 0);
	assert_merged(t, &w, &r, "merge");
	/* a merge commit: the old base, then the head */
	assert_string_equal(parents_of(t, w.g, r.sha), arena_printf(t->arena, "%s %s", w.c1, w.f2));
	/* its pushers: the merger and the pushers of what it merged */
	assert_string_equal(pushers_of(t, r.sha), "alice,wendy");
	assert_string_equal(pushers_of(t, w.f2), "wendy");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM push_commits"), 6);
	/* merged twice: refused, nothing moves */
	const char *before = snapshot(t, &w);
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "already_merged",
		   "pull request #1 is already merged");
	assert_string_equal(snapshot(t, &w), before);
	world_free(&w);
}

static void test_merge_squash(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	struct pull_merge_result r;
	assert_int_equal(merge_as(t, &r, &w.as_alice, "squash", NULL), 0);
	assert_merged(t, &w, &r, "squash");
	/* one commit on the old base, by the pull request's author */
	assert_string_equal(parents_of(t, w.g, r.sha), w.c1);
	git_commit *c = NULL;
	git_oid oid;
	assert_int_equal(git_oid_fromstr(&oid, r.sha), 0);
	assert_int_equal(git_commit_lookup(&c, w.g, &oid), 0);
	assert_string_equal(git_commit_author(c)->name, "wendy");
	assert_string_equal(git_commit_committer(c)->name, "alice");
	assert_string_equal(git_commit_message(c),
			    "Add the feature (#1)\n\n* feature one\n* feature two\n");
	git_commit_free(c);
	assert_string_equal(pushers_of(t, r.sha), "alice,wendy");
	world_free(&w);
}

static void test_merge_rebase(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	struct pull_merge_result r;
	assert_int_equal(merge_as(t, &r, &w.as_alice, "rebase", w.f2), 0);
	assert_merged(t, &w, &r, "rebase");
	/* the two commits replayed on the old base, one parent each */
	const char *first = parents_of(t, w.g, r.sha);
	assert_int_equal(strlen(first), 40);
	assert_string_not_equal(first, w.f1);
	assert_string_equal(parents_of(t, w.g, first), w.c1);
	assert_string_equal(file_at(t, w.g, first, "f.txt"), "feature one\n");
	assert_string_equal(pushers_of(t, r.sha), "alice,wendy");
	assert_string_equal(pushers_of(t, first), "alice,wendy");
	world_free(&w);
}

/* ---- the guards ---- */

static void test_merge_guards(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	struct pull_merge_result r;
	const char *before = snapshot(t, &w);

	/* the caller saw f1; the head is f2 */
	assert_err(t, merge_as(t, &r, &w.as_alice, "merge", w.f1), ERR_CONFLICT, "head_moved",
		   arena_printf(t->arena, "the head of pull request #1 is now '%s', not '%s'", w.f2,
				w.f1));
	assert_string_equal(snapshot(t, &w), before);
	assert_err(t, merge_as(t, &r, &w.as_alice, "octopus", NULL), ERR_INVALID, "invalid_method",
		   "method 'octopus' is not one of merge, squash, rebase");
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, "f00"), ERR_INVALID, "invalid_sha",
		   "sha 'f00' is not a commit sha");

	/* who may merge: a reader, a read-only token, a task token without
	 * pull_requests or contents write */
	assert_err(t, merge_as(t, &r, &w.as_rita, NULL, NULL), ERR_PERM, "forbidden",
		   "write access to repository 'alice/proj' is required");
	struct auth ro = w.as_alice;
	ro.via = AUTH_TOKEN;
	ro.scopes = SCOPE_REPO_READ;
	assert_err(t, merge_as(t, &r, &ro, NULL, NULL), ERR_PERM, "insufficient_scope",
		   "this token lacks the repo:write scope");
	unsigned lacks[] = { AREA_CONTENTS | AREA_ISSUES | AREA_STATUSES,
			     AREA_PULLS | AREA_ISSUES | AREA_STATUSES };
	const char *lacks_msg[] = { "this task token lacks the pull_requests: write permission",
				    "this task token lacks the contents: write permission" };
	for (size_t i = 0; i < 2; i++) {
		struct auth task = { .via = AUTH_TASK, .task_repo_id = w.rid, .task_areas = lacks[i] };
		assert_err(t, merge_as(t, &r, &task, NULL, NULL), ERR_PERM, "insufficient_scope",
			   lacks_msg[i]);
	}
	/* another repository's task token */
	struct auth other = { .via = AUTH_TASK, .task_repo_id = w.rid + 1, .task_areas = ~0u };
	assert_err(t, merge_as(t, &r, &other, NULL, NULL), ERR_NOTFOUND, "not_found",
		   "repository 'alice/proj' not found");
	assert_string_equal(snapshot(t, &w), before);

	/* a closed pull request */
	pgtest_sql(t, "UPDATE issues SET state = 'closed' WHERE id = $1", ID(w.pull_id));
	before = snapshot(t, &w);
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "pull_closed",
		   "pull request #1 is closed; reopen it to merge");
	assert_string_equal(snapshot(t, &w), before);

	/* a task token with both areas may */
	pgtest_sql(t, "UPDATE issues SET state = 'open' WHERE id = $1", ID(w.pull_id));
	struct auth task = { .via = AUTH_TASK,
			     .task_repo_id = w.rid,
			     .task_areas = AREA_CONTENTS | AREA_PULLS };
	assert_int_equal(merge_as(t, &r, &task, NULL, NULL), 0);
	assert_string_equal(ref_tip(t, w.g, "main"), r.sha);
	world_free(&w);
}

static void test_merge_conflict(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	/* feature changes b.txt too, and a.txt: b.txt conflicts with main */
	const char *f3f[] = { "b.txt", "bravo on feature\n", "c.txt", "charlie\n" };
	const char *f3 = pgtest_commit(t, w.g, w.f2, NULL, f3f, 4, "feature three\n", 1700000400);
	pgtest_ref_set(w.g, "feature", f3);
	pgtest_branch_row(t, w.rid, "feature", f3);
	const char *before = snapshot(t, &w);
	const char *methods[] = { "merge", "squash", "rebase" };
	for (size_t i = 0; i < 3; i++) {
		struct pull_merge_result r;
		int rc = merge_as(t, &r, &w.as_alice, methods[i], NULL);
		assert_int_equal(rc, ERR_CONFLICT);
		assert_string_equal(t->err.slug, "merge_conflict");
		assert_int_equal(r.nconflicts, 1);
		assert_string_equal(r.conflicts[0], "b.txt");
		assert_string_equal(snapshot(t, &w), before);
	}
	world_free(&w);
}

/* ---- the compare-and-swap and the undo path ---- */

/* Makes every statement of kind ("INSERT" / "UPDATE") on table fail. */
static void trigger_fail(struct pgtest *t, const char *table, const char *kind)
{
	pgtest_sql(t, "CREATE OR REPLACE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS "
		      "$$BEGIN RAISE EXCEPTION 'recording refused by the test'; END$$");
	if (!strcmp(table, "events") && !strcmp(kind, "INSERT"))
		pgtest_sql(t, "CREATE TRIGGER test_fail BEFORE INSERT ON events "
			      "FOR EACH ROW EXECUTE FUNCTION test_fail()");
	else
		pgtest_sql(t, "CREATE TRIGGER test_fail BEFORE UPDATE ON pull_requests "
			      "FOR EACH ROW EXECUTE FUNCTION test_fail()");
}

static void test_merge_undo(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	const char *tables[] = { "events", "pull_requests" };
	const char *kinds[] = { "INSERT", "UPDATE" };
	for (size_t i = 0; i < 2; i++) {
		trigger_fail(t, tables[i], kinds[i]);
		const char *before = snapshot(t, &w);
		struct pull_merge_result r;
		int rc = merge_as(t, &r, &w.as_alice, "merge", NULL);
		assert_int_not_equal(rc, 0);
		assert_int_equal(t->err.code, rc);
		assert_null(r.sha);
		/* rolled back, and the base put back on disk */
		assert_string_equal(snapshot(t, &w), before);
		assert_string_equal(ref_tip(t, w.g, "main"), w.c1);
		assert_int_equal(pgtest_int(t, "SELECT count(*) FROM repo_maintenance"), 0);
		if (!i)
			pgtest_sql(t, "DROP TRIGGER test_fail ON events");
		else
			pgtest_sql(t, "DROP TRIGGER test_fail ON pull_requests");
	}
	/* then, recording working again, the merge lands on the same base */
	struct pull_merge_result r;
	assert_int_equal(merge_as(t, &r, &w.as_alice, "merge", NULL), 0);
	assert_merged(t, &w, &r, "merge");
	world_free(&w);
}

static void test_merge_base_moved(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	/* git's lock on the base ref: the compare-and-swap cannot take it */
	const char *lock = arena_printf(t->arena, "%s/refs/heads/main.lock",
					repo_store_path(t->arena, w.rid));
	int fd = open(lock, O_CREAT | O_EXCL | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	const char *before = snapshot(t, &w);
	struct pull_merge_result r;
	assert_err(t, merge_as(t, &r, &w.as_alice, "squash", NULL), ERR_CONFLICT, "base_moved",
		   "branch 'main' moved, try again");
	assert_string_equal(snapshot(t, &w), before);
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(merge_as(t, &r, &w.as_alice, "squash", NULL), 0);
	assert_merged(t, &w, &r, "squash");
	world_free(&w);
}

/* ---- a push ---- */

/* Records updates (ref, before, after triples) as pushed by who, in one
 * transaction, as receive-pack does. */
static void push_as(struct pgtest *t, const struct auth *who, const struct push_update *u, size_t n)
{
	struct forge f = pgtest_forge(t, who);
	git_repository *g = NULL;
	struct err e = { 0 };
	const struct repo *r = proj(t, who);
	assert_int_equal(objects_repo_open(&g, r->disk_path, &e), 0);
	assert_int_equal(db_begin(t->db, &t->err), 0);
	int rc = push_record(&f, r, g, n, u, NULL);
	if (rc)
		fail_msg("push_record: %s", t->err.msg);
	assert_int_equal(db_commit(t->db, &t->err), 0);
}

static void test_push_record(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	/* wendy pushes feature forward and a new branch topic */
	const char *f3f[] = { "f.txt", "feature three\n" };
	const char *f3 = pgtest_commit(t, w.g, w.f2, NULL, f3f, 2, "feature three\n", 1700000400);
	const char *t1f[] = { "t.txt", "topic\n" };
	const char *t1 = pgtest_commit(t, w.g, w.c0, NULL, t1f, 2, "topic\n", 1700000500);
	pgtest_ref_set(w.g, "feature", f3);
	pgtest_ref_set(w.g, "topic", t1);
	struct push_update u[] = {
		{ "refs/heads/feature", w.f2, f3 },
		{ "refs/heads/topic", SHA1_ZERO, t1 },
	};
	push_as(t, &w.as_wendy, u, 2);
	assert_string_equal(pgtest_str(t, "SELECT string_agg(name || ':' || commit_sha, ',' ORDER BY name) "
					  "FROM branches"),
			    arena_printf(t->arena, "feature:%s,main:%s,topic:%s", f3, w.c1, t1));
	/* one push event per ref, the pull request following its head */
	assert_string_equal(events_since(t, w.opened_event),
			    arena_printf(t->arena,
					 "push::refs/heads/feature:%s:%s pull_request:synchronize::%s:%s "
					 "push::refs/heads/topic:%s:%s",
					 w.f2, f3, w.f2, f3, SHA1_ZERO, t1));
	assert_string_equal(pgtest_str(t, "SELECT payload->>'created' FROM events WHERE "
					  "payload->>'ref' = 'refs/heads/topic'"),
			    "true");
	assert_string_equal(pgtest_str(t, "SELECT head_sha FROM pull_requests WHERE issue_id = $1",
				       ID(w.pull_id)),
			    f3);
	assert_string_equal(pgtest_str(t, "SELECT payload->'pull_request'->>'head_sha' FROM events "
					  "WHERE payload->>'action' = 'synchronize'"),
			    f3);
	assert_string_equal(pgtest_str(t, "SELECT state FROM issues WHERE id = $1", ID(w.pull_id)),
			    "open");
	/* the new commits' pusher */
	assert_string_equal(pushers_of(t, f3), "wendy");
	assert_string_equal(pushers_of(t, t1), "wendy");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM push_commits"), 6);

	/* alice merges feature by hand and pushes main: the pull request is merged */
	const char *mf[] = { "f.txt", "feature three\n" };
	const char *m = pgtest_commit(t, w.g, w.c1, f3, mf, 2, "merge by hand\n", 1700000600);
	pgtest_ref_set(w.g, "main", m);
	int64_t last = pgtest_int(t, "SELECT max(id) FROM events");
	struct push_update um = { "refs/heads/main", w.c1, m };
	push_as(t, &w.as_alice, &um, 1);
	assert_string_equal(events_since(t, last),
			    arena_printf(t->arena,
					 "push::refs/heads/main:%s:%s pull_request:merged:::", w.c1,
					 m));
	PGresult *p = pgtest_sql(t,
				 "SELECT p.merged, p.merge_method, p.merge_commit_sha, p.merged_by, "
				 "  i.state, i.closed_by FROM pull_requests p JOIN issues i ON "
				 "  i.id = p.issue_id WHERE p.issue_id = $1",
				 ID(w.pull_id));
	assert_string_equal(PQgetvalue(p, 0, 0), "t");
	assert_string_equal(PQgetvalue(p, 0, 1), "push");
	assert_string_equal(PQgetvalue(p, 0, 2), m);
	assert_int_equal(strtoll(PQgetvalue(p, 0, 3), NULL, 10), w.alice);
	assert_string_equal(PQgetvalue(p, 0, 4), "closed");
	assert_int_equal(strtoll(PQgetvalue(p, 0, 5), NULL, 10), w.alice);
	assert_string_equal(pushers_of(t, m), "alice");
	world_free(&w);
}

/* ---- statuses ---- */

static const char *combined_state(struct pgtest *t, struct world *w, const char *sha,
				  json_int_t *out_total)
{
	struct forge f = pgtest_forge(t, &w->as_alice);
	json_t *j = NULL;
	assert_int_equal(commit_status_combined(&j, &f, w->rid, sha), 0);
	const char *s = arena_strdup(t->arena, json_string_value(json_object_get(j, "state")));
	*out_total = json_integer_value(json_object_get(j, "total_count"));
	json_decref(j);
	return s;
}

static void status_put(struct pgtest *t, struct world *w, const char *sha, const char *context,
		       const char *state)
{
	struct forge f = pgtest_forge(t, &w->as_wendy);
	struct status_input in = { .state = state, .context = context };
	int64_t id = 0;
	if (commit_status_set(&id, &f, w->rid, sha, &in))
		fail_msg("commit_status_set: %s", t->err.msg);
	assert_true(id > 0);
}

static void test_statuses(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	json_int_t n = 0;
	/* none: pending */
	assert_string_equal(combined_state(t, &w, w.f2, &n), "pending");
	assert_int_equal(n, 0);
	struct step {
		const char *context, *state, *want;
		json_int_t total;
	} steps[] = {
		{ "ci", "success", "success", 1 },   { "lint", "pending", "pending", 2 },
		{ "build", "error", "error", 3 },    { "ci", "failure", "failure", 3 },
		{ "ci", "success", "error", 3 },     { "build", "success", "pending", 3 },
		{ "lint", "success", "success", 3 }, { NULL, "failure", "failure", 4 },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		status_put(t, &w, w.f2, steps[i].context, steps[i].state);
		assert_string_equal(combined_state(t, &w, w.f2, &n), steps[i].want);
		assert_int_equal(n, steps[i].total);
	}
	/* the newest per context is listed, another commit is apart */
	struct forge f = pgtest_forge(t, &w.as_alice);
	json_t *j = NULL;
	assert_int_equal(commit_status_combined(&j, &f, w.rid, w.f2), 0);
	size_t k;
	json_t *s;
	const char *seen = "";
	json_array_foreach(json_object_get(j, "statuses"), k, s)
		seen = arena_printf(t->arena, "%s%s=%s ", seen,
				    json_string_value(json_object_get(s, "context")),
				    json_string_value(json_object_get(s, "state")));
	json_decref(j);
	assert_true(strstr(seen, "ci=success "));
	assert_true(strstr(seen, "default=failure "));
	assert_string_equal(combined_state(t, &w, w.f1, &n), "pending");
	assert_int_equal(n, 0);
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM events WHERE type = 'status'"), 8);
	/* what a status must be */
	struct status_input bad = { .state = "green", .context = "ci" };
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(commit_status_set(NULL, &f, w.rid, w.f2, &bad), ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_state");
	bad.state = "success";
	f = pgtest_forge(t, &w.as_alice);
	assert_int_equal(commit_status_set(NULL, &f, w.rid, "xyz", &bad), ERR_INVALID);
	assert_string_equal(t->err.slug, "invalid_sha");
	assert_int_equal(pgtest_int(t, "SELECT count(*) FROM commit_statuses"), 8);
	world_free(&w);
}

/* ---- protection ---- */

static int review_as(struct pgtest *t, const struct auth *who, const char *event, const char *body)
{
	struct forge f = pgtest_forge(t, who);
	json_t *j = NULL;
	struct review_input in = { .event = event, .body = body };
	int rc = review_create(&j, &f, proj(t, who), "1", &in);
	json_decref(j);
	return rc;
}

static void test_protection(void **state)
{
	struct pgtest *t = *state;
	struct world w;
	world_make(&w, t);
	struct pull_merge_result r;
	pgtest_sql(t,
		   "INSERT INTO protected_branches (repo_id, pattern, required_approvals) "
		   "VALUES ($1, 'ma*', 1)",
		   ID(w.rid));
	const char *before = snapshot(t, &w);
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*' requires 1 approving review of the latest commit, it "
		   "has 0");
	assert_string_equal(snapshot(t, &w), before);
	/* the author may not approve; a pusher's approval does not count */
	assert_err(t, review_as(t, &w.as_wendy, "APPROVE", ""), ERR_PERM, "own_pull_request",
		   "you cannot approve your own pull request");
	pgtest_sql(t, "INSERT INTO push_commits (repo_id, sha, pusher_id) VALUES ($1, $2, $3)",
		   ID(w.rid), w.f1, ID(w.bob));
	assert_int_equal(review_as(t, &w.as_bob, "APPROVE", ""), 0);
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*' requires 1 approving review of the latest commit, it "
		   "has 0 (not counted: 'bob' pushed commits of this pull request)");
	/* a request for changes blocks */
	pgtest_sql(t, "DELETE FROM push_commits WHERE pusher_id = $1", ID(w.bob));
	assert_int_equal(review_as(t, &w.as_alice, "REQUEST_CHANGES", "not yet"), 0);
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*': 'alice' requested changes");
	/* her latest verdict counts: approved now (two approvals, one required) */
	assert_int_equal(review_as(t, &w.as_alice, "APPROVE", ""), 0);
	/* approved; now statuses */
	pgtest_sql(t, "UPDATE protected_branches SET require_passing_statuses = true, "
		      "required_status_contexts = '{deploy}'");
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*' requires status 'deploy' to succeed, it is missing");
	status_put(t, &w, w.f2, "deploy", "success");
	status_put(t, &w, w.f2, "ci", "failure");
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*' requires passing statuses, the head's are failure");
	pgtest_sql(t, "UPDATE protected_branches SET required_status_contexts = '{}'");
	status_put(t, &w, w.f2, "deploy", "pending");
	status_put(t, &w, w.f2, "ci", "success");
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*' requires passing statuses, the head's are pending");
	pgtest_sql(t, "DELETE FROM commit_statuses");
	before = snapshot(t, &w);
	assert_err(t, merge_as(t, &r, &w.as_alice, NULL, NULL), ERR_CONFLICT, "protected_branch",
		   "branch protection 'ma*' requires passing statuses, the head has none");
	assert_string_equal(snapshot(t, &w), before);
	status_put(t, &w, w.f2, "ci", "success");
	assert_int_equal(merge_as(t, &r, &w.as_alice, NULL, NULL), 0);
	assert_string_equal(ref_tip(t, w.g, "main"), r.sha);
	world_free(&w);
}

int main(void)
{
	git_libgit2_init();
	const struct CMUnitTest tests[] = {
		PGTEST(test_merge_merge),      PGTEST(test_merge_squash),
		PGTEST(test_merge_rebase),     PGTEST(test_merge_guards),
		PGTEST(test_merge_conflict),   PGTEST(test_merge_undo),
		PGTEST(test_merge_base_moved), PGTEST(test_push_record),
		PGTEST(test_statuses),         PGTEST(test_protection),
	};
	int rc = cmocka_run_group_tests(tests, pgtest_start, pgtest_stop);
	git_libgit2_shutdown();
	return rc;
}
