/* util: allocation that aborts, clocks, strings, UUIDs and whole-file I/O. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"

static void util__oom(size_t n)
{
	/* No logger here: it may itself need memory. One write, then abort. */
	char msg[96];
	int k = snprintf(msg, sizeof(msg), "fatal: out of memory allocating %zu bytes\n", n);
	if (k > 0 && write(STDERR_FILENO, msg, (size_t)k) < 0) {
		/* nothing more we can do */
	}
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		util__oom(n);
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		util__oom(n * m);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		util__oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = xmalloc(n);
	memcpy(d, s, n);
	return d;
}

double rd_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t rd_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t rd_strlcpy(char *dst, const char *src, size_t sz)
{
	size_t n = strlen(src);
	if (sz) {
		size_t k = n < sz - 1 ? n : sz - 1;
		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

int32_t rd_utf8_next(const char *s, size_t len, size_t *used)
{
	const unsigned char *p = (const unsigned char *)s;
	*used = 1;
	if (len == 0)
		return -1;
	if (p[0] < 0x80)
		return p[0];
	size_t n;
	int32_t cp, min;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2; cp = p[0] & 0x1f; min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3; cp = p[0] & 0x0f; min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4; cp = p[0] & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (len < n)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*used = n;
	return cp;
}

void rd_uuid_v4(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	size_t i, o = 0;

	randombytes_buf(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static int util__errno_to_rd(int e)
{
	switch (e) {
	case ENOENT: return RD_ERR_NOTFOUND;
	case EACCES: case EPERM: case EROFS: return RD_ERR_PERM;
	case ENOMEM: return RD_ERR_NOMEM;
	case EEXIST: return RD_ERR_EXISTS;
	default: return RD_ERR_IO;
	}
}

static int util__write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void util__fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Root writing into a folder another user owns (the operator's `rd-agent
 * enroll` into the data folder of the agent, which runs as its own user):
 * the new file gets the folder's owner and group, who must be able to read
 * it and could replace it anyway. Otherwise nothing changes. */
static int util__own_like_dir(int fd, const char *path)
{
	char *copy;
	struct stat st;
	int rc = 0;

	if (geteuid() != 0)
		return 0;
	copy = strdup(path);
	if (!copy)
		return -1;
	if (stat(dirname(copy), &st) == 0 && st.st_uid != 0)
		rc = fchown(fd, st.st_uid, st.st_gid);
	free(copy);
	return rc;
}

int rd_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	int fd = -1, ret = RD_ERR_IO, saved;

	if (!tmp)
		return RD_ERR_NOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", 12);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = util__errno_to_rd(errno);
		goto out_free;
	}
	if (util__own_like_dir(fd, path) < 0 || fchmod(fd, (mode_t)(mode & 07777)) < 0 ||
	    util__write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto out_unlink;
	if (close(fd) < 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out_unlink;
	util__fsync_dir(path);
	free(tmp);
	return RD_OK;

out_unlink:
	saved = errno;
	ret = util__errno_to_rd(saved);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
out_free:
	free(tmp);
	return ret;
}

int rd_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd, ret, saved;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	*out = NULL;
	if (len)
		*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return util__errno_to_rd(errno);
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;
			if (max < SIZE_MAX - 2 && ncap > max + 2)
				ncap = max + 2; /* room for one byte past max, and the NUL */
			if (ncap <= n + 1) {
				ret = RD_ERR_TOOBIG;
				goto fail;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				ret = RD_ERR_NOMEM;
				goto fail;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = util__errno_to_rd(errno);
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = RD_ERR_TOOBIG;
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return RD_OK;

fail:
	saved = errno;
	close(fd);
	free(buf);
	errno = saved;
	return ret;
}

int rd_mkdir_p(const char *path, unsigned mode)
{
	char *p = strdup(path);
	char *s;
	struct stat st;
	int ret = RD_OK;

	if (!p)
		return RD_ERR_NOMEM;
	if (!*p) {
		free(p);
		return RD_ERR_INVAL;
	}
	s = p;
	for (;;) {
		while (*s == '/')
			s++;
		while (*s && *s != '/')
			s++;
		char c = *s;
		*s = '\0';
		if (mkdir(p, (mode_t)(mode & 07777)) < 0) {
			if (errno != EEXIST) {
				ret = util__errno_to_rd(errno);
				break;
			}
			if (stat(p, &st) < 0) {
				ret = util__errno_to_rd(errno);
				break;
			}
			if (!S_ISDIR(st.st_mode)) {
				errno = ENOTDIR;
				ret = RD_ERR_EXISTS;
				break;
			}
		}
		*s = c;
		while (*s == '/')
			s++;
		if (!*s)
			break;
	}
	free(p);
	return ret;
}

long rd_fd_limit_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return -1;
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX ? LONG_MAX :
		(long)rl.rlim_cur;
}
