/* thread.c — background threads with a clean stop (see thread.h): a
 * pthread, an eventfd that carries wake-ups and the stop signal, and the
 * flags that say whether it runs and whether it is asked to stop. */
#include "base/thread.h"
#include "base/util.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BG_POLL_MAX 8

static void *bg_main(void *p)
{
	struct bg_thread *t = p;
	t->fn(t, t->arg);
	return NULL;
}

/* Empties the eventfd: the wake-ups so far count as one. */
static void bg_drain(struct bg_thread *t)
{
	uint64_t v;
	ssize_t rd = read(t->fd, &v, sizeof(v));
	(void)rd;
}

int bg_start(struct bg_thread *t, const char *name, bg_fn *fn, void *arg)
{
	assert(!atomic_load(&t->running));
	if (!atomic_load(&t->has_fd)) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return -1;
		t->fd = fd;
		atomic_store(&t->has_fd, true);
	} else {
		bg_drain(t);
	}
	t->fn = fn;
	t->arg = arg;
	atomic_store(&t->stopping, false);
	atomic_store(&t->running, true);
	int rc = pthread_create(&t->tid, NULL, bg_main, t);
	if (rc) {
		atomic_store(&t->running, false);
		errno = rc;
		return -1;
	}
	char shown[16]; /* the kernel's limit, NUL included */
	snprintf(shown, sizeof(shown), "%s", name);
	pthread_setname_np(t->tid, shown);
	return 0;
}

void bg_wake(struct bg_thread *t)
{
	if (!atomic_load(&t->has_fd))
		return;
	uint64_t one = 1;
	ssize_t w = write(t->fd, &one, sizeof(one));
	(void)w;
}

void bg_ask_stop(struct bg_thread *t)
{
	atomic_store(&t->stopping, true);
	bg_wake(t);
}

void bg_stop(struct bg_thread *t)
{
	if (!atomic_load(&t->running))
		return;
	bg_ask_stop(t);
	pthread_join(t->tid, NULL);
	atomic_store(&t->running, false);
}

bool bg_stopping(const struct bg_thread *t)
{
	return atomic_load(&t->stopping);
}

bool bg_running(const struct bg_thread *t)
{
	return atomic_load(&t->running);
}

int bg_poll(struct bg_thread *t, struct pollfd *fds, int n, int ms)
{
	assert(n >= 0 && n < BG_POLL_MAX);
	struct pollfd all[BG_POLL_MAX];
	for (int i = 0; i < n; i++) {
		fds[i].revents = 0;
		all[i] = fds[i];
	}
	if (bg_stopping(t))
		return 1;
	all[n] = (struct pollfd){ t->fd, POLLIN, 0 };
	int rc = poll(all, (nfds_t)n + 1, ms > 0 ? ms : 0);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++)
		fds[i].revents = all[i].revents;
	if (all[n].revents & POLLIN) {
		bg_drain(t);
		return 1;
	}
	return 0;
}

bool bg_wait(struct bg_thread *t, int ms)
{
	int64_t end = now_ms() + (ms > 0 ? ms : 0);
	for (;;) {
		int64_t left = end - now_ms();
		int rc = bg_poll(t, NULL, 0, left > 0 ? (int)left : 0);
		/* a signal (EINTR) is not a wake-up: wait out the rest */
		if (rc != 0 || left <= 0)
			break;
	}
	return !bg_stopping(t);
}
