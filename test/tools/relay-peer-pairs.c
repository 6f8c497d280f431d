/* relay-peer: many pairs on one libev loop, every byte checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "net.h"
#include "util.h"

#include "relay-peer.h"

#define TXBUF 8192

struct ppair;

struct pconn {
	struct ppair *pair;
	int side;
	int fd;
	ev_io io;
	uint8_t hello[1536];
	size_t hello_len, hello_off;
	struct stream tx, rx;
	uint64_t tx_left, rx_left;
	uint64_t tx_sum, rx_sum;
	uint8_t txbuf[TXBUF];
	size_t txb_len, txb_off;
	bool tx_started, tx_done, rx_eof, closed;
};

struct ppair {
	unsigned idx;
	struct pconn c[2];
	bool done;
};

struct engine {
	struct ev_loop *loop;
	struct ppair *pairs;
	unsigned n, started, finished, ok, failed;
	unsigned concurrency;
	uint64_t bytes;
	bool sequenced;   /* halfclose: side 1 answers only after side 0's EOF */
	uint64_t sum_tx, sum_rx;
	ev_timer timeout;
};

static struct engine E;

static void pconn_update(struct pconn *c);
static void pair_start(unsigned i);

static void pair_finish(struct ppair *p, bool good)
{
	if (p->done)
		return;
	p->done = true;
	for (int s = 0; s < 2; s++) {
		struct pconn *c = &p->c[s];
		ev_io_stop(E.loop, &c->io);
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		if (good) {
			E.sum_tx ^= c->tx_sum;
			E.sum_rx ^= c->rx_sum;
		}
	}
	E.finished++;
	if (good)
		E.ok++;
	else
		E.failed++;
	if (E.started < E.n)
		pair_start(E.started);
	if (E.finished == E.n)
		ev_break(E.loop, EVBREAK_ALL);
}

static void pconn_fail(struct pconn *c, const char *what)
{
	if (E.failed < 5)
		fprintf(stderr, "relay-peer: pair %u side %d: %s\n", c->pair->idx, c->side, what);
	pair_finish(c->pair, false);
}

static void pconn_check_done(struct pconn *c)
{
	struct ppair *p = c->pair;
	if (p->c[0].tx_done && p->c[0].rx_eof && p->c[1].tx_done && p->c[1].rx_eof)
		pair_finish(p, true);
}

/* Returns false when the pair was finished. */
static bool pconn_write(struct pconn *c)
{
	while (c->hello_off < c->hello_len) {
		ssize_t k = send(c->fd, c->hello + c->hello_off, c->hello_len - c->hello_off,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (k <= 0) {
			pconn_fail(c, "send RequestRelay failed");
			return false;
		}
		c->hello_off += (size_t)k;
	}
	if (!c->tx_started || c->tx_done)
		return true;
	for (;;) {
		if (c->txb_off == c->txb_len) {
			if (c->tx_left == 0) {
				if (E.sequenced && c->side == 1) {
					ev_io_stop(E.loop, &c->io);
					close(c->fd);
					c->fd = -1;
					c->closed = true;
				} else
					shutdown(c->fd, SHUT_WR);
				c->tx_done = true;
				pconn_check_done(c);
				return !c->pair->done;
			}
			size_t n = c->tx_left < TXBUF ? (size_t)c->tx_left : TXBUF;
			stream_fill(&c->tx, c->txbuf, n);
			sum_update(&c->tx_sum, c->txbuf, n);
			c->txb_len = n;
			c->txb_off = 0;
			c->tx_left -= n;
		}
		ssize_t k = send(c->fd, c->txbuf + c->txb_off, c->txb_len - c->txb_off,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (k <= 0) {
			pconn_fail(c, "send failed");
			return false;
		}
		c->txb_off += (size_t)k;
		E.bytes += (uint64_t)k;
	}
}

static bool pconn_read(struct pconn *c)
{
	uint8_t buf[65536], want[65536];
	for (int i = 0; i < 16; i++) {
		ssize_t k = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (k < 0) {
			pconn_fail(c, strerror(errno));
			return false;
		}
		if (k == 0) {
			if (c->rx_left) {
				pconn_fail(c, "EOF before all bytes arrived");
				return false;
			}
			c->rx_eof = true;
			if (E.sequenced && c->side == 1)
				c->tx_started = true;
			if (!c->tx_done)
				return true;
			pconn_check_done(c);
			return !c->pair->done;
		}
		if ((uint64_t)k > c->rx_left) {
			pconn_fail(c, "more bytes than the peer sent");
			return false;
		}
		stream_fill(&c->rx, want, (size_t)k);
		if (memcmp(buf, want, (size_t)k) != 0) {
			pconn_fail(c, "bytes differ from what the peer sent");
			return false;
		}
		sum_update(&c->rx_sum, buf, (size_t)k);
		c->rx_left -= (uint64_t)k;
	}
	return true;
}

static void on_pconn(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct pconn *c = w->data;
	if ((revents & EV_READ) && !pconn_read(c))
		return;
	if ((revents & EV_WRITE) && !pconn_write(c))
		return;
	if (c->tx_started && !c->tx_done && !(revents & EV_WRITE) && !pconn_write(c))
		return;
	pconn_update(c);
}

static void pconn_update(struct pconn *c)
{
	if (c->closed || c->fd < 0)
		return;
	int ev = 0;
	if (!c->rx_eof)
		ev |= EV_READ;
	if (c->hello_off < c->hello_len || (c->tx_started && !c->tx_done))
		ev |= EV_WRITE;
	if (ev == 0) {
		ev_io_stop(E.loop, &c->io);
		return;
	}
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == ev)
		return;
	ev_io_stop(E.loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	ev_io_start(E.loop, &c->io);
}

static void pair_start(unsigned i)
{
	struct ppair *p = &E.pairs[i];
	char uuid[64];
	E.started++;
	p->idx = i;
	snprintf(uuid, sizeof(uuid), "%s-%u", run_id, i);
	for (int s = 0; s < 2; s++) {
		struct pconn *c = &p->c[s];
		c->pair = p;
		c->side = s;
		c->fd = -1;
	}
	for (int s = 0; s < 2; s++) {
		struct pconn *c = &p->c[s];
		c->fd = connect_relay();
		if (c->fd < 0) {
			pconn_fail(c, "connect failed");
			return;
		}
		rd_net_set_nonblock(c->fd, true);
		c->hello_len = request_frame(uuid, licence_key, s + 1, c->hello, sizeof(c->hello));
		c->tx_started = !(E.sequenced && s == 1);
		/* The first data goes out with the frame in one send, so the relay
		 * reads bytes past the first frame and must forward them first. */
		size_t room = sizeof(c->hello) - c->hello_len;
		size_t pre = c->tx_started && c->tx_left < room ? (size_t)c->tx_left : room;
		if (c->tx_started && c->hello_len && pre) {
			stream_fill(&c->tx, c->hello + c->hello_len, pre);
			sum_update(&c->tx_sum, c->hello + c->hello_len, pre);
			c->hello_len += pre;
			c->tx_left -= pre;
			E.bytes += pre;
		}
		/* The frame goes now: connecting many pairs takes a while, and the
		 * relay's first-frame deadline runs from the connect. */
		ssize_t k = send(c->fd, c->hello, c->hello_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0)
			c->hello_off = (size_t)k;
		ev_io_init(&c->io, on_pconn, c->fd, EV_READ | EV_WRITE);
		c->io.data = c;
		ev_io_start(E.loop, &c->io);
	}
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	fprintf(stderr, "relay-peer: timed out with %u of %u pairs finished\n", E.finished, E.n);
	E.failed += E.n - E.finished;
	ev_break(loop, EVBREAK_ALL);
}

int run_pairs(unsigned n, uint64_t bytes, unsigned concurrency, bool sequenced)
{
	memset(&E, 0, sizeof(E));
	E.loop = ev_default_loop(0);
	E.n = n;
	E.sequenced = sequenced;
	E.concurrency = concurrency && concurrency < n ? concurrency : n;
	E.pairs = calloc(n, sizeof(*E.pairs));
	if (!E.pairs)
		return 1;
	for (unsigned i = 0; i < n; i++)
		for (int s = 0; s < 2; s++) {
			struct pconn *c = &E.pairs[i].c[s];
			stream_init(&c->tx, (uint64_t)i * 2 + (uint64_t)s + 1);
			stream_init(&c->rx, (uint64_t)i * 2 + (uint64_t)(1 - s) + 1);
			c->tx_left = c->rx_left = bytes;
		}
	double t0 = rd_now();
	ev_timer_init(&E.timeout, on_timeout, timeout_secs, 0.);
	ev_timer_start(E.loop, &E.timeout);
	/* Serve the pairs already open between two connects: opening a
	 * thousand takes a while on a busy machine, and a pair that moves
	 * nothing meanwhile meets the relay's idle timeout. */
	while (E.started < E.n && E.started - E.finished < E.concurrency) {
		pair_start(E.started);
		ev_run(E.loop, EVRUN_NOWAIT);
	}
	if (E.finished < E.n)
		ev_run(E.loop, 0);
	double secs = rd_now() - t0;
	printf("pairs %u ok %u failed %u bytes %llu secs %.2f sum_tx %016llx sum_rx %016llx\n",
		n, E.ok, E.failed, (unsigned long long)E.bytes, secs,
		(unsigned long long)E.sum_tx, (unsigned long long)E.sum_rx);
	bool good = E.ok == n && E.failed == 0 && E.sum_tx == E.sum_rx;
	free(E.pairs);
	return good ? 0 : 1;
}

