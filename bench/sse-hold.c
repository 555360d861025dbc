/* sse-hold.c — holds N idle HTTP/1.1 streaming responses open from one
 * process (one epoll loop, a few dozen bytes per connection), for
 * bench/sse.sh: N curl processes would measure curl, not the server.
 *
 *   sse-hold HOST PORT PATH N MARKER [HEADER]...
 *
 * Opens N connections (at most 256 handshakes in flight), sends
 * "GET PATH" with the HEADERs, and prints "ready OK FAILED" once every
 * connection has its response headers (OK answered 200). With MARKER "-"
 * it then only holds them until killed. Otherwise it waits (60 s at most)
 * until each live connection has received MARKER and prints
 * "fanout GOT FIRST_MS LAST_MS" (CLOCK_REALTIME, milliseconds with
 * fractions: when the first and the last connection saw it), then holds
 * them until killed. */
#include "conns.h"

#include <time.h>

#define TAIL 64

struct hold {
	const char *marker; /* NULL: hold only */
	int ready, marked;
	double first, last;
	struct mark {
		unsigned char marked;
		unsigned short ntail;
		char tail[TAIL]; /* the last bytes seen, so a marker split across reads is found */
	} *m;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Appends data to m's tail and reports whether needle occurs in tail+data. */
static int scan(struct mark *m, const char *data, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	char win[TAIL + 4096];
	int found = 0;
	while (len) {
		size_t take = len > 4096 ? 4096 : len;
		memcpy(win, m->tail, m->ntail);
		memcpy(win + m->ntail, data, take);
		size_t wl = m->ntail + take;
		if (memmem(win, wl, needle, nl))
			found = 1;
		size_t keep = wl < TAIL ? wl : TAIL;
		memcpy(m->tail, win + wl - keep, keep);
		m->ntail = (unsigned short)keep;
		data += take;
		len -= take;
	}
	return found;
}

/* The marker is looked for after "ready" only. */
static void on_body(void *cls, int i, const char *p, size_t len)
{
	struct hold *h = cls;
	struct mark *m = &h->m[i];
	if (!h->ready || !h->marker || m->marked || !scan(m, p, len, h->marker))
		return;
	double t = now_ms();
	m->marked = 1;
	if (!h->marked++)
		h->first = t;
	h->last = t;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: sse-hold HOST PORT PATH N MARKER [HEADER]...\n");
		return 2;
	}
	const char *host = argv[1], *path = argv[3];
	int port = atoi(argv[2]), n = atoi(argv[4]);
	struct hold h = { .marker = strcmp(argv[5], "-") ? argv[5] : NULL };
	int hold_only = !h.marker;
	char req[4096];
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n", path,
			  host, port);
	for (int i = 6; i < argc; i++)
		rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "%s\r\n", argv[i]);
	rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "\r\n");

	struct conns *cs = conns_new(host, port, n);
	h.m = calloc((size_t)n, sizeof(*h.m));
	if (!h.m) {
		perror("calloc");
		return 1;
	}
	for (int i = 0; i < n; i++)
		cs->c[i].req = req, cs->c[i].reqlen = (size_t)rl;
	double deadline = 0;
	for (;;) {
		if (!h.ready && cs->answered == n) {
			printf("ready %d %d\n", cs->ok, n - cs->ok);
			fflush(stdout);
			h.ready = 1;
			deadline = now_ms() + 60e3;
		}
		if (h.ready && !hold_only && h.marked + cs->dead >= n && h.marked) {
			printf("fanout %d %.3f %.3f\n", h.marked, h.first, h.last);
			fflush(stdout);
			hold_only = 1;
		}
		if (h.ready && !hold_only && deadline && now_ms() > deadline) {
			printf("fanout %d %.3f %.3f (timed out)\n", h.marked, h.first, h.last);
			fflush(stdout);
			hold_only = 1;
		}
		conns_poll(cs, 1000, on_body, &h);
	}
}
