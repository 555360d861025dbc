/* pods.c — builds the runner Pod (pods.h): the sandbox of one workload on
 * Kubernetes. The pool keeper (queue/pool_k8s.c) creates one per standby
 * slot or waiting workload and deletes it after its one workload.
 *
 * Two containers, one image:
 *   runner — `plue runner`: registers with the registration secret (its
 *            environment, from the Secret plue-runner), claims, checks the
 *            commit out into /workspace with the task token (in the
 *            environment of its own git processes only), reports events.
 *   exec   — `plue execd --socket /run/plue/execd.sock`: runs each step
 *            for the runner (runner/sandbox_pod.c). It has no secret in its
 *            environment, no service-account token, and cannot see the
 *            runner's processes (the containers of a pod do not share a PID
 *            namespace: shareProcessNamespace stays false), so a step can
 *            read neither the registration secret nor the runner's or task
 *            token: not from an environment, a /proc entry, a file or a
 *            ptrace.
 * Shared: `workspace` (emptyDir with a sizeLimit, /workspace in both) and
 * `control` (emptyDir in memory, /run/plue in both: execd's socket). Each
 * container also has a /tmp of its own (an emptyDir), since their roots
 * are read-only: the runner's holds its state (PLUE_DATA_DIR) and checkout
 * cache, the exec container's is the steps' HOME and scratch space.
 *
 * What each security field buys:
 *   runtimeClassName gvisor     the pod runs on gVisor's user-space kernel:
 *                               a kernel bug reachable from a step is
 *                               gVisor's, not the node's
 *   runAsNonRoot, runAsUser/
 *   runAsGroup 1000, fsGroup    nothing runs as root, even inside gVisor;
 *                               the volumes belong to that group
 *   seccompProfile RuntimeDefault  the runtime's system-call filter
 *   allowPrivilegeEscalation false  no_new_privs: no setuid binary or file
 *                               capability raises a process's privileges
 *   capabilities drop ALL       no capability at all, not even the
 *                               runtime's default set
 *   readOnlyRootFilesystem      a step cannot change the image's programs
 *                               for later steps or the runner; writes go
 *                               to the sized volumes only
 *   resources requests = limits cpu, memory, ephemeral-storage: a workload
 *                               cannot starve the node or its neighbours
 *                               (and the pod is Guaranteed QoS: evicted
 *                               last)
 *   workspace sizeLimit         a step filling the disk gets its pod
 *                               evicted, not the node's disk full
 *   automountServiceAccountToken false  no Kubernetes credentials inside
 *   enableServiceLinks false    no environment variables naming the
 *                               cluster's services
 *   activeDeadlineSeconds       a pod that hangs is ended by Kubernetes
 *                               even if the keeper is gone
 *   restartPolicy Never         one workload per pod: a pod that ended is
 *                               deleted and replaced, never reused
 *   terminationGracePeriodSeconds  time for a runner to report before it
 *                               is killed when its pod is deleted
 * Egress is the namespace's NetworkPolicy's (server and DNS only), and
 * Pod Security "restricted" on the namespace refuses a pod missing any of
 * the above. On GKE Sandbox the RuntimeClass itself carries the node
 * selector and toleration of the gVisor node pool. */
#include "k8s/pods.h"

#include "base/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The runner container's own needs (git, the reporter): small and fixed;
 * what is configurable is the steps'. */
#define RUNNER_CPU "250m"
#define RUNNER_MEMORY "512Mi"
#define RUNNER_STORAGE "2Gi"
#define RUNNER_TMP_SIZE "1Gi"
#define EXEC_TMP_SIZE "1Gi"
#define CONTROL_SIZE "1Mi"

char *k8s_runner_pod_name(const char *pool)
{
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "plue-runner-%c-", pool && *pool ? pool[0] : 'x');
	return random_token(prefix, 6);
}

bool k8s_quantity_valid(const char *s)
{
	if (!s || !*s || strlen(s) > 63)
		return false;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t digits = 0;
	while (isdigit((unsigned char)*p))
		p++, digits++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++, digits++;
	}
	if (!digits)
		return false;
	if (!*p)
		return true;
	static const char *const suffixes[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u",
						"m",  "k",  "M",  "G",  "T",  "P",  "E", NULL };
	for (const char *const *x = suffixes; *x; x++)
		if (!strcmp(p, *x))
			return true;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		return !*p;
	}
	return false;
}

/* A DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both
 * ends, at most 63 characters. */
static bool dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

int k8s_runner_pod_check(const struct k8s_runner_pod *p, struct err *e)
{
	const struct {
		const char *flag, *value;
	} qs[] = {
		{ "--k8s-runner-cpu", p->cpu },
		{ "--k8s-runner-memory", p->memory },
		{ "--k8s-runner-storage", p->storage },
		{ "--k8s-runner-workspace", p->workspace_size },
	};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		if (!k8s_quantity_valid(qs[i].value) || qs[i].value[0] == '-')
			return err_set(e, ERR_INVALID, "invalid_setting",
				       "%s: '%.40s' is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)",
				       qs[i].flag, qs[i].value ? qs[i].value : "");
	if (!p->image || !*p->image || strpbrk(p->image, " \t\n"))
		return err_set(e, ERR_INVALID, "invalid_setting",
			       "--k8s-runner-image: the runner image is missing or has a blank "
			       "(e.g. registry.example/plue-runner:1.0)");
	if (!p->server_url ||
	    (strncmp(p->server_url, "http://", 7) && strncmp(p->server_url, "https://", 8)))
		return err_set(e, ERR_INVALID, "invalid_setting",
			       "--k8s-runner-url: '%.100s' is not an http(s) URL of the server as "
			       "runner pods reach it",
			       p->server_url ? p->server_url : "");
	if (p->deadline_s <= 0)
		return err_set(e, ERR_INVALID, "invalid_setting",
			       "--k8s-runner-deadline must be a positive number of seconds");
	if (!dns_label(p->name))
		return err_set(e, ERR_INVALID, "invalid_setting",
			       "pod name '%.80s' is not a DNS-1123 label", p->name ? p->name : "");
	if (!p->pool || (strcmp(p->pool, K8S_POOL_STANDBY) && strcmp(p->pool, K8S_POOL_COLD)))
		return err_set(e, ERR_INVALID, "invalid_setting", "unknown pool '%.40s'",
			       p->pool ? p->pool : "");
	return 0;
}

static json_t *resources(const char *cpu, const char *memory, const char *storage)
{
	/* requests = limits: Guaranteed, and no bursting into neighbours */
	return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "requests", "cpu", cpu, "memory",
			 memory, "ephemeral-storage", storage, "limits", "cpu", cpu, "memory",
			 memory, "ephemeral-storage", storage);
}

static json_t *container_security(void)
{
	return json_pack("{s:b, s:b, s:b, s:i, s:i, s:{s:[s]}, s:{s:s}}",
			 "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1, "runAsNonRoot",
			 1, "runAsUser", K8S_RUNNER_UID, "runAsGroup", K8S_RUNNER_UID,
			 "capabilities", "drop", "ALL", "seccompProfile", "type", "RuntimeDefault");
}

static json_t *mount(const char *name, const char *path)
{
	return json_pack("{s:s, s:s}", "name", name, "mountPath", path);
}

static json_t *env(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

json_t *k8s_runner_pod_json(const struct k8s_runner_pod *p)
{
	json_t *labels = json_pack("{s:s, s:s, s:s}", K8S_LABEL_NAME, K8S_RUNNER_APP,
				   K8S_LABEL_PART_OF, "plue", K8S_LABEL_POOL, p->pool);
	if (p->workload > 0) {
		char w[32];
		snprintf(w, sizeof(w), "%lld", (long long)p->workload);
		json_object_set_new(labels, K8S_LABEL_WORKLOAD, json_string(w));
	}

	/* the runner: the only holder of a secret */
	json_t *runner_env = json_array();
	json_array_append_new(runner_env, env("PLUE_SERVER_URL", p->server_url));
	json_array_append_new(runner_env,
			      json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", "PLUE_RUNNER_SECRET",
					"valueFrom", "secretKeyRef", "name", K8S_RUNNER_SECRET,
					"key", K8S_RUNNER_SECRET_KEY));
	/* registers under the pod's name: the keeper maps pods to runners */
	json_array_append_new(runner_env,
			      json_pack("{s:s, s:{s:{s:s}}}", "name", "PLUE_RUNNER_NAME",
					"valueFrom", "fieldRef", "fieldPath", "metadata.name"));
	json_array_append_new(runner_env, env("PLUE_SANDBOX", "pod"));
	json_array_append_new(runner_env, env("PLUE_DATA_DIR", "/tmp/plue"));
	json_array_append_new(runner_env, env("PLUE_EXECD_SOCKET", "/run/plue/execd.sock"));
	json_array_append_new(runner_env, env("HOME", "/tmp"));
	json_t *runner = json_pack("{s:s, s:s, s:s, s:[s,s], s:o, s:o, s:o, s:[o,o,o]}", "name",
				   "runner", "image", p->image, "imagePullPolicy", "IfNotPresent",
				   "command", "plue", "runner", "env", runner_env, "resources",
				   resources(RUNNER_CPU, RUNNER_MEMORY, RUNNER_STORAGE),
				   "securityContext", container_security(), "volumeMounts",
				   mount("workspace", "/workspace"), mount("control", "/run/plue"),
				   mount("runner-tmp", "/tmp"));

	/* the steps: nothing secret in its environment */
	json_t *exec = json_pack("{s:s, s:s, s:s, s:[s,s,s,s], s:[o,o], s:o, s:o, s:[o,o,o]}",
				 "name", "exec", "image", p->image, "imagePullPolicy",
				 "IfNotPresent", "command", "plue", "execd", "--socket",
				 "/run/plue/execd.sock", "env", env("HOME", "/tmp"),
				 env("PLUE_LOG_LEVEL", "info"), "resources",
				 resources(p->cpu, p->memory, p->storage), "securityContext",
				 container_security(), "volumeMounts",
				 mount("workspace", "/workspace"), mount("control", "/run/plue"),
				 mount("exec-tmp", "/tmp"));

	json_t *volumes = json_pack(
		"[{s:s, s:{s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:{s:s}}, {s:s, s:{s:s}}]", "name",
		"workspace", "emptyDir", "sizeLimit", p->workspace_size, "name", "control",
		"emptyDir", "medium", "Memory", "sizeLimit", CONTROL_SIZE, "name", "runner-tmp",
		"emptyDir", "sizeLimit", RUNNER_TMP_SIZE, "name", "exec-tmp", "emptyDir",
		"sizeLimit", EXEC_TMP_SIZE);

	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:o},"
				" s:{s:s, s:s, s:b, s:b, s:b, s:I, s:i,"
				"    s:{s:b, s:i, s:i, s:i, s:{s:s}}, s:[o,o], s:o}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "name", p->name,
				"labels", labels, "spec", "runtimeClassName", "gvisor",
				"restartPolicy", "Never", "automountServiceAccountToken", 0,
				"enableServiceLinks", 0, "shareProcessNamespace", 0,
				"activeDeadlineSeconds", (json_int_t)p->deadline_s,
				"terminationGracePeriodSeconds", p->grace_s > 0 ? p->grace_s : 30,
				"securityContext", "runAsNonRoot", 1, "runAsUser", K8S_RUNNER_UID,
				"runAsGroup", K8S_RUNNER_UID, "fsGroup", K8S_RUNNER_UID,
				"seccompProfile", "type", "RuntimeDefault", "containers", runner,
				exec, "volumes", volumes);
	if (!pod)
		die("cannot build the runner pod");
	return pod;
}

static const char *str_at(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v) ?: "";
}

void k8s_pod_state(struct k8s_pod_state *out, json_t *pod)
{
	json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	out->name = str_at(pod, "metadata", "name", NULL);
	out->pool = json_string_value(json_object_get(labels, K8S_LABEL_POOL)) ?: "";
	const char *w = json_string_value(json_object_get(labels, K8S_LABEL_WORKLOAD));
	out->workload = w ? strtoll(w, NULL, 10) : 0;
	out->phase = str_at(pod, "status", "phase", NULL);
	out->reason = str_at(pod, "status", "reason", NULL);
	out->message = str_at(pod, "status", "message", NULL);
	out->deleting = json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") !=
			NULL;
	out->disruption = out->disruption_message = "";
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", "DisruptionTarget") ||
		    strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True"))
			continue;
		out->disruption = json_string_value(json_object_get(c, "reason")) ?: "";
		out->disruption_message = json_string_value(json_object_get(c, "message")) ?: "";
	}
}
