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

struct agent;
struct relay_join;

struct relay_join *relay_join_new(struct agent *a);
/* Joins still waiting for their name are dropped. */
void relay_join_free(struct relay_join *j);

/* Join relay ("host[:port]", default port 21117) for uuid, presenting token
 * (token_len 0: none, the licence key alone); ctl is the controller's own
 * address, for the session's logs and limits. Everything is copied. */
void relay_join_start(struct relay_join *j, const char *relay, const char *uuid,
	const uint8_t *token, size_t token_len, const struct rd_sockaddr *ctl);

#endif
