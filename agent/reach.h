/* reach: how a controller gets to this agent (PROTOCOL.md §8): the TCP punch
 * after PunchHole, the LAN answer to FetchLocalAddr, the relay for
 * RequestRelay (or when punching cannot work), and the direct listener.
 * Every path ends in a session on a connected socket (reach_ops). */
#ifndef RD_AGENT_REACH_H
#define RD_AGENT_REACH_H

#include <stdbool.h>

#include "net.h"
#include "relay_join.h"
#include "rendezvous.pb-c.h"
#include "session_types.h"

struct ev_loop;
struct reach;

#define REACH_LISTEN_TIMEOUT 18.0   /* CONNECT_TIMEOUT: how long a punched port listens */
#define REACH_DUP_WINDOW 0.1        /* same request from the same controller within 100 ms */
#define REACH_SERVER_TIMEOUT 12.0   /* a short TCP exchange with the rendezvous server */
#define REACH_MAX_JOBS 64           /* punches and relays in flight */
#define REACH_GRANT_WAIT 3.0        /* a relay we start waits this long for the server's token */

/* Borrowed; must outlive the reach. */
struct reach_config {
	const char *id;            /* our ID */
	const char *relay;         /* the relay we name ourselves; NULL or "": none */
	bool force_relay;          /* always relay */
	const char *server_key;    /* the rendezvous server's key (base64), the relay licence */
};

struct reach_ops {
	/* Our NAT type as last tested (rd_nat_type). */
	int (*nat_type)(void *ud);
	/* A controller connected: run a session on fd (taken over). */
	void (*session_fd)(void *ud, int fd, enum session_path path);
	/* A relay was joined: run a session on c (taken over). */
	relay_join_session_fn session_conn;
};

struct reach *reach_new(struct ev_loop *loop, const struct reach_config *cfg,
	const struct reach_ops *ops, void *ud);
void reach_free(struct reach *r);

/* server is the rendezvous server's main address (TCP and UDP share it). */
void reach_punch(struct reach *r, const struct rd_sockaddr *server, const Hbb__PunchHole *ph);
void reach_local(struct reach *r, const struct rd_sockaddr *server, const Hbb__FetchLocalAddr *fl);
void reach_relay(struct reach *r, const struct rd_sockaddr *server, const Hbb__RequestRelay *rr);

/* Direct listener ([agent] direct-port); RD_OK or an rd_err. */
int reach_direct_listen(struct reach *r, const char *bind_addr, int port);
/* The bound direct port (0 when off). */
int reach_direct_port(const struct reach *r);

#endif
