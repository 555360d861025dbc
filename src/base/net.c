/* net.c — IPv4 and IPv6 networks (CIDRs): parsing and membership, for the
 * operator's allow lists (webhooks, sandbox network). */
#include "base/net.h"
#include "base/util.h"

#include <arpa/inet.h>
#include <string.h>

void net_addr_norm(struct net *out, int family, const void *raw)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->addr, raw, 4);
		out->bits = 32;
		return;
	}
	const unsigned char *b = raw;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (!memcmp(b, mapped, 12)) {
		out->family = AF_INET;
		memcpy(out->addr, b + 12, 4);
		out->bits = 32;
		return;
	}
	out->family = AF_INET6;
	memcpy(out->addr, b, 16);
	out->bits = 128;
}

bool net_in(const struct net *a, const struct net *n)
{
	if (a->family != n->family)
		return false;
	int full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(a->addr, n->addr, full))
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a->addr[full] & mask) == (n->addr[full] & mask);
}

int net_parse(const char *s, struct net *out)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	unsigned char raw[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, text, raw) != 1)
		return -1;
	int max = fam == AF_INET ? 32 : 128;
	int64_t bits = max;
	if (slash && parse_i64(slash + 1, 0, max, &bits))
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = fam;
	memcpy(out->addr, raw, fam == AF_INET ? 4 : 16);
	out->bits = (int)bits;
	if (fam == AF_INET6) {
		struct net n;
		net_addr_norm(&n, AF_INET6, raw);
		if (n.family == AF_INET) { /* ::ffff:a.b.c.d/N */
			n.bits = out->bits >= 96 ? out->bits - 96 : 0;
			*out = n;
		}
	}
	return 0;
}
