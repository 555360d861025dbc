/* netfilter.c — a shared object preloaded into the slirp4netns process of
 * every sandbox with network (sandbox_net.c). slirp4netns is the sandbox's
 * only way out: it makes the real connect() and sendto() calls, in the
 * host's network namespace, for every connection and datagram the sandbox
 * sends. These wrappers refuse the destinations a step must not reach:
 *
 *   - loopback, link-local (the cloud metadata address 169.254.169.254
 *     among them), private and shared ranges, "this network", multicast,
 *     broadcast and reserved addresses, in IPv4, IPv6 and IPv4-mapped form;
 *   - every address the host routes to itself (the kernel's route lookup
 *     says "local": the host's own public addresses, whatever range they
 *     are in) or not as plain unicast;
 *
 * except port 53 of the nameservers in the host's /etc/resolv.conf (where
 * slirp4netns forwards the sandbox's DNS), and except the networks the
 * operator allows (PLUE_NETFILTER_ALLOW, set by the runner from
 * PLUE_SANDBOX_ALLOW_NETS: CIDRs separated by commas). A refused connect
 * fails with ECONNREFUSED, which slirp4netns turns into a reset for the
 * sandbox: the step sees "connection refused" at once. Refusals are logged
 * to stderr (the sandbox's slirp4netns log), the first few only.
 *
 * Built on its own by the Makefile and linked into plue as bytes, like the
 * statx shim; see docs/sandbox.md. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct net {
	int family;
	unsigned char addr[16];
	int bits;
};

/* Refused whatever the route says. */
static const char *const denied_text[] = {
	"0.0.0.0/8",      /* "this network" */
	"10.0.0.0/8",     /* private */
	"100.64.0.0/10",  /* shared (carrier-grade NAT; some clouds' metadata) */
	"127.0.0.0/8",    /* loopback */
	"169.254.0.0/16", /* link-local, the metadata address */
	"172.16.0.0/12",  /* private */
	"192.0.0.0/24",   /* protocol assignments */
	"192.168.0.0/16", /* private */
	"198.18.0.0/15",  /* benchmarking */
	"224.0.0.0/4",    /* multicast */
	"240.0.0.0/4",    /* reserved, broadcast */
	"::/96",          /* unspecified, loopback, IPv4-compatible */
	"64:ff9b:1::/48", /* local-use NAT64 */
	"fc00::/7",       /* unique local (private) */
	"fe80::/10",      /* link-local */
	"fec0::/10",      /* site-local */
	"ff00::/8",       /* multicast */
};

#define MAX_NETS 64
static struct net denied[sizeof(denied_text) / sizeof(denied_text[0])];
static int ndenied;
static struct net allowed[MAX_NETS];
static int nallowed;
static struct net nameservers[8];
static int nnameservers;
static time_t resolv_mtime;
static time_t resolv_checked;
static int refusals;

static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);

/* "ADDR" or "ADDR/BITS" into n. */
static bool net_parse(const char *text, size_t len, struct net *n)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = 0;
	char *slash = strchr(buf, '/');
	int bits = -1;
	if (slash) {
		char *end;
		*slash = 0;
		long b = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || b < 0 || b > 128)
			return false;
		bits = (int)b;
	}
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->family = AF_INET6;
	else
		return false;
	int max = n->family == AF_INET ? 32 : 128;
	if (bits > max)
		return false;
	n->bits = bits < 0 ? max : bits;
	return true;
}

static bool net_contains(const struct net *n, int family, const unsigned char *addr)
{
	if (n->family != family)
		return false;
	int full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(n->addr, addr, (size_t)full))
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((n->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static bool in_list(const struct net *list, int n, int family, const unsigned char *addr)
{
	for (int i = 0; i < n; i++)
		if (net_contains(&list[i], family, addr))
			return true;
	return false;
}

/* The nameservers of the host's /etc/resolv.conf, the ones slirp4netns
 * forwards the sandbox's DNS to; read again when the file changed (at most
 * once a second). */
static void nameservers_load(void)
{
	time_t now = time(NULL);
	if (resolv_checked && now == resolv_checked)
		return;
	resolv_checked = now;
	struct stat st;
	if (stat("/etc/resolv.conf", &st) || (resolv_mtime && st.st_mtime == resolv_mtime))
		return;
	FILE *f = fopen("/etc/resolv.conf", "re");
	if (!f)
		return;
	resolv_mtime = st.st_mtime;
	nnameservers = 0;
	char line[256];
	while (fgets(line, sizeof(line), f) && nnameservers < 8) {
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "nameserver", 10) || (p[10] != ' ' && p[10] != '\t'))
			continue;
		p += 10;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t\r\n%");
		struct net ns;
		if (net_parse(p, n, &ns))
			nameservers[nnameservers++] = ns;
	}
	fclose(f);
}

/* The kernel's route type for a destination (RTN_UNICAST, RTN_LOCAL, ...),
 * or -1 when it cannot say (no route counts as that too). */
static int route_type(int family, const unsigned char *addr)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	char reply[8192];
	size_t alen = family == AF_INET ? 4 : 16;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = (unsigned char)family;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), addr, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	int type = -1;
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len) {
		ssize_t n = recv(fd, reply, sizeof(reply), 0);
		for (struct nlmsghdr *h = (struct nlmsghdr *)reply; n > 0 && NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != 1)
				continue;
			if (h->nlmsg_type == RTM_NEWROUTE) {
				type = ((struct rtmsg *)NLMSG_DATA(h))->rtm_type;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE)
				break;
		}
	}
	close(fd);
	return type;
}

/* Route answers are kept a few seconds: UDP asks for every datagram. */
#define CACHE_SIZE 32
#define CACHE_SECONDS 5
static struct {
	int family;
	unsigned char addr[16];
	time_t at;
	bool ok;
} cache[CACHE_SIZE];
static unsigned cache_next;

static bool route_is_unicast(int family, const unsigned char *addr)
{
	size_t alen = family == AF_INET ? 4 : 16;
	time_t now = time(NULL);
	for (int i = 0; i < CACHE_SIZE; i++)
		if (cache[i].family == family && !memcmp(cache[i].addr, addr, alen) &&
		    now - cache[i].at < CACHE_SECONDS)
			return cache[i].ok;
	bool ok = route_type(family, addr) == RTN_UNICAST;
	unsigned slot = cache_next++ % CACHE_SIZE;
	cache[slot].family = family;
	memcpy(cache[slot].addr, addr, alen);
	cache[slot].at = now;
	cache[slot].ok = ok;
	return ok;
}

/* Whether the sandbox may send to sa. Only IPv4 and IPv6 destinations are
 * judged (slirp4netns makes no other). */
static bool refused(const struct sockaddr *sa, socklen_t len)
{
	unsigned char addr[16];
	int family;
	unsigned port;
	if (!sa || len < sizeof(sa_family_t))
		return false;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		family = AF_INET;
		memcpy(addr, &in->sin_addr, 4);
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		port = ntohs(in6->sin6_port);
		if (!memcmp(in6->sin6_addr.s6_addr, mapped, 12)) {
			/* ::ffff:a.b.c.d is a.b.c.d */
			family = AF_INET;
			memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			family = AF_INET6;
			memcpy(addr, in6->sin6_addr.s6_addr, 16);
		}
	} else if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		return true; /* too short to judge */
	} else {
		return false;
	}
	if (in_list(allowed, nallowed, family, addr))
		return false;
	if (port == 53) {
		nameservers_load();
		if (in_list(nameservers, nnameservers, family, addr))
			return false;
	}
	bool no = in_list(denied, ndenied, family, addr) || !route_is_unicast(family, addr);
	if (no && refusals < 20) {
		char text[INET6_ADDRSTRLEN] = "?";
		inet_ntop(family, addr, text, sizeof(text));
		fprintf(stderr, "plue-netfilter: refused %s port %u\n", text, port);
		if (++refusals == 20)
			fprintf(stderr, "plue-netfilter: not logging further refusals\n");
	}
	return no;
}

__attribute__((constructor)) static void netfilter_init(void)
{
	real_connect = dlsym(RTLD_NEXT, "connect");
	real_sendto = dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	real_sendmmsg = dlsym(RTLD_NEXT, "sendmmsg");
	for (size_t i = 0; i < sizeof(denied_text) / sizeof(denied_text[0]); i++)
		if (net_parse(denied_text[i], strlen(denied_text[i]), &denied[ndenied]))
			ndenied++;
	const char *allow = getenv("PLUE_NETFILTER_ALLOW");
	for (const char *p = allow; p && *p && nallowed < MAX_NETS;) {
		size_t n = strcspn(p, ",");
		/* the runner checked the list; an entry that does not parse
		 * allows nothing */
		if (net_parse(p, n, &allowed[nallowed]))
			nallowed++;
		p += n;
		if (*p == ',')
			p++;
	}
	nameservers_load();
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (refused(sa, len)) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (!real_connect) {
		errno = ENOSYS;
		return -1;
	}
	return real_connect(fd, sa, len);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
	if (refused(sa, len)) {
		errno = EACCES;
		return -1;
	}
	if (!real_sendto) {
		errno = ENOSYS;
		return -1;
	}
	return real_sendto(fd, buf, n, flags, sa, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (msg && refused(msg->msg_name, msg->msg_namelen)) {
		errno = EACCES;
		return -1;
	}
	if (!real_sendmsg) {
		errno = ENOSYS;
		return -1;
	}
	return real_sendmsg(fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	for (unsigned int i = 0; vec && i < n; i++)
		if (refused(vec[i].msg_hdr.msg_name, vec[i].msg_hdr.msg_namelen)) {
			errno = EACCES;
			return -1;
		}
	if (!real_sendmmsg) {
		errno = ENOSYS;
		return -1;
	}
	return real_sendmmsg(fd, vec, n, flags);
}
