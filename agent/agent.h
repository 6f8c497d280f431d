/* agent: the daemon's context. One libev loop; the rendezvous client, the
 * reachability jobs, the direct listener, the sessions and the control socket
 * all hang off it. Other agent modules reach it through these accessors. */
#ifndef RD_AGENT_AGENT_H
#define RD_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "net.h"
#include "session.h"
#include "settings.h"

struct agent;
struct ev_loop;

/* `rd-agent run`: argv[0] is "run". Returns the exit status. */
int agent_main(int argc, char **argv);

struct ev_loop *agent_loop(struct agent *a);
const struct agent_settings *agent_settings(const struct agent *a);
const char *agent_id(const struct agent *a);
const struct rd_keypair *agent_keypair(const struct agent *a);
const uint8_t *agent_uuid(const struct agent *a);
/* The rendezvous server's public key (base64 text, the relay licence). */
const char *agent_server_key(const struct agent *a);
/* Our NAT type as last tested (rd_nat_type). */
int agent_nat_type(const struct agent *a);

/* Registration state changed (READY=1 on the first success). */
void agent_set_registered(struct agent *a, bool registered);
/* The server saw a new public address for us: test the NAT again. */
void agent_public_addr_changed(struct agent *a);

/* What every session shares (ID, keys, password, lockout, codecs). */
const struct session_host *agent_session_host(struct agent *a);
/* The video pipeline, opened on first use; NULL when no capture works. */
struct video *agent_video(struct agent *a);
/* The rendezvous client asks for our key again (a controller found it stale). */
void agent_request_pk(struct agent *a);

/* Take a connected socket (ownership of fd) and run a session on it. */
void agent_session_start(struct agent *a, int fd, enum session_path path);
/* Same with a conn already made (the relay: RequestRelay is queued first).
 * peer is the controller's own address when the socket's peer is not it (a
 * relay): lockout and logs then name the controller, not the relay. */
struct rd_conn;
void agent_session_adopt(struct agent *a, struct rd_conn *c, enum session_path path,
	const struct rd_sockaddr *peer);

#endif
