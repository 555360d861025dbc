/* buf.h — the one growable byte buffer: never NULL, always NUL-terminated. */
#ifndef PLUE_BUF_H
#define PLUE_BUF_H

#include <stdarg.h>
#include <stddef.h>

extern char buf_empty[];

struct buf {
	char *ptr; /* always valid and NUL-terminated; buf_empty when cap == 0 */
	size_t len;
	size_t cap;
};

#define BUF_INIT { buf_empty, 0, 0 }

/* Prepares b, reserving room for hint bytes (0 allocates nothing). */
void buf_init(struct buf *b, size_t hint);
/* Frees the storage and leaves b as BUF_INIT. */
void buf_release(struct buf *b);
/* Empties b, keeping its storage. */
void buf_reset(struct buf *b);
/* Makes room for at least extra more bytes. */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Sets the length to len (<= cap) and terminates. */
void buf_setlen(struct buf *b, size_t len);
/* Hands the storage to the caller (free() it); b is left as BUF_INIT.
 * Never returns NULL. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
