/* control: a unix stream socket (mode 0600) on which the running daemon
 * answers `rd-agent status`: each client gets one JSON line, then EOF. */
#ifndef RD_AGENT_CONTROL_H
#define RD_AGENT_CONTROL_H

#include "buf.h"

struct ev_loop;
struct control;

typedef void (*control_status_fn)(void *ud, struct rd_buf *out);

struct control *control_new(struct ev_loop *loop, const char *path, control_status_fn fn, void *ud);
/* Stops listening and removes the socket file. */
void control_free(struct control *c);

#endif
