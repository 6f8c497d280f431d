/* conn sending: frames are framed (and sealed) into a queue of chunks,
 * small frames sharing one, and written with sendmsg() over an iovec. The
 * write watcher runs only while bytes are queued (it also waits for an
 * outgoing connect). A soft limit turns rd_conn_writable() false until
 * on_drain; the hard limit closes the conn. */
#define RD_LOG_SUBSYS "conn"
#include "conn.h"

#include <errno.h>
#include <ev.h>
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "buf.h"
#include "codec.h"
#include "conn_int.h"
#include "crypto.h"
#include "err.h"
#include "log.h"

static void conn__chunk_free(struct conn_chunk *ch)
{
	rd_buf_free(&ch->b);
	free(ch);
}

void conn__queue_free(struct rd_conn *c)
{
	struct conn_chunk *ch, *next;

	for (ch = c->head; ch; ch = next) {
		next = ch->next;
		conn__chunk_free(ch);
	}
	if (c->spare)
		conn__chunk_free(c->spare);
	c->head = c->tail = c->spare = NULL;
	c->queued = 0;
	for (struct conn_held *h = c->held, *hn; h; h = hn) {
		hn = h->next;
		free(h);
	}
	c->held = c->held_tail = NULL;
	c->held_bytes = 0;
}

static void conn__trim(struct rd_conn *c, size_t n)
{
	c->queued -= n;
	c->bytes_out += n;
	while (n) {
		struct conn_chunk *ch = c->head;
		size_t sz = rd_buf_size(&ch->b);

		if (n < sz) {
			rd_buf_consume(&ch->b, n);
			return;
		}
		n -= sz;
		c->head = ch->next;
		if (!c->head)
			c->tail = NULL;
		if (!c->spare && ch->b.cap <= CONN_SPARE_MAX) {
			rd_buf_reset(&ch->b);
			ch->next = NULL;
			c->spare = ch;
		} else {
			conn__chunk_free(ch);
		}
	}
}

/* Write as much of the queue as the socket takes. Returns false when the
 * conn is now closing. The write watcher is left active only while bytes
 * remain. */
static bool conn__flush(struct rd_conn *c)
{
	while (c->queued) {
		struct iovec iov[CONN_IOV];
		struct conn_chunk *ch;
		size_t total = 0;
		int cnt = 0;
		ssize_t n;

		for (ch = c->head; ch && cnt < CONN_IOV; ch = ch->next) {
			iov[cnt].iov_base = (void *)rd_buf_ptr(&ch->b);
			iov[cnt].iov_len = rd_buf_size(&ch->b);
			total += iov[cnt++].iov_len;
		}
		if (c->not_socket) {
			n = writev(c->fd, iov, cnt);
		} else {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
			n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == ENOTSOCK) {
				c->not_socket = true;
				continue;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn__fail(c, errno, "write");
			return false;
		}
		conn__trim(c, (size_t)n);
		if ((size_t)n < total)
			break; /* the socket buffer is full */
	}
	if (c->queued)
		ev_io_start(c->loop, &c->wio);
	else
		ev_io_stop(c->loop, &c->wio);
	return true;
}

/* The queue is empty after rd_conn_close_after_flush(): half-close and wait
 * (bounded by the flush timer) for the peer's EOF, so that our last bytes are
 * not lost to a reset caused by unread input. */
static void conn__flushed(struct rd_conn *c)
{
	if (c->rx_eof || shutdown(c->fd, SHUT_WR) < 0) {
		rd_conn_close(c, RD_OK);
		return;
	}
	c->lingering = true;
	ev_io_start(c->loop, &c->rio);
}

static int conn__queue(struct rd_conn *c, const void *payload, size_t len, bool raw);

/* Move held frames onto the wire queue while it is short (all of them when
 * all is set). Returns false when the conn is now closing. */
static bool conn__release(struct rd_conn *c, bool all)
{
	while (c->held && (all || c->queued < CONN_AHEAD)) {
		struct conn_held *h = c->held;
		c->held = h->next;
		if (!c->held)
			c->held_tail = NULL;
		c->held_bytes -= h->len;
		int rc = conn__queue(c, h->data, h->len, false);
		free(h);
		if (rc != RD_OK)
			return false;
	}
	return true;
}

static void conn__after_write(struct rd_conn *c)
{
	if (c->closing)
		return;
	if (c->held && !c->flush_close && (!conn__release(c, false) || c->closing))
		return;
	if (c->flush_close) {
		if (!c->queued && !c->lingering)
			conn__flushed(c);
		return;
	}
	if (c->over_soft && c->queued + c->held_bytes < c->lim.sndq_soft) {
		c->over_soft = false;
		if (c->ops.on_drain)
			c->ops.on_drain(c, c->ud);
	}
}

static void conn__connected(struct rd_conn *c)
{
	char peer[RD_ADDRSTRLEN];

	if (rd_net_connect_result(c->fd) != RD_OK) {
		conn__fail(c, errno, "connect");
		return;
	}
	c->connecting = false;
	conn__addrs(c);
	log_debug("%s: connected", conn__peer_str(c, peer, sizeof(peer)));
	if (!c->paused || c->flush_close)
		ev_io_start(c->loop, &c->rio); /* after a flush-close: drained and dropped */
	if (c->ops.on_connected && !c->flush_close)
		c->ops.on_connected(c, c->ud);
	if (c->closing)
		return;
	if (conn__flush(c))
		conn__after_write(c);
}

void conn__on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rd_conn *c = w->data;

	(void)loop, (void)revents;
	if (c->connecting) {
		conn__connected(c);
		return;
	}
	if (conn__flush(c))
		conn__after_write(c);
}

static struct conn_chunk *conn__chunk_for(struct rd_conn *c, size_t total)
{
	struct conn_chunk *ch = c->tail;

	if (ch && rd_buf_size(&ch->b) + total <= CONN_COALESCE)
		return ch;
	if (c->spare) {
		ch = c->spare;
		c->spare = NULL;
	} else {
		ch = malloc(sizeof(*ch));
		if (!ch)
			return NULL;
		rd_buf_init(&ch->b, 0);
	}
	ch->next = NULL;
	if (!rd_buf_reserve(&ch->b, total < CONN_COALESCE ? CONN_COALESCE : total)) {
		conn__chunk_free(ch);
		return NULL;
	}
	if (c->tail)
		c->tail->next = ch;
	else
		c->head = ch;
	c->tail = ch;
	return ch;
}

static int conn__queue(struct rd_conn *c, const void *payload, size_t len, bool raw)
{
	size_t body = len, total;
	uint8_t hdr[RD_FRAME_HDR_MAX];
	struct conn_chunk *ch;
	char peer[RD_ADDRSTRLEN];
	int rc;

	if (c->closing || c->flush_close)
		return RD_ERR_CLOSED;
	if (!raw && c->crypto) {
		if (len > RD_FRAME_LEN_MAX - RD_SECRETBOX_MAC_LEN)
			return RD_ERR_TOOBIG;
		body += RD_SECRETBOX_MAC_LEN;
	}
	if (raw) {
		total = len;
	} else {
		size_t hl = rd_frame_header_encode(hdr, body);
		if (!hl)
			return RD_ERR_TOOBIG;
		total = hl + body;
	}
	if (total > c->lim.sndq_hard - c->queued - c->held_bytes ||
	    c->queued + c->held_bytes > c->lim.sndq_hard) {
		log_debug("%s: send queue over %zu bytes", conn__peer_str(c, peer, sizeof(peer)),
			c->lim.sndq_hard);
		rd_conn_close(c, RD_ERR_LIMIT);
		return RD_ERR_LIMIT;
	}
	if (!raw && c->crypto) {
		rd_buf_reset(&c->sealed);
		rc = rd_crypto_seal(&c->cs, payload, len, &c->sealed);
		if (rc != RD_OK)
			goto broken;
		payload = rd_buf_ptr(&c->sealed);
		len = rd_buf_size(&c->sealed);
	}
	ch = conn__chunk_for(c, total);
	if (!ch) {
		rc = RD_ERR_NOMEM;
		goto broken;
	}
	rc = raw ? rd_buf_put(&ch->b, payload, len) : rd_frame_append(&ch->b, payload, len);
	if (rc != RD_OK)
		goto broken;
	if (c->sealed.cap > CONN_RBUF_KEEP)
		rd_buf_free(&c->sealed);
	c->queued += total;
	if (c->queued + c->held_bytes >= c->lim.sndq_soft)
		c->over_soft = true;
	if (!c->connecting && !ev_is_active(&c->wio)) {
		/* Nothing was waiting: try at once. on_drain is only called from
		 * the write watcher, never from inside a send. */
		if (!conn__flush(c))
			return RD_OK; /* queued, and the failure goes to on_close */
		if (c->queued + c->held_bytes < c->lim.sndq_soft)
			c->over_soft = false;
	}
	return RD_OK;
broken:
	/* A sealed frame that cannot be queued leaves the nonce counters out of
	 * step with the peer: the stream is unusable. */
	rd_conn_close(c, rc);
	return rc;
}

/* Hold a frame back behind the others (lanes on, the wire queue long). */
static int conn__hold(struct rd_conn *c, const void *payload, size_t len)
{
	char peer[RD_ADDRSTRLEN];
	if (c->closing || c->flush_close)
		return RD_ERR_CLOSED;
	if (len > c->lim.sndq_hard || c->queued + c->held_bytes > c->lim.sndq_hard - len) {
		log_debug("%s: send queue over %zu bytes", conn__peer_str(c, peer, sizeof(peer)),
			c->lim.sndq_hard);
		rd_conn_close(c, RD_ERR_LIMIT);
		return RD_ERR_LIMIT;
	}
	struct conn_held *h = malloc(sizeof(*h) + len);
	if (!h)
		return RD_ERR_NOMEM;
	h->next = NULL;
	h->len = len;
	memcpy(h->data, payload, len);
	if (c->held_tail)
		c->held_tail->next = h;
	else
		c->held = h;
	c->held_tail = h;
	c->held_bytes += len;
	if (c->queued + c->held_bytes >= c->lim.sndq_soft)
		c->over_soft = true;
	return RD_OK;
}

int rd_conn_send(struct rd_conn *c, const void *payload, size_t len)
{
	if (c->lanes && (c->held || c->queued >= CONN_AHEAD))
		return conn__hold(c, payload, len);
	return conn__queue(c, payload, len, false);
}

int rd_conn_send_urgent(struct rd_conn *c, const void *payload, size_t len)
{
	return conn__queue(c, payload, len, false);
}

void rd_conn_enable_urgent(struct rd_conn *c)
{
	c->lanes = true;
}

int rd_conn_send_raw(struct rd_conn *c, const void *bytes, size_t len)
{
	return conn__queue(c, bytes, len, true);
}

int rd_conn_send_pb(struct rd_conn *c, const struct ProtobufCMessage *msg)
{
	uint8_t stack[CONN_PB_STACK], *p = stack;
	size_t len = protobuf_c_message_get_packed_size(msg);
	int rc;

	if (c->closing || c->flush_close)
		return RD_ERR_CLOSED;
	if (len > sizeof(stack)) {
		p = malloc(len);
		if (!p)
			return RD_ERR_NOMEM;
	}
	protobuf_c_message_pack(msg, p);
	rc = conn__queue(c, p, len, false);
	if (p != stack)
		free(p);
	return rc;
}

size_t rd_conn_queued(const struct rd_conn *c)
{
	return c->queued + c->held_bytes;
}

bool rd_conn_writable(const struct rd_conn *c)
{
	return !c->closing && !c->flush_close && c->queued + c->held_bytes < c->lim.sndq_soft;
}

void rd_conn_close_after_flush(struct rd_conn *c)
{
	if (c->closing || c->flush_close)
		return;
	/* Everything held goes out first, in order. */
	if (!conn__release(c, true) || c->closing)
		return;
	c->flush_close = true;
	ev_timer_stop(c->loop, &c->first_timer);
	ev_timer_stop(c->loop, &c->idle_timer);
	ev_timer_set(&c->flush_timer, CONN_FLUSH_TIMEOUT, 0.);
	ev_timer_start(c->loop, &c->flush_timer);
	rd_buf_reset(&c->in);
	if (c->connecting)
		return;
	/* keep reading (and dropping) so a peer blocked on sending still reads ours */
	if (!c->rx_eof)
		ev_io_start(c->loop, &c->rio);
	if (!c->queued)
		conn__flushed(c);
}
