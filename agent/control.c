/* control: the status socket. */
#define RD_LOG_SUBSYS "control"
#include "control.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "util.h"

struct control {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	char *path;
	control_status_fn fn;
	void *ud;
};

static void control__on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;
	(void)loop, (void)revents;
	for (int i = 0; i < 8; i++) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct rd_buf out;
		rd_buf_init(&out, 1u << 20);
		c->fn(c->ud, &out);
		rd_buf_put(&out, "\n", 1);
		/* One small answer: the socket buffer takes it whole, or the
		 * client gets what fits (it is ours, it reads at once). */
		ssize_t n = send(fd, rd_buf_ptr(&out), rd_buf_size(&out), MSG_NOSIGNAL);
		if (n < 0)
			log_debug("status client: %s", strerror(errno));
		rd_buf_free(&out);
		close(fd);
	}
}

struct control *control_new(struct ev_loop *loop, const char *path, control_status_fn fn, void *ud)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warn("control socket path too long: %s", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	unlink(path); /* a stale socket of an earlier run */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
		log_warn("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct control *c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->path = xstrdup(path);
	c->fn = fn;
	c->ud = ud;
	ev_io_init(&c->io, control__on_accept, fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	return c;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	ev_io_stop(c->loop, &c->io);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}
