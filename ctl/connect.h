/* connect: reach a peer by ID (PROTOCOL.md §8). Ask the rendezvous server over
 * TCP (PunchHoleRequest), verify the server's signature on the peer's key, try
 * the peer's LAN address or a TCP hole punch from the same local port, then the
 * relay (B-initiated when the server brings a RelayResponse, else A-initiated
 * with a fresh uuid), all within one deadline. The result is a framed stream
 * (rd_conn) to the peer, ready for the secure handshake. */
#ifndef RD_CTL_CONNECT_H
#define RD_CTL_CONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "net.h"

struct ev_loop;
struct rd_conn;
struct ctl_connect;

struct ctl_connect_opts {
	const char *id;
	struct rd_sockaddr server;     /* rendezvous TCP address */
	const char *default_relay;     /* "host:port" used when the server names none */
	const char *licence;           /* the --key text, sent as licence_key */
	const uint8_t *server_pk;      /* verifies the peer key the server vouches for */
	bool force_relay;
	bool no_relay;                 /* doctor: stop after the direct attempts */
	int nat_type;                  /* ours: 0 unknown, 1 asymmetric, 2 symmetric */
	double deadline;               /* rd_now() by which it must be done */
};

struct ctl_link {
	enum ctl_path path;
	uint8_t peer_pk[RD_PK_LEN];    /* the server-vouched long-term key */
	int peer_nat;                  /* as the server told (0 when unknown) */
	double lookup_ms, punch_ms;
	char peer_addr[RD_ADDRSTRLEN];
	char relay[128];
	char direct_error[160];        /* why the direct attempt failed (doctor) */
};

/* done: err RD_OK with conn (now owned by the callee; set its ops) and link,
 * or an error after res was filled with ctl_result_fail. Called once, from the
 * loop; the ctl_connect may be freed inside it. */
typedef void (*ctl_connect_done)(struct ctl_connect *cc, int err, struct rd_conn *conn,
	const struct ctl_link *link, void *ud);

struct ctl_connect *ctl_connect_start(struct ev_loop *loop, const struct ctl_connect_opts *o,
	struct ctl_result *res, ctl_connect_done done, void *ud);
/* Cancel (no callback) and free. */
void ctl_connect_free(struct ctl_connect *cc);

/* Close a connection whose callbacks must not reach anyone any more. */
void ctl_conn_drop(struct rd_conn *c, int reason);

/* Parse the server setting ("host[:port]", default port 21116) into the TCP
 * address and the default relay "host:port+1". */
int ctl_server_parse(const char *server, struct rd_sockaddr *addr, char *relay, size_t relaysz);

#endif
