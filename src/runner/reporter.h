/* reporter.h — a workload's outgoing event stream. Events are numbered
 * (from the claim's seq_start), queued, and posted in batches by a thread
 * (every BATCH_MS or BATCH_MAX events, whichever comes first; step
 * boundaries and the first line of a step go at once). A batch
 * that fails is posted again with the same numbers, so the server stores
 * it once. Replies and a cancel watch (a long-poll of its own) tell the
 * workload to stop. Once given the workload's secrets (reporter_mask),
 * it masks every string it sends: each string inside each event's
 * payload, and the completion's reason, so no caller can forget one. */
#ifndef PLUE_RUNNER_REPORTER_H
#define PLUE_RUNNER_REPORTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define REPORTER_BATCH_MS 50
#define REPORTER_BATCH_MAX 100

struct reporter;

/* Starts the poster and the watch for workload_id on server_url. Once
 * *abandon turns true (the runner gives the workload up: its server has
 * been away too long, or it was told twice to stop) the workload counts as
 * cancelled and flush and complete return at once. */
struct reporter *reporter_start(const char *server_url, int64_t workload_id, const char *token,
				int64_t seq_start, const volatile bool *abandon);
/* Builds the mask of secrets (an object name → value, borrowed for the
 * call; see secret_mask_new in queue/secrets.h): every string of every
 * event queued afterwards, and the completion's reason, goes out masked.
 * Call once, before the first reporter_add. */
void reporter_mask(struct reporter *r, json_t *secrets);
/* Queues an event, masking every string of payload first; steals
 * payload. Any thread. */
void reporter_add(struct reporter *r, const char *type, json_t *payload);
/* True once the server said the workload is cancelled, or it was abandoned. */
bool reporter_cancelled(struct reporter *r);
/* Waits until everything queued is stored (or give_up_ms passed, or the
 * workload was abandoned); true when it all went out. */
bool reporter_flush(struct reporter *r, int64_t give_up_ms);
/* Posts the completion ({result, exit_code, reason}), retrying until the
 * server answers, give_up_ms pass or the workload is abandoned. True when
 * it was accepted. */
bool reporter_complete(struct reporter *r, const char *result, int exit_code, const char *reason,
		       int64_t give_up_ms);
/* Stops the threads and frees r. */
void reporter_free(struct reporter *r);

#endif
