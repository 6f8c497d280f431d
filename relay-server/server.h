/* server: the relay's sockets. Accepts connections, reads each first frame
 * into the pairing core, hands paired sockets to the pump, enforces the
 * core's deadlines, logs one line per pairing, refusal and end, and keeps
 * the metrics. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct ev_loop;
struct rd_metrics;
struct relay_server;

struct relay_server_opts {
	struct ev_loop *loop;
	const uint8_t *server_pk; /* verifies relay tokens (32 bytes); NULL = no tokens */
	const char *key;          /* licence_key accepted without a token; NULL = none */
	size_t max_pairs;
	unsigned conns_per_source;   /* open connections of one IPv4 address or IPv6 /64 */
	unsigned pending_per_source; /* of them waiting for their peer */
	double first_timeout;     /* seconds */
	double pair_timeout;
	double idle_timeout;      /* 0 = none */
	double total_rate;        /* bytes per second; 0 = unlimited */
	double pair_rate;
	size_t pipe_size;         /* 0 = kernel default */
	struct rd_metrics *metrics; /* may be NULL */
};

struct relay_server *relay_server_new(const struct relay_server_opts *o);
/* Listen on addr (port 0 picks one). RD_ERR_IO with errno kept. */
int relay_server_listen(struct relay_server *srv, const struct rd_sockaddr *addr);
/* The first listener's bound address. */
int relay_server_local_addr(const struct relay_server *srv, struct rd_sockaddr *out);
/* Stop accepting; pairs keep running until freed. */
void relay_server_stop_listening(struct relay_server *srv);
/* Closes everything (pairs end with reason "shutdown"). */
void relay_server_free(struct relay_server *srv);

size_t relay_server_active_pairs(const struct relay_server *srv);

#endif
