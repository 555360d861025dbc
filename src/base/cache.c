/* cache.c — bounded LRU (see cache.h): a chained hash table plus a doubly
 * linked recency list, all under one mutex. Lookups are O(1). */
#include "base/cache.h"
#include "base/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct cache_entry e;
	struct node *hnext;       /* hash chain */
	struct node *prev, *next; /* recency: head is most recent */
	uint32_t hash;
	int refs;                 /* the cache holds one while linked */
	size_t cost;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct node **table;
static size_t nbuckets = 65536;
static struct node *head, *tail;
static size_t bytes, max_bytes, count;

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

void cache_init(size_t max)
{
	pthread_mutex_lock(&mu);
	max_bytes = max;
	if (!table)
		table = xcalloc(nbuckets, sizeof(*table));
	pthread_mutex_unlock(&mu);
}

static void node_free(struct node *n)
{
	free((void *)n->e.key);
	free((void *)n->e.data);
	free((void *)n->e.content_type);
	free((void *)n->e.etag);
	free((void *)n->e.cache_control);
	free(n);
}

static void unlink_node(struct node *n)
{
	struct node **pp = &table[n->hash % nbuckets];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	if (n->prev)
		n->prev->next = n->next;
	else
		head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		tail = n->prev;
	bytes -= n->cost;
	count--;
	if (--n->refs == 0)
		node_free(n);
}

static struct node *find(const char *key, uint32_t h)
{
	for (struct node *n = table[h % nbuckets]; n; n = n->hnext)
		if (n->hash == h && !strcmp(n->e.key, key))
			return n;
	return NULL;
}

const struct cache_entry *cache_get(const char *key)
{
	if (!table)
		return NULL;
	uint32_t h = hash_str(key);
	pthread_mutex_lock(&mu);
	struct node *n = find(key, h);
	if (n && n->e.expires_ms && n->e.expires_ms <= now_ms()) {
		unlink_node(n);
		n = NULL;
	}
	if (n) {
		n->refs++;
		if (head != n) { /* move to front */
			n->prev->next = n->next;
			if (n->next)
				n->next->prev = n->prev;
			else
				tail = n->prev;
			n->prev = NULL;
			n->next = head;
			head->prev = n;
			head = n;
		}
	}
	pthread_mutex_unlock(&mu);
	return n ? &n->e : NULL;
}

void cache_unref(const struct cache_entry *e)
{
	if (!e)
		return;
	struct node *n = (struct node *)((char *)e - offsetof(struct node, e));
	pthread_mutex_lock(&mu);
	int left = --n->refs;
	pthread_mutex_unlock(&mu);
	if (left == 0)
		node_free(n);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void cache_put(const char *key, const char *data, size_t len, const char *content_type,
	       const char *etag, const char *cache_control, int64_t ttl_ms)
{
	if (!table)
		return;
	size_t cost = len + strlen(key) + sizeof(struct node) + 64;
	if (cost > max_bytes / 8) /* one object never takes more than an eighth */
		return;
	struct node *n = xcalloc(1, sizeof(*n));
	n->e.key = xstrdup(key);
	char *d = xmalloc(len + 1);
	memcpy(d, data, len);
	d[len] = '\0';
	n->e.data = d;
	n->e.len = len;
	n->e.content_type = dup_or_null(content_type);
	n->e.etag = dup_or_null(etag);
	n->e.cache_control = dup_or_null(cache_control);
	n->e.expires_ms = ttl_ms ? now_ms() + ttl_ms : 0;
	n->hash = hash_str(key);
	n->refs = 1;
	n->cost = cost;
	pthread_mutex_lock(&mu);
	struct node *old = find(key, n->hash);
	if (old)
		unlink_node(old);
	while (tail && bytes + cost > max_bytes)
		unlink_node(tail);
	n->hnext = table[n->hash % nbuckets];
	table[n->hash % nbuckets] = n;
	n->next = head;
	if (head)
		head->prev = n;
	head = n;
	if (!tail)
		tail = n;
	bytes += cost;
	count++;
	pthread_mutex_unlock(&mu);
}

void cache_drop(const char *key)
{
	if (!table)
		return;
	pthread_mutex_lock(&mu);
	struct node *n = find(key, hash_str(key));
	if (n)
		unlink_node(n);
	pthread_mutex_unlock(&mu);
}

size_t cache_bytes(void)
{
	pthread_mutex_lock(&mu);
	size_t b = bytes;
	pthread_mutex_unlock(&mu);
	return b;
}

size_t cache_count(void)
{
	pthread_mutex_lock(&mu);
	size_t c = count;
	pthread_mutex_unlock(&mu);
	return c;
}
