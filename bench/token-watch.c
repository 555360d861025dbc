/* token-watch.c — many streaming HTTP/1.1 requests from one process (one
 * epoll loop), for bench/agents.sh: it times stamped tokens on arrival, so
 * that N curl processes do not measure curl.
 *
 *   token-watch HOST PORT REQUESTS EXPECT TIMEOUT_S
 *
 * REQUESTS holds one request a line, METHOD TAB PATH TAB HEADER TAB BODY
 * ("-" for no header or no body); each gets a connection of its own (at
 * most 256 handshakes in flight). It prints "ready OK FAILED" once every
 * connection has its response headers (OK answered 200).
 *
 * In the response bodies it looks for stamps "~t=NANOSECONDS" (the sender's
 * CLOCK_REALTIME) and takes, for each, its own CLOCK_REALTIME at the read
 * that brought it minus the stamp. With EXPECT > 0 it ends when EXPECT
 * stamps per connection have come, every connection has closed, or
 * TIMEOUT_S seconds after "ready", printing
 *   "done GOT WANTED P50_MS P99_MS MAX_MS".
 * With EXPECT 0 it ends when every connection has closed (or at the
 * timeout), printing "closed OK FAILED". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INFLIGHT 256

enum { C_CONNECTING, C_HEADERS, C_BODY, C_DEAD };

struct conn {
	int fd;
	unsigned char st, ok, stamp; /* stamp: 0, or how much of "~t=" matched */
	unsigned char hdr_tail;      /* how much of "\r\n\r\n" matched */
	uint64_t val;                /* the stamp's digits so far */
	char *req;
	size_t reqlen;
};

static double *lat;
static size_t nlat, caplat;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void add_latency(double ms)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 4096;
		lat = realloc(lat, caplat * sizeof(*lat));
		if (!lat) {
			perror("realloc");
			exit(1);
		}
	}
	lat[nlat++] = ms;
}

/* Scans body bytes for stamps; t is when they were read. */
static void scan_body(struct conn *c, const char *p, size_t len, int64_t t)
{
	static const char lead[] = "~t=";
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		if (c->stamp == 3) {
			if (ch >= '0' && ch <= '9') {
				c->val = c->val * 10 + (uint64_t)(ch - '0');
				continue;
			}
			if (c->val)
				add_latency((double)(t - (int64_t)c->val) / 1e6);
			c->stamp = 0;
			c->val = 0;
		}
		if (ch == lead[c->stamp])
			c->stamp++;
		else
			c->stamp = ch == '~';
	}
}

/* Looks for the end of the headers; the offset of the body in p, or -1. */
static long scan_headers(struct conn *c, const char *p, size_t len)
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double q)
{
	size_t i = (size_t)(q * (double)(nlat - 1) + 0.5);
	return lat[i];
}

/* Reads REQUESTS into conns; their count. */
static int load(const char *file, const char *host, int port, struct conn **out)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		exit(2);
	}
	struct conn *cs = NULL;
	int n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		char *method = strtok(line, "\t"), *path = strtok(NULL, "\t");
		char *header = strtok(NULL, "\t"), *body = strtok(NULL, "\t");
		if (!method || !path || !header || !body) {
			fprintf(stderr,
				"token-watch: line %d: want METHOD TAB PATH TAB HEADER TAB BODY\n",
				n + 1);
			exit(2);
		}
		int has_body = strcmp(body, "-") != 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			cs = realloc(cs, (size_t)cap * sizeof(*cs));
		}
		struct conn *c = &cs[n++];
		memset(c, 0, sizeof(*c));
		int rl = asprintf(&c->req,
				  "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
				  "Connection: close\r\n%s%s%sContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\n\r\n%s",
				  method, path, host, port, strcmp(header, "-") ? header : "",
				  strcmp(header, "-") ? "\r\n" : "", "",
				  has_body ? strlen(body) : 0, has_body ? body : "");
		if (rl < 0)
			exit(1);
		c->reqlen = (size_t)rl;
	}
	free(line);
	fclose(f);
	*out = cs;
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: token-watch HOST PORT REQUESTS EXPECT TIMEOUT_S\n");
		return 2;
	}
	const char *host = argv[1];
	int port = atoi(argv[2]), expect = atoi(argv[4]), timeout = atoi(argv[5]);
	struct conn *cs;
	int n = load(argv[3], host, port, &cs);
	if (!n) {
		fprintf(stderr, "token-watch: no requests in %s\n", argv[3]);
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	int ep = epoll_create1(0);
	int opened = 0, inflight = 0, answered = 0, ok = 0, dead = 0, ready_said = 0;
	int64_t deadline = 0;
	size_t wanted = (size_t)n * (size_t)expect;
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
			if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) &&
			    errno != EINPROGRESS) {
				c->st = C_DEAD;
				close(c->fd);
				answered++, dead++, opened++;
				continue;
			}
			struct epoll_event e = { .events = EPOLLIN | EPOLLOUT,
						 .data.u32 = (unsigned)opened };
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
			opened++, inflight++;
		}
		if (!ready_said && answered == n) {
			printf("ready %d %d\n", ok, n - ok);
			fflush(stdout);
			ready_said = 1;
			deadline = now_ns() + (int64_t)timeout * 1000000000;
		}
		int over = ready_said && now_ns() > deadline;
		if (expect > 0 && (nlat >= wanted || dead == n || over)) {
			if (nlat) {
				qsort(lat, nlat, sizeof(*lat), cmp_double);
				printf("done %zu %zu %.3f %.3f %.3f\n", nlat, wanted, pct(0.5),
				       pct(0.99), lat[nlat - 1]);
			} else {
				printf("done 0 %zu - - -\n", wanted);
			}
			return 0;
		}
		if (expect == 0 && (dead == n || over)) {
			printf("closed %d %d%s\n", ok, n - ok, over ? " (timed out)" : "");
			return 0;
		}
		int k = epoll_wait(ep, evs, 512, 200);
		for (int i = 0; i < k; i++) {
			struct conn *c = &cs[evs[i].data.u32];
			if (c->st == C_CONNECTING && (evs[i].events & EPOLLOUT)) {
				int err = 0;
				socklen_t el = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err || write(c->fd, c->req, c->reqlen) != (ssize_t)c->reqlen) {
					c->st = C_DEAD;
					close(c->fd);
					answered++, dead++, inflight--;
					continue;
				}
				c->st = C_HEADERS;
				struct epoll_event e = { .events = EPOLLIN,
							 .data.u32 = evs[i].data.u32 };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
				continue;
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			ssize_t r = read(c->fd, buf, sizeof(buf));
			if (r < 0 && errno == EAGAIN)
				continue;
			int64_t t = now_ns();
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
			const char *p = buf;
			size_t len = (size_t)r;
			if (c->st == C_HEADERS) {
				if (!c->hdr_tail && !c->ok && r >= 12 &&
				    memcmp(buf + 9, "200", 3) == 0)
					c->ok = 1;
				long off = scan_headers(c, buf, (size_t)r);
				if (off < 0)
					continue;
				c->st = C_BODY;
				answered++, inflight--;
				ok += c->ok;
				p += off;
				len -= (size_t)off;
			}
			scan_body(c, p, len, t);
		}
	}
}
