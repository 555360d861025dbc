/* cache.h — a thread-safe LRU of immutable byte strings bounded in bytes.
 * Entries are reference counted so a response can send one without a copy
 * while the cache evicts it. */
#ifndef PLUE_CACHE_H
#define PLUE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache_entry {
	const char *key;
	const char *data;          /* len bytes, NUL-terminated */
	size_t len;
	const char *content_type;  /* may be NULL */
	const char *etag;          /* may be NULL */
	const char *cache_control; /* may be NULL */
	int64_t expires_ms;        /* monotonic; 0 = never */
};

/* Sets the byte budget (0 disables caching). */
void cache_init(size_t max_bytes);
/* A referenced entry, or NULL when absent or expired; cache_unref() it. */
const struct cache_entry *cache_get(const char *key);
void cache_unref(const struct cache_entry *e);
/* Stores a copy (replacing an entry with the same key). ttl_ms 0 = no expiry. */
void cache_put(const char *key, const char *data, size_t len, const char *content_type,
	       const char *etag, const char *cache_control, int64_t ttl_ms);
void cache_drop(const char *key);
/* Current bytes held and entries (for tests and health). */
size_t cache_bytes(void);
size_t cache_count(void);

#endif
