/* rendezvous_client: the UDP registration with the rendezvous server
 * (PROTOCOL.md §7) and the pushes it delivers (PunchHole, FetchLocalAddr,
 * RequestRelay), which go to reach.h. */
#ifndef RD_AGENT_RENDEZVOUS_CLIENT_H
#define RD_AGENT_RENDEZVOUS_CLIENT_H

#include <stdbool.h>

#include "net.h"

struct agent;
struct reach;
struct rc;

#define RC_REG_TIMEOUT 3.0        /* a RegisterPeer/RegisterPk unanswered this long failed */
#define RC_PK_MIN_GAP 3.0         /* RegisterPk at most this often (server limit: 3 per 6 s) */
#define RC_RESOLVE_GAP 60.0       /* re-resolve the server name at most this often */

/* server_text is HOST[:PORT] (21116 when omitted); interval in seconds. */
struct rc *rc_new(struct agent *a, struct reach *reach, const char *server_text, double interval);
void rc_free(struct rc *rc);
/* The server's address (main port) as last resolved; false when unresolved. */
bool rc_server_addr(const struct rc *rc, struct rd_sockaddr *out);
/* Send RegisterPk again soon (the key looked stale to a controller). */
void rc_request_pk(struct rc *rc);

#endif
