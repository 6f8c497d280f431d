/* server: the rendezvous protocol core, free of I/O. Datagrams, frames and
 * the time come in; replies, pushes, closes and bindings to persist go out
 * through the ops table. main.c wires it to sockets (io_udp.c, io_tcp.c) and
 * the store; unit tests and fuzzers drive it directly.
 *
 * Log lines for operators name the event first, then src=IP port=PORT id="ID",
 * so fail2ban can match them (see main.c for the filter). */
#ifndef RV_SERVER_H
#define RV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "store.h"

struct rd_metrics;
struct rv_server;
struct rv_tcp;
struct rv_registry;

#define RV_ONLINE_WINDOW 30.0   /* seconds after the last registration */
#define RV_RELAY_PORT 21117

enum rv_port {
	RV_PORT_MAIN,   /* PORT: punch, relay, NAT test */
	RV_PORT_NAT,    /* PORT-1: NAT test and online query */
};

struct rv_limits {
	double reg_rate, reg_burst;       /* registrations per second per source IP */
	double punch_rate, punch_burst;   /* TCP requests per second per source IP */
	long ids_per_source;              /* new IDs one source IP may bind in a day */
	long max_ids;                     /* IDs the registry holds at most (new ones refused) */
	long pending_max;                 /* punch/relay requests waiting for the target */
	double pending_timeout;           /* seconds a request waits for the target */
	double online_window;             /* seconds; RV_ONLINE_WINDOW */
	long source_slots;                /* size of the per-source tables */
};

void rv_limits_default(struct rv_limits *lim);

struct rv_server_ops {
	void (*udp_send)(void *ud, const struct rd_sockaddr *to, const uint8_t *p, size_t len);
	/* One framed message on a TCP connection (payload only; the I/O frames it). */
	void (*tcp_send)(void *ud, void *conn, const uint8_t *p, size_t len);
	/* Close a TCP connection, after the queued replies when flush is true.
	 * The I/O later calls rv_server_tcp_closed for it. */
	void (*tcp_close)(void *ud, void *conn, bool flush);
	/* Persist a new or changed binding. */
	void (*store_put)(void *ud, const struct rv_binding *b);
};

struct rv_server_config {
	struct rv_limits lim;
	const uint8_t *sign_sk;        /* 64-byte Ed25519 secret key, or NULL: IdPk stays unsigned */
	const char *licence;           /* enforced PunchHoleRequest.licence_key, or NULL/"" */
	bool always_relay;
	const char *const *relays;     /* host[:port] strings, copied */
	size_t nrelays;
	struct rd_metrics *metrics;    /* may be NULL */
};

struct rv_server *rv_server_new(const struct rv_server_config *cfg,
	const struct rv_server_ops *ops, void *ud);
void rv_server_free(struct rv_server *s);

/* A binding from the store at start. RD_ERR_PROTO for a malformed row
 * (logged and skipped by the caller), RD_ERR_EXISTS for a duplicate. */
int rv_server_load_binding(struct rv_server *s, const struct rv_binding *b);
/* Size the registry for about n bindings before loading them. */
void rv_server_expect_bindings(struct rv_server *s, size_t n);
const struct rv_registry *rv_server_registry(const struct rv_server *s);

void rv_server_udp_input(struct rv_server *s, const struct rd_sockaddr *from,
	const uint8_t *p, size_t len, double now);

/* A new TCP connection; conn is the I/O's handle. NULL means refuse (the I/O
 * closes it at once). */
struct rv_tcp *rv_server_tcp_open(struct rv_server *s, void *conn,
	const struct rd_sockaddr *peer, enum rv_port port, double now);
void rv_server_tcp_frame(struct rv_server *s, struct rv_tcp *t, const uint8_t *p, size_t len,
	double now);
/* The I/O closed the connection for its own reason (too big frame, deadline,
 * EOF...): logged where it matters. After this the conn is gone. */
void rv_server_tcp_closed(struct rv_server *s, struct rv_tcp *t, int reason);

/* Expire pending requests; call about once a second. */
void rv_server_tick(struct rv_server *s, double now);

/* Relay health from the I/O's checks; the core hands out healthy ones in turn. */
size_t rv_server_relay_count(const struct rv_server *s);
const char *rv_server_relay_name(const struct rv_server *s, size_t i);
void rv_server_relay_health(struct rv_server *s, size_t i, bool up);

size_t rv_server_online(const struct rv_server *s, double now);
size_t rv_server_pending(const struct rv_server *s);

#endif
