/* pool_k8s.c — the Kubernetes pool keeper (`--runner-mode kubernetes`):
 * runner pods (k8s/pods.c) instead of the local pool's child processes,
 * driven by the same workloads table and claim protocol.
 *
 * One keeper acts among the server's replicas: the one whose connection
 * holds the PostgreSQL advisory lock POOL_LOCK_KEY. The lock lives as long
 * as that connection, so a keeper that dies (its process, its node, its
 * network) lets go of it at once and another replica, trying every
 * LEADER_RETRY_MS, takes over and adopts the pods it finds.
 *
 * The leader watches the namespace's runner pods (k8s_watch: a list, then
 * the stream of changes; a 410 Gone starts over with a list, whose end
 * says which pods vanished meanwhile) into a table of pods, and
 * reconciles on every change, every queue notification and every
 * TICK_MS:
 *   - a pod that ended (Succeeded, Failed: finished, evicted, past its
 *     deadline) is deleted; a pod that vanished (deleted by someone, its
 *     node lost) is forgotten. If its runner — registered under the pod's
 *     name (runners.host) — still held a workload, the runner is declared
 *     dead at once and its workload retried once or failed, as the reaper
 *     does for a silent local runner (reaper_runner_lost), instead of
 *     after RUNNER_DEAD_S seconds of silence;
 *   - standby pods (pool=standby) are created until --warm-pool are
 *     alive, busy or idle; each serves one workload and is then replaced;
 *   - when waiting workloads outnumber the idle runners (standby and cold
 *     pods not holding a workload, started or starting), a cold pod
 *     (pool=cold, labelled with the workload's id) is created per waiting
 *     workload without one, at most --k8s-max-cold starting at once. Any
 *     runner claims the oldest waiting workload, so the label is only the
 *     keeper's account; an idle cold pod is deleted once nothing waits.
 * Each decision is logged at info and counted (plue_k8s_* metrics). */
#include "queue/pool.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/thread.h"
#include "base/util.h"
#include "db/db.h"
#include "k8s/k8s.h"
#include "k8s/pods.h"
#include "queue/queue.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_lock key of the keeper: "plue-k8s" in ASCII. */
#define POOL_LOCK_KEY "8101768047617700723"
#define TICK_MS 1000
#define LEADER_RETRY_MS 1000
#define MAX_PODS 4096
/* Waiting workloads looked at per reconcile. */
#define MAX_WAITING 256
/* A pod that fails this soon, before its runner registered, is a crash
 * (a wrong image, secret or setting): the next pods wait, from
 * CRASH_HOLD_MS doubling up to CRASH_HOLD_MAX_MS, as the local pool's
 * restarts do, instead of a pod a few milliseconds forever. */
#define CRASH_QUICK_MS 30000
#define CRASH_HOLD_MS 500
#define CRASH_HOLD_MAX_MS 60000

/* A runner pod as the watch last showed it. */
struct pod {
	char name[64];
	char pool[16];
	int64_t workload; /* cold: the workload it was made for */
	char phase[16];
	char reason[64];
	char message[200];
	char disruption[64]; /* the DisruptionTarget condition's reason, or "" */
	bool deleting;       /* deletionTimestamp set, or the keeper deleted it */
	bool gone;           /* DELETED, or missing from a relist */
	bool handled;        /* its end was dealt with (runner declared dead) */
	bool worked;         /* its runner was seen busy: its one workload is taken */
	unsigned seen;       /* the sync generation that last listed it */
	int64_t born;        /* when this keeper first heard of it */
};

static struct {
	pthread_mutex_t mu;
	struct pod *pods;
	size_t n;
	unsigned gen; /* of the sync in progress */
} tab = { .mu = PTHREAD_MUTEX_INITIALIZER };

static struct bg_thread keeper, watcher;

/* Pods that crashed in a row, and until when no pod is created (the
 * keeper's thread only). */
static int crashes;
static int64_t hold_until_ms;

/* Counts the end of a pod that crashed (see CRASH_QUICK_MS) or, for one that
 * got as far as its runner, starts the count over. */
static void crash_note(const struct pod *p, bool registered, const char *cause)
{
	if (registered || strcmp(p->phase, "Failed") || p->gone ||
	    now_ms() - p->born > CRASH_QUICK_MS) {
		crashes = 0;
		return;
	}
	crashes++;
	int64_t hold = CRASH_HOLD_MS;
	for (int i = 1; i < crashes && hold < CRASH_HOLD_MAX_MS; i++)
		hold *= 2;
	if (hold > CRASH_HOLD_MAX_MS)
		hold = CRASH_HOLD_MAX_MS;
	hold_until_ms = now_ms() + hold;
	log_warn("pool keeper: %s before its runner registered (%d in a row); no new pod for %lld ms",
		 cause, crashes, (long long)hold);
}
static struct k8s *kc;
static struct k8s_runner_pod tmpl; /* image, url, resources: name and pool per pod */
static char *pods_path;            /* /api/v1/namespaces/NS/pods */
static int warm;
static volatile bool watch_stop;

/* ---- the table of pods (the watch writes, the keeper reads) ---- */

static struct pod *pod_find(const char *name)
{
	for (size_t i = 0; i < tab.n; i++)
		if (!strcmp(tab.pods[i].name, name))
			return &tab.pods[i];
	return NULL;
}

static struct pod *pod_add(const char *name)
{
	struct pod *p = pod_find(name);
	if (p)
		return p;
	if (tab.n >= MAX_PODS)
		return NULL;
	tab.pods = xrealloc(tab.pods, (tab.n + 1) * sizeof(*tab.pods));
	p = &tab.pods[tab.n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->born = now_ms();
	return p;
}

static void pod_update(json_t *obj)
{
	struct k8s_pod_state s;
	k8s_pod_state(&s, obj);
	/* the API allows no other characters in a name; the names go into a
	 * query's array parameter */
	if (!*s.name || strspn(s.name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(s.name))
		return;
	struct pod *p = pod_add(s.name);
	if (!p)
		return;
	snprintf(p->pool, sizeof(p->pool), "%s", s.pool);
	p->workload = s.workload;
	snprintf(p->phase, sizeof(p->phase), "%s", *s.phase ? s.phase : "Pending");
	snprintf(p->reason, sizeof(p->reason), "%s", s.reason);
	snprintf(p->message, sizeof(p->message), "%s", *s.message ? s.message : s.disruption_message);
	snprintf(p->disruption, sizeof(p->disruption), "%s", s.disruption);
	p->deleting |= s.deleting;
	p->gone = false;
	p->seen = tab.gen;
}

static int on_watch(void *ctx, const char *type, json_t *obj)
{
	(void)ctx;
	pthread_mutex_lock(&tab.mu);
	if (!strcmp(type, "SYNC") && obj) {
		pod_update(obj);
	} else if (!strcmp(type, "SYNC")) {
		/* the list is complete: what it did not name is gone */
		for (size_t i = 0; i < tab.n; i++)
			if (tab.pods[i].seen != tab.gen && !tab.pods[i].gone) {
				log_info("pool keeper: pod %s is gone (not in the list)",
					 tab.pods[i].name);
				tab.pods[i].gone = true;
			}
		tab.gen++;
	} else if (!strcmp(type, "DELETED")) {
		pod_update(obj);
		struct k8s_pod_state s;
		k8s_pod_state(&s, obj);
		struct pod *p = pod_find(s.name);
		if (p)
			p->gone = true;
	} else {
		pod_update(obj);
	}
	pthread_mutex_unlock(&tab.mu);
	bg_wake(&keeper);
	return 0;
}

static void watch_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	struct k8s_watch_ops ops = { .on_event = on_watch };
	while (!bg_stopping(t) && !watch_stop) {
		struct err e = { 0 };
		pthread_mutex_lock(&tab.mu);
		tab.gen++; /* a new list: pods it does not name are gone */
		pthread_mutex_unlock(&tab.mu);
		if (k8s_watch(kc, pods_path, K8S_RUNNER_SELECTOR, &ops, &watch_stop, &e) &&
		    !watch_stop)
			log_warn("pool keeper: watching runner pods failed: %s; watching again",
				 e.msg);
		bg_wait(t, 1000);
	}
}

/* ---- decisions ---- */

/* The state of the runner registered under the pod's name ("idle",
 * "busy", "dead"), or NULL when it has not registered yet. */
static const char *runner_state(PGresult *runners, const char *pod, int64_t *id)
{
	for (int i = 0; runners && i < PQntuples(runners); i++)
		if (!strcmp(db_val(runners, i, 0), pod)) {
			if (id)
				*id = db_int(runners, i, 1);
			return db_val(runners, i, 2);
		}
	return NULL;
}

/* What ended p, for logs, the metric and the workload's reason. */
static const char *pod_end(const struct pod *p, char *cause, size_t size)
{
	const char *why;
	const char *d = p->disruption;
	if (!strcmp(p->reason, "Evicted") || !strcmp(d, "EvictionByEvictionAPI") ||
	    !strcmp(d, "TerminationByKubelet"))
		why = "evicted";
	else if (!strcmp(d, "PreemptionByScheduler"))
		why = "preempted";
	else if (!strcmp(d, "DeletionByTaintManager") || !strcmp(d, "DeletionByPodGC"))
		why = "node_lost";
	else if (!strcmp(p->reason, "DeadlineExceeded"))
		why = "past_deadline";
	else if (p->deleting)
		why = "deleted"; /* by someone else: the keeper's own are handled */
	else if (p->gone && strcmp(p->phase, "Succeeded") && strcmp(p->phase, "Failed"))
		why = "vanished";
	else if (!strcmp(p->phase, "Succeeded"))
		why = "succeeded";
	else
		why = "failed";
	const char *text = !strcmp(why, "evicted")         ? "was evicted"
			   : !strcmp(why, "past_deadline") ? "passed its deadline"
			   : !strcmp(why, "preempted")     ? "was preempted"
			   : !strcmp(why, "node_lost")     ? "lost its node"
			   : !strcmp(why, "deleted")       ? "was deleted"
			   : !strcmp(why, "vanished")      ? "was deleted or lost its node"
			   : !strcmp(why, "succeeded")     ? "ended"
							   : "failed";
	if (*p->message)
		snprintf(cause, size, "pod '%s' %s (%s)", p->name, text, p->message);
	else if (*p->reason || *p->disruption)
		snprintf(cause, size, "pod '%s' %s (%s)", p->name, text,
			 *p->reason ? p->reason : p->disruption);
	else
		snprintf(cause, size, "pod '%s' %s", p->name, text);
	return why;
}

/* A pod that ended or vanished: its runner, if it still held something,
 * is dead now. */
static void pod_lost(PGconn *c, const struct pod *p, PGresult *runners, const char *cause)
{
	int64_t rid = 0;
	const char *state = runner_state(runners, p->name, &rid);
	if (!state)
		return;
	struct err e = { 0 };
	char full[400];
	snprintf(full, sizeof(full), "runner %lld: %s", (long long)rid, cause);
	int n = reaper_runner_lost(c, rid, full, &e);
	if (n < 0)
		log_error("pool keeper: cannot declare runner %lld dead: %s", (long long)rid, e.msg);
	else if (n > 0)
		log_info("pool keeper: %s while holding a workload; runner %lld declared dead",
			 cause, (long long)rid);
}

static void pod_delete(struct pod *p, const char *why)
{
	char *path = xasprintf("%s/%s", pods_path, p->name);
	struct err e = { 0 };
	if (k8s_delete(kc, path, 0, &e)) {
		log_warn("pool keeper: cannot delete pod %s: %s", p->name, e.msg);
	} else {
		p->deleting = true;
		metrics_count(&metric_k8s_pods_deleted, (const char *[]){ why }, 1);
	}
	free(path);
}

static bool pod_create(const char *pool, int64_t workload)
{
	struct k8s_runner_pod spec = tmpl;
	char *name = k8s_runner_pod_name(pool);
	spec.name = name;
	spec.pool = pool;
	spec.workload = workload;
	json_t *obj = k8s_runner_pod_json(&spec);
	struct err e = { 0 };
	int rc = k8s_create(kc, pods_path, obj, NULL, &e);
	json_decref(obj);
	if (rc) {
		log_error("pool keeper: cannot create %s pod %s: %s", pool, name, e.msg);
		free(name);
		return false;
	}
	if (workload)
		log_info("pool keeper: created %s pod %s for workload %lld", pool, name,
			 (long long)workload);
	else
		log_info("pool keeper: created %s pod %s", pool, name);
	pthread_mutex_lock(&tab.mu);
	struct pod *p = pod_add(name);
	if (p && !*p->phase) {
		snprintf(p->pool, sizeof(p->pool), "%s", pool);
		p->workload = workload;
		snprintf(p->phase, sizeof(p->phase), "Pending");
		p->seen = tab.gen;
	}
	pthread_mutex_unlock(&tab.mu);
	metrics_count(&metric_k8s_pods_created, (const char *[]){ pool }, 1);
	if (workload)
		metrics_count(&metric_k8s_cold_starts, NULL, 1);
	free(name);
	return true;
}

static bool ended(const struct pod *p)
{
	return p->gone || !strcmp(p->phase, "Succeeded") || !strcmp(p->phase, "Failed");
}

/* One look at everything; false when the connection failed (leadership is
 * then uncertain). */
static bool reconcile(PGconn *c)
{
	struct arena *a = arena_new();
	struct err e = { 0 };
	bool ok = false;
	/* a copy: the watch goes on while the keeper talks to the API */
	pthread_mutex_lock(&tab.mu);
	size_t n = tab.n;
	struct pod *pods = xmalloc((n ? n : 1) * sizeof(*pods));
	if (n)
		memcpy(pods, tab.pods, n * sizeof(*pods));
	pthread_mutex_unlock(&tab.mu);

	/* the runners of those pods, by name */
	struct buf names = BUF_INIT;
	buf_addch(&names, '{');
	for (size_t i = 0; i < n; i++)
		buf_addf(&names, "%s\"%s\"", i ? "," : "", pods[i].name);
	buf_addch(&names, '}');
	PGresult *runners = db_qv(c, a, &e,
				  "SELECT DISTINCT ON (host) host, id, status FROM runners WHERE host = "
				  "ANY($1::text[]) ORDER BY host, id DESC",
				  names.ptr);
	buf_release(&names);
	if (!runners)
		goto done;
	PGresult *waiting = db_qv(c, a, &e,
				  "SELECT id FROM workloads WHERE status = 'waiting' AND NOT cancel "
				  "ORDER BY id LIMIT $1",
				  arena_int(a, MAX_WAITING));
	if (!waiting)
		goto done;

	/* pods that ended: their runner, then the pod */
	for (size_t i = 0; i < n; i++) {
		struct pod *p = &pods[i];
		if (!ended(p) || p->handled)
			continue;
		char cause[300];
		const char *why = pod_end(p, cause, sizeof(cause));
		crash_note(p, runner_state(runners, p->name, NULL) != NULL, cause);
		pod_lost(c, p, runners, cause);
		if (p->gone) {
			log_info("pool keeper: %s; forgetting it", cause);
			if (!p->deleting)
				metrics_count(&metric_k8s_pods_deleted, (const char *[]){ why }, 1);
		} else if (!p->deleting) {
			log_info("pool keeper: %s; deleting it", cause);
			pod_delete(p, why);
		}
		p->handled = true;
	}

	/* count what is alive */
	int standby = 0, idle = 0, starting_cold = 0;
	int counts[2][2] = { { 0 } }; /* [cold][busy] */
	for (size_t i = 0; i < n; i++) {
		struct pod *p = &pods[i];
		if (ended(p) || p->deleting)
			continue;
		bool cold = !strcmp(p->pool, K8S_POOL_COLD);
		const char *st = runner_state(runners, p->name, NULL);
		/* a runner seen busy serves no other workload: idle again, it is
		 * about to exit and its pod to end */
		if (st && !strcmp(st, "busy"))
			p->worked = true;
		bool busy = p->worked;
		bool dead = st && !strcmp(st, "dead");
		if (dead)
			continue;
		if (!cold)
			standby++;
		if (!busy)
			idle++;
		if (cold && !st)
			starting_cold++;
		counts[cold][busy]++;
	}
	const char *pools[2] = { K8S_POOL_STANDBY, K8S_POOL_COLD };
	const char *states[2] = { "idle", "busy" };
	for (int p = 0; p < 2; p++)
		for (int b = 0; b < 2; b++)
			metrics_gauge_set(&metric_k8s_pool, (const char *[]){ pools[p], states[b] },
					  counts[p][b]);

	/* the warm pool */
	bool hold = now_ms() < hold_until_ms; /* after crashes */
	for (; !hold && standby < warm; standby++) {
		log_info("pool keeper: %d of %d standby pods alive; creating one", standby, warm);
		if (!pod_create(K8S_POOL_STANDBY, 0))
			break;
		idle++;
	}

	/* cold starts: a pod per waiting workload no idle runner can take */
	int nwait = PQntuples(waiting);
	int short_by = hold ? 0 : nwait - idle;
	for (int i = 0; i < nwait && short_by > 0; i++) {
		int64_t wid = db_int(waiting, i, 0);
		bool has = false;
		for (size_t j = 0; j < n && !has; j++)
			has = pods[j].workload == wid && !ended(&pods[j]) && !pods[j].deleting;
		if (has)
			continue;
		if (starting_cold >= cfg.k8s_max_cold) {
			log_info("pool keeper: %d workloads wait; %d cold pods already starting "
				 "(the most at once)",
				 nwait, starting_cold);
			break;
		}
		log_info("pool keeper: %d workloads wait and %d runners are idle; creating a cold "
			 "pod for workload %lld",
			 nwait, idle, (long long)wid);
		if (!pod_create(K8S_POOL_COLD, wid))
			break;
		short_by--, starting_cold++;
	}

	/* idle cold pods when nothing waits */
	for (size_t i = 0; i < n && nwait == 0; i++) {
		struct pod *p = &pods[i];
		const char *st = runner_state(runners, p->name, NULL);
		if (strcmp(p->pool, K8S_POOL_COLD) || ended(p) || p->deleting || p->worked || !st ||
		    strcmp(st, "idle"))
			continue;
		log_info("pool keeper: cold pod %s is idle and nothing waits; deleting it", p->name);
		pod_delete(p, "unneeded");
	}
	ok = true;
done:
	/* what was decided goes back to the table; forgotten pods leave it */
	pthread_mutex_lock(&tab.mu);
	for (size_t i = 0; i < n; i++) {
		struct pod *t = pod_find(pods[i].name);
		if (!t)
			continue;
		t->handled |= pods[i].handled;
		t->deleting |= pods[i].deleting;
		t->worked |= pods[i].worked;
	}
	size_t k = 0;
	for (size_t i = 0; i < tab.n; i++)
		if (!(tab.pods[i].gone && tab.pods[i].handled))
			tab.pods[k++] = tab.pods[i];
	tab.n = k;
	pthread_mutex_unlock(&tab.mu);
	free(pods);
	arena_free(a);
	return ok;
}

/* ---- leadership ---- */

static bool try_lead(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT pg_try_advisory_lock(" POOL_LOCK_KEY ")");
	bool got = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		   !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return got;
}

static void lead_start(void)
{
	pthread_mutex_lock(&tab.mu);
	tab.n = 0; /* the list tells what exists */
	pthread_mutex_unlock(&tab.mu);
	watch_stop = false;
	if (bg_start(&watcher, "k8s watch", watch_main, NULL))
		log_error("pool keeper: cannot start the watch thread");
}

static void lead_stop(void)
{
	watch_stop = true;
	bg_stop(&watcher);
}

static void keeper_main(struct bg_thread *t, void *unused)
{
	(void)unused;
	PGconn *c = NULL;
	bool leader = false, said_waiting = false;
	while (!bg_stopping(t)) {
		if (!c || PQstatus(c) != CONNECTION_OK) {
			if (leader) {
				log_warn("pool keeper: lost the database connection; no longer the "
					 "leader");
				lead_stop();
				leader = false;
			}
			c = db_reconnect(c, "LISTEN plue_queue", "pool keeper");
			if (!c) {
				bg_wait(t, LEADER_RETRY_MS);
				continue;
			}
		}
		if (!leader) {
			if (!try_lead(c)) {
				if (!said_waiting)
					log_info("pool keeper: another server keeps the kubernetes pool; "
						 "standing by");
				said_waiting = true;
				bg_wait(t, LEADER_RETRY_MS);
				continue;
			}
			leader = true;
			said_waiting = false;
			log_info("pool keeper: this server keeps the kubernetes pool (namespace %s, "
				 "%d standby pods, server %s)",
				 k8s_namespace(kc), warm, k8s_server(kc));
			lead_start();
		}
		/* a queue notification the last reconcile's queries read off the
		 * socket waits in libpq, where a poll does not see it */
		struct pollfd fds[1] = { { PQsocket(c), POLLIN, 0 } };
		if (db_notifies(c, NULL, NULL) == 0 && bg_poll(t, fds, 1, TICK_MS) < 0)
			break;
		if (fds[0].revents)
			db_notifies(c, NULL, NULL);
		if (bg_stopping(t))
			break;
		if (!reconcile(c) && PQstatus(c) != CONNECTION_OK)
			continue; /* handled at the top */
	}
	if (leader)
		lead_stop();
	if (c)
		PQfinish(c); /* lets go of the lock */
}

int pool_k8s_start(int size, struct err *e)
{
	int rc;
	warm = size;
	tmpl = (struct k8s_runner_pod){
		.name = "plue-runner-s-check",
		.pool = K8S_POOL_STANDBY,
		.image = cfg.k8s_runner_image,
		.server_url = cfg.k8s_runner_url,
		.cpu = cfg.k8s_runner_cpu,
		.memory = cfg.k8s_runner_memory,
		.storage = cfg.k8s_runner_storage,
		.workspace_size = cfg.k8s_runner_workspace,
		.deadline_s = cfg.k8s_runner_deadline,
		.grace_s = 30,
	};
	if ((rc = k8s_runner_pod_check(&tmpl, e)))
		return rc;
	if (cfg.k8s_max_cold < 1)
		return err_set(e, ERR_INVALID, "invalid_setting",
			       "--k8s-max-cold must be at least 1");
	if (!cfg.runner_secret || !*cfg.runner_secret)
		return err_set(e, ERR_INVALID, "invalid_setting",
			       "--runner-mode kubernetes needs PLUE_RUNNER_SECRET: the "
			       "registration secret runner pods read from the Secret '%s' (key "
			       "'%s')",
			       K8S_RUNNER_SECRET, K8S_RUNNER_SECRET_KEY);
	if ((rc = k8s_open(&kc, cfg.k8s_kubeconfig,
			   cfg.k8s_namespace && *cfg.k8s_namespace ? cfg.k8s_namespace : NULL, e)))
		return rc;
	pods_path = xasprintf("/api/v1/namespaces/%s/pods", k8s_namespace(kc));
	if (bg_start(&keeper, "k8s pool", keeper_main, NULL)) {
		k8s_close(kc);
		kc = NULL;
		free(pods_path);
		pods_path = NULL;
		return err_set(e, ERR_UNAVAILABLE, NULL, "cannot start the pool keeper thread");
	}
	log_info("pool keeper: kubernetes mode, runner pods in '%s' on %s (image %s)",
		 k8s_namespace(kc), k8s_server(kc), cfg.k8s_runner_image);
	return 0;
}

void pool_k8s_stop(void)
{
	if (!bg_running(&keeper))
		return;
	bg_stop(&keeper);
	k8s_close(kc);
	kc = NULL;
	free(pods_path);
	pods_path = NULL;
	pthread_mutex_lock(&tab.mu);
	free(tab.pods);
	tab.pods = NULL;
	tab.n = 0;
	pthread_mutex_unlock(&tab.mu);
}
