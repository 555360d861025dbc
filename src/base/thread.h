/* thread.h — background threads with a clean stop: the dispatcher, the
 * queue's notifier, the reaper, the scheduler, the warm pool keeper, the
 * webhook fan-out and delivery workers, the maintenance scheduler and the
 * SSE keepalive are each one bg_thread.
 *
 * A thread's loop waits with bg_wait (a period, cut short by bg_wake or a
 * stop) or, when it also watches descriptors (a LISTEN connection's
 * socket), with bg_poll; either returns early once the thread is asked to
 * stop, and bg_stopping says so between waits:
 *
 *	static void loop(struct bg_thread *t, void *arg)
 *	{
 *		while (!bg_stopping(t)) {
 *			work();
 *			bg_wait(t, PERIOD_MS);
 *		}
 *	}
 *
 *	bg_start(&thread, "reaper", loop, NULL);   ...   bg_stop(&thread);
 *
 * Lifecycle: a zeroed struct bg_thread (static storage, calloc) is a thread
 * never started; bg_stop on it does nothing. bg_start may follow a bg_stop
 * (a restart). The wake-up descriptor is created by the first bg_start and
 * kept for the life of the process, so a bg_wake from another thread racing
 * with bg_stop never writes into a descriptor reused by someone else:
 * bg_threads are meant to be few and long-lived (static).
 *
 * Threading: bg_wake, bg_ask_stop, bg_stopping and bg_running may be called
 * from any thread at any time; bg_start and bg_stop by the one thread that
 * owns the lifecycle (`plue serve`'s main thread); bg_wait and bg_poll only
 * by the thread itself. */
#ifndef PLUE_BASE_THREAD_H
#define PLUE_BASE_THREAD_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct bg_thread;

/* The thread's body: returns when the thread is asked to stop (or gives
 * up); arg is bg_start's. */
typedef void bg_fn(struct bg_thread *t, void *arg);

struct bg_thread {
	pthread_t tid;
	bg_fn *fn;
	void *arg;
	int fd;               /* eventfd of wake-ups and stops (when has_fd) */
	atomic_bool has_fd;
	atomic_bool running;  /* started and not yet joined */
	atomic_bool stopping; /* asked to stop */
};

/* Starts fn(t, arg) on a new thread named name (shown by ps and gdb; cut
 * to 15 bytes). 0, or -1 with errno when the thread or its descriptor
 * cannot be made (t is then not running). t must not be running. */
int bg_start(struct bg_thread *t, const char *name, bg_fn *fn, void *arg);

/* Asks t to stop and waits for its body to return. Idempotent; nothing
 * happens for a thread never started or already stopped. */
void bg_stop(struct bg_thread *t);

/* Asks t to stop without waiting: its bg_wait/bg_poll return at once and
 * bg_stopping turns true. Lets several threads wind down together before
 * each is joined with bg_stop. */
void bg_ask_stop(struct bg_thread *t);

/* Cuts t's current (or next) bg_wait or bg_poll short. Wake-ups that come
 * while t is not waiting are not lost: its next wait returns at once (and
 * several count as one). Nothing happens for a thread never started. */
void bg_wake(struct bg_thread *t);

/* True once t is asked to stop (until it is started again). */
bool bg_stopping(const struct bg_thread *t);

/* True from bg_start until bg_stop has joined t. */
bool bg_running(const struct bg_thread *t);

/* Waits up to ms milliseconds (0 or less: only looks) or until bg_wake or
 * a stop. Returns false when t is asked to stop, true otherwise (time up
 * or woken). Called by t itself. */
bool bg_wait(struct bg_thread *t, int ms);

/* bg_wait that also watches fds[0..n-1] (poll(2): events in, revents
 * out; at most 7). Returns 1 when woken (bg_wake or a stop: see
 * bg_stopping), 0 otherwise (a descriptor is ready, the time is up, or a
 * signal came), -1 with errno when poll fails. Called by t itself. */
int bg_poll(struct bg_thread *t, struct pollfd *fds, int n, int ms);

#endif
