/* rendezvous_client: the UDP registration with the rendezvous server
 * (PROTOCOL.md §7) and the pushes it delivers (PunchHole, FetchLocalAddr,
 * RequestRelay), which go to the owner through rc_ops. The state machine is
 * registration.h; this is its socket, timer and name lookup. The server's
 * name is looked up on the resolver's thread (common/resolve.h), so the loop
 * never waits for a name server; the last address found stays in use while
 * a lookup runs or fails. */
#ifndef RD_AGENT_RENDEZVOUS_CLIENT_H
#define RD_AGENT_RENDEZVOUS_CLIENT_H

#include <stdbool.h>

#include <stdint.h>

#include "crypto.h"
#include "net.h"
#include "rendezvous.pb-c.h"

struct ev_loop;
struct rc;

#define RC_RESOLVE_GAP 60.0       /* re-resolve the server name at most this often */
#define RC_RESOLVE_RETRY 5.0      /* ... and this often while it has no address yet */

/* Borrowed; must outlive the client. */
struct rc_config {
	const char *server;            /* HOST[:PORT] (21116 when omitted) */
	double interval;               /* seconds between registrations */
	const char *id;                /* our ID */
	const uint8_t *uuid;           /* AGENT_UUID_LEN bytes */
	const struct rd_keypair *kp;   /* signs RegisterPk */
};

struct rc_ops {
	/* Registration state changed. */
	void (*registered)(void *ud, bool registered);
	/* Our public address toward the server may have changed (test the NAT). */
	void (*public_addr_changed)(void *ud);
	/* The server's pushes; server is its main address. */
	void (*punch)(void *ud, const struct rd_sockaddr *server, const Hbb__PunchHole *ph);
	void (*fetch_local)(void *ud, const struct rd_sockaddr *server, const Hbb__FetchLocalAddr *fl);
	void (*request_relay)(void *ud, const struct rd_sockaddr *server, const Hbb__RequestRelay *rr);
};

struct rc *rc_new(struct ev_loop *loop, const struct rc_config *cfg, const struct rc_ops *ops, void *ud);
void rc_free(struct rc *rc);
/* The server's address (main port) as last resolved; false when unresolved. */
bool rc_server_addr(const struct rc *rc, struct rd_sockaddr *out);
/* Send RegisterPk again soon (the key looked stale to a controller). */
void rc_request_pk(struct rc *rc);

#endif
