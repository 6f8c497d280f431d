/* xauth: the MIT-MAGIC-COOKIE-1 of a local X display, from an Xauthority
 * file (whose bytes are treated as hostile: a user may own the file). */
#ifndef RD_AGENT_XAUTH_H
#define RD_AGENT_XAUTH_H

#include <stddef.h>
#include <stdint.h>

#define XAUTH_COOKIE_LEN 16
#define XAUTH_FILE_MAX (64 * 1024)
#define XAUTH_FAMILY_LOCAL 256
#define XAUTH_FAMILY_WILD 65535

/* The first entry of the Xauthority bytes buf that is an MIT-MAGIC-COOKIE-1
 * of 16 bytes for display number display (an empty number matches any, as
 * in libXau) of family Local with address host, or of family Wild. RD_OK,
 * RD_ERR_NOTFOUND, or RD_ERR_PROTO when the bytes end inside an entry before
 * any match. */
int xauth_find_cookie(const uint8_t *buf, size_t len, const char *host, unsigned display,
	uint8_t cookie[XAUTH_COOKIE_LEN]);
/* The same from the file at path: a regular file (not a symlink, not a FIFO)
 * of at most XAUTH_FILE_MAX bytes, else RD_ERR_PERM / RD_ERR_TOOBIG;
 * RD_ERR_NOTFOUND (errno ENOENT) when it is missing. */
int xauth_file_cookie(const char *path, const char *host, unsigned display,
	uint8_t cookie[XAUTH_COOKIE_LEN]);

#endif
