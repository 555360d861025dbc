/* pool.h — the local warm pool of standby runners kept by `plue serve`
 * (PLUE_RUNNER_MODE=local). */
#ifndef PLUE_QUEUE_POOL_H
#define PLUE_QUEUE_POOL_H

/* Keeps size `plue runner --standby` children alive, pointed at url (the
 * server as the runners reach it). 0 or -1. */
int pool_start(int size, const char *url);
/* SIGTERMs the children and waits briefly for the idle ones; busy ones
 * finish their workload on their own. */
void pool_stop(void);

#endif
