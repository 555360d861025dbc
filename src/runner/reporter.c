/* reporter.c — batching, numbering and retrying a workload's events (see
 * reporter.h). The poster thread takes up to REPORTER_BATCH_MAX events off
 * the front of the queue and removes them only when the server stored
 * them; until then it retries the same batch with backoff. Masking
 * happens when an event is queued, on the caller's thread, with a mask
 * built once per workload. */
#include "runner/reporter.h"
#include "base/log.h"
#include "base/util.h"
#include "queue/secrets.h"
#include "runner/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POST_TIMEOUT_MS 15000
#define WATCH_TIMEOUT_MS 35000

struct reporter {
	char *url;
	char *token;
	char *events_path, *complete_path, *watch_path;
	int64_t next_seq;
	pthread_mutex_t mu;
	pthread_cond_t cv;            /* poster: work arrived / stop */
	pthread_cond_t idle_cv;       /* flush: queue drained */
	json_t *queue;                /* array of {seq, type, payload} not yet stored */
	struct secret_mask *mask;     /* set before the first event; read-only after */
	int64_t last_post_ms;         /* when the last batch was sent */
	bool urgent;                  /* something queued that a watcher waits for */
	bool quiet_step;              /* no line yet since the last step_start */
	bool cancel;
	const volatile bool *abandon; /* the runner's: give the workload up */
	volatile bool stop;           /* the poster ends */
	volatile bool watch_stop;     /* the watch's long-poll is abandoned */
	bool in_flight;
	pthread_t poster, watcher;
};

static void *poster_main(void *arg)
{
	struct reporter *r = arg;
	struct client *c = client_new(r->url, &r->stop);
	int backoff = 0;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && !json_array_size(r->queue))
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stop && !json_array_size(r->queue))
			break;
		/* step boundaries and a step's first line go at once (they are what a
		 * watcher waits for), and so does anything after a quiet spell; other
		 * lines gather for up to BATCH_MS or until a batch is full */
		while (!r->stop && !r->urgent && json_array_size(r->queue) < REPORTER_BATCH_MAX) {
			int64_t since = now_ms() - r->last_post_ms;
			if (since >= REPORTER_BATCH_MS)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ns = ts.tv_nsec + (REPORTER_BATCH_MS - since) * 1000000;
			ts.tv_sec += ns / 1000000000;
			ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		if (r->stop)
			break;
		size_t n = json_array_size(r->queue);
		if (n > REPORTER_BATCH_MAX * 5)
			n = REPORTER_BATCH_MAX * 5;
		json_t *batch = json_array();
		r->urgent = false;
		for (size_t i = 0; i < n; i++)
			json_array_append(batch, json_array_get(r->queue, i));
		r->in_flight = true;
		r->last_post_ms = now_ms();
		pthread_mutex_unlock(&r->mu);

		json_t *body = json_pack("{s:o}", "events", batch);
		json_t *reply = NULL;
		int st = client_post(c, r->events_path, r->token, body, POST_TIMEOUT_MS, &reply);
		json_decref(body);

		pthread_mutex_lock(&r->mu);
		r->in_flight = false;
		if (st == 200) {
			for (size_t i = 0; i < n; i++)
				json_array_remove(r->queue, 0);
			if (json_is_true(json_object_get(reply, "cancel")))
				r->cancel = true;
			backoff = 0;
			pthread_cond_broadcast(&r->idle_cv);
		} else if (st == 401 || st == 400 || st == 413) {
			/* the token died (the workload was taken away) or the batch is
			 * refused: retrying cannot help */
			log_warn("events refused (HTTP %d); dropping %zu events", st, n);
			for (size_t i = 0; i < n; i++)
				json_array_remove(r->queue, 0);
			if (st == 401)
				r->cancel = true;
			pthread_cond_broadcast(&r->idle_cv);
		} else {
			backoff = backoff ? (backoff * 2 > 2000 ? 2000 : backoff * 2) : 100;
			pthread_mutex_unlock(&r->mu);
			usleep((useconds_t)backoff * 1000);
			pthread_mutex_lock(&r->mu);
		}
		json_decref(reply);
	}
	pthread_mutex_unlock(&r->mu);
	client_free(c);
	return NULL;
}

static void *watcher_main(void *arg)
{
	struct reporter *r = arg;
	struct client *c = client_new(r->url, &r->watch_stop);
	while (!r->watch_stop) {
		json_t *reply = NULL;
		int st = client_post(c, r->watch_path, r->token, NULL, WATCH_TIMEOUT_MS, &reply);
		bool cancel = st == 200 && json_is_true(json_object_get(reply, "cancel"));
		json_decref(reply);
		if (cancel || st == 401) {
			pthread_mutex_lock(&r->mu);
			r->cancel = true;
			pthread_mutex_unlock(&r->mu);
			break;
		}
		if (st != 200 && !r->watch_stop)
			usleep(500 * 1000);
	}
	client_free(c);
	return NULL;
}

struct reporter *reporter_start(const char *server_url, int64_t workload_id, const char *token,
				int64_t seq_start, const volatile bool *abandon)
{
	struct reporter *r = xcalloc(1, sizeof(*r));
	r->url = xstrdup(server_url);
	r->token = xstrdup(token);
	r->events_path = xasprintf("/internal/tasks/%lld/events", (long long)workload_id);
	r->complete_path = xasprintf("/internal/tasks/%lld/complete", (long long)workload_id);
	r->watch_path = xasprintf("/internal/tasks/%lld/watch", (long long)workload_id);
	r->next_seq = seq_start > 0 ? seq_start : 1;
	r->abandon = abandon;
	r->queue = json_array();
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	pthread_cond_init(&r->idle_cv, NULL);
	if (pthread_create(&r->poster, NULL, poster_main, r) ||
	    pthread_create(&r->watcher, NULL, watcher_main, r))
		die("cannot start reporter threads");
	return r;
}

void reporter_mask(struct reporter *r, json_t *secrets)
{
	struct secret_mask *m = secret_mask_new(secrets);
	pthread_mutex_lock(&r->mu);
	secret_mask_free(r->mask);
	r->mask = m;
	pthread_mutex_unlock(&r->mu);
}

void reporter_add(struct reporter *r, const char *type, json_t *payload)
{
	/* the mask is immutable: applying it needs no lock */
	secret_mask_json(r->mask, payload);
	pthread_mutex_lock(&r->mu);
	json_array_append_new(r->queue, json_pack("{s:I,s:s,s:o}", "seq", (json_int_t)r->next_seq++,
						  "type", type, "payload", payload));
	bool line = !strcmp(type, "log");
	if (!line || r->quiet_step)
		r->urgent = true;
	if (!strcmp(type, "step_start"))
		r->quiet_step = true;
	else if (line)
		r->quiet_step = false;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

bool reporter_cancelled(struct reporter *r)
{
	pthread_mutex_lock(&r->mu);
	bool c = r->cancel || (r->abandon && *r->abandon);
	pthread_mutex_unlock(&r->mu);
	return c;
}

bool reporter_flush(struct reporter *r, int64_t give_up_ms)
{
	int64_t end = now_ms() + give_up_ms;
	pthread_mutex_lock(&r->mu);
	pthread_cond_signal(&r->cv);
	while ((json_array_size(r->queue) || r->in_flight) && now_ms() < end &&
	       !(r->abandon && *r->abandon)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&r->idle_cv, &r->mu, &ts);
	}
	bool ok = !json_array_size(r->queue);
	pthread_mutex_unlock(&r->mu);
	return ok;
}

bool reporter_complete(struct reporter *r, const char *result, int exit_code, const char *reason,
		       int64_t give_up_ms)
{
	struct client *c = client_new(r->url, r->abandon);
	json_t *body = json_pack("{s:s,s:i}", "result", result, "exit_code", exit_code);
	if (reason) {
		char *masked = secret_mask_apply(r->mask, reason);
		json_object_set_new(body, "reason", json_string(masked ? masked : reason));
		free(masked);
	}
	int64_t end = now_ms() + give_up_ms;
	int backoff = 100;
	bool ok = false;
	for (;;) {
		json_t *reply = NULL;
		int st = client_post(c, r->complete_path, r->token, body, POST_TIMEOUT_MS, &reply);
		json_decref(reply);
		if (st == 200) {
			ok = true;
			break;
		}
		if (st >= 400 && st < 500) {
			log_warn("completion refused (HTTP %d)", st);
			break;
		}
		if (now_ms() >= end || (r->abandon && *r->abandon))
			break;
		usleep((useconds_t)backoff * 1000);
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
	}
	json_decref(body);
	client_free(c);
	return ok;
}

void reporter_free(struct reporter *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->poster, NULL);
	/* the server answers the watch when the workload is done: give it a
	 * moment rather than hanging up on it */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 500 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(r->watcher, NULL, &ts)) {
		r->watch_stop = true;
		pthread_join(r->watcher, NULL);
	}
	json_decref(r->queue);
	secret_mask_free(r->mask);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->idle_cv);
	free(r->events_path);
	free(r->complete_path);
	free(r->watch_path);
	free(r->token);
	free(r->url);
	free(r);
}
