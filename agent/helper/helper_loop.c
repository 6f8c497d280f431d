/* helper_loop: rd-agent-helper's poll() loop: one listening socket and up to
 * HELPER_MAX_CLIENTS agents, single-threaded, never waiting on one of them.
 * A peer whose uid is not an agent user's is logged and dropped; a client
 * that keeps sending malformed requests is dropped after a few; one that
 * stops reading its replies is dropped at the first that does not fit. */
#define RD_LOG_SUBSYS "helper"
#include "helper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "util.h"

#define HL_MAX_BAD 8       /* malformed requests before a client is dropped */
#define HL_RECV_FDS 4      /* room for more descriptors than any request has, to count them */

struct hl_client {
	int fd;
	pid_t pid;
	uid_t uid;
	unsigned bad;
};

struct hl {
	const struct helper_config *cfg;
	struct hl_client cl[HELPER_MAX_CLIENTS];
	struct rd_log_ratelimit warn_rl;
	double accept_pause_until;
};

static volatile sig_atomic_t hl_stop;

static void hl__on_signal(int sig)
{
	hl_stop = sig;
}

static bool hl__warn_ok(struct hl *h)
{
	unsigned sup;
	bool ok = rd_log_ratelimit_ok(&h->warn_rl, rd_now(), 20, 10.0, &sup);
	if (ok && sup)
		log_warn("%u refusal lines suppressed", sup);
	return ok;
}

static void hl__drop(struct hl_client *c, const char *why)
{
	log_info("pid=%d uid=%u disconnected: %s", (int)c->pid, (unsigned)c->uid, why);
	close(c->fd);
	c->fd = -1;
}

static void hl__accept(struct hl *h, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_warn("accept: %s; pausing for a second", strerror(errno));
			h->accept_pause_until = rd_now() + 1.0;
		}
		return;
	}
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) != 0) {
		log_warn("a peer without credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	bool allowed = false;
	for (size_t i = 0; i < h->cfg->n_uids; i++)
		allowed = allowed || h->cfg->uids[i] == cr.uid;
	struct hl_client *slot = NULL;
	for (size_t i = 0; i < HELPER_MAX_CLIENTS && !slot; i++)
		slot = h->cl[i].fd < 0 ? &h->cl[i] : NULL;
	if (!allowed || !slot) {
		if (hl__warn_ok(h))
			log_warn("pid=%d uid=%u refused: %s", (int)cr.pid, (unsigned)cr.uid,
				allowed ? "too many clients" : "not an agent user");
		close(fd);
		return;
	}
	*slot = (struct hl_client){ fd, cr.pid, cr.uid, 0 };
	log_info("pid=%d uid=%u connected", (int)cr.pid, (unsigned)cr.uid);
}

/* Send rep (and fd, if >= 0) without waiting. */
static int hl__send(int sock, const struct privsep_wire_rep *rep, int fd)
{
	struct iovec iov = { (void *)rep, sizeof(*rep) };
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
	return sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(*rep) ? 0 : -1;
}

/* Receive one datagram with its descriptors (*held of them, to close);
 * *nfds is -1 when more came than fit (the kernel closed the rest). */
static ssize_t hl__recv(int sock, void *buf, size_t len, int fds[HL_RECV_FDS], int *held,
	int *nfds)
{
	struct iovec iov = { buf, len };
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * HL_RECV_FDS)]; } cb;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
		.msg_controllen = sizeof(cb.b) };
	*held = *nfds = 0;
	ssize_t n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*held < HL_RECV_FDS)
				fds[(*held)++] = fd;
			else
				close(fd);
		}
	}
	*nfds = m.msg_flags & MSG_CTRUNC ? -1 : *held;
	return n;
}

static void hl__serve(struct hl *h, struct hl_client *c)
{
	uint8_t buf[sizeof(struct privsep_wire_req) + 1];	/* one more: a longer one is wrong */
	int fds[HL_RECV_FDS], held, nfds;
	ssize_t n = hl__recv(c->fd, buf, sizeof(buf), fds, &held, &nfds);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		for (int i = 0; i < held; i++)
			close(fds[i]);
		hl__drop(c, n == 0 ? "closed" : strerror(errno));
		return;
	}
	struct privsep_req req;
	struct privsep_wire_rep rep;
	const char *why;
	int out_fd = -1;
	if (privsep_req_parse(buf, (size_t)n, nfds, &req, &why) != RD_OK) {
		uint16_t type = 0;
		if (n >= 8)
			memcpy(&type, buf + 6, sizeof(type));
		privsep_rep_init(&rep, type);
		rep.status = EINVAL;
		c->bad++;
		if (hl__warn_ok(h))
			log_warn("pid=%d uid=%u malformed request (%zd bytes, %d descriptors): %s",
				(int)c->pid, (unsigned)c->uid, n, held, why);
	} else {
		why = helper_handle(h->cfg, &req, held ? fds[0] : -1, &rep, &out_fd);
		if (why && hl__warn_ok(h))
			log_warn("pid=%d uid=%u %s %u refused: %s", (int)c->pid, (unsigned)c->uid,
				privsep_type_name(req.type), req.arg, why);
		else if (!why)
			log_debug("pid=%d uid=%u %s %u: %s", (int)c->pid, (unsigned)c->uid,
				privsep_type_name(req.type), req.arg,
				rep.status ? strerror(rep.status) : "done");
	}
	for (int i = 0; i < held; i++)
		close(fds[i]);
	int sent = hl__send(c->fd, &rep, out_fd);
	int e = errno;
	explicit_bzero(&rep, sizeof(rep));	/* a cookie */
	if (out_fd >= 0)
		close(out_fd);
	if (sent != 0)
		hl__drop(c, e == EAGAIN ? "does not read its replies" : strerror(e));
	else if (c->bad >= HL_MAX_BAD)
		hl__drop(c, "too many malformed requests");
}

int helper_run(const struct helper_config *cfg, int lfd)
{
	struct hl h = { .cfg = cfg };
	for (size_t i = 0; i < HELPER_MAX_CLIENTS; i++)
		h.cl[i].fd = -1;
	/* SIGTERM and SIGINT arrive only inside ppoll(), so none is lost
	 * between the check of hl_stop and the wait. */
	sigset_t block, wait_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	struct sigaction sa = { .sa_handler = hl__on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int rc = 0;
	while (!hl_stop) {
		struct pollfd p[1 + HELPER_MAX_CLIENTS];
		double now = rd_now();
		bool listening = now >= h.accept_pause_until;
		p[0] = (struct pollfd){ .fd = listening ? lfd : -1, .events = POLLIN };
		for (size_t i = 0; i < HELPER_MAX_CLIENTS; i++)
			p[1 + i] = (struct pollfd){ .fd = h.cl[i].fd, .events = POLLIN };
		struct timespec ts = { 1, 0 };
		int n = ppoll(p, RD_ARRAY_LEN(p), listening ? NULL : &ts, &wait_mask);
		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (n <= 0)
			continue;
		if (p[0].revents)
			hl__accept(&h, lfd);
		for (size_t i = 0; i < HELPER_MAX_CLIENTS; i++)
			if (p[1 + i].revents && h.cl[i].fd >= 0)
				hl__serve(&h, &h.cl[i]);
	}
	if (hl_stop)
		log_notice("signal %d: shutting down", (int)hl_stop);
	for (size_t i = 0; i < HELPER_MAX_CLIENTS; i++)
		if (h.cl[i].fd >= 0)
			close(h.cl[i].fd);
	return rc;
}
