/* resolve: host names to addresses without blocking the event loop. One
 * worker thread runs the lookups (getaddrinfo through rd_net_addr_parse, or
 * the function given) from a bounded queue and posts each result back with
 * ev_async; the callback runs on the loop. The thread starts with the first
 * request. A lookup that hangs delays only the requests queued behind it. */
#ifndef RD_RESOLVE_H
#define RD_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct ev_loop;
struct rd_resolver;
struct rd_resolve;

#define RD_RESOLVE_QUEUE_MAX 32     /* lookups queued or running at once */
#define RD_RESOLVE_NAME_MAX 256

/* What the worker calls; rd_net_addr_parse by default. Runs on the worker
 * thread: it must not touch the loop. */
typedef int (*rd_resolve_fn)(const char *name, uint16_t default_port, struct rd_sockaddr *out);
/* err is RD_OK with addr, or an rd_err (addr NULL). Runs on the loop. */
typedef void (*rd_resolve_done)(int err, const struct rd_sockaddr *addr, void *ud);

/* fn NULL: rd_net_addr_parse. */
struct rd_resolver *rd_resolver_new(struct ev_loop *loop, rd_resolve_fn fn);
/* Pending lookups are dropped without their callbacks. Does not wait for a
 * lookup in progress: the worker frees what is left when it returns. */
void rd_resolver_free(struct rd_resolver *r);

/* Look name ("host[:port]") up; done runs later, on the loop, never from
 * inside this call. NULL (and no callback) when the name is too long, the
 * queue is full or the thread cannot start. */
struct rd_resolve *rd_resolve_start(struct rd_resolver *r, const char *name, uint16_t default_port,
	rd_resolve_done done, void *ud);
/* The callback of q will not run. q must be a lookup whose callback has not
 * run yet. */
void rd_resolve_cancel(struct rd_resolver *r, struct rd_resolve *q);
/* Lookups queued, running or waiting for delivery. */
size_t rd_resolver_pending(struct rd_resolver *r);

#endif
