/* merge.c — the merge engine: merging a pull request through the forge,
 * one step per function: check the request, take the repository's merge
 * turn, load the pull request and its tips, check protection, build the
 * commits (git/merge.h), move the base by compare-and-swap, record it as
 * a push (forge/push.h), and put the base back when recording fails. */
#include "forge/pulls.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/util.h"
#include "db/db.h"
#include "forge/protection.h"
#include "forge/push.h"
#include "forge/pushers.h"
#include "git/maintain.h"
#include "git/merge.h"

#include <string.h>
#include <strings.h>

#define SQUASH_LIST_MAX 100 /* commit summaries in a squash message */

/* One merge in progress: what it works on and what it holds. */
struct merge_run {
	struct forge *f;
	const struct repo *repo;
	git_repository *grepo;
	enum merge_method method;
	struct pull p;
	struct pull_tips t;
	const char *head_hex, *base_hex, *ref;
	const char *commits;            /* the pull request's (pushers_range) */
	git_signature *merger, *author; /* owned: merge_run_release; author: a squash's */
	git_oid tip;
	bool moved;                     /* the base ref was moved to tip */
};

static void merge_run_release(struct merge_run *m)
{
	git_signature_free(m->merger);
	git_signature_free(m->author);
}

/* The method and the sha guard, before anything is touched. */
static int merge_opts_check(enum merge_method *out, struct forge *f, const struct pull_merge_opts *o)
{
	int method = merge_method_parse(o->method ? o->method : "merge");
	if (method < 0)
		return err_set(f->err, ERR_INVALID, "invalid_method",
			       "method '%.40s' is not one of merge, squash, rebase", o->method);
	if (o->sha && !is_sha1_hex(o->sha))
		return err_set(f->err, ERR_INVALID, "invalid_sha",
			       "sha '%.40s' is not a commit sha", o->sha);
	*out = (enum merge_method)method;
	return 0;
}

/* Merges into one repository take turns (until the transaction ends), so
 * two of them both land (each on the other's result) instead of racing
 * for the base. */
static int merge_turn_take(struct forge *f, const struct repo *repo)
{
	if (!db_qv(f->db, f->arena, f->err,
		   "SELECT pg_advisory_xact_lock(hashtextextended('plue-merge:' || $1, 0))",
		   arena_int(f->arena, (long long)repo->id)))
		return f->err->code;
	return 0;
}

/* The pull request, open and with both branches, at the head the caller
 * saw, and its commits (listed once: for the approvals that count and
 * for the pushers the merge records). */
static int merge_target_load(struct merge_run *m, const char *number, const char *want_sha)
{
	struct forge *f = m->f;
	struct pull *p = &m->p;
	int rc;
	if ((rc = pull_get(p, f, m->repo, number, false)))
		return rc;
	if (p->merged)
		return err_set(f->err, ERR_CONFLICT, "already_merged",
			       "pull request #%lld is already merged", (long long)p->is.number);
	if (strcmp(p->is.state, "open"))
		return err_set(f->err, ERR_CONFLICT, "pull_closed",
			       "pull request #%lld is closed; reopen it to merge",
			       (long long)p->is.number);
	if ((rc = pull_tips_get(&m->t, f, m->grepo, p)))
		return rc;
	if (!m->t.head_ok || !m->t.base_ok)
		return err_set(f->err, ERR_CONFLICT, "branch_missing",
			       "cannot merge: branch '%.100s' no longer exists",
			       !m->t.head_ok ? p->head : p->base);
	m->head_hex = arena_strdup(f->arena, git_oid_tostr_s(&m->t.head));
	m->base_hex = arena_strdup(f->arena, git_oid_tostr_s(&m->t.base));
	m->ref = arena_printf(f->arena, "refs/heads/%s", p->base);
	if (want_sha && strcasecmp(want_sha, m->head_hex))
		return err_set(f->err, ERR_CONFLICT, "head_moved",
			       "the head of pull request #%lld is now '%s', not '%.40s'",
			       (long long)p->is.number, m->head_hex, want_sha);
	return pushers_range(&m->commits, f, m->grepo, &m->t.base, &m->t.head);
}

/* The base's protection: approvals (not by the pull request's pushers)
 * and statuses on the head. */
static int merge_protection_check(struct merge_run *m)
{
	struct protection prot;
	int rc;
	if ((rc = protection_get(&prot, m->f, m->repo->id, m->p.base)) ||
	    (rc = protection_check_merge(m->f, m->repo, &prot, m->p.is.id, m->head_hex, m->commits)))
		return rc;
	return 0;
}

/* The user's signature for new commits: username and email (a no-reply
 * address when the account has none). */
static int user_signature(git_signature **out, struct forge *f, int64_t user_id, const char *fallback)
{
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "SELECT username, coalesce(email, '') FROM users WHERE id = $1",
			      arena_int(f->arena, (long long)user_id));
	if (!res)
		return f->err->code;
	const char *name = PQntuples(res) ? db_val(res, 0, 0) : fallback;
	const char *email = PQntuples(res) ? db_val(res, 0, 1) : "";
	if (!*email || strpbrk(email, "<>\n"))
		email = arena_printf(f->arena, "%s@users.noreply.plue", name);
	if (git_signature_now(out, name, email) < 0 &&
	    git_signature_now(out, "plue", "plue@users.noreply.plue") < 0)
		return err_set(f->err, ERR_INTERNAL, NULL, "cannot make a commit signature");
	return 0;
}

/* The squash commit's default body: one line per commit of the pull request. */
static const char *squash_body(struct merge_run *m)
{
	git_commit **commits = NULL;
	size_t n = 0, total = 0;
	struct err e = { 0 };
	if (merge_commits_list(&commits, &n, &total, m->f->arena, m->grepo, &m->t.base, &m->t.head,
			       SQUASH_LIST_MAX, &e))
		return "";
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *s = git_commit_summary(commits[i]);
		buf_addf(&b, "* %s\n", s ? s : "");
		git_commit_free(commits[i]);
	}
	if (total > n)
		buf_addf(&b, "* ... and %zu more\n", total - n);
	const char *s = arena_strndup(m->f->arena, b.ptr, b.len);
	buf_release(&b);
	return s;
}

/* The new commit's message: the caller's title and message, or the
 * method's defaults. */
static const char *merge_message(struct merge_run *m, const struct pull_merge_opts *o)
{
	struct arena *a = m->f->arena;
	const struct pull *p = &m->p;
	if (m->method == MERGE_METHOD_SQUASH)
		return arena_printf(a, "%s\n\n%s",
				    o->title ? o->title
					     : arena_printf(a, "%s (#%lld)", p->is.title,
							    (long long)p->is.number),
				    o->message ? o->message : squash_body(m));
	return arena_printf(a, "%s\n\n%s\n",
			    o->title ? o->title
				     : arena_printf(a, "Merge pull request #%lld from %s",
						    (long long)p->is.number, p->head),
			    o->message ? o->message : p->is.title);
}

/* Builds the merge, squash or rebase commits (nothing moves yet); on
 * conflicts the paths go to out. */
static int merge_commits_build(struct merge_run *m, const struct pull_merge_opts *o,
			       struct pull_merge_result *out)
{
	struct forge *f = m->f;
	const struct auth *who = f->who;
	int64_t author_id = m->p.is.author_id;
	int rc;
	/* a squash commit is the pull request's author's (a deleted author's,
	 * or the merger's own, is the merger's); every other commit the
	 * merge makes is the merger's */
	if ((rc = user_signature(&m->merger, f, who->user_id,
				 who->username ? who->username : "plue")) ||
	    (m->method == MERGE_METHOD_SQUASH && author_id && author_id != who->user_id &&
	     (rc = user_signature(&m->author, f, author_id, "ghost"))))
		return rc;
	struct merge_job job = {
		.method = m->method,
		.message = merge_message(m, o),
		.author = m->author ? m->author : m->merger,
		.committer = m->merger,
	};
	git_oid_cpy(&job.base, &m->t.base);
	git_oid_cpy(&job.head, &m->t.head);
	return merge_build(&m->tip, f->arena, m->grepo, &job, &out->conflicts, &out->nconflicts,
			   f->err);
}

/* Moves the base from the tip the merge was built on to the new tip,
 * unless a push moved it meanwhile. */
static int merge_base_move(struct merge_run *m)
{
	int rc = merge_ref_cas(m->grepo, m->ref, &m->t.base, &m->tip,
			       arena_printf(m->f->arena, "merge pull request #%lld (%s)",
					    (long long)m->p.is.number, merge_method_name(m->method)),
			       m->f->err);
	if (!rc)
		m->moved = true;
	return rc;
}

/* The merge recorded exactly as a push of the base: the pull request
 * merged, the others following, the pushers (inside the transaction). */
static int merge_record(struct merge_run *m, const char *tip_hex)
{
	struct push_update u = { .ref = m->ref, .before = m->base_hex, .after = tip_hex };
	struct push_merge pm = { .pull = &m->p,
				 .method = merge_method_name(m->method),
				 .commits = m->commits };
	git_oid_cpy(&pm.base, &m->t.base);
	git_oid_cpy(&pm.tip, &m->tip);
	m->p.head_sha = m->head_hex;
	m->p.base_sha = m->base_hex;
	return push_record(m->f, m->repo, m->grepo, 1, &u, &pm);
}

/* The base moved but nothing was recorded: put it back unless a push
 * moved it again since. */
static void merge_base_restore(struct merge_run *m)
{
	struct err ue = { 0 };
	if (merge_ref_cas(m->grepo, m->ref, &m->tip, &m->t.base,
			  "undo a merge that could not be recorded", &ue))
		log_error("merge of %s/%s#%lld: branch '%s' moved to %s but was not recorded "
			  "and cannot be put back: %s",
			  m->repo->owner, m->repo->name, (long long)m->p.is.number, m->p.base,
			  git_oid_tostr_s(&m->tip), ue.msg);
}

int pull_merge(struct pull_merge_result *out, struct forge *f, const struct repo *repo,
	       const char *number, const struct pull_merge_opts *opts)
{
	struct merge_run m = { .f = f, .repo = repo };
	const char *tip_hex = NULL;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_PULLS | AREA_CONTENTS, f->err)) ||
	    (rc = merge_opts_check(&m.method, f, opts)) ||
	    (rc = pull_repo_open(&m.grepo, f, repo)) || (rc = db_begin(f->db, f->err)))
		return rc;
	if ((rc = merge_turn_take(f, repo)) || (rc = merge_target_load(&m, number, opts->sha)) ||
	    (rc = merge_protection_check(&m)) || (rc = merge_commits_build(&m, opts, out)) ||
	    (rc = merge_base_move(&m)))
		goto fail;
	tip_hex = arena_strdup(f->arena, git_oid_tostr_s(&m.tip));
	if ((rc = merge_record(&m, tip_hex)) || (rc = db_commit(f->db, f->err)))
		goto fail;
	maintain_note_push(f->db, repo->id); /* housekeeping, as after a push */
	log_info("pull request %s/%s#%lld merged (%s) into %s at %s", repo->owner, repo->name,
		 (long long)m.p.is.number, merge_method_name(m.method), m.p.base, tip_hex);
	out->number = m.p.is.number;
	out->sha = tip_hex;
	out->method = merge_method_name(m.method);
	goto done;
fail:
	db_rollback(f->db);
	if (m.moved)
		merge_base_restore(&m);
done:
	merge_run_release(&m);
	return rc;
}

int pull_merge_check(struct forge *f, const struct repo *repo, const char *number)
{
	struct merge_run m = { .f = f, .repo = repo };
	int rc;
	if (!(rc = authz_repo_area(f->who, repo, ACT_WRITE, AREA_PULLS | AREA_CONTENTS, f->err)) &&
	    !(rc = pull_repo_open(&m.grepo, f, repo)) && !(rc = merge_target_load(&m, number, NULL)))
		rc = merge_protection_check(&m);
	merge_run_release(&m);
	return rc;
}
