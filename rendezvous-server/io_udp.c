/* io_udp: the UDP socket of PORT. Datagrams are read in batches with
 * recvmmsg and the replies made while a batch is handled leave together
 * with sendmmsg; a reply that finds the socket full is dropped (UDP). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "err.h"
#include "io.h"
#include "server.h"
#include "util.h"

#define RD_LOG_SUBSYS "udp"
#include "log.h"

#define RV_UDP_BATCH 32
#define RV_UDP_RXMAX (64 * 1024 + 1)  /* one more than the message limit: bigger shows as too big */
#define RV_UDP_TXMAX 512

struct rv_udp {
	struct ev_loop *loop;
	struct rv_server *srv;
	int fd;
	int family;
	ev_io io;
	bool in_batch;
	/* receive */
	struct mmsghdr rmsg[RV_UDP_BATCH];
	struct iovec riov[RV_UDP_BATCH];
	struct sockaddr_storage rfrom[RV_UDP_BATCH];
	uint8_t *rbuf;
	/* send */
	struct mmsghdr smsg[RV_UDP_BATCH];
	struct iovec siov[RV_UDP_BATCH];
	struct rd_sockaddr sto[RV_UDP_BATCH];
	uint8_t sbuf[RV_UDP_BATCH][RV_UDP_TXMAX];
	unsigned nsend;
	struct rd_log_ratelimit err_log;
};

static void flush(struct rv_udp *u)
{
	unsigned off = 0;
	while (off < u->nsend) {
		int n = sendmmsg(u->fd, u->smsg + off, u->nsend - off, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			unsigned sup = 0;
			if (rd_log_ratelimit_ok(&u->err_log, rd_now(), 5, 10.0, &sup))
				log_warn("sendmmsg: %s (%u replies dropped)", strerror(errno), u->nsend - off);
			break;
		}
		off += (unsigned)n;
	}
	u->nsend = 0;
}

/* An IPv4 destination on a dual-stack IPv6 socket becomes ::ffff:a.b.c.d. */
static void to_socket_family(const struct rv_udp *u, const struct rd_sockaddr *in, struct rd_sockaddr *out)
{
	*out = *in;
	if (u->family != AF_INET6 || in->u.sa.sa_family != AF_INET)
		return;
	memset(out, 0, sizeof(*out));
	out->u.in6.sin6_family = AF_INET6;
	out->u.in6.sin6_port = in->u.in4.sin_port;
	out->u.in6.sin6_addr.s6_addr[10] = 0xff;
	out->u.in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->u.in6.sin6_addr.s6_addr[12], &in->u.in4.sin_addr, 4);
	out->len = sizeof(out->u.in6);
}

void rv_udp_send(struct rv_udp *u, const struct rd_sockaddr *to, const uint8_t *p, size_t len)
{
	if (len > RV_UDP_TXMAX)
		return;
	if (u->nsend == RV_UDP_BATCH)
		flush(u);
	unsigned i = u->nsend++;
	to_socket_family(u, to, &u->sto[i]);
	memcpy(u->sbuf[i], p, len);
	u->siov[i] = (struct iovec){ u->sbuf[i], len };
	memset(&u->smsg[i], 0, sizeof(u->smsg[i]));
	u->smsg[i].msg_hdr.msg_name = &u->sto[i].u.sa;
	u->smsg[i].msg_hdr.msg_namelen = u->sto[i].len;
	u->smsg[i].msg_hdr.msg_iov = &u->siov[i];
	u->smsg[i].msg_hdr.msg_iovlen = 1;
	if (!u->in_batch)
		flush(u);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct rv_udp *u = w->data;
	/* A few batches per wake-up, then give the TCP side its turn. */
	for (int round = 0; round < 8; round++) {
		for (unsigned i = 0; i < RV_UDP_BATCH; i++) {
			u->rmsg[i].msg_hdr.msg_namelen = sizeof(u->rfrom[i]);
			u->rmsg[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(u->fd, u->rmsg, RV_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				unsigned sup = 0;
				if (rd_log_ratelimit_ok(&u->err_log, rd_now(), 5, 10.0, &sup))
					log_warn("recvmmsg: %s", strerror(errno));
			}
			return;
		}
		double now = ev_now(loop);
		u->in_batch = true;
		for (int i = 0; i < n; i++) {
			struct rd_sockaddr from;
			rd_net_addr_from(&from, (struct sockaddr *)&u->rfrom[i], u->rmsg[i].msg_hdr.msg_namelen);
			rd_net_addr_normalize(&from);
			size_t len = u->rmsg[i].msg_len;
			if (u->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				len = RV_UDP_RXMAX; /* the core counts it as too big */
			rv_server_udp_input(u->srv, &from, u->riov[i].iov_base, len, now);
		}
		u->in_batch = false;
		flush(u);
		if (n < RV_UDP_BATCH)
			return;
	}
}

int rv_udp_open(struct ev_loop *loop, struct rv_server *s, const struct rd_sockaddr *bind,
	struct rv_udp **out)
{
	int fd = rd_net_udp_bind(bind, 0);
	if (fd < 0)
		return fd;
	struct rv_udp *u = xcalloc(1, sizeof(*u));
	u->loop = loop;
	u->srv = s;
	u->fd = fd;
	struct rd_sockaddr local;
	u->family = rd_net_local_addr(fd, &local) == RD_OK ? local.u.sa.sa_family : AF_INET;
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	u->rbuf = xmalloc((size_t)RV_UDP_BATCH * RV_UDP_RXMAX);
	for (unsigned i = 0; i < RV_UDP_BATCH; i++) {
		u->riov[i] = (struct iovec){ u->rbuf + (size_t)i * RV_UDP_RXMAX, RV_UDP_RXMAX };
		u->rmsg[i].msg_hdr.msg_name = &u->rfrom[i];
		u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
		u->rmsg[i].msg_hdr.msg_iovlen = 1;
	}
	ev_io_init(&u->io, read_cb, fd, EV_READ);
	u->io.data = u;
	ev_io_start(loop, &u->io);
	*out = u;
	return RD_OK;
}

void rv_udp_close(struct rv_udp *u)
{
	if (!u)
		return;
	ev_io_stop(u->loop, &u->io);
	close(u->fd);
	free(u->rbuf);
	free(u);
}
