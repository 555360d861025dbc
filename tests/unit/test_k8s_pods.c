/* test_k8s_pods.c — the runner Pod (k8s/pods.c): every security field the
 * design relies on, at pod and container level; the secret only in the
 * runner container; the volumes each container sees; labels; and the
 * checks of the operator's settings. The schema itself is checked by the
 * Kubernetes API double in tests/integration/66-kubernetes.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "k8s/pods.h"

static struct k8s_runner_pod base(void)
{
	return (struct k8s_runner_pod){
		.name = "plue-runner-s-0a1b2c",
		.pool = K8S_POOL_STANDBY,
		.image = "registry.example/plue-runner:1",
		.server_url = "http://plue.plue.svc:4000",
		.cpu = "2",
		.memory = "4Gi",
		.storage = "10Gi",
		.workspace_size = "8Gi",
		.deadline_s = 7200,
		.grace_s = 30,
	};
}

static json_t *path(json_t *o, const char *p)
{
	/* "a.b.c" through objects; "#n" indexes an array */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", p);
	for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, "."))
		o = tok[0] == '#' ? json_array_get(o, (size_t)atoi(tok + 1))
				  : json_object_get(o, tok);
	return o;
}

static json_t *container(json_t *pod, const char *name)
{
	json_t *cs = path(pod, "spec.containers"), *c;
	size_t i;
	json_array_foreach(cs, i, c) if (!strcmp(json_string_value(json_object_get(c, "name")),
						 name)) return c;
	return NULL;
}

static json_t *env_of(json_t *c, const char *name)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(c, "env"), i,
			   e) if (!strcmp(json_string_value(json_object_get(e, "name")),
					  name)) return e;
	return NULL;
}

static void test_pod_security(void **state)
{
	struct k8s_runner_pod p = base();
	json_t *pod = k8s_runner_pod_json(&p);
	assert_string_equal(json_string_value(path(pod, "apiVersion")), "v1");
	assert_string_equal(json_string_value(path(pod, "kind")), "Pod");
	assert_string_equal(json_string_value(path(pod, "spec.runtimeClassName")), "gvisor");
	assert_string_equal(json_string_value(path(pod, "spec.restartPolicy")), "Never");
	assert_true(json_is_false(path(pod, "spec.automountServiceAccountToken")));
	assert_true(json_is_false(path(pod, "spec.enableServiceLinks")));
	assert_true(json_is_false(path(pod, "spec.shareProcessNamespace")));
	assert_null(path(pod, "spec.hostPID"));
	assert_null(path(pod, "spec.hostNetwork"));
	assert_int_equal(json_integer_value(path(pod, "spec.activeDeadlineSeconds")), 7200);
	assert_int_equal(json_integer_value(path(pod, "spec.terminationGracePeriodSeconds")), 30);
	assert_true(json_is_true(path(pod, "spec.securityContext.runAsNonRoot")));
	assert_int_equal(json_integer_value(path(pod, "spec.securityContext.runAsUser")), 1000);
	assert_int_equal(json_integer_value(path(pod, "spec.securityContext.runAsGroup")), 1000);
	assert_int_equal(json_integer_value(path(pod, "spec.securityContext.fsGroup")), 1000);
	assert_string_equal(json_string_value(path(pod, "spec.securityContext.seccompProfile.type")),
			    "RuntimeDefault");
	assert_int_equal(json_array_size(path(pod, "spec.containers")), 2);
	const char *names[] = { "runner", "exec" };
	for (int i = 0; i < 2; i++) {
		json_t *c = container(pod, names[i]);
		assert_non_null(c);
		assert_string_equal(json_string_value(json_object_get(c, "image")), p.image);
		json_t *sc = json_object_get(c, "securityContext");
		assert_true(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
		assert_true(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
		assert_true(json_is_true(json_object_get(sc, "runAsNonRoot")));
		assert_null(json_object_get(sc, "privileged"));
		json_t *drop = path(sc, "capabilities.drop");
		assert_int_equal(json_array_size(drop), 1);
		assert_string_equal(json_string_value(json_array_get(drop, 0)), "ALL");
		assert_null(path(sc, "capabilities.add"));
		assert_string_equal(json_string_value(path(sc, "seccompProfile.type")),
				    "RuntimeDefault");
		/* requests = limits, every resource */
		const char *res[] = { "cpu", "memory", "ephemeral-storage" };
		for (int r = 0; r < 3; r++) {
			json_t *lim = path(c, "resources.limits"),
			       *req = path(c, "resources.requests");
			assert_non_null(json_object_get(lim, res[r]));
			assert_string_equal(json_string_value(json_object_get(lim, res[r])),
					    json_string_value(json_object_get(req, res[r])));
		}
	}
	/* the steps get what the operator configured */
	json_t *exec = container(pod, "exec");
	assert_string_equal(json_string_value(path(exec, "resources.limits.cpu")), "2");
	assert_string_equal(json_string_value(path(exec, "resources.limits.memory")), "4Gi");
	assert_string_equal(json_string_value(path(exec, "resources.limits.ephemeral-storage")),
			    "10Gi");
	json_decref(pod);
}

static void test_pod_secret_only_in_runner(void **state)
{
	struct k8s_runner_pod p = base();
	json_t *pod = k8s_runner_pod_json(&p);
	json_t *runner = container(pod, "runner"), *exec = container(pod, "exec");
	json_t *sec = env_of(runner, "PLUE_RUNNER_SECRET");
	assert_non_null(sec);
	assert_null(json_object_get(sec, "value"));
	assert_string_equal(json_string_value(path(sec, "valueFrom.secretKeyRef.name")),
			    "plue-runner");
	assert_string_equal(json_string_value(path(sec, "valueFrom.secretKeyRef.key")),
			    "registration-secret");
	assert_string_equal(json_string_value(path(env_of(runner, "PLUE_RUNNER_NAME"),
						   "valueFrom.fieldRef.fieldPath")),
			    "metadata.name");
	assert_string_equal(json_string_value(
				    json_object_get(env_of(runner, "PLUE_SANDBOX"), "value")),
			    "pod");
	assert_string_equal(json_string_value(
				    json_object_get(env_of(runner, "PLUE_SERVER_URL"), "value")),
			    p.server_url);
	/* the exec container: no secret, nothing from elsewhere */
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(exec, "env"), i, e)
	{
		assert_null(json_object_get(e, "valueFrom"));
		assert_null(strstr(json_string_value(json_object_get(e, "name")), "SECRET"));
		assert_null(strstr(json_string_value(json_object_get(e, "name")), "TOKEN"));
	}
	assert_null(json_object_get(exec, "envFrom"));
	assert_null(json_object_get(runner, "envFrom"));
	assert_string_equal(json_string_value(path(exec, "command.#1")), "execd");
	assert_string_equal(json_string_value(path(exec, "command.#3")), "/run/plue/execd.sock");
	assert_string_equal(json_string_value(path(runner, "command.#1")), "runner");
	json_decref(pod);
}

static void test_pod_volumes(void **state)
{
	struct k8s_runner_pod p = base();
	json_t *pod = k8s_runner_pod_json(&p);
	json_t *vols = path(pod, "spec.volumes"), *v;
	size_t i;
	int seen = 0;
	json_array_foreach(vols, i, v)
	{
		const char *n = json_string_value(json_object_get(v, "name"));
		json_t *ed = json_object_get(v, "emptyDir");
		assert_non_null(ed); /* nothing but emptyDirs: no hostPath */
		assert_non_null(json_object_get(ed, "sizeLimit"));
		if (!strcmp(n, "workspace")) {
			assert_string_equal(json_string_value(json_object_get(ed, "sizeLimit")),
					    "8Gi");
			seen |= 1;
		} else if (!strcmp(n, "control")) {
			assert_string_equal(json_string_value(json_object_get(ed, "medium")),
					    "Memory");
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	/* both share workspace and control; each has a /tmp of its own */
	const char *names[] = { "runner", "exec" };
	for (int k = 0; k < 2; k++) {
		json_t *m, *c = container(pod, names[k]);
		int mounts = 0;
		json_array_foreach(json_object_get(c, "volumeMounts"), i, m)
		{
			const char *n = json_string_value(json_object_get(m, "name"));
			const char *at = json_string_value(json_object_get(m, "mountPath"));
			if (!strcmp(n, "workspace"))
				assert_string_equal(at, "/workspace"), mounts |= 1;
			else if (!strcmp(n, "control"))
				assert_string_equal(at, "/run/plue"), mounts |= 2;
			else if (!strcmp(at, "/tmp"))
				assert_string_equal(n, k == 0 ? "runner-tmp" : "exec-tmp"),
					mounts |= 4;
			else
				fail_msg("unexpected mount %s", n);
		}
		assert_int_equal(mounts, 7);
	}
	json_decref(pod);
}

static void test_pod_labels(void **state)
{
	struct k8s_runner_pod p = base();
	json_t *pod = k8s_runner_pod_json(&p);
	json_t *l = path(pod, "metadata.labels");
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/name")),
			    "plue-runner");
	assert_string_equal(json_string_value(json_object_get(l, "app.kubernetes.io/part-of")),
			    "plue");
	assert_string_equal(json_string_value(json_object_get(l, "plue.dev/pool")), "standby");
	assert_null(json_object_get(l, "plue.dev/workload"));
	json_decref(pod);
	p.pool = K8S_POOL_COLD;
	p.workload = 42;
	pod = k8s_runner_pod_json(&p);
	l = path(pod, "metadata.labels");
	assert_string_equal(json_string_value(json_object_get(l, "plue.dev/pool")), "cold");
	assert_string_equal(json_string_value(json_object_get(l, "plue.dev/workload")), "42");
	struct k8s_pod_state s;
	k8s_pod_state(&s, pod);
	assert_string_equal(s.name, p.name);
	assert_string_equal(s.pool, "cold");
	assert_int_equal(s.workload, 42);
	assert_false(s.deleting);
	json_decref(pod);

	char *n = k8s_runner_pod_name(K8S_POOL_COLD);
	assert_int_equal(strncmp(n, "plue-runner-c-", 14), 0);
	p = base();
	p.name = n;
	struct err e = { 0 };
	assert_int_equal(k8s_runner_pod_check(&p, &e), 0);
	free(n);
}

static void test_pod_state(void **state)
{
	json_t *pod = json_loads(
		"{\"metadata\":{\"name\":\"p\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
		"\"labels\":{\"plue.dev/pool\":\"cold\",\"plue.dev/workload\":\"7\"}},"
		"\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\","
		"\"status\":\"True\"},{\"type\":\"DisruptionTarget\",\"status\":\"True\","
		"\"reason\":\"DeletionByTaintManager\",\"message\":\"node gone\"}]}}",
		0, NULL);
	assert_non_null(pod);
	struct k8s_pod_state s;
	k8s_pod_state(&s, pod);
	assert_string_equal(s.name, "p");
	assert_string_equal(s.pool, "cold");
	assert_int_equal(s.workload, 7);
	assert_string_equal(s.phase, "Running");
	assert_true(s.deleting);
	assert_string_equal(s.disruption, "DeletionByTaintManager");
	assert_string_equal(s.disruption_message, "node gone");
	assert_string_equal(s.reason, "");
	json_decref(pod);
	/* a condition that is not True says nothing */
	pod = json_loads("{\"metadata\":{\"name\":\"q\"},\"status\":{\"phase\":\"Failed\","
			 "\"reason\":\"Evicted\",\"conditions\":[{\"type\":\"DisruptionTarget\","
			 "\"status\":\"False\",\"reason\":\"PreemptionByScheduler\"}]}}",
			 0, NULL);
	assert_non_null(pod);
	k8s_pod_state(&s, pod);
	assert_string_equal(s.disruption, "");
	assert_string_equal(s.reason, "Evicted");
	assert_false(s.deleting);
	assert_int_equal(s.workload, 0);
	json_decref(pod);
}

static void test_quantities(void **state)
{
	const char *good[] = { "1", "500m", "2Gi", "1.5", "10G", "128974848", "129e6", "0.5Ki", NULL };
	const char *bad[] = { "", "Gi", "2 Gi", "2gb", "-", "1x", "e6", "1Ki2", NULL };
	for (const char **g = good; *g; g++)
		assert_true(k8s_quantity_valid(*g));
	for (const char **b = bad; *b; b++)
		if (k8s_quantity_valid(*b))
			fail_msg("'%s' taken for a quantity", *b);
}

static void test_settings_refused(void **state)
{
	struct err e = { 0 };
	struct k8s_runner_pod p = base();
	p.memory = "4 GB";
	assert_int_equal(k8s_runner_pod_check(&p, &e), ERR_INVALID);
	assert_string_equal(
		e.msg,
		"--k8s-runner-memory: '4 GB' is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)");
	p = base();
	p.image = "";
	e = (struct err){ 0 };
	assert_int_equal(k8s_runner_pod_check(&p, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "--k8s-runner-image"));
	p = base();
	p.server_url = "";
	e = (struct err){ 0 };
	assert_int_equal(k8s_runner_pod_check(&p, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "--k8s-runner-url"));
	p = base();
	p.deadline_s = 0;
	e = (struct err){ 0 };
	assert_int_equal(k8s_runner_pod_check(&p, &e), ERR_INVALID);
	assert_non_null(strstr(e.msg, "--k8s-runner-deadline"));
	p = base();
	p.name = "Plue_Runner";
	e = (struct err){ 0 };
	assert_int_equal(k8s_runner_pod_check(&p, &e), ERR_INVALID);
	p = base();
	e = (struct err){ 0 };
	assert_int_equal(k8s_runner_pod_check(&p, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pod_security),
		cmocka_unit_test(test_pod_secret_only_in_runner),
		cmocka_unit_test(test_pod_volumes),
		cmocka_unit_test(test_pod_labels),
		cmocka_unit_test(test_pod_state),
		cmocka_unit_test(test_quantities),
		cmocka_unit_test(test_settings_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
