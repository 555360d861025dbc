/* arena.h — per-request memory: allocations and cleanups freed together. */
#ifndef PLUE_ARENA_H
#define PLUE_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Runs the registered cleanups (last registered first), then frees every
 * allocation. Accepts NULL. */
void arena_free(struct arena *a);
/* Zeroed, 16-byte aligned memory that lives as long as the arena. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v in decimal (a query parameter, a JSON key); arena_id: NULL when v is
 * 0 (an absent id, SQL NULL). */
const char *arena_int(struct arena *a, long long v);
const char *arena_id(struct arena *a, long long v);
/* Registers fn(p) to run when the arena is freed (libpq results, libgit2
 * objects, JSON values). */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);
/* Bytes handed out so far (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif
