/* util: small helpers every module uses. */
#ifndef RD_UTIL_H
#define RD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
/* x limited to [lo, hi] (x is evaluated up to three times). */
#define RD_CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

/* Abort-on-failure allocation, for small control structures only; frame and
 * packet buffers use malloc and recover. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Monotonic seconds (CLOCK_MONOTONIC) and wall-clock milliseconds since the epoch. */
double rd_now(void);
int64_t rd_wall_ms(void);

/* strlcpy: copies at most sz-1 bytes, always terminates; returns strlen(src). */
size_t rd_strlcpy(char *dst, const char *src, size_t sz);

/* Decode one UTF-8 character at s (len bytes left): code point, or -1 on a bad
 * sequence (truncated, overlong, surrogate, above U+10FFFF); *used gets the
 * bytes consumed (>= 1). */
int32_t rd_utf8_next(const char *s, size_t len, size_t *used);

/* Random UUIDv4 text (36 chars + NUL) from libsodium's CSPRNG. */
void rd_uuid_v4(char out[37]);

/* Write a whole file atomically: tmp file in the same directory, fsync, rename.
 * mode is applied to the new file. Written by root into a directory another
 * user owns, the file gets the directory's owner and group. Returns RD_OK or
 * an rd_err. */
int rd_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* Read a whole file (at most max bytes, else RD_ERR_TOOBIG) into a malloc'd,
 * NUL-terminated buffer. */
int rd_read_file(const char *path, size_t max, char **out, size_t *len);
/* mkdir -p with mode for the created components. */
int rd_mkdir_p(const char *path, unsigned mode);

/* Raise the soft limit of open files to the hard one (servers: every
 * connection is a descriptor). Returns the soft limit now in force, or -1. */
long rd_fd_limit_raise(void);

#endif
