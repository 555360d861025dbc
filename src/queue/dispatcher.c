/* dispatcher.c — events → workflow runs. A thread with its own connection
 * LISTENs on plue_events and also scans the outbox for rows not yet
 * dispatched (so nothing is missed across restarts or lost
 * notifications). Each event is claimed with FOR UPDATE SKIP LOCKED and
 * marked dispatched in the same transaction that creates its runs, so it
 * is dispatched exactly once — also across replicas: every `plue serve`
 * runs this thread and its catch-up scan, and a row one of them holds is
 * skipped by the others (FOR UPDATE SKIP LOCKED), then seen dispatched.
 *
 * For an event it reads .plue/workflows/NAME.yaml|yml at the event's commit
 * with libgit2 (a push: the pushed commit; the rest: the default branch's
 * tip), parses each file, matches triggers (for a push, with the paths
 * changed between before and after), expands matrices and creates the
 * run, its jobs and the workloads of the jobs that can start. A file that
 * does not parse gives a failed run (on push) whose conclusion names
 * FILE:LINE:COL; the other files run as usual.
 *
 * Trust: whether the event's actor may write to the repository is decided
 * once per event, by the one authorization function. A run of an actor
 * who may not (an outsider's comment, issue or pull request) is untrusted:
 * its workflow files come from the base branch (a pull request) or the
 * default branch, never from a branch the event names; when a job refers
 * to a secret the run waits for a writer's approval (runs_approve), else
 * it runs at once with every permission at most `read`. */
#include "queue/dispatcher.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "git/objects.h"
#include "git/store.h"
#include "queue/queue.h"
#include "queue/runs.h"
#include "workflow/workflow.h"

#include <git2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKFLOW_DIR ".plue/workflows"
#define MAX_WORKFLOW_FILES 100
#define MAX_WORKFLOW_BYTES (512 * 1024)
#define MAX_CHANGED_PATHS 10000
#define SCAN_EVERY_MS 5000

static struct bg_thread thread;

/* ---- reading the workflow files ---- */

void dispatcher_files_free(struct wf_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].text);
	}
	free(f);
}

static bool yaml_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

int dispatcher_read_workflows(struct arena *a, int64_t repo_id, const char *sha,
			      struct wf_file **out, size_t *n, struct err *e)
{
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL, *dir = NULL;
	git_tree_entry *ent = NULL;
	git_oid oid;
	int rc = 0;
	*out = NULL;
	*n = 0;
	struct err oe = { 0 };
	if (objects_repo_open(&repo, repo_store_path(a, repo_id), &oe))
		return err_set(e, ERR_NOTFOUND, NULL, "cannot open repository %lld",
			       (long long)repo_id);
	if (git_oid_fromstr(&oid, sha) || git_commit_lookup(&commit, repo, &oid) ||
	    git_commit_tree(&tree, commit)) {
		rc = err_set(e, ERR_NOTFOUND, NULL, "commit '%.40s' not found", sha);
		goto done;
	}
	if (git_tree_entry_bypath(&ent, tree, WORKFLOW_DIR) ||
	    git_tree_entry_type(ent) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&dir, repo, git_tree_entry_id(ent)))
		goto done; /* no workflows */
	size_t cnt = git_tree_entrycount(dir);
	struct wf_file *files = xcalloc(cnt ? cnt : 1, sizeof(*files));
	size_t k = 0;
	for (size_t i = 0; i < cnt && k < MAX_WORKFLOW_FILES; i++) {
		const git_tree_entry *te = git_tree_entry_byindex(dir, i);
		if (git_tree_entry_type(te) != GIT_OBJECT_BLOB || !yaml_name(git_tree_entry_name(te)))
			continue;
		git_blob *blob = NULL;
		if (git_blob_lookup(&blob, repo, git_tree_entry_id(te)))
			continue;
		size_t sz = (size_t)git_blob_rawsize(blob);
		files[k].path = xasprintf("%s/%s", WORKFLOW_DIR, git_tree_entry_name(te));
		if (sz > MAX_WORKFLOW_BYTES) {
			files[k].text = NULL; /* reported as too large */
			files[k].len = sz;
		} else {
			files[k].text = xmalloc(sz + 1);
			memcpy(files[k].text, git_blob_rawcontent(blob), sz);
			files[k].text[sz] = '\0';
			files[k].len = sz;
		}
		k++;
		git_blob_free(blob);
	}
	*out = files;
	*n = k;
done:
	git_tree_entry_free(ent);
	git_tree_free(dir);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc;
}

/* The paths changed between before and after (a push); NULL when unknown
 * (a new branch, a missing commit, too many). */
static char **changed_paths(struct arena *a, int64_t repo_id, const char *before, const char *after,
			    size_t *n)
{
	*n = 0;
	if (!before || !after || !is_sha1_hex(before) || !is_sha1_hex(after) ||
	    !strcmp(before, SHA1_ZERO))
		return NULL;
	git_repository *repo = NULL;
	git_commit *c1 = NULL, *c2 = NULL;
	git_tree *t1 = NULL, *t2 = NULL;
	git_diff *diff = NULL;
	git_oid o1, o2;
	char **paths = NULL;
	struct err oe = { 0 };
	if (objects_repo_open(&repo, repo_store_path(a, repo_id), &oe) ||
	    git_oid_fromstr(&o1, before) || git_oid_fromstr(&o2, after) ||
	    git_commit_lookup(&c1, repo, &o1) || git_commit_lookup(&c2, repo, &o2) ||
	    git_commit_tree(&t1, c1) || git_commit_tree(&t2, c2) ||
	    git_diff_tree_to_tree(&diff, repo, t1, t2, NULL))
		goto done;
	size_t nd = git_diff_num_deltas(diff);
	if (nd > MAX_CHANGED_PATHS)
		goto done;
	paths = arena_alloc(a, sizeof(char *) * (2 * nd + 1));
	for (size_t i = 0; i < nd; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (d->new_file.path)
			paths[(*n)++] = arena_strdup(a, d->new_file.path);
		if (d->old_file.path &&
		    (!d->new_file.path || strcmp(d->old_file.path, d->new_file.path)))
			paths[(*n)++] = arena_strdup(a, d->old_file.path);
	}
done:
	git_diff_free(diff);
	git_tree_free(t1);
	git_tree_free(t2);
	git_commit_free(c1);
	git_commit_free(c2);
	return paths;
}

/* ---- building runs ---- */

static json_t *env_pairs(const struct wf_env *env)
{
	json_t *a = json_array();
	for (size_t i = 0; i < env->n; i++)
		json_array_append_new(a, json_pack("[s,s]", env->v[i].key, env->v[i].value));
	return a;
}

static const char *perm_name(enum wf_perm p)
{
	return p == WF_PERM_WRITE ? "write" : p == WF_PERM_READ ? "read" : "none";
}

/* The spec of one job (see queue/runs.c for what it holds). */
static json_t *job_spec(const struct workflow *w, const struct wf_job *j)
{
	json_t *steps = json_array(), *all_secrets = json_array();
	json_t *env = env_pairs(&w->env), *job_env = env_pairs(&j->env);
	json_array_extend(env, job_env);
	json_decref(job_env);
	for (size_t i = 0; i < j->nsteps; i++) {
		const struct wf_step *s = &j->steps[i];
		char nb[80];
		json_t *names = json_array();
		workflow_step_secret_refs(names, w, j, s);
		size_t k;
		json_t *v;
		json_array_foreach(names, k, v)
		{
			bool have = false;
			size_t m;
			json_t *x;
			json_array_foreach(all_secrets, m, x) have |= json_equal(x, v);
			if (!have)
				json_array_append(all_secrets, v);
		}
		json_t *st = json_pack("{s:s,s:s,s:o,s:i,s:b,s:o}", "name",
				       wf_step_name(s, nb, sizeof(nb)), "run", s->run ? s->run : "",
				       "env", env_pairs(&s->env), "timeout_sec", s->timeout_sec,
				       "continue_on_error", s->continue_on_error, "secrets", names);
		if (s->working_directory)
			json_object_set_new(st, "working_directory",
					    json_string(s->working_directory));
		if (s->if_expr)
			json_object_set_new(st, "if", json_string(s->if_expr));
		json_array_append_new(steps, st);
	}
	const struct wf_permissions *p = &j->permissions;
	return json_pack("{s:s,s:{s:s,s:i,s:b},s:o,s:o,s:o,s:{s:b},s:{s:s,s:s,s:s,s:s,s:b}}",
			 "type", "workflow", "job", "key", j->id, "timeout_sec", j->timeout_sec,
			 "continue_on_error", j->continue_on_error, "env", env, "steps", steps,
			 "secret_names", all_secrets, "limits", "network", p->network,
			 "permissions", "contents", perm_name(p->contents), "issues",
			 perm_name(p->issues), "pull_requests", perm_name(p->pull_requests),
			 "statuses", perm_name(p->statuses), "network", p->network);
}

struct event {
	int64_t id, repo_id, actor_id;
	const char *type;
	json_t *payload;
	/* the repository */
	const char *owner, *name, *default_branch;
	int64_t owner_id;
	bool is_private;
	bool trusted; /* the actor may write to the repository */
};

/* Limits a job spec's permissions to `read` (an untrusted run that needs
 * no approval); `network` is not a permission of the token and stays. */
static void spec_read_only(json_t *spec)
{
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(spec, "permissions"), key, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), "write"))
			json_string_set(v, "read");
	}
}

static int definition_store(PGconn *db, struct arena *a, struct err *e, const struct wf_file *f,
			    const struct workflow *w, const char *error, int64_t *id)
{
	char hash[65];
	struct buf b = BUF_INIT;
	buf_adds(&b, f->path);
	buf_addch(&b, '\0');
	if (f->text)
		buf_add(&b, f->text, f->len);
	sha256_hex(hash, b.ptr, b.len);
	buf_release(&b);
	const char *model = NULL;
	if (w) {
		json_t *j = workflow_to_json(w);
		char *s = json_dumps(j, JSON_COMPACT);
		model = arena_strdup(a, s);
		free(s);
		json_decref(j);
	}
	PGresult *res = db_qv(db, a, e,
			      "INSERT INTO workflow_definitions (content_hash, path, name, model, error) "
			      "VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (content_hash) DO UPDATE "
			      "SET content_hash = EXCLUDED.content_hash RETURNING id",
			      hash, f->path, w ? w->name : f->path, model, error);
	if (!res)
		return e->code;
	*id = db_int(res, 0, 0);
	return 0;
}

static json_t *repo_ctx(const struct event *ev)
{
	char full[512];
	snprintf(full, sizeof(full), "%s/%s", ev->owner, ev->name);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:b}", "id", (json_int_t)ev->repo_id, "owner",
			 ev->owner, "name", ev->name, "full_name", full, "default_branch",
			 ev->default_branch, "private", ev->is_private);
}

/* What an agent is asked when its workflow names no prompt: the text of
 * the event (a comment, a chat message), or what happened. */
static char *event_text(const struct event *ev)
{
	json_t *p = ev->payload;
	const char *body = json_string_value(json_object_get(json_object_get(p, "comment"), "body"));
	if (!body)
		body = json_string_value(json_object_get(p, "body"));
	if (!body)
		body = json_string_value(json_object_get(p, "text"));
	if (body)
		return xstrdup(body);
	return xasprintf("A %s event happened in %s/%s.", ev->type, ev->owner, ev->name);
}

/* The spec of an agent-mode workflow's one job: what runs/start_job turns
 * into a session and its first message (queue/agent.h). NULL with
 * *failure set when the prompt does not interpolate. */
static json_t *agent_job_spec(const struct workflow *w, const struct event *ev, struct expr_ctx *ec,
			      const char *path, const char **failure, struct arena *a)
{
	const struct wf_agent *ag = &w->agent;
	char *prompt = NULL;
	struct err pe = { 0 };
	if (ag->prompt && expr_interpolate(&prompt, ag->prompt, ec, &pe)) {
		*failure = arena_printf(a, "%s: agent prompt: %s", path, pe.msg);
		return NULL;
	}
	if (!prompt)
		prompt = event_text(ev);
	/* the event itself, so the agent knows which issue or pull request */
	char *event = json_dumps(ev->payload, JSON_COMPACT | JSON_SORT_KEYS);
	char *full = xasprintf("%s\n\n---\nEvent: %s in %s/%s\n%.4000s", prompt, ev->type,
			       ev->owner, ev->name, event ? event : "{}");
	json_t *tools = json_array();
	bool push = false;
	for (size_t i = 0; i < ag->tools.n; i++) {
		json_array_append_new(tools, json_string(ag->tools.v[i]));
		push |= !strcmp(ag->tools.v[i], "push");
	}
	json_t *spec = json_pack("{s:s,s:{s:s,s:s?,s:s,s:o,s:i,s:i},s:{s:b},s:{s:s}}", "type",
				 "agent", "agent", "model", ag->model, "system", ag->system,
				 "prompt", full, "tools", tools, "max_turns", ag->max_turns,
				 "timeout", ag->timeout_sec, "limits", "network", 0, "permissions",
				 "contents", push ? "write" : "read");
	free(prompt);
	free(event);
	free(full);
	return spec;
}

/* Creates the runs of one workflow file for ev (inside the transaction). */
static int dispatch_file(PGconn *db, struct arena *a, struct err *e, const struct event *ev,
			 const struct wf_file *f, const char *ref, const char *sha,
			 const struct wf_event *wev, int64_t *cancel_run, const char **cancel_group)
{
	int rc = 0;
	struct workflow *w = NULL;
	struct err pe = { 0 };
	const char *failure = NULL;
	bool is_push = !strcmp(ev->type, "push");
	const char *only = json_string_value(json_object_get(ev->payload, "workflow"));
	if (only && strcmp(only, f->path))
		return 0; /* dispatch and schedule name their file */
	if (!f->text)
		failure = arena_printf(a, "%s: the file is larger than %d bytes", f->path,
				       MAX_WORKFLOW_BYTES);
	else if (workflow_parse(&w, f->path, f->text, f->len, &pe))
		failure = arena_strdup(a, pe.msg);
	int64_t def_id = 0;
	if ((rc = definition_store(db, a, e, f, w, failure, &def_id)))
		goto done;
	json_t *event_ctx = json_deep_copy(ev->payload);
	json_object_set_new(event_ctx, "type", json_string(ev->type));
	if (!json_object_get(event_ctx, "ref") && ref)
		json_object_set_new(event_ctx, "ref", json_string(ref));
	json_object_set_new(event_ctx, "sha", json_string(sha));
	json_t *inputs = json_object_get(ev->payload, "inputs");
	json_t *ctx = json_pack("{s:o,s:o,s:o}", "event", event_ctx, "repo", repo_ctx(ev), "inputs",
				json_is_object(inputs) ? json_incref(inputs) : json_object());
	arena_defer(a, (void (*)(void *))json_decref, ctx);

	struct run_new rn = {
		.repo_id = ev->repo_id,
		.definition_id = def_id,
		.path = f->path,
		.name = w ? w->name : f->path,
		.event_id = ev->id,
		.event_type = ev->type,
		.ref = ref,
		.sha = sha,
		.actor_id = ev->actor_id,
		.context = ctx,
	};
	if (failure) {
		/* a push shows a broken file; other events cannot tell whether it
		 * was meant for them */
		if (!is_push && !only)
			goto done;
		rn.failure = failure;
		int64_t rid;
		rc = runs_create(db, a, e, &rn, &rid);
		if (!rc)
			log_warn("run %lld: %s", (long long)rid, failure);
		goto done;
	}
	/* what an agent did through its tools starts no agent: two agents
	 * would answer each other for ever */
	if (w->mode == WF_MODE_AGENT && json_is_true(json_object_get(ev->payload, "via_agent")))
		goto done;
	if (!workflow_matches(w, wev))
		goto done;

	struct expr_ctx ec = {
		.event = json_object_get(ctx, "event"),
		.repo = json_object_get(ctx, "repo"),
		.inputs = json_object_get(ctx, "inputs"),
	};
	json_t *envo = json_object();
	for (size_t i = 0; i < w->env.n; i++)
		json_object_set_new(envo, w->env.v[i].key, json_string(w->env.v[i].value));
	json_object_set_new(ctx, "env", envo);
	ec.env = envo;
	if (w->concurrency.group) {
		char *g = NULL;
		struct err ge = { 0 };
		if (expr_interpolate(&g, w->concurrency.group, &ec, &ge)) {
			rn.failure = arena_printf(a, "%s: concurrency group: %s", f->path, ge.msg);
		} else {
			rn.concurrency_group = arena_strdup(a, g);
			rn.cancel_in_progress = w->concurrency.cancel_in_progress;
		}
		free(g);
	}
	size_t cap = 16, nj = 0;
	struct run_job_new *jobs = arena_alloc(a, sizeof(*jobs) * cap);
	if (w->mode == WF_MODE_AGENT && !rn.failure) {
		json_t *spec = agent_job_spec(w, ev, &ec, f->path, &rn.failure, a);
		if (spec) {
			arena_defer(a, (void (*)(void *))json_decref, spec);
			json_t *none = json_array(), *m = json_object();
			arena_defer(a, (void (*)(void *))json_decref, none);
			arena_defer(a, (void (*)(void *))json_decref, m);
			jobs[nj++] = (struct run_job_new){ .key = "agent",
							   .name = w->name,
							   .needs = none,
							   .matrix = m,
							   .spec = spec };
		}
	}
	for (size_t i = 0; i < w->njobs && !rn.failure; i++) {
		const struct wf_job *j = &w->jobs[i];
		struct wf_instance *inst = NULL;
		size_t ni = 0;
		struct err me = { 0 };
		if (workflow_job_expand(&inst, &ni, j, &ec, &me)) {
			rn.failure = arena_printf(a, "%s: job '%s': %s", f->path, j->id, me.msg);
			break;
		}
		json_t *spec = job_spec(w, j);
		arena_defer(a, (void (*)(void *))json_decref, spec);
		json_t *needs = json_array();
		arena_defer(a, (void (*)(void *))json_decref, needs);
		for (size_t k = 0; k < j->needs.n; k++)
			json_array_append_new(needs, json_string(j->needs.v[k]));
		for (size_t k = 0; k < ni; k++) {
			if (nj == cap) {
				struct run_job_new *bigger = arena_alloc(a, sizeof(*jobs) * cap * 2);
				memcpy(bigger, jobs, sizeof(*jobs) * cap);
				jobs = bigger;
				cap *= 2;
			}
			json_t *m = json_incref(inst[k].matrix);
			arena_defer(a, (void (*)(void *))json_decref, m);
			jobs[nj++] = (struct run_job_new){
				.key = j->id,
				.name = arena_strdup(a, inst[k].name),
				.needs = needs,
				.matrix = m,
				.if_expr = j->if_expr,
				.continue_on_error = j->continue_on_error,
				.spec = spec,
				.may_write = j->permissions.contents == WF_PERM_WRITE,
			};
		}
		wf_instances_free(inst, ni);
	}
	rn.jobs = jobs;
	rn.njobs = rn.failure ? 0 : nj;
	rn.untrusted = !ev->trusted;
	if (rn.untrusted && !rn.failure) {
		/* secrets only with a writer's approval; without secrets, no
		 * more than read */
		for (size_t k = 0; k < nj; k++)
			if (json_array_size(json_object_get(jobs[k].spec, "secret_names")))
				rn.needs_approval = true;
		for (size_t k = 0; k < nj && !rn.needs_approval; k++) {
			spec_read_only(jobs[k].spec);
			jobs[k].may_write = false;
		}
	}
	int64_t run_id;
	if ((rc = runs_create(db, a, e, &rn, &run_id)))
		goto done;
	log_info("run %lld: %s for %s on %s/%s%s", (long long)run_id, f->path, ev->type, ev->owner,
		 ev->name,
		 rn.needs_approval ? " (untrusted: waits for approval)"
		 : rn.untrusted    ? " (untrusted: read-only, no secrets)"
				   : "");
	/* a run that waits for approval cancels others once approved */
	if (rn.concurrency_group && rn.cancel_in_progress && !rn.needs_approval) {
		*cancel_run = run_id;
		*cancel_group = rn.concurrency_group;
	}
done:
	workflow_free(w);
	return rc;
}

/* Keeps workflow_schedules in step with the default branch's workflows. */
static int schedules_refresh(PGconn *db, struct arena *a, struct err *e, const struct event *ev,
			     const char *sha, struct wf_file *files, size_t n)
{
	const char *rid = arena_int(a, ev->repo_id);
	struct buf keep = BUF_INIT;
	buf_addch(&keep, '[');
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct workflow *w = NULL;
		struct err pe = { 0 };
		if (!files[i].text ||
		    workflow_parse(&w, files[i].path, files[i].text, files[i].len, &pe))
			continue;
		const struct wf_trigger *t = workflow_trigger(w, WF_EV_SCHEDULE);
		for (size_t k = 0; t && k < t->ncrons; k++) {
			json_t *pair = json_pack("[s,s]", files[i].path, t->crons[k].text);
			char *ps = json_dumps(pair, JSON_COMPACT);
			buf_addf(&keep, "%s%s", keep.len > 1 ? "," : "", ps);
			free(ps);
			json_decref(pair);
			if (!db_qv(db, a, e,
				   "INSERT INTO workflow_schedules (repo_id, workflow_path, cron, "
				   "commit_sha) VALUES ($1, $2, $3, $4) ON CONFLICT (repo_id, "
				   "workflow_path, cron) DO UPDATE SET commit_sha = EXCLUDED.commit_sha",
				   rid, files[i].path, t->crons[k].text, sha))
				rc = e->code;
		}
		workflow_free(w);
	}
	buf_addch(&keep, ']');
	if (!rc && !db_qv(db, a, e,
			  "DELETE FROM workflow_schedules s WHERE repo_id = $1 AND NOT EXISTS ("
			  "SELECT 1 FROM jsonb_array_elements($2::jsonb) k WHERE k->>0 = "
			  "s.workflow_path AND k->>1 = s.cron)",
			  rid, arena_strdup(a, keep.ptr)))
		rc = e->code;
	buf_release(&keep);
	return rc;
}

static const char *pstr(json_t *p, const char *k)
{
	return json_string_value(json_object_get(p, k));
}

/* Whether ev's actor may write to its repository (ev->owner..is_private
 * loaded), through authz_repo like any request of theirs: the owner, a
 * site administrator, a collaborator with write or admin. An event
 * without an actor is trusted only when nothing but a write credential or
 * the server itself can cause it (push, workflow_dispatch, schedule);
 * any other (an agent's comment, a deleted user's) is not. */
static int actor_trusted(PGconn *db, struct arena *a, struct err *e, const struct event *ev,
			 bool *out)
{
	*out = false;
	if (!ev->actor_id) {
		*out = !strcmp(ev->type, "push") || !strcmp(ev->type, "workflow_dispatch") ||
		       !strcmp(ev->type, "schedule");
		return 0;
	}
	PGresult *res = db_qv(db, a, e,
			      "SELECT u.is_admin, coalesce(c.role, '') FROM users u LEFT JOIN "
			      "collaborators c ON c.repo_id = $2 AND c.user_id = u.id WHERE u.id = $1",
			      arena_int(a, ev->actor_id), arena_int(a, ev->repo_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return 0;
	struct repo repo = {
		.id = ev->repo_id,
		.owner_id = ev->owner_id,
		.owner = ev->owner,
		.name = ev->name,
		.default_branch = ev->default_branch,
		.is_private = ev->is_private,
	};
	/* the person, whatever credential they used */
	*out = authz_user_may(&repo, ev->actor_id, db_bool(res, 0, 0), db_val(res, 0, 1), ACT_WRITE);
	return 0;
}

/* The tip of branch (a name or refs/heads/NAME), or NULL. */
static const char *branch_tip(PGconn *db, struct arena *a, struct err *e, int64_t repo_id,
			      const char *branch, int *rc)
{
	if (!strncmp(branch, "refs/heads/", 11))
		branch += 11;
	PGresult *res = db_qv(db, a, e,
			      "SELECT commit_sha FROM branches WHERE repo_id = $1 AND name = $2",
			      arena_int(a, repo_id), branch);
	if (!res) {
		*rc = e->code;
		return NULL;
	}
	return PQntuples(res) == 1 ? arena_strdup(a, db_val(res, 0, 0)) : NULL;
}

/* Creates the runs of one event (inside the transaction). */
static int dispatch_event(PGconn *db, struct arena *a, struct err *e, struct event *ev,
			  int64_t *cancel_run, const char **cancel_group)
{
	int rc = 0;
	if (!ev->repo_id)
		return 0;
	PGresult *res = db_qv(db, a, e,
			      "SELECT u.username, r.name, r.default_branch, r.is_private, r.owner_id "
			      "FROM repositories r JOIN users u ON u.id = r.owner_id WHERE r.id = $1",
			      arena_int(a, ev->repo_id));
	if (!res)
		return e->code;
	if (PQntuples(res) != 1)
		return 0;
	ev->owner = arena_strdup(a, db_val(res, 0, 0));
	ev->name = arena_strdup(a, db_val(res, 0, 1));
	ev->default_branch = arena_strdup(a, db_val(res, 0, 2));
	ev->is_private = db_bool(res, 0, 3);
	ev->owner_id = db_int(res, 0, 4);
	if ((rc = actor_trusted(db, a, e, ev, &ev->trusted)))
		return rc;

	int type = wf_event_type_parse(ev->type);
	if (type < 0 || type == WF_EV_CHAT)
		return 0;
	struct wf_event wev = { .type = ev->type };
	const char *ref = NULL, *sha = NULL;
	const char *def_ref = arena_printf(a, "refs/heads/%s", ev->default_branch);
	char **paths = NULL;
	size_t npaths = 0;
	json_t *p = ev->payload;
	if (type == WF_EV_PUSH) {
		if (json_is_true(json_object_get(p, "deleted")))
			return 0;
		ref = pstr(p, "ref");
		sha = pstr(p, "after");
		wev.ref = ref;
		wev.tag = ref && !strncmp(ref, "refs/tags/", 10);
		paths = changed_paths(a, ev->repo_id, pstr(p, "before"), sha, &npaths);
		wev.paths = (const char *const *)paths;
		wev.npaths = npaths;
	} else {
		ref = pstr(p, "ref");
		sha = pstr(p, "sha");
		if (type == WF_EV_PULL_REQUEST || type == WF_EV_PULL_REQUEST_REVIEW) {
			json_t *pr = json_object_get(p, "pull_request");
			wev.action = pstr(p, "action");
			wev.base = pstr(p, "base") ?: pstr(pr, "base") ?: pstr(pr, "base_ref");
			if (!sha)
				sha = pstr(p, "head_sha") ?: pstr(pr, "head_sha");
			if (!ref)
				ref = pstr(p, "head_ref") ?: pstr(pr, "head_ref");
		}
		wev.body = pstr(p, "body") ?: pstr(p, "comment_body") ?:
			   pstr(json_object_get(p, "comment"), "body");
		wev.user = pstr(p, "user") ?: pstr(p, "mentioned");
		wev.cron = pstr(p, "cron");
		if (ref && strncmp(ref, "refs/", 5))
			ref = arena_printf(a, "refs/heads/%s", ref);
		if (!ref)
			ref = def_ref;
		wev.ref = ref;
	}
	if (!sha || !is_sha1_hex(sha)) {
		/* the tip of the ref (default branch) */
		const char *branch = !strncmp(ref, "refs/heads/", 11) ? ref + 11
								      : ev->default_branch;
		res = db_qv(db, a, e,
			    "SELECT commit_sha FROM branches WHERE repo_id = $1 AND name = $2",
			    arena_int(a, ev->repo_id), branch);
		if (!res)
			return e->code;
		if (PQntuples(res) != 1)
			return 0; /* an empty repository has no workflows */
		sha = arena_strdup(a, db_val(res, 0, 0));
	}
	/* where the workflow files are read; the jobs check out sha */
	const char *wf_sha = sha;
	if (!ev->trusted) {
		/* an outsider's pull request runs the base branch's workflows,
		 * any other event of theirs the default branch's: never a
		 * workflow file of a branch the event names */
		bool pull = type == WF_EV_PULL_REQUEST || type == WF_EV_PULL_REQUEST_REVIEW;
		wf_sha = branch_tip(db, a, e, ev->repo_id,
				    pull && wev.base ? wev.base : ev->default_branch, &rc);
		if (rc)
			return rc;
		if (!wf_sha && pull)
			wf_sha = pstr(p, "base_sha")
					 ?: pstr(json_object_get(p, "pull_request"), "base_sha");
		if (!wf_sha || !is_sha1_hex(wf_sha))
			return 0; /* the base branch is gone: nothing trusted to run */
		log_debug("event %lld (%s): the actor cannot write to %s/%s; workflows of %.12s",
			  (long long)ev->id, ev->type, ev->owner, ev->name, wf_sha);
	}
	struct wf_file *files = NULL;
	size_t nfiles = 0;
	struct err re = { 0 };
	if (dispatcher_read_workflows(a, ev->repo_id, wf_sha, &files, &nfiles, &re)) {
		log_warn("event %lld: %s", (long long)ev->id, re.msg);
		return 0;
	}
	for (size_t i = 0; i < nfiles && !rc; i++)
		rc = dispatch_file(db, a, e, ev, &files[i], ref, sha, &wev, cancel_run, cancel_group);
	if (!rc && type == WF_EV_PUSH && ref && !strcmp(ref, def_ref))
		rc = schedules_refresh(db, a, e, ev, sha, files, nfiles);
	dispatcher_files_free(files, nfiles);
	return rc;
}

/* Claims and dispatches one event; returns 1 when one was handled, 0 when
 * none is pending, -1 on a database failure. */
static int dispatch_one(PGconn *db)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	int ret = -1;
	int64_t cancel_run = 0;
	const char *cancel_group = NULL;
	if (db_begin(db, &e))
		goto done;
	PGresult *res = db_query(db, a, &e,
				 "SELECT id, coalesce(repo_id, 0), type, coalesce(actor_id, 0), "
				 "payload::text FROM events WHERE dispatched_at IS NULL ORDER BY id "
				 "LIMIT 1 FOR UPDATE SKIP LOCKED",
				 0, NULL);
	if (!res)
		goto rollback;
	if (PQntuples(res) == 0) {
		db_rollback(db);
		ret = 0;
		goto done;
	}
	struct event ev = {
		.id = db_int(res, 0, 0),
		.repo_id = db_int(res, 0, 1),
		.type = arena_strdup(a, db_val(res, 0, 2)),
		.actor_id = db_int(res, 0, 3),
	};
	ev.payload = json_loads(db_val(res, 0, 4), 0, NULL);
	if (!ev.payload)
		ev.payload = json_object();
	arena_defer(a, (void (*)(void *))json_decref, ev.payload);
	/* a savepoint: a failure inside one event still marks it dispatched */
	db_query(db, a, &e, "SAVEPOINT ev", 0, NULL);
	if (dispatch_event(db, a, &e, &ev, &cancel_run, &cancel_group)) {
		log_error("event %lld (%s) could not be dispatched: %s", (long long)ev.id, ev.type,
			  e.msg);
		db_query(db, a, NULL, "ROLLBACK TO SAVEPOINT ev", 0, NULL);
		if (e.code == ERR_UNAVAILABLE || PQstatus(db) != CONNECTION_OK)
			goto rollback;
		err_clear(&e);
		cancel_run = 0;
	}
	if (!db_qv(db, a, &e, "UPDATE events SET dispatched_at = now() WHERE id = $1",
		   arena_int(a, ev.id)))
		goto rollback;
	if (db_commit(db, &e))
		goto done;
	queue_wake(); /* a new run's jobs are waiting: parked runners may claim */
	if (cancel_run)
		runs_cancel_group(db, a, &e, ev.repo_id, cancel_group, cancel_run);
	ret = 1;
	goto done;
rollback:
	db_rollback(db);
done:
	arena_free(a);
	return ret;
}

static void dispatcher_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	while (!bg_stopping(t)) {
		if (!(c = db_reconnect(c, "LISTEN plue_events", "dispatcher"))) {
			bg_wait(t, 500);
			continue;
		}
		/* drain: everything pending, then wait */
		while (!bg_stopping(t) && dispatch_one(c) == 1)
			;
		{
			struct arena *a = arena_new();
			struct err e = { 0 };
			runs_start_held(c, a, &e);
			arena_free(a);
		}
		/* A NOTIFY that arrived while this pass ran its queries was read
		 * off the socket by libpq and queued: polling the socket would
		 * not see it and the event would wait for the next scan (up to
		 * SCAN_EVERY_MS). Its event may have committed after the pass's
		 * last look, so another pass. */
		if (db_notifies(c, NULL, NULL) != 0)
			continue; /* or the connection is lost: reconnected above */
		struct pollfd fds[1] = { { PQsocket(c), POLLIN, 0 } };
		if (bg_poll(t, fds, 1, SCAN_EVERY_MS) < 0)
			break;
		if (fds[0].revents)
			db_notifies(c, NULL, NULL);
	}
	if (c)
		PQfinish(c);
}

int dispatcher_start(void)
{
	if (bg_start(&thread, "dispatcher", dispatcher_main, NULL))
		return -1;
	if (scheduler_start()) {
		log_error("cannot start the scheduler");
		return -1;
	}
	return 0;
}

void dispatcher_stop(void)
{
	scheduler_stop();
	bg_stop(&thread);
}
