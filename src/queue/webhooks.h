/* webhooks.h — outgoing webhooks: the fan-out from the events outbox to
 * per-hook deliveries, and the delivery workers that POST them.
 *
 * Flow. A trigger on `events` queues every event of a repository that has
 * an active hook into webhook_queue (same transaction as the event). The
 * fan-out thread (its own connection, LISTEN plue_events and
 * plue_webhooks, plus a periodic scan) takes queued events in id order,
 * builds the GitHub-shaped payload once per event and inserts one
 * webhook_deliveries row per active hook that wants it, deleting the queue
 * row in the same transaction: restart-safe, each event fanned out once.
 *
 * Delivery. WEBHOOK_WORKERS threads, each with its own connection, claim
 * the oldest due pending delivery whose hook has no older pending one
 * (FOR UPDATE SKIP LOCKED, the row lock held during the attempt), so a
 * hook's deliveries are attempted strictly in order and a delivery waiting
 * for a retry holds back the later ones of its hook. An attempt resolves
 * the URL's host itself, refuses loopback, link-local (the metadata
 * address), private, CGNAT, unspecified, multicast and reserved addresses
 * unless inside cfg.webhook_allow_nets, and pins libcurl to the checked
 * address; no redirects, a time cap (cfg.webhook_timeout_ms) and a cap on
 * the response kept (WEBHOOK_MAX_RESPONSE) and read. A 2xx answer
 * delivers; anything else is retried after cfg.webhook_retry_base_ms ×
 * 3^(attempt-1) (capped at one hour) until WEBHOOK_MAX_ATTEMPTS; a refused
 * address fails at once. Each attempt's request and response replace the
 * row's log columns.
 *
 * Replicas: every `plue serve` runs the fan-out and the workers. The
 * fan-out takes the transaction-level advisory lock 7270008 first, so one
 * replica fans out at a time, in event order, and deletes the queue row
 * it fanned out in the same transaction; a delivery is claimed with FOR
 * UPDATE SKIP LOCKED and stays row-locked through its attempt, and the
 * "no older pending delivery of its hook" test reads those locked rows,
 * so each attempt is made by one worker of one replica and a hook's order
 * holds across replicas. The fan-out wakes its own replica's workers at
 * once; the other replicas' workers see new deliveries at their next scan
 * (IDLE_WAIT_MS).
 *
 * Threading: every function here may be called from any thread. */
#ifndef PLUE_QUEUE_WEBHOOKS_H
#define PLUE_QUEUE_WEBHOOKS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

#define WEBHOOK_WORKERS 4
#define WEBHOOK_MAX_ATTEMPTS 6
#define WEBHOOK_MAX_RESPONSE (64 * 1024) /* response body bytes kept */
#define WEBHOOK_MAX_READ (1024 * 1024)   /* response bytes read before giving up */
#define WEBHOOK_URL_MAX 2048

/* Starts the fan-out thread and the delivery workers. 0 or -1. */
int webhooks_start(void);
/* Stops them; attempts in flight finish first (at most the timeout). */
void webhooks_stop(void);
/* Wakes the workers (after a delivery row was committed in this process). */
void webhooks_wake(void);

/* Whether name is an event a hook may ask for (push, pull_request,
 * pull_request_review, issues, issue_comment, workflow_run, or "*"). */
bool webhook_event_valid(const char *name);

/* Checks a hook URL at creation: http or https, a host, at most
 * WEBHOOK_URL_MAX bytes, no fragment; a host that is a literal IP address
 * in a refused range (and not allowed by cfg.webhook_allow_nets) is
 * refused too. Names are only resolved at delivery. 0 or ERR_INVALID with
 * code "invalid_url" and a message quoting the URL. */
int webhook_url_check(const char *url, struct err *e);

/* Parses cfg.webhook_allow_nets (a comma-separated list of at most 64
 * CIDRs, IPv4 or IPv6) and keeps it for the address checks of hook URLs
 * and deliveries; webhooks_start calls it. 0, or -1 with a message in e. */
int webhook_allow_nets_check(struct err *e);

/* Inserts a `ping` delivery for hook_id (inside the caller's transaction;
 * call webhooks_wake after the commit). 0 or ERR_*. */
int webhooks_ping(PGconn *db, struct arena *a, struct err *e, int64_t hook_id);

/* Queues a new delivery of delivery_id's payload (same event, a new
 * guid), at the end of its hook's order. *out: the new delivery's id.
 * ERR_NOTFOUND when hook_id has no such delivery. */
int webhooks_redeliver(PGconn *db, struct arena *a, struct err *e, int64_t hook_id,
		       int64_t delivery_id, int64_t *out);

/* Writes the `workflow_run` outbox event of a run that just finished
 * (inside the caller's transaction): {action: "completed", run_id,
 * conclusion}. 0 or ERR_*. */
int webhooks_run_event(PGconn *db, struct arena *a, struct err *e, int64_t run_id,
		       const char *conclusion);

#endif
