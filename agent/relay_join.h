/* relay_join: the agent's side of a relay (PROTOCOL.md §8.5, §8.6). Resolve
 * the relay's name on the resolver's worker thread (common/resolve.h; a
 * numeric address needs none), connect, send RequestRelay{licence_key, uuid,
 * relay token} and hand the connection to a session. The loop never waits
 * for a name server. */
#ifndef RD_AGENT_RELAY_JOIN_H
#define RD_AGENT_RELAY_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "session_types.h"

struct ev_loop;
struct rd_conn;
struct relay_join;

/* A joined relay connection (RequestRelay queued) for a session; the
 * callee takes c over. controller is the controller's own address. */
typedef void (*relay_join_session_fn)(void *ud, struct rd_conn *c, enum session_path path,
	const struct rd_sockaddr *controller);

/* server_key: the rendezvous server's public key (base64, the relay
 * licence), borrowed; session gets each joined connection. */
struct relay_join *relay_join_new(struct ev_loop *loop, const char *server_key,
	relay_join_session_fn session, void *ud);
/* Joins still waiting for their name are dropped. */
void relay_join_free(struct relay_join *j);

/* Join relay ("host[:port]", default port 21117) for uuid, presenting token
 * (token_len 0: none, the licence key alone); controller is the controller's
 * own address, for the session's logs and limits. Everything is copied. */
void relay_join_start(struct relay_join *j, const char *relay, const char *uuid,
	const uint8_t *token, size_t token_len, const struct rd_sockaddr *controller);

#endif
