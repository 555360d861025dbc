/* conns.h — the client bench/sse-hold.c and bench/token-watch.c share:
 * many HTTP/1.1 streaming requests from one process, in one epoll loop,
 * a few dozen bytes per connection (N curl processes would measure curl,
 * not the server).
 *
 * conns_new makes N connections to HOST:PORT; the caller sets each one's
 * request (req, reqlen, not copied) and then calls conns_poll in a loop.
 * conns_poll opens connections (at most INFLIGHT handshakes in flight),
 * sends each its request, notes its status (ok: 200) and the end of its
 * headers, and hands every byte of the body after them to on_body with
 * the connection's index. Counts: answered (headers seen, or dead before
 * them), ok (of those answered, 200), dead (closed or failed). */
#ifndef BENCH_CONNS_H
#define BENCH_CONNS_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define INFLIGHT 256

enum { C_CONNECTING, C_HEADERS, C_BODY, C_DEAD };

struct conn {
	int fd;
	unsigned char st, ok;
	unsigned char hdr_tail; /* how much of "\r\n\r\n" matched */
	const char *req;
	size_t reqlen;
};

struct conns {
	struct conn *c;
	int n, ep, opened, inflight, answered, ok, dead;
	struct sockaddr_in sa;
};

typedef void conns_body_fn(void *cls, int i, const char *p, size_t len);

static struct conns *conns_new(const char *host, int port, int n)
{
	struct conns *cs = calloc(1, sizeof(*cs));
	if (!cs || !(cs->c = calloc((size_t)n, sizeof(*cs->c)))) {
		perror("calloc");
		exit(1);
	}
	cs->n = n;
	cs->sa = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, host, &cs->sa.sin_addr);
	cs->ep = epoll_create1(0);
	return cs;
}

/* Looks for the end of the headers; the offset of the body in p, or -1. */
static long conn_scan_headers(struct conn *c, const char *p, size_t len)
{
	static const char end[] = "\r\n\r\n";
	for (size_t i = 0; i < len; i++) {
		if (p[i] == end[c->hdr_tail])
			c->hdr_tail++;
		else
			c->hdr_tail = p[i] == '\r';
		if (c->hdr_tail == 4)
			return (long)i + 1;
	}
	return -1;
}

static void conn_drop(struct conns *cs, struct conn *c)
{
	if (c->st == C_HEADERS)
		cs->answered++, cs->inflight--;
	if (c->st != C_DEAD)
		cs->dead++;
	c->st = C_DEAD;
	epoll_ctl(cs->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
}

/* Opens what may be opened, then waits timeout_ms at most for events and
 * handles them. */
static void conns_poll(struct conns *cs, int timeout_ms, conns_body_fn *on_body, void *cls)
{
	static char buf[16384];
	struct epoll_event evs[512];
	while (cs->opened < cs->n && cs->inflight < INFLIGHT) {
		struct conn *c = &cs->c[cs->opened];
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c->fd < 0) {
			perror("socket");
			exit(1);
		}
		if (connect(c->fd, (struct sockaddr *)&cs->sa, sizeof(cs->sa)) &&
		    errno != EINPROGRESS) {
			c->st = C_DEAD;
			close(c->fd);
			cs->answered++, cs->dead++, cs->opened++;
			continue;
		}
		struct epoll_event e = { .events = EPOLLIN | EPOLLOUT,
					 .data.u32 = (unsigned)cs->opened };
		epoll_ctl(cs->ep, EPOLL_CTL_ADD, c->fd, &e);
		cs->opened++, cs->inflight++;
	}
	int k = epoll_wait(cs->ep, evs, 512, timeout_ms);
	for (int i = 0; i < k; i++) {
		int ci = (int)evs[i].data.u32;
		struct conn *c = &cs->c[ci];
		if (c->st == C_CONNECTING && (evs[i].events & EPOLLOUT)) {
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err || write(c->fd, c->req, c->reqlen) != (ssize_t)c->reqlen) {
				c->st = C_DEAD;
				close(c->fd);
				cs->answered++, cs->dead++, cs->inflight--;
				continue;
			}
			c->st = C_HEADERS;
			struct epoll_event e = { .events = EPOLLIN, .data.u32 = evs[i].data.u32 };
			epoll_ctl(cs->ep, EPOLL_CTL_MOD, c->fd, &e);
			continue;
		}
		if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			continue;
		ssize_t r = read(c->fd, buf, sizeof(buf));
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r <= 0) {
			conn_drop(cs, c);
			continue;
		}
		const char *p = buf;
		size_t len = (size_t)r;
		if (c->st == C_HEADERS) {
			if (!c->hdr_tail && !c->ok && r >= 12 && memcmp(buf + 9, "200", 3) == 0)
				c->ok = 1;
			long off = conn_scan_headers(c, buf, len);
			if (off < 0)
				continue;
			c->st = C_BODY;
			cs->answered++, cs->inflight--;
			cs->ok += c->ok;
			p += off;
			len -= (size_t)off;
		}
		if (len)
			on_body(cls, ci, p, len);
	}
}

#endif
