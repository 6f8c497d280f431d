/* conn: a framed TCP stream on a libev loop.
 *
 * Reads frames (codec.h) up to a size limit and hands each payload to on_frame;
 * sends through a queue with a soft limit (rd_conn_writable() turns false, the
 * owner should skip or pause) and a hard limit (the connection is closed).
 * A first-message deadline and an idle timer close silent peers.
 * Optional encryption (crypto.h stream) wraps every frame once enabled.
 *
 * Closing is deferred: rd_conn_close() stops all I/O at once and calls on_close
 * later from the loop (never inside the caller's stack); after on_close returns
 * the conn is freed. So it is always safe to close inside a callback, and a conn
 * pointer stays valid until its on_close has run. */
#ifndef RD_CONN_H
#define RD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct ev_loop;
struct rd_conn;
struct rd_crypto_stream;
struct ProtobufCMessage;

struct rd_conn_ops {
	/* A whole frame (decrypted when crypto is on). Return value ignored;
	 * call rd_conn_close() to stop. */
	void (*on_frame)(struct rd_conn *c, const uint8_t *payload, size_t len, void *ud);
	/* Called once. reason is RD_OK for a local close, else RD_ERR_EOF,
	 * RD_ERR_TIMEOUT, RD_ERR_TOOBIG, RD_ERR_LIMIT, RD_ERR_CRYPTO, RD_ERR_IO... */
	void (*on_close)(struct rd_conn *c, int reason, void *ud);
	/* Optional: an outgoing connect finished (RD_OK) - failures go to on_close. */
	void (*on_connected)(struct rd_conn *c, void *ud);
	/* Optional: the queue fell below the soft limit again. */
	void (*on_drain)(struct rd_conn *c, void *ud);
};

struct rd_conn_limits {
	size_t max_frame;         /* largest accepted payload (default RD_FRAME_MAX_SESSION) */
	size_t sndq_soft;         /* default 1 MiB */
	size_t sndq_hard;         /* default 16 MiB */
	double first_msg_timeout; /* seconds until the first non-empty frame must arrive
	                           * (heartbeats do not count); 0 = none */
	double idle_timeout;      /* seconds without any received byte; 0 = none */
};

/* Take ownership of fd (non-blocking). If connecting is true the fd has a
 * connect in progress and on_connected/on_close reports the outcome. lim may be
 * NULL for defaults. The peer address is read from the socket. */
struct rd_conn *rd_conn_new(struct ev_loop *loop, int fd, bool connecting,
	const struct rd_conn_limits *lim, const struct rd_conn_ops *ops, void *ud);

/* Queue one frame (encrypted when crypto is on); the payload is copied.
 * RD_ERR_LIMIT when the hard limit would be passed (the conn is then closing),
 * RD_ERR_CLOSED when already closing. */
int rd_conn_send(struct rd_conn *c, const void *payload, size_t len);
/* Pack a protobuf-c message and send it. */
int rd_conn_send_pb(struct rd_conn *c, const struct ProtobufCMessage *msg);
/* Queue already-framed raw bytes, bypassing framing and crypto. */
int rd_conn_send_raw(struct rd_conn *c, const void *bytes, size_t len);

/* Two lanes (for a session's media): from now on rd_conn_send keeps frames
 * in order but holds them back (plaintext) while more than a few tens of
 * kilobytes wait on the socket, and rd_conn_send_urgent queues its frame on
 * the socket at once, ahead of the held ones. So small urgent frames (sound)
 * never wait behind a backlog of large ones (video). Limits count both.
 * Held frames are sealed when they go: enable once crypto is on. */
void rd_conn_enable_urgent(struct rd_conn *c);
int rd_conn_send_urgent(struct rd_conn *c, const void *payload, size_t len);

/* Queued bytes and whether they are under the soft limit. */
size_t rd_conn_queued(const struct rd_conn *c);
bool rd_conn_writable(const struct rd_conn *c);

/* Turn encryption on for both directions from now on; the conn takes a copy of
 * the stream state and wipes it on free. */
void rd_conn_set_crypto(struct rd_conn *c, const struct rd_crypto_stream *cs);
bool rd_conn_encrypted(const struct rd_conn *c);

void rd_conn_set_limits(struct rd_conn *c, const struct rd_conn_limits *lim);
void rd_conn_pause_read(struct rd_conn *c, bool paused);

/* Deferred close (see top). */
void rd_conn_close(struct rd_conn *c, int reason);
/* Close once the queue is flushed (bounded by 5 s). */
void rd_conn_close_after_flush(struct rd_conn *c);
bool rd_conn_closing(const struct rd_conn *c);

const struct rd_sockaddr *rd_conn_peer(const struct rd_conn *c);
const struct rd_sockaddr *rd_conn_local(const struct rd_conn *c);
int rd_conn_fd(const struct rd_conn *c);
void *rd_conn_userdata(const struct rd_conn *c);
void rd_conn_set_userdata(struct rd_conn *c, void *ud);
void rd_conn_set_ops(struct rd_conn *c, const struct rd_conn_ops *ops, void *ud);
uint64_t rd_conn_bytes_in(const struct rd_conn *c);
uint64_t rd_conn_bytes_out(const struct rd_conn *c);

#endif
