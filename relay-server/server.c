/* server: accept, per-source caps, first frame, pairing, deadlines, logs
 * and metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "err.h"
#include "metrics.h"
#include "srclimit.h"
#include "util.h"

#define RD_LOG_SUBSYS "relay"
#include "log.h"

#include "limits.h"
#include "pairing.h"
#include "pump.h"
#include "server.h"

#define LISTEN_MAX 2
#define ACCEPT_BURST 64
#define ACCEPT_BACKOFF 0.1    /* seconds without accepting after EMFILE */
#define EXPIRE_BATCH 64
#define SOURCE_LOG_INTERVAL 10.0 /* seconds between two lines about one source and cap */

struct hello {
	struct relay_server *srv;
	int fd;
	ev_io io;
	struct relay_slot *slot;
	struct rd_sockaddr src;      /* as accepted: its counts are released with it */
	char addr[RD_ADDRSTRLEN];
	bool waiting;
	bool pend_counted;           /* counted in src_pending */
	bool got_bytes;              /* anything received yet */
	struct hello *prev, *next;   /* live list */
	struct hello *reap_next;
};

/* A running pair, from the server's side. */
struct link {
	struct relay_server *srv;
	struct relay_slot *slot[2];
	struct rd_sockaddr src[2];
	char addr[2][RD_ADDRSTRLEN];
};

struct relay_metrics_set {
	struct rd_metric *bytes;
	struct rd_metric *pairings;
	struct rd_metric *refusals[RELAY_R_COUNT];
	struct rd_metric *src_conns, *src_pending;
	struct rd_metric *ends_closed, *ends_reset, *ends_idle, *ends_shutdown;
};

struct relay_server {
	struct ev_loop *loop;
	struct relay_pairing *core;
	struct relay_limits *limits;
	struct relay_pump *pump;
	struct rd_srclimit *src_conns;   /* open connections per source */
	struct rd_srclimit *src_pending; /* connections waiting for their peer per source */
	int lfd[LISTEN_MAX];
	ev_io accept_io[LISTEN_MAX];
	int nlisten;
	ev_timer backoff;
	bool backing_off;
	ev_timer deadline;
	ev_timer limits_tick;
	ev_prepare reaper;
	ev_check limits_check;
	struct hello *live;
	struct hello *reap;
	struct rd_metrics *metrics;
	struct relay_metrics_set m;
	struct rd_log_ratelimit refuse_rl;
	struct rd_log_ratelimit accept_rl;
};

static void hello_close(struct hello *h);

static void count_refusal(struct relay_server *srv, enum relay_reason why)
{
	if (srv->metrics && (unsigned)why < RELAY_R_COUNT && srv->m.refusals[why])
		rd_metric_inc(srv->m.refusals[why]);
}

static void log_refusal(struct relay_server *srv, const char *addr, const char *uuid,
	enum relay_reason why)
{
	unsigned suppressed = 0;
	count_refusal(srv, why);
	if (!rd_log_ratelimit_ok(&srv->refuse_rl, ev_now(srv->loop), 100, 1.0, &suppressed))
		return;
	if (suppressed)
		log_notice("%u refusal lines suppressed", suppressed);
	if (uuid && *uuid)
		log_notice("refused %s uuid=%s: %s", addr, rd_esc(uuid), relay_reason_name(why));
	else
		log_notice("refused %s: %s", addr, relay_reason_name(why));
}

/* Over a per-source cap: counted, and logged at most once per source, cap
 * and interval. */
static void log_source_refusal(struct relay_server *srv, struct rd_srclimit *t,
	const struct rd_sockaddr *src, bool pending)
{
	unsigned long n = 1;
	unsigned suppressed = 0;
	char addr[RD_ADDRSTRLEN];
	double now = ev_now(srv->loop);

	rd_metric_inc(pending ? srv->m.src_pending : srv->m.src_conns);
	if (!rd_srclimit_log_ok(t, src, now, SOURCE_LOG_INTERVAL, &n) ||
	    !rd_log_ratelimit_ok(&srv->refuse_rl, now, 100, 1.0, &suppressed))
		return;
	log_notice("refused %s: %s %s=%u refused=%lu", rd_net_addr_str(src, addr, sizeof(addr)),
		pending ? "source_pending" : "source_connections", pending ? "waiting" : "open",
		rd_srclimit_count(t, src), n);
}

static void deadline_rearm(struct relay_server *srv)
{
	double d = relay_pairing_next_deadline(srv->core);
	ev_timer_stop(srv->loop, &srv->deadline);
	if (d < 0)
		return;
	double after = d - ev_now(srv->loop);
	ev_timer_set(&srv->deadline, after > 0 ? after + 0.001 : 0.001, 0.);
	ev_timer_start(srv->loop, &srv->deadline);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct relay_server *srv = w->data;
	struct relay_event evs[EXPIRE_BATCH];
	size_t n;
	do {
		n = relay_pairing_expire(srv->core, ev_now(loop), evs, EXPIRE_BATCH);
		for (size_t i = 0; i < n; i++) {
			struct hello *h = relay_slot_user(evs[i].slot);
			log_refusal(srv, h->addr, relay_slot_uuid(evs[i].slot), evs[i].reason);
			hello_close(h);
		}
	} while (n == EXPIRE_BATCH);
	deadline_rearm(srv);
}

/* Unlink, stop and queue for freeing; closes the socket unless handed over. */
static void hello_release(struct hello *h, bool close_fd)
{
	struct relay_server *srv = h->srv;
	ev_io_stop(srv->loop, &h->io);
	if (close_fd && h->fd >= 0)
		close(h->fd);
	if (h->pend_counted)
		rd_srclimit_put(srv->src_pending, &h->src);
	h->pend_counted = false;
	if (close_fd)
		rd_srclimit_put(srv->src_conns, &h->src); /* else the link holds it */
	h->fd = -1;
	if (h->slot && close_fd)
		relay_pairing_remove(srv->core, h->slot);
	h->slot = NULL;
	if (h->prev)
		h->prev->next = h->next;
	else
		srv->live = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->reap_next = srv->reap;
	srv->reap = h;
	ev_prepare_start(srv->loop, &srv->reaper);
}

static void hello_close(struct hello *h)
{
	hello_release(h, true);
}

static void on_reap(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	struct relay_server *srv = w->data;
	while (srv->reap) {
		struct hello *h = srv->reap;
		srv->reap = h->reap_next;
		free(h);
	}
	ev_prepare_stop(loop, w);
}

/* The pair is over: its uuid and its sources' counts are released. */
static void link_free(struct relay_server *srv, struct link *l)
{
	relay_pairing_remove(srv->core, l->slot[0]);
	relay_pairing_remove(srv->core, l->slot[1]);
	rd_srclimit_put(srv->src_conns, &l->src[0]);
	rd_srclimit_put(srv->src_conns, &l->src[1]);
	free(l);
}

static void pair_up(struct relay_server *srv, struct hello *second, struct hello *first)
{
	struct link *l = xcalloc(1, sizeof(*l));
	const uint8_t *pre[2];
	size_t len[2];
	int fd[2] = { first->fd, second->fd };

	l->srv = srv;
	l->slot[0] = first->slot;
	l->slot[1] = second->slot;
	l->src[0] = first->src;
	l->src[1] = second->src;
	memcpy(l->addr[0], first->addr, sizeof(l->addr[0]));
	memcpy(l->addr[1], second->addr, sizeof(l->addr[1]));
	relay_pairing_leftover(first->slot, &pre[0], &len[0]);
	relay_pairing_leftover(second->slot, &pre[1], &len[1]);
	log_info("paired uuid=%s %s <-> %s", rd_esc(relay_slot_uuid(first->slot)), l->addr[0],
		l->addr[1]);
	if (srv->metrics)
		rd_metric_inc(srv->m.pairings);
	hello_release(first, false);
	hello_release(second, false);
	if (relay_pump_start(srv->pump, fd[0], fd[1], pre[0], len[0], pre[1], len[1], l) != RD_OK) {
		log_warn("pair uuid=%s dropped: pipes: %s", rd_esc(relay_slot_uuid(l->slot[0])),
			strerror(errno));
		link_free(srv, l);
	}
}

static void hello_event(struct relay_server *srv, struct hello *h, const struct relay_event *ev)
{
	switch (ev->type) {
	case RELAY_EV_MORE:
		break;
	case RELAY_EV_WAIT:
		if (rd_srclimit_take(srv->src_pending, &h->src) != RD_OK) {
			log_source_refusal(srv, srv->src_pending, &h->src, true);
			hello_close(h);
			break;
		}
		h->pend_counted = true;
		h->waiting = true;
		log_debug("waiting uuid=%s %s", rd_esc(relay_slot_uuid(h->slot)), h->addr);
		break;
	case RELAY_EV_PAIR:
		pair_up(srv, h, relay_slot_user(ev->peer));
		break;
	case RELAY_EV_REFUSE:
		log_refusal(srv, h->addr, relay_slot_uuid(h->slot), ev->reason);
		hello_close(h);
		break;
	}
	deadline_rearm(srv);
}

static void on_hello_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct hello *h = w->data;
	struct relay_server *srv = h->srv;
	uint8_t buf[2048];
	size_t room = relay_pairing_room(h->slot);

	if (room == 0) {
		ev_io_stop(loop, w); /* waiting with a full buffer: the kernel holds the rest */
		return;
	}
	ssize_t n = recv(h->fd, buf, RD_MIN(room, sizeof(buf)), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n == 0 && h->waiting) {
		/* A FIN after the first frame may be a half-close: the peer still
		 * gets what came before it, and the pump passes the EOF on. */
		ev_io_stop(loop, w);
		return;
	}
	if (n == 0 && !h->got_bytes) {
		/* Connect and close with nothing sent: a TCP health check (the
		 * rendezvous server runs one every few seconds), not a refusal. */
		log_debug("%s closed without a request (health check)", h->addr);
		hello_close(h);
		deadline_rearm(srv);
		return;
	}
	if (n <= 0) {
		if (h->waiting) {
			log_info("gone before pairing uuid=%s %s", rd_esc(relay_slot_uuid(h->slot)), h->addr);
			count_refusal(srv, RELAY_R_GONE);
		} else {
			log_refusal(srv, h->addr, NULL, RELAY_R_GONE);
		}
		hello_close(h);
		deadline_rearm(srv);
		return;
	}
	h->got_bytes = true;
	struct relay_event ev;
	relay_pairing_input(srv->core, h->slot, buf, (size_t)n, ev_now(loop), &ev);
	hello_event(srv, h, &ev);
}

static void accept_pause(struct relay_server *srv)
{
	unsigned suppressed = 0;
	for (int i = 0; i < srv->nlisten; i++)
		ev_io_stop(srv->loop, &srv->accept_io[i]);
	srv->backing_off = true;
	ev_timer_set(&srv->backoff, ACCEPT_BACKOFF, 0.);
	ev_timer_start(srv->loop, &srv->backoff);
	if (rd_log_ratelimit_ok(&srv->accept_rl, ev_now(srv->loop), 1, 10.0, &suppressed))
		log_warn("out of file descriptors; accepting again in %.1f s (%u similar)",
			ACCEPT_BACKOFF, suppressed);
}

static void on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct relay_server *srv = w->data;
	srv->backing_off = false;
	for (int i = 0; i < srv->nlisten; i++)
		ev_io_start(loop, &srv->accept_io[i]);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct relay_server *srv = w->data;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct rd_sockaddr peer;
		int fd = rd_net_accept(w->fd, &peer);
		if (fd == RD_ERR_AGAIN)
			break;
		if (fd == RD_ERR_LIMIT) {
			accept_pause(srv);
			break;
		}
		if (fd < 0)
			break;
		if (rd_srclimit_take(srv->src_conns, &peer) != RD_OK) {
			close(fd); /* before anything is allocated for it */
			log_source_refusal(srv, srv->src_conns, &peer, false);
			continue;
		}
		struct hello *h = xcalloc(1, sizeof(*h));
		h->srv = srv;
		h->fd = fd;
		h->src = peer;
		rd_net_addr_str(&peer, h->addr, sizeof(h->addr));
		h->slot = relay_pairing_add(srv->core, h, ev_now(loop));
		if (!h->slot) {
			log_refusal(srv, h->addr, NULL, RELAY_R_CONN_LIMIT);
			rd_srclimit_put(srv->src_conns, &peer);
			close(fd);
			free(h);
			continue;
		}
		rd_net_set_nodelay(fd);
		h->next = srv->live;
		if (srv->live)
			srv->live->prev = h;
		srv->live = h;
		ev_io_init(&h->io, on_hello_read, fd, EV_READ);
		h->io.data = h;
		ev_io_start(loop, &h->io);
	}
	deadline_rearm(srv);
}

static void on_pair_end(void *user, const struct relay_pair_end *e, void *ud)
{
	struct relay_server *srv = ud;
	struct link *l = user;
	log_info("pair end uuid=%s %s -> %s %llu bytes, %s -> %s %llu bytes, %.1f s, "
		"throttled %.1f s, %s", rd_esc(relay_slot_uuid(l->slot[0])),
		l->addr[0], l->addr[1], (unsigned long long)e->bytes_ab,
		l->addr[1], l->addr[0], (unsigned long long)e->bytes_ba,
		e->duration, e->throttled, e->reason);
	if (srv->metrics) {
		struct rd_metric *m = srv->m.ends_closed;
		if (!strcmp(e->reason, "reset"))
			m = srv->m.ends_reset;
		else if (!strcmp(e->reason, "idle"))
			m = srv->m.ends_idle;
		else if (!strcmp(e->reason, "shutdown"))
			m = srv->m.ends_shutdown;
		rd_metric_inc(m);
	}
	link_free(srv, l);
}

static void on_bytes(size_t n, void *ud)
{
	struct relay_server *srv = ud;
	rd_metric_add(srv->m.bytes, (double)n);
}

/* The limits timer runs only while some direction waits for tokens. */
static void on_limits_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct relay_server *srv = w->data;
	relay_limits_tick(srv->limits, ev_now(loop));
	if (!relay_limits_pending(srv->limits))
		ev_timer_stop(loop, w);
}

static void on_limits_check(struct ev_loop *loop, ev_check *w, int revents)
{
	(void)revents;
	struct relay_server *srv = w->data;
	if (relay_limits_pending(srv->limits) && !ev_is_active(&srv->limits_tick))
		ev_timer_again(loop, &srv->limits_tick);
}

static double metric_active(void *ud)
{
	return (double)relay_pump_active(((struct relay_server *)ud)->pump);
}

static double metric_pending(void *ud)
{
	return (double)relay_pairing_waiting(((struct relay_server *)ud)->core);
}

static double metric_hello(void *ud)
{
	return (double)relay_pairing_hello(((struct relay_server *)ud)->core);
}

static double metric_throttled(void *ud)
{
	struct relay_server *srv = ud;
	return relay_limits_throttled_seconds(srv->limits, ev_now(srv->loop));
}

static bool health(void *ud, char *msg, size_t msgsz)
{
	struct relay_server *srv = ud;
	if (srv->nlisten == 0) {
		snprintf(msg, msgsz, "not listening");
		return false;
	}
	if (srv->backing_off) {
		snprintf(msg, msgsz, "out of file descriptors");
		return false;
	}
	return true;
}

static void server_metrics_register(struct relay_server *srv)
{
	struct rd_metrics *m = srv->metrics;
	char labels[64];
	const char *refused = "Connections closed before pairing, by reason.";

	rd_metrics_gauge_fn(m, "rd_relay_pairs_active", "Pairs forwarding data.", NULL,
		metric_active, srv);
	rd_metrics_gauge_fn(m, "rd_relay_pairs_pending", "Connections waiting for their peer.",
		NULL, metric_pending, srv);
	rd_metrics_gauge_fn(m, "rd_relay_connections_hello",
		"Connections still sending their first frame.", NULL, metric_hello, srv);
	rd_metrics_gauge_fn(m, "rd_relay_throttled_seconds",
		"Seconds directions have waited for bandwidth tokens since start.", NULL,
		metric_throttled, srv);
	srv->m.bytes = rd_metrics_counter(m, "rd_relay_bytes_total", "Bytes forwarded.", NULL);
	srv->m.pairings = rd_metrics_counter(m, "rd_relay_pairings_total", "Pairs made.", NULL);
	for (int r = RELAY_R_NONE + 1; r < RELAY_R_COUNT; r++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", relay_reason_name(r));
		srv->m.refusals[r] = rd_metrics_counter(m, "rd_relay_refusals_total", refused, labels);
	}
	srv->m.src_conns = rd_metrics_counter(m, "rd_relay_refusals_total", refused,
		"reason=\"source_connections\"");
	srv->m.src_pending = rd_metrics_counter(m, "rd_relay_refusals_total", refused,
		"reason=\"source_pending\"");
	const char *help = "Pairs ended, by reason.";
	srv->m.ends_closed = rd_metrics_counter(m, "rd_relay_pairs_ended_total", help,
		"reason=\"closed\"");
	srv->m.ends_reset = rd_metrics_counter(m, "rd_relay_pairs_ended_total", help,
		"reason=\"reset\"");
	srv->m.ends_idle = rd_metrics_counter(m, "rd_relay_pairs_ended_total", help,
		"reason=\"idle\"");
	srv->m.ends_shutdown = rd_metrics_counter(m, "rd_relay_pairs_ended_total", help,
		"reason=\"shutdown\"");
	rd_metrics_set_health(m, health, srv);
}

struct relay_server *relay_server_new(const struct relay_server_opts *o)
{
	struct relay_server *srv = xcalloc(1, sizeof(*srv));
	srv->loop = o->loop;
	struct relay_pairing_opts po = {
		.server_pk = o->server_pk,
		.key = o->key,
		.max_pairs = o->max_pairs,
		.max_hello = o->max_pairs,
		.first_timeout = o->first_timeout,
		.pair_timeout = o->pair_timeout,
	};
	srv->core = relay_pairing_new(&po);
	/* Open connections: max_hello (= max_pairs) sending their first frame,
	 * one more being refused, two per entry of the uuid table. */
	size_t most = RD_CLAMP(3 * o->max_pairs + 1, 1, RD_SRCLIMIT_SOURCES_MAX);
	srv->src_conns = rd_srclimit_new(most, RD_MAX(o->conns_per_source, 1u));
	srv->src_pending = rd_srclimit_new(RD_CLAMP(o->max_pairs, 1, RD_SRCLIMIT_SOURCES_MAX),
		RD_MAX(o->pending_per_source, 1u));
	if (!srv->src_conns || !srv->src_pending)
		abort(); /* only out of memory: the sizes are bounded above */
	srv->limits = relay_limits_new(o->total_rate, o->pair_rate, ev_now(o->loop));
	srv->metrics = o->metrics;
	struct relay_pump_opts pump = {
		.loop = o->loop,
		.limits = srv->limits,
		.idle_timeout = o->idle_timeout,
		.pipe_size = o->pipe_size,
		.on_end = on_pair_end,
		.on_bytes = o->metrics ? on_bytes : NULL,
		.ud = srv,
	};
	srv->pump = relay_pump_new(&pump);
	ev_init(&srv->backoff, on_backoff);
	srv->backoff.data = srv;
	ev_init(&srv->deadline, on_deadline);
	srv->deadline.data = srv;
	ev_prepare_init(&srv->reaper, on_reap);
	srv->reaper.data = srv;
	ev_init(&srv->limits_tick, on_limits_tick);
	srv->limits_tick.repeat = RELAY_LIMITS_TICK;
	srv->limits_tick.data = srv;
	ev_check_init(&srv->limits_check, on_limits_check);
	srv->limits_check.data = srv;
	if (relay_limits_enabled(srv->limits))
		ev_check_start(o->loop, &srv->limits_check);
	if (o->metrics)
		server_metrics_register(srv);
	return srv;
}

int relay_server_listen(struct relay_server *srv, const struct rd_sockaddr *addr)
{
	if (srv->nlisten >= LISTEN_MAX)
		return RD_ERR_LIMIT;
	int fd = rd_net_tcp_listen(addr, 4096, 0);
	if (fd < 0)
		return fd;
	int i = srv->nlisten++;
	srv->lfd[i] = fd;
	ev_io_init(&srv->accept_io[i], on_accept, fd, EV_READ);
	srv->accept_io[i].data = srv;
	if (!srv->backing_off)
		ev_io_start(srv->loop, &srv->accept_io[i]);
	return RD_OK;
}

int relay_server_local_addr(const struct relay_server *srv, struct rd_sockaddr *out)
{
	if (srv->nlisten == 0)
		return RD_ERR_INVAL;
	return rd_net_local_addr(srv->lfd[0], out);
}

void relay_server_stop_listening(struct relay_server *srv)
{
	for (int i = 0; i < srv->nlisten; i++) {
		ev_io_stop(srv->loop, &srv->accept_io[i]);
		close(srv->lfd[i]);
	}
	srv->nlisten = 0;
	ev_timer_stop(srv->loop, &srv->backoff);
}

size_t relay_server_active_pairs(const struct relay_server *srv)
{
	return relay_pump_active(srv->pump);
}

void relay_server_free(struct relay_server *srv)
{
	if (!srv)
		return;
	relay_server_stop_listening(srv);
	while (srv->live)
		hello_close(srv->live);
	on_reap(srv->loop, &srv->reaper, 0);
	relay_pump_free(srv->pump);
	ev_timer_stop(srv->loop, &srv->deadline);
	ev_timer_stop(srv->loop, &srv->limits_tick);
	ev_check_stop(srv->loop, &srv->limits_check);
	relay_limits_free(srv->limits);
	relay_pairing_free(srv->core);
	rd_srclimit_free(srv->src_conns);
	rd_srclimit_free(srv->src_pending);
	free(srv);
}
