/* runner.c — the runner's life: register, then for each workload start a
 * fresh sandbox first (so the claim finds it warm), long-poll a claim,
 * run the workload, report the result, destroy the sandbox. A heartbeat
 * thread tells the server the runner is alive.
 *
 * Stopping: on SIGTERM/SIGINT/SIGHUP an idle runner exits at once; a busy
 * one finishes its workload (retrying its posts while the server restarts)
 * and then exits. A second SIGTERM/SIGINT abandons the workload: its step is
 * killed, its sandbox destroyed, and the runner exits without waiting for
 * the server. A runner also abandons its workload when its server has not
 * answered a heartbeat for RUNNER_ORPHAN_S seconds — the time after which
 * a running server gives the workload to another runner (queue.h,
 * RUNNER_DEAD_S) — so a runner never outlives a server that is gone; a
 * server that comes back later retries the workload as its next attempt. */
#include "runner/runner.h"
#include "base/log.h"
#include "base/thread.h"
#include "base/util.h"
#include "runner/client.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLAIM_TIMEOUT_MS 40000             /* the server answers within 25 s */
#define HEARTBEAT_EVERY_S 5
#define FINISH_GIVE_UP_MS (10 * 60 * 1000) /* how long results wait for a server */
#define RUNNER_ORPHAN_S 30                 /* = RUNNER_DEAD_S on the server */

static volatile bool stop_flag;
static volatile bool abandon_flag; /* give the current workload up now */
static volatile bool dead_flag;    /* the server declared this runner dead */

/* SIGTERM/SIGINT: stop, and abandon the workload the second time. SIGHUP
 * (what the pool's runners get when their server dies) only stops: a
 * server that restarts gets the workload's results. */
static void on_signal(int sig)
{
	if (stop_flag && sig != SIGHUP)
		abandon_flag = true;
	stop_flag = true;
}

/* The first build of a repository's cached tree (1.5 s for 9,600 files)
 * runs on a thread of its own while the runner claims: a workload of
 * another repository runs meanwhile; one of that repository waits for the
 * rest of the build (less than writing every file into its workspace) and
 * gets an overlay. */
struct builder {
	struct bg_thread t;
	const char *cache;
	int64_t repo;
};

struct runner {
	const struct runner_cfg *cfg;
	const char *cache; /* the checkout cache (job.c), or NULL */
	bool overlay;      /* workspaces are overlays over the cache's trees */
	struct builder bld;
	int64_t id;
	char *token;
	enum sandbox_kind kind;
	struct bg_thread hb;
};

static int do_register(struct runner *r, struct client *c)
{
	/* the name the server knows it by: in a pod the pod's name, so that
	 * the pool keeper can tell which runner a pod holds */
	char host[256] = "";
	if (r->cfg->name && *r->cfg->name)
		snprintf(host, sizeof(host), "%s", r->cfg->name);
	else
		gethostname(host, sizeof(host) - 1);
	json_t *body = json_pack("{s:s,s:i,s:s}", "host", host, "pid", (int)getpid(), "sandbox",
				 sandbox_kind_name(r->kind));
	int backoff = 200;
	for (;;) {
		json_t *reply = NULL;
		int st = client_post(c, "/internal/runners/register", r->cfg->secret, body, 10000,
				     &reply);
		if (st == 201) {
			r->id = (int64_t)json_integer_value(json_object_get(reply, "id"));
			r->token = xstrdup(json_string_value(json_object_get(reply, "token")) ?: "");
			json_decref(reply);
			json_decref(body);
			return 0;
		}
		json_decref(reply);
		if (st == 401 || st == 403) {
			log_error("runner: the server refused the registration secret");
			json_decref(body);
			return -1;
		}
		if (stop_flag) {
			json_decref(body);
			return -1;
		}
		usleep((useconds_t)backoff * 1000);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
}

static void heartbeat_main(struct bg_thread *t, void *arg)
{
	struct runner *r = arg;
	struct client *c = client_new(r->cfg->server_url, NULL);
	char *path = xasprintf("/internal/runners/%lld/heartbeat", (long long)r->id);
	int64_t last_ok = now_ms();
	while (!bg_stopping(t)) {
		json_t *reply = NULL;
		int st = client_post(c, path, r->token, NULL, 10000, &reply);
		json_decref(reply);
		if (st == 200)
			last_ok = now_ms();
		if (st == 409 || st == 401) {
			log_warn("runner %lld: the server no longer knows this runner; stopping",
				 (long long)r->id);
			dead_flag = true;
			stop_flag = true;
		} else if (st != 200 && !abandon_flag && now_ms() - last_ok > RUNNER_ORPHAN_S * 1000) {
			log_warn("runner %lld: the server has not answered for %d s; giving up its "
				 "workload and stopping",
				 (long long)r->id, RUNNER_ORPHAN_S);
			abandon_flag = true;
			stop_flag = true;
		}
		bg_wait(t, HEARTBEAT_EVERY_S * 1000);
	}
	free(path);
	client_free(c);
}

static int rm_rf(const char *path)
{
	/* the workspace holds files of the sandbox's uid; rm runs as us */
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--one-file-system", "--", path, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Removes the workspaces of runners that died without cleaning up (kill
 * -9): runner-PID-N directories (and runner-PID-N.ovl, the layers of an
 * overlay workspace) whose PID is gone. Their mounts went with the
 * runner's mount namespace. */
static void sweep_workspaces(const char *work_dir)
{
	DIR *d = opendir(work_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid, n, end = 0;
		bool ws = sscanf(de->d_name, "runner-%d-%d%n", &pid, &n, &end) == 2;
		if (ws && !strcmp(de->d_name + end, ".ovl"))
			end += 4;
		if (!ws) /* a checkout cache, runner-PID-cache */
			end = 0, sscanf(de->d_name, "runner-%d-cache%n", &pid, &end);
		if (!end || de->d_name[end] || pid <= 0 || pid == getpid() || kill(pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", work_dir, de->d_name);
		log_info("runner: removing workspace '%s' of a runner that is gone", de->d_name);
		rm_rf(path);
	}
	closedir(d);
}

static void builder_main(struct bg_thread *t, void *arg)
{
	struct builder *b = arg;
	job_base_prepare(b->cache, b->repo, true);
}

/* The cached tree of repo, ready to be mounted: advanced to its last
 * commit (only what differs is written), or built on the builder's thread
 * (false meanwhile). */
static bool base_ready(struct runner *r, int64_t repo)
{
	struct builder *b = &r->bld;
	int rc = job_base_prepare(r->cache, repo, false);
	if (rc != 1)
		return rc == 0;
	bg_stop(&b->t);
	b->cache = r->cache;
	b->repo = repo;
	bg_start(&b->t, "cache builder", builder_main, b);
	return false;
}

/* A warm workspace: its sandbox, and the repository whose cached tree is
 * mounted as the workspace's lower layer (0: an empty directory). */
struct warm {
	struct sandbox *sb;
	int64_t repo;
	char base[41]; /* the commit of that tree */
};

struct warm_prep {
	struct runner *r;
	struct warm *w;
};

/* sandbox_create's hook: the overlay, once the sandbox's uid is known. A
 * failure leaves an empty workspace: the checkout then takes the slow path. */
static int warm_prepare(void *cls, const char *ws, uid_t uid, gid_t gid, struct err *e)
{
	struct warm_prep *p = cls;
	(void)e;
	if (job_workspace_mount(p->w->base, p->r->cache, p->w->repo, ws, uid, gid))
		p->w->repo = 0;
	return 0;
}

/* Starts the sandbox of the next workload in ws, over repository repo's
 * cached tree when the runner overlays workspaces and has one. */
static struct sandbox *warm_sandbox(struct runner *r, struct warm *w, const char *ws, int64_t repo,
				    bool network, json_t *limits)
{
	struct sandbox_limits lim = { .network = network };
	if (limits) {
		lim.memory_bytes = (int64_t)json_integer_value(
			json_object_get(limits, "memory_bytes"));
		lim.max_procs = (int)json_integer_value(json_object_get(limits, "max_procs"));
		lim.output_bytes = (int64_t)json_integer_value(
			json_object_get(limits, "output_bytes"));
	}
	struct sandbox *sb = NULL;
	struct err e = { 0 };
	*w = (struct warm){ .repo = r->overlay ? repo : 0 };
	struct warm_prep wp = { r, w };
	struct sandbox_workspace_prep prep = { warm_prepare, &wp };
	mkdir(ws, 0700);
	if (sandbox_create_prepared(&sb, r->kind, ws, &lim, w->repo > 0 ? &prep : NULL, &e)) {
		log_error("runner %lld: cannot start a sandbox: %s", (long long)r->id, e.msg);
		job_workspace_unmount(ws);
		w->repo = 0;
		return NULL;
	}
	w->sb = sb;
	return sb;
}

/* Ends a workspace: its sandbox, its overlay, its files. */
static void warm_end(struct warm *w, const char *ws)
{
	sandbox_destroy(w->sb);
	w->sb = NULL;
	w->repo = 0;
	job_workspace_unmount(ws);
	rm_rf(ws);
}

/* Runs one claimed workload in w's sandbox (which it may replace). */
static void run_workload(struct runner *r, struct warm *w, const char *ws, json_t *claim)
{
	int64_t wid = (int64_t)json_integer_value(json_object_get(claim, "workload"));
	const char *type = json_string_value(json_object_get(claim, "type")) ?: "";
	const char *token = json_string_value(json_object_get(claim, "task_token")) ?: "";
	json_t *spec = json_object_get(claim, "spec");
	json_t *limits = json_object_get(spec, "limits");
	log_info("runner %lld: workload %lld (%s, attempt %lld)", (long long)r->id, (long long)wid,
		 type, (long long)json_integer_value(json_object_get(claim, "attempt")));
	struct reporter *rep = reporter_start(r->cfg->server_url, wid, token,
					      (int64_t)json_integer_value(
						      json_object_get(claim, "seq_start")),
					      &abandon_flag);
	struct job_result res = { .result = "error", .exit_code = -1 };
	/* the warm sandbox has no network and default limits; a workload that
	 * asks for other ones gets a sandbox made for it */
	bool need_net = json_is_true(json_object_get(limits, "network"));
	bool custom = json_integer_value(json_object_get(limits, "memory_bytes")) ||
		      json_integer_value(json_object_get(limits, "max_procs")) ||
		      json_integer_value(json_object_get(limits, "output_bytes"));
	/* a workspace mounted over another repository's tree is never this
	 * workload's: it gets one of its own (over its repository's tree when
	 * the runner has one) */
	int64_t repo = (int64_t)json_integer_value(
		json_object_get(json_object_get(spec, "repo"), "id"));
	bool foreign = w->repo && w->repo != repo;
	if (bg_running(&r->bld.t) && r->bld.repo == repo && w->repo != repo) {
		/* its tree is being built: the rest of the build costs less than
		 * checking out every file again */
		bg_stop(&r->bld.t);
		foreign = true;
	}
	/* a pod's sandbox is the pod: its one execd serves one sandbox, with
	 * the pod's network and limits */
	if ((need_net || custom || foreign) && r->kind != SANDBOX_POD) {
		warm_end(w, ws);
		warm_sandbox(r, w, ws, repo, need_net, limits);
	}
	if (!w->sb) {
		snprintf(res.reason, sizeof(res.reason), "the runner could not start a sandbox");
	} else if (!strcmp(type, "workflow") || !strcmp(type, "agent")) {
		struct job_env env = { .sb = w->sb,
				       .rep = rep,
				       .claim = claim,
				       .server_url = r->cfg->server_url,
				       .cache_dir = r->cache,
				       .overlay_base = w->repo == repo ? w->base : NULL,
				       .stop = &stop_flag };
		if (!strcmp(type, "agent"))
			agent_run(&env, &res);
		else
			job_run(&env, &res);
	} else {
		snprintf(res.reason, sizeof(res.reason), "this runner cannot run '%s' workloads",
			 type);
	}
	if (!reporter_flush(rep, FINISH_GIVE_UP_MS))
		log_warn("runner %lld: some events of workload %lld could not be delivered",
			 (long long)r->id, (long long)wid);
	if (abandon_flag)
		log_warn("runner %lld: workload %lld abandoned; the server retries it",
			 (long long)r->id, (long long)wid);
	else if (!reporter_complete(rep, res.result, res.exit_code,
				    res.reason[0] ? res.reason : NULL, FINISH_GIVE_UP_MS))
		log_warn("runner %lld: the server did not take the result of workload %lld",
			 (long long)r->id, (long long)wid);
	reporter_free(rep);
	log_info("runner %lld: workload %lld %s", (long long)r->id, (long long)wid, res.result);
}

int runner_main(const struct runner_cfg *cfg)
{
	struct runner r = { .cfg = cfg };
	struct err e = { 0 };
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* overlay workspaces (job.c) need root; their mounts live in a mount
	 * namespace of the runner's own, so they die with it (a runner killed
	 * with -9 leaves none behind) and the host never sees them */
	const char *ov = getenv("PLUE_CHECKOUT_OVERLAY");
	r.overlay = geteuid() == 0 && !(ov && (!strcmp(ov, "off") || !strcmp(ov, "0")));
	if (r.overlay && (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))) {
		log_warn("runner: no mount namespace of its own (%s): workspaces are not overlays",
			 strerror(errno));
		r.overlay = false;
	}
	if (sandbox_detect(&r.kind, cfg->sandbox, &e)) {
		log_error("runner: %s", e.msg);
		return 1;
	}
	/* the first sandbox is ready before the runner registers: a registered
	 * runner is one about to claim (workspaces are named by pid: the id
	 * comes with the registration) */
	sweep_workspaces(cfg->work_dir);
	char ws[PATH_MAX], cache[PATH_MAX];
	snprintf(ws, sizeof(ws), "%s/runner-%d-0", cfg->work_dir, (int)getpid());
	/* the checkout cache (job.c): the runner's alone, never in a sandbox */
	snprintf(cache, sizeof(cache), "%s/runner-%d-cache", cfg->work_dir, (int)getpid());
	rm_rf(cache);
	r.cache = mkdir(cache, 0700) == 0 ? cache : NULL;
	r.overlay = r.overlay && r.cache;
	int64_t last_repo = 0; /* the repository whose tree the cache prepares */
	struct warm w = { 0 };
	if (!warm_sandbox(&r, &w, ws, 0, false, NULL))
		return 1;
	struct client *c = client_new(cfg->server_url, &stop_flag);
	if (do_register(&r, c)) {
		client_free(c);
		warm_end(&w, ws);
		return stop_flag ? 0 : 1;
	}
	log_info("runner %lld registered (sandbox %s, pid %d)", (long long)r.id,
		 sandbox_kind_name(r.kind), (int)getpid());
	if (bg_start(&r.hb, "heartbeat", heartbeat_main, &r))
		die("cannot start the heartbeat thread");
	char *claim_path = xasprintf("/internal/runners/%lld/claim", (long long)r.id);
	int status = 0;
	for (int n = 0; !stop_flag; n++) {
		/* warm: the sandbox for the next workload starts before the claim */
		if (n > 0) {
			snprintf(ws, sizeof(ws), "%s/runner-%d-%d", cfg->work_dir, (int)getpid(), n);
			/* the cache's bound: never the tree mounted next or being built */
			int64_t keep[2] = { last_repo, bg_running(&r.bld.t) ? r.bld.repo : 0 };
			if (r.cache)
				job_cache_trim(cache, cfg->cache_bytes, keep, 2);
			/* the next workload is likeliest to be of the same repository:
			 * its workspace is mounted over that repository's tree
			 * (advanced to the last commit: only what differs is
			 * written), or else the tree is built to be moved in */
			bool over = r.overlay && last_repo > 0 && base_ready(&r, last_repo);
			warm_sandbox(&r, &w, ws, over ? last_repo : 0, false, NULL);
			if (w.sb && !r.overlay && r.cache && last_repo > 0)
				job_cache_prepare(cache, last_repo, sandbox_uid(w.sb),
						  sandbox_gid(w.sb));
		}
		if (!w.sb) {
			status = 1;
			break;
		}
		json_t *claim = NULL;
		while (!stop_flag && !claim) {
			json_t *reply = NULL;
			int st = client_post(c, claim_path, r.token, NULL, CLAIM_TIMEOUT_MS, &reply);
			if (st == 200 && json_is_integer(json_object_get(reply, "workload"))) {
				claim = reply;
				break;
			}
			if (st == 200 && json_object_get(reply, "error")) {
				/* declared dead: a new runner takes this one's place */
				stop_flag = true;
				dead_flag = true;
			} else if (st == 401 || st == 409) {
				stop_flag = true;
				dead_flag = true;
			} else if (st != 200 && !stop_flag) {
				usleep(500 * 1000); /* the server is away: try again */
			}
			json_decref(reply);
		}
		if (claim) {
			run_workload(&r, &w, ws, claim);
			last_repo = (int64_t)json_integer_value(json_object_get(
				json_object_get(json_object_get(claim, "spec"), "repo"), "id"));
			json_decref(claim);
		}
		warm_end(&w, ws);
		if (!cfg->standby && claim)
			break;
	}
	if (w.sb) /* stopped before the first claim */
		warm_end(&w, ws);
	free(claim_path);
	bg_stop(&r.bld.t);
	if (r.cache)
		rm_rf(cache);
	bg_stop(&r.hb);
	client_free(c);
	free(r.token);
	log_info("runner %lld stopped", (long long)r.id);
	return dead_flag ? 3 : status;
}
