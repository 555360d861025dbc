/* pool.h — the warm pool of standby runners kept by `plue serve`: child
 * processes (PLUE_RUNNER_MODE=local, pool.c) or runner pods
 * (PLUE_RUNNER_MODE=kubernetes, pool_k8s.c). */
#ifndef PLUE_QUEUE_POOL_H
#define PLUE_QUEUE_POOL_H

#include "base/err.h"

/* Keeps size `plue runner --standby` children alive, pointed at url (the
 * server as the runners reach it). 0 or -1. */
int pool_start(int size, const char *url);
/* SIGTERMs the children and waits briefly for the idle ones; busy ones
 * finish their workload on their own. */
void pool_stop(void);

/* ---- kubernetes mode (pool_k8s.c) ---- */

/* Starts the Kubernetes pool keeper from the k8s options in cfg: checks
 * them and opens the client (ERR_INVALID or ERR_UNAVAILABLE with why in e,
 * nothing started), then keeps, while this server holds the keeper's
 * PostgreSQL advisory lock (one keeper among the replicas; the others
 * wait and take over), warm standby runner pods alive, a pod per waiting
 * workload when no idle runner can take it, and notices pods that die
 * with a workload (their runner is declared dead at once; see
 * reaper_runner_lost). */
int pool_k8s_start(int warm, struct err *e);
/* Stops the keeper; the pods stay (a keeper that takes over adopts them). */
void pool_k8s_stop(void);

#endif
