/* config.h — where the Kubernetes client finds its API server and its
 * credentials (internal to src/k8s; k8s_open is the public face).
 *
 * Two sources, as client-go has them:
 *   - in the cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT,
 *     and the service account's directory (token, ca.crt, namespace);
 *   - a kubeconfig file: its current-context names a cluster, a user and
 *     maybe a namespace. Files a kubeconfig names by a relative path are
 *     relative to the kubeconfig's own directory, as kubectl reads them.
 *     Credential plugins (user.exec, user.auth-provider) are refused: Plue
 *     runs no helper programs to get a token.
 * Certificates and keys are read into memory (the *-data fields are base64
 * of the PEM) and handed to libcurl as blobs; only the bearer token is read
 * again on each request when it comes from a file (the kubelet rotates a
 * projected service-account token about hourly). */
#ifndef PLUE_K8S_CONFIG_H
#define PLUE_K8S_CONFIG_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/err.h"

/* The service account's files in a pod. PLUE_K8S_SA_DIR overrides it for
 * the tests only, which cannot write there. */
#define K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct k8s_config {
	char *server;     /* "https://host:port", no trailing slash */
	char *namespace;  /* NULL when the source names none */
	struct buf ca;    /* PEM; empty: the system's trust store */
	bool insecure;    /* insecure-skip-tls-verify */
	char *token;      /* a fixed bearer token, or NULL */
	char *token_file; /* else a file holding it (read per request), or NULL */
	struct buf cert;  /* client certificate PEM, or empty */
	struct buf key;   /* its private key PEM, or empty */
};

/* Fills out from the pod's environment and service-account directory.
 * 0, or ERR_INVALID (not in a cluster, a file missing) with why in e. */
int k8s_config_incluster(struct k8s_config *out, struct err *e);
/* Fills out from the kubeconfig at path. 0, or ERR_INVALID/ERR_NOTFOUND
 * with the file, the field and why in e. */
int k8s_config_load(struct k8s_config *out, const char *path, struct err *e);
/* Reads the bearer token (c->token, else c->token_file with surrounding
 * whitespace dropped) into *out, the caller's to wipe and free; *out is
 * NULL when c has none. 0, or ERR_AUTH when the file cannot be read. */
int k8s_config_token(const struct k8s_config *c, char **out, struct err *e);
/* Frees what c holds (secrets wiped first); NULL-safe. */
void k8s_config_release(struct k8s_config *c);

#endif
