/* workers.c — the worker pool: every handler that touches PostgreSQL, git
 * or a subprocess runs here, never on an HTTP event thread. Each worker
 * owns one connection, so the pool size bounds database connections. */
#include "db/db.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
	struct job *next;
	work_fn fn;
	void *arg;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static pthread_t *threads;
static int nthreads;
static bool stopping;

static PGconn *ensure_conn(PGconn *c)
{
	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	if (c) {
		log_warn("database connection lost, reconnecting");
		PQfinish(c);
		metrics_gauge_add(&metric_db_connections, NULL, -1);
	}
	struct err e = { 0 };
	c = db_connect(&e);
	if (!c)
		log_error("%s", e.msg);
	else
		metrics_gauge_add(&metric_db_connections, NULL, 1);
	return c;
}

static void *worker_main(void *unused)
{
	(void)unused;
	PGconn *conn = NULL;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!head && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (!head) {
			pthread_mutex_unlock(&mu);
			break;
		}
		struct job *j = head;
		head = j->next;
		if (!head)
			tail = NULL;
		pthread_mutex_unlock(&mu);
		conn = ensure_conn(conn);
		/* A handler that gets a NULL connection answers 503. */
		metrics_gauge_add(&metric_db_in_use, NULL, 1);
		j->fn(j->arg, conn);
		metrics_gauge_add(&metric_db_in_use, NULL, -1);
		free(j);
	}
	if (conn)
		metrics_gauge_add(&metric_db_connections, NULL, -1);
	PQfinish(conn);
	return NULL;
}

void workers_start(int n)
{
	nthreads = n;
	threads = xcalloc((size_t)n, sizeof(pthread_t));
	for (int i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, worker_main, NULL))
			die("cannot start worker thread");
}

void workers_submit(work_fn fn, void *arg)
{
	struct job *j = xmalloc(sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&mu);
	if (tail)
		tail->next = j;
	else
		head = j;
	tail = j;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

struct sync_job {
	work_fn fn;
	void *arg;
	bool done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void run_sync(void *arg, PGconn *db)
{
	struct sync_job *s = arg;
	s->fn(s->arg, db);
	pthread_mutex_lock(&s->mu);
	s->done = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void workers_run(work_fn fn, void *arg)
{
	struct sync_job s = { fn, arg, false, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	workers_submit(run_sync, &s);
	pthread_mutex_lock(&s.mu);
	while (!s.done)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
}

void workers_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	nthreads = 0;
	stopping = false;
}
