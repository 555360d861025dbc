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
#include "conns.h"

#include <stdint.h>
#include <time.h>

/* a connection's stamp scanner */
struct stamp {
	unsigned char lead; /* 0, or how much of "~t=" matched */
	uint64_t val;       /* the stamp's digits so far */
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

/* Scans body bytes of connection i for stamps; now is when they were read. */
static void on_body(void *cls, int i, const char *p, size_t len)
{
	static const char lead[] = "~t=";
	struct stamp *c = (struct stamp *)cls + i;
	int64_t t = now_ns();
	for (size_t k = 0; k < len; k++) {
		char ch = p[k];
		if (c->lead == 3) {
			if (ch >= '0' && ch <= '9') {
				c->val = c->val * 10 + (uint64_t)(ch - '0');
				continue;
			}
			if (c->val)
				add_latency((double)(t - (int64_t)c->val) / 1e6);
			c->lead = 0;
			c->val = 0;
		}
		if (ch == lead[c->lead])
			c->lead++;
		else
			c->lead = ch == '~';
	}
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

/* Reads REQUESTS into connections (their requests only); their count. */
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
		char *req;
		int rl = asprintf(&req,
				  "%s %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
				  "Connection: close\r\n%s%s%sContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\n\r\n%s",
				  method, path, host, port, strcmp(header, "-") ? header : "",
				  strcmp(header, "-") ? "\r\n" : "", "",
				  has_body ? strlen(body) : 0, has_body ? body : "");
		if (rl < 0)
			exit(1);
		c->req = req;
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
	struct conn *reqs;
	int n = load(argv[3], host, port, &reqs);
	if (!n) {
		fprintf(stderr, "token-watch: no requests in %s\n", argv[3]);
		return 2;
	}
	struct conns *cs = conns_new(host, port, n);
	for (int i = 0; i < n; i++)
		cs->c[i].req = reqs[i].req, cs->c[i].reqlen = reqs[i].reqlen;
	struct stamp *stamps = calloc((size_t)n, sizeof(*stamps));
	if (!stamps) {
		perror("calloc");
		return 1;
	}
	int ready_said = 0;
	int64_t deadline = 0;
	size_t wanted = (size_t)n * (size_t)expect;

	for (;;) {
		if (!ready_said && cs->answered == n) {
			printf("ready %d %d\n", cs->ok, n - cs->ok);
			fflush(stdout);
			ready_said = 1;
			deadline = now_ns() + (int64_t)timeout * 1000000000;
		}
		int over = ready_said && now_ns() > deadline;
		if (expect > 0 && (nlat >= wanted || cs->dead == n || over)) {
			if (nlat) {
				qsort(lat, nlat, sizeof(*lat), cmp_double);
				printf("done %zu %zu %.3f %.3f %.3f\n", nlat, wanted, pct(0.5),
				       pct(0.99), lat[nlat - 1]);
			} else {
				printf("done 0 %zu - - -\n", wanted);
			}
			return 0;
		}
		if (expect == 0 && (cs->dead == n || over)) {
			printf("closed %d %d%s\n", cs->ok, n - cs->ok, over ? " (timed out)" : "");
			return 0;
		}
		conns_poll(cs, 200, on_body, stamps);
	}
}
