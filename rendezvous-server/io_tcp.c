/* io_tcp: the TCP listeners of PORT and PORT-1 (framed connections through
 * common/conn with the 64 KiB message limit and first-message and idle
 * deadlines), caps on open connections in all and per source (counted over
 * both ports; a connection over a cap is closed before anything is allocated
 * for it), accept back-off on EMFILE, and the relay health checks (a TCP
 * connect every few seconds). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "codec.h"
#include "conn.h"
#include "err.h"
#include "io.h"
#include "metrics.h"
#include "server.h"
#include "srclimit.h"
#include "util.h"

#define RD_LOG_SUBSYS "tcp"
#include "log.h"

#define SOURCE_LOG_INTERVAL 10.0  /* seconds between two lines about one source */

struct tconn {
	struct rv_tcpio *io;
	struct rv_tcp *t;
	struct rd_conn *c;
	struct rd_sockaddr src;   /* as accepted: its count is released with it */
	struct tconn *prev, *next;
};

struct listener {
	struct rv_tcpio *io;
	int fd;
	enum rv_port port;
	ev_io w;
};

struct relay_check {
	struct rv_tcpio *io;
	size_t idx;
	struct rd_sockaddr addr;
	bool resolved;
	int fd;
	ev_io w;
	ev_timer timeout;
};

struct rv_tcpio {
	struct ev_loop *loop;
	struct rv_server *srv;
	struct rv_tcp_limits lim;
	struct listener ls[2];
	ev_timer backoff;
	size_t nconns;
	struct tconn *conns;
	struct rd_srclimit *src;
	struct rd_metric *m_full, *m_source;
	struct rd_log_ratelimit cap_log;
	struct relay_check *checks;
	size_t nchecks;
	ev_timer check_timer;
};

static void conn_frame(struct rd_conn *c, const uint8_t *payload, size_t len, void *ud)
{
	(void)c;
	struct tconn *tc = ud;
	rv_server_tcp_frame(tc->io->srv, tc->t, payload, len, ev_now(tc->io->loop));
}

static void conn_close(struct rd_conn *c, int reason, void *ud)
{
	(void)c;
	struct tconn *tc = ud;
	struct rv_tcpio *io = tc->io;
	rv_server_tcp_closed(io->srv, tc->t, reason);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		io->conns = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	io->nconns--;
	rd_srclimit_put(io->src, &tc->src);
	free(tc);
}

static const struct rd_conn_ops conn_ops = {
	.on_frame = conn_frame,
	.on_close = conn_close,
};

static void listeners_enable(struct rv_tcpio *io, bool on)
{
	for (int i = 0; i < 2; i++) {
		if (io->ls[i].fd < 0)
			continue;
		if (on)
			ev_io_start(io->loop, &io->ls[i].w);
		else
			ev_io_stop(io->loop, &io->ls[i].w);
	}
}

static void backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	listeners_enable(w->data, true);
}

/* Over a cap: closed at once, counted, and logged at most once per source
 * and interval (and ten lines per 10 s in all). */
static void refuse(struct rv_tcpio *io, int fd, const struct rd_sockaddr *peer, bool source)
{
	double now = ev_now(io->loop);
	unsigned long n = 1;
	unsigned sup = 0;
	char ip[RD_ADDRSTRLEN];

	close(fd);
	rd_metric_inc(source ? io->m_source : io->m_full);
	if (source && !rd_srclimit_log_ok(io->src, peer, now, SOURCE_LOG_INTERVAL, &n))
		return;
	if (!rd_log_ratelimit_ok(&io->cap_log, now, 10, 10.0, &sup))
		return;
	rd_net_addr_ip_str(peer, ip, sizeof(ip));
	if (source)
		log_notice("limit connections src=%s port=%u id=- scope=source open=%u refused=%lu",
			ip, rd_net_addr_port(peer), rd_srclimit_count(io->src, peer), n);
	else
		log_notice("limit connections src=%s port=%u id=- scope=all open=%zu", ip,
			rd_net_addr_port(peer), io->nconns);
}

static void accept_conn(struct rv_tcpio *io, const struct listener *l, int fd,
	const struct rd_sockaddr *peer)
{
	if ((long)io->nconns >= io->lim.max_conns) {
		refuse(io, fd, peer, false);
		return;
	}
	int rc = rd_srclimit_take(io->src, peer);
	if (rc != RD_OK) {
		refuse(io, fd, peer, rc == RD_ERR_LIMIT);
		return;
	}
	rd_net_set_nodelay(fd);
	struct rd_conn_limits cl = {
		.max_frame = RD_FRAME_MAX_RENDEZVOUS,
		.sndq_soft = 64 * 1024,
		.sndq_hard = 256 * 1024,
		.first_msg_timeout = io->lim.first_msg_timeout,
		.idle_timeout = io->lim.idle_timeout,
	};
	struct tconn *tc = xcalloc(1, sizeof(*tc));
	tc->io = io;
	tc->src = *peer;
	tc->c = rd_conn_new(io->loop, fd, false, &cl, &conn_ops, tc);
	if (!tc->c) {
		rd_srclimit_put(io->src, peer);
		close(fd);
		free(tc);
		return;
	}
	io->nconns++;
	tc->next = io->conns;
	if (io->conns)
		io->conns->prev = tc;
	io->conns = tc;
	tc->t = rv_server_tcp_open(io->srv, tc, peer, l->port, ev_now(io->loop));
	if (!tc->t)
		rd_conn_close(tc->c, RD_ERR_REFUSED);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct listener *l = w->data;
	struct rv_tcpio *io = l->io;
	for (int i = 0; i < 64; i++) {
		struct rd_sockaddr peer;
		int fd = rd_net_accept(l->fd, &peer);
		if (fd == RD_ERR_AGAIN)
			return;
		if (fd == RD_ERR_LIMIT) {
			log_warn("accept: out of file descriptors, pausing for 1 s");
			listeners_enable(io, false);
			ev_timer_set(&io->backoff, 1.0, 0);
			ev_timer_start(loop, &io->backoff);
			return;
		}
		if (fd < 0)
			return;
		accept_conn(io, l, fd, &peer);
	}
}

void rv_tcpio_send(struct rv_tcpio *t, void *conn, const uint8_t *p, size_t len)
{
	(void)t;
	struct tconn *tc = conn;
	rd_conn_send(tc->c, p, len);
}

void rv_tcpio_close_conn(struct rv_tcpio *t, void *conn, bool flush)
{
	(void)t;
	struct tconn *tc = conn;
	if (flush)
		rd_conn_close_after_flush(tc->c);
	else
		rd_conn_close(tc->c, RD_OK);
}

size_t rv_tcpio_conns(const struct rv_tcpio *t)
{
	return t->nconns;
}

static int listen_on(struct rv_tcpio *io, int i, const struct rd_sockaddr *a, enum rv_port port)
{
	struct listener *l = &io->ls[i];
	l->io = io;
	l->port = port;
	l->fd = rd_net_tcp_listen(a, 1024, 0);
	if (l->fd < 0)
		return l->fd;
	ev_io_init(&l->w, accept_cb, l->fd, EV_READ);
	l->w.data = l;
	ev_io_start(io->loop, &l->w);
	return RD_OK;
}

int rv_tcpio_open(struct ev_loop *loop, struct rv_server *s, const struct rd_sockaddr *main_addr,
	const struct rd_sockaddr *nat_addr, const struct rv_tcp_limits *lim, struct rv_tcpio **out)
{
	struct rv_tcpio *io = xcalloc(1, sizeof(*io));
	io->loop = loop;
	io->srv = s;
	io->lim = *lim;
	io->ls[0].fd = io->ls[1].fd = -1;
	io->src = rd_srclimit_new((size_t)RD_MIN(lim->max_conns, (long)RD_SRCLIMIT_SOURCES_MAX),
		(unsigned)RD_CLAMP(lim->max_per_source, 1, (long)UINT32_MAX));
	const char *help = "Messages and connections dropped, by reason.";
	io->m_full = rd_metrics_counter(lim->metrics, "rdesk_rendezvous_drops_total", help,
		"reason=\"connections\"");
	io->m_source = rd_metrics_counter(lim->metrics, "rdesk_rendezvous_drops_total", help,
		"reason=\"source_connections\"");
	ev_timer_init(&io->backoff, backoff_cb, 1.0, 0);
	io->backoff.data = io;
	int rc = io->src ? listen_on(io, 0, main_addr, RV_PORT_MAIN) : RD_ERR_INVAL;
	if (rc == RD_OK)
		rc = listen_on(io, 1, nat_addr, RV_PORT_NAT);
	if (rc != RD_OK) {
		int e = errno;
		rv_tcpio_shutdown(io);
		rv_tcpio_free(io);
		errno = e;
		return rc;
	}
	*out = io;
	return RD_OK;
}

/* ---- relay health ---- */

static void check_done(struct relay_check *rc, bool up)
{
	ev_io_stop(rc->io->loop, &rc->w);
	ev_timer_stop(rc->io->loop, &rc->timeout);
	if (rc->fd >= 0)
		close(rc->fd);
	rc->fd = -1;
	rv_server_relay_health(rc->io->srv, rc->idx, up);
}

static void check_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct relay_check *rc = w->data;
	check_done(rc, rd_net_connect_result(rc->fd) == RD_OK);
}

static void check_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	check_done(w->data, false);
}

static void check_start(struct relay_check *rc, double timeout)
{
	if (rc->fd >= 0)
		return; /* still running */
	if (!rc->resolved) {
		const char *name = rv_server_relay_name(rc->io->srv, rc->idx);
		if (rd_net_addr_parse(name, RV_RELAY_PORT, &rc->addr) != RD_OK) {
			rv_server_relay_health(rc->io->srv, rc->idx, false);
			return;
		}
		rc->resolved = true;
	}
	rc->fd = rd_net_tcp_connect(&rc->addr, NULL);
	if (rc->fd < 0) {
		rc->fd = -1;
		rv_server_relay_health(rc->io->srv, rc->idx, false);
		return;
	}
	ev_io_init(&rc->w, check_io_cb, rc->fd, EV_WRITE);
	rc->w.data = rc;
	ev_io_start(rc->io->loop, &rc->w);
	ev_timer_init(&rc->timeout, check_timeout_cb, timeout, 0);
	rc->timeout.data = rc;
	ev_timer_start(rc->io->loop, &rc->timeout);
}

static void check_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct rv_tcpio *io = w->data;
	for (size_t i = 0; i < io->nchecks; i++)
		check_start(&io->checks[i], w->repeat > 0 ? w->repeat : 3.0);
}

void rv_tcpio_check_relays(struct rv_tcpio *io, double period)
{
	io->nchecks = rv_server_relay_count(io->srv);
	if (!io->nchecks)
		return;
	io->checks = xcalloc(io->nchecks, sizeof(*io->checks));
	for (size_t i = 0; i < io->nchecks; i++) {
		io->checks[i].io = io;
		io->checks[i].idx = i;
		io->checks[i].fd = -1;
	}
	ev_timer_init(&io->check_timer, check_timer_cb, 0, period);
	io->check_timer.data = io;
	ev_timer_start(io->loop, &io->check_timer);
}

void rv_tcpio_shutdown(struct rv_tcpio *io)
{
	for (int i = 0; i < 2; i++) {
		if (io->ls[i].fd >= 0) {
			ev_io_stop(io->loop, &io->ls[i].w);
			close(io->ls[i].fd);
			io->ls[i].fd = -1;
		}
	}
	for (struct tconn *tc = io->conns; tc; tc = tc->next)
		rd_conn_close(tc->c, RD_OK);
}

void rv_tcpio_free(struct rv_tcpio *io)
{
	if (!io)
		return;
	if (io->nconns)
		log_warn("%zu connections still open at exit", io->nconns);
	ev_timer_stop(io->loop, &io->backoff);
	ev_timer_stop(io->loop, &io->check_timer);
	for (size_t i = 0; i < io->nchecks; i++) {
		struct relay_check *rc = &io->checks[i];
		if (rc->fd >= 0) {
			ev_io_stop(io->loop, &rc->w);
			ev_timer_stop(io->loop, &rc->timeout);
			close(rc->fd);
		}
	}
	free(io->checks);
	rd_srclimit_free(io->src);
	free(io);
}
