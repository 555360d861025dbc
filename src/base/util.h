/* util.h — allocation policy, fatal errors, hex, randomness, hashing, time. */
#ifndef PLUE_UTIL_H
#define PLUE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Allocation failure is fatal: these abort with a message, never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "fatal: ..." and exits 1. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(char *out, const unsigned char *in, size_t n);
/* Decodes 2n hex digits (either case); returns 0 or -1 on a bad digit. */
int hex_decode(unsigned char *out, const char *in, size_t n);
/* The object id git uses for "no object" (a ref's creation or deletion). */
#define SHA1_ZERO "0000000000000000000000000000000000000000"
/* True when s is exactly 40 lowercase-or-uppercase hex digits. */
bool is_sha1_hex(const char *s);

/* Fills out with n cryptographically random bytes (aborts on failure). */
void random_bytes(unsigned char *out, size_t n);
/* A random token: prefix followed by 2*nbytes hex digits; caller frees. */
char *random_token(const char *prefix, size_t nbytes);

/* SHA-256 of data as 64 lowercase hex digits into out[65]. */
void sha256_hex(char out[65], const void *data, size_t len);

/* Monotonic milliseconds and wall-clock seconds. */
int64_t now_ms(void);
int64_t now_unix(void);

/* The process id at the start of a pid file (postmaster.pid, a sandbox's
 * owner file), or 0 when the file is missing or does not start with one. */
pid_t pid_file_read(const char *path);

/* Creates path (which must not exist) holding exactly len bytes of data,
 * with mode. Returns 0, or -1 with errno (a partly written file stays). */
int file_create(const char *path, const void *data, size_t len, mode_t mode);
/* Removes path and, when it is a directory, everything under it, without
 * following symbolic links; what cannot be removed stays. */
void path_remove_tree(const char *path);
/* Writes all len bytes of data to fd (a blocking descriptor), again after
 * a signal or a short write. Returns 0, or -1 with errno. */
int fd_write_all(int fd, const void *data, size_t len);

/* True when s ends with suffix after at least one other byte ("a.pack"
 * ends with ".pack"; ".pack" does not). */
bool str_has_suffix(const char *s, const char *suffix);

/* Constant-time comparison of two equal-length byte strings. */
bool ct_equal(const void *a, const void *b, size_t n);
/* Whether the secret a caller presented (got) is want, in time that does
 * not depend on where they differ; false when either is NULL or want is
 * empty (an unset secret matches nothing). */
bool ct_str_equal(const char *got, const char *want);

/* Parses a decimal integer in [min,max]; returns 0 or -1. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* True when s starts with a real calendar day "YYYY-MM-DD" of the years
 * 1970-9999 (what follows the tenth byte is not looked at). */
bool date_valid(const char *s);
/* An RFC 3339 time ("2026-01-02T03:04:05Z", fractions ignored, an offset
 * "+hh:mm" applied) or a bare date (midnight UTC) into *out, seconds since
 * the epoch. 0, or -1 when s is neither or names no real day or time. */
int time_parse(int64_t *out, const char *s);

#endif
