/* k8s.h — a Kubernetes REST client on libcurl: just what the pool keeper
 * needs (create, get, list, delete and watch of namespaced objects), with
 * no kubectl at run time.
 *
 * Configuration, k8s_open:
 *   - in the cluster (kubeconfig NULL or ""): the API server from
 *     KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, the bearer token
 *     from /var/run/secrets/kubernetes.io/serviceaccount/token (read again
 *     on each request: the kubelet rotates it), its CA from ca.crt beside
 *     it, the namespace from the file namespace beside it (the tests, which
 *     cannot write there, name another directory in PLUE_K8S_SA_DIR);
 *   - from a kubeconfig file: its current-context's cluster (server,
 *     certificate-authority or certificate-authority-data,
 *     insecure-skip-tls-verify), user (token, tokenFile,
 *     client-certificate[-data] and client-key[-data]) and namespace.
 *     Relative file names are relative to the kubeconfig's directory; a
 *     user whose credentials come from a plugin (exec, auth-provider) is
 *     refused at k8s_open.
 * The namespace given to k8s_open, when not NULL, wins over both.
 *
 * Paths are the API's own, relative to the server, and built by the
 * caller: "/api/v1/namespaces/NS/pods", ".../pods/NAME". Objects are
 * jansson values. A request that fails for a transient reason (connection
 * refused or reset, 429, 5xx) is retried with a growing, jittered delay up
 * to about 10 s in all; each failure is logged once with the method, the
 * path, the status and the API's own message (a Status object's
 * `message`; never the token), and each attempt is counted in the
 * plue_k8s_requests_total metric by verb and outcome. A request other than
 * a watch gives up after 30 s.
 *
 * Errors map to err.h classes: 404 ERR_NOTFOUND, 409 AlreadyExists
 * ERR_EXISTS, other 409 ERR_CONFLICT, 400/422 ERR_INVALID, 401 ERR_AUTH,
 * 403 ERR_PERM, 410 ERR_CONFLICT with slug "gone", anything else
 * ERR_UNAVAILABLE; e->msg carries the API's message.
 *
 * Threading: a struct k8s may be used from several threads at once (each
 * call makes its own curl handle). */
#ifndef PLUE_K8S_H
#define PLUE_K8S_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"

struct k8s;

/* Opens a client from kubeconfig (NULL or "": in-cluster). namespace:
 * NULL for the configuration's. 0, or an error with why in e. */
int k8s_open(struct k8s **out, const char *kubeconfig, const char *namespace, struct err *e);
void k8s_close(struct k8s *k);
/* The namespace calls are made in ("default" when nothing names one). */
const char *k8s_namespace(const struct k8s *k);
/* The API server's URL, for logs. */
const char *k8s_server(const struct k8s *k);

/* POST obj to path (a collection); *out (may be NULL) receives the created
 * object, which the caller frees. */
int k8s_create(struct k8s *k, const char *path, json_t *obj, json_t **out, struct err *e);
/* GET path (one object); *out is the caller's. */
int k8s_get(struct k8s *k, const char *path, json_t **out, struct err *e);
/* GET path (a collection) with an optional label selector ("a=b,c");
 * *out is the List object (items, metadata.resourceVersion). */
int k8s_list(struct k8s *k, const char *path, const char *label_selector, json_t **out,
	     struct err *e);
/* DELETE path with the given grace period in seconds (-1: the object's
 * own). A 404 is success: the object is gone either way. */
int k8s_delete(struct k8s *k, const char *path, int grace_seconds, struct err *e);

/* A watch of a collection: k8s_watch lists it, hands every item to on_sync
 * (type "SYNC", once per item, then once with obj NULL to say the list is
 * complete: anything not named since the previous sync is gone), then
 * streams ?watch=1&resourceVersion=RV&allowWatchBookmarks=true and hands
 * each ADDED, MODIFIED and DELETED to on_event, keeping the resourceVersion
 * of the last event or BOOKMARK. A dropped stream is resumed from that
 * version after a short delay (growing while the server stays away); a
 * 410 Gone — the HTTP status or an ERROR event carrying it — starts over
 * with a fresh list; each restart is counted in
 * plue_k8s_watch_restarts_total by reason (gone, closed, error). A server
 * that stays away (connection refused, 5xx) is waited for, not reported.
 * Returns 0 when *stop becomes true (checked every 100 ms, also while the
 * stream is idle or the watch waits to resume) or on_event returns
 * nonzero; an error when a request fails for a reason waiting cannot cure
 * (401, 403, 404, 400: the path, selector or credentials are wrong). */
struct k8s_watch_ops {
	/* type: "SYNC" (obj NULL: the list is complete), "ADDED",
	 * "MODIFIED", "DELETED". obj is borrowed. Nonzero stops the watch. */
	int (*on_event)(void *ctx, const char *type, json_t *obj);
	void *ctx;
};
int k8s_watch(struct k8s *k, const char *path, const char *label_selector,
	      const struct k8s_watch_ops *ops, const volatile bool *stop, struct err *e);

#endif
