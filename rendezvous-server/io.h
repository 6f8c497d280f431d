/* io: the sockets around the I/O-free core. io_udp.c owns the UDP socket
 * (batched receive and send), io_tcp.c the two TCP listeners (PORT and
 * PORT-1) and the relay health checks. Both feed rv_server_* and carry out
 * what it asks through the functions below. */
#ifndef RV_IO_H
#define RV_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct ev_loop;
struct rd_metrics;
struct rv_server;
struct rv_udp;
struct rv_tcpio;

/* ---- UDP ---- */
int rv_udp_open(struct ev_loop *loop, struct rv_server *s, const struct rd_sockaddr *bind,
	struct rv_udp **out);
/* Send one datagram (queued inside a receive batch, else at once). */
void rv_udp_send(struct rv_udp *u, const struct rd_sockaddr *to, const uint8_t *p, size_t len);
void rv_udp_close(struct rv_udp *u);

/* ---- TCP ---- */
struct rv_tcp_limits {
	double first_msg_timeout;   /* seconds until the first frame (heartbeats do not count) */
	double idle_timeout;        /* seconds without a frame */
	long max_conns;             /* open connections over both listeners */
	long max_per_source;        /* of them from one IPv4 address or IPv6 /64 */
	struct rd_metrics *metrics; /* may be NULL */
};

int rv_tcpio_open(struct ev_loop *loop, struct rv_server *s, const struct rd_sockaddr *main_addr,
	const struct rd_sockaddr *nat_addr, const struct rv_tcp_limits *lim, struct rv_tcpio **out);
void rv_tcpio_send(struct rv_tcpio *t, void *conn, const uint8_t *p, size_t len);
void rv_tcpio_close_conn(struct rv_tcpio *t, void *conn, bool flush);
/* Check every relay of the server now and then every period seconds. */
void rv_tcpio_check_relays(struct rv_tcpio *t, double period);
size_t rv_tcpio_conns(const struct rv_tcpio *t);
/* Stop listening and close every connection; their on_close runs from the
 * loop, so run it until rv_tcpio_conns() is 0 before rv_tcpio_free. */
void rv_tcpio_shutdown(struct rv_tcpio *t);
void rv_tcpio_free(struct rv_tcpio *t);

#endif
