/* registration: the agent's registration with the rendezvous server
 * (PROTOCOL.md §7) as an I/O-free state machine. Time and the server's
 * answers go in; what to send, registration changes and socket resets come
 * out through registration_ops. rendezvous_client.c wires it to a UDP
 * socket and a resolver; the unit test drives it directly.
 *
 * RegisterPk until the server confirms our key, then RegisterPeer every
 * interval. A request unanswered for RC_REG_TIMEOUT (at most half the
 * interval) failed: retry after 1, 2, 4 ... s, never more than the
 * interval. A refused RegisterPk is retried less and less often, and only
 * the answer to our own outstanding RegisterPk counts. */
#ifndef RD_AGENT_REGISTRATION_H
#define RD_AGENT_REGISTRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "rendezvous.pb-c.h"

#define RC_REG_TIMEOUT 3.0        /* a RegisterPeer/RegisterPk unanswered this long failed */
#define RC_PK_MIN_GAP 3.0         /* RegisterPk at most this often (server limit: 3 per 6 s) */
#define RC_REFUSED_MAX 600.0      /* refused: retry at least this often */
#define RC_TOO_FREQUENT_WAIT 6.0  /* the server said RegisterPk too frequent */

struct registration;

/* Borrowed; must outlive the machine. */
struct registration_config {
	const char *server;        /* the server as configured, for logs */
	double interval;           /* seconds between RegisterPeer */
	const char *id;            /* our ID */
	const uint8_t *pk;         /* our public key (RD_PK_LEN), for logs */
};

struct registration_ops {
	/* Send RegisterPeer{id}. */
	void (*send_peer)(void *ud);
	/* Send RegisterPk{id, uuid, pk}, signed. */
	void (*send_pk)(void *ud);
	/* Registration state changed. */
	void (*registered)(void *ud, bool registered);
	/* Every fourth timeout in a row: take a fresh socket (a new NAT mapping). */
	void (*reset_socket)(void *ud, double now);
	/* The server asked again for a key it had confirmed (our address may
	 * have changed). */
	void (*key_requested)(void *ud);
};

struct registration *registration_new(const struct registration_config *cfg,
	const struct registration_ops *ops, void *ud);
void registration_free(struct registration *g);

/* Send what is due at now (monotonic seconds). Call about once a second,
 * once the server's address is known. */
void registration_step(struct registration *g, double now);
void registration_on_peer_response(struct registration *g, const Hbb__RegisterPeerResponse *r,
	double now);
void registration_on_pk_response(struct registration *g, const Hbb__RegisterPkResponse *r,
	double now);
/* Send RegisterPk again soon (the key looked stale to a controller). */
void registration_request_pk(struct registration *g);

#endif
