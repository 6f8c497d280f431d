/* Shared harness of the conn unit tests: a peer that records what its conn
 * delivers and can close, pause, echo or switch on crypto from inside
 * on_frame, and a runner for the real libev loop with a bounded wait. */
#ifndef RD_TEST_CONN_HARNESS_H
#define RD_TEST_CONN_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <ev.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "conn.h"
#include "crypto.h"
#include "err.h"
#include "net.h"
#include "util.h"

#define MIB (1024u * 1024)

static struct ev_loop *loop;

struct peer {
	struct rd_conn *c;
	struct rd_buf got;          /* all payloads, concatenated */
	size_t lens[64];
	int nframes;
	int closed, reason, connected, drained;
	int close_at;               /* rd_conn_close in on_frame at this frame */
	int pause_at;               /* pause reading in on_frame at this frame */
	bool echo;                  /* send every frame back */
	bool send_then_close;       /* at close_at: send a reply first */
	const struct rd_crypto_stream *crypto_at_first; /* switch on after frame 1 */
};

static void on_frame(struct rd_conn *c, const uint8_t *p, size_t len, void *ud)
{
	struct peer *pe = ud;

	assert_ptr_equal(c, pe->c);
	assert_int_equal(pe->closed, 0);
	assert_int_equal(rd_buf_put(&pe->got, p, len), RD_OK);
	if (pe->nframes < 64)
		pe->lens[pe->nframes] = len;
	pe->nframes++;
	if (pe->echo)
		assert_int_equal(rd_conn_send(c, p, len), RD_OK);
	if (pe->crypto_at_first && pe->nframes == 1)
		rd_conn_set_crypto(c, pe->crypto_at_first);
	if (pe->pause_at == pe->nframes)
		rd_conn_pause_read(c, true);
	if (pe->close_at == pe->nframes) {
		if (pe->send_then_close)
			assert_int_equal(rd_conn_send(c, "bye", 3), RD_OK);
		rd_conn_close(c, RD_OK);
		rd_conn_close(c, RD_ERR_IO); /* a second close changes nothing */
		assert_int_equal(rd_conn_send(c, "x", 1), RD_ERR_CLOSED);
		assert_true(rd_conn_closing(c));
	}
}

static void on_close(struct rd_conn *c, int reason, void *ud)
{
	struct peer *pe = ud;

	assert_ptr_equal(c, pe->c);
	pe->closed++;
	pe->reason = reason;
	pe->c = NULL; /* freed once we return */
}

static void on_connected(struct rd_conn *c, void *ud)
{
	((struct peer *)ud)->connected++;
	(void)c;
}

static void on_drain(struct rd_conn *c, void *ud)
{
	((struct peer *)ud)->drained++;
	assert_true(rd_conn_writable(c));
}

static const struct rd_conn_ops ops = {
	.on_frame = on_frame, .on_close = on_close, .on_connected = on_connected, .on_drain = on_drain,
};

static void tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l, (void)w, (void)revents;
}

/* Run the loop until cond holds or timeout seconds pass. */
static inline bool run_until(bool (*cond)(void *), void *arg, double timeout)
{
	double end = rd_now() + timeout;
	ev_timer t;

	ev_timer_init(&t, tick, 0.01, 0.01);
	ev_timer_start(loop, &t);
	while (!(cond && cond(arg)) && rd_now() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return cond && cond(arg);
}

static inline void run_for(double secs)
{
	run_until(NULL, NULL, secs);
}

static inline bool is_closed(void *arg)
{
	return ((struct peer *)arg)->closed > 0;
}

struct want_frames {
	struct peer *p;
	int n;
};

static inline bool has_frames(void *arg)
{
	struct want_frames *w = arg;
	return w->p->nframes >= w->n || w->p->closed;
}

static inline void peer_init(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	rd_buf_init(&p->got, 0);
}

static inline void peer_done(struct peer *p)
{
	if (p->c) {
		rd_conn_close(p->c, RD_OK);
		assert_true(run_until(is_closed, p, 2));
	}
	rd_buf_free(&p->got);
}

static inline void fill(uint8_t *b, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

static inline void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* Two fresh peers, each with a conn on one end of a new socketpair sv. */
static inline void peers_connect(struct peer *a, struct peer *b, int sv[2])
{
	peer_init(a);
	peer_init(b);
	pair(sv);
	a->c = rd_conn_new(loop, sv[0], false, NULL, &ops, a);
	b->c = rd_conn_new(loop, sv[1], false, NULL, &ops, b);
}

static inline int setup(void **state)
{
	(void)state;
	loop = ev_loop_new(EVFLAG_AUTO);
	return loop ? 0 : -1;
}

static inline int teardown(void **state)
{
	(void)state;
	ev_loop_destroy(loop);
	return 0;
}


#endif
