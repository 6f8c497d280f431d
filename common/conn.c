/* conn: a framed TCP stream on a libev loop (see conn.h).
 *
 * Receiving: bytes are read into `in`; whole frames are cut out with
 * rd_frame_next() and handed to on_frame one at a time, decrypted just before
 * delivery so that crypto switched on inside on_frame applies to the very next
 * frame. Sending (conn_send.c): each frame is framed (and sealed) into a
 * queue of chunks; small frames share a chunk. The queue is written with
 * sendmsg() over an iovec; the write watcher runs only while bytes are queued.
 *
 * Timers: the first-message deadline and the idle timer both start when the
 * conn is made, so they also bound an outgoing connect.
 *
 * Closing: rd_conn_close() stops every watcher at once and starts an idle
 * watcher of the highest priority, which runs on the next loop iteration,
 * calls on_close and frees the conn. Nothing is freed inside a callback of
 * the conn itself. */
#define RD_LOG_SUBSYS "conn"
#include "conn.h"

#include <errno.h>
#include <ev.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "conn_int.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "util.h"

static void conn__on_read(struct ev_loop *loop, ev_io *w, int revents);
static void conn__on_first(struct ev_loop *loop, ev_timer *w, int revents);
static void conn__on_idle(struct ev_loop *loop, ev_timer *w, int revents);
static void conn__on_flush_timeout(struct ev_loop *loop, ev_timer *w, int revents);
static void conn__on_later(struct ev_loop *loop, ev_idle *w, int revents);
static void conn__deliver(struct rd_conn *c);

const char *conn__peer_str(const struct rd_conn *c, char *buf, size_t sz)
{
	int fam = c->peer.len ? rd_net_addr_family(&c->peer) : AF_UNSPEC;

	if (fam != AF_INET && fam != AF_INET6) {
		snprintf(buf, sz, "fd %d", c->fd);
		return buf;
	}
	return rd_net_addr_str(&c->peer, buf, sz);
}

static void conn__limits(struct rd_conn_limits *dst, const struct rd_conn_limits *src)
{
	static const struct rd_conn_limits none;

	*dst = src ? *src : none;
	if (!dst->max_frame)
		dst->max_frame = RD_FRAME_MAX_SESSION;
	if (dst->max_frame > RD_FRAME_LEN_MAX)
		dst->max_frame = RD_FRAME_LEN_MAX;
	if (!dst->sndq_soft)
		dst->sndq_soft = CONN_SOFT_DEFAULT;
	if (!dst->sndq_hard)
		dst->sndq_hard = CONN_HARD_DEFAULT;
	if (dst->sndq_hard < dst->sndq_soft)
		dst->sndq_hard = dst->sndq_soft;
	if (dst->first_msg_timeout < 0)
		dst->first_msg_timeout = 0;
	if (dst->idle_timeout < 0)
		dst->idle_timeout = 0;
}

void conn__addrs(struct rd_conn *c)
{
	if (rd_net_peer_addr(c->fd, &c->peer) == RD_OK)
		rd_net_addr_normalize(&c->peer);
	else
		memset(&c->peer, 0, sizeof(c->peer));
	if (rd_net_local_addr(c->fd, &c->local) == RD_OK)
		rd_net_addr_normalize(&c->local);
	else
		memset(&c->local, 0, sizeof(c->local));
}

/* (Re)start the first-message deadline (from now) and the idle timer. */
static void conn__arm_timers(struct rd_conn *c, bool first_from_now)
{
	if (c->closing || c->flush_close)
		return;
	if (c->lim.first_msg_timeout > 0 && !c->got_frame) {
		if (first_from_now || !ev_is_active(&c->first_timer)) {
			ev_timer_stop(c->loop, &c->first_timer);
			ev_timer_set(&c->first_timer, c->lim.first_msg_timeout, 0.);
			ev_timer_start(c->loop, &c->first_timer);
		}
	} else {
		ev_timer_stop(c->loop, &c->first_timer);
	}
	if (c->lim.idle_timeout > 0 && !c->paused) {
		c->idle_timer.repeat = c->lim.idle_timeout;
		ev_timer_again(c->loop, &c->idle_timer);
	} else {
		ev_timer_stop(c->loop, &c->idle_timer);
	}
}

struct rd_conn *rd_conn_new(struct ev_loop *loop, int fd, bool connecting,
	const struct rd_conn_limits *lim, const struct rd_conn_ops *ops, void *ud)
{
	struct rd_conn *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->fd = fd;
	c->ud = ud;
	if (ops)
		c->ops = *ops;
	conn__limits(&c->lim, lim);
	rd_buf_init(&c->in, 0);
	rd_buf_init(&c->plain, 0);
	rd_buf_init(&c->sealed, 0);
	c->connecting = connecting;
	/* The loop time may be stale when we are called outside a callback
	 * (after a blocking start-up step); timers count from now. */
	ev_now_update(loop);
	c->last_rx = ev_now(loop);

	rd_net_set_nonblock(fd, true);
	rd_net_set_nodelay(fd); /* fails harmlessly on non-TCP sockets */

	ev_io_init(&c->rio, conn__on_read, fd, EV_READ);
	ev_io_init(&c->wio, conn__on_write, fd, EV_WRITE);
	ev_init(&c->first_timer, conn__on_first);
	ev_init(&c->idle_timer, conn__on_idle);
	ev_init(&c->flush_timer, conn__on_flush_timeout);
	ev_idle_init(&c->later, conn__on_later);
	ev_set_priority(&c->later, EV_MAXPRI);
	c->rio.data = c->wio.data = c;
	c->first_timer.data = c->idle_timer.data = c->flush_timer.data = c;
	c->later.data = c;

	if (connecting) {
		ev_io_start(loop, &c->wio);
	} else {
		conn__addrs(c);
		ev_io_start(loop, &c->rio);
	}
	conn__arm_timers(c, true);
	return c;
}

/* ---- closing ---- */

static void conn__free(struct rd_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	conn__queue_free(c);
	rd_buf_wipe(&c->in);
	rd_buf_wipe(&c->plain);
	rd_buf_free(&c->sealed);
	sodium_memzero(&c->cs, sizeof(c->cs));
	free(c);
}

void rd_conn_close(struct rd_conn *c, int reason)
{
	char peer[RD_ADDRSTRLEN];

	if (c->closing)
		return;
	c->closing = true;
	c->reason = reason;
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	ev_timer_stop(c->loop, &c->first_timer);
	ev_timer_stop(c->loop, &c->idle_timer);
	ev_timer_stop(c->loop, &c->flush_timer);
	ev_idle_stop(c->loop, &c->later);
	ev_idle_start(c->loop, &c->later);
	log_debug("%s: closing (%s), %llu bytes in, %llu out, %zu unsent",
		conn__peer_str(c, peer, sizeof(peer)), rd_strerror(reason),
		(unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out, c->queued);
}

static void conn__on_later(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct rd_conn *c = w->data;

	(void)revents;
	ev_idle_stop(loop, w);
	if (c->closing) {
		if (c->ops.on_close)
			c->ops.on_close(c, c->reason, c->ud);
		conn__free(c);
		return;
	}
	/* resumed with whole frames already buffered */
	if (!c->paused && !c->flush_close && !c->connecting)
		conn__deliver(c);
}

/* ---- receiving ---- */

static int conn__errno_reason(int err)
{
	switch (err) {
	case ECONNRESET:
	case EPIPE:
		return RD_ERR_EOF;
	case ECONNREFUSED:
		return RD_ERR_REFUSED;
	case ETIMEDOUT:
		return RD_ERR_TIMEOUT;
	default:
		return RD_ERR_IO;
	}
}

void conn__fail(struct rd_conn *c, int err, const char *what)
{
	char peer[RD_ADDRSTRLEN];

	log_debug("%s: %s: %s", conn__peer_str(c, peer, sizeof(peer)), what, strerror(err));
	rd_conn_close(c, conn__errno_reason(err));
}

static void conn__deliver(struct rd_conn *c)
{
	char peer[RD_ADDRSTRLEN];

	while (!c->closing && !c->paused && !c->flush_close) {
		const uint8_t *payload;
		size_t len, consumed;
		int rc = rd_frame_next(rd_buf_ptr(&c->in), rd_buf_size(&c->in), c->lim.max_frame,
			&payload, &len, &consumed);

		if (rc == RD_ERR_TRUNCATED)
			break;
		if (rc != RD_OK) {
			size_t hl = 0, announced = 0;
			rd_frame_header_decode(rd_buf_ptr(&c->in), rd_buf_size(&c->in), &hl, &announced);
			log_debug("%s: frame of %zu bytes over the limit of %zu",
				conn__peer_str(c, peer, sizeof(peer)), announced, c->lim.max_frame);
			rd_conn_close(c, rc == RD_ERR_TOOBIG ? RD_ERR_TOOBIG : RD_ERR_PROTO);
			break;
		}
		if (c->crypto) {
			rd_buf_reset(&c->plain);
			rc = rd_crypto_open(&c->cs, payload, len, &c->plain);
			if (rc != RD_OK) {
				log_debug("%s: frame of %zu bytes does not decrypt",
					conn__peer_str(c, peer, sizeof(peer)), len);
				rd_conn_close(c, rc == RD_ERR_NOMEM ? rc : RD_ERR_CRYPTO);
				break;
			}
			payload = rd_buf_ptr(&c->plain);
			len = rd_buf_size(&c->plain);
		}
		/* Consumed before the callback: the bytes stay in place until the
		 * next read, and nothing in on_frame can read into `in`. */
		rd_buf_consume(&c->in, consumed);
		if (!c->got_frame && len > 0) { /* a heartbeat is not a message */
			c->got_frame = true;
			ev_timer_stop(c->loop, &c->first_timer);
		}
		if (c->ops.on_frame)
			c->ops.on_frame(c, payload, len, c->ud);
	}
	if (c->closing)
		return;
	if (!rd_buf_size(&c->in) && c->in.cap > CONN_RBUF_KEEP)
		rd_buf_free(&c->in);
	if (c->plain.cap > CONN_RBUF_KEEP)
		rd_buf_wipe(&c->plain);
	else
		rd_buf_reset(&c->plain);
}

/* How much to read: enough for the pending frame when its header is in. */
static size_t conn__read_size(const struct rd_conn *c)
{
	size_t hl, pl, have = rd_buf_size(&c->in), want = CONN_READ_CHUNK;

	if (rd_frame_header_decode(rd_buf_ptr(&c->in), have, &hl, &pl) == RD_OK &&
	    pl <= c->lim.max_frame && hl + pl > have) {
		size_t need = hl + pl - have;
		if (need > want)
			want = need < CONN_READ_MAX ? need : CONN_READ_MAX;
	}
	return want;
}

/* During a flush-close: drop what the peer sends and watch for its EOF. */
static void conn__drain_input(struct rd_conn *c)
{
	uint8_t junk[16384];
	ssize_t n = read(c->fd, junk, sizeof(junk));

	if (n > 0) {
		c->bytes_in += (uint64_t)n;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	c->rx_eof = true;
	ev_io_stop(c->loop, &c->rio);
	if (c->lingering)
		rd_conn_close(c, RD_OK);
	else if (n < 0)
		conn__fail(c, errno, "read");
}

static void conn__on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rd_conn *c = w->data;
	size_t want;
	uint8_t *p;
	ssize_t n;

	(void)revents;
	if (c->flush_close) {
		conn__drain_input(c);
		return;
	}
	want = conn__read_size(c);
	p = rd_buf_reserve(&c->in, want);
	if (!p) {
		rd_conn_close(c, RD_ERR_NOMEM);
		return;
	}
	n = read(c->fd, p, want);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn__fail(c, errno, "read");
		return;
	}
	if (n == 0) {
		c->rx_eof = true;
		rd_conn_close(c, RD_ERR_EOF);
		return;
	}
	rd_buf_commit(&c->in, (size_t)n);
	c->bytes_in += (uint64_t)n;
	c->last_rx = ev_now(loop);
	conn__deliver(c);
}

/* ---- timers ---- */

static void conn__on_first(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rd_conn *c = w->data;
	char peer[RD_ADDRSTRLEN];

	(void)loop, (void)revents;
	log_debug("%s: no message within %.1f s", conn__peer_str(c, peer, sizeof(peer)),
		c->lim.first_msg_timeout);
	rd_conn_close(c, RD_ERR_TIMEOUT);
}

/* Lazy idle timer: reads only record the time; the timer checks it when it
 * fires and sleeps again for the rest. */
static void conn__on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rd_conn *c = w->data;
	char peer[RD_ADDRSTRLEN];
	double left = c->last_rx + c->lim.idle_timeout - ev_now(loop);

	(void)revents;
	if (left > 1e-3) {
		w->repeat = left;
		ev_timer_again(loop, w);
		return;
	}
	log_debug("%s: idle for %.1f s", conn__peer_str(c, peer, sizeof(peer)), c->lim.idle_timeout);
	rd_conn_close(c, RD_ERR_TIMEOUT);
}

static void conn__on_flush_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rd_conn *c = w->data;

	(void)loop, (void)revents;
	/* Everything was sent if we were only waiting for the peer's EOF. */
	rd_conn_close(c, c->lingering ? RD_OK : RD_ERR_TIMEOUT);
}

/* ---- control and accessors ---- */

void rd_conn_set_crypto(struct rd_conn *c, const struct rd_crypto_stream *cs)
{
	c->cs = *cs;
	c->crypto = true;
}

bool rd_conn_encrypted(const struct rd_conn *c)
{
	return c->crypto;
}

void rd_conn_set_limits(struct rd_conn *c, const struct rd_conn_limits *lim)
{
	conn__limits(&c->lim, lim);
	conn__arm_timers(c, true);
}

void rd_conn_pause_read(struct rd_conn *c, bool paused)
{
	if (c->closing || c->paused == paused)
		return;
	c->paused = paused;
	if (c->flush_close)
		return; /* input is being drained regardless */
	if (paused) {
		ev_io_stop(c->loop, &c->rio);
		ev_timer_stop(c->loop, &c->idle_timer);
		return;
	}
	c->last_rx = ev_now(c->loop);
	conn__arm_timers(c, false);
	if (c->connecting)
		return;
	ev_io_start(c->loop, &c->rio);
	if (rd_buf_size(&c->in))
		ev_idle_start(c->loop, &c->later);
}

bool rd_conn_closing(const struct rd_conn *c)
{
	return c->closing || c->flush_close;
}

const struct rd_sockaddr *rd_conn_peer(const struct rd_conn *c)
{
	return &c->peer;
}

const struct rd_sockaddr *rd_conn_local(const struct rd_conn *c)
{
	return &c->local;
}

int rd_conn_fd(const struct rd_conn *c)
{
	return c->fd;
}

void *rd_conn_userdata(const struct rd_conn *c)
{
	return c->ud;
}

void rd_conn_set_userdata(struct rd_conn *c, void *ud)
{
	c->ud = ud;
}

void rd_conn_set_ops(struct rd_conn *c, const struct rd_conn_ops *ops, void *ud)
{
	memset(&c->ops, 0, sizeof(c->ops));
	if (ops)
		c->ops = *ops;
	c->ud = ud;
}

uint64_t rd_conn_bytes_in(const struct rd_conn *c)
{
	return c->bytes_in;
}

uint64_t rd_conn_bytes_out(const struct rd_conn *c)
{
	return c->bytes_out;
}
