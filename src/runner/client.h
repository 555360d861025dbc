/* client.h — the runner's HTTP client for the runner protocol: JSON POSTs
 * to the server with a bearer token, over libcurl. One client per thread
 * (it keeps its connection alive between calls). */
#ifndef PLUE_RUNNER_CLIENT_H
#define PLUE_RUNNER_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

struct client;

/* A client for base_url ("http://127.0.0.1:4000"). stop (may be NULL) is
 * polled during transfers: when *stop becomes true the call is aborted. */
struct client *client_new(const char *base_url, const volatile bool *stop);
void client_free(struct client *c);

/* POSTs body (may be NULL: {}) to base_url + path with "Authorization:
 * Bearer token" (token may be NULL) and waits at most timeout_ms. Returns
 * the HTTP status (*reply: the parsed JSON body, new reference, or NULL),
 * or -1 when the server could not be reached or the call was aborted
 * (*reply NULL). */
int client_post(struct client *c, const char *path, const char *token, json_t *body,
		long timeout_ms, json_t **reply);

#endif
