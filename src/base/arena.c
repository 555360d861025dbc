/* arena.c — chunked bump allocator with a cleanup list (see arena.h). */
#include "base/arena.h"
#include "base/buf.h"
#include "base/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 8192

struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *p;
};

struct arena {
	struct chunk *chunks;
	struct cleanup *cleanups;
	size_t total;
};

struct arena *arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	for (struct cleanup *c = a->cleanups; c; c = c->next)
		c->fn(c->p);
	struct chunk *ch = a->chunks;
	while (ch) {
		struct chunk *next = ch->next;
		free(ch);
		ch = next;
	}
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct chunk *ch = a->chunks;
	if (!ch || ch->size - ch->used < n) {
		size_t size = n > CHUNK / 2 ? n : CHUNK;
		struct chunk *nc = xmalloc(sizeof(*nc) + size);
		nc->used = 0;
		nc->size = size;
		if (ch && size != CHUNK) {
			/* A large block goes behind the current chunk so the
			 * current chunk's free space stays usable. */
			nc->next = ch->next;
			ch->next = nc;
		} else {
			nc->next = ch;
			a->chunks = nc;
		}
		ch = nc;
	}
	void *p = ch->data + ch->used;
	ch->used += n;
	a->total += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	char *p = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return p;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct cleanup *c = arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}

const char *arena_int(struct arena *a, long long v)
{
	return arena_printf(a, "%lld", v);
}

const char *arena_id(struct arena *a, long long v)
{
	return v ? arena_int(a, v) : NULL;
}
