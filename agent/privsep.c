/* privsep: the agent's client of rd-agent-helper (see privsep.h), or, with no
 * helper, the same calls done directly in this process. */
#define RD_LOG_SUBSYS "privsep"
#include "privsep.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "capture/drm_fb.h"
#include "capture/drm_node.h"
#include "helper/privsep_proto.h"
#include "input/uinput_dev.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define PRIVSEP_TIMEOUT_MS 2000

static struct {
	pthread_mutex_t lock;
	bool helper;            /* helper mode (else direct) */
	struct sockaddr_un sa;
	int fd;                 /* the connection, -1 when closed */
	bool down_logged;       /* "not answering" said once per outage */
} ps = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

static int ps__connect(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ps.sa, sizeof(ps.sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int privsep_init(const char *path, bool required)
{
	pthread_mutex_lock(&ps.lock);
	if (ps.fd >= 0)
		close(ps.fd);
	ps.fd = -1;
	ps.helper = false;
	ps.down_logged = false;
	int rc = RD_OK;
	struct stat st;
	if (path && *path) {
		memset(&ps.sa, 0, sizeof(ps.sa));
		ps.sa.sun_family = AF_UNIX;
		if (rd_strlcpy(ps.sa.sun_path, path, sizeof(ps.sa.sun_path)) >= sizeof(ps.sa.sun_path)) {
			log_err("helper socket path too long: %s", rd_esc(path));
			pthread_mutex_unlock(&ps.lock);
			return RD_ERR_CONFIG;
		}
		ps.fd = ps__connect();
		/* Required: helper mode even when unreachable, so nothing falls
		 * back to opening devices here. */
		ps.helper = ps.fd >= 0 || required || (stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
		if (ps.fd < 0 && required) {
			log_err("privileged helper at %s unreachable: %s (asked again whenever a "
				"device is needed)", path, strerror(errno));
			rc = RD_ERR_IO;
		}
	}
	if (ps.helper && rc == RD_OK)
		log_info("privileged helper at %s%s", path, ps.fd >= 0 ? "" : " (not answering yet)");
	else if (!ps.helper)
		log_info("no privileged helper: opening devices directly as uid %u",
			(unsigned)geteuid());
	pthread_mutex_unlock(&ps.lock);
	return rc;
}

bool privsep_active(void)
{
	pthread_mutex_lock(&ps.lock);
	bool h = ps.helper;
	pthread_mutex_unlock(&ps.lock);
	return h;
}

void privsep_close(void)
{
	pthread_mutex_lock(&ps.lock);
	if (ps.fd >= 0)
		close(ps.fd);
	ps.fd = -1;
	pthread_mutex_unlock(&ps.lock);
}

/* The connection failed: close it, say so once per outage. Lock held. */
static int ps__down(const char *what, int e)
{
	if (ps.fd >= 0)
		close(ps.fd);
	ps.fd = -1;
	if (!ps.down_logged)
		log_warn("helper at %s not answering: %s: %s", ps.sa.sun_path, what, strerror(e));
	ps.down_logged = true;
	errno = e;
	return RD_ERR_IO;
}

static int ps__send(const struct privsep_req *r, int fd)
{
	struct privsep_wire_req w;
	privsep_req_encode(r, &w);
	struct iovec iov = { &w, sizeof(w) };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } cb;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&cb, 0, sizeof(cb));
		m.msg_control = cb.b;
		m.msg_controllen = sizeof(cb.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(ps.fd, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(w) ? 0 : -1;
}

/* Wait for the reply and check it; *fd gets its descriptor (or -1). */
static int ps__recv(enum privsep_type type, struct privsep_wire_rep *rep, int *fd)
{
	uint8_t buf[sizeof(*rep) + 1];
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * 4)]; } cb;
	int fds[4], nfds = 0;
	double end = rd_now() + PRIVSEP_TIMEOUT_MS / 1000.0;
	for (;;) {
		struct pollfd p = { .fd = ps.fd, .events = POLLIN };
		int left = (int)((end - rd_now()) * 1000.0);
		int n = poll(&p, 1, left > 0 ? left : 0);
		if (n > 0)
			break;
		if (n == 0)
			return ps__down("no reply", ETIMEDOUT);
		if (errno != EINTR)
			return ps__down("poll", errno);
	}
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
		.msg_controllen = sizeof(cb.b) };
	ssize_t n = recvmsg(ps.fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0)
		return ps__down(n == 0 ? "closed" : "receive", n == 0 ? ECONNRESET : errno);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	const char *why;
	int rc = privsep_rep_parse(buf, (size_t)n, m.msg_flags & MSG_CTRUNC ? -1 : nfds, type,
		rep, &why);
	explicit_bzero(buf, sizeof(buf));	/* a cookie */
	if (rc != RD_OK || nfds == 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		*fd = -1;
		return rc == RD_OK ? RD_OK : ps__down(why, EPROTO);
	}
	*fd = fds[0];
	return RD_OK;
}

static int ps__refused(enum privsep_type type, uint32_t arg, int status)
{
	if (status == ENOENT)
		log_debug("helper: %s %u: %s", privsep_type_name(type), arg, strerror(status));
	else
		log_info("helper refused %s %u: %s", privsep_type_name(type), arg, strerror(status));
	errno = status;
	switch (status) {
	case ENOENT: case ENXIO: return RD_ERR_NOTFOUND;
	case ENODEV: return RD_ERR_UNSUPPORTED;
	case EACCES: case EPERM: return RD_ERR_PERM;
	case EINVAL: return RD_ERR_INVAL;
	case EBADMSG: return RD_ERR_PROTO;
	case EFBIG: return RD_ERR_TOOBIG;
	}
	return RD_ERR_IO;
}

/* One round trip with the helper (reconnecting if needed); send_fd goes
 * with the request when >= 0; *out_fd gets the reply's descriptor. */
static int ps__call(enum privsep_type type, uint32_t arg, int send_fd,
	struct privsep_wire_rep *rep, int *out_fd)
{
	struct privsep_req r = { type, arg };
	int rc, fd = -1;
	pthread_mutex_lock(&ps.lock);
	if (ps.fd < 0 && (ps.fd = ps__connect()) < 0)
		rc = ps__down("connect", errno);
	else if (ps__send(&r, send_fd) != 0)
		rc = ps__down("send", errno);
	else
		rc = ps__recv(type, rep, &fd);
	if (rc == RD_OK && ps.down_logged) {
		log_info("helper at %s answering again", ps.sa.sun_path);
		ps.down_logged = false;
	}
	if (rc == RD_OK && rep->status != 0)
		rc = ps__refused(type, arg, rep->status);
	int e = errno;
	pthread_mutex_unlock(&ps.lock);
	if (out_fd)
		*out_fd = fd;
	else if (fd >= 0)
		close(fd);
	errno = e;
	return rc;
}

int privsep_drm_open(unsigned card, int *fd)
{
	*fd = -1;
	if (card > PRIVSEP_MAX_CARD)
		return RD_ERR_INVAL;
	if (privsep_active()) {
		struct privsep_wire_rep rep;
		return ps__call(PRIVSEP_DRM_OPEN, card, -1, &rep, fd);
	}
	char path[32];
	snprintf(path, sizeof(path), "/dev/dri/card%u", card);
	return drm_node_open(path, true, fd);
}

int privsep_drm_fb(int drm_fd, uint32_t fb_id, struct drm_fbinfo *fi, uint32_t *handle)
{
	*handle = 0;
	if (drm_fd < 0 || fb_id == 0)
		return RD_ERR_INVAL;
	if (!privsep_active())
		return drm_fb_describe(drm_fd, fb_id, fi, handle);
	struct privsep_wire_rep rep;
	int rc = ps__call(PRIVSEP_DRM_FB, fb_id, drm_fd, &rep, NULL);
	if (rc != RD_OK)
		return rc;
	*fi = (struct drm_fbinfo){ rep.fb_id, rep.width, rep.height, rep.format, rep.pitch,
		rep.offset, rep.modifier };
	*handle = rep.handle;
	return RD_OK;
}

int privsep_uinput(enum privsep_uinput kind, int *fd)
{
	*fd = -1;
	if (kind != PRIVSEP_UINPUT_KEYBOARD && kind != PRIVSEP_UINPUT_POINTER)
		return RD_ERR_INVAL;
	if (!privsep_active())
		return uinput_dev_create("/dev/uinput", kind == PRIVSEP_UINPUT_POINTER, fd);
	struct privsep_wire_rep rep;
	return ps__call(PRIVSEP_UINPUT, (uint32_t)kind, -1, &rep, fd);
}

/* ":N", "N", ":N.S" or "unix:N..." -> N; -1 for anything else (a remote display). */
static long ps__display_number(const char *d)
{
	if (!d)
		return -1;
	if (!strncmp(d, "unix:", 5))
		d += 4;
	if (*d == ':')
		d++;
	char *end;
	if (*d < '0' || *d > '9')
		return -1;
	long n = strtol(d, &end, 10);
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	return *end || n > PRIVSEP_MAX_DISPLAY ? -1 : n;
}

int privsep_x11_cookie(const char *display, uint8_t cookie[PRIVSEP_COOKIE_LEN])
{
	long n = ps__display_number(display);
	if (n < 0)
		return RD_ERR_INVAL;
	if (!privsep_active())
		return RD_ERR_NOTFOUND;
	struct privsep_wire_rep rep;
	int rc = ps__call(PRIVSEP_X11_COOKIE, (uint32_t)n, -1, &rep, NULL);
	if (rc == RD_OK)
		memcpy(cookie, rep.cookie, PRIVSEP_COOKIE_LEN);
	explicit_bzero(&rep, sizeof(rep));
	return rc;
}

int privsep_pipewire(int *fd)
{
	*fd = -1;
	if (!privsep_active())
		return RD_ERR_NOTFOUND;
	struct privsep_wire_rep rep;
	return ps__call(PRIVSEP_PIPEWIRE, 0, -1, &rep, fd);
}
