/* pods.h — the runner Pod the pool keeper creates (queue/pool_k8s.c): one
 * pod per workload, two containers, every security field set. pods.c says
 * why each field is there. Pure functions: no I/O, unit-tested. */
#ifndef PLUE_K8S_PODS_H
#define PLUE_K8S_PODS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

/* The fixed names every part of the deployment uses. */
#define K8S_RUNNER_NAMESPACE "plue-runners"
#define K8S_LABEL_NAME "app.kubernetes.io/name"
#define K8S_LABEL_PART_OF "app.kubernetes.io/part-of"
#define K8S_LABEL_POOL "plue.dev/pool"
#define K8S_LABEL_WORKLOAD "plue.dev/workload"
#define K8S_RUNNER_APP "plue-runner"
#define K8S_POOL_STANDBY "standby"
#define K8S_POOL_COLD "cold"
/* The selector of every runner pod (lists and watches). */
#define K8S_RUNNER_SELECTOR K8S_LABEL_NAME "=" K8S_RUNNER_APP "," K8S_LABEL_PART_OF "=plue"
/* The Secret and key holding the registration secret. */
#define K8S_RUNNER_SECRET "plue-runner"
#define K8S_RUNNER_SECRET_KEY "registration-secret"
/* The user and group both containers run as. */
#define K8S_RUNNER_UID 1000

/* What a runner pod is made of; strings are borrowed. */
struct k8s_runner_pod {
	const char *name;       /* metadata.name (k8s_runner_pod_name) */
	const char *pool;       /* K8S_POOL_STANDBY or K8S_POOL_COLD */
	int64_t workload;       /* cold: the workload it is made for (a label); else 0 */
	const char *image;      /* the runner image (both containers) */
	const char *server_url; /* the server as pods reach it: PLUE_SERVER_URL */
	/* the exec container's (the steps') requests = limits, Kubernetes
	 * quantities ("2", "500m", "4Gi") */
	const char *cpu, *memory, *storage;
	const char *workspace_size; /* the workspace emptyDir's sizeLimit */
	int deadline_s;             /* activeDeadlineSeconds */
	int grace_s;                /* terminationGracePeriodSeconds */
};

/* A fresh name: "plue-runner-" + the pool's initial + random hex
 * (DNS-1123, 26 characters). Caller frees. */
char *k8s_runner_pod_name(const char *pool);

/* Checks p (names, quantities, image, URL, durations): 0, or ERR_INVALID
 * with a message naming the option (slug "invalid_setting"). */
int k8s_runner_pod_check(const struct k8s_runner_pod *p, struct err *e);

/* The Pod object (apiVersion v1) for p, which k8s_runner_pod_check
 * accepted; the caller owns it. */
json_t *k8s_runner_pod_json(const struct k8s_runner_pod *p);

/* True when s is a Kubernetes resource quantity: a decimal number with an
 * optional binary (Ki..Ei) or decimal (n, u, m, k, M..E) suffix, or an
 * exponent (the API's own grammar). */
bool k8s_quantity_valid(const char *s);

/* Reads a pod object's state for the keeper (all borrowed from pod, or
 * "" when absent). */
struct k8s_pod_state {
	const char *name;
	const char *pool;    /* label plue.dev/pool */
	int64_t workload;    /* label plue.dev/workload, 0 when none */
	const char *phase;   /* Pending | Running | Succeeded | Failed | Unknown */
	const char *reason;  /* status.reason (e.g. "Evicted"), or "" */
	const char *message; /* status.message, or "" */
	/* why Kubernetes is taking the pod away, from its DisruptionTarget
	 * condition when True: EvictionByEvictionAPI, PreemptionByScheduler,
	 * DeletionByTaintManager (its node is gone), DeletionByPodGC,
	 * TerminationByKubelet; "" when none */
	const char *disruption;
	const char *disruption_message;
	bool deleting; /* metadata.deletionTimestamp is set */
};
void k8s_pod_state(struct k8s_pod_state *out, json_t *pod);

#endif
