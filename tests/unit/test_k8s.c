/* test_k8s.c — the Kubernetes client (src/k8s) against the API double
 * (tests/k8s/double.mjs, started here with node on a free port over
 * HTTPS): in-cluster and kubeconfig configuration (token, token file,
 * client certificate), create/get/list/delete and the error classes (409
 * AlreadyExists, 422 with the API's message, 404 delete as success, 401,
 * 403), retries after 503, and the watch: ADDED/MODIFIED/DELETED of a pod
 * whose containers really run and exit, a 410 (as an ERROR event, as an
 * HTTP status, a version older than the window) answered with a complete relist, a cut
 * stream resumed from its version without a relist, a restarted double,
 * and stop. Everything the client logs is captured: the bearer token must
 * never be in it. Without node or the npm packages (tests/k8s/run.sh
 * installs them) this fails; it does not skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "k8s/k8s.h"
#include "doublehttp.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define NS "plue-runners"
#define PODS "/api/v1/namespaces/" NS "/pods"

static pid_t double_pid;
static char dir[] = "/tmp/plue-k8s-test-XXXXXX";
static char url[128], ca[512], kubeconfig[512], sa[512], token[128];
static int port;
static char logpath[600];
static int saved_stderr = -1;

/* ---- the double ---- */

static int double_run(int want_port)
{
	char src[] = __FILE__;
	char *script = xasprintf("%s/../k8s/double.mjs", dirname(src));
	char portarg[16];
	snprintf(portarg, sizeof(portarg), "%d", want_port);
	int out[2];
	if (pipe(out))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	char *argv[] = { "node", script,          "--port", portarg,    "--dir", dir, "--namespace",
			 NS,     "--bookmark-ms", "300",    "--window", "40",    NULL };
	int rc = posix_spawnp(&double_pid, "node", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	free(script);
	if (rc) {
		fprintf(stderr, "test_k8s: cannot run node (make deps): %s\n", strerror(rc));
		close(out[0]);
		return -1;
	}
	FILE *f = fdopen(out[0], "r");
	char line[2048] = "";
	json_t *j = fgets(line, sizeof(line), f) ? json_loads(line, 0, NULL) : NULL;
	fclose(f);
	if (!j) {
		fprintf(stderr,
			"test_k8s: the double did not start (npm packages missing? run "
			"tests/k8s/run.sh): '%s'\n",
			line);
		return -1;
	}
	snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(j, "url")));
	snprintf(ca, sizeof(ca), "%s", json_string_value(json_object_get(j, "ca")));
	snprintf(kubeconfig, sizeof(kubeconfig), "%s",
		 json_string_value(json_object_get(j, "kubeconfig")));
	snprintf(sa, sizeof(sa), "%s", json_string_value(json_object_get(j, "serviceaccount")));
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(j, "token")));
	port = (int)json_integer_value(json_object_get(j, "port"));
	json_decref(j);
	return 0;
}

static void double_stop(void)
{
	if (double_pid > 0) {
		kill(double_pid, SIGTERM);
		waitpid(double_pid, NULL, 0);
		double_pid = 0;
	}
}

static int log_fd = -1, tee_in = -1;
static pthread_t tee_thread;
static atomic_long tee_bytes;

static void *tee_run(void *arg)
{
	char chunk[4096];
	ssize_t n;
	while ((n = read(tee_in, chunk, sizeof(chunk))) > 0) {
		fd_write_all(saved_stderr, chunk, (size_t)n);
		fd_write_all(log_fd, chunk, (size_t)n);
		atomic_fetch_add(&tee_bytes, n);
	}
	return NULL;
}

static int group_setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	metrics_enable(true);
	if (double_run(0)) {
		path_remove_tree(dir);
		return -1;
	}
	/* from here on, stderr (the client's log) is also copied to a file the
	 * last test reads */
	snprintf(logpath, sizeof(logpath), "%s/client.log", dir);
	int tee_fds[2];
	if (pipe(tee_fds))
		return -1;
	fflush(stderr);
	saved_stderr = dup(2);
	log_fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (log_fd < 0 || dup2(tee_fds[1], 2) < 0)
		return -1;
	close(tee_fds[1]);
	tee_in = tee_fds[0];
	pthread_create(&tee_thread, NULL, tee_run, NULL);
	log_set_level(LOG_DEBUG);
	return 0;
}

static int group_teardown(void **state)
{
	double_stop();
	if (saved_stderr >= 0) {
		fflush(stderr);
		dup2(saved_stderr, 2); /* the pipe's last writer gone: the tee ends */
		pthread_join(tee_thread, NULL);
		close(saved_stderr);
		close(log_fd);
		close(tee_in);
	}
	path_remove_tree(dir);
	return 0;
}

/* A control request to the double (no token); its JSON answer. */
static json_t *control(const char *method, const char *path, const char *body)
{
	json_t *j = double_request(url, ca, method, path, body);
	assert_non_null(j);
	return j;
}

static void control_do(const char *method, const char *path, const char *body)
{
	json_decref(control(method, path, body));
}

/* How many requests the double heard for "METHOD PATH". */
static int heard(const char *what)
{
	json_t *r = control("GET", "/_double/requests", NULL);
	int n = (int)json_integer_value(json_object_get(json_object_get(r, "counts"), what));
	json_decref(r);
	return n;
}

static struct k8s *open_kubeconfig(void)
{
	struct k8s *k = NULL;
	struct err e = { 0 };
	assert_int_equal(k8s_open(&k, kubeconfig, NULL, &e), 0);
	return k;
}

static json_t *pod(const char *name, const char *app, const char *script)
{
	json_t *p = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:i, s:[{s:s, s:s, s:[s, s, s]}]}}",
			      "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "labels",
			      "app", app, "spec", "restartPolicy", "Never",
			      "terminationGracePeriodSeconds", 5, "containers", "name", "main",
			      "image", "plue-runner", "command", "/bin/sh", "-c", script);
	assert_non_null(p);
	return p;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Waits (20 s at most: a deadline, not a measurement) for cond. */
#define EVENTUALLY(cond)                                                                           \
	do {                                                                                       \
		int64_t until_ = now_ms() + 20000;                                                 \
		while (!(cond) && now_ms() < until_)                                               \
			sleep_ms(20);                                                              \
		assert_true(cond);                                                                 \
	} while (0)

/* ---- configuration ---- */

static void test_incluster(void **state)
{
	struct k8s *k = NULL;
	struct err e = { 0 };
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(k8s_open(&k, NULL, NULL, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "KUBERNETES_SERVICE_HOST"));

	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", portstr, 1);
	setenv("PLUE_K8S_SA_DIR", sa, 1);
	err_clear(&e);
	assert_int_equal(k8s_open(&k, "", NULL, &e), 0);
	assert_string_equal(k8s_namespace(k), NS);
	char want[160];
	snprintf(want, sizeof(want), "https://127.0.0.1:%d", port);
	assert_string_equal(k8s_server(k), want);
	json_t *list = NULL;
	assert_int_equal(k8s_list(k, PODS, NULL, &list, &e), 0);
	assert_string_equal(json_string_value(json_object_get(list, "kind")), "PodList");
	json_decref(list);

	/* the token file is read again on each request */
	char *tf = xasprintf("%s/token", sa);
	FILE *f = fopen(tf, "w");
	fputs("wrong-token\n", f);
	fclose(f);
	err_clear(&e);
	assert_int_equal(k8s_list(k, PODS, NULL, &list, &e), ERR_AUTH);
	assert_non_null(strstr(e.msg, "401"));
	assert_non_null(strstr(e.msg, "Unauthorized"));
	f = fopen(tf, "w");
	fprintf(f, "%s\n", token);
	fclose(f);
	err_clear(&e);
	assert_int_equal(k8s_list(k, PODS, NULL, &list, &e), 0);
	json_decref(list);
	free(tf);
	k8s_close(k);

	/* the namespace given wins */
	assert_int_equal(k8s_open(&k, NULL, "elsewhere", &e), 0);
	assert_string_equal(k8s_namespace(k), "elsewhere");
	k8s_close(k);
}

static void test_kubeconfigs(void **state)
{
	struct err e = { 0 };
	const char *variants[] = { "kubeconfig", "kubeconfig-files", "kubeconfig-cert" };
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, variants[i]);
		struct k8s *k = NULL;
		err_clear(&e);
		assert_int_equal(k8s_open(&k, p, NULL, &e), 0);
		assert_string_equal(k8s_namespace(k), NS);
		assert_string_equal(k8s_server(k), url);
		json_t *list = NULL;
		assert_int_equal(k8s_list(k, PODS, NULL, &list, &e), 0);
		json_decref(list);
		k8s_close(k);
		free(p);
	}
	json_t *r = control("GET", "/_double/requests", NULL);
	json_t *req;
	size_t i;
	int by_cert = 0;
	json_array_foreach(json_object_get(r, "requests"), i, req)
	{
		by_cert += !strcmp(json_string_value(json_object_get(req, "auth")), "certificate");
	}
	json_decref(r);
	assert_int_equal(by_cert, 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_bad_kubeconfigs(void **state)
{
	struct k8s *k = NULL;
	struct err e = { 0 };
	char *p = xasprintf("%s/absent", dir);
	assert_int_equal(k8s_open(&k, p, NULL, &e), ERR_NOTFOUND);
	assert_non_null(strstr(e.msg, "cannot open the kubeconfig"));
	free(p);

	p = xasprintf("%s/plugin.yaml", dir);
	write_file(p, "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
		      "contexts: [{name: c, context: {cluster: x, user: u}}]\n"
		      "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\n"
		      "users: [{name: u, user: {exec: {command: gke-gcloud-auth-plugin}}}]\n");
	err_clear(&e);
	assert_int_equal(k8s_open(&k, p, NULL, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "user 'u' gets its credentials from a plugin"));

	write_file(p, "current-context: c\ncontexts: [{name: d, context: {cluster: x}}]\n");
	err_clear(&e);
	assert_int_equal(k8s_open(&k, p, NULL, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "no context named 'c'"));

	write_file(p, "current-context: c\ncontexts: [{name: c, context: {cluster: x}}]\n"
		      "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1', "
		      "certificate-authority-data: '%%%'}}]\n");
	err_clear(&e);
	assert_int_equal(k8s_open(&k, p, NULL, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "certificate-authority-data is not valid base64"));

	write_file(p, "current-context: [\n");
	err_clear(&e);
	assert_int_equal(k8s_open(&k, p, NULL, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "plugin.yaml':"));
	free(p);
}

/* ---- the verbs ---- */

static void test_crud(void **state)
{
	struct k8s *k = open_kubeconfig();
	struct err e = { 0 };
	json_t *p = pod("crud-1", "crud", "exit 0");
	json_t *made = NULL;
	assert_int_equal(k8s_create(k, PODS, p, &made, &e), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(made, "metadata"),
							      "namespace")),
			    NS);
	json_decref(made);

	/* the same name again: 409 AlreadyExists */
	err_clear(&e);
	assert_int_equal(k8s_create(k, PODS, p, NULL, &e), ERR_EXISTS);
	assert_non_null(strstr(e.msg, "pods \"crud-1\" already exists"));
	json_decref(p);

	/* a pod the schema refuses: 422 with the API's message */
	p = pod("crud-bad", "crud", "exit 0");
	json_object_set_new(json_array_get(json_object_get(json_object_get(p, "spec"), "containers"),
					   0),
			    "args", json_string("not-a-list"));
	err_clear(&e);
	assert_int_equal(k8s_create(k, PODS, p, NULL, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "422"));
	assert_non_null(strstr(e.msg, "spec.containers[0].args: must be array"));
	json_decref(p);

	json_t *got = NULL;
	err_clear(&e);
	assert_int_equal(k8s_get(k, PODS "/crud-1", &got, &e), 0);
	assert_string_equal(json_string_value(
				    json_object_get(json_object_get(got, "metadata"), "name")),
			    "crud-1");
	json_decref(got);

	p = pod("crud-2", "other", "exit 0");
	assert_int_equal(k8s_create(k, PODS, p, NULL, &e), 0);
	json_decref(p);
	json_t *list = NULL;
	assert_int_equal(k8s_list(k, PODS, "app=crud", &list, &e), 0);
	json_t *items = json_object_get(list, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(items, 0), "metadata"), "name")),
			    "crud-1");
	assert_non_null(json_string_value(
		json_object_get(json_object_get(list, "metadata"), "resourceVersion")));
	json_decref(list);

	err_clear(&e);
	assert_int_equal(k8s_get(k, PODS "/absent", &got, &e), ERR_NOTFOUND);
	assert_null(got);
	assert_non_null(strstr(e.msg, "pods \"absent\" not found"));

	assert_int_equal(k8s_delete(k, PODS "/crud-1", 0, &e), 0);
	assert_int_equal(k8s_delete(k, PODS "/crud-2", -1, &e), 0);
	EVENTUALLY(k8s_get(k, PODS "/crud-1", &got, &(struct err){ 0 }) == ERR_NOTFOUND);
	/* already gone: still success */
	err_clear(&e);
	assert_int_equal(k8s_delete(k, PODS "/crud-1", 0, &e), 0);
	assert_int_equal(e.code, 0);
	k8s_close(k);
}

static void test_retries_and_refusals(void **state)
{
	struct k8s *k = open_kubeconfig();
	struct err e = { 0 };
	control_do("POST", "/_double/reset", NULL);
	control_do("POST", "/_double/fail", "{\"status\":503,\"count\":2,\"path\":\"/pods/retry\"}");
	json_t *p = pod("retry", "retry", "exit 0");
	json_t *got = NULL;
	assert_int_equal(k8s_create(k, PODS, p, NULL, &e), 0);
	json_decref(p);
	assert_int_equal(k8s_get(k, PODS "/retry", &got, &e), 0);
	json_decref(got);
	assert_int_equal(heard("GET " PODS "/retry"), 3);

	/* 403 is final: one request */
	control_do("POST", "/_double/fail", "{\"status\":403,\"count\":1,\"path\":\"/pods/retry\"}");
	err_clear(&e);
	assert_int_equal(k8s_get(k, PODS "/retry", &got, &e), ERR_PERM);
	assert_int_equal(heard("GET " PODS "/retry"), 4);
	assert_int_equal(k8s_delete(k, PODS "/retry", 0, &e), 0);
	k8s_close(k);

	/* nobody listening: ERR_UNAVAILABLE after the retries */
	char *p2 = xasprintf("%s/closed.yaml", dir);
	write_file(p2, "current-context: c\ncontexts: [{name: c, context: {cluster: x}}]\n"
		       "clusters: [{name: x, cluster: {server: 'http://127.0.0.1:9'}}]\n");
	assert_int_equal(k8s_open(&k, p2, NULL, &e), 0);
	err_clear(&e);
	assert_int_equal(k8s_get(k, PODS "/x", &got, &e), ERR_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "no answer"));
	k8s_close(k);
	free(p2);
}

/* ---- watch ---- */

struct seen {
	pthread_mutex_t mu;
	struct buf log; /* "TYPE name phase|" per event */
	int syncs;      /* complete lists */
	int events;
	volatile bool stop;
	bool done;
	int rc;
	struct k8s *k;
	const char *selector;
};

static int on_event(void *ctx, const char *type, json_t *obj)
{
	struct seen *s = ctx;
	pthread_mutex_lock(&s->mu);
	if (!obj) {
		s->syncs++;
		buf_adds(&s->log, "SYNC-END|");
	} else {
		const char *name = json_string_value(
			json_object_get(json_object_get(obj, "metadata"), "name"));
		const char *phase = json_string_value(
			json_object_get(json_object_get(obj, "status"), "phase"));
		json_t *cs = json_array_get(json_object_get(json_object_get(obj, "status"),
							    "containerStatuses"),
					    0);
		json_t *st = json_object_get(cs, "state");
		const char *cstate = json_object_get(st, "running")      ? "running"
				     : json_object_get(st, "terminated") ? "terminated"
									 : "-";
		buf_addf(&s->log, "%s %s %s %s|", type, name ? name : "?", phase ? phase : "-",
			 cstate);
		s->events++;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void *watcher(void *arg)
{
	struct seen *s = arg;
	struct k8s_watch_ops ops = { on_event, s };
	struct err e = { 0 };
	s->rc = k8s_watch(s->k, PODS, s->selector, &ops, &s->stop, &e);
	pthread_mutex_lock(&s->mu);
	s->done = true;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static bool seen_has(struct seen *s, const char *what)
{
	pthread_mutex_lock(&s->mu);
	bool yes = strstr(s->log.ptr, what) != NULL;
	pthread_mutex_unlock(&s->mu);
	return yes;
}

static int seen_syncs(struct seen *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->syncs;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static bool seen_done(struct seen *s)
{
	pthread_mutex_lock(&s->mu);
	bool d = s->done;
	pthread_mutex_unlock(&s->mu);
	return d;
}

static void watch_start(struct seen *s, pthread_t *t, const char *selector)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	buf_init(&s->log, 0);
	s->k = open_kubeconfig();
	s->selector = selector;
	assert_int_equal(pthread_create(t, NULL, watcher, s), 0);
	EVENTUALLY(seen_syncs(s) >= 1);
}

static void watch_end(struct seen *s, pthread_t t)
{
	s->stop = true;
	/* stop is polled every 100 ms: it ends well inside the deadline */
	EVENTUALLY(seen_done(s));
	pthread_join(t, NULL);
	assert_int_equal(s->rc, 0);
	k8s_close(s->k);
	buf_release(&s->log);
	pthread_mutex_destroy(&s->mu);
}

static void create_pod(const char *name, const char *app, const char *script)
{
	struct k8s *k = open_kubeconfig();
	struct err e = { 0 };
	json_t *p = pod(name, app, script);
	assert_int_equal(k8s_create(k, PODS, p, NULL, &e), 0);
	json_decref(p);
	k8s_close(k);
}

static void delete_pod(const char *name)
{
	struct k8s *k = open_kubeconfig();
	struct err e = { 0 };
	char *path = xasprintf(PODS "/%s", name);
	assert_int_equal(k8s_delete(k, path, 0, &e), 0);
	free(path);
	k8s_close(k);
}

static void test_watch_pod_lifecycle(void **state)
{
	struct seen s;
	pthread_t t;
	watch_start(&s, &t, "app=life");
	create_pod("life-1", "life", "sleep 0.3; exit 0");
	EVENTUALLY(seen_has(&s, "ADDED life-1 Pending"));
	EVENTUALLY(seen_has(&s, "MODIFIED life-1 Running running"));
	EVENTUALLY(seen_has(&s, "MODIFIED life-1 Succeeded terminated"));
	/* a pod of another app is not heard */
	create_pod("life-other", "elsewhere", "exit 0");
	/* a sleeping pod deleted: SIGTERM ends it, the pod goes */
	create_pod("life-2", "life", "sleep 30");
	EVENTUALLY(seen_has(&s, "MODIFIED life-2 Running running"));
	struct k8s *k = open_kubeconfig();
	struct err e = { 0 };
	assert_int_equal(k8s_delete(k, PODS "/life-2", 5, &e), 0);
	assert_int_equal(k8s_delete(k, PODS "/life-1", 0, &e), 0);
	assert_int_equal(k8s_delete(k, PODS "/life-other", 0, &e), 0);
	k8s_close(k);
	EVENTUALLY(seen_has(&s, "DELETED life-2 Failed terminated"));
	EVENTUALLY(seen_has(&s, "DELETED life-1"));
	assert_false(seen_has(&s, "life-other"));
	assert_int_equal(seen_syncs(&s), 1);
	watch_end(&s, t);
}

static void test_watch_gone_relists(void **state)
{
	struct seen s;
	pthread_t t;
	watch_start(&s, &t, "app=gone");
	create_pod("gone-1", "gone", "sleep 30");
	EVENTUALLY(seen_has(&s, "ADDED gone-1"));
	int lists = heard("GET " PODS);

	/* the next watch request is answered with an ERROR event 410; the
	 * stream in progress is cut so that the client makes one */
	control_do("POST", "/_double/gone", NULL);
	control_do("POST", "/_double/cut", NULL);
	/* made while the client is away: seen in the relist or after it */
	create_pod("gone-2", "gone", "sleep 30");
	EVENTUALLY(seen_syncs(&s) == 2);
	EVENTUALLY(seen_has(&s, "gone-2"));
	pthread_mutex_lock(&s.mu);
	/* the relist names every pod, gone-1 included */
	const char *second = strstr(s.log.ptr, "SYNC-END|");
	assert_non_null(second);
	assert_non_null(strstr(second, "SYNC gone-1"));
	pthread_mutex_unlock(&s.mu);

	/* an HTTP 410 on the watch request: relist too */
	control_do("POST", "/_double/gone", "{\"http\":true}");
	control_do("POST", "/_double/cut", NULL);
	EVENTUALLY(seen_syncs(&s) == 3);

	/* each relist is one more GET of the collection (a watch is a GET of
	 * the same path: at least the two lists) */
	assert_true(heard("GET " PODS) >= lists + 2);
	/* (a version older than the double's window: test_watch_resumes,
	 * after the double restarts) */
	delete_pod("gone-1");
	delete_pod("gone-2");
	EVENTUALLY(seen_has(&s, "DELETED gone-1") && seen_has(&s, "DELETED gone-2"));
	watch_end(&s, t);
}

static void test_watch_resumes(void **state)
{
	struct seen s;
	pthread_t t;
	watch_start(&s, &t, "app=resume");
	create_pod("resume-1", "resume", "exit 0");
	EVENTUALLY(seen_has(&s, "MODIFIED resume-1 Succeeded"));
	/* a cut stream: resumed from the last version, no relist, nothing lost */
	control_do("POST", "/_double/cut", NULL);
	create_pod("resume-2", "resume", "exit 0");
	EVENTUALLY(seen_has(&s, "ADDED resume-2"));
	EVENTUALLY(seen_has(&s, "MODIFIED resume-2 Succeeded"));
	assert_int_equal(seen_syncs(&s), 1);

	/* the double restarted (same port, CA and token; no objects, versions
	 * beyond the old ones): the client comes back, relists, sees new pods */
	double_stop();
	sleep_ms(300);
	assert_int_equal(double_run(port), 0);
	EVENTUALLY(seen_syncs(&s) == 2);
	create_pod("resume-3", "resume", "exit 0");
	EVENTUALLY(seen_has(&s, "ADDED resume-3"));
	delete_pod("resume-3");
	watch_end(&s, t);
}

static void test_watch_stop_while_idle(void **state)
{
	struct seen s;
	pthread_t t;
	watch_start(&s, &t, "app=nothing-here");
	sleep_ms(500); /* some bookmarks go by */
	watch_end(&s, t);
}

/* Last: what the client logged, from every test above. */
static void test_log_has_no_token(void **state)
{
	/* everything written so far has passed the tee */
	fflush(stderr);
	const char mark[] = "test_k8s: reading the log\n";
	long want = atomic_load(&tee_bytes) + (long)strlen(mark);
	fd_write_all(2, mark, strlen(mark));
	EVENTUALLY(atomic_load(&tee_bytes) >= want);
	struct buf b = BUF_INIT;
	FILE *f = fopen(logpath, "r");
	assert_non_null(f);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	/* the log holds the failures the tests provoked, with the API's words */
	assert_non_null(strstr(b.ptr, "k8s: POST " PODS ": 422: Pod \"crud-bad\" is invalid"));
	assert_non_null(strstr(b.ptr, "k8s: GET " PODS ": 401: Unauthorized"));
	assert_non_null(strstr(b.ptr, "injected failure 503 (try 1, again in"));
	assert_non_null(strstr(b.ptr, "is gone (410): listing again"));
	assert_null(strstr(b.ptr, token));
	assert_null(strstr(b.ptr, "Bearer"));
	buf_release(&b);

	struct buf m = BUF_INIT;
	metrics_render(&m);
	assert_non_null(
		strstr(m.ptr, "plue_k8s_requests_total{verb=\"create\",outcome=\"exists\"} 1"));
	assert_non_null(
		strstr(m.ptr, "plue_k8s_requests_total{verb=\"get\",outcome=\"unavailable\"} 2"));
	assert_non_null(strstr(m.ptr, "plue_k8s_watch_restarts_total{reason=\"gone\"}"));
	assert_non_null(strstr(m.ptr, "plue_k8s_watch_restarts_total{reason=\"error\"}"));
	buf_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incluster),
		cmocka_unit_test(test_kubeconfigs),
		cmocka_unit_test(test_bad_kubeconfigs),
		cmocka_unit_test(test_crud),
		cmocka_unit_test(test_retries_and_refusals),
		cmocka_unit_test(test_watch_pod_lifecycle),
		cmocka_unit_test(test_watch_gone_relists),
		cmocka_unit_test(test_watch_resumes),
		cmocka_unit_test(test_watch_stop_while_idle),
		cmocka_unit_test(test_log_has_no_token),
	};
	return cmocka_run_group_tests_name("k8s client against the double", tests, group_setup,
					   group_teardown);
}
