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
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAIL 64
#define INFLIGHT 256

enum { C_CONNECTING, C_HEADERS, C_BODY, C_DEAD };

struct conn {
	int fd;
	unsigned char st;
	unsigned char ok, marked;
	unsigned short ntail;
	char tail[TAIL]; /* the last bytes seen, so a marker split across reads is found */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Appends data to c's tail and reports whether needle occurs in tail+data. */
static int scan(struct conn *c, const char *data, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	char win[TAIL + 4096];
	int found = 0;
	while (len) {
		size_t take = len > 4096 ? 4096 : len;
		memcpy(win, c->tail, c->ntail);
		memcpy(win + c->ntail, data, take);
		size_t wl = c->ntail + take;
		if (memmem(win, wl, needle, nl))
			found = 1;
		size_t keep = wl < TAIL ? wl : TAIL;
		memcpy(c->tail, win + wl - keep, keep);
		c->ntail = (unsigned short)keep;
		data += take;
		len -= take;
	}
	return found;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: sse-hold HOST PORT PATH N MARKER [HEADER]...\n");
		return 2;
	}
	const char *host = argv[1], *path = argv[3], *marker = argv[5];
	int port = atoi(argv[2]), n = atoi(argv[4]);
	int hold_only = strcmp(marker, "-") == 0;
	char req[4096];
	int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n",
			  path, host, port);
	for (int i = 6; i < argc; i++)
		rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "%s\r\n", argv[i]);
	rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "\r\n");

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	struct conn *cs = calloc((size_t)n, sizeof(*cs));
	int ep = epoll_create1(0);
	int opened = 0, inflight = 0, answered = 0, ok = 0, marked = 0, dead = 0;
	double first = 0, last = 0, deadline = 0;
	int ready_said = 0;
	struct epoll_event evs[512];
	char buf[16384];

	for (;;) {
		while (opened < n && inflight < INFLIGHT) {
			struct conn *c = &cs[opened];
			c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (c->fd < 0) {
				perror("socket");
				return 1;
			}
			if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
				c->st = C_DEAD;
				close(c->fd);
				answered++;
				dead++;
				opened++;
				continue;
			}
			struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (unsigned)opened };
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
			opened++;
			inflight++;
		}
		if (!ready_said && answered == n) {
			printf("ready %d %d\n", ok, n - ok);
			fflush(stdout);
			ready_said = 1;
			deadline = now_ms() + 60e3;
		}
		if (ready_said && !hold_only && marked + dead >= n && marked) {
			printf("fanout %d %.3f %.3f\n", marked, first, last);
			fflush(stdout);
			hold_only = 1;
		}
		if (ready_said && !hold_only && deadline && now_ms() > deadline) {
			printf("fanout %d %.3f %.3f (timed out)\n", marked, first, last);
			fflush(stdout);
			hold_only = 1;
		}
		int k = epoll_wait(ep, evs, 512, 1000);
		for (int i = 0; i < k; i++) {
			struct conn *c = &cs[evs[i].data.u32];
			if (c->st == C_CONNECTING && (evs[i].events & EPOLLOUT)) {
				int err = 0;
				socklen_t el = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err || write(c->fd, req, (size_t)rl) != rl) {
					c->st = C_DEAD;
					close(c->fd);
					answered++, dead++, inflight--;
					continue;
				}
				c->st = C_HEADERS;
				struct epoll_event e = { .events = EPOLLIN, .data.u32 = evs[i].data.u32 };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
				continue;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			ssize_t r = read(c->fd, buf, sizeof(buf));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				if (c->st == C_HEADERS)
					answered++, inflight--;
				if (c->st != C_DEAD)
					dead++;
				c->st = C_DEAD;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				continue;
			}
			if (c->st == C_HEADERS) {
				if (!c->ntail && r >= 12 && memcmp(buf + 9, "200", 3) == 0)
					c->ok = 1;
				if (scan(c, buf, (size_t)r, "\r\n\r\n")) {
					c->st = C_BODY;
					answered++, inflight--;
					ok += c->ok;
					c->ntail = 0; /* the marker is looked for after "ready" only */
				}
				continue;
			}
			if (ready_said && !c->marked && strcmp(argv[5], "-") != 0 && scan(c, buf, (size_t)r, marker)) {
				double t = now_ms();
				c->marked = 1;
				if (!marked++)
					first = t;
				last = t;
			}
		}
	}
}
