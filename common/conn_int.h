/* conn internals shared by conn.c (lifecycle, receiving, timers) and
 * conn_send.c (queue, writing, connect completion). Not for other modules. */
#ifndef RD_CONN_INT_H
#define RD_CONN_INT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "crypto.h"
#include "net.h"

#define CONN_SOFT_DEFAULT (1u << 20)
#define CONN_HARD_DEFAULT (16u << 20)
#define CONN_READ_CHUNK (64u * 1024)    /* one read() when no big frame is pending */
#define CONN_READ_MAX (1u << 20)        /* one read() toward a big frame */
#define CONN_RBUF_KEEP (256u * 1024)    /* larger idle receive buffers are released */
#define CONN_COALESCE (16u * 1024)      /* small frames share a queue chunk up to this */
#define CONN_SPARE_MAX (64u * 1024)     /* an emptied chunk this small is kept for reuse */
#define CONN_IOV 64
#define CONN_FLUSH_TIMEOUT 5.0
#define CONN_PB_STACK 512

struct conn_chunk {
	struct conn_chunk *next;
	struct rd_buf b;
};

/* A frame held back, plaintext, behind the wire queue (rd_conn_enable_urgent). */
#define CONN_AHEAD (32u * 1024)         /* wire bytes queued before frames are held */
struct conn_held {
	struct conn_held *next;
	size_t len;
	uint8_t data[];
};

struct rd_conn {
	struct ev_loop *loop;
	int fd;
	ev_io rio, wio;
	ev_timer first_timer, idle_timer, flush_timer;
	ev_idle later;               /* deferred close, or delivery after a resume */
	struct rd_conn_ops ops;
	void *ud;
	struct rd_conn_limits lim;

	struct rd_buf in;            /* received bytes not yet delivered */
	struct rd_buf plain;         /* the decrypted payload being delivered */
	struct rd_buf sealed;        /* one encrypted payload before framing */
	struct conn_chunk *head, *tail, *spare;
	size_t queued;               /* on the wire queue (framed, sealed) */
	bool lanes;                  /* rd_conn_enable_urgent() was called */
	struct conn_held *held, *held_tail;
	size_t held_bytes;           /* payload bytes held back */

	struct rd_crypto_stream cs;
	bool crypto;

	bool connecting;
	bool closing;                /* on_close is scheduled */
	bool paused;
	bool got_frame;
	bool over_soft;              /* owner saw the queue at or over the soft limit */
	bool flush_close;            /* rd_conn_close_after_flush() was called */
	bool lingering;              /* flushed and shut down, waiting for the peer's EOF */
	bool rx_eof;
	bool not_socket;             /* use writev(): sendmsg() said ENOTSOCK */
	int reason;
	double last_rx;

	struct rd_sockaddr peer, local;
	uint64_t bytes_in, bytes_out;
};

/* conn.c */
const char *conn__peer_str(const struct rd_conn *c, char *buf, size_t sz);
void conn__addrs(struct rd_conn *c);
void conn__fail(struct rd_conn *c, int err, const char *what);

/* conn_send.c */
void conn__on_write(struct ev_loop *loop, ev_io *w, int revents);
void conn__queue_free(struct rd_conn *c);

#endif
