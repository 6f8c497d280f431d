/* helper: rd-agent-helper, the privileged half of rd-agent. It has no
 * network: it answers a fixed table of requests (privsep_proto.h) from the
 * agent's user on one AF_UNIX SOCK_SEQPACKET socket, passing descriptors. */
#ifndef RD_AGENT_HELPER_H
#define RD_AGENT_HELPER_H

#include <stddef.h>
#include <sys/types.h>

#include "privsep_proto.h"

#define HELPER_MAX_CLIENTS 8
#define HELPER_MAX_UIDS 16

struct helper_config {
	uid_t uids[HELPER_MAX_UIDS]; /* the only peers served (SO_PEERCRED) */
	size_t n_uids;
	const char *xauthority;      /* NULL: no X cookies */
	const char *runtime_dir;     /* NULL: no PipeWire */
	const char *pw_remote;       /* socket name in runtime_dir, no '/' */
	const char *uinput;          /* /dev/uinput */
	const char *dri_dir;         /* /dev/dri */
};

/* Run one request; in_fd is the descriptor that came with it (-1 if none,
 * the caller closes it). Fills rep (status 0 or an errno value) and *out_fd
 * (-1, or a descriptor to pass and close). Returns NULL, or why the request
 * was refused as not allowed (logged as a warning). */
const char *helper_handle(const struct helper_config *cfg, const struct privsep_req *req,
	int in_fd, struct privsep_wire_rep *rep, int *out_fd);

/* Serve the listening socket lfd until SIGTERM or SIGINT. Returns 0, or 1
 * when the loop itself failed. */
int helper_run(const struct helper_config *cfg, int lfd);

#endif
