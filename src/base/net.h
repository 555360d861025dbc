/* net.h — IPv4 and IPv6 networks (CIDRs): parsing and membership, for the
 * operator's allow lists (webhooks, sandbox network). IPv4-mapped IPv6
 * addresses and networks (::ffff:a.b.c.d) are taken as IPv4. */
#ifndef PLUE_BASE_NET_H
#define PLUE_BASE_NET_H

#include <stdbool.h>

struct net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;   /* prefix length: 32 or 128 for one address */
};

/* The address raw (4 bytes for AF_INET, 16 for AF_INET6) as a network of
 * one address, in canonical form. */
void net_addr_norm(struct net *out, int family, const void *raw);

/* Whether network (or address) a lies inside n. */
bool net_in(const struct net *a, const struct net *n);

/* "ADDRESS" or "ADDRESS/BITS" into *out. 0, or -1 when it is neither. */
int net_parse(const char *s, struct net *out);

#endif
