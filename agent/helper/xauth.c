/* xauth: find a display's cookie in Xauthority bytes (see xauth.h). Each
 * entry is five fields: a family (16-bit big-endian), then address, display
 * number, auth name and auth data, each a 16-bit big-endian length and that
 * many bytes. */
#include "xauth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

#define XAUTH_MIT "MIT-MAGIC-COOKIE-1"

struct xa_field {
	const uint8_t *p;
	size_t len;
};

static bool xa__u16(const uint8_t *buf, size_t len, size_t *off, size_t *v)
{
	if (len - *off < 2)
		return false;
	*v = (size_t)buf[*off] << 8 | buf[*off + 1];
	*off += 2;
	return true;
}

static bool xa__field(const uint8_t *buf, size_t len, size_t *off, struct xa_field *f)
{
	if (!xa__u16(buf, len, off, &f->len) || len - *off < f->len)
		return false;
	f->p = buf + *off;
	*off += f->len;
	return true;
}

static bool xa__is(const struct xa_field *f, const char *s)
{
	size_t n = strlen(s);
	return f->len == n && memcmp(f->p, s, n) == 0;
}

int xauth_find_cookie(const uint8_t *buf, size_t len, const char *host, unsigned display,
	uint8_t cookie[XAUTH_COOKIE_LEN])
{
	char num[16];
	snprintf(num, sizeof(num), "%u", display);
	size_t off = 0;
	while (off < len) {
		size_t family;
		struct xa_field addr, number, name, data;
		if (!xa__u16(buf, len, &off, &family) || !xa__field(buf, len, &off, &addr) ||
		    !xa__field(buf, len, &off, &number) || !xa__field(buf, len, &off, &name) ||
		    !xa__field(buf, len, &off, &data))
			return RD_ERR_PROTO;
		bool where = family == XAUTH_FAMILY_WILD ||
			(family == XAUTH_FAMILY_LOCAL && xa__is(&addr, host));
		bool which = number.len == 0 || xa__is(&number, num);
		if (where && which && xa__is(&name, XAUTH_MIT) && data.len == XAUTH_COOKIE_LEN) {
			memcpy(cookie, data.p, XAUTH_COOKIE_LEN);
			return RD_OK;
		}
	}
	return RD_ERR_NOTFOUND;
}

/* Read at most XAUTH_FILE_MAX bytes of a regular file into buf. */
static int xa__read(const char *path, uint8_t *buf, size_t *len)
{
	/* No symlink (the user who owns the file could point it anywhere), no
	 * FIFO or device (a read could block the helper). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? RD_ERR_NOTFOUND : RD_ERR_PERM;
	struct stat st;
	int rc = RD_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		errno = EPERM;
		rc = RD_ERR_PERM;
	} else if (st.st_size > XAUTH_FILE_MAX) {
		errno = EFBIG;
		rc = RD_ERR_TOOBIG;
	}
	*len = 0;
	while (rc == RD_OK) {
		ssize_t n = read(fd, buf + *len, XAUTH_FILE_MAX + 1 - *len);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = RD_ERR_IO;
		else if ((*len += (size_t)n) > XAUTH_FILE_MAX) {
			errno = EFBIG;
			rc = RD_ERR_TOOBIG;	/* grew since fstat */
		}
	}
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int xauth_file_cookie(const char *path, const char *host, unsigned display,
	uint8_t cookie[XAUTH_COOKIE_LEN])
{
	uint8_t *buf = malloc(XAUTH_FILE_MAX + 1);
	size_t len = 0;
	if (!buf)
		return RD_ERR_NOMEM;
	int rc = xa__read(path, buf, &len);
	if (rc == RD_OK)
		rc = xauth_find_cookie(buf, len, host, display, cookie);
	int e = errno;
	explicit_bzero(buf, len);
	free(buf);
	errno = e;
	return rc;
}
